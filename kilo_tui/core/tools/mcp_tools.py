"""``use_mcp_tool`` and ``access_mcp_resource``: the model's way to reach MCP servers.

:func:`native_mcp_tools` also offers every connected tool as its own function
(``mcp_<server>_<tool>``), as Kilo's native tool protocol does. All of them find the :class:`~kilo_tui.core.mcp.McpManager` in ``ctx.extra["mcp"]``.

Approval contract with the gate:

- ``use_mcp_tool`` on a tool listed in the server's ``alwaysAllow`` runs without asking.
- Otherwise it calls ``ctx.approve(kind="mcp", tool="use_mcp_tool", title=…,
  detail=<arguments as pretty JSON>, server=…, mcp_tool=…)``; the gate applies the
  policy's MCP toggle and asks the user if needed. A ``Decision`` with ``always=True``
  adds the tool to ``alwaysAllow`` in the file that defines the server.
- ``access_mcp_resource`` always goes through the gate (Kilo has no per-resource
  ``alwaysAllow``).

Calls that cannot work (unknown server or tool, arguments that break the tool's
schema) fail before anyone is asked. A checkpoint is taken before every tool call,
since an MCP tool can change files.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from kilo_tui.core.tools.base import (
    FunctionTool,
    ToolContext,
    ToolError,
    ToolResult,
    denial_text,
    schema,
)

if TYPE_CHECKING:
    from kilo_tui.core.mcp import McpManager, ToolInfo


def _manager(ctx: ToolContext) -> McpManager:
    manager = ctx.extra.get("mcp")
    if manager is None:
        raise ToolError("MCP is not available in this session (no MCP servers are configured).")
    return manager


def _required(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"Missing required parameter '{key}'.")
    return value.strip()


def _arguments(args: dict[str, Any]) -> dict[str, Any]:
    """The tool arguments; models sometimes send them as a JSON string."""
    value = args.get("arguments")
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ToolError(f"'arguments' is not valid JSON: {exc.msg}.") from exc
    if not isinstance(value, dict):
        raise ToolError("'arguments' must be a JSON object of the tool's parameters.")
    return value


def _denied(action: str, feedback: str) -> ToolResult:
    text = denial_text(f"this operation: {action}", feedback)
    return ToolResult(text, is_error=True, summary="denied")


async def _use_mcp_tool(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    manager = _manager(ctx)
    server = _required(args, "server_name")
    tool = _required(args, "tool_name")
    return await _call_tool(manager, ctx, server, tool, _arguments(args))


async def _call_tool(
    manager: McpManager, ctx: ToolContext, server: str, tool: str, arguments: dict[str, Any]
) -> ToolResult:
    """Check, approve (unless always allowed), checkpoint, call: shared by every MCP tool."""
    if (problem := manager.check_call(server, tool, arguments)) is not None:
        return ToolResult(problem, is_error=True, summary="invalid call")
    action = f"use {tool} on MCP server {server}"
    if not manager.is_always_allowed(server, tool):
        decision = await ctx.approve(
            kind="mcp",
            tool="use_mcp_tool",
            title=f"Use MCP tool {server}/{tool}",
            detail=json.dumps(arguments, indent=2, ensure_ascii=False),
            server=server,
            mcp_tool=tool,
        )
        if not decision.approved:
            return _denied(action, decision.feedback)
        if decision.always:
            manager.add_always_allow(server, tool)
    await ctx.checkpoint(f"use_mcp_tool {server}/{tool}")
    result = await manager.call_tool(server, tool, arguments)
    summary = f"{server}/{tool}" + (" failed" if result.is_error else "")
    return ToolResult(result.text, is_error=result.is_error, summary=summary)


async def _access_mcp_resource(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    manager = _manager(ctx)
    server = _required(args, "server_name")
    uri = _required(args, "uri")
    if (problem := manager.check_server(server)) is not None:
        return ToolResult(problem, is_error=True, summary="invalid call")
    decision = await ctx.approve(
        kind="mcp",
        tool="access_mcp_resource",
        title=f"Read MCP resource {uri} from {server}",
        detail=uri,
        server=server,
    )
    if not decision.approved:
        return _denied(f"read {uri} from MCP server {server}", decision.feedback)
    result = await manager.read_resource(server, uri)
    return ToolResult(result.text, is_error=result.is_error, summary=f"{server}: {uri}")


USE_MCP_TOOL = FunctionTool(
    name="use_mcp_tool",
    group="mcp",
    description=(
        "Request to use a tool provided by a connected MCP server. Each MCP server can "
        "provide multiple tools with different capabilities. Tools have defined input "
        "schemas that specify required and optional parameters."
    ),
    parameters=schema(
        {
            "server_name": {
                "type": "string",
                "description": "The name of the MCP server providing the tool.",
            },
            "tool_name": {"type": "string", "description": "The name of the tool to execute."},
            "arguments": {
                "type": "object",
                "description": "The tool's input parameters, following its input schema.",
            },
        },
        ["server_name", "tool_name", "arguments"],
    ),
    fn=_use_mcp_tool,
    mutating=True,
)

ACCESS_MCP_RESOURCE = FunctionTool(
    name="access_mcp_resource",
    group="mcp",
    description=(
        "Request to access a resource provided by a connected MCP server. Resources "
        "represent data sources that can be used as context, such as files, API "
        "responses, or system information."
    ),
    parameters=schema(
        {
            "server_name": {
                "type": "string",
                "description": "The name of the MCP server providing the resource.",
            },
            "uri": {"type": "string", "description": "The URI of the resource to read."},
        },
        ["server_name", "uri"],
    ),
    fn=_access_mcp_resource,
)

MCP_TOOLS: list[FunctionTool] = [USE_MCP_TOOL, ACCESS_MCP_RESOURCE]

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]+")


def native_tool_name(server: str, tool: str) -> str:
    """``mcp_<server>_<tool>``, made safe for function-calling APIs (``[a-zA-Z0-9_-]{1,64}``)."""
    return _NAME_UNSAFE.sub("_", f"mcp_{server}_{tool}")[:64]


def native_mcp_tools(manager: McpManager) -> list[FunctionTool]:
    """One function per tool of every connected server, as Kilo's native protocol offers.

    They take the MCP tool's own arguments and behave exactly like ``use_mcp_tool``
    (same checks, approval and checkpoint). Build them again when a server's status
    changes; the first of two tools whose names collide after cleaning wins.
    """
    tools: dict[str, FunctionTool] = {}
    for state in manager.servers():
        if state.status != "connected":
            continue
        for info in state.tools:
            name = native_tool_name(state.name, info.name)
            tools.setdefault(name, _native_tool(name, state.name, info))
    return list(tools.values())


def _native_tool(name: str, server: str, info: ToolInfo) -> FunctionTool:
    async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await _call_tool(_manager(ctx), ctx, server, info.name, args)

    parameters = info.input_schema or {"type": "object", "properties": {}}
    description = f"[MCP server {server}] {info.description or info.name}"
    return FunctionTool(name, "mcp", description, parameters, run, mutating=True)
