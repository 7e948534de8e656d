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
    # Its own `dest`: the subcommands' `--verbose N` (training output) must not
    # be overwritten by this flag's False.
    parser.add_argument("-v", "--verbose", action="store_true", dest="log_verbose",
                        help="show lstm_apps log messages")
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


def _command_argv(argv: Sequence[str], command: str) -> list[str]:
    """The arguments after the subcommand's name."""
    argv = list(argv)
    return argv[argv.index(command) + 1 :] if command in argv else []


def _interrupted(args: argparse.Namespace) -> str:
    module = importlib.import_module(f"lstm_apps.commands.{args.command}")
    message = getattr(module, "interrupted_message", None)
    if message is not None:
        return message(args)
    from lstm_apps.commands._run_options import interrupted_message

    return interrupted_message(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lstm-apps` console script.

    Exit status: 0 done, 1 a file could not be written, 2 bad arguments or
    input, 130 interrupted (Ctrl-C). Each error is one line on stderr.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.log_verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.log_verbose:
        # TensorFlow's and absl's Python warnings (tf.function retracing, ...) are
        # no news for a command-line user; -v shows them.
        for name in ("tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.ERROR)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    args._argv = _command_argv(argv, args.command)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"\n{_interrupted(args)}", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError, FileExistsError) as error:
        print(f"lstm-apps {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file that cannot be written: the message names it
        print(f"lstm-apps {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
