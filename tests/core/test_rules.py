"""Custom instructions in Kilo's order, and the environment details block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kilo_tui.core.agent.modes import BUILTIN_MODES, Mode, get_mode
from kilo_tui.core.agent.rules import build_custom_instructions, environment_details


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def builtin(slug: str) -> Mode:
    mode = get_mode(BUILTIN_MODES, slug)
    assert mode is not None
    return mode


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    ws, home = tmp_path / "ws", tmp_path / "kilocode-home"
    ws.mkdir()
    home.mkdir()
    return ws, home


def test_everything_in_kilos_order(dirs: tuple[Path, Path]) -> None:
    ws, home = dirs
    write(home / "rules" / "global.md", "GLOBAL-RULE")
    write(home / "rules-code" / "g-mode.md", "GLOBAL-MODE-RULE")
    write(ws / ".kilocode" / "rules" / "b.md", "PROJECT-RULE-B")
    write(ws / ".kilocode" / "rules" / "a.txt", "PROJECT-RULE-A")
    write(ws / ".kilocode" / "rules" / "nested" / "c.md", "PROJECT-RULE-C")
    write(ws / ".kilocode" / "rules" / "notes.json", "NOT-A-RULE")
    write(ws / ".kilocode" / "rules-code" / "p-mode.md", "PROJECT-MODE-RULE")
    write(ws / ".kilocode" / "rules-ask" / "other.md", "ASK-ONLY")
    write(ws / ".kilocodeignore", "secrets/\n")
    write(ws / "AGENTS.md", "AGENTS-FILE")
    write(ws / ".clinerules", "LEGACY-UNUSED")
    code = Mode(slug="code", name="Code", role_definition="r", custom_instructions="MODE-INSTR")
    text = build_custom_instructions(
        workspace=ws, mode=code, global_instructions="GLOBAL-INSTR\n", kilocode_home=home,
        language="fr",
    )  # fmt: skip
    order = [
        'speak and think in the "fr" language',
        "Global Instructions:\nGLOBAL-INSTR",
        "Mode-specific Instructions:\nMODE-INSTR",
        "Rules:",
        f"# Rules from {home / 'rules-code' / 'g-mode.md'}:\nGLOBAL-MODE-RULE",
        "# Rules from .kilocode/rules-code/p-mode.md:\nPROJECT-MODE-RULE",
        "# .kilocodeignore",
        "secrets/",
        "# Rules from AGENTS.md:\nAGENTS-FILE",
        f"# Rules from {home / 'rules' / 'global.md'}:\nGLOBAL-RULE",
        "# Rules from .kilocode/rules/a.txt:\nPROJECT-RULE-A",
        "# Rules from .kilocode/rules/b.md:\nPROJECT-RULE-B",
        "# Rules from .kilocode/rules/nested/c.md:\nPROJECT-RULE-C",
    ]
    positions = [text.index(piece) for piece in order]
    assert positions == sorted(positions)
    assert text.startswith("====\n\nUSER'S CUSTOM INSTRUCTIONS\n\n")
    for absent in ("NOT-A-RULE", "ASK-ONLY", "LEGACY-UNUSED"):
        assert absent not in text


def test_fallback_files_and_agents_toggle(dirs: tuple[Path, Path]) -> None:
    ws, home = dirs
    write(ws / ".kilocoderules-debug", "DEBUG-FALLBACK")
    write(ws / ".roorules", "ROO-LEGACY")
    write(ws / ".clinerules", "CLINE-LEGACY")
    write(ws / "AGENT.md", "SINGULAR-AGENT")
    debug = builtin("debug")
    text = build_custom_instructions(workspace=ws, mode=debug, kilocode_home=home)
    assert "# Rules from .kilocoderules-debug:\nDEBUG-FALLBACK" in text
    assert "# Rules from .roorules:\nROO-LEGACY" in text  # first legacy file found wins
    assert "CLINE-LEGACY" not in text
    assert "# Rules from AGENT.md:\nSINGULAR-AGENT" in text
    assert debug.custom_instructions.split(".")[0] in text  # built-in mode instructions
    without = build_custom_instructions(
        workspace=ws, mode=debug, kilocode_home=home, use_agents_md=False
    )
    assert "SINGULAR-AGENT" not in without


def test_legacy_rules_directory(dirs: tuple[Path, Path]) -> None:
    ws, home = dirs
    write(ws / ".clinerules" / "01-style.md", "STYLE")
    write(ws / ".clinerules" / "02-tests.md", "TESTS")
    text = build_custom_instructions(workspace=ws, mode=builtin("code"), kilocode_home=home)
    assert text.index("# Rules from .clinerules/01-style.md:\nSTYLE") < text.index("TESTS")


def test_nothing_gives_empty_string(dirs: tuple[Path, Path]) -> None:
    ws, home = dirs
    write(ws / ".kilocode" / "rules" / "empty.md", "   \n")
    assert build_custom_instructions(workspace=ws, mode=builtin("code"), kilocode_home=home) == ""


# ------------------------------------------------------------- environment


def test_environment_details_first_request(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "dist/\n")
    write(tmp_path / ".kilocodeignore", "private/\n")
    write(tmp_path / "src" / "app.py", "")
    write(tmp_path / "dist" / "bundle.js", "")
    write(tmp_path / "private" / "keys.txt", "")
    write(tmp_path / "README.md", "")
    now = datetime(2026, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=1), "CET"))
    text = environment_details(
        now=now,
        mode=builtin("architect"),
        model="anthropic/claude-sonnet-4",
        cost=0.1234,
        todos=[
            {"text": "read the code", "status": "completed"},
            {"text": "write the plan", "status": "in_progress"},
            {"text": "review", "status": "pending"},
        ],
        workspace=tmp_path,
        include_listing=True,
    )
    assert text.startswith("<environment_details>\n") and text.endswith("</environment_details>")
    assert "Current time in ISO 8601 UTC format: 2026-03-01T13:30:00.000Z" in text
    assert "User time zone: CET, UTC+1:00" in text
    assert "# Current Cost\n$0.12" in text
    assert (
        "<slug>architect</slug>\n<name>Architect</name>\n<model>anthropic/claude-sonnet-4</model>"
        in text
    )
    assert "(2 open of 3)\n[x] read the code\n[-] write the plan\n[ ] review" in text
    listing = text.split(f"# Current Workspace Directory ({tmp_path}) Files\n")[1]
    assert listing.splitlines()[:4] == [
        ".gitignore",
        "README.md",
        "src/app.py",
        "</environment_details>",
    ]


def test_environment_details_later_requests_and_truncation(tmp_path: Path) -> None:
    for i in range(30):
        write(tmp_path / f"f{i:02d}.txt", "")
    common = dict(
        now=datetime(2026, 1, 1, tzinfo=UTC), mode=builtin("code"), model="m", todos=[],
        workspace=tmp_path,
    )  # fmt: skip
    later = environment_details(cost=None, include_listing=False, **common)  # type: ignore[arg-type]
    assert "# Current Cost\nunknown" in later
    assert "Workspace Directory" not in later
    assert "No todo list yet" in later
    first = environment_details(
        cost=0.0,
        include_listing=True,
        listing_limit=10,
        is_ignored=lambda p: p.name == "f00.txt",
        **common,  # type: ignore[arg-type]
    )
    assert "f00.txt" not in first
    assert "f10.txt\n\n(File list truncated at 10 files." in first
    assert "f11.txt" not in first
