"""
Title: Forecasting a noisy seasonal series with an LSTM
Description: Train a direct multi-step LSTM forecaster on a synthetic series whose best
possible error is known, and compare it with the naive, seasonal-naive, drift and ETS
baselines.

Run it with `python recipes/synthetic_forecasting.py` (about a minute on two CPU cores);
`LSTM_APPS_QUICK=1` shrinks every setting for a smoke test.
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
LOOKBACK = 30 if QUICK else 100  # input window: two periods of the sine
HORIZON = 5 if QUICK else 10  # steps forecast at once (direct multi-output)
UNITS = 4 if QUICK else 32  # LSTM units
EPOCHS = 1 if QUICK else 30  # at most; early stopping usually ends sooner
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

One frozen dataclass holds every setting; it is checked when it is built. The model
normalises each input window by its level inside the network, so the saved model takes
raw values.
"""

config = fc.ForecastConfig(
    length=LENGTH,
    lookback=LOOKBACK,
    horizon=HORIZON,
    cell=CELL,
    units=UNITS,
    epochs=EPOCHS,
    output_dir=OUTPUT_DIR,
)
print(config)

"""
## Train and evaluate

`run` splits the series in time (70% train, 10% validation, 20% test), trains, then
scores the model and every baseline on the same test windows.
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
