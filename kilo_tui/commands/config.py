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
        help="trust this workspace's .kilocode/mcp.json, .kilocode/kilo-tui.toml and "
        ".kilocodemodes (their current content): print what each would run or loosen, "
        "then let it",
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
    from kilo_tui.core.llm.providers import SECRET_SETTINGS

    settings = load_settings()
    data = dataclasses.asdict(settings)
    data.pop("raw", None)
    for provider in data.get("providers", {}).values():
        for name in SECRET_SETTINGS:
            if provider.get(name):
                provider[name] = "…" + str(provider[name])[-4:]
    print(json.dumps(data, indent=2, default=list))
    return 0


def _trust(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kilo_tui.core.trust import project as trust

    workspace = Path(args.path).expanduser().resolve()
    files = [workspace / name for name in trust.TRUSTABLE_FILES]
    files = [f for f in files if f.is_file()]
    if not files:
        names = ", ".join(str(n) for n in trust.TRUSTABLE_FILES)
        print(f"kilo-tui config trust: none of {names} in {workspace}")
        return 1
    for path in files:
        print(f"{path}:")
        for line in trust.describe(workspace, path):
            print(f"  {line}")
        trust.trust(path)
    print("Trusted the files above as they are now. Any change to one needs trusting again.")
    return 0
