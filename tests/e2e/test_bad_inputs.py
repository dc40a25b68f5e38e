"""Bad configuration and awkward inputs, met by the real binary: clear errors, no hang,
and files in a legacy encoding or with CRLF line endings written back as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import (
    CONFIG,
    MODEL,
    agent_requests,
    env_for,
    events,
    run,
    start,
    tool_messages,
)
from tests.fakeserver import FakeLLMServer, Turn


def config(home: Path, agent: str) -> Path:
    path = home / "config.toml"
    path.write_text(CONFIG + agent)
    return path


# ------------------------------------------------------------------ config


@pytest.mark.parametrize("command", [["run", "hello"], []], ids=["run", "tui"])
def test_a_config_file_that_is_not_utf8_is_a_clear_error(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, command: list[str]
) -> None:
    path = home / "config.toml"
    path.write_bytes(b'small_model = "openai/fake-small"\nmodel = "caf\xe9"\n')

    proc = run(command, env=env_for(fake_llm, home), cwd=workspace)

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{path}, line 2: not UTF-8 text (byte 0xe9)" in proc.stderr


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("command_timeout = -1", "expected a number above 0, got -1"),
        ("command_timeout = nan", "expected a finite number, got nan"),
        ("request_timeout = inf", "expected a finite number, got inf"),
        ("max_retries = -2", "expected 0 or more, got -2"),
        ("fuzzy_match_threshold = 1.5", "expected a number above 0 and at most 1, got 1.5"),
    ],
)
def test_numeric_settings_out_of_range_name_file_line_and_key(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, setting: str, says: str
) -> None:
    path = config(home, setting + "\n")
    key = "agent." + setting.split(" ")[0]

    proc = run(["run", "hello"], env=env_for(fake_llm, home), cwd=workspace)

    assert proc.returncode == 2
    assert f"{path}, line 4, key '{key}': {says}" in proc.stderr


# ------------------------------------------------------------ the provider


def test_a_provider_that_never_answers_is_given_up_on_with_a_visible_retry(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    config(home, "request_timeout = 2\nmax_retries = 1\n")
    fake_llm.script(Turn(wait=60), Turn.tool("attempt_completion", result="answered"))

    proc = run(
        ["run", "--json", "--model", MODEL, "hello"], env=env_for(fake_llm, home), cwd=workspace
    )

    assert proc.returncode == 0, proc.stderr
    loop = [r for r in fake_llm.requests if r["path"].endswith("completions")]
    hung, retried = [r["time"] for r in loop if r["body"]["model"] == "fake-model"]
    assert retried - hung < 30  # given up after about 2 s, not the 60 s it hangs
    stream = events(proc.stdout)
    (retry,) = [e for e in stream if e["type"] == "retry_scheduled"]
    assert "timed out" in retry["error"].lower()
    assert [e["result"] for e in stream if e["type"] == "task_completed"] == ["answered"]


# ------------------------------------------------------------ stdin replies


def test_stdin_closed_under_stdin_replies_denies_what_is_pending_and_ends(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(Turn.tool("execute_command", command="touch ran.txt"))
    proc = start(
        ["run", "--json", "--stdin-replies", "--model", MODEL, "make ran.txt"],
        env=env_for(fake_llm, home),
        cwd=workspace,
        replies=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        for line in proc.stdout:
            if json.loads(line)["type"] == "approval_requested":
                break
        proc.stdin.close()  # the script driving it went away
        proc.wait(timeout=60)
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 0
    assert "task_completed" in [e["type"] for e in events(rest)]
    assert not (workspace / "ran.txt").exists()
    (result,) = tool_messages(agent_requests(fake_llm)[-1])
    assert "closed its input" in result


# ------------------------------------------------------------ the repetition guard


def test_repetition_limit_zero_means_unlimited(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    config(home, "repetition_limit = 0\n")
    fake_llm.script(*[Turn.tool("read_file", path="missing.txt")] * 5)

    proc = run(
        ["run", "--json", "--model", MODEL, "read"], env=env_for(fake_llm, home), cwd=workspace
    )

    assert proc.returncode == 0, proc.stderr
    results = tool_messages(agent_requests(fake_llm)[-1])
    assert len(results) == 5
    assert all("not found" in r.lower() and "limit reached" not in r for r in results)


def test_a_refused_repeated_call_may_run_again_later(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    config(home, "repetition_limit = 1\n")
    fake_llm.script(*[Turn.tool("read_file", path="missing.txt")] * 3)

    proc = run(
        ["run", "--json", "--model", MODEL, "read"], env=env_for(fake_llm, home), cwd=workspace
    )

    assert proc.returncode == 0, proc.stderr
    first, refused, again = tool_messages(agent_requests(fake_llm)[-1])
    assert "not found" in first.lower()
    assert "repetition limit" in refused
    assert "not found" in again.lower()


# ------------------------------------------------------------ encodings, line endings

LATIN1 = "# Prix du café\r\nprix = 10\r\nnom = 'crème brûlée'\r\n"
CP1252 = "# coût: 5 €\r\n"


def test_apply_diff_on_a_legacy_encoded_file_keeps_its_bytes(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    target = workspace / "prix.py"
    original = (LATIN1 + CP1252).encode("cp1252")
    target.write_bytes(original)
    diff = "<<<<<<< SEARCH\n:start_line:2\n-------\nprix = 10\n=======\nprix = 12  # réduit\n>>>>>>> REPLACE"
    fake_llm.script(
        Turn.tool("read_file", path="prix.py"),
        Turn.tool("apply_diff", path="prix.py", diff=diff),
    )

    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, "lower the price"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    expected = original.replace(b"prix = 10", "prix = 12  # réduit".encode("cp1252"))
    assert target.read_bytes() == expected
    read = tool_messages(agent_requests(fake_llm)[1])[0]
    assert "crème brûlée" in read and "5 €" in read  # the model reads the real text
    assert "applied" in tool_messages(agent_requests(fake_llm)[-1])[-1].lower()


def test_write_to_file_keeps_crlf_when_it_strips_line_numbers(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    fake_llm.script(Turn.tool("write_to_file", path="win.txt", content="1 | one\r\n2 | two\r\n"))

    proc = run(
        ["run", "--yolo", "--json", "--model", MODEL, "write"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    assert (workspace / "win.txt").read_bytes() == b"one\r\ntwo\r\n"
