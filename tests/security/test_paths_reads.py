"""Nothing is read before the read is allowed (issue 11).

Every attack is a tool call the model makes through the fake provider against a real
AgentRuntime with the default policy, headless (what the policy would ask about is
refused). The assertion is always the same: the secret never reaches the model.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from kilo_tui.core import paths
from tests.fakeserver import without_environment
from tests.security import paths_harness
from tests.security.paths_harness import SECRET, Agent

# The harness's fixtures, used by parameter name.
kilo_home = paths_harness.kilo_home
make_agent = paths_harness.make_agent
outside = paths_harness.outside

MISSING_SEARCH = """<<<<<<< SEARCH
:start_line:1
-------
this text is not in the file
=======
replacement
>>>>>>> REPLACE"""


def assert_never_sent(agent: Agent) -> None:
    assert SECRET not in agent.everything_sent()
    db = paths.sessions_db()
    assert SECRET.encode() not in db.read_bytes()
    with sqlite3.connect(db) as conn:  # the WAL, too: read everything back
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            assert SECRET not in repr(conn.execute(f"SELECT * FROM {name}").fetchall())


async def test_apply_diff_does_not_echo_a_file_outside_the_workspace(
    make_agent: Callable[..., Agent], workspace: Path, outside: Path
) -> None:
    agent = make_agent()
    (workspace / "inside-link.txt").symlink_to(outside)
    for target in ("../outside.txt", str(outside), "inside-link.txt"):
        result = await agent.call("apply_diff", path=target, diff=MISSING_SEARCH)
        assert "denied" in result.lower() or "not run" in result.lower(), result
    assert_never_sent(agent)
    assert SECRET in outside.read_text()


async def test_apply_diff_cannot_read_kilo_tuis_own_config(
    make_agent: Callable[..., Agent], kilo_home: Path
) -> None:
    # Even when the user allowed reads outside the workspace: the key store is not
    # the agent's to read.
    agent = make_agent(
        f'[providers.anthropic]\napi_key = "sk-ant-{SECRET}"\n'
        "[auto_approve]\nread_outside_workspace = true\n"
    )
    config = kilo_home / "config.toml"
    for target in (str(config), os.path.relpath(config, agent.workspace)):
        result = await agent.call("apply_diff", path=target, diff=MISSING_SEARCH)
        assert "kilo-tui" in result and SECRET not in result, result
        result = await agent.call("read_file", path=target)
        assert SECRET not in result
    assert_never_sent(agent)


async def test_write_to_file_is_no_oracle_for_outside_content(
    make_agent: Callable[..., Agent], outside: Path
) -> None:
    agent = make_agent()
    original = outside.read_text()
    same = await agent.call("write_to_file", path="../outside.txt", content=original)
    other = await agent.call("write_to_file", path="../outside.txt", content="guess\n")
    assert "No changes" not in same and "already has" not in same
    # The answer does not depend on the file's content (the environment details that
    # follow it carry the clock, which may tick between the two calls).
    assert without_environment(same) == without_environment(other)
    assert outside.read_text() == original


async def test_search_files_does_not_follow_links_out_or_into_ignored_files(
    make_agent: Callable[..., Agent], workspace: Path, outside: Path
) -> None:
    (workspace / ".kilocodeignore").write_text("secrets.env\n")
    (workspace / "secrets.env").write_text(f"TOKEN={SECRET}\n")
    (workspace / "alias.txt").symlink_to("secrets.env")
    (workspace / "out.txt").symlink_to(outside)
    (workspace / "sub").mkdir()
    (workspace / "sub" / "deep.txt").symlink_to(outside)
    agent = make_agent()
    result = await agent.call("search_files", path=".", regex="SECRET")
    assert "No matches" in result, result
    result = await agent.call("search_files", path="alias.txt", regex="SECRET")
    assert SECRET not in result
    assert_never_sent(agent)


async def test_list_files_shows_links_as_names_not_where_they_point(
    make_agent: Callable[..., Agent], workspace: Path, outside: Path
) -> None:
    (workspace / "out.txt").symlink_to(outside)
    (workspace / "outdir").symlink_to(outside.parent)
    agent = make_agent()
    flat = await agent.call("list_files", path=".")
    deep = await agent.call("list_files", path=".", recursive=True)
    for listing in (flat, deep):
        assert "out.txt" in listing and str(outside.parent) not in listing, listing
        assert workspace.name not in listing  # outdir's content (the workspace) is not listed


async def test_folder_mention_does_not_follow_links_or_show_ignored_files(
    make_agent: Callable[..., Agent], workspace: Path, outside: Path
) -> None:
    (workspace / ".kilocodeignore").write_text("docs/secrets.env\n")
    docs = workspace / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n")
    (docs / "secrets.env").write_text(f"TOKEN={SECRET}\n")
    (docs / "alias.txt").symlink_to("secrets.env")
    (docs / "out.txt").symlink_to(outside)
    agent = make_agent()
    for mention in ("@/docs/", "@/docs/alias.txt", "@/docs/out.txt"):
        message = await agent.say(f"look at {mention} please")
        assert SECRET not in message, (mention, message)
    assert "# Guide" in await agent.say("look at @/docs/ please")
    assert_never_sent(agent)


async def test_git_mentions_do_not_show_ignored_files(
    make_agent: Callable[..., Agent], workspace: Path
) -> None:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=workspace,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    git("init", "-q")
    (workspace / "app.py").write_text("print('hello')\n")
    (workspace / ".kilocodeignore").write_text("secrets.env\n")
    (workspace / "secrets.env").write_text(f"TOKEN={SECRET}-old\n")
    git("add", "-A")
    git("commit", "-qm", "initial")
    commit = git("rev-parse", "HEAD").strip()
    (workspace / "secrets.env").write_text(f"TOKEN={SECRET}-new\n")
    (workspace / "app.py").write_text("print('changed')\n")
    agent = make_agent()
    changes = await agent.say("see @git-changes")
    assert "print('changed')" in changes and SECRET not in changes, changes
    shown = await agent.say(f"see @{commit[:10]}")
    assert "print('hello')" in shown and SECRET not in shown, shown
    assert_never_sent(agent)


async def test_kilocodeignore_changes_apply_at_once(
    make_agent: Callable[..., Agent], workspace: Path
) -> None:
    (workspace / "notes.txt").write_text(f"{SECRET}\n")
    agent = make_agent()
    assert SECRET in await agent.call("read_file", path="notes.txt")
    ignore = workspace / ".kilocodeignore"
    ignore.write_text("notes.txt\n")  # created mid-task
    assert "kilocodeignore" in await agent.call("read_file", path="notes.txt")
    assert "No matches" in await agent.call("search_files", path=".", regex="SECRET")
    ignore.write_text("other.txt\n")  # edited
    assert SECRET in await agent.call("read_file", path="notes.txt")
    ignore.write_text("*.txt\n")
    assert "kilocodeignore" in await agent.call("read_file", path="notes.txt")
    ignore.unlink()  # deleted
    assert SECRET in await agent.call("read_file", path="notes.txt")


async def test_project_rule_files_cannot_pull_in_outside_files_or_hang(
    make_agent: Callable[..., Agent], workspace: Path, outside: Path
) -> None:
    (workspace / "AGENTS.md").symlink_to(outside)
    rules = workspace / ".kilocode" / "rules"
    rules.mkdir(parents=True)
    (rules / "style.md").write_text("Use tabs.\n")
    (rules / "leak.md").symlink_to(outside)
    os.mkfifo(rules / "pipe.md")
    try:
        agent = make_agent()
        await agent.say("hello", timeout=60)
    finally:  # a reader stuck on the FIFO gets EOF, so a failure cannot hang the suite
        with contextlib.suppress(OSError):
            os.close(os.open(rules / "pipe.md", os.O_WRONLY | os.O_NONBLOCK))
    system = agent.requests()[-1]["messages"][0]["content"]
    assert "Use tabs." in system
    assert_never_sent(agent)
