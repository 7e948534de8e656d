"""`lstm-apps memory`: can the cells carry information across long sequences?

Trains each cell (and `keras.layers.SimpleRNN`) on the adding problem (or a
recall task) at several sequence lengths, with the forget-gate bias
initialised to 1 and to 0, and prints which models solve it and how their
forget gate holds the information. Every field of `MemoryConfig` is an
option (`lstm-apps memory --help`).
"""

from __future__ import annotations

import argparse

from lstm_apps.commands._config_args import (
    add_config_arguments,
    config_from_args,
    deprecated_alias,
)
from lstm_apps.commands._fields import config_class_fields
from lstm_apps.commands._run_options import add_run_options, policy, resumed
from lstm_apps.recipes.registry import get_recipe

_RECIPE = get_recipe("memory")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        _RECIPE.name,
        help=_RECIPE.summary,
        description=(
            "Trains each model on a long-dependency task (the first relevant value sits "
            "among the first 10 steps, the answer is due at the end) at each sequence "
            "length, and reports whether it solves the task (test MSE below "
            "solved_ratio x the trivial baseline's) and how its forget gate holds the "
            "information (mean forget gate, and retention: the product of the forget "
            "gate of the best-holding unit from the marker to the end)."
        ),
        epilog=(
            "examples:\n"
            "  lstm-apps memory\n"
            "  lstm-apps memory --lengths 50 100 200 400 --cells standard peephole "
            "simple_rnn --epochs 60\n"
            "  lstm-apps memory --task recall --unit-forget-bias on"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser, config_class_fields(_RECIPE.module, _RECIPE.config),
                         overrides={"output_dir": {"default": _RECIPE.output_dir}})
    deprecated_alias(parser, "--progress", "--verbose")
    add_run_options(parser, _RECIPE.name)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        args = resumed(args, args._argv)
    config = config_from_args(_RECIPE.config_class(), args)
    print(
        f"{config.task} task, lengths {list(config.lengths)}, models "
        f"{[label for label, _, _ in config.models()]}: training "
        f"{len(config.lengths) * len(config.models())} models..."
    )
    with policy(args):
        result = _RECIPE.run(config)
    table = result.results[
        ["length", "model", "test_mse", "ratio", "solved", "epochs", "seconds",
         "forget_mean", "retention"]
    ]
    print(f"\nTrivial baseline (predict the mean): MSE "
          f"{result.results['baseline_mse'].iloc[0]:.4g}; solved = test MSE < "
          f"{config.solved_ratio:g} x baseline.")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print("\nSolved:")
    print(result.solved().to_string())
    if result.run_dir is not None:
        print(f"\nRun folder: {result.run_dir}")
    return 0
