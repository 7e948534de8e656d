"""
Title: Forecasting a noisy seasonal series with an LSTM
Description: Fit the LSTM forecaster on a synthetic series whose best possible error is
known, and compare it with the naive, seasonal-naive, drift, AutoETS, AutoARIMA and Theta
baselines on the same test windows.

Run it with `python recipes/synthetic_forecasting.py` (one to two minutes on two CPU
cores); `LSTM_APPS_QUICK=1` shrinks every setting for a smoke test.
"""

"""
## Setup
"""

import os  # noqa: E402 (keras-io layout: imports under the Setup heading)

import numpy as np  # noqa: E402

from lstm_apps.data import timeseries as ts  # noqa: E402
from lstm_apps.recipes import forecast as fc  # noqa: E402

QUICK = os.environ.get("LSTM_APPS_QUICK", "0") == "1"

LENGTH = 400 if QUICK else 3000  # points of the synthetic series
HORIZON = 5 if QUICK else 10  # steps forecast at once (direct multi-output)
UNITS = 4 if QUICK else 32  # LSTM units
STEPS = 20 if QUICK else 600  # optimisation steps (batches of 64 windows)
STRIDE = 5 if QUICK else 1  # steps between the test origins
COMBINE = ("auto_ets",) if QUICK else ("auto_ets", "auto_arima", "theta")
CELL = "standard"  # any of `lstm-apps cells`, or "keras_lstm" / "gru"
OUTPUT_DIR = os.environ.get("LSTM_APPS_OUTPUT", "runs/recipes")

"""
## Load the data

`y_t = 0.1 t + 10 sin(2 pi t / 50) + e_t` with `e_t ~ N(0, 2^2)`: only the noise is
unpredictable, so no forecast can have an MAE below `2 * sqrt(2 / pi) ~ 1.596`.
"""

series = ts.synthetic_preset("default", length=LENGTH)
floor = ts.noise_floor_mae(series.attrs["noise_sigma"], HORIZON)
print(f"{len(series)} points from {series.index[0].date()} to {series.index[-1].date()}")
print(f"noise floor (MAE of the best possible forecast): {floor[0]:.4f}")

"""
## Build the configuration

One frozen dataclass holds every setting; it is checked when it is built. The lookback
and the season are chosen from the data (the season is the 50-day cycle: its seasonal
naive fits better than the weekly one of a daily index). The forecaster combines the
LSTM with the classical models in `COMBINE` (their median at each step; `combine_weights=
"equal"` takes their mean, `"calibrated"` weighs each by its errors on the end of the
training part); `combine=()`
is the LSTM alone.
"""

config = fc.ForecastConfig(
    length=LENGTH,
    horizon=HORIZON,
    cell=CELL,
    units=UNITS,
    steps=STEPS,
    stride=STRIDE,
    combine=COMBINE,
    output_dir=OUTPUT_DIR,
)
print(config)

"""
## Fit and evaluate

`run` fits the forecaster on the first 80% of the series, then forecasts from every
origin of the last 20% with only the data up to that origin, beside every baseline.
"""

result = fc.run(config)
print(result.summary().round(4))

mae = result.table.loc["mae"].drop("all")
print("\nMAE per horizon step, relative to the noise floor and to seasonal naive:")
print(
    np.round(
        np.stack([mae["model"] / floor, mae["model"] / mae["seasonal_naive"]]), 3
    )
)
print(f"interval coverage: {result.metrics['coverage']:.1%} (nominal 80%)")

"""
## Forecast the future

`forecast` returns a DataFrame indexed by the next timestamps, with the interval.
"""

future = fc.forecast(result.model, result.data)
print(future.round(3))
print(f"\nRun folder: {result.run_dir}")
