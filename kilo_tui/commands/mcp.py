"""``kilo-tui mcp list``: start the configured MCP servers, show their status and tools."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kilo_tui.core.mcp import McpManager, ServerState


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``mcp`` sub-command."""
    parser = subparsers.add_parser(
        "mcp",
        help="show MCP servers and their tools",
        description="MCP servers from the global mcp_settings.json and the project's "
        ".kilocode/mcp.json (the project wins by name).",
    )
    actions = parser.add_subparsers(dest="mcp_command", required=True)
    list_parser = actions.add_parser(
        "list",
        help="start the servers, then print their status and tools",
        description="Start every enabled server, wait for them to connect (bounded), "
        "print their status and tools, and stop them.",
    )
    list_parser.add_argument("--json", action="store_true", help="print a JSON array")
    list_parser.add_argument(
        "--path", default=".", metavar="DIR", help="project directory (default: .)"
    )
    list_parser.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for servers to connect (default: 30)",
    )
    list_parser.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    """Print every configured server; 0 even when some are in error (the output says so)."""
    import asyncio

    workspace = Path(args.path).expanduser()
    if not workspace.is_dir():
        print(f"kilo-tui mcp: not a directory: {args.path}", file=sys.stderr)
        return 2
    manager, servers = asyncio.run(_collect(workspace, args.wait))
    for error in manager.config_errors:
        print(f"kilo-tui mcp: {error}", file=sys.stderr)
    if args.json:
        json.dump([s.to_dict() for s in servers], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_servers(servers, workspace)
    return 0


async def _collect(workspace: Path, wait: float) -> tuple[McpManager, list[ServerState]]:
    from kilo_tui.core.config import load_settings
    from kilo_tui.core.mcp import McpManager

    manager = McpManager(workspace, sandbox=load_settings(workspace).sandbox)
    await manager.start()
    try:
        await manager.wait_until_settled(wait)
        return manager, manager.servers()
    finally:
        await manager.stop()


def _print_servers(servers: list[ServerState], workspace: Path) -> None:
    if not servers:
        from kilo_tui.core.mcp import global_config_path, project_config_path

        print(
            'No MCP servers configured. Add them under "mcpServers" in '
            f"{global_config_path()} or {project_config_path(workspace)}."
        )
        return
    for state in servers:
        print("  ".join(_headline(state)))
        if state.status == "untrusted":
            print(f"  would run: {state.description}")
        for line in state.error.splitlines():
            print(f"  ! {line}")
        if state.status != "connected":
            continue
        width = max((len(t.name) for t in state.tools), default=0)
        for tool in state.tools:
            summary = tool.description.splitlines()[0] if tool.description else ""
            print(f"  {tool.name.ljust(width)}  {summary}".rstrip())


def _headline(state: ServerState) -> list[str]:
    parts = [state.name, state.status]
    if state.status == "connected":
        resources = len(state.resources) + len(state.resource_templates)
        parts.append(f"{len(state.tools)} tools, {resources} resources")
    parts.append(f"({state.source})")
    return parts
