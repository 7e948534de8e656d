"""`lstm-apps forecast`: train a forecaster, compare it with the baselines, print the table.

With no arguments it runs the default synthetic job (a 0.1 t trend, a
period-50 sine of amplitude 10 and noise sigma 2; about a minute on two CPU
cores). `--csv FILE --date-col DATE --target COL` forecasts user data;
`--folds K` runs a rolling-origin backtest instead of a single run. Every
field of `ForecastConfig` is an option (`lstm-apps forecast --help`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Callable
from typing import Any

from lstm_apps.commands._run_options import add_run_options, policy, resumed

# Config fields that the command sets itself (not one option each).
_SKIP = {"verbose"}


def _none_or(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.lower() in ("none", "null", "") else kind(text)

    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def _number(text: str) -> int | float:
    """An int when the text is one (a count of points), else a float (a fraction)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def add_config_arguments(
    parser: argparse.ArgumentParser, config_cls: type, skip: set[str] = frozenset()
) -> None:
    """Adds one option per field of a config dataclass (help from field metadata).

    `bool` fields become `--name/--no-name`, tuples take several values,
    `X | None` fields also accept "none", and fields with `choices` metadata
    are restricted to them.
    """
    hints = typing.get_type_hints(config_cls)
    defaults = config_cls()
    for field in dataclasses.fields(config_cls):
        if field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = hints[field.name]
        default = getattr(defaults, field.name)
        meta = field.metadata
        text = meta.get("help", "")
        options: dict[str, Any] = {"default": default, "dest": field.name}
        args = typing.get_args(kind)
        optional = type(None) in args
        base = next((a for a in args if a is not type(None)), kind) if args else kind
        if typing.get_origin(kind) is tuple or typing.get_origin(base) is tuple:
            options.update(nargs="*", metavar="NAME")
            options["type"] = str
        elif base is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif field.name == "test_size":
            options["type"] = _number
        elif base in (int, float, str):
            options["type"] = _none_or(base) if optional else base
        if "choices" in meta:
            options["choices"] = list(meta["choices"])
        shown = "none" if default is None else default
        if isinstance(default, tuple):
            shown = " ".join(default) or "none"
        if "default" in text:
            options["help"] = text
        else:
            options["help"] = f"{text} (default: {shown})" if text else f"(default: {shown})"
        parser.add_argument(flag, **options)


def config_from_args(config_cls: type, args: argparse.Namespace, **extra: Any) -> Any:
    """Builds a config dataclass from the parsed options (plus `extra` fields)."""
    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(config_cls)
        if hasattr(args, f.name) and f.name not in extra
    }
    for name in ("covariates", "combine"):
        if name in values:
            values[name] = tuple(v for v in values[name] or () if v.lower() != "none")
    return config_cls(**values, **extra)


def register(sub: argparse._SubParsersAction) -> None:
    from lstm_apps.recipes.forecast import ForecastConfig

    parser = sub.add_parser(
        "forecast",
        help="forecast a time series with an LSTM and compare it with baselines",
        description=(
            "Fits an LSTMForecaster (any lstm_apps cell, keras_lstm or gru; by default "
            "averaged with AutoETS, AutoARIMA and Theta, with conformal intervals) on the "
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
    add_config_arguments(parser, ForecastConfig, skip=_SKIP)
    parser.add_argument(
        "--folds", type=int, default=0,
        help="run a rolling-origin backtest with this many folds instead (default: off)",
    )
    parser.add_argument(
        "--progress", type=int, choices=(0, 1, 2), default=None,
        help="Keras training output: 0 none, 1 progress bar, 2 one line per epoch "
        "(default: 1 on a terminal, else 2)",
    )
    add_run_options(parser, "forecast")
    parser.set_defaults(func=run)


def interrupted_message(args: argparse.Namespace) -> str:
    """The line printed on Ctrl-C: a backtest does not resume, a single run does."""
    from lstm_apps import _runs
    from lstm_apps.commands._run_options import interrupted_message as run_message

    folder = _runs.current()
    if not getattr(args, "folds", 0) or folder is None:
        return run_message("forecast")
    base = folder.parent if folder.name.startswith("fold_") else folder
    return (
        f"lstm-apps forecast: interrupted (Ctrl-C); the partial backtest is in {base}; "
        "a backtest does not resume: run it again (with --overwrite for a --run-name)."
    )


def _format(frame: Any) -> str:
    return frame.to_string(float_format=lambda v: f"{v:.4g}")


def run(args: argparse.Namespace) -> int:
    from lstm_apps.recipes import forecast as fc

    if args.resume is not None:
        if args.folds:
            raise ValueError(
                f"Received --resume with --folds {args.folds}: a backtest does not resume; "
                "rerun it with --overwrite."
            )
        args = resumed(args, args._argv)
    progress = args.progress
    if progress is None:
        progress = 1 if sys.stdout.isatty() else 2
    config = config_from_args(fc.ForecastConfig, args, verbose=progress)
    if args.folds < 0:
        raise ValueError(f"Received --folds {args.folds}, expected a number >= 0.")
    with policy(args):
        return _run(args, config)


def _run(args: argparse.Namespace, config: Any) -> int:
    from lstm_apps.recipes import forecast as fc

    if args.folds:
        frame = fc.backtest(config, folds=args.folds)
        overall = frame.xs("all", level="step")
        print(f"\nBacktest, {args.folds} folds (test blocks end at the end of the series):")
        print(_format(overall.drop(index="mean", level="fold")))
        print("\nMean over folds:")
        print(_format(overall.xs("mean", level="fold")))
        if frame.attrs.get("run_dir"):
            print(f"\nRun folder: {frame.attrs['run_dir']}")
        return 0

    result = fc.run(config)
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
