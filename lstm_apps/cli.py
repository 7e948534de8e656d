"""`lstm-apps`: the command line. Thin: parse, call the library, print.

Each subcommand lives in `lstm_apps.commands.<name>` and defines
`register(subparsers)` (adds its parser, with `func` set to its runner).
Building the parsers imports neither Keras nor TensorFlow (the config fields
are read by `lstm_apps.commands._fields`; each command imports its recipe in
its runner), so `--help` and argument errors answer at once.

Options: a config field `max_len` is `--max-len MAX_LEN`; `--verbose {0,1,2}`
is Keras's training output in every training command; the top-level `-v`
(`--logs`) shows log messages, TensorFlow's included.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from lstm_apps.recipes.registry import RECIPES

__all__ = ["main", "build_parser"]

# Subcommands in the order `lstm-apps --help` lists them: the recipes (from the
# registry), then the other commands; a module that is not installed yet is skipped.
_COMMANDS = (*RECIPES, "gates", "tune", "cells")


def build_parser() -> argparse.ArgumentParser:
    """The `lstm-apps` argument parser with every available subcommand."""
    from lstm_apps import __version__

    parser = argparse.ArgumentParser(
        prog="lstm-apps",
        description="LSTM cells, gate introspection, recipes and tuning for Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"lstm-apps {__version__}")
    # Its own `dest`: the subcommands' `--verbose {0,1,2}` (training output) must
    # not be overwritten by this flag's False.
    parser.add_argument("-v", "--logs", action="store_true", dest="log_verbose",
                        help="show log messages: lstm_apps's (info) and TensorFlow's, absl's "
                        "and CUDA's, which are hidden otherwise")
    parser.add_argument("--verbose", action=_DeprecatedLogs, nargs=0, dest="log_verbose",
                        help=argparse.SUPPRESS)
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


class _DeprecatedLogs(argparse.Action):
    """`lstm-apps --verbose COMMAND`, the old spelling of `-v`."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print("lstm-apps: warning: --verbose before the command is deprecated; use -v "
              "(--logs)", file=sys.stderr)
        setattr(namespace, self.dest, True)


# What TensorFlow's C++ side prints while it is imported, before its log level
# applies: absl's notice, its log lines (`I0000 00:00:... cudart_stub.cc:31]
# Could not find cuda drivers ...`) and the CPU-instructions note.
_NOISE = re.compile(
    r"(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ \S+:\d+\]"
    r"|To enable the following instructions"
    r"|This TensorFlow binary is optimized)"
)


@contextlib.contextmanager
def _filtered_stderr() -> Iterator[None]:
    """Captures file descriptor 2 (C++ code writes there) and passes on all but `_NOISE`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not _NOISE.match(line):
                    sys.stderr.write(line)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Imports TensorFlow (when something does) under `_filtered_stderr`."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> Any:
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            with _filtered_stderr():
                execute(module)

        spec.loader.exec_module = exec_module
        return spec


def _quiet_backends() -> None:
    """Hides TensorFlow's, absl's and CUDA's messages (called before TensorFlow loads)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ info, warnings and errors
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
    # TensorFlow's and absl's Python warnings (tf.function retracing, ...) are no
    # news for a command-line user.
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "absl.logging" in sys.modules:
        sys.modules["absl.logging"].set_verbosity("error")


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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.log_verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.log_verbose:
        _quiet_backends()
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
