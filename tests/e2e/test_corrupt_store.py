"""A damaged or unreadable session database, met by the real binary.

Whatever is wrong with the file, kilo-tui says what and where, keeps the damaged file
aside byte for byte (renamed, never deleted), carries on with a fresh database, and
``kilo-tui sessions recover`` brings back what SQLite can still read.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import BIN, CONFIG, MODEL, env_for, events, run
from tests.fakeserver import FakeLLMServer

FIRST = "remember the first task"


def db_path(home: Path) -> Path:
    return home / "data" / "sessions.sqlite3"


def first_task(server: FakeLLMServer, home: Path, workspace: Path) -> Path:
    """Run one task, so the database holds something; returns the database file."""
    proc = run(["run", "--json", "--model", MODEL, FIRST], env=env_for(server, home), cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    path = db_path(home)
    assert path.exists() and not path.with_name(path.name + "-wal").exists()
    return path


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def corrupt_events_table(path: Path) -> None:
    """Keep the header and schema intact; overwrite the pages of the events table."""
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            row[0]
            for row in db.execute(
                "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'events' AND rootpage > 0"
            )
        ]
    db.close()
    data = bytearray(path.read_bytes())
    for page in pages:
        start = (page - 1) * page_size
        data[start : start + page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": truncate,
    "garbage": garbage,
    "corrupt pages": corrupt_events_table,
}


def set_aside(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.glob(path.name + ".damaged-*"))


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_database_is_set_aside_and_a_fresh_one_used(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, damage: str
) -> None:
    path = first_task(fake_llm, home, workspace)
    DAMAGE[damage](path)
    damaged = path.read_bytes()

    proc = run(
        ["run", "--json", "--model", MODEL, "a second task"],
        env=env_for(fake_llm, home),
        cwd=workspace,
    )

    assert proc.returncode == 0, proc.stderr
    assert "task_completed" in [e["type"] for e in events(proc.stdout)]
    assert "Traceback" not in proc.stderr
    assert f"The session database {path} could not be read" in proc.stderr
    (aside,) = set_aside(path)
    assert f"kept as {aside}" in proc.stderr
    assert aside.read_bytes() == damaged
    env = env_for(fake_llm, home)
    listing = run(["sessions", "list", "--json"], env=env, cwd=workspace)
    (task,) = json.loads(listing.stdout)
    assert "a second task" in run(["sessions", "show", task["id"]], env=env, cwd=workspace).stdout
    assert "sessions recover" in listing.stderr  # the hint


def test_recover_brings_back_what_sqlite_can_read(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    path = first_task(fake_llm, home, workspace)
    corrupt_events_table(path)
    env = env_for(fake_llm, home)
    run(["sessions", "list"], env=env, cwd=workspace)  # sets the damaged file aside

    proc = run(["sessions", "recover"], env=env, cwd=workspace)

    assert proc.returncode == 0, proc.stderr
    assert "Recovered 1 task(s)" in proc.stdout
    (task,) = json.loads(run(["sessions", "list", "--json"], env=env, cwd=workspace).stdout)
    assert task["workspace"] == str(workspace.resolve())
    with sqlite3.connect(path) as db:
        stored = [json.loads(r[0]) for r in db.execute("SELECT data FROM messages ORDER BY seq")]
    db.close()
    assert stored[0]["role"] == "user" and stored[0]["content"].startswith(FIRST)
    assert set_aside(path), "the damaged file is kept"
    again = run(["sessions", "list"], env=env, cwd=workspace)
    assert "sessions recover" not in again.stderr  # recovered: no more hint


def test_recover_without_sqlite3_command_copies_row_by_row(
    fake_llm: FakeLLMServer, home: Path, workspace: Path, tmp_path: Path
) -> None:
    path = first_task(fake_llm, home, workspace)
    corrupt_events_table(path)
    env = env_for(fake_llm, home)
    bin_dir = tmp_path / "bin"  # a PATH with git and the shell but no sqlite3
    bin_dir.mkdir()
    for tool in ("git", "sh"):
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    env["PATH"] = str(bin_dir)
    run(["sessions", "list"], env=env, cwd=workspace)

    proc = run(["sessions", "recover"], env=env, cwd=workspace)

    assert proc.returncode == 0, proc.stderr
    assert "(row by row)" in proc.stdout and "Recovered 1 task(s)" in proc.stdout


def test_recover_says_so_when_nothing_is_readable(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    path = first_task(fake_llm, home, workspace)
    garbage(path)
    env = env_for(fake_llm, home)
    run(["sessions", "list"], env=env, cwd=workspace)

    proc = run(["sessions", "recover"], env=env, cwd=workspace)

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "kilo-tui sessions recover:" in proc.stderr
    assert set_aside(path)[0].exists()


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A directory the unprivileged user ``nobody`` owns (root reads any file)."""
    base = Path(tempfile.mkdtemp(prefix="kilo-tui-nobody-"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def as_user(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    prefix = [] if os.geteuid() else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run(
        [*prefix, str(BIN), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=90
    )


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs setpriv")
def test_an_unreadable_database_is_reported_and_set_aside(
    fake_llm: FakeLLMServer, nobody_dir: Path
) -> None:
    home, workspace = nobody_dir / "home", nobody_dir / "project"
    for directory in (home, workspace):
        directory.mkdir()
    (home / "config.toml").write_text(CONFIG)
    env = env_for(fake_llm, home)
    first = as_user(["run", "--json", "--model", MODEL, FIRST], env, workspace)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "65534:65534", str(nobody_dir)], check=True)
        first = as_user(["run", "--json", "--model", MODEL, FIRST], env, workspace)
    assert first.returncode == 0, first.stderr
    path = db_path(home)
    path.chmod(0)

    proc = as_user(["run", "--json", "--model", MODEL, "a second task"], env, workspace)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"The session database {path} could not be read" in proc.stderr
    assert "permissions" in proc.stderr
    (aside,) = set_aside(path)
    assert aside.stat().st_mode & 0o777 == 0


def test_a_database_damaged_while_running_is_set_aside_and_the_task_resumes(
    fake_llm: FakeLLMServer, home: Path, workspace: Path
) -> None:
    """The run pauses while its command runs; the database is overwritten then. The run
    ends normally, says what happened, and ``--continue`` sends every message."""
    from tests.core.test_store_damage import damage
    from tests.e2e.cli import agent_requests, start, wait_for_pause
    from tests.fakeserver import Turn

    path = db_path(home)
    fake_llm.script(
        Turn.tool("execute_command", command="echo checking"),
        Turn.tool("attempt_completion", result="Checked."),
    )
    env = env_for(fake_llm, home)
    proc = start(
        ["run", "--yolo", "--json", "--model", MODEL, "check the build"],
        env=env | {"KILO_TUI_TEST_PAUSE": "command"},
        cwd=workspace,
    )
    try:
        wait_for_pause(proc, "command")
        damaged = damage(path)
        proc.send_signal(signal.SIGCONT)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    (aside,) = set_aside(path)
    assert aside.read_bytes() == damaged
    (notice,) = [e["message"] for e in events(stdout) if "damaged while" in e.get("message", "")]
    assert str(path) in notice and str(aside) in notice
    assert "task_completed" in [e["type"] for e in events(stdout)]
    before = len(agent_requests(fake_llm))

    resumed = run(
        ["run", "--json", "--model", MODEL, "--continue", "go on"], env=env, cwd=workspace
    )

    assert resumed.returncode == 0, resumed.stderr
    request = agent_requests(fake_llm)[before]["messages"]
    roles = [m["role"] for m in request if m["role"] != "system"]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "user"]
    assert request[1]["content"].startswith("check the build")
