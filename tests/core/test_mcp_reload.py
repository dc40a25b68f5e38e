"""The MCP settings files are followed while kilo-tui runs (as Kilo Code's McpHub does).

Real servers (the toy server, mcp-server-time), real files edited on disk, real
watchfiles: an edit starts added servers, stops removed ones (their process ends),
restarts changed ones and leaves the rest alone; a broken edit is reported and the
running servers keep their last good settings; a trusted project file edited on disk
is not trusted any more, so nothing it now says runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kilo_tui.core.agent.runtime import AgentRuntime
from kilo_tui.core.events import McpSettingsReloaded, Notice
from kilo_tui.core.mcp import McpManager, load_config
from kilo_tui.core.mcp.config import global_config_path, project_config_path
from kilo_tui.core.trust import project as trust
from tests.fakeserver import FakeLLMServer
from tests.mcp_servers.helpers import (
    TIME_ENTRY,
    TOY_ENTRY,
    StatusLog,
    alive,
    project_settings,
    wait_for,
    write_settings,
)

WAIT = 30.0
"""Generous: the machine may be busy; every wait ends as soon as its condition holds."""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "kilo-home"))
    return tmp_path / "kilo-home"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture
async def manager(workspace: Path) -> AsyncIterator[McpManager]:
    """A manager over the workspace; the test starts it, it is stopped afterwards."""
    manager = McpManager(workspace)
    yield manager
    await asyncio.wait_for(manager.stop(), WAIT)


async def until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def pid_of(manager: McpManager, name: str) -> int:
    state = manager.server(name)
    assert state is not None and state.pid is not None, state
    return state.pid


def trusted_write(path: Path, servers: dict[str, Any]) -> None:
    """Write a project file the user trusts (trust is recorded for the new content first,
    as a user answering the prompt would, so no reload ever sees it untrusted)."""
    text = json.dumps({"mcpServers": servers}, indent=2)
    trust.trust(path, hashlib.sha256(text.encode()).hexdigest())
    path.write_text(text)


def collect(manager: McpManager, kind: type[Any]) -> list[Any]:
    seen: list[Any] = []
    manager.bus.subscribe(seen.append, kind)
    return seen


# ------------------------------------------------------------- following edits


async def test_an_edit_starts_added_stops_removed_restarts_changed_and_keeps_the_rest(
    manager: McpManager,
) -> None:
    settings = write_settings(
        global_config_path(), {"keep": TOY_ENTRY, "gone": TOY_ENTRY, "change": TOY_ENTRY}
    )
    await manager.start()
    for name in ("keep", "gone", "change"):
        await wait_for(manager, name, "connected", WAIT)
    keep, gone, change = (pid_of(manager, n) for n in ("keep", "gone", "change"))
    log = StatusLog(manager)

    write_settings(
        settings,
        {
            "keep": TOY_ENTRY,
            "change": {**TOY_ENTRY, "env": {"TOY_FLAVOUR": "new"}},
            "added": TIME_ENTRY,
        },
    )

    await wait_for(manager, "added", "connected", WAIT)
    await until(lambda: manager.server("gone") is None and not alive(gone), "gone stopped")
    await until(lambda: not alive(change), "the old change process ended")
    await wait_for(manager, "change", "connected", WAIT)
    assert pid_of(manager, "change") != change
    assert manager.server("change").always_allow == ()  # type: ignore[union-attr]
    assert pid_of(manager, "keep") == keep and alive(keep)
    assert log.statuses("keep") == []
    assert [s.name for s in manager.servers()] == ["keep", "change", "added"]


async def test_always_allow_and_timeout_apply_without_restarting_the_server(
    manager: McpManager,
) -> None:
    settings = write_settings(global_config_path(), {"toy": TOY_ENTRY})
    await manager.start()
    pid = (await wait_for(manager, "toy", "connected")).pid
    log = StatusLog(manager)

    write_settings(settings, {"toy": {**TOY_ENTRY, "alwaysAllow": ["echo"], "timeout": 5}})

    await until(lambda: manager.is_always_allowed("toy", "echo"), "alwaysAllow applied")
    result = await manager.call_tool("toy", "slow", {"seconds": 0.1})
    assert not result.is_error
    assert pid_of(manager, "toy") == pid and log.statuses("toy") == []


async def test_disabling_in_the_file_stops_the_process_and_enabling_starts_it(
    manager: McpManager,
) -> None:
    settings = write_settings(global_config_path(), {"toy": TOY_ENTRY})
    await manager.start()
    pid = (await wait_for(manager, "toy", "connected")).pid
    assert pid is not None

    write_settings(settings, {"toy": {**TOY_ENTRY, "disabled": True}})
    await wait_for(manager, "toy", "disabled", WAIT)
    await until(lambda: not alive(pid), "the disabled server's process ended")

    write_settings(settings, {"toy": TOY_ENTRY})
    await wait_for(manager, "toy", "connected", WAIT)


async def test_a_project_folder_created_later_or_removed_and_recreated_is_followed(
    manager: McpManager, workspace: Path
) -> None:
    # Untrusted entries are listed without running anything or touching the trust
    # store, so only the watch on the project file can make them appear.
    await manager.start()
    path = project_config_path(workspace)
    path.parent.mkdir()
    write_settings(path, {"one": TOY_ENTRY})
    await wait_for(manager, "one", "untrusted", WAIT)

    # The folder did not exist when watching began: later edits must be seen too.
    write_settings(path, {"two": TOY_ENTRY})
    await wait_for(manager, "two", "untrusted", WAIT)
    await until(lambda: manager.server("one") is None, "one removed")

    # A checkout removes the folder, another brings it back.
    shutil.rmtree(path.parent)
    await until(lambda: manager.servers() == [], "two removed")
    path.parent.mkdir()
    write_settings(path, {"three": TOY_ENTRY})
    await wait_for(manager, "three", "untrusted", WAIT)
    write_settings(path, {"four": TOY_ENTRY})
    await wait_for(manager, "four", "untrusted", WAIT)


async def test_writes_that_change_nothing_restart_nothing(manager: McpManager) -> None:
    settings = write_settings(global_config_path(), {"toy": TOY_ENTRY})
    await manager.start()
    pid = (await wait_for(manager, "toy", "connected")).pid
    log = StatusLog(manager)
    reloads = collect(manager, McpSettingsReloaded)
    text = settings.read_text()

    settings.write_text(text)  # saved again unchanged
    settings.write_text(json.dumps(json.loads(text)))  # reformatted: same settings
    settings.touch()
    # Then a real change, seen after the ones above: everything before it was handled.
    write_settings(settings, {"toy": TOY_ENTRY, "marker": TIME_ENTRY})
    await wait_for(manager, "marker", "connected", WAIT)

    assert pid_of(manager, "toy") == pid and log.statuses("toy") == []
    assert all(r.restarted == () for r in reloads)


async def test_a_burst_of_writes_is_applied_once_with_the_last_content(
    manager: McpManager,
) -> None:
    settings = write_settings(global_config_path(), {"toy": TOY_ENTRY})
    await manager.start()
    await wait_for(manager, "toy", "connected")
    log = StatusLog(manager)

    for i in range(20):  # an editor or a script writing in many small steps
        write_settings(settings, {"toy": {**TOY_ENTRY, "env": {"STEP": str(i)}}})
        await asyncio.sleep(0.01)

    await until(lambda: log.statuses("toy")[-1:] == ["connected"], "toy restarted")
    await asyncio.sleep(1.0)  # over three times the debounce: no second restart follows
    assert log.statuses("toy").count("starting") == 1, log.statuses("toy")


# ------------------------------------------------------------------ bad edits


async def test_invalid_json_is_reported_and_the_running_servers_keep_running(
    manager: McpManager,
) -> None:
    settings = write_settings(global_config_path(), {"toy": TOY_ENTRY, "time": TIME_ENTRY})
    await manager.start()
    pid = (await wait_for(manager, "toy", "connected")).pid
    await wait_for(manager, "time", "connected")
    notices = collect(manager, Notice)
    log = StatusLog(manager)

    settings.write_text('{"mcpServers": {"toy": ')  # saved half-way through typing

    await until(lambda: notices, "a notice")
    [notice] = notices
    assert notice.level == "error"
    assert f"{settings}, line 1: invalid JSON" in notice.message
    assert "servers keep running with their last good settings" in notice.message
    assert [e.path for e in manager.config_errors] == [str(settings)]
    assert pid_of(manager, "toy") == pid and log.statuses("toy") == []
    assert manager.server("time").status == "connected"  # type: ignore[union-attr]

    # Fixed: the new settings apply, and the error is gone.
    write_settings(settings, {"toy": TOY_ENTRY})
    await until(lambda: manager.server("time") is None, "time removed")
    assert manager.config_errors == () and pid_of(manager, "toy") == pid
    assert log.statuses("toy") == []


async def test_an_invalid_entry_keeps_its_running_server_with_the_last_good_settings(
    manager: McpManager,
) -> None:
    settings = write_settings(global_config_path(), {"toy": TOY_ENTRY})
    await manager.start()
    pid = (await wait_for(manager, "toy", "connected")).pid
    notices = collect(manager, Notice)

    write_settings(settings, {"toy": {**TOY_ENTRY, "args": "--oops"}, "new": {"command": ""}})

    await until(lambda: len(notices) >= 1 and manager.server("new"), "the reload")
    text = "\n".join(n.message for n in notices)
    assert "key 'mcpServers.toy.args': must be a list of strings" in text
    assert "toy keeps running with its last good settings" in text
    assert pid_of(manager, "toy") == pid
    assert manager.server("toy").status == "connected"  # type: ignore[union-attr]
    assert manager.server("new").status == "error"  # type: ignore[union-attr]
    result = await manager.call_tool("toy", "echo", {"text": "still here"})
    assert result.text == "still here"


# ------------------------------------------------------------------ trust


async def test_a_trusted_project_file_edited_to_run_another_command_runs_nothing(
    manager: McpManager, workspace: Path, tmp_path: Path
) -> None:
    """The attack: the file the user trusted is rewritten on disk (by a script, a
    checkout, a compromised dependency) while kilo-tui runs."""
    path = project_settings(workspace, {"srv": TOY_ENTRY})
    await manager.start()
    pid = (await wait_for(manager, "srv", "connected")).pid
    assert pid is not None
    notices = collect(manager, Notice)
    pwned = tmp_path / "pwned"
    evil = {"command": "sh", "args": ["-c", f"touch {pwned}; exec sleep 600"]}

    write_settings(path, {"srv": evil, "extra": evil})

    await wait_for(manager, "srv", "untrusted", WAIT)
    await wait_for(manager, "extra", "untrusted", WAIT)
    await until(lambda: not alive(pid), "the trusted server's process ended")
    assert not pwned.exists()
    text = "\n".join(n.message for n in notices)
    assert f"{path} changed since you trusted it" in text
    assert "kilo-tui config trust" in text
    state = manager.server("srv")
    assert state is not None and state.description == f"sh -c touch {pwned}; exec sleep 600"

    # Trusting the new content (what the prompt / `config trust` does) starts it.
    trust.trust(path)
    await manager.reload()
    await until(pwned.exists, "the trusted command ran")


async def test_an_untrusted_project_file_stays_gated_through_edits(
    manager: McpManager, workspace: Path, tmp_path: Path
) -> None:
    pwned = tmp_path / "pwned"
    evil = {"command": "sh", "args": ["-c", f"touch {pwned}; exec sleep 600"]}
    path = project_settings(workspace, {"a": evil}, trusted=False)
    await manager.start()
    await wait_for(manager, "a", "untrusted")

    write_settings(path, {"a": evil, "b": evil})

    await wait_for(manager, "b", "untrusted", WAIT)
    assert manager.server("a").status == "untrusted"  # type: ignore[union-attr]
    assert not pwned.exists()


async def test_a_trust_given_elsewhere_starts_the_servers_while_running(
    manager: McpManager, workspace: Path
) -> None:
    """`kilo-tui config trust` in another terminal writes the trust store: followed."""
    path = project_settings(workspace, {"toy": TOY_ENTRY}, trusted=False)
    await manager.start()
    await wait_for(manager, "toy", "untrusted")

    trust.trust(path)

    await wait_for(manager, "toy", "connected", WAIT)


def test_trust_is_checked_on_the_very_bytes_that_are_used(workspace: Path, tmp_path: Path) -> None:
    """The file flips between the trusted content and another one: whatever
    load_config returns, it never runs a command of the untrusted content."""
    path = project_settings(workspace, {"srv": {"command": "trusted-cmd"}})
    good = path.read_bytes()
    bad = json.dumps({"mcpServers": {"srv": {"command": "evil-cmd"}}}).encode()
    stop = threading.Event()

    def flip() -> None:
        spare = tmp_path / "spare.json"
        while not stop.is_set():
            for content in (bad, good):
                spare.write_bytes(content)
                spare.replace(path)

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        commands = set()
        for _ in range(3000):
            config = load_config(workspace)
            commands |= {s.command for s in config.servers.values()}
    finally:
        stop.set()
        flipper.join()
    assert "evil-cmd" not in commands
    assert "trusted-cmd" in commands


# ------------------------------------------------------ what the model receives


async def test_the_next_request_offers_the_new_servers_tools(
    make_runtime: Callable[..., AgentRuntime], llm_env: FakeLLMServer
) -> None:
    settings = write_settings(global_config_path(), {"toy": TOY_ENTRY})
    runtime = make_runtime()
    await runtime.start_background()
    try:
        await runtime.submit("first")
        assert runtime.mcp is not None
        toy = pid_of(runtime.mcp, "toy")
        first = main_system_prompts(llm_env)[-1]
        assert "## toy" in first and "get_current_time" not in first

        write_settings(settings, {"time": TIME_ENTRY})
        await until(lambda: runtime.mcp.server("toy") is None, "toy removed")  # type: ignore[union-attr]
        await until(lambda: not alive(toy), "the removed server's process ended")
        await runtime.submit("second")  # at once: the new server may still be starting

        second = main_system_prompts(llm_env)[-1]
        assert "## time" in second and "get_current_time" in second
        assert "## toy" not in second
    finally:
        await runtime.aclose()


def main_system_prompts(server: FakeLLMServer) -> list[str]:
    return [
        r["messages"][0]["content"] for r in server.chat_requests if r.get("model") == "fake-model"
    ]
