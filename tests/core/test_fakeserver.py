"""The fake LLM server itself: plain HTTP behaviour, standalone mode, request log."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import SMALL_MODEL, FakeLLMServer, Turn, write_script

REPO = Path(__file__).resolve().parents[2]


def post(url: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def chat(base_url: str, **body: Any) -> tuple[int, Any]:
    body.setdefault("model", "fake-model")
    body.setdefault("messages", [{"role": "user", "content": "hi"}])
    return post(f"{base_url}/chat/completions", body, Authorization="Bearer sk-secret")


def test_non_streaming_reply_and_request_log(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.tool("read_file", path="a.py"))

    status, reply = chat(fake_llm.base_url, temperature=0)

    assert status == 200
    message = reply["choices"][0]["message"]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"path": "a.py"}
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    assert reply["usage"]["prompt_tokens"] > 0
    (logged,) = fake_llm.requests
    assert logged["body"]["temperature"] == 0
    assert "authorization" not in {key.lower() for key in logged["headers"]}


def test_error_turn_has_openai_body_and_retry_after(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.error(429, "slow down", retry_after=2))
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(
        f"{fake_llm.base_url}/chat/completions", data=body, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 429
    assert caught.value.headers["Retry-After"] == "2"
    assert json.loads(caught.value.read())["error"]["message"] == "slow down"


def test_empty_queue_completes_the_task_or_says_done(fake_llm: FakeLLMServer) -> None:
    tools = [{"type": "function", "function": {"name": "attempt_completion", "parameters": {}}}]
    _, with_tools = chat(fake_llm.base_url, tools=tools)
    _, without = chat(fake_llm.base_url)

    call = with_tools["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "attempt_completion"
    assert json.loads(call["arguments"]) == {"result": "done"}
    assert without["choices"][0]["message"]["content"] == "done"


def test_lists_models(fake_llm: FakeLLMServer) -> None:
    fake_llm.models = ["alpha", "beta"]
    with urllib.request.urlopen(f"{fake_llm.base_url}/models", timeout=10) as response:
        listing = json.loads(response.read())
    assert [m["id"] for m in listing["data"]] == ["alpha", "beta"]


def test_unknown_turn_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="txt"):
        Turn.from_dict({"txt": "typo"})


def test_standalone_process(tmp_path: Path) -> None:
    script = write_script(tmp_path / "turns.json", Turn.text("scripted"))
    log = tmp_path / "requests.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeserver", "--script", str(script), "--log", str(log)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("PORT=")
        base_url = f"http://127.0.0.1:{int(first_line[5:])}"

        _, first = chat(f"{base_url}/v1")
        post(f"{base_url}/_script", {"content": "added later"})
        _, second = chat(f"{base_url}/v1")
        with urllib.request.urlopen(f"{base_url}/_requests", timeout=10) as response:
            served = json.loads(response.read())
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert first["choices"][0]["message"]["content"] == "scripted"
    assert second["choices"][0]["message"]["content"] == "added later"
    assert [r["path"] for r in served] == ["/v1/chat/completions"] * 2
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(logged) == 2
    assert "Bearer" not in log.read_text()


def test_small_model_has_its_own_queue(fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn.text("for the main loop"))
    fake_llm.script_for(SMALL_MODEL, Turn.text("A title"))

    _, title = chat(fake_llm.base_url, model=SMALL_MODEL)
    _, empty_small = chat(fake_llm.base_url, model=SMALL_MODEL)
    _, main = chat(fake_llm.base_url)

    assert title["choices"][0]["message"]["content"] == "A title"
    assert empty_small["choices"][0]["message"]["content"] == "done"  # main queue untouched
    assert main["choices"][0]["message"]["content"] == "for the main loop"


# ------------------------------------------------------------ message order

USER = {"role": "user", "content": "hi"}


def call(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}


def calls(*ids: str) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [call(i) for i in ids]}


def result(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "ok"}


VALID_HISTORIES = {
    "plain": [{"role": "system", "content": "s"}, USER],
    "answered calls": [USER, calls("a", "b"), result("b"), result("a"), USER],
    "text and calls": [USER, {**calls("a"), "content": "let me see"}, result("a")],
    "assistant text last": [USER, {"role": "assistant", "content": "done"}],
}

INVALID_HISTORIES = {
    "empty": ([], "too short", "messages"),
    "bad role": ([{"role": "robot", "content": "x"}], "Supported values", "messages.[0].role"),
    "unanswered call at the end": (
        [USER, calls("a", "b"), result("a")],
        "did not have response messages: b",
        "messages.[1].role",
    ),
    "user message before the result": (
        [USER, calls("a"), USER, result("a")],
        "must be followed by tool messages",
        "messages.[1].role",
    ),
    "orphan tool message": ([USER, result("a")], "preceeding message", "messages.[1].role"),
    "result for an earlier turn's call": (
        [USER, calls("a"), result("a"), USER, result("a")],
        "preceeding message",
        "messages.[4].role",
    ),
    "assistant with neither text nor calls": (
        [USER, {"role": "assistant", "content": None}],
        "got null",
        "messages.[1].content",
    ),
    "empty tool_calls": (
        [USER, {"role": "assistant", "content": None, "tool_calls": []}],
        "too short",
        "messages.[1].tool_calls",
    ),
    "duplicate call ids": ([USER, calls("a", "a")], "Duplicate", "messages.[1].tool_calls.[1].id"),
    "empty user message": ([{"role": "user", "content": ""}], "non-empty", "messages.[0].content"),
}


@pytest.mark.parametrize("messages", VALID_HISTORIES.values(), ids=VALID_HISTORIES.keys())
def test_strict_provider_accepts_well_ordered_histories(
    fake_llm: FakeLLMServer, messages: list[dict[str, Any]]
) -> None:
    status, _ = chat(fake_llm.base_url, messages=messages)
    assert status == 200


@pytest.mark.parametrize(
    ("messages", "says", "param"), INVALID_HISTORIES.values(), ids=INVALID_HISTORIES.keys()
)
def test_strict_provider_rejects_what_openai_rejects(
    fake_llm: FakeLLMServer, messages: list[dict[str, Any]], says: str, param: str
) -> None:
    fake_llm.script(Turn.text("never sent"))

    status, reply = chat(fake_llm.base_url, messages=messages)

    assert status == 400
    assert reply["error"]["type"] == "invalid_request_error"
    assert says in reply["error"]["message"]
    assert reply["error"]["param"] == param
    assert fake_llm.pending_turns == 1  # a rejected request consumes no scripted turn
