"""The MCP client: servers from Kilo's ``mcpServers`` settings, their tools and resources.

Import from here: :class:`McpManager` (lifecycle, calls, settings), :class:`ServerState`
(a server's status for screens and the CLI) and :class:`McpResult` (what a call returns).
"""

from __future__ import annotations

from kilo_tui.core.mcp.config import (
    ServerConfig,
    global_config_path,
    load_config,
    project_config_path,
)
from kilo_tui.core.mcp.manager import McpManager, ResourceInfo, ServerState, ToolInfo
from kilo_tui.core.mcp.results import McpResult

__all__ = [
    "McpManager",
    "McpResult",
    "ResourceInfo",
    "ServerConfig",
    "ServerState",
    "ToolInfo",
    "global_config_path",
    "load_config",
    "project_config_path",
]
