"""execute_command: run a shell command in the workspace, streaming its output.

The command runs in its own process group so a timeout or a cancel kills it and every
child it started. Output is published as :class:`CommandOutput` events while it runs;
the model receives the exit code and the output, cut to head + tail when long.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

from kilo_tui.core.events import CommandFinished, CommandOutput
from kilo_tui.core.tools.base import (
    FunctionTool,
    ToolContext,
    ToolError,
    ToolResult,
    denial_text,
    schema,
)
from kilo_tui.core.trust.commands import blocked_read
from kilo_tui.core.trust.ignore import IgnoreMatcher

FLUSH_INTERVAL = 0.05
"""Seconds between CommandOutput events: output is batched, not sent byte by byte."""


def head_and_tail(text: str, limit: int) -> str:
    """Cut ``text`` to about ``limit`` characters, keeping the start and the end."""
    if len(text) <= limit:
        return text
    head = text[: limit // 2]
    tail = text[-(limit // 2) :]
    omitted = text[len(head) : len(text) - len(tail)]
    lines = omitted.count("\n")
    return (
        f"{head}\n\n[… {len(omitted):,} characters ({lines:,} lines) of output omitted …]\n\n{tail}"
    )


async def run_shell(
    command: str,
    *,
    cwd: Path,
    timeout: float,
    cancel: asyncio.Event,
    on_output: Any,
) -> tuple[int | None, str, bool, bool]:
    """Run ``command`` with the user's shell. Returns (exit code, output, timed out,
    cancelled). ``on_output(text)`` receives output in batches."""
    shell = os.environ.get("SHELL") or "/bin/sh"
    if not Path(shell).exists():
        shell = "/bin/sh"
    proc = await asyncio.create_subprocess_exec(
        shell,
        "-c",
        command,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    chunks: list[str] = []
    pending: list[str] = []
    last_flush = time.monotonic()

    def flush() -> None:
        nonlocal last_flush
        if pending:
            on_output("".join(pending))
            pending.clear()
        last_flush = time.monotonic()

    async def pump() -> None:
        assert proc.stdout is not None
        while data := await proc.stdout.read(4096):
            text = data.decode("utf-8", errors="replace")
            chunks.append(text)
            pending.append(text)
            if time.monotonic() - last_flush >= FLUSH_INTERVAL:
                flush()
        flush()

    pump_task = asyncio.create_task(pump())
    cancel_task = asyncio.create_task(cancel.wait())
    timed_out = cancelled = False
    try:
        done, _ = await asyncio.wait(
            {pump_task, cancel_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if pump_task not in done:
            timed_out = not cancel_task.done()
            cancelled = cancel_task.done()
            _kill_group(proc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(pump_task, 5)
        code = await proc.wait()
    finally:
        cancel_task.cancel()
        if not pump_task.done():
            pump_task.cancel()
        if proc.returncode is None:
            _kill_group(proc)
    return (None if timed_out or cancelled else code), "".join(chunks), timed_out, cancelled


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def _execute_command(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    command = str(args.get("command", "")).strip()
    if not command:
        raise ToolError("execute_command needs a non-empty command")
    cwd = ctx.resolve_path(args["cwd"]) if args.get("cwd") else ctx.workspace
    if not cwd.is_dir():
        raise ToolError(f"cwd is not a directory: {args.get('cwd')}")
    if (blocked := _blocked_read(command, cwd, ctx)) is not None:
        return blocked
    where, outside = _where(cwd, ctx.workspace)
    title = command
    if where is not None:
        title += f"  (in {where}, outside the workspace)" if outside else f"  (in {where}/)"
    decision = await ctx.approve(
        kind="command",
        tool="execute_command",
        title=title,
        command=command,
        detail=f"{command}\ncwd: {cwd}" + (" (outside the workspace)" if outside else ""),
        cwd=where,
        outside_workspace=outside,
    )
    if not decision.approved:
        text = denial_text(f"running this command: {command}", decision.feedback)
        return ToolResult(text, is_error=True, summary="denied")
    await ctx.checkpoint(f"execute_command {command}")
    settings = ctx.settings.agent if ctx.settings else None
    timeout = settings.command_timeout if settings else 600.0
    limit = settings.command_output_limit if settings else 20_000

    def on_output(text: str) -> None:
        ctx.publish(CommandOutput(task_id=ctx.task_id, call_id=ctx.call_id, text=text))

    code, output, timed_out, cancelled = await run_shell(
        command, cwd=cwd, timeout=timeout, cancel=ctx.cancel, on_output=on_output
    )
    ctx.publish(
        CommandFinished(
            task_id=ctx.task_id,
            call_id=ctx.call_id,
            command=command,
            exit_code=code,
            timed_out=timed_out,
            cancelled=cancelled,
        )
    )
    ctx.state.last_command = command
    ctx.state.last_command_output = output
    shown = head_and_tail(output, limit) if output else "(no output)"
    if timed_out:
        status = f"The command was killed after {timeout:g} s (timeout)."
    elif cancelled:
        status = "The command was cancelled by the user."
    else:
        status = f"Exit code: {code}"
    return ToolResult(
        f"Command: {command}\n{status}\nOutput:\n{shown}",
        is_error=bool(timed_out or cancelled or code),
        summary=status if (timed_out or cancelled) else f"exit {code}",
    )


def _where(cwd: Path, workspace: Path) -> tuple[str | None, bool]:
    """``(cwd as the policy sees it, outside_workspace)``: None for the workspace root."""
    root = workspace.resolve()
    real = cwd.resolve()
    if real == root:
        return None, False
    if real.is_relative_to(root):
        return real.relative_to(root).as_posix(), False
    return str(real), True


def _blocked_read(command: str, cwd: Path, ctx: ToolContext) -> ToolResult | None:
    """Kilo Code refuses, before any approval, a command that reads an ignored file."""
    matcher: IgnoreMatcher = ctx.extra.get("ignore") or IgnoreMatcher(ctx.workspace)
    if not matcher.has_kilocodeignore:
        return None
    found = blocked_read(command, cwd, matcher.kilocode_rule)
    if found is None:
        return None
    path, rule = found
    text = (
        f"Not run: this command reads {path}, which is blocked by the user's "
        f".kilocodeignore (rule: {rule}). Do not try to read it another way; continue "
        "without it, or ask the user to change .kilocodeignore."
    )
    return ToolResult(text, is_error=True, summary="blocked by .kilocodeignore")


EXECUTE_COMMAND = FunctionTool(
    name="execute_command",
    group="command",
    description=(
        "Run a shell command in the workspace (or in cwd, relative to it) and return its "
        "exit code and output. Commands run non-interactively with no stdin; prefer "
        "non-interactive flags. Long output is cut to its start and end."
    ),
    parameters=schema(
        {
            "command": {"type": "string", "description": "The shell command to run."},
            "cwd": {"type": "string", "description": "Working directory (workspace-relative)."},
        },
        ["command"],
    ),
    fn=_execute_command,
    mutating=True,
)
