"""The base of the recipe configs: the settings every run has, written and checked once.

A recipe's config is a frozen dataclass whose every field is an option of
its `lstm-apps` command: `config_field` gives a field the help text the
command line shows (`lstm_apps.commands._config_args` reads it), and
`RunConfig` holds the fields of the run itself (seed, run folder, figures,
Keras output). A recipe subclasses it, redefines `output_dir` with its own
default (`output_dir_field`) and `run_name` with how its folders are named
(`run_name_field`), and calls `super().__post_init__()` from its own checks.

Like the recipes' config classes, this module's class statements need only
the standard library: `lstm-apps RECIPE --help` reads them from the source
without importing Keras (`lstm_apps.commands._fields`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from lstm_apps._validation import check_bool, check_int, check_text, invalid_message

__all__ = ["RUN_SETTING", "RunConfig", "config_field", "output_dir_field", "run_name_field"]

#: The metadata key that marks the fields of `RunConfig`: the command line lists
#: them after the recipe's own options (`lstm_apps.commands._config_args`).
RUN_SETTING = "run_setting"

_OUTPUT_DIR_HELP = "where run folders go (none: write nothing)"


def config_field(help: str, *, choices: Iterable[Any] | None = None, **kwargs: Any) -> Any:
    """A config field with its command-line help: `dataclasses.field(metadata={"help": help})`.

    Args:
        help: What the option's help says (the command line adds the default).
        choices: The values the option accepts, listed by `--help` and checked
            by argparse (kept in the metadata as given).
        **kwargs: The other arguments of `dataclasses.field` (`default`,
            `default_factory`, `kw_only`, ...).

    Example:

    >>> from lstm_apps.recipes._base import config_field
    >>> dict(config_field("units per layer", default=8).metadata)
    {'help': 'units per layer'}
    >>> dict(config_field("task", choices=("adding", "recall"), default="adding").metadata)
    {'help': 'task', 'choices': ('adding', 'recall')}
    """
    metadata = {"help": help} if choices is None else {"help": help, "choices": choices}
    return dataclasses.field(metadata=metadata, **kwargs)


def _run_field(help: str, **kwargs: Any) -> Any:
    """A keyword-only field of `RunConfig` (marked `RUN_SETTING`)."""
    metadata = {"help": help, RUN_SETTING: True}
    return dataclasses.field(metadata=metadata, kw_only=True, **kwargs)


def output_dir_field(default: str | None) -> Any:
    """The `output_dir` field of a recipe whose run folders go under `default` (None: none)."""
    return _run_field(_OUTPUT_DIR_HELP, default=default)


def run_name_field(named_by: str) -> Any:
    """The `run_name` field of a recipe whose folders are named by a time stamp and `named_by`."""
    return _run_field(f"run folder name (default: time stamp and {named_by})", default=None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Settings every recipe run has: the base class of the recipe configs.

    The fields are keyword-only. A dataclass lists them before the recipe's
    own (in `dataclasses.fields`, the repr and `config.json`); `lstm-apps
    RECIPE --help` lists them after the recipe's options.

    Args:
        seed: Random seed of the run (an integer >= 0).
        output_dir: Where run folders go; None writes nothing. Each recipe
            sets its own default (`output_dir_field`).
        run_name: The run folder's name (default: a time stamp and the
            recipe's choice, `run_name_field`).
        plots: Write figures to the run folder's `plots/`.
        verbose: Keras progress output: 0 silent, 1 progress bar, 2 one line
            per epoch.

    Raises:
        ValueError: A value out of range (`seed` < 0, `verbose` not 0, 1 or
            2, an empty `output_dir` or `run_name`).
        lstm_apps._validation.WrongTypeError: A value of the wrong type.

    Example:

    >>> import dataclasses
    >>> from lstm_apps.recipes._base import RunConfig, config_field, output_dir_field
    >>> @dataclasses.dataclass(frozen=True)
    ... class ToyConfig(RunConfig):
    ...     units: int = config_field("units of the layer", default=8)
    ...     output_dir: str | None = output_dir_field("runs/toy")
    >>> ToyConfig(seed=3)
    ToyConfig(seed=3, output_dir='runs/toy', run_name=None, plots=True, verbose=0, units=8)
    >>> ToyConfig(verbose=3)
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `verbose`, expected 0, 1 or 2, got 3.
    """

    seed: int = _run_field("random seed of the run", default=0)
    output_dir: str | None = _run_field(_OUTPUT_DIR_HELP)
    run_name: str | None = _run_field("run folder name (default: time stamp)", default=None)
    plots: bool = _run_field("write figures to plots/", default=True)
    verbose: int = _run_field("Keras progress output: 0 silent, 1 bar, 2 one line/epoch", default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", check_int("seed", self.seed, 0))
        verbose = check_int("verbose", self.verbose, 0)
        if verbose > 2:
            raise ValueError(invalid_message("verbose", "0, 1 or 2", verbose))
        object.__setattr__(self, "verbose", verbose)
        for name in ("output_dir", "run_name"):
            check_text(name, getattr(self, name), optional=True)
        object.__setattr__(self, "plots", check_bool("plots", self.plots))
