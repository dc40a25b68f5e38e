"""The README's key tables and ``/help`` say what the app's key bindings really are.

Every binding the app defines (App, screens and widgets under ``kilo_tui.tui``) has an
id (``[keymap]`` remaps by id) and a row in a README table headed ``| Key | Id | What it
does |`` that lists its keys and its id; every key and id a row lists is real. Rows
without an id may list only the keys the prompt handles itself (``PROMPT_KEYS``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode

import kilo_tui.tui
from kilo_tui.tui.app import KiloApp
from kilo_tui.tui.commands import PROMPT_KEYS, help_text
from kilo_tui.tui.screens.main import MainScreen
from tests.tui.helpers import StandInRuntime
from tests.tui.pilot import chat_text, type_and_send, until

README = Path(__file__).parents[2] / "README.md"
HEADER = "| Key | Id | What it does |"
SYMBOLS = {
    "↑": "up",
    "↓": "down",
    "←": "left",
    "→": "right",
    "esc": "escape",
    "pgup": "pageup",
    "pgdn": "pagedown",
    "!": "exclamation_mark",
    "[": "left_square_bracket",
    "]": "right_square_bracket",
}
"""How the README writes keys → Textual's names for them."""


def key_name(written: str) -> str:
    """``shift+↑`` → ``shift+up``."""
    *modifiers, key = written.split("+") if written != "+" else [written]
    return "+".join([*modifiers, SYMBOLS.get(key, key)])


def app_bindings() -> dict[type[DOMNode], list[Binding]]:
    """The bindings each class of the app defines itself (not Textual's own)."""
    found: dict[type[DOMNode], list[Binding]] = {}
    for module in pkgutil.walk_packages(kilo_tui.tui.__path__, "kilo_tui.tui."):
        loaded = importlib.import_module(module.name)
        for _name, cls in inspect.getmembers(loaded, inspect.isclass):
            ours = cls.__module__ == loaded.__name__ and issubclass(cls, DOMNode)
            if ours and "BINDINGS" in cls.__dict__:
                found[cls] = list(Binding.make_bindings(cls.__dict__["BINDINGS"]))
    return found


def readme_rows() -> list[tuple[str, list[str], list[str]]]:
    """``(row, keys, ids)`` of every row of the README's key tables."""
    rows: list[tuple[str, list[str], list[str]]] = []
    in_table = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.strip() == HEADER:
            in_table = True
        elif in_table and line.startswith("|"):
            cells = line.strip().strip("|").split("|")
            if set(line) <= set("|- "):
                continue
            keys = [key_name(k) for k in re.findall(r"`([^`]+)`", cells[0])]
            rows.append((line, keys, re.findall(r"`([^`]+)`", cells[1])))
        else:
            in_table = False
    return rows


def test_every_binding_has_an_id() -> None:
    missing = [
        f"{cls.__name__}: {binding.key} → {binding.action}"
        for cls, bindings in app_bindings().items()
        for binding in bindings
        if not binding.id
    ]
    assert not missing, "bindings without an id (cannot be remapped):\n" + "\n".join(missing)


def test_the_readme_key_tables_match_the_bindings() -> None:
    keys_of: dict[str, set[str]] = {}
    for bindings in app_bindings().values():
        for binding in bindings:
            if binding.id:
                keys_of.setdefault(binding.id, set()).add(binding.key)
    prompt_keys = {key for key, _what in PROMPT_KEYS}
    rows = readme_rows()
    assert len(rows) > 10, f"no key tables headed {HEADER!r} in the README"

    problems: list[str] = []
    listed: set[str] = set()
    for row, keys, ids in rows:
        real: set[str] = set(prompt_keys) if not ids else set()
        for binding_id in ids:
            if binding_id not in keys_of:
                problems.append(f"no binding has the id {binding_id!r}: {row}")
                continue
            real |= keys_of[binding_id]
            if left_out := keys_of[binding_id] - set(keys):
                problems.append(f"{binding_id!r} is also bound to {sorted(left_out)}: {row}")
        problems += [
            f"{key!r} does not do this in the app: {row}" for key in keys if key not in real
        ]
        listed |= set(ids) if ids else set(keys)
    for binding_id, keys in keys_of.items():
        if binding_id not in listed:
            problems.append(f"binding {binding_id!r} ({sorted(keys)}) is in no README row")
    problems += [f"prompt key {key!r} is in no README row" for key in prompt_keys - listed]
    assert not problems, "\n".join(problems)


def test_help_lists_the_main_keys_from_the_bindings() -> None:
    """``/help``'s key line is made from the same bindings (and remaps)."""
    bindings = [*KiloApp.BINDINGS, *MainScreen.BINDINGS]
    text = help_text([("code", "Code")], bindings, {"checkpoints": "f2"})
    keys_line = text.split("**Keys**", 1)[1]
    for binding in Binding.make_bindings(bindings):
        if binding.description:
            key = "f2" if binding.id == "checkpoints" else binding.key
            assert f"`{key}`" in keys_line, binding.id
    assert "`ctrl+t`" not in keys_line
    for key, what in PROMPT_KEYS:
        assert f"`{key}`" in keys_line and what in keys_line


async def test_help_in_the_app_shows_remapped_keys(tmp_path: Path) -> None:
    runtime = StandInRuntime(tmp_path)
    runtime.settings = dataclasses.replace(runtime.settings, keymap={"new-task": "f6"})
    app = KiloApp(runtime.workspace, runtime.settings, runtime=runtime)  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "/help")
        await until(pilot, lambda: "**Keys**" in chat_text(app))
        assert "`f6` New task" in chat_text(app)
