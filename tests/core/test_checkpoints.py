"""Checkpoints against real git in temporary workspaces."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kilo_tui.core import paths
from kilo_tui.core.checkpoints import (
    CheckpointError,
    CheckpointManager,
    CheckpointsDisabled,
)
from kilo_tui.core.events import CheckpointRestored
from kilo_tui.core.timeline import summary

GIT_USER = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]


@pytest.fixture(autouse=True)
def kilo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kilo-home"
    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    return home


def git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", *GIT_USER, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def tree_state(root: Path) -> dict[str, bytes]:
    """Every file under root (outside .git and node_modules) with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and "node_modules" not in p.parts
    }


def git_fingerprint(root: Path) -> dict[str, str]:
    """Hashes of every file in the user's .git, plus status and stash as git sees them."""
    state = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / ".git").rglob("*"))
        if p.is_file()
    }
    # --no-optional-locks: the check itself must not refresh the index it hashes.
    status = ("--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
    state["<status>"] = git(root, *status)
    state["<stash>"] = git(root, "stash", "list")
    state["<refs>"] = git(root, "for-each-ref")
    return state


def make_user_repo(ws: Path) -> None:
    """A user repository with a commit, a stash and a staged change."""
    write(ws, {"one.txt": "one\n", "two.txt": "two\n", "three.txt": "3\n", "four.txt": "four\n"})
    git(ws, "init", "-q")
    git(ws, "add", ".")
    git(ws, "commit", "-qm", "initial")
    (ws / "one.txt").write_text("stashed edit\n")
    git(ws, "stash", "-q")
    (ws / "two.txt").write_text("staged edit\n")
    git(ws, "add", "two.txt")


@pytest.mark.parametrize("with_git", [True, False], ids=["git-repo", "plain-dir"])
def test_task_steps_restore_and_back_leave_user_git_untouched(
    tmp_path: Path, with_git: bool
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    if with_git:
        make_user_repo(ws)
    else:
        write(ws, {"one.txt": "one\n", "two.txt": "two\n", "three.txt": "3\n", "four.txt": "4\n"})
    fingerprint = git_fingerprint(ws) if with_git else None
    manager = CheckpointManager(ws)
    start = tree_state(ws)

    first = manager.save("user_message", task_id="t1", message_index=0)
    assert manager.save("write_to_file one.txt", task_id="t1", message_index=1) is None
    (ws / "one.txt").write_text("one, edited by the agent\n")
    edit = manager.save("write_to_file two.txt", task_id="t1", message_index=1)
    (ws / "two.txt").write_text("two, edited\nwith a second line\n")
    command = manager.save("execute_command make", task_id="t1", message_index=2)
    (ws / "created.txt").write_text("made by a command\n")
    (ws / "four.txt").unlink()
    after_agent = tree_state(ws)
    done = manager.save("user_message", task_id="t1", message_index=3)

    assert first and edit and command and done
    listed = manager.list()
    assert [cp.id for cp in listed] == [first.id, edit.id, command.id, done.id]
    assert [cp.trigger for cp in listed] == [
        "user_message",
        "write_to_file two.txt",
        "execute_command make",
        "user_message",
    ]
    assert (done.files_changed, done.insertions, done.deletions) == (2, 1, 1)
    assert manager.list(task_id="other") == []

    result = manager.restore(first.id[:7])
    assert tree_state(ws) == start
    assert result.plan.removed == ("created.txt",)
    assert result.safety.id == done.id  # nothing changed since the last checkpoint
    if fingerprint is not None:
        assert git_fingerprint(ws) == fingerprint

    manager.restore(done.id)
    assert tree_state(ws) == after_agent
    if fingerprint is not None:
        now = git_fingerprint(ws)
        assert now.pop("<status>") == " D four.txt\n M one.txt\nMM two.txt\n?? created.txt\n"
        fingerprint.pop("<status>")
        assert now == fingerprint


def test_nested_repository_files_are_snapshotted_and_restored(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    lib = ws / "libs" / "vendored"
    write(ws, {"main.py": "print('hi')\n"})
    write(lib, {"lib.py": "VERSION = 1\n", "deep/mod.py": "x = 1\n"})
    git(lib, "init", "-q")
    git(lib, "add", ".")
    git(lib, "commit", "-qm", "lib")
    inner = lib / "deep" / "inner"  # a repository inside the nested one
    write(inner, {"inner.py": "y = 2\n"})
    git(inner, "init", "-q")
    nested_git = git_fingerprint(lib)
    manager = CheckpointManager(ws)

    first = manager.save("user_message")
    assert first is not None
    assert manager.file_at(first.id, "libs/vendored/lib.py") == b"VERSION = 1\n"
    assert manager.file_at(first.id, "libs/vendored/deep/inner/inner.py") == b"y = 2\n"
    assert first.files_changed == 4  # main.py, lib.py, mod.py, inner.py: no gitlinks
    (lib / "lib.py").write_text("VERSION = 2\n")
    (lib / "deep" / "mod.py").unlink()
    write(lib, {"new.py": "added\n"})
    changed = {c.path: c.status for c in manager.changed_files(first.id)}
    assert changed == {
        "libs/vendored/lib.py": "modified",
        "libs/vendored/deep/mod.py": "deleted",
        "libs/vendored/new.py": "added",
    }

    manager.restore(first.id)
    assert (lib / "lib.py").read_text() == "VERSION = 1\n"
    assert (lib / "deep" / "mod.py").read_text() == "x = 1\n"
    assert not (lib / "new.py").exists()
    assert git_fingerprint(lib) == nested_git


def test_repository_created_later_inside_workspace_is_snapshotted(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "a\n"})
    manager = CheckpointManager(ws)
    manager.save("user_message")
    clone = ws / "clone"
    write(clone, {"inner/code.py": "pass\n"})
    git(clone, "init", "-q")
    git(clone, "add", ".")
    git(clone, "commit", "-qm", "c")

    cp = manager.save("execute_command git clone x")
    assert cp is not None
    assert manager.file_at(cp.id, "clone/inner/code.py") == b"pass\n"
    assert cp.files_changed == 1


def test_user_git_environment_does_not_leak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    make_user_repo(ws)
    fingerprint = git_fingerprint(ws)
    monkeypatch.setenv("GIT_DIR", str(ws / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(ws / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(ws))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(ws / ".git" / "objects"))
    manager = CheckpointManager(ws)

    first = manager.save("user_message")
    (ws / "three.txt").write_text("changed\n")
    manager.save("write_to_file three.txt")
    assert first is not None
    manager.restore(first.id)

    assert (ws / "three.txt").read_text() == "3\n"
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    monkeypatch.delenv("GIT_WORK_TREE")
    monkeypatch.delenv("GIT_OBJECT_DIRECTORY")
    assert git_fingerprint(ws) == fingerprint
    assert (paths.checkpoints_dir(ws) / "index").is_file()


def test_user_global_config_and_attributes_do_not_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "user-home"
    hooks = home / "hooks"
    write(hooks, {"pre-commit": "#!/bin/sh\nexit 1\n"})
    (hooks / "pre-commit").chmod(0o755)
    write(
        home,
        {
            ".gitconfig": "[commit]\n\tgpgsign = true\n[core]\n\tautocrlf = true\n"
            f"\thooksPath = {hooks}\n[user]\n\tsigningkey = NOPE\n"
        },
    )
    monkeypatch.setenv("HOME", str(home))
    ws = tmp_path / "ws"
    mixed = b"windows\r\nunix\nmac\r"
    write(ws, {".gitattributes": "* text eol=crlf\n"})
    (ws / "mixed.txt").write_bytes(mixed)
    manager = CheckpointManager(ws)

    first = manager.save("user_message")
    (ws / "mixed.txt").write_bytes(b"rewritten\n")
    manager.save("write_to_file mixed.txt")
    assert first is not None
    manager.restore(first.id)

    assert (ws / "mixed.txt").read_bytes() == mixed


def test_ignored_and_heavy_folders_are_never_touched(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(
        ws,
        {
            ".gitignore": "secrets.env\n",
            ".kilocodeignore": "private/\n",
            "app.py": "v1\n",
            "secrets.env": "TOKEN=1\n",
            "private/notes.md": "mine\n",
            "node_modules/pkg/index.js": "module 1\n",
            ".venv/lib/site.py": "venv 1\n",
            "src/__pycache__/app.cpython-311.pyc": "bytecode\n",
        },
    )
    manager = CheckpointManager(ws, extra_excludes=["*.tmp"])
    first = manager.save("user_message")
    assert first is not None
    assert first.files_changed == 3  # .gitignore, .kilocodeignore, app.py

    write(
        ws,
        {
            "app.py": "v2\n",
            "secrets.env": "TOKEN=2\n",
            "private/notes.md": "mine, edited\n",
            "node_modules/pkg/index.js": "module 2\n",
            "node_modules/pkg/new.js": "new module\n",
            "scratch.tmp": "temp\n",
        },
    )
    manager.save("execute_command npm install")
    plan = manager.plan_restore(first.id)
    assert plan.modified == ("app.py",)
    assert plan.removed == ()
    manager.restore(first.id)

    assert (ws / "app.py").read_text() == "v1\n"
    assert (ws / "secrets.env").read_text() == "TOKEN=2\n"
    assert (ws / "private/notes.md").read_text() == "mine, edited\n"
    assert (ws / "node_modules/pkg/index.js").read_text() == "module 2\n"
    assert (ws / "node_modules/pkg/new.js").exists()
    assert (ws / "scratch.tmp").exists()
    assert (ws / ".venv/lib/site.py").exists()


def test_restore_plan_lists_user_created_files_and_restore_is_undoable(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "a\n"})
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    assert first is not None
    write(ws, {"mine/draft.md": "user's own work\n", "a.txt": "a2\n"})

    plan = manager.plan_restore(first.id)
    assert plan.removed == ("mine/draft.md",)
    assert plan.modified == ("a.txt",)
    assert (ws / "mine/draft.md").exists()  # planning changes nothing

    result = manager.restore(first.id)
    assert not (ws / "mine").exists()
    assert result.safety.trigger == f"before restore to {first.short}"
    assert result.checkpoint is not None and result.checkpoint.kind == "restore"

    manager.undo()  # takes back the restore, not an earlier change
    assert (ws / "mine/draft.md").read_text() == "user's own work\n"
    assert (ws / "a.txt").read_text() == "a2\n"
    manager.redo()
    assert not (ws / "mine").exists()
    with pytest.raises(CheckpointError, match="nothing to redo"):
        manager.redo()


def test_files_over_the_size_cap_are_skipped_and_kept(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"small.bin": "x" * 10, "huge.bin": "y" * 500, "code.py": "1\n"})
    manager = CheckpointManager(ws, max_file_size=100)
    first = manager.save("user_message")
    assert first is not None
    assert manager.file_at(first.id, "huge.bin") is None
    assert manager.file_at(first.id, "small.bin") == b"x" * 10

    write(ws, {"small.bin": "z" * 400, "code.py": "2\n"})  # grows past the cap
    second = manager.save("execute_command build")
    assert second is not None
    assert manager.file_at(second.id, "small.bin") is None

    plan = manager.plan_restore(first.id)
    assert plan.kept == ("small.bin",)
    manager.restore(first.id)
    assert (ws / "code.py").read_text() == "1\n"
    assert (ws / "small.bin").read_text() == "z" * 400  # unsaved content is never clobbered
    assert (ws / "huge.bin").read_text() == "y" * 500

    write(ws, {"huge.bin": "fits now", "big [copy]*.bin": "w" * 300})
    third = manager.save("execute_command shrink")
    assert third is not None
    assert manager.file_at(third.id, "huge.bin") == b"fits now"
    assert manager.file_at(third.id, "big [copy]*.bin") is None


def test_undo_skips_steps_that_changed_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "original\n"})
    manager = CheckpointManager(ws)
    manager.save("user_message", task_id="t")
    manager.save("write_to_file a.txt", task_id="t")  # unchanged tree: no checkpoint
    (ws / "a.txt").write_text("agent edit\n")
    manager.save("execute_command pytest", task_id="t")  # pytest changes nothing

    manager.undo(task_id="t")
    assert (ws / "a.txt").read_text() == "original\n"
    with pytest.raises(CheckpointError, match="nothing to undo"):
        manager.undo(task_id="t")
    manager.redo()
    assert (ws / "a.txt").read_text() == "agent edit\n"
    manager.undo(task_id="t")  # after a redo, undo works again
    assert (ws / "a.txt").read_text() == "original\n"


def test_diff_against_now_and_between_checkpoints(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "one\n"})
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    (ws / "a.txt").write_text("two\n")
    second = manager.save("write_to_file a.txt")
    (ws / "b.txt").write_text("new\n")
    assert first and second

    step = manager.diff(first.id, second.id)
    assert "-one\n+two\n" in step and "b.txt" not in step
    now = manager.diff(second.short)
    assert "+++ b/b.txt" in now and "a.txt" not in now
    assert len(manager.list()) == 2  # diffing against now takes no checkpoint


def test_ids_are_checked(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "a\n"})
    manager = CheckpointManager(ws)
    manager.save("user_message")
    for bad in ("HEAD", "zz", "0000000"):
        with pytest.raises(CheckpointError):
            manager.get(bad)


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    manager = CheckpointManager(ws)
    ws.mkdir()
    for n in range(5):
        (ws / "a.txt").write_text(f"{n}\n")
        manager.save(f"write_to_file a.txt #{n}")
    newest = manager.list()[-1]

    assert manager.prune(keep=2) == 3
    assert [cp.trigger for cp in manager.list()] == ["write_to_file a.txt #3", newest.trigger]
    assert manager.prune(older_than=1) == 0
    assert manager.prune(older_than=-1) == 1  # everything is "old", the newest stays
    assert [cp.id for cp in manager.list()] == [newest.id]
    (ws / "a.txt").write_text("later\n")
    assert manager.save("write_to_file a.txt") is not None


def test_timeout_gives_a_clear_error_and_leaves_no_lock(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {f"d{n}/f{m}.txt": f"{n}{m}\n" for n in range(20) for m in range(50)})
    slow = CheckpointManager(ws, timeout=0.001)
    with pytest.raises(CheckpointError, match=r"too large to snapshot within 0\.001 s"):
        slow.save("user_message")
    assert not (paths.checkpoints_dir(ws) / "index.lock").exists()
    assert CheckpointManager(ws).save("user_message") is not None


def test_disabled_checkpoints_do_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "a\n"})
    manager = CheckpointManager(ws, enabled=False)
    assert manager.save("user_message") is None
    assert manager.list() == []
    with pytest.raises(CheckpointsDisabled, match="turned off"):
        manager.restore("abcdef12")
    assert not paths.checkpoints_dir(ws).exists()


def test_missing_git_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "a\n"})
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(CheckpointError, match="git is not installed"):
        CheckpointManager(ws).save("user_message")


def test_checkpoint_metadata_round_trips(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "a\n"})
    manager = CheckpointManager(ws)
    saved = manager.save("user_message", task_id="task-9", message_index=4)
    assert saved is not None
    (listed,) = manager.list(task_id="task-9")
    assert listed == saved
    assert datetime.now(UTC) - listed.created_at < timedelta(minutes=1)
    data = listed.to_dict()
    assert data["message_index"] == 4 and data["created_at"].endswith("+00:00")


def test_odd_file_names_and_symlinks_round_trip(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    # os.fsdecode maps undecodable bytes (a latin-1 é) to surrogates, as Python does.
    names = [os.fsdecode(b"caf\xe9 latin-1.txt"), "spaces and\nnewline.txt", "ünï [x]*.md"]
    for name in names:
        (ws / name).write_bytes(b"content of " + os.fsencode(name))
    (ws / "link").symlink_to("target-that-does-not-exist")
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    assert first is not None and first.files_changed == 4
    for name in names:
        (ws / name).unlink()
    (ws / "link").unlink()

    manager.restore(first.id)
    for name in names:
        assert (ws / name).read_bytes() == b"content of " + os.fsencode(name)
    assert os.readlink(ws / "link") == "target-that-does-not-exist"


def test_repeated_undo_walks_back_one_agent_change_at_a_time(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "v1\n"})
    manager = CheckpointManager(ws)
    manager.save("user_message", task_id="t")
    for version in ("v2", "v3"):
        manager.save("write_to_file a.txt", task_id="t")
        (ws / "a.txt").write_text(f"{version}\n")
        manager.save("end_of_turn", task_id="t")
    (ws / "notes.md").write_text("the user's own edit after the turn\n")

    manager.undo()
    assert (ws / "a.txt").read_text() == "v2\n"  # the end of the turn is not an agent change
    assert not (ws / "notes.md").exists()
    manager.undo()
    assert (ws / "a.txt").read_text() == "v1\n"
    with pytest.raises(CheckpointError, match="nothing to undo"):
        manager.undo()
    manager.redo()
    assert (ws / "a.txt").read_text() == "v2\n"
    manager.redo()
    assert (ws / "a.txt").read_text() == "v3\n"
    assert (ws / "notes.md").exists()  # the user's edit was undone with the rest, and is back
    with pytest.raises(CheckpointError, match="nothing to redo"):
        manager.redo()
    manager.undo()
    assert (ws / "a.txt").read_text() == "v2\n"


def test_restore_rewrites_only_the_files_that_differ(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {f"pkg/m{n}.py": f"x = {n}\n" for n in range(20)})
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    (ws / "pkg/m3.py").write_text("x = 'changed'\n")
    untouched = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (ws / "pkg").iterdir()}
    del untouched[ws / "pkg/m3.py"]
    assert first is not None

    manager.restore(first.id)
    assert (ws / "pkg/m3.py").read_text() == "x = 3\n"
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in untouched} == untouched


def test_many_new_files_at_once(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {f"a/f{n}.txt": f"{n}\n" for n in range(250)})
    manager = CheckpointManager(ws, max_file_size=100)
    first = manager.save("user_message")
    assert first is not None and first.files_changed == 250

    write(ws, {f"b/g{n}.txt": f"{n}\n" for n in range(201)})
    write(ws, {"a/f0.txt": "changed\n", "b/big.txt": "x" * 101})
    (ws / "a/f1.txt").unlink()
    second = manager.save("execute_command generate")
    assert second is not None
    assert (second.files_changed, second.insertions, second.deletions) == (203, 202, 2)
    assert manager.file_at(second.id, "b/big.txt") is None


# ------------------------------------------------------------ issue 12: locks

_SAVER = """
import sys
from pathlib import Path
from kilo_tui.core.checkpoints import CheckpointManager

ws, name, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
manager = CheckpointManager(ws)
for n in range(rounds):
    (ws / f"{name}-{n}.txt").write_text(f"{name} {n}\\n")
    checkpoint = manager.save(f"write_to_file {name}-{n}.txt")
    print(checkpoint.id if checkpoint else "-", flush=True)
"""


def _python(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def test_two_processes_on_one_workspace_both_keep_their_checkpoints(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {f"base/{n}.txt": f"{n}\n" for n in range(300)})
    CheckpointManager(ws).save("user_message")
    procs = [_python("-c", _SAVER, str(ws), name, "15") for name in ("left", "right")]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err  # no "index.lock exists", no checkpoint lost
    manager = CheckpointManager(ws)
    taken = {line for out, _ in outputs for line in out.split() if line != "-"}
    assert taken <= {cp.id for cp in manager.list()}
    # A save finds nothing new only when the other process's save took the file along.
    latest = manager.list()[-1]
    names = {f"{side}-{n}.txt" for side in ("left", "right") for n in range(15)}
    assert all(manager.file_at(latest.id, name) is not None for name in names)


def test_a_stale_index_lock_from_a_killed_process_is_cleared(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {f"d{n}/f{m}.txt": f"{n}{m}\n" for n in range(30) for m in range(100)})
    CheckpointManager(ws).save("user_message")
    for n in range(30):
        (ws / f"d{n}/f0.txt").write_text("changed\n")
    # A kilo-tui killed mid-checkpoint: its git leaves index.lock behind.
    proc = _python("-c", _SAVER, str(ws), "victim", "1000")
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.kill()
    proc.wait()
    lock = paths.checkpoints_dir(ws) / "index.lock"
    lock.write_text("")  # whether or not the kill landed inside git: the worst case
    (ws / "after.txt").write_text("after the kill\n")
    manager = CheckpointManager(ws)
    checkpoint = manager.save("write_to_file after.txt")
    assert checkpoint is not None
    assert manager.file_at(checkpoint.id, "after.txt") == b"after the kill\n"
    assert not lock.exists()


_HOLDER = """
import sys, time
from pathlib import Path
from kilo_tui.core.checkpoints import CheckpointManager

manager = CheckpointManager(Path(sys.argv[1]))
with manager.locked():
    (manager.git_dir / "index.lock").write_text("")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    (manager.git_dir / "index.lock").unlink()
"""


def test_a_live_kilo_tui_keeps_its_lock_and_the_other_waits_visibly(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "a\n"})
    CheckpointManager(ws).save("user_message")
    holder = _python("-c", _HOLDER, str(ws), "60")
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    try:
        waits: list[str] = []
        impatient = CheckpointManager(ws, lock_wait=0.5, on_wait=waits.append)
        (ws / "a.txt").write_text("a2\n")
        with pytest.raises(CheckpointError, match="another kilo-tui"):
            impatient.save("write_to_file a.txt")
        assert waits == ["waiting for another kilo-tui's checkpoint…"]
        # The live holder's lock was left alone.
        assert (paths.checkpoints_dir(ws) / "index.lock").exists()
    finally:
        holder.kill()
        holder.wait()
    holder = _python("-c", _HOLDER, str(ws), "1")
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    waits.clear()
    patient = CheckpointManager(ws, lock_wait=60, on_wait=waits.append)
    assert patient.save("write_to_file a.txt") is not None  # once the other is done
    assert waits == ["waiting for another kilo-tui's checkpoint…"]
    holder.wait(timeout=30)


# ------------------------------------------------------- issue 12: restores


def test_files_that_were_never_snapshotted_survive_a_restore_and_are_listed(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "one\n", ".gitignore": "*.log\n"})
    manager = CheckpointManager(ws)  # the default cap: 10 MB
    first = manager.save("user_message")
    assert first is not None
    big = os.urandom(15 * 1024 * 1024)
    (ws / "data.bin").write_bytes(big)
    write(ws, {"debug.log": "ignored\n", "node_modules/x/index.js": "dep\n", "a.txt": "two\n"})
    second = manager.save("execute_command build")
    assert second is not None and manager.file_at(second.id, "data.bin") is None

    plan = manager.plan_restore(first.id)
    assert plan.modified == ("a.txt",)
    assert {"data.bin", "debug.log", "node_modules/"} <= set(plan.untracked)
    assert "data.bin" not in plan.removed
    result = manager.restore(first.id)
    assert {"data.bin", "debug.log", "node_modules/"} <= set(result.plan.untracked)
    assert (ws / "a.txt").read_text() == "one\n"
    assert (ws / "data.bin").read_bytes() == big
    assert (ws / "debug.log").read_text() == "ignored\n"
    assert (ws / "node_modules/x/index.js").read_text() == "dep\n"


def test_file_modes_survive_restore_and_undo(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"secret.env": "TOKEN=1\n", "tool.sh": "echo 1\n", "run.sh": "echo a\n"})
    (ws / "secret.env").chmod(0o600)
    (ws / "tool.sh").chmod(0o750)
    (ws / "run.sh").chmod(0o755)
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    assert first is not None
    write(ws, {"secret.env": "TOKEN=2\n", "tool.sh": "echo 2\n", "run.sh": "echo b\n"})
    (ws / "run.sh").chmod(0o700)
    assert manager.save("write_to_file secret.env") is not None

    def modes() -> dict[str, int]:
        return {n: (ws / n).stat().st_mode & 0o7777 for n in ("secret.env", "tool.sh", "run.sh")}

    manager.restore(first.id)
    assert (ws / "secret.env").read_text() == "TOKEN=1\n"
    assert modes() == {"secret.env": 0o600, "tool.sh": 0o750, "run.sh": 0o755}
    assert manager.save("end_of_turn") is None  # the restore recorded what is there
    manager.undo()
    assert (ws / "secret.env").read_text() == "TOKEN=2\n"
    assert modes() == {"secret.env": 0o600, "tool.sh": 0o750, "run.sh": 0o700}
    manager.redo()
    assert modes() == {"secret.env": 0o600, "tool.sh": 0o750, "run.sh": 0o755}


def test_mode_only_changes_show_in_the_plan_and_the_diff_and_are_restored(
    tmp_path: Path,
) -> None:
    """chmod alone (0600, +x) changes no content: the restore preview, the restore's
    file lists and the checkpoint diff still name the file, and the restore undoes it."""
    ws = tmp_path / "ws"
    write(ws, {"secret.env": "TOKEN=1\n", "build.sh": "make\n", "same.txt": "x\n"})
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    assert first is not None
    (ws / "secret.env").chmod(0o600)
    (ws / "build.sh").chmod(0o755)

    plan = manager.plan_restore(first.id)
    assert plan.modes == ("build.sh", "secret.env")
    assert not plan.is_empty and plan.modified == ()
    diff = manager.diff(first.id)
    assert "secret.env" in diff and "new mode 100600" in diff
    assert "build.sh" in diff and "new mode 100755" in diff
    assert "same.txt" not in diff

    result = manager.restore(first.id)

    assert result.plan.modes == ("build.sh", "secret.env")
    event = CheckpointRestored(checkpoint_id=first.id, with_task=False, modes=result.plan.modes)
    assert summary(event).endswith(": permissions set back: build.sh, secret.env")
    assert (ws / "secret.env").stat().st_mode & 0o777 == 0o644
    assert (ws / "build.sh").stat().st_mode & 0o777 == 0o644
    assert result.checkpoint is not None
    assert manager.undo().plan.modes == ("build.sh", "secret.env")
    assert (ws / "secret.env").stat().st_mode & 0o777 == 0o600
    assert (ws / "build.sh").stat().st_mode & 0o777 == 0o755


def test_a_restore_keeps_the_rules_the_user_granted(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write(ws, {"a.txt": "one\n", ".kilocode/kilo-tui.toml": "[auto_approve]\nread = true\n"})
    manager = CheckpointManager(ws)
    first = manager.save("user_message")
    assert first is not None
    granted = '[auto_approve]\nread = true\nalways_allow = ["command:npm test"]\n'
    write(ws, {"a.txt": "two\n", ".kilocode/kilo-tui.toml": granted})
    assert manager.save("execute_command npm test") is not None
    plan = manager.plan_restore(first.id)
    assert plan.modified == ("a.txt",)
    manager.restore(first.id)
    assert (ws / "a.txt").read_text() == "one\n"
    assert (ws / ".kilocode/kilo-tui.toml").read_text() == granted
    # Granted after a checkpoint that did not have the file: not deleted either.
    fresh = tmp_path / "fresh"
    write(fresh, {"a.txt": "one\n"})
    manager = CheckpointManager(fresh)
    first = manager.save("user_message")
    assert first is not None
    write(fresh, {"a.txt": "two\n", ".kilocode/kilo-tui.toml": granted})
    assert manager.save("execute_command npm test") is not None
    manager.restore(first.id)
    assert (fresh / ".kilocode/kilo-tui.toml").read_text() == granted


def test_each_task_keeps_its_own_checkpoint_of_files_another_task_already_saved(
    tmp_path: Path,
) -> None:
    """Two kilo-tui processes on one workspace: the second task's step must be in its
    own timeline even when the first task's checkpoint already holds the same files."""
    ws = tmp_path / "ws"
    write(ws, {"main.py": "print('hi')\n"})
    manager = CheckpointManager(ws)
    manager.save("user_message", task_id="left")
    write(ws, {"right.txt": "from the right task\n"})
    manager.save("end_of_turn", task_id="left")  # the left task's snapshot has it first

    mine = manager.save("end_of_turn", task_id="right")

    assert mine is not None and mine.task_id == "right"
    assert manager.file_at(mine.id, "right.txt") == b"from the right task\n"
    assert manager.save("end_of_turn", task_id="right") is None  # its own: no duplicate
