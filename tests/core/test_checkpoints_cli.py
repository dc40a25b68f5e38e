"""``kilo-tui checkpoints …`` against real git, in-process and on a real terminal."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

from kilo_tui.cli import main
from kilo_tui.core.checkpoints import CheckpointManager
from kilo_tui.core.sessions import SessionStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kilo-home"
    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    return home


@pytest.fixture
def ws(tmp_path: Path, home: Path) -> Path:
    """A workspace with a task's timeline: a message, an edit, a command."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("a\n")
    (ws / "gone.txt").write_text("deleted by the agent\n")
    manager = CheckpointManager(ws)
    manager.save("user_message", task_id="old-task", message_index=0)
    (ws / "a.txt").write_text("a from an older task\n")
    manager.save("user_message", task_id="task-1", message_index=0)
    (ws / "a.txt").write_text("a edited\n")
    manager.save("execute_command make", task_id="task-1", message_index=2)
    (ws / "new.txt").write_text("created\n")
    (ws / "gone.txt").unlink()
    manager.save("user_message", task_id="task-1", message_index=4)
    return ws


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["checkpoints", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_is_the_latest_sessions_timeline_oldest_first(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "list", "--json", "--path", str(ws))
    assert code == 0
    items = json.loads(out)
    assert [i["trigger"] for i in items] == ["user_message", "execute_command make", "user_message"]
    assert [i["files_changed"] for i in items] == [1, 1, 2]
    assert {"id", "created_at", "insertions", "deletions", "message_index"} <= set(items[0])
    assert {i["task_id"] for i in items} == {"task-1"}

    code, out, _ = run(capsys, "list", "--json", "--all", "--path", str(ws))
    assert len(json.loads(out)) == 4
    code, out, _ = run(capsys, "list", "--json", "--session", "old-task", "--path", str(ws))
    assert [i["task_id"] for i in json.loads(out)] == ["old-task"]


def test_list_text_and_diff(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--path", str(ws))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[1].endswith("execute_command make") and "1 file" in lines[1]
    first, last = lines[0].split()[0], lines[-1].split()[0]

    code, out, _ = run(capsys, "diff", first, last, "--path", str(ws))
    assert code == 0
    assert "-a from an older task\n+a edited\n" in out
    assert "+++ b/new.txt" in out and "--- a/gone.txt" in out


def test_restore_without_terminal_refuses_then_yes_restores(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = CheckpointManager(ws).list(task_id="task-1")[0]
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    code, out, err = run(capsys, "restore", first.short, "--path", str(ws))
    assert code == 2
    assert "no terminal; pass --yes" in err
    assert "new.txt" in out  # the plan lists the file that would be removed
    assert (ws / "new.txt").exists()

    code, out, _ = run(capsys, "restore", first.short, "--yes", "--path", str(ws))
    assert code == 0
    assert not (ws / "new.txt").exists()
    assert (ws / "gone.txt").read_text() == "deleted by the agent\n"
    assert (ws / "a.txt").read_text() == "a from an older task\n"
    undo = out.split("Undo with: kilo-tui checkpoints restore ")[1].split()[0]

    code, _, _ = run(capsys, "restore", undo, "--yes", "--path", str(ws))
    assert code == 0
    assert (ws / "new.txt").read_text() == "created\n"


def test_a_permissions_only_change_is_listed_and_restored(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latest = CheckpointManager(ws).list()[-1]
    (ws / "a.txt").chmod(0o600)

    code, out, _ = run(capsys, "diff", latest.short, "--path", str(ws))
    assert "diff --git a/a.txt b/a.txt\nold mode 100644\nnew mode 100600\n" in out
    code, out, _ = run(capsys, "restore", latest.short, "--yes", "--path", str(ws))

    assert code == 0, out
    assert "Nothing to restore" not in out
    assert "permissions set back (0600, executable…):\n    a.txt" in out
    assert (ws / "a.txt").stat().st_mode & 0o777 == 0o644


def test_restore_with_task_rewinds_the_conversation(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SessionStore()
    store.create_task("task-1", workspace=str(ws), model="m", mode="code")
    for n in range(5):
        store.append_message(
            "task-1", {"role": "user" if n % 2 == 0 else "assistant", "content": f"m{n}"}
        )
    command_step = CheckpointManager(ws).list(task_id="task-1")[1]

    code, out, _ = run(
        capsys, "restore", command_step.short, "--with-task", "-y", "--path", str(ws)
    )
    assert code == 0, out
    assert [m["content"] for m in store.load_messages("task-1")] == ["m0", "m1"]
    assert store.count_all_messages("task-1") == 5  # set aside, not deleted
    assert (ws / "a.txt").read_text() == "a edited\n"
    store.close()


def test_prune_and_errors(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prune", "--keep", "1", "--path", str(ws))
    assert (code, out.strip()) == (0, "Pruned 3 checkpoints.")
    code, _, err = run(capsys, "diff", "deadbeef", "--path", str(ws))
    assert code == 1 and "no checkpoint deadbeef" in err
    code, _, err = run(capsys, "list", "--path", str(ws / "missing"))
    assert code == 2 and "not a directory" in err


def test_restore_confirms_on_a_terminal(ws: Path, home: Path) -> None:
    first = CheckpointManager(ws).list(task_id="task-1")[0]
    exe = Path(sys.executable).with_name("kilo-tui")
    env = {**os.environ, "KILO_TUI_HOME": str(home)}
    child = pexpect.spawn(
        str(exe),
        ["checkpoints", "restore", first.short, "--path", str(ws)],
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect(r"REMOVED \(they did not exist at that checkpoint\):\r\n\s+new.txt")
    child.expect(r"Restore\? \[y/N\] ")
    child.sendline("y")
    child.expect("Undo with")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not (ws / "new.txt").exists()


def test_settings_apply_to_the_cli(
    ws: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "config.toml").write_text("[checkpoints]\nenabled = false\n")
    code, out, err = run(capsys, "restore", "abcd1234", "--yes", "--path", str(ws))
    assert code == 1 and "checkpoints are turned off" in err
    code, out, _ = run(capsys, "list", "--path", str(ws))
    assert (code, out.strip()) == (
        0,
        "Checkpoints are turned off (setting checkpoints.enabled = false).",
    )
