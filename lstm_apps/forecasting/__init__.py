"""Forecasting: `LSTMForecaster`, baselines, metrics and per-series transforms.

Example:

>>> from lstm_apps import forecasting
>>> forecasting.LSTMForecaster(horizon=12).combine
('auto_ets', 'auto_arima', 'theta')
"""

from __future__ import annotations

from lstm_apps.forecasting.baselines import (
    CLASSICAL,
    SIMPLE,
    classical_forecasts,
    simple_forecasts,
)
from lstm_apps.forecasting.metrics import (
    coverage,
    mase_scale,
    metrics_table,
    pinball_loss,
    winkler_score,
)
from lstm_apps.forecasting.model import COMBINE_WEIGHTS, LSTMForecaster, interval_columns
from lstm_apps.forecasting.transforms import SeriesTransform, season_from_freq

__all__ = [
    "CLASSICAL",
    "COMBINE_WEIGHTS",
    "LSTMForecaster",
    "SIMPLE",
    "SeriesTransform",
    "classical_forecasts",
    "coverage",
    "interval_columns",
    "mase_scale",
    "metrics_table",
    "pinball_loss",
    "season_from_freq",
    "simple_forecasts",
    "winkler_score",
]
