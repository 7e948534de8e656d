"""`lstm-apps sentiment`: train and evaluate the IMDB sentiment recipe.

Every field of `SentimentConfig` is an option (`--max-len 300`,
`--no-bidirectional`, `--clipnorm none`); options left out keep the config's
defaults. The Keras progress bar shows while training (`--verbose 0` hides it).
Each run writes a fresh folder under `--output-dir` (default `runs/sentiment`),
named by `--run-name` (default: time stamp and cell); `--resume RUN_FOLDER`
continues an interrupted run.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from lstm_apps.commands._config_args import add_config_arguments, config_from_args, none_or
from lstm_apps.commands._fields import config_class_fields, light_value
from lstm_apps.commands._run_options import add_run_options, policy, resumed
from lstm_apps.recipes.registry import get_recipe

_RECIPE = get_recipe("sentiment")
_EXAMPLES = (
    "examples:\n"
    "  lstm-apps sentiment --data train.csv.gz --test-data test.csv.gz\n"
    "  lstm-apps sentiment --data ../shared/data/imdb --output-dir runs/imdb\n"
    "  lstm-apps sentiment --data reviews.csv --text-column review --label-column sentiment"
)


def config_overrides() -> dict[str, dict[str, Any]]:
    """Options whose choices, placeholder or default the config's fields do not give
    (`add_config_arguments`'s `overrides`; `lstm-apps tune sentiment` takes the choices)."""
    return {
        "data": {"metavar": "PATH"},
        "test_data": {"metavar": "PATH", "type": none_or(str)},
        "output_dir": {"metavar": "PATH", "help": "where run folders go",
                       "default": _RECIPE.output_dir},
        "pooling": {"choices": list(light_value(_RECIPE.module, "POOLINGS")), "metavar": None},
        "truncating": {"choices": ["pre", "post"], "metavar": None},
    }


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        _RECIPE.name,
        help=_RECIPE.summary,
        description=__doc__.split("\n\n")[0] + " Options not given keep the defaults shown.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser, config_class_fields(_RECIPE.module, _RECIPE.config),
                         overrides=config_overrides())
    parser.add_argument(
        "--run-name", default=None, metavar="RUN_NAME",
        help="run folder name (default: time stamp and cell)",
    )
    parser.add_argument(
        "--json", action="store_true", dest="print_json", help="print the metrics as JSON"
    )
    add_run_options(parser, _RECIPE.name)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lstm_apps import _runs

    if args.resume is not None:
        args = resumed(args, args._argv)
    output_dir = _runs.fresh_path(
        args.output_dir, args.run_name, _RECIPE.name, str(args.cell).lower()
    )
    config = config_from_args(_RECIPE.config_class(), args, output_dir=output_dir)
    with policy(args):
        result = _RECIPE.run(config)
    if args.print_json:
        print(json.dumps(result.metrics, indent=2, sort_keys=True))
        return 0
    m = result.metrics
    print(
        f"cell {m['cell']}: test accuracy {m['test_accuracy']:.4f}, ROC AUC "
        f"{m['test_auc']:.4f}, loss {m['test_loss']:.4f} on {m['test_samples']} reviews"
    )
    print(
        f"best epoch {m['best_epoch']} of {m['epochs_run']} (validation accuracy "
        f"{m['val_accuracy']:.4f}), {m['train_seconds'] / 60:.1f} min of training"
    )
    if "blend_weights" in m:  # an ensemble
        w = m["blend_weights"]
        print(
            f"each branch alone: LSTM {m['lstm_test_accuracy']:.4f}, n-gram "
            f"{m['ngram_test_accuracy']:.4f} test accuracy; blend weights LSTM "
            f"{w['lstm']:.3f}, n-gram {w['ngram']:.3f} (fitted on validation)"
        )
    elif "ngram_test_accuracy" in m:  # the LSTM trained on top of the n-gram branch
        print(
            f"the n-gram branch alone: {m['ngram_test_accuracy']:.4f} test accuracy "
            f"(the LSTM adds {m['test_accuracy'] - m['ngram_test_accuracy']:+.4f})"
        )
    for key, path in result.paths.items():
        print(f"  {key:<16} {path}")
    return 0
