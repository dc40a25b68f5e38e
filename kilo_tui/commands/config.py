"""``kilo-tui config path|show|set|trust``: where the config file is, what it holds,
changing one setting, and trusting a workspace's project files."""

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
        "show",
        help="validate and print the effective settings and where each came from (API keys masked)",
    )
    show.set_defaults(func=_show)
    setter = actions.add_parser(
        "set",
        help="write one setting, e.g. `config set model kilo/auto` or "
        "`config set agent.command_timeout 120` (checked before it is kept)",
    )
    setter.add_argument("key", help="dotted key, e.g. providers.kilo.organization_id")
    setter.add_argument("value", help="a TOML value (number, true/false, [list]) or text")
    setter.set_defaults(func=_set)
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

    from kilo_tui.core.config import kilocode_small_model, load_settings, setting_sources
    from kilo_tui.core.llm.providers import SECRET_SETTINGS

    settings = load_settings()
    data = dataclasses.asdict(settings)
    data.pop("raw", None)
    data["small_model"] = settings.small_model or kilocode_small_model()
    data["sources"] = setting_sources(settings)
    for provider in data.get("providers", {}).values():
        for name in SECRET_SETTINGS:
            if provider.get(name):
                provider[name] = "…" + str(provider[name])[-4:]
    if key := settings.codebase_index.qdrant_api_key:
        data["codebase_index"]["qdrant_api_key"] = "…" + key[-4:]
    print(json.dumps(data, indent=2, default=list))
    return 0


def _set(args: argparse.Namespace) -> int:
    """Write one dotted setting; an invalid result is reported and the file left as it was."""
    import sys

    from kilo_tui.core.config import ConfigError, load_settings, save_settings_value
    from kilo_tui.core.llm.providers import SECRET_SETTINGS
    from kilo_tui.core.paths import config_file

    path = config_file()
    before = path.read_bytes() if path.exists() else None
    save_settings_value(args.key, _parse_value(args.value))
    try:
        load_settings()
    except ConfigError as exc:
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
        print(f"kilo-tui config set: {exc}; nothing was changed", file=sys.stderr)
        return 2
    secret = args.key.rpartition(".")[2] in (*SECRET_SETTINGS, "qdrant_api_key")
    shown = "…" + args.value[-4:] if secret else args.value
    print(f"{args.key} = {shown} (in {path})")
    return 0


def _parse_value(text: str) -> Any:
    """A TOML literal (``120``, ``true``, ``["a"]``, ``"x"``) when it is one, else the text."""
    import tomllib

    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


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
