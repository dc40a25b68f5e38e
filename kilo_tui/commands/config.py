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
