"""Issue 6, headless: a task's steps are checkpointed and every step can be restored,
without the workspace's own git repository changing by a single byte."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cli import CONFIG, MODEL, env_for, run
from tests.fakeserver import FakeLLMServer, Turn


def git(ws: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=ws, capture_output=True, text=True, check=True).stdout


def git_fingerprint(ws: Path) -> dict[str, str]:
    """HEAD, index, refs, stash and config: what must never change under the user.
    (``git status`` changes with the files, as it should; it is compared separately.)"""
    dot_git = ws / ".git"
    files = {p: dot_git / p for p in ("HEAD", "index", "config", "packed-refs")}
    out = {p: hashlib.sha256(f.read_bytes()).hexdigest() for p, f in files.items() if f.exists()}
    for ref in sorted((dot_git / "refs").rglob("*")):
        if ref.is_file():
            out[str(ref.relative_to(dot_git))] = ref.read_text()
    # --no-optional-locks: the probe itself must not refresh (rewrite) the index.
    out["stash"] = git(ws, "--no-optional-locks", "stash", "list")
    return out


def git_status(ws: Path) -> str:
    return git(ws, "--no-optional-locks", "status", "--porcelain=v1", "--untracked-files=all")


def files(ws: Path) -> dict[str, str]:
    return {
        p.relative_to(ws).as_posix(): p.read_text()
        for p in sorted(ws.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(ws).parts
    }


@pytest.mark.parametrize("with_git", [True, False], ids=["git-repo", "no-git"])
def test_every_step_is_restorable_and_user_git_untouched(
    fake_llm: FakeLLMServer, tmp_path: Path, with_git: bool
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "one.txt").write_text("one\n")
    (ws / "two.txt").write_text("two\n")
    (ws / "four.txt").write_text("four\n")
    if with_git:
        git(ws, "init", "-q")
        git(ws, "-c", "user.name=u", "-c", "user.email=u@e", "add", "-A")
        git(ws, "-c", "user.name=u", "-c", "user.email=u@e", "commit", "-qm", "base")
        (ws / "four.txt").write_text("four, modified and uncommitted\n")
        git(ws, "-c", "user.name=u", "-c", "user.email=u@e", "stash", "-q")
        git(ws, "stash", "apply", "-q")
    before_task = files(ws)
    fingerprint = git_fingerprint(ws) if with_git else {}
    status = git_status(ws) if with_git else ""
    env = env_for(fake_llm, home)

    fake_llm.script(
        Turn.tool("write_to_file", path="one.txt", content="one, edited\n"),
        Turn.tool("write_to_file", path="two.txt", content="two, edited\n"),
        Turn.tool("execute_command", command="echo three > three.txt && rm four.txt"),
        Turn.tool("attempt_completion", result="done"),
    )
    proc = run(["run", "--yolo", "--json", "--model", MODEL, "edit things"], env=env, cwd=ws)
    assert proc.returncode == 0, proc.stderr
    after_task = files(ws)
    assert after_task == {
        "one.txt": "one, edited\n",
        "two.txt": "two, edited\n",
        "three.txt": "three\n",
    }
    created = [
        json.loads(line)
        for line in proc.stdout.splitlines()
        if json.loads(line)["type"] == "checkpoint_created"
    ]
    # Each checkpoint holds the tree *before* its action (Kilo's semantics); one that
    # would equal the previous is not taken (the first write follows the user message
    # with no change in between). The end of the turn holds the agent's result.
    expected = [
        "user_message",
        "write_to_file two.txt",
        "execute_command echo three > three.txt && rm four.txt",
        "end_of_turn",
    ]
    assert [c["trigger"] for c in created] == expected

    listed = json.loads(run(["checkpoints", "list", "--json"], env=env, cwd=ws).stdout)
    assert [c["trigger"] for c in listed] == expected
    assert {"id", "created_at", "trigger", "files_changed"} <= set(listed[0])
    assert [c["files_changed"] for c in listed[1:]] == [1, 1, 2]
    # What the command did to the workspace is in the next checkpoint.
    command_diff = run(["checkpoints", "diff", listed[2]["id"], listed[3]["id"]], env=env, cwd=ws)
    assert "+three" in command_diff.stdout and "-four" in command_diff.stdout

    first = listed[0]["id"]
    restored = run(["checkpoints", "restore", first, "--yes"], env=env, cwd=ws)
    assert restored.returncode == 0, restored.stderr
    assert files(ws) == before_task  # all four files back exactly
    if with_git:
        assert git_fingerprint(ws) == fingerprint
        assert git_status(ws) == status == " M four.txt\n"

    relisted = json.loads(run(["checkpoints", "list", "--json"], env=env, cwd=ws).stdout)
    # The restore is itself a step of the timeline, after the state it replaced.
    assert relisted[-1]["trigger"].startswith("restore ")
    latest_before_restore = relisted[-2]
    assert latest_before_restore["trigger"] == "end_of_turn"
    back = run(["checkpoints", "restore", latest_before_restore["id"], "--yes"], env=env, cwd=ws)
    assert back.returncode == 0, back.stderr
    assert files(ws) == after_task  # the agent's result is back
    if with_git:
        assert git_fingerprint(ws) == fingerprint


def _break_checkpoints(home: Path, ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file where the shadow repository should be: every checkpoint fails (we run as
    root in CI, so an unwritable directory would not stop anything)."""
    from kilo_tui.core import paths

    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    shadow = paths.checkpoints_dir(ws)
    shadow.parent.mkdir(parents=True)
    shadow.write_text("not a directory\n")
    return shadow


@pytest.mark.parametrize("yolo", [True, False], ids=["yolo-goes-on", "headless-stops"])
def test_a_failed_checkpoint_is_reported_before_the_write(
    fake_llm: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yolo: bool
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG + "[auto_approve]\nwrite = true\n")
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "a.txt").write_text("original\n")
    shadow = _break_checkpoints(home, ws, monkeypatch)
    fake_llm.script(
        Turn.tool("write_to_file", path="a.txt", content="changed\n"),
        Turn.tool("attempt_completion", result="done"),
    )
    args = ["run", "--json", "--model", MODEL, *(["--yolo"] if yolo else []), "edit a.txt"]
    proc = run(args, env=env_for(fake_llm, home), cwd=ws)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    failures = [
        i
        for i, e in enumerate(lines)
        if e["type"] == "checkpoints_unavailable" and e["trigger"] == "write_to_file a.txt"
    ]
    assert failures, "the failed checkpoint before the write was not reported"
    assert str(shadow) in lines[failures[0]]["reason"]  # says where the problem is
    finished = next(
        i
        for i, e in enumerate(lines)
        if e["type"] == "tool_call_finished" and e["name"] == "write_to_file"
    )
    assert failures[0] < finished
    if yolo:
        assert (ws / "a.txt").read_text() == "changed\n"
    else:
        assert (ws / "a.txt").read_text() == "original\n"  # never changed without one
        told = [m["content"] for m in fake_llm.chat_requests[-1]["messages"] if m["role"] == "tool"]
        assert any("the checkpoint before it failed" in t for t in told)


def test_restore_preview_lists_what_is_not_tracked_and_leaves_it(
    fake_llm: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kilo_tui.core.checkpoints import CheckpointManager

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "a.txt").write_text("one\n")
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    assert first is not None
    big = os.urandom(15 * 1024 * 1024)  # over the default 10 MB cap
    (ws / "dataset.bin").write_bytes(big)
    (ws / "a.txt").write_text("two\n")
    assert manager.save("execute_command fetch") is not None
    env = env_for(fake_llm, home)

    preview = run(["checkpoints", "restore", first.id], env=env, cwd=ws)
    assert preview.returncode == 2  # no terminal to confirm on: nothing done
    assert "not tracked, left as is" in preview.stdout
    assert "    dataset.bin" in preview.stdout.split("not tracked, left as is")[1]
    assert "REMOVED" not in preview.stdout

    restored = run(["checkpoints", "restore", first.id, "--yes"], env=env, cwd=ws)
    assert restored.returncode == 0, restored.stderr
    assert (ws / "a.txt").read_text() == "one\n"
    assert (ws / "dataset.bin").read_bytes() == big
