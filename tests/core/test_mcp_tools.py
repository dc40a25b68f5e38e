"""use_mcp_tool / access_mcp_resource with a real manager and mcp-server-time.

The approver is our own gate's seam, so it is a recording stub here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kilo_tui.core.bus import EventBus
from kilo_tui.core.mcp import McpManager
from kilo_tui.core.tools.base import Decision, TaskState, ToolContext, ToolError
from kilo_tui.core.tools.mcp_tools import (
    ACCESS_MCP_RESOURCE,
    MCP_TOOLS,
    USE_MCP_TOOL,
    native_mcp_tools,
    native_tool_name,
)
from kilo_tui.core.trust.paths import WorkspacePaths
from tests.mcp_servers.helpers import TIME_ENTRY, TOY_ENTRY, project_settings, wait_for

UTC_CALL = {
    "server_name": "time",
    "tool_name": "get_current_time",
    "arguments": {"timezone": "UTC"},
}


class Approver:
    """Records every approval request and answers with a fixed decision."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> Decision:
        self.calls.append(kwargs)
        return self.decision


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def manager(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[McpManager]:
    """One manager for the module (starting servers is the slow part).

    Each test uses its own server or tool where it changes settings.
    """
    root = tmp_path_factory.mktemp("mcp-tools")
    workspace = root / "ws"
    workspace.mkdir()
    project_settings(
        workspace,
        {
            "time": TIME_ENTRY,
            "trusted": {**TIME_ENTRY, "alwaysAllow": ["get_current_time"]},
            "toy": TOY_ENTRY,
        },
        home=root / "home",
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KILO_TUI_HOME", str(root / "home"))
        manager = McpManager(workspace)
        await manager.start()
        for name in ("time", "trusted", "toy"):
            await wait_for(manager, name, "connected")
        yield manager
        await manager.stop()


def context(manager: McpManager | None, approver: Approver, checkpoints: list[str]) -> ToolContext:
    async def checkpoint(trigger: str) -> None:
        checkpoints.append(trigger)

    async def no_edits(**_: Any) -> Any:
        raise AssertionError("MCP tools never propose edits")

    workspace = manager.workspace if manager else Path.cwd()
    return ToolContext(
        workspace=workspace,
        task_id="t1",
        call_id="c1",
        bus=EventBus(),
        approve=approver,
        propose_edit=no_edits,
        checkpoint=checkpoint,
        paths=WorkspacePaths(workspace),
        state=TaskState(),
        cancel=asyncio.Event(),
        extra={"mcp": manager} if manager else {},
    )


async def test_the_tools_are_in_the_mcp_group_with_kilo_parameters() -> None:
    assert [(t.name, t.group) for t in MCP_TOOLS] == [
        ("use_mcp_tool", "mcp"),
        ("access_mcp_resource", "mcp"),
    ]
    assert USE_MCP_TOOL.parameters["required"] == ["server_name", "tool_name", "arguments"]
    assert ACCESS_MCP_RESOURCE.parameters["required"] == ["server_name", "uri"]


async def test_a_tool_not_always_allowed_asks_with_server_tool_and_arguments(manager) -> None:
    approver, checkpoints = Approver(Decision(True, by="user")), []

    result = await USE_MCP_TOOL.run(UTC_CALL, context(manager, approver, checkpoints))

    [asked] = approver.calls
    assert asked["kind"] == "mcp" and asked["tool"] == "use_mcp_tool"
    assert (asked["server"], asked["mcp_tool"]) == ("time", "get_current_time")
    assert "time/get_current_time" in asked["title"]
    assert json.loads(asked["detail"]) == {"timezone": "UTC"}
    assert checkpoints == ["use_mcp_tool time/get_current_time"]
    assert not result.is_error and json.loads(result.content)["timezone"] == "UTC"
    assert result.summary == "time/get_current_time"


async def test_an_always_allowed_tool_runs_without_asking(manager) -> None:
    approver, checkpoints = Approver(Decision(False)), []

    result = await USE_MCP_TOOL.run(
        {**UTC_CALL, "server_name": "trusted"}, context(manager, approver, checkpoints)
    )

    assert approver.calls == []
    assert not result.is_error and '"timezone": "UTC"' in result.content
    assert checkpoints == ["use_mcp_tool trusted/get_current_time"]


async def test_a_denied_call_never_reaches_the_server(manager) -> None:
    approver, checkpoints = Approver(Decision(False, feedback="not now", by="user")), []

    result = await USE_MCP_TOOL.run(
        {"server_name": "toy", "tool_name": "crash", "arguments": {}},
        context(manager, approver, checkpoints),
    )

    assert result.is_error and result.summary == "denied"
    assert "The user said: not now" in result.content
    assert checkpoints == []
    assert manager.server("toy").status == "connected"  # crash was not called


async def test_always_answer_adds_the_tool_to_always_allow(manager) -> None:
    approver = Approver(Decision(True, by="user", always=True))
    ctx = context(manager, approver, [])
    call = {"server_name": "toy", "tool_name": "echo", "arguments": {"text": "hi"}}

    first = await USE_MCP_TOOL.run(call, ctx)
    second = await USE_MCP_TOOL.run(call, ctx)

    assert len(approver.calls) == 1
    assert first.content == second.content == "hi"
    settings = json.loads(manager.config_file_for("toy").read_text())
    assert settings["mcpServers"]["toy"]["alwaysAllow"] == ["echo"]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ({**UTC_CALL, "arguments": {"timezone": 7}}, "7 is not of type 'string'"),
        ({**UTC_CALL, "arguments": "{not json"}, "'arguments' is not valid JSON"),
        ({**UTC_CALL, "server_name": "nope"}, "Unknown MCP server 'nope'"),
        ({**UTC_CALL, "tool_name": "nap"}, "has no tool 'nap'"),
    ],
)
async def test_a_call_that_cannot_work_fails_before_asking(manager, call, expected) -> None:
    approver = Approver(Decision(True))

    try:
        result = await USE_MCP_TOOL.run(call, context(manager, approver, []))
        text, is_error = result.content, result.is_error
    except ToolError as exc:
        text, is_error = str(exc), True

    assert is_error and expected in text
    assert approver.calls == []


async def test_arguments_sent_as_a_json_string_are_accepted(manager) -> None:
    call = {**UTC_CALL, "server_name": "trusted", "arguments": '{"timezone": "UTC"}'}

    result = await USE_MCP_TOOL.run(call, context(manager, Approver(Decision(True)), []))

    assert not result.is_error and '"timezone": "UTC"' in result.content


async def test_access_mcp_resource_asks_then_reads(manager) -> None:
    approver = Approver(Decision(True))

    result = await ACCESS_MCP_RESOURCE.run(
        {"server_name": "toy", "uri": "toy://readme"}, context(manager, approver, [])
    )

    [asked] = approver.calls
    assert (asked["kind"], asked["tool"], asked["server"]) == ("mcp", "access_mcp_resource", "toy")
    assert "toy://readme" in asked["title"]
    assert result.content == "Toy server readme." and not result.is_error


async def test_without_a_manager_the_tools_say_mcp_is_unavailable() -> None:
    with pytest.raises(ToolError, match="MCP is not available"):
        await USE_MCP_TOOL.run(UTC_CALL, context(None, Approver(Decision(True)), []))


async def test_native_functions_one_per_connected_tool(manager) -> None:
    tools = {t.name: t for t in native_mcp_tools(manager)}
    approver, checkpoints = Approver(Decision(True)), []

    native = tools["mcp_time_get_current_time"]
    result = await native.run({"timezone": "UTC"}, context(manager, approver, checkpoints))

    assert {"mcp_trusted_get_current_time", "mcp_toy_echo", "mcp_toy_crash"} <= set(tools)
    assert native.group == "mcp" and native.parameters["required"] == ["timezone"]
    assert native.description.startswith("[MCP server time] Get current time")
    [asked] = approver.calls
    assert (asked["server"], asked["mcp_tool"]) == ("time", "get_current_time")
    assert checkpoints == ["use_mcp_tool time/get_current_time"]
    assert '"timezone": "UTC"' in result.content


async def test_native_names_are_safe_for_function_calling() -> None:
    assert native_tool_name("my server", "do.it!") == "mcp_my_server_do_it_"
    assert len(native_tool_name("s" * 50, "t" * 50)) == 64
