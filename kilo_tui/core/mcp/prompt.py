"""The body of the system prompt's MCP SERVERS section, in Kilo Code's layout.

The agent's prompt builder adds the ``MCP SERVERS`` heading itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kilo_tui.core.mcp.manager import ServerState

INTRO = """\
The Model Context Protocol (MCP) enables communication between the system and MCP \
servers that provide additional tools and resources to extend your capabilities. \
MCP servers can be one of two types:

1. Local (Stdio-based) servers: These run locally on the user's machine and \
communicate via standard input/output
2. Remote (HTTP-based) servers: These run on remote machines and communicate via \
Streamable HTTP or Server-Sent Events (SSE) over HTTP/HTTPS

# Connected MCP Servers

When a server is connected, you can use the server's tools via the `use_mcp_tool` \
tool, and access the server's resources via the `access_mcp_resource` tool."""


def describe_servers(servers: Iterable[ServerState]) -> str:
    """The section's body; only connected servers are described ("" if none is configured)."""
    servers = list(servers)
    if not servers:
        return ""
    connected = [s for s in servers if s.status == "connected"]
    if not connected:
        return f"{INTRO}\n\n(No MCP servers currently connected)"
    return INTRO + "".join(f"\n\n{_describe_server(s)}" for s in connected)


def _describe_server(server: ServerState) -> str:
    lines = [f"## {server.name} (`{server.description}`)"]
    if server.instructions:
        lines += ["", "### Instructions", server.instructions]
    if server.tools:
        lines += ["", "### Available Tools"]
        for tool in server.tools:
            lines.append(f"- {tool.name}: {tool.description or '(no description)'}")
            schema = json.dumps(tool.input_schema, indent=2, ensure_ascii=False)
            lines += ["    Input Schema:", *(f"    {line}" for line in schema.splitlines())]
            lines.append("")
        lines.pop()
    for title, items in (
        ("Resource Templates", server.resource_templates),
        ("Direct Resources", server.resources),
    ):
        if items:
            lines += ["", f"### {title}"]
            lines += [f"- {r.uri} ({r.name}): {r.description}".rstrip(": ") for r in items]
    return "\n".join(lines)
