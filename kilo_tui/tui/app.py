"""The Textual application: thin, as in toad.

The App owns what cuts across screens — the agent runtime, the settings, the bridge
from the bus, themes and the keymap — and routes app-level intents
(:mod:`kilo_tui.tui.messages`). Everything about the conversation lives in
:class:`~kilo_tui.tui.screens.main.MainScreen`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import App, CSSPathType, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.theme import Theme

from kilo_tui.core.config import Settings, needs_first_run
from kilo_tui.tui.bridge import Bridge
from kilo_tui.tui.messages import SetupRequested, ThemeRequested, TrustRequested
from kilo_tui.tui.screens.main import MainScreen

if TYPE_CHECKING:
    from kilo_tui.core.agent.runtime import AgentRuntime

log = logging.getLogger(__name__)

FALLBACK_THEME = "textual-dark"
RECENT_TASKS = 3
"""Earlier tasks listed on the empty chat of a plain launch."""


def _preload() -> None:
    """Import what the agent and its first events need (run in a thread)."""
    import kilo_tui.core.agent.runtime
    import kilo_tui.tui.event_handler
    import kilo_tui.tui.widgets.approval_bar
    import kilo_tui.tui.widgets.followup  # noqa: F401


class KiloApp(App[None]):
    """Kilo Code in the terminal."""

    # The default screen's own CSS_PATH is not loaded by Textual 8 (only pushed
    # screens' are), so the main screen's stylesheet is listed here.
    CSS_PATH: ClassVar[CSSPathType] = ["app.tcss", "screens/main.tcss"]
    TITLE = "Kilo"
    PAUSE_GC_ON_SCROLL = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("ctrl+c", "interrupt", "Interrupt", id="interrupt", priority=True, show=False),
        # Textual's own has no id, so [keymap] could not remap it.
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",
            tooltip="Open the command palette",
            id="command-palette",
            priority=True,
            show=False,
        ),
    ]

    QUIT_WINDOW: ClassVar[float] = 1.0
    """Seconds within which a second ``ctrl+c`` (nothing running) quits."""

    def __init__(
        self,
        workspace: Path,
        settings: Settings,
        *,
        runtime: AgentRuntime | None = None,
        resume: str | None = None,
        continue_last: bool = False,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.settings = settings
        self.runtime: AgentRuntime | None = runtime
        """The agent; built after the first frame unless one is given (tests)."""
        self.bridge: Bridge | None = None
        self._resume = resume
        self._continue_last = continue_last
        self._saved_theme = settings.theme
        self._interrupted_at = -self.QUIT_WINDOW
        self._cancelled_at = -self.QUIT_WINDOW

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's palette commands; the one with a key binding here (Quit) says so."""
        from kilo_tui.tui.commands import bound_keys, with_key

        keys = bound_keys(self.BINDINGS, self.settings.keymap)
        for command in super().get_system_commands(screen):
            if command.title == "Quit":
                command = command._replace(help=with_key(command.help, keys["quit"], "quit"))
            yield command

    def get_default_screen(self) -> MainScreen:
        return MainScreen(self.workspace, self.settings)

    @property
    def main_screen(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_mount(self) -> None:
        from kilo_tui.tui.themes import load_theme

        # Only the theme in use is read before the first frame; the others are
        # registered right after it (see _start).
        if self.settings.theme not in self.available_themes:
            theme = load_theme(self.settings.theme)
            if theme is not None:
                self.register_theme(theme)
        self.theme = (
            self.settings.theme if self.settings.theme in self.available_themes else FALLBACK_THEME
        )
        self.set_keymap(self.settings.keymap)
        self._saved_theme = self.theme
        self.theme_changed_signal.subscribe(self, self._persist_theme)
        if self.runtime is not None:
            self._connect(self.runtime)
        # Everything heavy (the agent's imports, litellm, MCP servers, loading a
        # session) waits for the first frame; keys typed meanwhile are kept. A worker,
        # so the screen whose refresh runs the callback goes on handling messages (a
        # message sent meanwhile is acknowledged at once, not when the agent is built).
        self.call_after_refresh(self.run_worker, self._start, group="start")
        # An agent handed in ready-made (tests, embedding) was configured by its maker.
        if self.runtime is None and needs_first_run(self.settings):
            # Queued behind the start: a callback "after refresh" goes to the screen on
            # top when its turn comes, and one left on a setup screen that is skipped
            # at once would never run (the agent would never start).
            self.call_later(self._open_setup)

    @on(SetupRequested)
    def _open_setup(self) -> None:
        from kilo_tui.tui.screens.first_run import FirstRunScreen

        self.push_screen(FirstRunScreen(self.settings), self._first_run_done)

    async def _first_run_done(self, model: str | None) -> None:
        """Use the model and key the first-run screen saved (the agent may not exist yet:
        then it is built with these settings). Skipped, it leaves a pointer to /setup."""
        if model is None:
            if self.settings.model is None:
                await self.main_screen.setup_skipped()
            return
        from kilo_tui.tui.screens.first_run import settings_after_first_run

        self.main_screen.model_chosen()
        self.settings = settings_after_first_run(self.settings, model)
        if self.runtime is not None:
            self.runtime.settings = self.settings
            self.runtime.set_model(model, persist=False)

    def _connect(self, runtime: AgentRuntime) -> None:
        self.runtime = runtime
        self.bridge = Bridge(runtime.bus, self)
        self.bridge.connect(self.main_screen)
        self.main_screen.attach(runtime)

    async def _start(self) -> None:
        self._register_themes()
        if self.runtime is None:
            self._connect(await self._build_runtime())
        runtime = self.runtime
        assert runtime is not None
        await runtime.start_background()
        self._announce_startup(runtime)
        task_id = self._resume
        if task_id is None and self._continue_last:
            task_id = runtime.latest_task_id()
            if task_id is None:
                self.notify("No earlier task in this workspace.", severity="warning")
        if task_id is not None:
            try:
                await self.main_screen.resume(task_id)
            except KeyError:
                self.notify(f"No task {task_id!r} in this workspace.", severity="error")
        elif not self._continue_last:
            await self.main_screen.show_recent_tasks(runtime.recent_tasks(RECENT_TASKS))

    def _announce_startup(self, runtime: AgentRuntime) -> None:
        """Say what was left out at startup and why (an untrusted project file, a broken
        mode), and ask about a project's untrusted MCP servers."""
        from kilo_tui.core.events import Notice

        for warning in runtime.startup_warnings:
            runtime.bus.publish(Notice(message=warning, level="warning"))
        self.ask_trust()

    @on(TrustRequested)
    def ask_trust(self) -> None:
        """Ask about the project files whose current content is not trusted (at startup,
        and again when an edit on disk made one untrusted); never twice at once."""
        from kilo_tui.tui.screens.trust import TrustPrompt

        runtime = self.runtime
        if runtime is None:
            return
        asking = {s.review.digest for s in self.screen_stack if isinstance(s, TrustPrompt)}
        for review in runtime.trust_questions():
            if review.digest in asking:
                continue

            def answered(trusted: bool | None, review: object = review) -> None:
                self.run_worker(runtime.answer_trust(review, bool(trusted)), group="trust")

            self.push_screen(TrustPrompt(review), answered)

    def _register_themes(self) -> None:
        """Every shipped and user theme, for /theme and the palette (after the first
        frame: only the one in use was needed for it)."""
        from kilo_tui.tui.themes import load_themes

        for theme in load_themes():
            if theme.name not in self.available_themes or theme.name == self.theme:
                self.register_theme(theme)

    async def _build_runtime(self) -> AgentRuntime:
        # Importing the agent (MCP SDK, approval policy, …) takes a while; a thread
        # keeps the screen responsive. So does opening the session store, which
        # indexes the conversations of a database from before /history's search once
        # (seconds for a long history). Building the runtime is quick and stays on
        # the loop, where the store's connection will be used.
        await asyncio.to_thread(_preload)
        from kilo_tui.core.agent.runtime import AgentRuntime
        from kilo_tui.core.sessions import SessionStore

        store = await asyncio.to_thread(SessionStore)
        return AgentRuntime(workspace=self.workspace, settings=self.settings, store=store)

    async def action_quit(self) -> None:
        """Stop the agent (running command, MCP servers) cleanly, then exit."""
        if self.runtime is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.runtime.aclose(), 5)
        if self.bridge is not None:
            self.bridge.disconnect()
        self.exit()

    async def action_interrupt(self) -> None:
        """``ctrl+c``: stop the running turn (like ``esc``); with nothing running,
        twice within a second quits."""
        screen = self.main_screen
        now = time.monotonic()
        # A turn still winding down after a cancel (its last checkpoint) counts as
        # nothing running: more presses then mean "quit", not "cancel again".
        if screen.busy and now - self._cancelled_at > self.QUIT_WINDOW:
            self._cancelled_at = now
            screen.action_cancel()
            return
        if now - self._interrupted_at <= self.QUIT_WINDOW:
            await self.action_quit()
            return
        self._interrupted_at = now
        self.notify("Press ctrl+c again to quit.", timeout=self.QUIT_WINDOW)

    @on(ThemeRequested)
    def _switch_theme(self, message: ThemeRequested) -> None:
        self.theme = message.name

    def _persist_theme(self, theme: Theme) -> None:
        if theme.name == self._saved_theme:
            return  # the signal also fires for the theme set at start
        self._saved_theme = theme.name
        self.run_worker(self._save_theme(theme.name), group="settings", exit_on_error=False)

    async def _save_theme(self, name: str) -> None:
        from kilo_tui.core.config import save_settings_value

        try:
            await asyncio.to_thread(save_settings_value, "theme", name)
        except OSError as error:
            log.warning("could not save the theme: %s", error)
