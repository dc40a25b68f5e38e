"""The ``kilo-tui`` command.

``kilo-tui [PATH]`` opens the TUI; ``kilo-tui run|models|sessions|checkpoints|mcp|config``
are the scriptable sub-commands. This module must stay cheap to import: ``--help`` and
``--version`` answer without loading textual or litellm.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from kilo_tui import __version__

# Sub-commands and the module that registers each (see kilo_tui/commands/__init__.py).
SUBCOMMANDS = {
    "run": "kilo_tui.commands.run",
    "sessions": "kilo_tui.commands.sessions",
    "config": "kilo_tui.commands.config",
    "models": "kilo_tui.commands.models",
    "checkpoints": "kilo_tui.commands.checkpoints",
    "mcp": "kilo_tui.commands.mcp",
    "doctor": "kilo_tui.commands.doctor",
    "serve": "kilo_tui.commands.serve",
    "index": "kilo_tui.commands.index",
}

EPILOG = """\
commands (kilo-tui COMMAND --help for each):
  run PROMPT       run a task headless (JSON Lines with --json)
  models           list models, flagging free and local ones
  sessions         list, show, export or delete past tasks
  checkpoints      list, diff, restore or prune the checkpoint timeline
  mcp              show MCP servers and their tools
  config           where the config file is, and what it says
  doctor           check model, keys, local servers, MCP, git, browser, sandbox
  serve            the full TUI in a web browser (127.0.0.1 only by default)
  index            status or rebuild of the codebase index (codebase_search)

environment:
  KILO_TUI_HOME    put all config and data under this directory
  KILO_TUI_MODEL   default model (a litellm model string)
  KILO_API_URL     the Kilo gateway's address (default https://api.kilo.ai)
  KILOCODE_TOKEN   your Kilo token (without one: the gateway's free models)
"""


NO_SANDBOX_FLAG = "--no-sandbox"
NO_SANDBOX_HELP = "run commands without the sandbox for this run (full rights, network on)"


def no_sandbox_override(args: argparse.Namespace) -> dict[str, str]:
    """The settings override ``--no-sandbox`` stands for."""
    return {"sandbox.mode": "off"} if args.no_sandbox else {}


def _tui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kilo-tui",
        description="Kilo Code in your terminal: an AI coding agent that changes nothing "
        "you have not approved.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", default=".", help="project directory (default: .)")
    parser.add_argument("--model", help="model to use (litellm string, e.g. anthropic/…)")
    parser.add_argument("--mode", help="mode slug (code, architect, ask, debug, orchestrator…)")
    parser.add_argument(
        "-c",
        "--continue",
        dest="continue_last",
        action="store_true",
        help="resume the last session of this workspace",
    )
    parser.add_argument("--session", help="resume the session with this id")
    parser.add_argument("--theme", help="colour theme")
    parser.add_argument(NO_SANDBOX_FLAG, action="store_true", help=NO_SANDBOX_HELP)
    parser.add_argument("--version", action="version", version=f"kilo-tui {__version__}")
    return parser


def _command_parser(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kilo-tui")
    subparsers = parser.add_subparsers(dest="command", required=True)
    module = importlib.import_module(SUBCOMMANDS[name])
    module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        parser = _command_parser(args_list[0])
    else:
        parser = _tui_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    func = getattr(args, "func", None)
    try:
        if func is not None:
            code = int(func(args))
            if argv is None and getattr(args, "exit_at_once", False):
                exit_at_once(code)
            return code
        return _run_tui(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from kilo_tui.core.config import ConfigError

        if isinstance(exc, ConfigError):
            print(f"kilo-tui: {exc}", file=sys.stderr)
            return 2
        raise


def exit_at_once(code: int) -> NoReturn:
    """End the process now, skipping the interpreter's teardown.

    With litellm loaded, that teardown (freeing hundreds of modules, its exit hooks)
    takes over a second, and a script running ``kilo-tui run`` waits for all of it.
    Only for commands that have already closed what they opened (session store, child
    processes, MCP servers): what is still buffered for stdout and stderr is written
    here, as the normal exit would have.
    """
    import contextlib
    import logging
    import os

    for stream in (sys.stdout, sys.stderr):
        # OSError: the reader went away; ValueError: the stream is closed.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)


def _run_tui(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kilo_tui.core.config import load_settings

    workspace = Path(args.path).expanduser()
    if not workspace.is_dir():
        print(f"kilo-tui: not a directory: {args.path}", file=sys.stderr)
        return 2
    overrides = {"model": args.model, "mode": args.mode, "theme": args.theme}
    overrides |= no_sandbox_override(args)
    settings = load_settings(workspace, overrides=overrides)
    from kilo_tui.tui.run import run_tui

    return run_tui(
        workspace=workspace.resolve(),
        settings=settings,
        continue_last=args.continue_last,
        session_id=args.session,
    )


if __name__ == "__main__":
    sys.exit(main())
