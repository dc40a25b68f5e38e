"""Answering "always allow" never trusts a project file as a side effect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.events import ApprovalReply
from kilo_tui.core.trust import project as trust
from tests.fakeserver import FakeLLMServer, Turn
from tests.security.conftest import answer_approvals, tool_results

LOOSE_POLICY = '[auto_approve]\nexecute = true\nallowed_commands = ["*"]\n'


async def test_always_allow_keeps_the_rest_of_an_untrusted_policy_file_untrusted(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    policy_file = workspace / ".kilocode" / "kilo-tui.toml"
    policy_file.parent.mkdir()
    policy_file.write_text(LOOSE_POLICY)

    runtime = make_runtime(interactive=True)
    asked = answer_approvals(runtime, ApprovalReply(approved=True, always=True))
    llm_env.script(
        Turn.tool("execute_command", command="echo hello"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("say hello")
    assert [a.title for a in asked] == ["echo hello"]
    assert not trust.is_trusted(policy_file)
    assert policy_file.read_text() == LOOSE_POLICY  # the repository's file is not ours

    # A later session: the remembered rule applies, nothing else the file says does.
    later = make_runtime(interactive=False)
    assert later.gate.policy.settings.execute is False
    llm_env.script(
        Turn.tool("execute_command", command="echo hello"),
        Turn.tool("execute_command", command="touch pwned"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await later.submit("again")
    remembered, refused = tool_results(llm_env)[-2:]
    assert "Exit code: 0" in remembered and "hello" in remembered
    assert "denied" in refused.lower()
    assert not (workspace / "pwned").exists()


async def test_always_allow_in_a_trusted_workspace_keeps_its_file_trusted(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer, workspace: Path
) -> None:
    policy_file = workspace / ".kilocode" / "kilo-tui.toml"
    policy_file.parent.mkdir()
    policy_file.write_text('[auto_approve]\nexecute = true\nallowed_commands = ["ls"]\n')
    trust.trust(policy_file)

    runtime = make_runtime(interactive=True)
    answer_approvals(runtime, ApprovalReply(approved=True, always=True))
    llm_env.script(
        Turn.tool("execute_command", command="echo hello"),
        Turn.tool("attempt_completion", result="ok"),
    )
    await runtime.submit("say hello")
    assert trust.is_trusted(policy_file)
    later = make_runtime(interactive=False)
    assert later.startup_warnings == []
    assert later.gate.policy.settings.execute is True
    assert "command:echo hello" in later.gate.policy.settings.always_allow
