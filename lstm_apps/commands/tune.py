"""`lstm-apps tune forecast|sentiment`: a hyperparameter search over a recipe.

Every field of the recipe's config is an option (`--lookback 60`,
`--no-plots`, ...), except the tuned ones, which take a search range:
`--units 16 64 16` (min max [step]), `--units 32` (fixed), `--units none`
(not tuned: the config's value); `--cells standard peephole gru` (also the
groups `default`, `ablations`, `xlstm`, `min`, `all`); `--bidirectional true
false`. Only the settings the recipe's config has are offered (forecast:
cells, units, layers, dropout, learning rate; it is scored on `val_mae`, the
calibration origins at the end of the training part, and `--combine none`
trains the LSTM alone).
`--config FILE` starts from a saved config (e.g. a `best_config.json`).

One machine: `lstm-apps tune forecast --max-trials 20 --directory sweeps`;
rerun the same command to resume (after Ctrl-C or kill -9 too: completed trials
are kept, an interrupted trial continues from its last finished epoch).
Several machines (shared `--directory`): `lstm-apps tune forecast ... --chief
10.0.0.5:8000` on one (a private interface), and `lstm-apps tune forecast ...
--worker 10.0.0.5:8000` on each of the others.

Security: the chief's gRPC service is unauthenticated and unencrypted; any
client that reaches its port can read the search and send it results. Bind it
to 127.0.0.1 (one machine) or a private interface of a trusted network, never
to a public one.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

from lstm_apps.commands._config_args import (
    add_config_arguments,
    build_config,
    flag,
    format_default,
    number,
    reworded,
)
from lstm_apps.commands._fields import config_class_fields, light_value
from lstm_apps.recipes import registry

#: Search-space options: option name -> (hypermodel argument, kind).
_SPACE = {
    "cells": ("cells", "cells"),
    "units": ("units", "number"),
    "layers": ("layers", "number"),
    "bidirectional": ("bidirectional", "bool"),
    "dropout": ("dropout", "number"),
    "recurrent_dropout": ("recurrent_dropout", "number"),
    "learning_rate": ("learning_rate", "number"),
    "clipnorm": ("clipnorm", "choices"),
    "unit_forget_bias": ("unit_forget_bias", "bool"),
}
#: The arguments of `lstm_apps.tuning.tune` that a search option gives, and that option
#: (an error of `tune` names the option).
_TUNE_OPTIONS = {
    "tuner": "--tuner", "max_trials": "--max-trials", "directory": "--directory",
    "project_name": "--project-name", "overwrite": "--overwrite", "objective": "--objective",
    "seed": "--search-seed", "hyperband_factor": "--hyperband-factor",
    "max_retries_per_trial": "--max-retries", "chief": "--chief", "worker": "--worker",
    "tuner_id": "--tuner-id", "worker_timeout": "--worker-timeout",
}
#: Prefix of the parsed recipe settings (they may share names with search options).
_DEST = "config__"
#: Config fields that the search space replaces.
_TUNED_FIELDS = {"cell", *[k for k in _SPACE if k != "cells"]}


def _add_config_options(parser: argparse.ArgumentParser, recipe: str, fields: list[Any]) -> None:
    group = parser.add_argument_group(
        "recipe settings", "the base config of every trial (defaults: the recipe's)"
    )
    # how the recipe's own command parses and lists its options
    command = importlib.import_module(f"lstm_apps.commands.{recipe}")
    overrides = {
        name: {k: v for k, v in options.items() if k in ("type", "choices", "metavar")}
        for name, options in command.config_overrides().items()
    }
    add_config_arguments(group, [f for f in fields if f.name not in _TUNED_FIELDS],
                         dest_prefix=_DEST, suppress_defaults=True, overrides=overrides)


def _add_space_options(parser: argparse.ArgumentParser, fields: set[str]) -> None:
    group = parser.add_argument_group(
        "search space",
        "a range (MIN MAX [STEP]) or a list of values; one value fixes the setting, "
        "'none' leaves it untuned (the config's value). Default: the documented range.",
    )
    params = light_value("lstm_apps.tuning", "PARAMS")  # without Keras Tuner, for --help
    for option in _SPACE:
        field = "cell" if option == "cells" else option
        if field not in fields:
            continue
        param = params[field]
        extra = "; groups: default, ablations, xlstm, min, all" if option == "cells" else ""
        group.add_argument(
            flag(option), nargs="+", metavar=option.upper(), default=None,
            help=f"{param.help}{extra} (default: {format_default(param.default)})",
        )


def _add_search_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("search")
    group.add_argument("--tuner", default="random",
                       choices=light_value("lstm_apps.tuning", "TUNERS"),
                       help="search algorithm (default: random; bayesian needs "
                       "scikit-learn and scipy)")
    group.add_argument("--max-trials", type=int, default=10,
                       help="trials of the whole search (default: 10)")
    group.add_argument("--directory", default="tuning",
                       help="folder of the search, shared by all machines (default: tuning)")
    group.add_argument("--project-name", default=None,
                       help="subfolder of this search (default: the recipe name)")
    group.add_argument("--overwrite", action="store_true",
                       help="start again, deleting the project folder (default: resume)")
    group.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="start from a saved config (JSON, e.g. a best_config.json) "
                       "(default: the recipe's defaults)")
    group.add_argument("--objective", default=None,
                       help="metric to optimise (default: forecast val_mae, "
                       "sentiment val_accuracy)")
    group.add_argument("--search-seed", type=int, default=None,
                       help="seed of the search algorithm (default: random)")
    group.add_argument("--hyperband-factor", type=int, default=3,
                       help="Hyperband's reduction factor (default: 3)")
    group.add_argument("--max-retries", type=int, default=0,
                       help="reruns of a trial that raised an error (default: 0)")
    group.add_argument("--top", type=int, default=10,
                       help="trials shown at the end, best first (default: 10)")
    group.add_argument("--quiet", action="store_true", help="no progress lines")
    dist = parser.add_argument_group(
        "distributed (Keras Tuner chief/worker mode; every machine sees --directory)"
    )
    role = dist.add_mutually_exclusive_group()
    role.add_argument("--chief", metavar="HOST:PORT", default=None,
                      help="serve the search here, e.g. 127.0.0.1:8000 or a private "
                      "interface (runs no trial). Unauthenticated, unencrypted gRPC: "
                      "trusted networks only (default: one machine, no chief)")
    role.add_argument("--worker", metavar="HOST:PORT", default=None,
                      help="run trials for the chief at HOST:PORT (default: none)")
    dist.add_argument("--tuner-id", default=None,
                      help="a worker's name (default: worker-<host>-<pid>)")
    dist.add_argument("--worker-timeout", type=float, default=300.0, metavar="SECONDS",
                      help="silence after which the chief takes a worker as dead "
                      "and gives its trial to another (default: 300)")


def register(sub: argparse._SubParsersAction) -> None:
    # The recipe's own options are parsed in `run` (see `recipe_parser`), so that
    # building the `lstm-apps` parser does not import the recipes (and Keras).
    parser = sub.add_parser(
        "tune",
        help="hyperparameter search over a recipe (Keras Tuner), resumable and distributed",
        description=__doc__.split("\n\n", 1)[1]
        + "\nSee `lstm-apps tune RECIPE --help` for every option of a recipe.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recipe", choices=registry.tunable(), help="the recipe to tune")
    parser.add_argument("options", nargs=argparse.REMAINDER,
                        help="search, search-space and recipe options")
    parser.set_defaults(func=run)


def recipe_parser(recipe: str) -> argparse.ArgumentParser:
    """The parser of `lstm-apps tune RECIPE` options."""
    parser = argparse.ArgumentParser(
        prog=f"lstm-apps tune {recipe}",
        description=f"Hyperparameter search over the {recipe} recipe.",
    )
    _add_search_options(parser)
    entry = registry.get_recipe(recipe)
    fields = list(config_class_fields(entry.module, entry.config))
    _add_space_options(parser, {f.name for f in fields})
    _add_config_options(parser, recipe, fields)
    return parser


def _bool(text: str, option: str) -> bool:
    value = text.lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"Received --{option} {text!r}, expected true or false.")


def _space_value(option: str, kind: str, items: list[str]) -> Any:
    name = option.replace("_", "-")
    if len(items) == 1 and items[0].lower() == "none":
        return None
    if kind == "cells":
        return items[0] if len(items) == 1 else list(items)
    if kind == "bool":
        values = [_bool(v, name) for v in items]
        return values[0] if len(values) == 1 else values
    try:
        numbers = [number(v) for v in items]
    except ValueError:
        raise ValueError(f"Received --{name} {' '.join(items)}, expected numbers.") from None
    if kind == "choices":
        return numbers[0] if len(numbers) == 1 else numbers
    if len(numbers) > 3:
        raise ValueError(
            f"Received --{name} {' '.join(items)}, expected one value, MIN MAX or MIN MAX STEP."
        )
    return numbers[0] if len(numbers) == 1 else tuple(numbers)


def _base_config(args: argparse.Namespace, config_class: type) -> Any:
    known = {f.name for f in dataclasses.fields(config_class)}
    values: dict[str, Any] = {}
    if args.config is not None:
        if not args.config.is_file():
            raise FileNotFoundError(f"config file not found: {args.config}")
        try:
            saved = json.loads(args.config.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(f"--config {args.config} is not valid JSON: {error}") from None
        if not isinstance(saved, dict):
            raise ValueError(f"--config {args.config} must hold a JSON object.")
        values.update(saved)
    options = []
    for field in dataclasses.fields(config_class):
        if _DEST + field.name in vars(args):
            value = getattr(args, _DEST + field.name)
            if isinstance(value, list):
                value = tuple(v for v in value if v is not None and v != "none")
            values[field.name] = value
            options.append(field.name)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"--config {args.config} has unknown fields {unknown}.")
    return build_config(config_class, values, options)


def interrupted_message(args: argparse.Namespace) -> str:
    """The line printed when a search is interrupted (Ctrl-C)."""
    try:
        options = recipe_parser(args.recipe).parse_args(args.options)
    except SystemExit:  # pragma: no cover  (the options parsed once already)
        return "lstm-apps tune: interrupted (Ctrl-C)."
    folder = Path(options.directory) / (options.project_name or args.recipe)
    return (
        f"lstm-apps tune: interrupted (Ctrl-C); the search is in {folder} (completed trials "
        "are kept); run the same command again to resume it."
    )


def run(args: argparse.Namespace) -> int:
    recipe = args.recipe
    args = recipe_parser(recipe).parse_args(args.options)  # --help: without Keras
    args.recipe = recipe

    import pandas as pd

    from lstm_apps.tuning import tune

    if args.top < 1:
        raise ValueError(f"Received --top {args.top}, expected an integer >= 1.")
    if not args.quiet:
        logging.getLogger("lstm_apps.tuning").setLevel(logging.INFO)
    space = {}
    for option, (argument, kind) in _SPACE.items():
        items = getattr(args, option, None)
        if items is not None:
            space[argument] = _space_value(option, kind, items)
    config_class = registry.get_recipe(recipe).config_class()
    config = _base_config(args, config_class)
    options = {**{f.name: flag(f.name) for f in dataclasses.fields(config_class)},
               **{argument: flag(option) for option, (argument, _) in _SPACE.items()},
               **_TUNE_OPTIONS}
    try:
        result = tune(
            config, tuner=args.tuner, max_trials=args.max_trials, directory=args.directory,
            project_name=args.project_name, overwrite=args.overwrite, space=space,
            objective=args.objective, seed=args.search_seed,
            hyperband_factor=args.hyperband_factor, max_retries_per_trial=args.max_retries,
            chief=args.chief, worker=args.worker, tuner_id=args.tuner_id,
            worker_timeout=args.worker_timeout,
        )
    except ImportError as error:  # a missing optional dependency, before any trial
        print(f"lstm-apps tune: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as error:  # in the options' words
        raise reworded(error, options) from None
    table = result.table
    done = int((table["status"] == "COMPLETED").sum())
    print(f"{args.recipe} search ({result.role}) in {result.project_dir}: "
          f"{len(table)} trials, {done} completed.")
    if result.role == "worker":
        mine = table[table["tuner_id"] == result.tuner.tuner_id]["trial_id"].tolist()
        print(f"This worker ({result.tuner.tuner_id}) ran trials {mine}.")
    if result.best_trial_id is None:
        print("No trial completed.")
        return 0 if result.role == "worker" else 1
    hp_columns = [c for c in table.columns if c in result.best_hyperparameters
                  and not c.startswith("tuner/")]
    shown = result.summary(args.top)[
        ["trial_id", "score", *hp_columns, "duration_s", "tuner_id"]
    ]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"Best trial {result.best_trial_id}: {result.objective} = {result.best_score:.6g}")
    for name, path in result.paths.items():
        print(f"  {name}: {path}")
    return 0
