"""execute_command: run a shell command in the workspace, live, confined, and never orphaned.

- **Live**: the command writes to a pseudo-terminal (where available), so programs that
  buffer a pipe (Python, most C programs) flush each line; output is published as
  :class:`CommandOutput` as soon as it arrives (batched at most ``FLUSH_INTERVAL``),
  and :class:`CommandRunning` reports the elapsed time every ``TICK_INTERVAL``.
- **Confined**: the runtime's :class:`~kilo_tui.core.trust.sandbox.Sandbox` decides how
  the command runs (see that module). When the output shows the sandbox stopped it, the
  model is told so, and the user may approve running it again with the network or
  outside the sandbox, as a separate approval that says exactly what changes.
- **Never orphaned**: each command runs in its own session (process group). A timeout or
  cancel kills the whole group; so do SIGHUP, SIGTERM and a normal exit of kilo-tui
  (:func:`kill_running_commands`). For SIGKILL of kilo-tui, the sandbox's PID namespace
  with ``--die-with-parent`` ends every process of the command; unsandboxed, a guard
  shell leading the command's group gets ``PR_SET_PDEATHSIG`` (``setpriv``) and kills
  the group.
"""

from __future__ import annotations

import asyncio
import atexit
import codecs
import contextlib
import errno
import fcntl
import os
import signal
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kilo_tui.core.events import CommandFinished, CommandOutput, CommandRunning
from kilo_tui.core.testhooks import fault_point
from kilo_tui.core.tools.base import (
    FunctionTool,
    ToolContext,
    ToolError,
    ToolResult,
    denial_text,
    schema,
)
from kilo_tui.core.trust.commands import blocked_read, git_safety_env
from kilo_tui.core.trust.sandbox import Confinement, Sandbox, SandboxFailure, unconfined
from kilo_tui.core.trust.secrets import child_env

FLUSH_INTERVAL = 0.05
"""Longest wait before buffered output is published: output is batched, not byte by byte."""
TICK_INTERVAL = 1.0
"""Seconds between CommandRunning events while a command runs."""
TERMINAL_SIZE = (40, 120)
"""Rows and columns of the pseudo-terminal (programs wrap their output to it)."""
QUIET_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "TERM": "dumb"}
"""A terminal for buffering, not for interaction: no pager waits for a key, no colours."""

_RUNNING: set[int] = set()
"""Process-group ids of the commands running now (killed when kilo-tui ends)."""
_handlers_installed = False


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


@dataclass(frozen=True)
class ShellRun:
    """How a command ended: exit code (None if killed), all output, and why it was killed."""

    code: int | None
    output: str
    timed_out: bool = False
    cancelled: bool = False


async def run_shell(
    command: str,
    *,
    cwd: Path,
    timeout: float,
    cancel: asyncio.Event,
    on_output: Callable[[str], None],
    prefix: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    on_tick: Callable[[float], None] | None = None,
) -> ShellRun:
    """Run ``command`` with the user's shell behind ``prefix`` (a sandbox wrapper).

    ``on_output(text)`` receives output as it comes; ``on_tick(seconds)`` the elapsed
    time every ``TICK_INTERVAL``.
    """
    shell = os.environ.get("SHELL") or "/bin/sh"
    if not Path(shell).exists():
        shell = "/bin/sh"
    reader, writer = _output_channel()
    try:
        proc = await asyncio.create_subprocess_exec(
            *prefix,
            shell,
            "-c",
            command,
            cwd=cwd,
            env={**(env if env is not None else os.environ), **QUIET_ENV},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=writer,
            stderr=writer,
            start_new_session=True,
        )
    except BaseException:
        os.close(reader)
        raise
    finally:
        os.close(writer)
    _track(proc.pid)
    stream = _OutputStream(reader, on_output)
    start = time.monotonic()
    cancel_task = asyncio.create_task(cancel.wait())
    waiters: set[asyncio.Future[Any]] = {stream.eof, cancel_task}
    timed_out = cancelled = False
    try:
        deadline = start + timeout
        while not stream.eof.done():
            wait = min(TICK_INTERVAL, deadline - time.monotonic())
            if wait <= 0 or cancel_task.done():
                break
            await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if on_tick is not None and not stream.eof.done():
                on_tick(time.monotonic() - start)
        if not stream.eof.done():
            cancelled = cancel_task.done()
            timed_out = not cancelled
            _kill_group(proc.pid)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(stream.eof), 5)
        code = await proc.wait()
    finally:
        cancel_task.cancel()
        stream.close()
        if proc.returncode is None:
            _kill_group(proc.pid)
        _RUNNING.discard(proc.pid)
    killed = timed_out or cancelled
    return ShellRun(None if killed else code, stream.text(), timed_out, cancelled)


def _output_channel() -> tuple[int, int]:
    """(read end, write end) for the command's stdout and stderr: a pseudo-terminal,
    so programs line-buffer; a pipe where no pty can be had."""
    try:
        reader, writer = os.openpty()
    except OSError:
        return os.pipe()
    attrs = termios.tcgetattr(writer)
    attrs[1] &= ~termios.OPOST  # keep "\n" as is (no "\r\n")
    termios.tcsetattr(writer, termios.TCSANOW, attrs)
    rows, cols = TERMINAL_SIZE
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return reader, writer


class _OutputStream:
    """Reads the command's output as it comes and publishes it in short batches."""

    def __init__(self, fd: int, on_output: Callable[[str], None]) -> None:
        self.fd = fd
        self.on_output = on_output
        self.loop = asyncio.get_running_loop()
        self.eof: asyncio.Future[None] = self.loop.create_future()
        self.chunks: list[str] = []
        self.pending: list[str] = []
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.last_flush = 0.0
        self.timer: asyncio.TimerHandle | None = None
        os.set_blocking(fd, False)
        self.loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: every writer of the pty has closed it
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self._add(self.decoder.decode(b"", final=True))
            self.flush()
            self.loop.remove_reader(self.fd)
            if not self.eof.done():
                self.eof.set_result(None)
            return
        self._add(self.decoder.decode(data))
        wait = self.last_flush + FLUSH_INTERVAL - time.monotonic()
        if wait <= 0:
            self.flush()
        elif self.timer is None:
            self.timer = self.loop.call_later(wait, self.flush)

    def _add(self, text: str) -> None:
        if text:
            self.chunks.append(text)
            self.pending.append(text)

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.pending:
            self.on_output("".join(self.pending))
            self.pending.clear()
        self.last_flush = time.monotonic()

    def text(self) -> str:
        return "".join(self.chunks)

    def close(self) -> None:
        self.flush()
        self.loop.remove_reader(self.fd)
        os.close(self.fd)


# ------------------------------------------------------------- process groups


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_running_commands() -> None:
    """Kill every command kilo-tui started and that still runs (whole process groups)."""
    for pgid in list(_RUNNING):
        _kill_group(pgid)
    _RUNNING.clear()


def _track(pgid: int) -> None:
    global _handlers_installed
    if not _handlers_installed:
        _install_exit_handlers()
        _handlers_installed = True
    _RUNNING.add(pgid)


def _install_exit_handlers() -> None:
    """On SIGHUP (terminal closed), SIGTERM and exit, kill the running commands first.

    The previous handler still runs afterwards (asyncio's own handlers are woken through
    the wakeup fd, not the Python handler, so they keep working).
    """
    atexit.register(kill_running_commands)
    for sig in (signal.SIGHUP, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            previous = signal.getsignal(sig)
            signal.signal(sig, _chained(sig, previous))


def _chained(sig: signal.Signals, previous: Any) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        kill_running_commands()
        if callable(previous):
            previous(signum, frame)
        elif previous in (signal.SIG_DFL, None):
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)

    return handler


# ------------------------------------------------------------------ the tool


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
    sandbox: Sandbox | None = ctx.extra.get("sandbox")
    conf = sandbox.confinement(cwd) if sandbox else unconfined()
    decision = await ctx.approve(
        kind="command",
        tool="execute_command",
        title=title,
        command=command,
        detail=f"{command}\ncwd: {cwd}" + (" (outside the workspace)" if outside else ""),
        cwd=where,
        outside_workspace=outside,
        sandboxed=conf.offline_sandbox,
    )
    if not decision.approved:
        text = denial_text(f"running this command: {command}", decision.feedback)
        return ToolResult(text, is_error=True, summary="denied")
    await ctx.checkpoint(f"execute_command {command}")
    run = await _run(command, cwd, conf, ctx)
    failure = sandbox.diagnose(run.output, cwd, conf) if sandbox and run.code else None
    result = _result(command, run, conf, ctx)
    if sandbox is None or failure is None:
        return result
    return await _escalate(command, cwd, sandbox, failure, result, ctx)


async def _run(command: str, cwd: Path, conf: Confinement, ctx: ToolContext) -> ShellRun:
    settings = ctx.settings.agent if ctx.settings else None
    timeout = settings.command_timeout if settings else 600.0

    def on_output(text: str) -> None:
        ctx.publish(CommandOutput(task_id=ctx.task_id, call_id=ctx.call_id, text=text))
        fault_point("command")

    def on_tick(elapsed: float) -> None:
        ctx.publish(CommandRunning(task_id=ctx.task_id, call_id=ctx.call_id, elapsed=elapsed))

    env = child_env(settings.env_passthrough if settings else ())  # no secrets
    env |= await asyncio.to_thread(git_safety_env, command, cwd, env)
    run = await run_shell(
        command,
        cwd=cwd,
        timeout=timeout,
        cancel=ctx.cancel,
        on_output=on_output,
        on_tick=on_tick,
        prefix=conf.prefix,
        env=env,
    )
    ctx.publish(
        CommandFinished(
            task_id=ctx.task_id,
            call_id=ctx.call_id,
            command=command,
            exit_code=run.code,
            timed_out=run.timed_out,
            cancelled=run.cancelled,
            sandboxed=conf.sandboxed,
        )
    )
    ctx.state.last_command = command
    ctx.state.last_command_output = run.output
    return run


def _result(command: str, run: ShellRun, conf: Confinement, ctx: ToolContext) -> ToolResult:
    settings = ctx.settings.agent if ctx.settings else None
    limit = settings.command_output_limit if settings else 20_000
    shown = head_and_tail(run.output, limit) if run.output else "(no output)"
    if run.timed_out:
        timeout = settings.command_timeout if settings else 600.0
        status = f"The command was killed after {timeout:g} s (timeout)."
    elif run.cancelled:
        status = "The command was cancelled by the user."
    else:
        status = f"Exit code: {run.code}"
    where = ""
    if conf.sandboxed:
        where = f"Sandbox: writes limited to the workspace and temp dir, {conf.network_text()}.\n"
    return ToolResult(
        f"Command: {command}\n{where}{status}\nOutput:\n{shown}",
        is_error=bool(run.timed_out or run.cancelled or run.code),
        summary=status if (run.timed_out or run.cancelled) else f"exit {run.code}",
    )


async def _escalate(
    command: str,
    cwd: Path,
    sandbox: Sandbox,
    failure: SandboxFailure,
    first: ToolResult,
    ctx: ToolContext,
) -> ToolResult:
    """Tell the model the sandbox stopped the command, and offer the user to run it again
    with the network (a network failure) or outside the sandbox (anything else)."""
    told = f"{first.content}\n\n{failure.explanation()}"
    if failure.kind == "network":
        conf = sandbox.confinement(cwd, network=True)
        action = "run it again with network access"
        change = (
            "Same sandbox (writes only in the workspace and temp dir, secrets hidden), "
            "but the command may connect to any host."
        )
    else:
        conf = sandbox.confinement(cwd, escape=True)
        action = "run it again outside the sandbox"
        change = (
            "Without the sandbox the command runs with your full rights: it can write "
            f"anywhere you can (not only {sandbox.workspace} and the temp dir), read "
            "~/.ssh, ~/.aws and kilo-tui's own files, and use the network."
        )
    decision = await ctx.approve(
        kind="command",
        tool="execute_command",
        title=f"{action.capitalize()}: {command}",
        command=command,
        detail=f"Blocked: {failure.evidence.strip()}\n{change}\ncwd: {cwd}",
        escalation=True,
    )
    if not decision.approved:
        note = denial_text(f"the request to {action}", decision.feedback)
        return ToolResult(f"{told}\n{note}", is_error=True, summary=f"{first.summary}, sandboxed")
    await ctx.checkpoint(f"execute_command {command} ({action})")
    run = await _run(command, cwd, conf, ctx)
    again = _result(command, run, conf, ctx)
    header = f"The user approved: {action}."
    return ToolResult(
        f"{told}\n\n{header}\n{again.content}", is_error=again.is_error, summary=again.summary
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
    matcher = ctx.paths.ignore
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
        "non-interactive flags. Long output is cut to its start and end. Commands may run "
        "in a sandbox: writes only inside the workspace and temp dir, no network."
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
