"""``kilo-tui doctor``: what works on this machine, checked for real.

Today it reports the command sandbox (see ``kilo_tui.core.trust.sandbox``): the
configured mode, whether a mechanism actually confines commands here, and what is
hidden. Exit 0 when everything configured works, 1 when something does not (for
example ``mode = "workspace-write"`` on a machine with no working bubblewrap).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check this machine: how commands are sandboxed",
        description="Check what kilo-tui can do on this machine. Exit 0 when everything "
        "configured works, 1 when something does not.",
    )
    parser.add_argument("--path", default=".", help="workspace directory (default: .)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.set_defaults(func=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    from kilo_tui.core.config import load_settings
    from kilo_tui.core.trust.sandbox import Sandbox

    workspace = Path(args.path).expanduser().resolve()
    settings = load_settings(workspace)
    sandbox = Sandbox(settings.sandbox, workspace)
    status = sandbox.status()
    ok = status.active or status.mode == "off"
    if args.json:
        report = {
            "sandbox": {
                "mode": status.mode,
                "active": status.active,
                "mechanism": status.mechanism,
                "network": status.network,
                "message": status.message,
                "unsupported": status.unsupported,
                "writable": [str(p) for p in sandbox.writable_roots()] if status.active else [],
                "hidden": [str(p) for p in sandbox.hidden_paths()] if status.active else [],
            }
        }
        print(json.dumps(report, indent=2))
        return 0 if ok else 1
    print(f"{'✓' if ok else '✗'} {status.message}")
    if status.active:
        print("  writable: " + ", ".join(str(p) for p in sandbox.writable_roots()))
        hidden = sandbox.hidden_paths()
        print("  hidden:   " + (", ".join(str(p) for p in hidden) or "(none found)"))
    if status.unsupported:
        print(f"! {status.unsupported}")
    return 0 if ok else 1
