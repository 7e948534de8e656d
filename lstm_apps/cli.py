"""`lstm-apps`: the command line. Thin: parse, call the library, print.

Each subcommand lives in `lstm_apps.commands.<name>` and defines
`register(subparsers)` (adds its parser, with `func` set to its runner) and is
imported only when its parser is built, so `lstm-apps --version` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

# Subcommands in the order `lstm-apps --help` lists them; a module that is not
# installed yet is skipped.
_COMMANDS = ("forecast", "sentiment", "memory", "gates", "tune", "cells")


def build_parser() -> argparse.ArgumentParser:
    """The `lstm-apps` argument parser with every available subcommand."""
    from lstm_apps import __version__

    parser = argparse.ArgumentParser(
        prog="lstm-apps",
        description="LSTM cells, gate introspection, recipes and tuning for Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"lstm-apps {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show lstm_apps log messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"lstm_apps.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"lstm_apps.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lstm-apps` console script."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"lstm-apps {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
