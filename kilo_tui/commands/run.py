"""``kilo-tui run PROMPT``: one task, headless.

Approvals are answered by the configured auto-approve policy; what the policy would ask
about is denied (and the model is told so) unless ``--yolo`` approves everything.
``--json`` prints one JSON object per bus event on stdout; otherwise progress goes to
stderr and the final result to stdout.

Exit codes: 0 completed, 1 error, 2 bad usage, 3 a limit stopped the task.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from kilo_tui.cli import NO_SANDBOX_FLAG, NO_SANDBOX_HELP, no_sandbox_override
from kilo_tui.core.trust.secrets import EventRedactor, Redactor

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_LIMIT = 0, 1, 2, 3


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a task headless",
        description="Run one task without the TUI. Exit 0 when it completes, 1 on error, "
        "2 on bad usage, 3 when a limit (max requests / max cost) stopped it.",
    )
    parser.add_argument("prompt", help="the task; '-' reads it from standard input")
    parser.add_argument("--path", default=".", help="workspace directory (default: .)")
    parser.add_argument("--model", help="model (litellm string)")
    parser.add_argument("--mode", help="mode slug")
    parser.add_argument("--json", action="store_true", help="print bus events as JSON Lines")
    parser.add_argument(
        "--yolo",
        "--auto",  # Kilo CLI's spelling
        dest="yolo",
        action="store_true",
        help="approve every action (no policy checks); the sandbox stays on",
    )
    parser.add_argument(NO_SANDBOX_FLAG, action="store_true", help=NO_SANDBOX_HELP)
    parser.add_argument(
        "-c",
        "--continue",
        dest="continue_last",
        action="store_true",
        help="continue the last task of this workspace",
    )
    parser.add_argument("--session", help="continue the task with this id")
    parser.add_argument(
        "--stdin-replies",
        action="store_true",
        help="let a script answer approvals: each approval_requested, diff_proposed or "
        "followup_asked event is answered by one JSON line on stdin, e.g. "
        '{"request_id": "…", "approved": true, "hunks": [true, false], "feedback": "…"} '
        'or {"request_id": "…", "answer": "…"} (needs --json)',
    )
    # Exits without interpreter teardown once everything is closed (see cli.exit_at_once).
    parser.set_defaults(func=run_command, exit_at_once=True)


def run_command(args: argparse.Namespace) -> int:
    from kilo_tui.core.config import ConfigError, load_settings

    workspace = Path(args.path).expanduser()
    if not workspace.is_dir():
        print(f"kilo-tui run: not a directory: {args.path}", file=sys.stderr)
        return EXIT_USAGE
    if args.stdin_replies and (not args.json or args.prompt == "-"):
        print(
            "kilo-tui run: --stdin-replies needs --json and a prompt argument "
            "(stdin carries the replies)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from kilo_tui.core.llm.litellm_loader import warm_up_in_background

    # The first request waits for nothing but this import (seconds): start it first, so
    # reading the prompt, the settings, rules and MCP servers all happen meanwhile.
    warm_up_in_background()
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        print("kilo-tui run: the prompt is empty", file=sys.stderr)
        return EXIT_USAGE
    try:
        overrides = {"model": args.model, "mode": args.mode} | no_sandbox_override(args)
        settings = load_settings(workspace, overrides=overrides)
    except ConfigError as exc:
        print(f"kilo-tui run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_run(args, workspace, settings, prompt))


async def _run(args: argparse.Namespace, workspace: Path, settings: Any, prompt: str) -> int:
    from kilo_tui.core.agent.runtime import AgentRuntime
    from kilo_tui.core.config import ConfigError

    try:
        runtime = AgentRuntime(
            workspace=workspace, settings=settings, interactive=args.stdin_replies, yolo=args.yolo
        )
    except ConfigError as exc:
        print(f"kilo-tui run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.mode and runtime.mode != args.mode:
        names = ", ".join(m.slug for m in runtime.modes())
        print(f"kilo-tui run: unknown mode {args.mode!r} (available: {names})", file=sys.stderr)
        return EXIT_USAGE
    for warning in runtime.startup_warnings:
        print(f"kilo-tui run: warning: {warning}", file=sys.stderr)
    printer = JsonPrinter(sys.stdout, runtime.redactor) if args.json else HumanPrinter(sys.stderr)
    runtime.bus.subscribe(printer)
    try:
        if args.session or args.continue_last:
            task_id = args.session or runtime.latest_task_id()
            if task_id is None:
                print("kilo-tui run: no earlier task in this workspace", file=sys.stderr)
                return EXIT_USAGE
            try:
                runtime.resume(task_id)
            except KeyError as exc:
                print(f"kilo-tui run: {exc.args[0]}", file=sys.stderr)
                return EXIT_USAGE
        await runtime.start_background()
        loop = asyncio.get_running_loop()
        if args.stdin_replies:
            replies = StdinReplies(runtime, sys.stdin, sys.stderr)
            loop.add_reader(sys.stdin.fileno(), replies)
        loop.add_signal_handler(signal.SIGINT, runtime.cancel)
        loop.add_signal_handler(signal.SIGTERM, runtime.cancel)
        outcome = await runtime.submit(prompt)
    finally:
        await runtime.aclose()
        from kilo_tui.core.llm.client import close_clients
        from kilo_tui.core.tools.command import kill_running_commands

        # litellm's pooled clients are process-wide: close them once, before the loop ends.
        await close_clients()
        # Closed here, not left to the interpreter's exit: the process ends at once.
        kill_running_commands()
        runtime.store.close()
    if not args.json and outcome.status == "completed":
        print(outcome.detail)
    return {"completed": EXIT_OK, "limit": EXIT_LIMIT}.get(outcome.status, EXIT_ERROR)


class StdinReplies:
    """Reads one JSON reply per line from stdin and answers the bus request it names.

    ``{"request_id": …, "approved": bool, "feedback": str, "always": bool,
    "always_rule": str, "hunks": [bool, …], "hunk_feedback": [str, …], "content": str}``
    answers an approval (``always_rule``: one of the request's ``always_allow_choices``)
    or a diff proposal; ``{"request_id": …, "answer": str}`` a follow-up question.
    A malformed line is reported on stderr and ignored; the request stays open. When
    stdin closes, what is open is denied and later requests are denied at once.
    """

    def __init__(self, runtime: Any, stream: TextIO, errors: TextIO) -> None:
        self.runtime, self.bus = runtime, runtime.bus
        self.stream, self.errors = stream, errors

    def __call__(self) -> None:
        line = self.stream.readline()
        if not line:  # the client closed stdin: nothing more will be answered
            asyncio.get_running_loop().remove_reader(self.stream.fileno())
            self.runtime.stop_asking(
                "Denied: the script answering approvals closed its input (stdin), so no "
                "one can approve this. Do not retry it."
            )
            return
        if not line.strip():
            return
        try:
            self._answer(json.loads(line))
        except (ValueError, TypeError, KeyError) as exc:
            print(f"kilo-tui run: ignored reply {line.strip()!r}: {exc}", file=self.errors)

    def _answer(self, data: dict[str, Any]) -> None:
        from kilo_tui.core.events import ApprovalReply

        request_id = str(data["request_id"])
        reply: Any
        if "answer" in data:
            reply = str(data["answer"])
        else:
            hunks = data.get("hunks")
            notes = data.get("hunk_feedback")
            reply = ApprovalReply(
                approved=bool(data["approved"]),
                feedback=str(data.get("feedback", "")),
                always=bool(data.get("always", False)),
                hunks=None if hunks is None else tuple(bool(h) for h in hunks),
                hunk_feedback=None if notes is None else tuple(str(n) for n in notes),
                content=data.get("content"),
                by="script",
                always_rule=None if data.get("always_rule") is None else str(data["always_rule"]),
            )
        if not self.bus.reply(request_id, reply):
            raise KeyError(f"no open request {request_id}")


class JsonPrinter:
    """One JSON object per bus event, flushed at once (consumers read it live), with
    known key values masked."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self.stream = stream
        self.redact = EventRedactor(redactor)

    def __call__(self, event: Any) -> None:
        for data in self.redact(event.to_dict()):
            self.stream.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()


class HumanPrinter:
    """Readable progress for a person watching the terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._streaming = False
        self._usage: Any = None
        self._background: Any = None

    def _line(self, text: str) -> None:
        if self._streaming:
            self.stream.write("\n")
            self._streaming = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: Any) -> None:
        from kilo_tui.core import events as ev

        match event:
            case ev.AssistantDelta(text=text):
                self.stream.write(text)
                self.stream.flush()
                self._streaming = True
            case ev.ToolCallStarted(name=name, arguments=arguments):
                self._line(f"→ {name} {_brief(arguments)}")
            case ev.ToolCallFinished(name=name, summary=summary, is_error=is_error):
                self._line(f"  {'✗' if is_error else '✓'} {summary or name}")
            case ev.ApprovalResolved(approved=False, tool=tool, rule=rule, by=by):
                self._line(f"  ⊘ {tool} denied ({by}{': ' + rule if rule else ''})")
            case ev.RetryScheduled(attempt=a, max_attempts=m, delay=d, error=error):
                self._line(f"! {error}; retrying in {d:.1f} s ({a}/{m})")
            case ev.SandboxReported(active=False, message=message):
                self._line(f"! {message}")
            case ev.CheckpointsUnavailable(reason=reason):
                self._line(f"! checkpoint failed: {reason}")
            case (
                ev.ErrorRaised(message=message)
                | ev.Notice(message=message, level="warning" | "error")
            ):
                self._line(f"! {message}")
            case ev.TaskFailed(error=error):
                self._line(f"✗ task failed: {error}")
            case ev.LimitReached(message=message):
                self._line(f"■ {message}")
            case ev.TaskCancelled(reason=reason):
                self._line(f"■ {reason}")
            case ev.UsageUpdated():
                self._usage = event
            case ev.BackgroundUsage():
                self._background = event
            case ev.TaskCompleted():
                self._line("✓ task completed" + self._totals())

    def _totals(self) -> str:
        from kilo_tui.core.llm.pricing import format_cost

        if self._usage is None:
            return ""
        u = self._usage
        estimated = " (estimated)" if u.estimated else ""
        cost = format_cost(u.task_cost, free=u.free)
        if (b := self._background) is not None:
            # Counted in the task's cost; the latest event carries the latest total.
            total = b.task_cost if b.ts > u.ts else u.task_cost
            cost = f"{format_cost(total)} (titles and condensing: {format_cost(b.background_cost)})"
        return f" · {u.task_tokens_in:,} tokens in, {u.task_tokens_out:,} out{estimated} · {cost}"


def _brief(arguments: dict[str, Any]) -> str:
    for key in ("path", "command", "server_name", "mode_slug", "mode", "question"):
        if key in arguments:
            return str(arguments[key])[:120]
    return ""
