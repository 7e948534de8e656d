"""Time series for the forecasting recipe, under the names it has always had.

Each concept lives in its own module; this one re-exports them, so
`from lstm_apps.data import timeseries as ts` keeps working:

- `lstm_apps.data.synthetic`: seeded synthetic series whose best forecast is
  known (`synthetic`, `synthetic_preset`, `synthetic_components`, `PRESETS`,
  `optimal_forecasts`, `noise_floor_mae`).
- `lstm_apps.data.series`: user data in (`from_dataframe`, `read_csv`,
  `FILL_METHODS`) and what it tells (`infer_freq`, `infer_season`).
- `lstm_apps.data.windows`: splits and windows (`split_by_time`, `TimeSplit`,
  `fit_scaling`, `window_arrays`, `window_dataset`).
"""

from __future__ import annotations

from lstm_apps.data.series import FILL_METHODS, from_dataframe, infer_freq, infer_season, read_csv
from lstm_apps.data.synthetic import (
    PRESETS,
    noise_floor_mae,
    optimal_forecasts,
    synthetic,
    synthetic_components,
    synthetic_preset,
)
from lstm_apps.data.windows import (
    TimeSplit,
    fit_scaling,
    split_by_time,
    window_arrays,
    window_dataset,
)

__all__ = [
    "FILL_METHODS",
    "PRESETS",
    "TimeSplit",
    "fit_scaling",
    "from_dataframe",
    "infer_freq",
    "infer_season",
    "noise_floor_mae",
    "optimal_forecasts",
    "read_csv",
    "split_by_time",
    "synthetic",
    "synthetic_components",
    "synthetic_preset",
    "window_arrays",
    "window_dataset",
]
