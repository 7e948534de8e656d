"""`--overwrite` and `--resume RUN_FOLDER`: the run-folder options of every training command.

The rule itself lives in `lstm_apps._runs`; this module turns the options into
its policy, and `--resume` into the run's saved settings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Sequence
from pathlib import Path

from lstm_apps import _runs

__all__ = ["add_run_options", "policy", "resumed", "interrupted_message"]


def add_run_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Adds `--overwrite` and `--resume RUN_FOLDER` (one or the other)."""
    group = parser.add_argument_group(
        "run folder",
        "Each run writes a fresh folder under --output-dir; an existing one is never\n"
        "reused silently. A run is complete once its metrics.json exists.",
    )
    choice = group.add_mutually_exclusive_group()
    choice.add_argument(
        "--overwrite", action="store_true",
        help="delete an existing run folder of the same --run-name and start again",
    )
    choice.add_argument(
        "--resume", type=Path, default=None, metavar="RUN_FOLDER",
        help=f"continue the unfinished run in RUN_FOLDER (after Ctrl-C or kill -9) from "
        f"its last finished epoch, with its saved settings: `lstm-apps {command} --resume "
        "RUN_FOLDER` (default: a new run)",
    )
    parser.set_defaults(_parser=parser)


def policy(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    """The `lstm_apps._runs.policy` of the parsed options."""
    if getattr(args, "resume", None) is not None:
        return _runs.policy("resume")
    return _runs.policy("overwrite" if getattr(args, "overwrite", False) else "new")


def resumed(
    args: argparse.Namespace, argv: Sequence[str], folder_settings: dict[str, str] | None = None
) -> argparse.Namespace:
    """The options of `--resume RUN_FOLDER`: the run's saved settings, then those on `argv`.

    Options given on the command line override the saved ones; `lstm_apps._runs.start`
    then refuses settings that differ from the run's.

    Args:
        args: The parsed options (with `resume` set).
        argv: The command's own arguments, to parse again.
        folder_settings: How the command names the run folder in its options
            (default: `output_dir` = the parent, `run_name` = the folder name).
    """
    path: Path = args.resume
    saved_file = path / _runs.CONFIG_FILE
    if not path.is_dir():
        raise FileNotFoundError(f"Received --resume {path}, but there is no such run folder.")
    if not saved_file.is_file():
        raise FileNotFoundError(
            f"Received --resume {path}, but it holds no {_runs.CONFIG_FILE}: not a run folder."
        )
    try:
        saved = json.loads(saved_file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"Received --resume {path}, but its {saved_file.name} is not "
                         f"valid JSON: {error}") from None
    parser: argparse.ArgumentParser = args._parser
    dests = {action.dest for action in parser._actions}
    values = {key: value for key, value in saved.items() if key in dests}
    values.update(folder_settings or {"output_dir": str(path.parent), "run_name": path.name})
    again = parser.parse_args(list(argv), namespace=argparse.Namespace(**values))
    for key, value in vars(args).items():
        if key not in vars(again):
            setattr(again, key, value)
    return again


def interrupted_message(command: str) -> str:
    """The line printed when a training command is interrupted (Ctrl-C)."""
    path = _runs.current()
    if path is None:
        return f"lstm-apps {command}: interrupted (Ctrl-C) before a run folder was written."
    if _runs.is_complete(path):
        return f"lstm-apps {command}: interrupted (Ctrl-C); the last complete run is in {path}."
    return (
        f"lstm-apps {command}: interrupted (Ctrl-C); the partial run is in {path}; resume it "
        f"with: lstm-apps {command} --resume {path}"
    )
