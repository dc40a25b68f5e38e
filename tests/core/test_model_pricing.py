"""A request is priced with what the model's own server says about it (issue #14).

The real AgentRuntime and catalog; the fake OpenAI-compatible server plays an LM
Studio server on this machine, which is not running yet when kilo-tui starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kilo_tui.core import events as ev
from kilo_tui.core.agent.runtime import AgentRuntime
from tests.fakeserver import FakeLLMServer, Turn, tool_call


async def test_a_local_server_started_after_launch_prices_its_model_free(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    with FakeLLMServer() as probe:
        port = probe.port  # free now: nothing listens there until the server starts
    config = f'\n[providers.lmstudio]\napi_base = "http://127.0.0.1:{port}/v1"\n'
    runtime = make_runtime(config, model="lm_studio/fake-model")
    assert await runtime.learn_model("lm_studio/fake-model") is None  # not running yet
    seen: list[ev.Event] = []
    runtime.bus.subscribe(seen.append)
    with FakeLLMServer(port=port) as server:
        usage = {"prompt_tokens": 1000, "completion_tokens": 200}
        server.script(Turn(tool_calls=[tool_call("attempt_completion", result="ok")], usage=usage))
        await runtime.submit("hello")
    priced = [e for e in seen if isinstance(e, ev.UsageUpdated)]
    assert [(e.model, e.cost, e.free, e.task_cost) for e in priced] == [
        ("lm_studio/fake-model", 0.0, True, 0.0)
    ]


async def test_a_title_on_a_local_small_model_is_priced_free(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    """Background requests are priced with their own model too: a title written by a
    small model on this machine costs 0, not an unknown price."""
    config = f'\n[providers.lmstudio]\napi_base = "{llm_env.base_url}"\n'
    runtime = make_runtime(config, small_model="lm_studio/fake-model-large")
    seen: list[ev.Event] = []
    runtime.bus.subscribe(seen.append)
    llm_env.script_for("fake-model-large", Turn.text('"Greeting"'))
    llm_env.script(Turn(tool_calls=[tool_call("attempt_completion", result="ok")]))
    await runtime.submit("hello there, write me a greeting")
    for _ in range(200):
        if any(isinstance(e, ev.BackgroundUsage) for e in seen):
            break
        await asyncio.sleep(0.05)
    title = next(e for e in seen if isinstance(e, ev.BackgroundUsage))
    assert (title.model, title.cost, title.background_cost) == (
        "lm_studio/fake-model-large",
        0.0,
        0.0,
    )
