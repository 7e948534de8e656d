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
import dataclasses
import json

from lstm_apps.commands._run_options import add_run_options, policy, resumed

#: Where run folders go (`--output-dir`).
_OUTPUT_DIR = "runs/sentiment"
_EXAMPLES = (
    "examples:\n"
    "  lstm-apps sentiment --data train.csv.gz --test-data test.csv.gz\n"
    "  lstm-apps sentiment --data ../shared/data/imdb --output-dir runs/imdb\n"
    "  lstm-apps sentiment --data reviews.csv --text-column review --label-column sentiment"
)

# `SentimentConfig` field -> how its option parses; read from the annotations
# without importing Keras, so that `lstm-apps --help` stays fast.
_NONE = ("none", "null", "off")


def _optional(kind: type):
    def parse(text: str):
        if text.lower() in _NONE:
            return None
        return kind(text)

    parse.__name__ = f"{kind.__name__} or none"
    return parse


def _fields() -> list[tuple[str, str, object, str]]:
    """(name, annotation, default, help) of every SentimentConfig field."""
    from lstm_apps.recipes import sentiment

    return [
        (f.name, str(f.type), f.default, f.metadata.get("help", ""))
        for f in dataclasses.fields(sentiment.SentimentConfig)
    ]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sentiment",
        help="train an LSTM on IMDB reviews from raw text",
        description=__doc__.split("\n\n")[0] + " Options not given keep the defaults shown.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name, annotation, default, text in _fields():
        if name == "output_dir":
            text, default = "where run folders go", _OUTPUT_DIR
        flag = "--" + name.replace("_", "-")
        kwargs: dict = {
            "dest": name,
            "default": argparse.SUPPRESS,
            "help": f"{text} (default: {default})",
        }
        if annotation == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif annotation in ("int", "float"):
            kwargs["type"] = {"int": int, "float": float}[annotation]
            kwargs["metavar"] = annotation.upper()
        elif annotation in ("int | None", "float | None"):
            kwargs["type"] = _optional(int if annotation.startswith("int") else float)
            kwargs["metavar"] = annotation.split()[0].upper() + "|none"
        else:
            kwargs["metavar"] = "PATH" if name in ("data", "test_data", "output_dir") else "TEXT"
        parser.add_argument(flag, **kwargs)
    parser.add_argument(
        "--run-name", default=None, metavar="NAME",
        help="run folder name (default: time stamp and cell)",
    )
    parser.add_argument(
        "--json", action="store_true", dest="print_json", help="print the metrics as JSON"
    )
    add_run_options(parser, "sentiment")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lstm_apps import _runs
    from lstm_apps.recipes import sentiment

    if args.resume is not None:
        args = resumed(args, args._argv)
    names = {f.name for f in dataclasses.fields(sentiment.SentimentConfig)}
    settings = {k: v for k, v in vars(args).items() if k in names}
    settings["output_dir"] = _runs.fresh_path(
        settings.get("output_dir", _OUTPUT_DIR), args.run_name, "sentiment",
        str(settings.get("cell", "standard")).lower(),
    )
    config = sentiment.SentimentConfig(**settings)
    with policy(args):
        result = sentiment.run(config)
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
    for key, path in result.paths.items():
        print(f"  {key:<16} {path}")
    return 0
