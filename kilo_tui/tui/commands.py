"""Slash commands and the command palette: one list, two ways in.

Every command is a :class:`SlashCommand`. The prompt completes them after ``/``, and
:class:`KiloCommands` offers them (plus one entry per mode and per theme, and the main
screen's keyed actions that have no command) in the ``ctrl+p`` palette. Both end in
:meth:`MainScreen.run_command`, which does the work. A palette entry with a key binding
shows its key (as remapped by ``[keymap]``) and the binding id that remaps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

if TYPE_CHECKING:
    from kilo_tui.tui.app import KiloApp
    from kilo_tui.tui.screens.main import MainScreen


@dataclass(frozen=True)
class SlashCommand:
    """A command the user can type as ``/name [argument]``."""

    name: str
    help: str
    argument: str = ""
    """How the optional argument is shown in help (``[slug]``), empty when none."""
    binding: str = ""
    """The id of the key binding that does the same, empty when none."""


COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("mode", "Switch mode (cycles with shift+tab)", "[slug]"),
    SlashCommand("model", "Pick the model"),
    SlashCommand("setup", "Set up a provider, key and model"),
    SlashCommand("new", "Start a new task", binding="new-task"),
    SlashCommand("history", "Browse, resume and export past tasks"),
    SlashCommand("checkpoints", "Browse and restore checkpoints", binding="checkpoints"),
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


PROMPT_KEYS: tuple[tuple[str, str], ...] = (
    ("enter", "send"),
    ("shift+enter", "new line"),
    ("ctrl+j", "new line"),
    ("up", "prompt history"),
    ("down", "prompt history"),
    ("@", "complete a path"),
    ("/", "complete a command"),
)
"""Keys the prompt handles itself (:mod:`kilo_tui.tui.widgets.prompt`), not bindings:
``[keymap]`` cannot remap them."""


def help_text(
    modes: list[tuple[str, str]],
    bindings: Iterable[BindingType] = (),
    keymap: Mapping[str, str] | None = None,
) -> str:
    """The ``/help`` text, as Markdown; its keys are the prompt's and ``bindings``', as
    ``keymap`` remaps them."""
    lines = ["**Commands**", ""]
    for command in COMMANDS:
        usage = f"/{command.name} {command.argument}".strip()
        lines.append(f"- `{usage}` — {command.help}")
    lines += ["", "**Modes**", ""]
    lines += [f"- `/{slug}` — switch to {name}" for slug, name in modes]
    keys: dict[str, list[str]] = {}
    for key, what in PROMPT_KEYS:
        keys.setdefault(what, []).append(key)
    described = {b.id: b.tooltip or b.description for b in Binding.make_bindings(bindings)}
    for binding_id, bound in bound_keys(bindings, keymap or {}).items():
        if described[binding_id]:
            keys.setdefault(described[binding_id], []).extend(bound)
    shown = " · ".join(
        "/".join(f"`{key}`" for key in pressed) + f" {what}" for what, pressed in keys.items()
    )
    return "\n".join([*lines, "", f"**Keys**: {shown}"])


def bound_keys(bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> dict[str, list[str]]:
    """Binding id → the keys that press it, as ``keymap`` (``[keymap]`` in the
    settings) remaps them."""
    keys: dict[str, list[str]] = {}
    for binding in Binding.make_bindings(bindings):
        if binding.id:
            keys.setdefault(binding.id, []).append(binding.key)
    for binding_id in keys.keys() & keymap.keys():
        keys[binding_id] = [key.strip() for key in keymap[binding_id].split(",")]
    return keys


def with_key(help_: str, keys: list[str], binding_id: str) -> str:
    """A palette entry's help line, saying which key runs it and which id remaps that."""
    return f"{help_} · key {', '.join(keys)} · id {binding_id}"


class KiloCommands(Provider):
    """Every slash command, mode and theme, and the main screen's keyed actions that no
    command covers, in the command palette."""

    def _entries(self) -> Iterator[tuple[str, str, Callable[[], Any]]]:
        """``(title, help, callback)`` for everything the palette offers."""
        screen = cast("MainScreen", self.screen)
        keymap = cast("KiloApp", self.app).settings.keymap
        keys = bound_keys(screen.BINDINGS, keymap)
        run = screen.run_command
        for command in COMMANDS:
            help_ = command.help
            if command.binding in keys:
                help_ = with_key(help_, keys[command.binding], command.binding)
            yield f"/{command.name}", help_, partial(run, command.name, "")
        covered = {command.binding for command in COMMANDS}
        for binding in Binding.make_bindings(screen.BINDINGS):
            if binding.show and binding.id and binding.id not in covered:
                covered.add(binding.id)
                help_ = with_key(
                    binding.tooltip or binding.description, keys[binding.id], binding.id
                )
                yield binding.description, help_, partial(screen.run_action, binding.action)
        for slug, name in screen.mode_choices():
            yield f"Mode: {name}", f"/{slug}", partial(run, "mode", slug)
        for theme in sorted(self.app.available_themes):
            yield f"Theme: {theme}", f"/theme {theme}", partial(run, "theme", theme)

    async def discover(self) -> Hits:
        for title, help_, callback in self._entries():
            yield DiscoveryHit(title, callback, help=escape(help_))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_, callback in self._entries():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=escape(help_))
