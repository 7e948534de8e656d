"""`lstm-apps forecast`: train a forecaster, compare it with the baselines, print the table.

With no arguments it runs the default synthetic job (a 0.1 t trend, a
period-50 sine of amplitude 10 and noise sigma 2; about a minute on two CPU
cores). `--csv FILE --date-col DATE --target COL` forecasts user data;
`--folds K` runs a rolling-origin backtest instead of a single run. Every
field of `ForecastConfig` is an option (`lstm-apps forecast --help`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lstm_apps.commands._config_args import (
    add_config_arguments,
    config_from_args,
    deprecated_alias,
    number,
)
from lstm_apps.commands._fields import config_class_fields
from lstm_apps.commands._run_options import add_run_options, policy, resumed
from lstm_apps.recipes.registry import get_recipe

_RECIPE = get_recipe("forecast")


def config_overrides() -> dict[str, dict[str, Any]]:
    """Options whose parsing or default differs from the field's own
    (`add_config_arguments`'s `overrides`; `lstm-apps tune forecast` takes the parsing)."""
    return {
        "test_size": {"type": number},  # a fraction or a number of points
        "output_dir": {"default": _RECIPE.output_dir},
        # the config's 0 would hide the progress of a long default run
        "verbose": {"default": None, "shown_default": "1 on a terminal, else 2"},
    }


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        _RECIPE.name,
        help=_RECIPE.summary,
        description=(
            "Fits an LSTMForecaster (any lstm_apps cell, keras_lstm or gru; by default "
            "combined with AutoETS, AutoARIMA and Theta by their median, with conformal "
            "intervals) on the "
            "data before the test part, scores it and the naive, seasonal-naive, drift, "
            "AutoETS, AutoARIMA and Theta baselines from every test origin, and writes a "
            "run folder (forecaster/, metrics.json, predictions.csv, forecast.csv, "
            "history.csv, config.json, tb/, plots/). Without arguments: the default "
            "synthetic series."
        ),
        epilog=(
            "examples:\n"
            "  lstm-apps forecast\n"
            "  lstm-apps forecast --cell peephole --horizon 24\n"
            "  lstm-apps forecast --csv sales.csv --date-col day --target sales "
            "--covariates price\n"
            "  lstm-apps forecast --combine none      # the LSTM alone\n"
            "  lstm-apps forecast --folds 3"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser, config_class_fields(_RECIPE.module, _RECIPE.config),
                         overrides=config_overrides())
    deprecated_alias(parser, "--progress", "--verbose")
    parser.add_argument(
        "--folds", type=int, default=0, metavar="FOLDS",
        help="run a rolling-origin backtest with this many folds instead (default: 0, a "
        "single run)",
    )
    add_run_options(parser, _RECIPE.name)
    parser.set_defaults(func=run)


def interrupted_message(args: argparse.Namespace) -> str:
    """The line printed on Ctrl-C: the run (or the backtest) and how to resume it."""
    from lstm_apps import _runs
    from lstm_apps.commands._run_options import interrupted_message as run_message

    folder = _runs.current()
    if not getattr(args, "folds", 0) or folder is None:
        return run_message("forecast")
    base = folder.parent if folder.name.startswith("fold_") else folder
    return (
        f"lstm-apps forecast: interrupted (Ctrl-C); the partial backtest is in {base}; "
        f"resume it with: lstm-apps forecast --resume {base}"
    )


def _format(frame: Any) -> str:
    return frame.to_string(float_format=lambda v: f"{v:.4g}")


def run(args: argparse.Namespace) -> int:
    if args.resume is not None:  # a single run or a backtest (its saved --folds)
        args = resumed(args, args._argv)
    if args.verbose is None:
        args.verbose = 1 if sys.stdout.isatty() else 2
    if args.folds < 0:
        raise ValueError(f"Received --folds {args.folds}, expected a number >= 0.")
    config = config_from_args(_RECIPE.config_class(), args)
    with policy(args):
        return _run(args, config)


def _run(args: argparse.Namespace, config: Any) -> int:
    if args.folds:
        frame = _RECIPE.load().backtest(config, folds=args.folds)
        overall = frame.xs("all", level="step")
        print(f"\nBacktest, {args.folds} folds (test blocks end at the end of the series):")
        print(_format(overall.drop(index="mean", level="fold")))
        print("\nMean over folds:")
        print(_format(overall.xs("mean", level="fold")))
        if frame.attrs.get("run_dir"):
            print(f"\nRun folder: {frame.attrs['run_dir']}")
        return 0

    result = _RECIPE.run(config)
    m = result.metrics
    data = m["data"]
    print(
        f"\n{config.cell} forecaster, horizon {config.horizon}, lookback {m['lookback']}; "
        f"data {data['source']} ({data['length']} points, {data['start'][:10]} .. "
        f"{data['end'][:10]}); {m['windows']['test']} test windows from "
        f"{data['test_start'][:10]}; season {m['season']} ({m['season_source']}); "
        f"fitted in {m['train_seconds']:.0f} s."
    )
    print("\nTest metrics, model vs baselines (lower is better; sMAPE in %):")
    print(_format(result.summary()))
    print("\nMAE per horizon step:")
    print(_format(result.table.loc["mae"].drop("all").T))
    if "oracle" in result.table.columns:
        print(
            "('oracle' is the true trend + seasonality of the synthetic series: the best "
            "possible forecast, not a baseline.)"
        )
    if "coverage" in m:
        print(
            f"\n{m['interval_level']:.0%} prediction intervals ({m['interval_method']}): "
            f"empirical coverage {m['coverage']:.1%} on the test windows, mean width "
            f"{m['interval_width']:.4g}, Winkler score {m['winkler']:.4g}."
        )
    beaten = [k for k, v in m["beats_baselines"].items() if v]
    print(f"Model below every baseline on: {', '.join(beaten) if beaten else 'none'}.")
    if result.run_dir is not None:
        print(f"\nRun folder: {result.run_dir}")
    return 0
