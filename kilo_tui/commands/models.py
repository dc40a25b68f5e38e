"""``kilo-tui models``: the model catalog for scripts, flagging free and local models."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kilo_tui.core.llm.catalog import ModelInfo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``models`` sub-command."""
    parser = subparsers.add_parser(
        "models",
        help="list models, flagging free and local ones",
        description="List the models kilo-tui knows: litellm's bundled price table plus "
        "the models your configured providers serve. Prices are USD per million tokens.",
    )
    parser.add_argument("query", nargs="?", default="", help="fuzzy filter on the model id")
    parser.add_argument("--free", action="store_true", help="only free models")
    parser.add_argument("--local", action="store_true", help="only models on this machine")
    parser.add_argument("--provider", metavar="P", help="only this provider (e.g. anthropic)")
    parser.add_argument("--tools", action="store_true", help="only models with tool calling")
    parser.add_argument(
        "--sort", choices=("name", "price", "context"), default="name", help="order (default: name)"
    )
    parser.add_argument(
        "--refresh", action="store_true", help="ask the configured providers first (network)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List the catalog, filtered; 0 on success (an empty list is not an error)."""
    import asyncio

    from kilo_tui.core.llm.catalog import Catalog, filter_models

    catalog = Catalog(_providers())
    if args.refresh:
        for error in asyncio.run(catalog.refresh()):
            print(f"kilo-tui: {error}", file=sys.stderr)
    models = filter_models(
        catalog.models(),
        query=args.query,
        free=args.free,
        local=args.local,
        provider=args.provider,
        tools=args.tools,
        sort=args.sort,
        first=catalog.usable_providers(),
    )
    try:
        if args.json:
            json.dump([m.to_dict() for m in models], sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            _print_table(models)
        sys.stdout.flush()
    except BrokenPipeError:
        # `kilo-tui models | head`: the reader left; stop quietly, as `ls` would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _providers() -> dict[str, dict[str, Any]]:
    """The ``[providers]`` settings from the config (a ConfigError reaches the CLI)."""
    from kilo_tui.core.config import load_settings

    return load_settings().providers


def _print_table(models: list[ModelInfo]) -> None:
    from kilo_tui.core.llm.pricing import format_price, format_tokens

    rows = [
        (
            m.id,
            m.provider,
            badge(m),
            format_price(m.input_price),
            format_price(m.output_price),
            format_tokens(m.context_window),
        )
        for m in models
    ]
    header = ("MODEL", "PROVIDER", "", "IN $/M", "OUT $/M", "CONTEXT")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if i >= 3 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    print(f"\n{len(models)} models", file=sys.stderr)


def badge(model: ModelInfo) -> str:
    """``(free)``, ``local``, ``local (free)`` or ``price unknown``; empty for priced models."""
    if model.local:
        return "local (free)" if model.free else "local"
    if model.free:
        return "(free)"
    return "" if model.price_known else "price unknown"
