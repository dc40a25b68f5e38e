"""The MCP screen: every configured server with its status, tools and resources.

Pushed by the app on ``/mcp`` (or from the palette) as ``McpScreen(manager)``. It
stays current by itself: on mount it subscribes to ``manager.bus`` for
:class:`~kilo_tui.core.events.McpStatusChanged` and unsubscribes on unmount, so the app
needs no forwarding. (The manager publishes on the event loop's thread, as the bus
requires, so the handler may touch widgets.)

Keys (remappable by binding id): ``e`` enables or disables the highlighted server
(persisted as ``disabled`` in the file that defines it), ``r`` restarts it, ``o`` opens
that file in ``$VISUAL``/``$EDITOR`` (the app is suspended meanwhile; the settings are
reloaded afterwards) or, without an editor, shows its path. ``escape`` closes. An edit
of the settings made anywhere else shows here as soon as it is applied.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from kilo_tui.core.bus import Unsubscribe
from kilo_tui.core.events import McpSettingsReloaded, McpStatusChanged
from kilo_tui.core.mcp import (
    McpManager,
    ServerState,
    global_config_path,
    project_config_path,
)

STATUS_STYLES = {
    "connected": "$text-success",
    "starting": "$text-warning",
    "error": "$text-error",
    "disabled": "$text-muted",
    "stopped": "$text-muted",
    "untrusted": "$text-warning",
}


def server_row(state: ServerState) -> Content:
    """One line of the server list: a status dot, the name and the status."""
    style = STATUS_STYLES.get(state.status, "")
    return Content.assemble(("●", style), " ", (state.name, "bold"), "  ", (state.status, style))


def server_details(state: ServerState) -> Content:
    """Everything about one server: where it comes from, its error, tools and resources."""
    style = STATUS_STYLES.get(state.status, "")
    kind = "would run" if state.status == "untrusted" else state.transport or "invalid entry"
    parts = [
        Content.assemble((state.name, "bold"), "  ", (state.status, f"bold {style}")),
        Content.styled(f"{kind}: {state.description}", "$text-muted"),
        Content.styled(f"defined in {state.source}", "$text-muted"),
    ]
    if state.error:
        parts += [Content(""), Content.styled(state.error, "$text-error")]
    if state.status == "connected":
        parts += _tools(state) + _resources(state)
    return Content("\n").join(parts)


def _tools(state: ServerState) -> list[Content]:
    lines = [Content(""), Content.styled(f"Tools ({len(state.tools)})", "bold $text-primary")]
    for tool in state.tools:
        allowed = ("  always allowed", "$text-success") if tool.name in state.always_allow else ""
        lines.append(Content.assemble("  ", (tool.name, "bold"), allowed))
        if tool.description:
            lines.append(Content.styled(f"    {tool.description.splitlines()[0]}", "$text-muted"))
        params = ", ".join(tool.input_schema.get("properties", {}))
        if params:
            lines.append(Content.styled(f"    parameters: {params}", "$text-muted"))
    return lines


def _resources(state: ServerState) -> list[Content]:
    items = [*state.resource_templates, *state.resources]
    if not items:
        return []
    lines = [Content(""), Content.styled(f"Resources ({len(items)})", "bold $text-primary")]
    for item in items:
        lines.append(Content.assemble("  ", (item.uri, "bold"), f"  {item.name}".rstrip()))
    return lines


class McpScreen(ModalScreen[None]):
    """MCP servers: status, tools and resources; enable, disable, restart, configure.

    Args:
        manager: the workspace's MCP manager (already started, or not: the screen
            shows whatever state it is in).
    """

    CSS_PATH = "mcp.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="mcp-close"),
        Binding("e", "toggle_enabled", "Enable/disable", id="mcp-toggle-enabled"),
        Binding("r", "restart", "Restart", id="mcp-restart"),
        Binding("o", "open_config", "Open config", id="mcp-open-config"),
    ]

    def __init__(self, manager: McpManager) -> None:
        super().__init__()
        self.manager = manager
        self._names: list[str] = []
        self._unsubscribe: Unsubscribe | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="mcp-dialog"):
            yield Label("MCP servers", id="mcp-title")
            yield Static("", id="mcp-file-errors")
            with Horizontal(id="mcp-body"):
                yield OptionList(id="mcp-servers")
                with VerticalScroll(id="mcp-details-scroll"):
                    yield Static("", id="mcp-details")
        yield Footer()

    def on_mount(self) -> None:
        self._unsubscribe = self.manager.bus.subscribe(
            self.status_changed, McpStatusChanged, McpSettingsReloaded
        )
        self.refresh_servers()
        self.query_one("#mcp-servers", OptionList).focus()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def status_changed(self, event: McpStatusChanged | McpSettingsReloaded) -> None:
        """A server's status or the settings changed: redraw (public, for callers that
        forward events)."""
        self.refresh_servers()

    # ------------------------------------------------------------ drawing

    @property
    def highlighted(self) -> ServerState | None:
        """The server under the cursor."""
        index = self.query_one("#mcp-servers", OptionList).highlighted
        if index is None or index >= len(self._names):
            return None
        return self.manager.server(self._names[index])

    def refresh_servers(self) -> None:
        """Rebuild the list from the manager, keeping the cursor on the same server."""
        servers = self.manager.servers()
        option_list = self.query_one("#mcp-servers", OptionList)
        current = self.highlighted
        self._names = [s.name for s in servers]
        option_list.set_options(Option(server_row(s), id=s.name) for s in servers)
        if servers:
            keep = current.name if current and current.name in self._names else self._names[0]
            option_list.highlighted = self._names.index(keep)
        self._show_details()

    def _show_details(self) -> None:
        errors = "\n".join(str(e) for e in self.manager.config_errors)
        file_errors = self.query_one("#mcp-file-errors", Static)
        file_errors.update(Content.styled(errors, "$text-error"))
        file_errors.display = bool(errors)
        state = self.highlighted
        if state is not None:
            self.query_one("#mcp-details", Static).update(server_details(state))
            return
        files = "\n".join(f"  {p}" for p in self._settings_files())
        self.query_one("#mcp-details", Static).update(
            'No MCP servers configured.\n\nAdd them under "mcpServers" in one of:\n'
            f"{files}\n\nPress o to open the project's file."
        )

    def _settings_files(self) -> list[str]:
        return [str(global_config_path()), str(project_config_path(self.manager.workspace))]

    @on(OptionList.OptionHighlighted, "#mcp-servers")
    def _highlighted(self) -> None:
        self._show_details()

    # ------------------------------------------------------------ actions

    def action_close(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="mcp-action")
    async def action_toggle_enabled(self) -> None:
        state = self.highlighted
        if state is None:
            return
        enable = state.status == "disabled"
        try:
            await self.manager.set_enabled(state.name, enable)
        except (OSError, ValueError) as exc:
            self.notify(f"Could not update {state.source}: {exc}", severity="error")
            return
        self.notify(f"{state.name} {'enabled' if enable else 'disabled'}")

    @work(exclusive=True, group="mcp-action")
    async def action_restart(self) -> None:
        state = self.highlighted
        if state is not None:
            self.notify(f"Restarting {state.name}…")
            await self.manager.restart(state.name)

    @work(exclusive=True, group="mcp-action")
    async def action_open_config(self) -> None:
        state = self.highlighted
        path = state.source if state else project_config_path(self.manager.workspace)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor or not self._edit(shlex.split(editor), path):
            self.notify(f"MCP settings: {path}", title="Open this file to edit", timeout=10)
            return
        await self.manager.reload()
        self.refresh_servers()

    def _edit(self, editor: list[str], path: object) -> bool:
        """Run the editor with the app suspended; False if the app cannot suspend."""
        from textual.app import SuspendNotSupported

        try:
            with self.app.suspend():
                subprocess.run([*editor, str(path)], check=False)
        except (SuspendNotSupported, OSError):
            return False
        return True
