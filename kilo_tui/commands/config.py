"""``kilo-tui config path|show``: where the config file is, and what it holds."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="the config file")
    actions = parser.add_subparsers(dest="action", required=True)
    path = actions.add_parser("path", help="print the config file's path")
    path.set_defaults(func=_path)
    show = actions.add_parser(
        "show", help="validate and print the effective settings (API keys masked)"
    )
    show.set_defaults(func=_show)
    trust = actions.add_parser(
        "trust",
        help="trust this workspace's .kilocode/kilo-tui.toml (its current content) "
        "so settings that loosen the approval policy apply",
    )
    trust.add_argument("--path", default=".", help="workspace directory (default: .)")
    trust.set_defaults(func=_trust)


def _path(args: argparse.Namespace) -> int:
    from kilo_tui.core.paths import config_file

    print(config_file())
    return 0


def _show(args: argparse.Namespace) -> int:
    import dataclasses

    from kilo_tui.core.config import load_settings

    settings = load_settings()
    data = dataclasses.asdict(settings)
    data.pop("raw", None)
    for provider in data.get("providers", {}).values():
        if provider.get("api_key"):
            provider["api_key"] = "…" + str(provider["api_key"])[-4:]
    print(json.dumps(data, indent=2, default=list))
    return 0


def _trust(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kilo_tui.core.trust import project as trust

    project_file = Path(args.path).expanduser().resolve() / ".kilocode" / "kilo-tui.toml"
    if not project_file.is_file():
        print(f"kilo-tui config trust: no {project_file}")
        return 1
    print(project_file.read_text(encoding="utf-8"))
    trust.trust(project_file)
    print(f"Trusted {project_file} as shown above. Editing it by hand needs trusting again.")
    return 0
