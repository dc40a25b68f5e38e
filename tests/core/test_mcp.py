"""McpManager against real MCP servers: mcp-server-time and the toy server, over stdio,
streamable HTTP and SSE, including crashes, hangs, broken settings and orphan checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kilo_tui.core.mcp import McpManager, load_config
from kilo_tui.core.mcp.config import global_config_path
from tests.mcp_servers.helpers import (
    TIME_ENTRY,
    TOY_ENTRY,
    StatusLog,
    alive,
    free_port,
    pids_with,
    project_settings,
    toy_http_server,
    wait_for,
    write_settings,
)

RUN_MANAGER = Path(__file__).parents[1] / "mcp_servers" / "run_manager.py"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


@pytest.fixture
async def started(workspace: Path) -> AsyncIterator[McpManager]:
    """A manager over whatever the test wrote into the workspace; stopped afterwards."""
    manager = McpManager(workspace)
    yield manager
    await manager.stop()


# ---------------------------------------------------------------- settings


def test_project_entry_replaces_global_one_by_name(workspace: Path, monkeypatch) -> None:
    monkeypatch.setenv("TOY_TOKEN", "s3cret")
    write_settings(
        global_config_path(),
        {
            "shared": {"command": "global-cmd"},
            "only-global": {"type": "sse", "url": "http://127.0.0.1:1/sse"},
        },
    )
    project = project_settings(
        workspace,
        {
            "shared": {
                "command": "project-cmd",
                "args": ["--token=${env:TOY_TOKEN}"],
                "env": {"TOKEN": "${env:TOY_TOKEN}"},
                "cwd": "sub",
                "timeout": 5,
                "alwaysAllow": ["echo"],
            },
        },
    )

    config = load_config(workspace)

    shared = config.servers["shared"]
    assert (shared.command, shared.args, shared.env) == (
        "project-cmd",
        ("--token=s3cret",),
        {"TOKEN": "s3cret"},
    )
    assert shared.source == project and shared.cwd == workspace / "sub"
    assert (shared.timeout, shared.always_allow) == (5.0, ("echo",))
    assert config.servers["only-global"].transport == "sse"
    assert config.sources["only-global"] == global_config_path()


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        ({"command": ""}, "command", "non-empty string"),
        ({"command": "x", "args": "-v"}, "args", "list of strings"),
        ({"type": "websocket", "url": "ws://x"}, "type", "must be one of stdio"),
        ({"type": "streamable-http"}, "url", "is required"),
        ({"type": "sse", "url": "ftp://x"}, "url", "http:// or https://"),
        ({"command": "x", "timeout": 0}, "timeout", "between 0 and"),
        ({"command": "x", "disabled": "yes"}, "disabled", "true or false"),
        ({"command": "x", "env": {"A": "${env:KILO_TEST_UNSET}"}}, "env.A", "KILO_TEST_UNSET"),
        ({"args": []}, "command", "needs 'command'"),
    ],
)
def test_a_broken_entry_names_its_file_and_field(workspace, entry, key, message) -> None:
    project = project_settings(workspace, {"bad": entry, "good": {"command": "ok"}})

    config = load_config(workspace)

    error = config.broken["bad"]
    assert error.path == str(project) and error.key == f"mcpServers.bad.{key}"
    assert message in str(error)
    assert "good" in config.servers


def test_invalid_json_is_a_file_error_with_its_line(workspace: Path) -> None:
    path = workspace / ".kilocode" / "mcp.json"
    path.parent.mkdir()
    path.write_text('{\n  "mcpServers": {\n    "x": {"command": "a",}\n  }\n}\n')
    write_settings(global_config_path(), {"fine": {"command": "ok"}})

    config = load_config(workspace)

    assert [(e.path, e.line) for e in config.file_errors] == [(str(path), 3)]
    assert list(config.servers) == ["fine"]


async def test_an_unreadable_settings_file_is_announced(workspace, started) -> None:
    from kilo_tui.core.events import Notice

    path = workspace / ".kilocode" / "mcp.json"
    path.parent.mkdir()
    path.write_text("{ nope")
    notices: list[Notice] = []
    started.bus.subscribe(notices.append, Notice)

    await started.start()

    [notice] = notices
    assert notice.level == "error"
    assert notice.message.startswith(f"MCP settings ignored: {path}, line 1: invalid JSON")
    assert [str(e.path) for e in started.config_errors] == [str(path)]


# ------------------------------------------------------------ connecting


async def test_time_server_connects_lists_tools_and_answers(workspace, started) -> None:
    project_settings(workspace, {"time": TIME_ENTRY})
    log = StatusLog(started)

    await started.start()
    state = await wait_for(started, "time", "connected")
    result = await started.call_tool("time", "get_current_time", {"timezone": "UTC"})

    assert log.statuses("time") == ["starting", "connected"]
    assert log.events[-1].tools == 2
    assert {t.name for t in state.tools} == {"get_current_time", "convert_time"}
    assert not result.is_error
    answer = json.loads(result.text)
    assert answer["timezone"] == "UTC"
    assert answer["datetime"].startswith(datetime.now(UTC).strftime("%Y-%m-%d"))


async def test_tools_description_shows_connected_servers_with_schemas(workspace, started):
    project_settings(workspace, {"toy": TOY_ENTRY, "off": {**TOY_ENTRY, "disabled": True}})
    await started.start()
    await wait_for(started, "toy", "connected")

    text = started.tools_description()

    assert "`use_mcp_tool`" in text and "`access_mcp_resource`" in text
    assert f"## toy (`{sys.executable} " in text
    assert "A toy server for kilo-tui tests." in text  # the server's instructions
    assert "- echo: Return the text unchanged." in text
    assert '"required": [\n' in text and '"text"' in text  # the input schema, as JSON
    assert "- toy://readme (readme): The toy server's readme." in text
    assert "## off" not in text


async def test_no_connected_server_says_so_and_no_settings_says_nothing(workspace, started):
    assert started.tools_description() == ""
    project_settings(workspace, {"off": {**TOY_ENTRY, "disabled": True}})
    await started.start()

    assert started.tools_description().endswith("(No MCP servers currently connected)")
    assert started.server("off").status == "disabled"


async def test_start_returns_at_once_and_broken_servers_do_not_stop_the_others(
    workspace, started
) -> None:
    project_settings(
        workspace,
        {
            "toy": TOY_ENTRY,
            "hang": {"command": "sleep", "args": ["1000"], "timeout": 1},
            "missing": {"command": "no-such-command-kilo"},
            "broken": {"command": 42},
        },
    )

    began = time.monotonic()
    await started.start()
    assert time.monotonic() - began < 0.5

    assert "must be a non-empty string" in started.server("broken").error
    assert "mcp.json" in started.server("broken").error
    missing = await wait_for(started, "missing", "error")
    assert "command not found: no-such-command-kilo" in missing.error
    hang = await wait_for(started, "hang", "error", timeout=10)
    assert "did not finish starting within 1 s" in hang.error
    await wait_for(started, "toy", "connected")
    assert not (await started.call_tool("toy", "echo", {"text": "still fine"})).is_error


# ----------------------------------------------------------------- calls


async def test_results_errors_and_resources(workspace, started) -> None:
    project_settings(workspace, {"toy": TOY_ENTRY})
    await started.start()
    await wait_for(started, "toy", "connected")

    added = await started.call_tool("toy", "add", {"a": 2, "b": 3})
    image = await started.call_tool("toy", "pixel", {})
    failed = await started.call_tool("toy", "fail", {"reason": "disk on fire"})
    readme = await started.read_resource("toy", "toy://readme")
    nothing = await started.read_resource("toy", "toy://nothing")

    assert json.loads(added.text) == {"sum": 5} and added.structured == {"sum": 5}
    assert image.text == "[image: image/png, 67 bytes]"
    assert failed.is_error and "disk on fire" in failed.text
    assert readme.text == "Toy server readme." and not readme.is_error
    assert nothing.is_error and "toy://nothing" in nothing.text


async def test_arguments_are_checked_against_the_schema_before_the_call(workspace, started):
    project_settings(workspace, {"time": TIME_ENTRY})
    await started.start()
    await wait_for(started, "time", "connected")

    missing = await started.call_tool("time", "get_current_time", {})
    wrong = await started.call_tool("time", "get_current_time", {"timezone": 5})

    assert missing.is_error and missing.text.startswith(
        "Invalid arguments for time/get_current_time"
    )
    assert "'timezone' is a required property" in missing.text
    assert '"timezone": {' in missing.text  # the schema, so the model can fix its call
    assert wrong.is_error and "timezone: 5 is not of type 'string'" in wrong.text


async def test_unknown_disabled_and_missing_targets_are_clear_errors(workspace, started):
    project_settings(workspace, {"toy": TOY_ENTRY, "off": {**TOY_ENTRY, "disabled": True}})
    await started.start()
    await wait_for(started, "toy", "connected")

    unknown = await started.call_tool("nope", "echo", {"text": "x"})
    disabled = await started.call_tool("off", "echo", {"text": "x"})
    no_tool = await started.call_tool("toy", "teleport", {})

    assert unknown.is_error
    assert unknown.text == "Unknown MCP server 'nope'. Configured servers: toy, off."
    assert disabled.is_error and disabled.text == "MCP server 'off' is disabled."
    assert no_tool.is_error and "has no tool 'teleport'" in no_tool.text
    assert "echo" in no_tool.text


async def test_a_call_waits_for_a_server_that_is_still_starting(workspace, started):
    project_settings(workspace, {"toy": TOY_ENTRY})
    await started.start()
    assert started.server("toy").status == "starting"

    result = await started.call_tool("toy", "echo", {"text": "patience"})

    assert (result.text, result.is_error) == ("patience", False)


async def test_a_call_times_out_after_the_server_timeout(workspace, started) -> None:
    # The timeout also bounds startup, so leave the toy server room to start on a busy box.
    project_settings(workspace, {"toy": {**TOY_ENTRY, "timeout": 4}})
    await started.start()
    await wait_for(started, "toy", "connected")

    began = time.monotonic()
    result = await started.call_tool("toy", "slow", {"seconds": 60})

    assert result.is_error and result.text == "toy/slow timed out after 4 s."
    assert 3.5 < time.monotonic() - began < 10
    assert started.server("toy").status == "connected"


async def test_a_crash_mid_call_is_an_error_then_the_server_restarts(workspace, started):
    project_settings(workspace, {"toy": TOY_ENTRY})
    log = StatusLog(started)
    await started.start()
    await wait_for(started, "toy", "connected")

    result = await started.call_tool("toy", "crash", {})

    assert result.is_error and "toy" in result.text
    error = await wait_for(started, "toy", "error")
    assert "exited (exit code 3)" in error.error
    assert "crashing on purpose" in error.error  # the stderr tail
    assert "restarting in 1 s" in error.error
    await wait_for(started, "toy", "connected")
    assert log.statuses("toy")[-3:] == ["error", "starting", "connected"]
    assert (await started.call_tool("toy", "echo", {"text": "back"})).text == "back"


async def test_git_server_acts_on_the_real_repository(workspace, started) -> None:
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    (workspace / "notes.txt").write_text("hello\n")
    # A project's server runs sandboxed, the workspace read-only unless its entry says so.
    git = {"command": sys.executable, "args": ["-m", "mcp_server_git"]}
    project_settings(workspace, {"git": {**git, "sandbox": "workspace-write"}})
    await started.start()
    await wait_for(started, "git", "connected")

    added = await started.call_tool(
        "git", "git_add", {"repo_path": str(workspace), "files": ["notes.txt"]}
    )
    status = await started.call_tool("git", "git_status", {"repo_path": str(workspace)})

    assert not added.is_error
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert staged.split() == ["notes.txt"]
    assert "new file:   notes.txt" in status.text


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
async def test_http_transports(workspace, started, transport: str) -> None:
    with toy_http_server(transport) as url:
        project_settings(
            workspace, {"remote": {"type": transport, "url": url, "headers": {"X-Test": "1"}}}
        )
        await started.start()
        state = await wait_for(started, "remote", "connected")

        result = await started.call_tool("remote", "echo", {"text": f"over {transport}"})
        readme = await started.read_resource("remote", "toy://readme")

    assert state.transport == transport and len(state.tools) == 6
    assert result.text == f"over {transport}" and not result.is_error
    assert readme.text == "Toy server readme."


async def test_an_http_server_that_goes_away_is_retried_until_it_is_back(workspace, started):
    port = free_port()
    with toy_http_server("streamable-http", port) as url:
        project_settings(workspace, {"remote": {"type": "streamable-http", "url": url}})
        await started.start()
        await wait_for(started, "remote", "connected")

    result = await started.call_tool("remote", "echo", {"text": "anyone?"})

    assert result.is_error and "stopped responding" in result.text
    state = await wait_for(started, "remote", "error")
    assert "restarting in" in state.error
    with toy_http_server("streamable-http", port):
        await wait_for(started, "remote", "connected", timeout=30)
        assert (await started.call_tool("remote", "echo", {"text": "back"})).text == "back"


# -------------------------------------------------------------- settings


async def test_disable_and_enable_persist_in_the_defining_file(workspace, started) -> None:
    project = project_settings(workspace, {"toy": TOY_ENTRY})
    await started.start()
    await wait_for(started, "toy", "connected")

    await started.set_enabled("toy", False)

    assert started.server("toy").status == "disabled"
    assert json.loads(project.read_text())["mcpServers"]["toy"]["disabled"] is True
    await started.set_enabled("toy", True)
    await wait_for(started, "toy", "connected")
    assert json.loads(project.read_text())["mcpServers"]["toy"]["disabled"] is False


async def test_always_allow_is_written_where_the_server_is_defined(workspace, started):
    global_file = write_settings(
        global_config_path(),
        {
            "g": {"command": "no-such-command-kilo", "alwaysAllow": ["a"], "note": "kept"},
        },
    )
    project = project_settings(workspace, {"p": {"command": "no-such-command-kilo"}})
    await started.start()

    started.add_always_allow("g", "b")
    started.add_always_allow("p", "c")
    started.add_always_allow("p", "c")

    g = json.loads(global_file.read_text())["mcpServers"]["g"]
    p = json.loads(project.read_text())["mcpServers"]["p"]
    assert (g["alwaysAllow"], g["note"], p["alwaysAllow"]) == (["a", "b"], "kept", ["c"])
    assert started.is_always_allowed("g", "b") and started.is_always_allowed("p", "c")
    assert not started.is_always_allowed("p", "b")
    assert started.config_file_for("g") == global_file
    assert started.config_file_for("p") == project


async def test_restart_reconnects_with_a_new_process(workspace, started) -> None:
    project_settings(workspace, {"toy": TOY_ENTRY})
    await started.start()
    first = (await wait_for(started, "toy", "connected")).pid

    await started.restart("toy")
    second = (await wait_for(started, "toy", "connected")).pid

    assert first and second and first != second
    assert not alive(first)


async def test_reload_starts_new_and_stops_removed_servers(workspace, started) -> None:
    project_settings(workspace, {"one": TOY_ENTRY})
    await started.start()
    one = (await wait_for(started, "one", "connected")).pid

    project_settings(workspace, {"two": TOY_ENTRY})
    await started.reload()

    assert started.server("one") is None and not alive(one)
    await wait_for(started, "two", "connected")


# --------------------------------------------------------- no orphans


async def test_stop_leaves_no_server_process(workspace) -> None:
    project_settings(
        workspace,
        {"toy": TOY_ENTRY, "time": TIME_ENTRY, "hang": {"command": "sleep", "args": ["1000"]}},
    )
    manager = McpManager(workspace)
    await manager.start()
    await wait_for(manager, "toy", "connected")
    await wait_for(manager, "time", "connected")
    pids = [s.pid for s in manager.servers()]
    assert all(pids)

    await manager.stop()

    assert [p for p in pids if p and alive(p)] == []
    assert {s.status for s in manager.servers()} == {"stopped"}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_our_process_group_kills_every_server(workspace, sig) -> None:
    marker = f"1000.{os.getpid()}{int(sig)}"
    project_settings(
        workspace,
        {
            "toy": TOY_ENTRY,
            # Never answers and ignores stdin; forks a grandchild (found by its marker:
            # inside the sandbox's PID namespace its own pid means nothing out here).
            "hang": {"command": "sh", "args": ["-c", f"sleep {marker} & echo started >&2; wait"]},
        },
    )
    proc = subprocess.Popen(
        [sys.executable, str(RUN_MANAGER), str(workspace)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=os.environ.copy(),
    )
    try:
        report = json.loads(proc.stdout.readline())
        deadline = time.monotonic() + 10
        while not pids_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchildren = pids_with(marker)
    finally:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=10)
    assert len(report["pids"]) == 2 and grandchildren
    pids = [*report["pids"], *grandchildren]

    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in pids if alive(p)] == []


def test_sigkill_of_our_process_alone_stops_the_servers(workspace) -> None:
    """No group signal, no clean stop: the servers still go (parent-death signal)."""
    project_settings(workspace, {"toy": TOY_ENTRY, "hang": {"command": "sleep", "args": ["1000"]}})
    proc = subprocess.Popen(
        [sys.executable, str(RUN_MANAGER), str(workspace)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        report = json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(timeout=10)
    pids = report["pids"]
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for p in pids if alive(p)] == []


# ------------------------------------------------------------------- CLI


def test_mcp_list_json(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kilo_tui.cli import main

    project_settings(
        workspace,
        {"time": TIME_ENTRY, "broken": {"command": 1}, "off": {**TOY_ENTRY, "disabled": True}},
    )

    code = main(["mcp", "list", "--json", "--path", str(workspace)])

    listing = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert code == 0
    assert listing["time"]["status"] == "connected"
    assert [t["name"] for t in listing["time"]["tools"]] == ["get_current_time", "convert_time"]
    assert listing["time"]["resources"] == 0
    assert listing["broken"]["status"] == "error"
    assert "mcpServers.broken.command" in listing["broken"]["error"]
    assert listing["off"]["status"] == "disabled"


def test_mcp_list_text_in_a_real_process(workspace: Path, home: Path) -> None:
    project_settings(workspace, {"time": TIME_ENTRY})
    env = {**os.environ, "KILO_TUI_HOME": str(home)}

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kilo_tui.cli import main; sys.exit(main())",
            "mcp",
            "list",
            "--path",
            str(workspace),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("time  connected  2 tools, 0 resources  (")
    assert lines[1].split()[0] == "get_current_time"
