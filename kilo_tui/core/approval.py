"""Kilo Code's auto-approve policy, and the gate every action passes through.

The policy (:class:`AutoApprovePolicy`) answers ``allow``, ``deny`` or ``ask`` for one
:class:`Action`, always with the rule that decided, in words. The gate
(:class:`ApprovalGate`) turns that into a :class:`~kilo_tui.core.tools.base.Decision`:
it asks the user over the bus when the policy says ``ask`` (or refuses, headless),
remembers "always allow" answers, and publishes an ``ApprovalResolved`` for every
decision, whoever made it.

Settings live in ``config.toml`` under ``[auto_approve]`` with Kilo's names in
snake_case; a project may add to them in ``<workspace>/.kilocode/kilo-tui.toml``
(see :func:`merge`). Our defaults differ from Kilo's in one place on purpose:
``write`` is off, because nothing mutates without approval unless the user says so.

Command rules are the security-critical part; they live in
:mod:`kilo_tui.core.trust.commands`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import posixpath
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w

from kilo_tui.core.bus import EventBus
from kilo_tui.core.config import ConfigError
from kilo_tui.core.events import ApprovalReply, ApprovalRequested, ApprovalResolved
from kilo_tui.core.tools.base import Decision
from kilo_tui.core.trust import commands
from kilo_tui.core.trust.network import in_domain, normalize_host
from kilo_tui.core.trust.paths import action_path, is_git_path, is_protected_path

Verdict = Literal["allow", "deny", "ask"]

PROJECT_CONFIG = Path(".kilocode") / "kilo-tui.toml"
"""Where a project's overrides live. Remembered "always allow" rules are the user's and
live apart from the project (:func:`kilo_tui.core.trust.project.remembered_rules_file`)."""

DEFAULT_ALLOWED_COMMANDS = ("git log", "git diff", "git show", "git status")
"""Kilo's default allow list plus ``git status``; only used when ``execute`` is on."""

_ALWAYS_KINDS = ("command", "mcp", "read", "write", "browser")

# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class AutoApproveSettings:
    """The ``[auto_approve]`` table, validated. Field names are the config keys."""

    enabled: bool = True
    """Master switch: when off, every action asks."""
    read: bool = True
    read_outside_workspace: bool = False
    write: bool = False
    write_outside_workspace: bool = False
    write_protected: bool = False
    """Writes to ``.kilocode/``, ``.kilocodemodes``, ``.kilocodeignore``, rules files."""
    execute: bool = False
    sandboxed_commands: bool = False
    """Auto-approve commands that run in the sandbox with the network off (not denied ones)."""
    allowed_commands: tuple[str, ...] = DEFAULT_ALLOWED_COMMANDS
    denied_commands: tuple[str, ...] = ()
    mcp: bool = False
    browser: bool = False
    """The ``browser`` tool group (``fetch_url``, ``browser_action``): Kilo's
    alwaysAllowBrowser."""
    mode_switch: bool = False
    subtasks: bool = False
    followup_questions: bool = False
    max_requests: int | None = None
    """The loop stops (LimitReached) after this many requests in a task."""
    max_cost: float | None = None
    """The loop stops when the task's known cost reaches this many dollars."""
    always_allow: tuple[str, ...] = ()
    """Remembered grants, ``"<kind>:<what>"``: ``command:npm test`` (a command prefix,
    even with ``execute`` off), ``mcp:<server>/<tool>``, ``read:<path>``,
    ``write:<path>`` (a file, or a directory ending in ``/``), ``browser:<domain>``
    (that host and its subdomains)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str) -> AutoApproveSettings:
        """Validate an ``[auto_approve]`` table; raise ConfigError naming the key."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in fields:
                raise ConfigError(
                    f"unknown setting (known: {', '.join(fields)})",
                    path=source,
                    key=f"auto_approve.{key}",
                )
            values[key] = _validate(key, value, source)
        return cls(**values)


_BOOL_KEYS = {f.name for f in dataclasses.fields(AutoApproveSettings) if f.type in ("bool", bool)}
_LIST_KEYS = ("allowed_commands", "denied_commands", "always_allow")


def _validate(key: str, value: Any, source: str) -> Any:
    def bad(message: str) -> ConfigError:
        return ConfigError(message, path=source, key=f"auto_approve.{key}")

    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise bad(f"expected true or false, got {value!r}")
        return value
    if key in _LIST_KEYS:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise bad(f"expected a list of strings, got {value!r}")
        items = tuple(v.strip() for v in value if v.strip())
        if key == "always_allow":
            for item in items:
                kind, sep, what = item.partition(":")
                if not sep or kind.strip() not in _ALWAYS_KINDS or not what.strip():
                    raise bad(
                        f"bad rule {item!r}: expected '<kind>:<what>' with kind one of "
                        f"{', '.join(_ALWAYS_KINDS)}"
                    )
        return items
    if key == "max_requests":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad(f"expected a positive integer, got {value!r}")
        return value
    if key == "max_cost":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise bad(f"expected a non-negative number of dollars, got {value!r}")
        return float(value)
    raise bad("unsupported setting")  # unreachable while fields and validators agree


def merge(global_: dict[str, Any], project: dict[str, Any]) -> dict[str, Any]:
    """Combine the global and project ``[auto_approve]`` tables.

    Scalars: the project's value wins. Lists (``allowed_commands``,
    ``denied_commands``, ``always_allow``) are joined, global first, so a project
    can add an allowed or denied command but cannot silently drop a global denial.
    """
    merged = dict(global_)
    defaults = AutoApproveSettings()
    for key, value in project.items():
        if key in _LIST_KEYS and isinstance(value, list | tuple):
            # Without a global list the default is what the project adds to.
            base = list(merged.get(key, getattr(defaults, key)))
            merged[key] = base + [v for v in value if v not in base]
        else:
            merged[key] = value
    return merged


# ------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Action:
    """One thing a tool wants to do, described for the policy and the user.

    ``path``: workspace-relative (POSIX) for paths in the workspace, absolute when
    ``outside_workspace``. ``kind`` is one of ``read``, ``write``, ``command``,
    ``mcp``, ``browser``, ``mode_switch``, ``subtask``, ``followup``.
    """

    kind: str
    tool: str
    title: str
    detail: str = ""
    path: str | None = None
    command: str | None = None
    cwd: str | None = None
    """A command's working directory: None for the workspace root, else relative to it
    (absolute, with ``outside_workspace``, when outside)."""
    outside_workspace: bool = False
    protected: bool = False
    server: str | None = None
    mcp_tool: str | None = None
    host: str | None = None
    """The host a ``browser`` action reaches (``fetch_url``, ``browser_action``)."""
    sandboxed: bool = False
    """A command that will run in the sandbox with the network off."""
    escalation: bool = False
    """Running a command again with more rights than the sandbox gave it."""
    task_id: str = ""
    call_id: str = ""


@dataclass(frozen=True)
class PolicyDecision:
    """The policy's verdict and the rule that made it, in words."""

    verdict: Verdict
    rule: str


_POLICY_FILE = PROJECT_CONFIG.as_posix()


# ------------------------------------------------------------------- policy

_KIND_TOGGLE = {
    "mode_switch": "mode_switch",
    "subtask": "subtasks",
    "followup": "followup_questions",
}


class AutoApprovePolicy:
    """Kilo's auto-approve toggles plus remembered grants, as allow/deny/ask verdicts."""

    def __init__(
        self,
        settings: AutoApproveSettings,
        *,
        mcp_always_allowed: Callable[[str, str], bool] | None = None,
        workspace: Path | None = None,
    ) -> None:
        self.settings = settings
        self._mcp_always_allowed = mcp_always_allowed
        self._workspace = workspace

    # ---------------------------------------------------------- evaluate

    def evaluate(self, action: Action) -> PolicyDecision:
        """Allow, deny or ask for ``action``, with the deciding rule in words."""
        s = self.settings
        if action.kind == "command":
            return self._command(action)
        if not s.enabled:
            return PolicyDecision("ask", "auto_approve.enabled = false")
        match action.kind:
            case "read":
                return self._read(self._normalized(action))
            case "write":
                return self._write(self._normalized(action))
            case "mcp":
                return self._mcp(action)
            case "browser":
                return self._browser(action)
            case "mode_switch" | "subtask" | "followup":
                key = _KIND_TOGGLE[action.kind]
                on = bool(getattr(s, key))
                return PolicyDecision("allow" if on else "ask", f"{key} = {str(on).lower()}")
        return PolicyDecision("ask", f"no auto-approve rule for '{action.kind}' actions")

    def _normalized(self, action: Action) -> Action:
        """``action`` with a canonical path, and outside/protected worked out from it.

        Model-given paths may be absolute, contain ``..`` or go through symlinks; the
        policy decides on where the path really is. Without a workspace to compare
        with, anything that is not a plain relative path counts as outside.
        """
        if not action.path:
            return action
        if action.outside_workspace:
            return dataclasses.replace(action, path=os.path.normpath(action.path))
        if self._workspace is not None:
            path, outside = action_path(self._workspace, action.path)
        else:
            path = posixpath.normpath(action.path.replace("\\", "/"))
            outside = path.startswith(("/", "../", "~")) or path == ".."
        protected = action.protected or (not outside and is_protected_path(path))
        return dataclasses.replace(
            action, path=path, outside_workspace=outside, protected=protected
        )

    def _read(self, action: Action) -> PolicyDecision:
        s = self.settings
        if (grant := self._path_grant("read", action)) is not None:
            return PolicyDecision("allow", f"always_allow: {grant}")
        if not s.read:
            return PolicyDecision("ask", "read = false")
        if action.outside_workspace and not s.read_outside_workspace:
            return PolicyDecision("ask", "read_outside_workspace = false")
        return PolicyDecision(
            "allow", "read_outside_workspace = true" if action.outside_workspace else "read = true"
        )

    def _write(self, action: Action) -> PolicyDecision:
        s = self.settings
        if not action.outside_workspace and action.path == _POLICY_FILE:
            return PolicyDecision("ask", f"{_POLICY_FILE} holds this policy: never auto-approved")
        if not action.outside_workspace and is_git_path(action.path or ""):
            return PolicyDecision(
                "ask", "inside a .git directory (hooks, config): never auto-approved"
            )
        protected = action.protected
        if not protected and (grant := self._path_grant("write", action)) is not None:
            return PolicyDecision("allow", f"always_allow: {grant}")
        if not s.write:
            return PolicyDecision("ask", "write = false")
        if action.outside_workspace and not s.write_outside_workspace:
            return PolicyDecision("ask", "write_outside_workspace = false")
        if protected and not s.write_protected:
            return PolicyDecision("ask", "write_protected = false (protected file)")
        if protected:
            return PolicyDecision("allow", "write_protected = true")
        if action.outside_workspace:
            return PolicyDecision("allow", "write_outside_workspace = true")
        return PolicyDecision("allow", "write = true")

    def _path_grant(self, kind: str, action: Action) -> str | None:
        if not action.path:
            return None
        path = action.path
        for grant in self._grants(kind):
            if path == grant.rstrip("/") or (grant.endswith("/") and path.startswith(grant)):
                return f"{kind}:{grant}"
        return None

    def _grants(self, kind: str) -> list[str]:
        out = []
        for rule in self.settings.always_allow:
            k, _, what = rule.partition(":")
            if k.strip() == kind:
                out.append(what.strip())
        return out

    def _command(self, action: Action) -> PolicyDecision:
        s = self.settings
        if not s.enabled:
            return PolicyDecision("ask", "auto_approve.enabled = false")
        decision = commands.decide(
            action.command or "",
            self._allowed_commands(),
            s.denied_commands,
            cwd=action.cwd,
            cwd_outside=action.outside_workspace,
        )
        reason = decision.rule
        if decision.verdict == "allow":
            reason = "; ".join(
                f"allowed_commands: {m}"
                if s.execute and m in s.allowed_commands
                else f"always_allow: command:{m}"
                for m in decision.used
            )
        elif decision.verdict == "ask" and s.sandboxed_commands and action.sandboxed:
            return PolicyDecision("allow", "sandboxed_commands = true (confined, network off)")
        elif decision.verdict == "ask" and not s.execute and reason.startswith("not in"):
            reason = "execute = false"
        return PolicyDecision(decision.verdict, reason)

    def _allowed_commands(self) -> list[str]:
        """Prefixes that allow a command: the list when ``execute`` is on, plus grants."""
        listed = list(self.settings.allowed_commands) if self.settings.execute else []
        return listed + self._grants("command")

    def _mcp(self, action: Action) -> PolicyDecision:
        s = self.settings
        name = f"{action.server}/{action.mcp_tool}"
        if name in self._grants("mcp"):
            return PolicyDecision("allow", f"always_allow: mcp:{name}")
        if not s.mcp:
            return PolicyDecision("ask", "mcp = false")
        if self._mcp_always_allowed is not None and not self._mcp_always_allowed(
            action.server or "", action.mcp_tool or ""
        ):
            return PolicyDecision("ask", f"{name} is not in the server's alwaysAllow list")
        return PolicyDecision("allow", "mcp = true")

    def _browser(self, action: Action) -> PolicyDecision:
        host = normalize_host(action.host or "")
        for domain in self._grants("browser"):
            if in_domain(host, domain):
                return PolicyDecision("allow", f"always_allow: browser:{domain}")
        on = self.settings.browser
        return PolicyDecision("allow" if on else "ask", f"browser = {str(on).lower()}")

    # ------------------------------------------------------------ always

    def always_allow_rule(self, action: Action) -> str | None:
        """What an "always allow" answer adds by default, or None.

        None when the action can never be auto-approved (substitutions, the policy
        file itself, protected files).
        """
        choices = self.always_allow_choices(action)
        return choices[0] if choices else None

    def always_allow_choices(self, action: Action) -> list[str]:
        """Every rule an "always allow" answer may add for ``action``, in words, the
        default first: for a command, its exact words then shorter prefixes the user
        may pick instead (:func:`commands.always_allow_choices`); one rule otherwise."""
        return [_change_text(change) for change in self._always_changes(action)]

    def _always_changes(self, action: Action) -> list[tuple[str, list[str]]]:
        if action.escalation:
            return []  # leaving the sandbox is decided each time
        if action.kind == "command":
            choices = commands.always_allow_choices(
                action.command or "",
                self._allowed_commands(),
                self.settings.denied_commands,
                cwd=action.cwd,
                cwd_outside=action.outside_workspace,
            )
            return [("always_allow", [f"command:{r}" for r in rules]) for rules in choices]
        if action.kind in ("read", "write"):
            action = self._normalized(action)
            if not action.path:
                return []
            if action.kind == "write" and (action.protected or action.path == _POLICY_FILE):
                return []
            return [("always_allow", [f"{action.kind}:{action.path}"])]
        if action.kind == "mcp" and action.server and action.mcp_tool:
            return [("always_allow", [f"mcp:{action.server}/{action.mcp_tool}"])]
        if action.kind == "browser" and (host := normalize_host(action.host or "")):
            return [("always_allow", [f"browser:{host}"])]
        if action.kind in _KIND_TOGGLE:
            return [(_KIND_TOGGLE[action.kind], [])]
        return []

    def remember(self, action: Action, project_config: Path, rule: str | None = None) -> str:
        """Persist an "always allow" rule for ``action`` into ``project_config``: ``rule``
        (one of :meth:`always_allow_choices`) or, without it, the default.

        The file (the workspace's remembered-rules file) is rewritten atomically, keeping
        everything else in it; this policy is updated too. Returns the rule text
        (empty when the action cannot be remembered or ``rule`` was not offered).
        """
        changes = self._always_changes(action)
        if rule is not None:
            changes = [c for c in changes if _change_text(c) == rule]
        if not changes:
            return ""
        key, values = changes[0]
        data = _read_toml(project_config)
        table = data.setdefault("auto_approve", {})
        if key == "always_allow":
            current = list(table.get("always_allow", []))
            table["always_allow"] = current + [v for v in values if v not in current]
            ours = list(self.settings.always_allow)
            self.settings = dataclasses.replace(
                self.settings, always_allow=tuple(ours + [v for v in values if v not in ours])
            )
        else:
            table[key] = True
            toggle: dict[str, Any] = {key: True}
            self.settings = dataclasses.replace(self.settings, **toggle)
        _write_toml_atomic(project_config, data)
        return _change_text(changes[0])


def _change_text(change: tuple[str, list[str]]) -> str:
    """A remembered change in words: ``always_allow += "command:npm test"``."""
    key, values = change
    if key == "always_allow":
        return "; ".join(f'always_allow += "{v}"' for v in values)
    return f"{key} = true"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(exc), path=str(path)) from exc


def _write_toml_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, path.stat().st_mode & 0o777)  # keep the user's permissions
        with os.fdopen(fd, "wb") as fh:
            tomli_w.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_project_settings(
    global_table: dict[str, Any], workspace: Path, *, global_source: str
) -> AutoApproveSettings:
    """Validate the global table, merge the project's ``[auto_approve]`` over it."""
    AutoApproveSettings.from_dict(global_table, source=global_source)
    project_file = Path(workspace) / PROJECT_CONFIG
    project = _read_toml(project_file).get("auto_approve", {})
    if not isinstance(project, dict):
        raise ConfigError("expected a table", path=str(project_file), key="auto_approve")
    AutoApproveSettings.from_dict(project, source=str(project_file))
    return AutoApproveSettings.from_dict(merge(global_table, project), source=str(project_file))


# --------------------------------------------------------------------- gate

_CONFIG_HINT = {
    "read": "auto_approve.read (and read_outside_workspace for files outside the workspace)",
    "write": "auto_approve.write (write_outside_workspace / write_protected for those files)",
    "command": "auto_approve.execute = true and the command's prefix in allowed_commands",
    "mcp": "auto_approve.mcp = true (and the tool in the server's alwaysAllow list)",
    "browser": 'auto_approve.browser = true (or always_allow = ["browser:<domain>"])',
    "mode_switch": "auto_approve.mode_switch = true",
    "subtask": "auto_approve.subtasks = true",
    "followup": "auto_approve.followup_questions = true",
}


@dataclass
class ApprovalGate:
    """Every action passes here: yolo, policy, or the user (over the bus).

    Publishes an ``ApprovalResolved`` for every decision. Headless
    (``interactive=False``), what the policy would ask about is refused and the model
    is told why and which setting would allow it.
    """

    bus: EventBus
    policy: AutoApprovePolicy
    yolo: bool = field(default=False, kw_only=True)
    interactive: bool = field(default=True, kw_only=True)
    project_config: Path | None = field(default=None, kw_only=True)

    async def decide(self, action: Action) -> Decision:
        """The decision for ``action`` (asks the user if the policy says so)."""
        request_id = self.bus.new_request_id()
        if self.yolo and not action.escalation:  # --yolo keeps the sandbox
            return self._resolve(action, request_id, Decision(True, by="yolo", rule="--yolo"))
        verdict = self.policy.evaluate(action)
        if action.escalation and self.interactive and verdict.verdict == "allow":
            # Leaving the sandbox is the user's call whenever they are there to make it.
            decision = await self._ask_user(action, request_id, verdict.rule)
        elif verdict.verdict == "allow":
            decision = Decision(True, by="policy", rule=verdict.rule)
        elif verdict.verdict == "deny":
            decision = Decision(
                False,
                by="policy",
                rule=verdict.rule,
                feedback=f"Denied by the user's auto-approve policy ({verdict.rule}). "
                "Do not retry it; choose another way or ask the user.",
            )
        elif not self.interactive:
            decision = Decision(
                False,
                by="headless",
                rule=verdict.rule,
                feedback=_headless_feedback(action, verdict.rule),
            )
        else:
            decision = await self._ask_user(action, request_id, verdict.rule)
        return self._resolve(action, request_id, decision)

    async def _ask_user(self, action: Action, request_id: str, rule: str) -> Decision:
        choices = self.policy.always_allow_choices(action) if self.project_config else []
        always = choices[0] if choices else None
        reply = await self.bus.request(
            ApprovalRequested(
                request_id=request_id,
                task_id=action.task_id,
                kind=action.kind,
                tool=action.tool,
                title=action.title,
                detail=action.detail or action.command or "",
                path=action.path,
                call_id=action.call_id,
                always_allow_rule=always,
                always_allow_choices=tuple(choices),
            )
        )
        if not isinstance(reply, ApprovalReply):
            reply = ApprovalReply(approved=bool(reply))
        decided_rule = f"asked ({rule})"
        # MCP grants live in the server's alwaysAllow list (the tool writes it there).
        remember = action.kind != "mcp"
        if remember and reply.approved and reply.always and always and self.project_config:
            chosen = reply.always_rule or always
            if chosen not in choices:
                decided_rule += f"; not remembered: {chosen!r} is not a rule that was offered"
            else:
                try:
                    decided_rule = self.policy.remember(action, self.project_config, chosen)
                except (ConfigError, OSError) as exc:
                    decided_rule += f"; the always-allow rule could not be saved: {exc}"
        feedback = reply.feedback
        if not reply.approved and not feedback:
            feedback = "The user rejected this action."
        return Decision(
            reply.approved,
            feedback=feedback,
            by=reply.by,
            rule=decided_rule,
            always=reply.approved and reply.always,
        )

    def _resolve(self, action: Action, request_id: str, decision: Decision) -> Decision:
        self.bus.publish(
            ApprovalResolved(
                task_id=action.task_id,
                request_id=request_id,
                kind=action.kind,
                tool=action.tool,
                approved=decision.approved,
                by=decision.by,
                rule=decision.rule,
                feedback=decision.feedback,
            )
        )
        return decision


def _headless_feedback(action: Action, rule: str) -> str:
    if action.escalation:
        return (
            f"Not run again: leaving the sandbox needs the user's approval ({rule}), and "
            "approval is not available in headless mode. Do not retry it; continue without "
            "it or explain what is needed. The user can run kilo-tui with --no-sandbox, or "
            'set [sandbox] network = true or mode = "off" in config.toml.'
        )
    hint = _CONFIG_HINT.get(action.kind, "the [auto_approve] settings")
    return (
        f"Not run: this action needs the user's approval ({rule}), and approval is not "
        "available in headless mode. Do not retry it; continue without it or finish and "
        f"explain what is needed. The user can allow it with {hint} in config.toml or "
        f"{_POLICY_FILE}, or run with --yolo."
    )
