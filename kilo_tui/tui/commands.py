"""Slash commands and the command palette: one list, two ways in.

Every command is a :class:`SlashCommand`. The prompt completes them after ``/``, and
:class:`KiloCommands` offers them (plus one entry per mode and per theme) in the
``ctrl+p`` palette. Both end in :meth:`MainScreen.run_command`, which does the work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from kilo_tui.tui.screens.main import MainScreen


@dataclass(frozen=True)
class SlashCommand:
    """A command the user can type as ``/name [argument]``."""

    name: str
    help: str
    argument: str = ""
    """How the optional argument is shown in help (``[slug]``), empty when none."""


COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("mode", "Switch mode (cycles with shift+tab)", "[slug]"),
    SlashCommand("model", "Pick the model"),
    SlashCommand("setup", "Set up a provider, key and model"),
    SlashCommand("new", "Start a new task"),
    SlashCommand("history", "Browse, resume and export past tasks"),
    SlashCommand("checkpoints", "Browse and restore checkpoints"),
    SlashCommand("undo", "Take back the agent's last change or the last restore"),
    SlashCommand("redo", "Re-apply what the last /undo took back"),
    SlashCommand("condense", "Condense the conversation to free context"),
    SlashCommand("theme", "Switch the colour theme", "[name]"),
    SlashCommand("mcp", "MCP servers and their tools"),
    SlashCommand("help", "Show commands and keys"),
)


def parse_command(text: str) -> tuple[str, str] | None:
    """``"/mode code"`` → ``("mode", "code")``; ``None`` when ``text`` is not a command."""
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, argument = text[1:].strip().partition(" ")
    if not name or "/" in name:
        return None  # "/usr/bin is slow" is a message, not a command
    return name.lower(), argument.strip()


def help_text(modes: list[tuple[str, str]]) -> str:
    """The ``/help`` text, as Markdown."""
    lines = ["**Commands**", ""]
    for command in COMMANDS:
        usage = f"/{command.name} {command.argument}".strip()
        lines.append(f"- `{usage}` — {command.help}")
    lines += ["", "**Modes**", ""]
    lines += [f"- `/{slug}` — switch to {name}" for slug, name in modes]
    lines += [
        "",
        "**Keys**: `enter` send · `ctrl+j` newline · `↑`/`↓` history · `esc` cancel · "
        "`shift+tab` next mode · `ctrl+p` palette · `ctrl+t` checkpoints · "
        "`ctrl+o` tool output · `ctrl+q` quit",
    ]
    return "\n".join(lines)


class KiloCommands(Provider):
    """Every slash command, mode and theme in the command palette."""

    def _entries(self) -> Iterator[tuple[str, str, str, str]]:
        """``(title, help, command, argument)`` for everything the palette offers."""
        screen = cast("MainScreen", self.screen)
        for command in COMMANDS:
            yield f"/{command.name}", command.help, command.name, ""
        for slug, name in screen.mode_choices():
            yield f"Mode: {name}", f"/{slug}", "mode", slug
        for theme in sorted(self.app.available_themes):
            yield f"Theme: {theme}", f"/theme {theme}", "theme", theme

    async def discover(self) -> Hits:
        screen = cast("MainScreen", self.screen)
        for title, help_, name, argument in self._entries():
            yield DiscoveryHit(title, partial(screen.run_command, name, argument), help=help_)

    async def search(self, query: str) -> Hits:
        screen = cast("MainScreen", self.screen)
        matcher = self.matcher(query)
        for title, help_, name, argument in self._entries():
            if (score := matcher.match(title)) > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(screen.run_command, name, argument),
                    help=help_,
                )
