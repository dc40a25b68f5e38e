"""Modes: who the agent is right now, and which tools it may use.

The five built-in modes follow Kilo Code's (``code``, ``architect``, ``ask``,
``debug``, ``orchestrator``) with their tool groups; the role texts are our own.
Custom modes come from Kilo's own files, read as they are: the project's
``.kilocodemodes`` (YAML or JSON) and the global ``custom_modes.yaml``. A custom mode
replaces any mode with the same slug (project over global over built-in).

Groups are enforced here, in code: :func:`allowed_tools` decides what the model is
offered and :func:`check_tool_use` refuses a call (or an edit outside a ``fileRegex``)
with a message for the model.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_MODE_SLUG = "code"
PROJECT_MODES_FILE = ".kilocodemodes"
GLOBAL_MODES_FILE = "custom_modes.yaml"

GROUPS = ("read", "edit", "browser", "command", "mcp", "modes")

TOOL_GROUPS: dict[str, str] = {
    "read_file": "read",
    "search_files": "read",
    "list_files": "read",
    "codebase_search": "read",
    "list_code_definition_names": "read",
    "fetch_instructions": "read",
    "write_to_file": "edit",
    "apply_diff": "edit",
    "edit_file": "edit",
    "search_and_replace": "edit",
    "delete_file": "edit",
    "browser_action": "browser",
    "fetch_url": "browser",
    "execute_command": "command",
    "use_mcp_tool": "mcp",
    "access_mcp_resource": "mcp",
    "ask_followup_question": "always",
    "attempt_completion": "always",
    "switch_mode": "always",
    "new_task": "always",
    "update_todo_list": "always",
}
"""Tool name → Kilo tool group; ``always`` means available in every mode."""

_SLUG = re.compile(r"^[a-zA-Z0-9-]+$")


@dataclass(frozen=True)
class GroupSpec:
    """One tool group a mode may use, optionally limited to files matching a regex."""

    name: str
    file_regex: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Mode:
    """A mode: Kilo's mode config, plus where it came from."""

    slug: str
    name: str
    role_definition: str
    when_to_use: str = ""
    description: str = ""
    custom_instructions: str = ""
    groups: tuple[GroupSpec, ...] = ()
    source: str = "builtin"
    """``builtin``, ``global`` or ``project``."""

    def group(self, name: str) -> GroupSpec | None:
        """The mode's spec for group ``name``, or None if it may not use it."""
        return next((g for g in self.groups if g.name == name), None)


def _g(*names: str) -> tuple[GroupSpec, ...]:
    return tuple(GroupSpec(n) for n in names)


BUILTIN_MODES: tuple[Mode, ...] = (
    Mode(
        slug="architect",
        name="Architect",
        role_definition=(
            "You are Kilo, a senior technical lead who plans before anyone builds. You "
            "dig into the codebase and the request until you understand both, ask about "
            "whatever is still unclear, and turn it into a concrete, reviewable plan the "
            "user can approve before implementation starts."
        ),
        when_to_use=(
            "Use this mode to plan, design or think through a change before writing code: "
            "breaking a feature into steps, weighing designs, writing specs or docs."
        ),
        description="Plan and design before implementation",
        custom_instructions=(
            "1. Gather context first with the read tools; ask clarifying questions with "
            "ask_followup_question when the request leaves real choices open.\n"
            "2. Break the work into clear, ordered, actionable steps and keep them in "
            "update_todo_list (or a Markdown plan file under plans/ when asked).\n"
            "3. Use Mermaid diagrams when a picture explains the design better than prose.\n"
            "4. Never estimate how long something will take.\n"
            "5. You may only edit Markdown files. When the plan is agreed, use switch_mode "
            "to hand over to a mode that can implement it."
        ),
        groups=(
            GroupSpec("read"),
            GroupSpec("edit", file_regex=r"\.md$", description="Markdown files only"),
            GroupSpec("browser"),
            GroupSpec("mcp"),
        ),
    ),
    Mode(
        slug="code",
        name="Code",
        role_definition=(
            "You are Kilo, an expert software engineer fluent in many languages, "
            "frameworks and design patterns. You write, change and refactor code "
            "carefully, in the style of the project you are working in."
        ),
        when_to_use=(
            "Use this mode to write, modify or refactor code: implementing features, "
            "fixing bugs, creating files, making improvements in any language."
        ),
        description="Write, modify and refactor code",
        groups=_g("read", "edit", "browser", "command", "mcp"),
    ),
    Mode(
        slug="ask",
        name="Ask",
        role_definition=(
            "You are Kilo, a knowledgeable technical assistant. You answer questions about "
            "software, technology and this codebase accurately and clearly, explaining "
            "concepts and pointing to the relevant code."
        ),
        when_to_use=(
            "Use this mode for explanations, documentation or answers to technical "
            "questions, when nothing should be changed."
        ),
        description="Get answers and explanations",
        custom_instructions=(
            "Answer thoroughly and read the code when the question is about it. Do not "
            "change anything or switch to implementing unless the user explicitly asks. "
            "Mermaid diagrams are welcome when they make an answer clearer."
        ),
        groups=_g("read", "browser", "mcp"),
    ),
    Mode(
        slug="debug",
        name="Debug",
        role_definition=(
            "You are Kilo, a methodical debugger. You diagnose problems systematically: "
            "form hypotheses, gather evidence, and find the root cause before you fix it."
        ),
        when_to_use=(
            "Use this mode to track down a bug, an error, a failing test or unexpected "
            "behavior, when the cause is not yet known."
        ),
        description="Diagnose and fix software issues",
        custom_instructions=(
            "List the 5-7 most plausible causes, narrow them to the 1-2 most likely, and "
            "add logging or run checks to confirm. Tell the user your diagnosis and get "
            "their confirmation before you apply a fix."
        ),
        groups=_g("read", "edit", "browser", "command", "mcp"),
    ),
    Mode(
        slug="orchestrator",
        name="Orchestrator",
        role_definition=(
            "You are Kilo, a workflow orchestrator. You split complex work into "
            "well-scoped subtasks and delegate each one to the mode best suited for it, "
            "then put the results together."
        ),
        when_to_use=(
            "Use this mode for large, multi-step projects that need different kinds of "
            "work (planning, coding, debugging) coordinated across several subtasks."
        ),
        description="Coordinate work across modes",
        custom_instructions=(
            "1. Break the task into logical subtasks that can each be delegated.\n"
            "2. Start each with new_task, choosing the right mode and giving it all the "
            "context it needs, a precise scope, an instruction to do only that work, and "
            "to finish with attempt_completion summarising what it did.\n"
            "3. Treat each subtask's result as the source of truth and decide the next "
            "step from it.\n"
            "4. When everything is done, summarise the whole outcome for the user."
        ),
        groups=(),
    ),
)


# --------------------------------------------------------------- enforcement


def tool_group(tool: str) -> str | None:
    """The Kilo group of ``tool`` (``always`` for always-available), None if unknown."""
    return TOOL_GROUPS.get(tool)


def allowed_tools(mode: Mode, tool_names: Iterable[str]) -> list[str]:
    """The tools, of ``tool_names``, offered to the model in ``mode`` (order kept).

    Unknown tool names are not offered: a tool is only usable through a group.
    """
    allowed = {g.name for g in mode.groups} | {"always"}
    return [t for t in tool_names if tool_group(t) in allowed]


def check_tool_use(mode: Mode, tool: str, path: str | None = None) -> str | None:
    """None if ``mode`` may call ``tool`` (on ``path``), else the refusal for the model."""
    group = tool_group(tool)
    if group is None:
        return f"Unknown tool '{tool}'."
    if group == "always":
        return None
    spec = mode.group(group)
    if spec is None:
        usable = ", ".join(g.name for g in mode.groups) or "no tool groups"
        return (
            f"Tool '{tool}' is not available in {mode.slug} mode ({mode.name}); this mode "
            f"may use: {usable}. Use switch_mode to move to a mode that allows it "
            "(e.g. code), or continue without it."
        )
    if spec.file_regex and path is not None and not _matches(spec.file_regex, path):
        what = f" ({spec.description})" if spec.description else ""
        return (
            f"{mode.slug} mode may only edit files matching {spec.file_regex}{what}; "
            f"'{path}' does not match. Use switch_mode to move to a mode that can edit "
            "it (e.g. code)."
        )
    return None


def _matches(pattern: str, path: str) -> bool:
    # Match the path as it really is: "docs/../src/app.py" is src/app.py.
    normalized = posixpath.normpath(path.replace("\\", "/"))
    try:
        return re.search(pattern, normalized) is not None
    except re.error:
        return False


def get_mode(modes: Iterable[Mode], slug: str) -> Mode | None:
    """The mode with ``slug``, or None."""
    return next((m for m in modes if m.slug == slug), None)


# ------------------------------------------------------------------- loading


def load_modes(workspace: Path, global_dir: Path) -> tuple[list[Mode], list[str]]:
    """All modes, and the problems found loading custom ones.

    Built-ins, overridden by ``<global_dir>/custom_modes.yaml``, overridden by
    ``<workspace>/.kilocodemodes``, matched by slug — the project's redefinitions only
    once the user trusted that file. A broken mode (or file) is reported in the
    errors, naming the file and field; the valid modes still load.
    """
    from kilo_tui.core.trust import project as trust

    modes: dict[str, Mode] = {m.slug: m for m in BUILTIN_MODES}
    errors: list[str] = []
    for path, source in (
        (Path(global_dir) / GLOBAL_MODES_FILE, "global"),
        (Path(workspace) / PROJECT_MODES_FILE, "project"),
    ):
        found, problems = read_modes_file(path, source)
        errors += problems
        if source == "project":
            # An untrusted project may add modes but not redefine the user's.
            overrides = trust.project_modes(path, found, modes)
            found = overrides.allowed
            if (warning := overrides.warning(path)) is not None:
                errors.append(warning)
        for mode in found:
            modes[mode.slug] = mode
    return list(modes.values()), errors


def read_modes_file(path: Path, source: str) -> tuple[list[Mode], list[str]]:
    """The valid modes in one Kilo modes file (YAML or JSON), and the errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        return [], [f"{path}: cannot read: {exc.strerror or exc}"]
    if not text.strip():
        return [], []
    try:
        data = _parse(text)
    except (ValueError, yaml.YAMLError) as exc:
        return [], [f"{path}: not valid YAML or JSON: {_one_line(exc)}"]
    if data is None:
        return [], []
    if not isinstance(data, dict) or not isinstance(data.get("customModes", []), list):
        return [], [f"{path}: field 'customModes': expected a list of modes"]
    modes: list[Mode] = []
    errors: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("customModes") or []):
        try:
            mode = _mode_from_dict(raw, source)
        except _ModeError as exc:
            label = raw.get("slug") if isinstance(raw, dict) else None
            where = f"customModes[{index}]" + (f" ({label})" if isinstance(label, str) else "")
            errors.append(f"{path}: {where}: field '{exc.field}': {exc.message}")
            continue
        if mode.slug in seen:
            errors.append(
                f"{path}: customModes[{index}] ({mode.slug}): field 'slug': "
                "duplicate slug, the first definition is used"
            )
            continue
        seen.add(mode.slug)
        modes.append(mode)
    return modes, errors


def _parse(text: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # JSON-looking YAML is still YAML
    return yaml.safe_load(text)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


class _ModeError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text(raw: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise _ModeError(key, "required")
        return ""
    if not isinstance(value, str):
        raise _ModeError(key, f"expected text, got {type(value).__name__}")
    if required and not value.strip():
        raise _ModeError(key, "must not be empty")
    return value


def _mode_from_dict(raw: Any, source: str) -> Mode:
    if not isinstance(raw, dict):
        raise _ModeError("customModes", "each mode must be a mapping")
    slug = _text(raw, "slug", required=True)
    if not _SLUG.match(slug):
        raise _ModeError("slug", f"{slug!r} must match ^[a-zA-Z0-9-]+$")
    return Mode(
        slug=slug,
        name=_text(raw, "name", required=True),
        role_definition=_text(raw, "roleDefinition", required=True),
        when_to_use=_text(raw, "whenToUse"),
        description=_text(raw, "description"),
        custom_instructions=_text(raw, "customInstructions"),
        groups=_groups(raw.get("groups")),
        source=source,
    )


def _groups(raw: Any) -> tuple[GroupSpec, ...]:
    if raw is None:
        raise _ModeError("groups", "required (a list, possibly empty)")
    if not isinstance(raw, list):
        raise _ModeError("groups", "expected a list")
    specs: list[GroupSpec] = []
    for i, entry in enumerate(raw):
        field = f"groups[{i}]"
        options: Any = {}
        if isinstance(entry, list) and entry and isinstance(entry[0], str):
            if len(entry) > 2 or (len(entry) == 2 and not isinstance(entry[1], dict)):
                raise _ModeError(field, "expected [group, {fileRegex, description}]")
            name, options = entry[0], entry[1] if len(entry) == 2 else {}
        elif isinstance(entry, str):
            name = entry
        else:
            raise _ModeError(field, "expected a group name or [group, {options}]")
        if name not in GROUPS:
            raise _ModeError(field, f"unknown group {name!r} (expected one of {', '.join(GROUPS)})")
        if any(s.name == name for s in specs):
            raise _ModeError(field, f"duplicate group {name!r}")
        specs.append(_group_spec(name, options, field))
    return tuple(specs)


def _group_spec(name: str, options: dict[str, Any], field: str) -> GroupSpec:
    regex = options.get("fileRegex")
    description = options.get("description")
    if regex is not None:
        if not isinstance(regex, str):
            raise _ModeError(f"{field}.fileRegex", "expected text")
        try:
            re.compile(regex)
        except re.error as exc:
            raise _ModeError(f"{field}.fileRegex", f"invalid regular expression: {exc}") from None
    if description is not None and not isinstance(description, str):
        raise _ModeError(f"{field}.description", "expected text")
    return GroupSpec(name, file_regex=regex or None, description=description or None)
