"""Forecast quality: every cell against the noise floor, the baselines and ETS.

Part 1, the default synthetic series (`y_t = 0.1 t + 10 sin(2 pi t / 50) + N(0, 2^2)`,
3000 daily points, the last 20% for testing). Only the noise is unpredictable, so the
best possible forecast has MAE `sigma * sqrt(2 / pi) ~ 1.596` at every step (the
"floor"). For each cell (default settings of `lstm-apps forecast`), per horizon step:

- `floor`: model MAE / the theoretical floor;
- `oracle`: model MAE / the MAE of the true trend + seasonality on the same test
  windows (the realised floor: free of the luck of the test noise);
- `snaive`: model MAE / seasonal-naive MAE;
- `ets`: model MAE / ETS MAE (Holt-Winters, additive, fitted on the training part).

Target: within 2% of the floor at every step (max `floor` and `oracle` <= 1.02) and
below every baseline (`snaive`, `ets` < 1 and the same for naive and drift).

Part 2, real series shipped with statsmodels (needs the `stats` extra): weekly
Mauna Loa CO2 (`statsmodels.datasets.co2`, gaps interpolated) and yearly sunspots
(`statsmodels.datasets.sunspots`). MASE (scaled by the in-sample seasonal-naive MAE of
the training part) of the model, naive, seasonal naive, drift and ETS on the test part.

Usage:

    python benchmarks/bench_forecast.py                     # ~6 min on 2 CPU cores
    python benchmarks/bench_forecast.py --cells standard gru --no-real
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
        overrides = dict(length=500, lookback=30, horizon=5, units=8, epochs=1) if quick else {}
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
            "ets": (mae["model"] / mae["ets"]).to_numpy() if "ets" in mae else np.nan,
        })
        per_step.append(frame)
        baselines = [b for b in ("naive", "seasonal_naive", "drift", "ets") if b in mae]
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


def real_series() -> dict[str, tuple[pd.Series, dict]]:
    """The statsmodels series and the settings used for each."""
    from statsmodels import datasets

    co2 = datasets.co2.load_pandas().data["co2"]
    co2.index = pd.DatetimeIndex(co2.index, name="date")
    spots = datasets.sunspots.load_pandas().data
    sunspots = pd.Series(
        spots["SUNACTIVITY"].to_numpy(),
        index=pd.DatetimeIndex(
            pd.to_datetime(spots["YEAR"].astype(int).astype(str), format="%Y"), name="year"
        ),
        name="sunactivity",
    )
    return {
        # weekly, ~44 years: two years of input, a quarter ahead
        "co2": (co2.rename("co2"), dict(lookback=104, horizon=13, fill="interpolate")),
        # yearly, 309 years: four cycles of input, 5 years ahead
        "sunspots": (sunspots, dict(lookback=44, horizon=5, units=16, val_size=0.15)),
    }


def real_part(cell: str, quick: bool, seed: int) -> pd.DataFrame:
    from lstm_apps.recipes import forecast as fc

    rows = []
    for name, (series, settings) in real_series().items():
        overrides = dict(epochs=1, units=8) if quick else {}
        config = fc.ForecastConfig(
            cell=cell, seed=seed, output_dir=None, plots=False, **{**settings, **overrides}
        )
        started = time.perf_counter()
        result = fc.run(config, series)
        seconds = time.perf_counter() - started
        overall = result.summary()
        row = {"series": name, "points": len(result.data), "season": result.season,
               "horizon": config.horizon}
        for column in overall.columns:
            row[column] = overall.loc["mase", column]
        row["seconds"] = round(seconds, 1)
        rows.append(row)
        print(f"  {name}: model MASE {row['model']:.3f}, {seconds:.0f} s", flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", default=list(DEFAULT_CELLS),
                        help=f"cells to compare (default: {' '.join(DEFAULT_CELLS)})")
    parser.add_argument("--real-cell", default="standard",
                        help="cell used on the real series (default: standard)")
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the statsmodels series (default: on)")
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
    print("Part 1: default synthetic series (model MAE ratios, per horizon step)", flush=True)
    per_step, summary = synthetic_part(args.cells, args.quick, args.seed)
    for ratio in ("floor", "oracle", "snaive", "ets"):
        table = per_step.pivot(index="cell", columns="step", values=ratio).loc[args.cells]
        print(f"\nmodel MAE / {ratio} MAE, per step:")
        print(table.to_string(**fmt))
    print("\nSummary (target: max floor and max oracle <= 1.02, below every baseline; "
          "`seconds` of the default job, the standard cell, at most 120):")
    print(summary.to_string(index=False, **fmt))

    real = None
    if args.real:
        try:
            import statsmodels  # noqa: F401
        except ImportError:
            print("\nPart 2 skipped: statsmodels is not installed (pip install lstm-apps[stats]).")
        else:
            print(f"\nPart 2: statsmodels series, MASE on the test part ({args.real_cell})",
                  flush=True)
            real = real_part(args.real_cell, args.quick, args.seed)
            print(real.to_string(index=False, **fmt))
    print(f"\nTotal {time.perf_counter() - started:.0f} s")
    if args.out:
        _io.write_json(args.out, {
            "per_step": per_step.to_dict(orient="records"),
            "summary": summary.to_dict(orient="records"),
            "real": None if real is None else real.to_dict(orient="records"),
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
