"""``kilo-tui doctor``: what works on this machine, checked for real, in one screen.

It reports the model in use and where its requests go, which providers have a key
(never the key), the local model servers, the MCP servers, git and a browser (see
``kilo_tui.core.doctor``), then the command sandbox (see
``kilo_tui.core.trust.sandbox``): the configured mode, whether a mechanism actually
confines commands here, and what is hidden. Exit 0 when everything configured works,
1 when something does not (no key for the model in use, an MCP command missing,
``mode = "workspace-write"`` on a machine with no working bubblewrap, …).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check providers, keys, local servers, MCP, git, browser and the sandbox",
        description="Check what kilo-tui can do on this machine. Exit 0 when everything "
        "configured works, 1 when something does not.",
    )
    parser.add_argument("--path", default=".", help="workspace directory (default: .)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.set_defaults(func=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    import asyncio

    from kilo_tui.core.config import load_settings
    from kilo_tui.core.doctor import run_checks
    from kilo_tui.core.trust.sandbox import Sandbox

    workspace = Path(args.path).expanduser().resolve()
    settings = load_settings(workspace)
    findings = asyncio.run(run_checks(workspace, settings))
    sandbox = Sandbox(settings.sandbox, workspace)
    status = sandbox.status()
    sandbox_ok = status.active or status.mode == "off"
    ok = sandbox_ok and all(f.level != "fail" for f in findings)
    if args.json:
        report = {
            "checks": [f.to_dict() for f in findings],
            "sandbox": {
                "mode": status.mode,
                "active": status.active,
                "mechanism": status.mechanism,
                "network": status.network,
                "message": status.message,
                "unsupported": status.unsupported,
                "writable": [str(p) for p in sandbox.writable_roots()] if status.active else [],
                "hidden": [str(p) for p in sandbox.hidden_paths()] if status.active else [],
            },
        }
        print(json.dumps(report, indent=2))
        return 0 if ok else 1
    marks = {"ok": "✓", "info": "·", "warn": "!", "fail": "✗"}
    for finding in findings:
        print(f"{marks[finding.level]} {finding.section + ':':9} {finding.message}")
    print(f"{'✓' if sandbox_ok else '✗'} {'sandbox:':9} {status.message}")
    if status.active:
        print("  writable: " + ", ".join(str(p) for p in sandbox.writable_roots()))
        hidden = sandbox.hidden_paths()
        print("  hidden:   " + (", ".join(str(p) for p in hidden) or "(none found)"))
    if status.unsupported:
        print(f"! {status.unsupported}")
    return 0 if ok else 1
