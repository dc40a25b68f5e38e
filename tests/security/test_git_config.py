"""A cloned (copied) repository's own ``.git/config`` cannot run code through the
read-only git commands the policy auto-approves, even with the sandbox off.

The crafted repository sets every git setting that runs a program during ``status``,
``diff``, ``log`` or ``show``: ``core.fsmonitor``, a clean/smudge/process filter and a
textconv / external diff driver named by ``.gitattributes``, ``diff.external``, a
``post-index-change`` hook (run when ``status`` refreshes the index), a signature
program, and a second driver pulled in through ``include.path``. Each writes a marker
file when it runs; none may appear, and the model still gets git's real answers.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.events import ApprovalReply
from kilo_tui.core.trust.commands import decide, git_safety_env
from tests.e2e.cli import agent_requests, tool_messages
from tests.fakeserver import FakeLLMServer, Turn
from tests.security.conftest import answer_approvals

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True)


def crafted_repo(ws: Path, markers: Path) -> None:
    """A repository whose config runs a program (leaving ``markers/<name>``) at each
    place git would."""
    git(ws, "init", "-q")
    (ws / "app.py").write_text("print('hello')\n")
    (ws / "notes.txt").write_text("one\n")
    (ws / ".gitattributes").write_text("*.py filter=evil diff=evil\n*.txt diff=inc\n")
    git(ws, "add", ".")
    git(ws, "commit", "-q", "-m", "init")

    def runs(name: str) -> str:
        return f"touch {markers / name}; cat"

    config = {
        "core.fsmonitor": f"touch {markers / 'fsmonitor'}; false",
        "core.pager": runs("pager"),
        "pager.status": runs("pager-status"),
        "diff.external": f"touch {markers / 'external'}",
        "filter.evil.clean": runs("clean"),
        "filter.evil.smudge": runs("smudge"),
        "filter.evil.process": f"touch {markers / 'process'}",
        "diff.evil.textconv": runs("textconv"),
        "diff.evil.command": f"touch {markers / 'diff-command'}",
        "log.showSignature": "true",
        "gpg.program": f"touch {markers / 'gpg'}",
        "include.path": str(ws / "extra.cfg"),
    }
    for key, value in config.items():
        git(ws, "config", key, value)
    (ws / "extra.cfg").write_text(
        f'[diff "inc"]\n\ttextconv = "touch {markers / "included"}; cat"\n'
    )
    hook = ws / ".git" / "hooks" / "post-index-change"
    hook.write_text(f"#!/bin/sh\ntouch {markers / 'hook'}\n")
    hook.chmod(0o755)
    # Changed files whose index entries look stale, so status re-reads (and filters) them.
    (ws / "app.py").write_text("print('changed')\n")
    (ws / "notes.txt").write_text("two\n")
    for name in ("app.py", "notes.txt"):
        os.utime(ws / name, (946684800, 946684800))


async def test_auto_approved_git_commands_do_not_run_the_repositorys_programs(
    make_runtime: Callable[..., AgentRuntime],
    llm_env: FakeLLMServer,
    workspace: Path,
    tmp_path: Path,
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    crafted_repo(workspace, markers)
    runtime = make_runtime('[sandbox]\nmode = "off"\n[auto_approve]\nexecute = true\n')
    asked = answer_approvals(runtime, ApprovalReply(approved=False))
    commands = ["git status", "git diff", "git log -p", "git show", "git diff HEAD -- notes.txt"]
    llm_env.script(
        *(Turn.tool("execute_command", command=c) for c in commands),
        Turn.tool("attempt_completion", result="done"),
    )

    await runtime.submit("look at the repo")

    assert asked == []  # all auto-approved by the default allowed_commands
    assert sorted(p.name for p in markers.iterdir()) == []
    status, diff, log, show, notes = tool_messages(agent_requests(llm_env)[-1])[:5]
    assert "Exit code: 0" in status and "modified:   app.py" in status, status
    assert "+print('changed')" in diff and "-print('hello')" in diff, diff
    assert "+two" in notes, notes
    assert "+print('hello')" in log and "+print('hello')" in show, (log, show)


def test_only_lines_that_run_read_only_git_get_the_overrides(tmp_path: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_COUNT": "1"}
    for line in ("git status", "git log -p | head -50", "git --no-pager diff && git show"):
        extra = git_safety_env(line, tmp_path, env)
        assert extra["GIT_CONFIG_COUNT"] == str(1 + 5), line  # after the user's own
        assert extra["GIT_CONFIG_KEY_1"] == "core.fsmonitor"
    # Commands that write keep the project's hooks: the user approved them knowingly.
    for line in ("git commit -m x", "git status && git commit -m x", "make", "echo git status"):
        assert git_safety_env(line, tmp_path, env) == {}, line


def test_git_grep_naming_a_program_to_open_files_is_never_auto_approved() -> None:
    for line in ("git grep -Otouch x", "git grep -iO x", "git grep --open-files-in-pager=sh x"):
        decision = decide(line, ["git grep"], [])
        assert decision.verdict == "ask" and "'git grep -O' runs a program" in decision.rule, line
    assert decide("git grep -n x", ["git grep"], []).verdict == "allow"
