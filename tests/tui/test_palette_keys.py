"""The command palette (ctrl+p) shows each entry's key and binding id, as the README
promises: the id is what ``[keymap]`` in config.toml remaps."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot

from kilo_tui.tui.app import KiloApp
from tests.tui.helpers import StandInRuntime
from tests.tui.pilot import until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandInRuntime:
    monkeypatch.setenv("KILO_TUI_HOME", str(tmp_path / "home"))
    return StandInRuntime(tmp_path)


async def palette_entries(pilot: Pilot[None]) -> dict[str, str]:
    """Open the palette; every entry it lists, title → help line, as the user reads them."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    commands = pilot.app.screen.query_one(CommandList)
    await until(pilot, lambda: commands.option_count > 20)
    await pilot.pause(0.2)
    entries: dict[str, str] = {}
    for index in range(commands.option_count):
        hit = commands.get_option_at_index(index).hit  # type: ignore[attr-defined]
        entries[str(hit.text)] = str(hit.help or "")
    return entries


async def test_entries_with_a_key_show_it_and_its_binding_id(runtime: StandInRuntime) -> None:
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        entries = await palette_entries(pilot)
    assert "key ctrl+t · id checkpoints" in entries["/checkpoints"]
    assert "key ctrl+n · id new-task" in entries["/new"]
    assert "key ctrl+q · id quit" in entries["Quit"]
    # Actions that have a key and no slash command are in the palette too.
    assert "key shift+tab · id cycle-mode" in entries["Next mode"]
    assert "key ctrl+o · id toggle-tool-output" in entries["Tool output"]
    # Entries without a key binding show none.
    for title in ("/model", "/history", "/help", "Mode: Ask", "Keys"):
        assert "key " not in entries[title] and " id " not in entries[title], title


async def test_a_remapped_key_is_shown_as_remapped(runtime: StandInRuntime) -> None:
    runtime.settings = dataclasses.replace(runtime.settings, keymap={"checkpoints": "f2"})
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        entries = await palette_entries(pilot)
    assert "key f2 · id checkpoints" in entries["/checkpoints"]
