"""Modes: built-in groups, enforcement, and Kilo's custom modes files read unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kilo_tui.core.agent.modes import (
    BUILTIN_MODES,
    TOOL_GROUPS,
    allowed_tools,
    check_tool_use,
    get_mode,
    load_modes,
)
from kilo_tui.core.trust import project as trust

ALL_TOOLS = list(TOOL_GROUPS)
CORE_TOOLS = [
    "read_file", "write_to_file", "apply_diff", "list_files", "search_files",
    "execute_command", "ask_followup_question", "attempt_completion", "switch_mode",
    "update_todo_list", "new_task", "use_mcp_tool", "access_mcp_resource",
]  # fmt: skip
ALWAYS = ["ask_followup_question", "attempt_completion", "switch_mode", "update_todo_list",
          "new_task"]  # fmt: skip

# The examples from Kilo Code's docs (KILO_REFERENCE §1b), byte for byte.
KILO_YAML = """\
customModes:
  - slug: docs-writer
    name: 📝 Documentation Writer
    description: A specialized mode for writing and editing technical documentation.
    roleDefinition: You are a technical writer specializing in clear documentation.
    whenToUse: Use this mode for writing and editing documentation.
    customInstructions: Focus on clarity and completeness in documentation.
    groups:
      - read
      - - edit
        - fileRegex: \\.(md|mdx)$
          description: Markdown files only
      - browser
"""
KILO_JSON = {
    "customModes": [
        {
            "slug": "docs-writer",
            "name": "📝 Documentation Writer",
            "roleDefinition": "You are a technical writer specializing in clear documentation.",
            "groups": ["read", ["edit", {"fileRegex": "\\.(md|mdx)$"}], "browser"],
        }
    ]
}


def mode(slug: str):
    found = get_mode(BUILTIN_MODES, slug)
    assert found is not None
    return found


def test_builtin_modes_offer_kilos_groups() -> None:
    offered = {m.slug: set(allowed_tools(m, CORE_TOOLS)) for m in BUILTIN_MODES}
    assert [m.slug for m in BUILTIN_MODES] == ["architect", "code", "ask", "debug", "orchestrator"]
    assert offered["code"] == set(CORE_TOOLS)
    assert offered["debug"] == set(CORE_TOOLS)
    assert offered["ask"] == {
        "read_file", "list_files", "search_files", "use_mcp_tool", "access_mcp_resource",
        *ALWAYS,
    }  # fmt: skip
    assert not offered["ask"] & {"write_to_file", "apply_diff", "execute_command"}
    assert offered["architect"] == offered["ask"] | {"write_to_file", "apply_diff"}
    assert offered["orchestrator"] == set(ALWAYS)
    # order is kept, unknown tools are never offered
    assert allowed_tools(mode("code"), ["list_files", "mystery", "read_file"]) == [
        "list_files",
        "read_file",
    ]


def test_architect_edits_markdown_only() -> None:
    architect = mode("architect")
    assert check_tool_use(architect, "write_to_file", "docs/plan.md") is None
    assert check_tool_use(architect, "apply_diff", "README.md") is None
    refusal = check_tool_use(architect, "write_to_file", "src/app.py")
    assert refusal is not None
    assert refusal.startswith(
        r"architect mode may only edit files matching \.md$ (Markdown files only)"
    )
    assert "'src/app.py'" in refusal and "switch_mode" in refusal
    assert check_tool_use(architect, "read_file", "src/app.py") is None


def test_refusals_name_the_tool_and_mode() -> None:
    refusal = check_tool_use(mode("ask"), "execute_command")
    assert refusal is not None
    assert "'execute_command' is not available in ask mode" in refusal
    assert "read, browser, mcp" in refusal
    assert check_tool_use(mode("orchestrator"), "new_task") is None
    assert "no tool groups" in (check_tool_use(mode("orchestrator"), "read_file") or "")
    assert check_tool_use(mode("code"), "frobnicate") == "Unknown tool 'frobnicate'."


def test_kilo_yaml_modes_file_works_unchanged(tmp_path: Path) -> None:
    (tmp_path / ".kilocodemodes").write_text(KILO_YAML, encoding="utf-8")
    modes, errors = load_modes(tmp_path, tmp_path / "home")
    assert errors == []
    writer = get_mode(modes, "docs-writer")
    assert writer is not None and writer.source == "project"
    assert writer.name == "📝 Documentation Writer"
    assert writer.when_to_use == "Use this mode for writing and editing documentation."
    assert writer.custom_instructions.startswith("Focus on clarity")
    assert [g.name for g in writer.groups] == ["read", "edit", "browser"]
    assert writer.groups[1].file_regex == r"\.(md|mdx)$"
    assert check_tool_use(writer, "write_to_file", "guide/intro.mdx") is None
    assert check_tool_use(writer, "write_to_file", "app.py") is not None
    assert "execute_command" not in allowed_tools(writer, CORE_TOOLS)
    assert len(modes) == 6


def test_kilo_json_modes_file_works_unchanged(tmp_path: Path) -> None:
    (tmp_path / ".kilocodemodes").write_text(json.dumps(KILO_JSON, indent="\t"))
    modes, errors = load_modes(tmp_path, tmp_path / "home")
    assert errors == []
    writer = get_mode(modes, "docs-writer")
    assert writer is not None and writer.groups[1].file_regex == r"\.(md|mdx)$"
    assert writer.groups[1].description is None


def test_project_overrides_global_overrides_builtin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("KILO_TUI_HOME", str(home))
    (home / "custom_modes.yaml").write_text(
        "customModes:\n"
        "  - {slug: reviewer, name: Global Reviewer, roleDefinition: g, groups: [read]}\n"
        "  - {slug: code, name: My Code, roleDefinition: mine, groups: [read, command]}\n"
    )
    (tmp_path / ".kilocodemodes").write_text(
        "customModes:\n"
        "  - {slug: reviewer, name: Project Reviewer, roleDefinition: p, groups: [read, mcp]}\n"
    )
    trust.trust(tmp_path / ".kilocodemodes")  # redefinitions need it (tests/security)
    modes, errors = load_modes(tmp_path, home)
    assert errors == []
    reviewer = get_mode(modes, "reviewer")
    assert reviewer is not None
    assert (reviewer.name, reviewer.source) == ("Project Reviewer", "project")
    code = get_mode(modes, "code")
    assert code is not None and (code.name, code.source) == ("My Code", "global")
    assert "write_to_file" not in allowed_tools(code, CORE_TOOLS)
    assert [m.slug for m in modes][:5] == ["architect", "code", "ask", "debug", "orchestrator"]


def test_invalid_modes_are_reported_and_valid_ones_still_load(tmp_path: Path) -> None:
    (tmp_path / ".kilocodemodes").write_text(
        "customModes:\n"
        "  - {slug: good, name: Good, roleDefinition: ok, groups: [read]}\n"
        "  - {slug: 'bad slug', name: B, roleDefinition: x, groups: []}\n"
        "  - {slug: nogroup, name: N, roleDefinition: x, groups: [read, teleport]}\n"
        "  - {slug: norole, name: N, groups: []}\n"
        "  - {slug: badre, name: R, roleDefinition: x, groups: [[edit, {fileRegex: '('}]]}\n"
        "  - {slug: good, name: Again, roleDefinition: x, groups: []}\n"
    )
    modes, errors = load_modes(tmp_path, tmp_path)
    assert get_mode(modes, "good") is not None
    assert get_mode(modes, "good").name == "Good"  # type: ignore[union-attr]
    path = str(tmp_path / ".kilocodemodes")
    assert len(errors) == 5
    assert all(e.startswith(path + ": customModes[") for e in errors)
    assert "customModes[1] (bad slug): field 'slug'" in errors[0]
    assert "field 'groups[1]': unknown group 'teleport'" in errors[1]
    assert "customModes[3] (norole): field 'roleDefinition': required" in errors[2]
    assert "field 'groups[0].fileRegex': invalid regular expression" in errors[3]
    assert "duplicate slug" in errors[4]


def test_broken_files_name_the_file(tmp_path: Path) -> None:
    (tmp_path / ".kilocodemodes").write_text("customModes: [unclosed\n")
    (tmp_path / "custom_modes.yaml").write_text("customModes: {slug: x}\n")
    modes, errors = load_modes(tmp_path, tmp_path)
    assert len(modes) == len(BUILTIN_MODES)
    assert (
        errors[0]
        == f"{tmp_path / 'custom_modes.yaml'}: field 'customModes': expected a list of modes"
    )
    assert errors[1].startswith(f"{tmp_path / '.kilocodemodes'}: not valid YAML or JSON")
    empty = tmp_path / "e"
    empty.mkdir()
    (empty / ".kilocodemodes").write_text("")
    assert load_modes(empty, empty)[1] == []


def test_file_regex_sees_the_normalised_path(tmp_path: Path) -> None:
    (tmp_path / ".kilocodemodes").write_text(
        "customModes:\n"
        "  - slug: docs\n    name: Docs\n    roleDefinition: d\n"
        "    groups: [read, [edit, {fileRegex: '^docs/'}]]\n"
    )
    modes, _ = load_modes(tmp_path, tmp_path)
    docs = get_mode(modes, "docs")
    assert docs is not None
    assert check_tool_use(docs, "write_to_file", "docs/guide.md") is None
    assert check_tool_use(docs, "write_to_file", "docs/../src/app.py") is not None
