"""A write goes exactly where the user approved (issue 11).

The user reviews a diff; while the review is pending, the attacker (a process in the
repository, a build script) swaps a symlink into the path. What the user approved was
a file inside the workspace: nothing may be written anywhere else.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core import events as ev
from kilo_tui.core.events import ApprovalReply
from tests.security import paths_harness
from tests.security.paths_harness import Agent

# The harness's fixtures, used by parameter name.
kilo_home = paths_harness.kilo_home
make_agent = paths_harness.make_agent
outside = paths_harness.outside

CONTENT = "alpha\nbeta\n"
EDIT = """<<<<<<< SEARCH
:start_line:2
-------
beta
=======
pwned
>>>>>>> REPLACE"""


def approve_after(agent: Agent, attack: Callable[[], None]) -> list[Any]:
    """Answer every diff proposal with "approve", after running ``attack``."""
    proposals: list[Any] = []

    def on_proposal(event: ev.DiffProposed) -> None:
        proposals.append(event)
        attack()
        asyncio.get_running_loop().call_soon(
            agent.runtime.bus.reply, event.request_id, ApprovalReply(approved=True)
        )

    agent.runtime.bus.subscribe(on_proposal, ev.DiffProposed)
    return proposals


@pytest.mark.parametrize("tool", ["apply_diff", "write_to_file"])
async def test_a_file_swapped_for_a_link_during_review_is_not_followed(
    make_agent: Callable[..., Agent], workspace: Path, tmp_path: Path, tool: str
) -> None:
    target = workspace / "notes.txt"
    target.write_text(CONTENT)
    victim = tmp_path / "victim.txt"
    victim.write_text(CONTENT)  # same content: the write would not even look stale

    def swap() -> None:
        target.unlink()
        target.symlink_to(victim)

    agent = make_agent(interactive=True)
    proposals = approve_after(agent, swap)
    args = {"diff": EDIT} if tool == "apply_diff" else {"content": "alpha\npwned\n"}
    result = await agent.call(tool, path="notes.txt", **args)
    assert len(proposals) == 1
    assert victim.read_text() == CONTENT, result
    assert "pwned" not in (target.read_text() if not target.is_symlink() else "")


async def test_a_directory_swapped_for_a_link_during_review_is_not_followed(
    make_agent: Callable[..., Agent], workspace: Path, tmp_path: Path
) -> None:
    (workspace / "sub").mkdir()
    (workspace / "sub" / "notes.txt").write_text(CONTENT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text(CONTENT)

    def swap() -> None:
        shutil.rmtree(workspace / "sub")
        (workspace / "sub").symlink_to(elsewhere)

    agent = make_agent(interactive=True)
    approve_after(agent, swap)
    result = await agent.call("apply_diff", path="sub/notes.txt", diff=EDIT)
    assert (elsewhere / "notes.txt").read_text() == CONTENT
    assert "not" in result.lower(), result  # the model is told nothing was written


async def test_a_new_file_cannot_be_redirected_through_a_parent_link(
    make_agent: Callable[..., Agent], workspace: Path, tmp_path: Path
) -> None:
    (workspace / "build").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def swap() -> None:
        (workspace / "build").rmdir()
        (workspace / "build").symlink_to(elsewhere)

    agent = make_agent(interactive=True)
    approve_after(agent, swap)
    await agent.call("write_to_file", path="build/out.txt", content="data\n")
    assert not (elsewhere / "out.txt").exists()


@pytest.mark.parametrize(
    "path",
    [".git/hooks/pre-commit", ".git/config", "vendor/lib/.git/hooks/post-checkout", "a/.git"],
)
async def test_git_directories_are_protected_even_with_write_on(
    make_agent: Callable[..., Agent], workspace: Path, path: str
) -> None:
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / ".git" / "config").write_text("[core]\n")
    (workspace / "vendor" / "lib" / ".git" / "hooks").mkdir(parents=True)
    agent = make_agent(
        "[auto_approve]\nwrite = true\nwrite_protected = true\n"
        'always_allow = ["write:.git/", "write:vendor/"]\n'
    )
    result = await agent.call("write_to_file", path=path, content="#!/bin/sh\ncurl evil\n")
    target = workspace / path
    assert not (target.is_file() and "curl evil" in target.read_text()), result
    assert ".git" in result


async def test_writes_elsewhere_still_work_with_write_on(
    make_agent: Callable[..., Agent], workspace: Path
) -> None:
    agent = make_agent("[auto_approve]\nwrite = true\n")
    await agent.call("write_to_file", path="src/git_helpers.py", content="x = 1\n")
    await agent.call("write_to_file", path="docs/.github/notes.md", content="# n\n")
    assert (workspace / "src/git_helpers.py").read_text() == "x = 1\n"
    assert (workspace / "docs/.github/notes.md").read_text() == "# n\n"
    assert not os.path.islink(workspace / "src")
