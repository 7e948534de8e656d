"""Forecast accuracy: point metrics (MAE, RMSE, MASE, sMAPE) and interval scores.

Point metrics follow the M4 competition: MASE divides the MAE by the
in-sample MAE of the seasonal-naive forecast on the training part, so it
compares series of any level; sMAPE is in percent (0-200). Interval metrics:
empirical coverage, the Winkler (interval) score of Winkler (1972), which adds
`2 / alpha` times the miss to the width, and the pinball (quantile) loss of
each bound.

Undefined values (a MASE on a constant series, whose in-sample error is 0)
are NaN here and become `null` in JSON files (`lstm_apps._io.write_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "METRICS",
    "coverage",
    "mase_scale",
    "metrics_table",
    "pinball_loss",
    "winkler_score",
]

#: The point metrics of `metrics_table`, in its row order.
METRICS = ("mae", "rmse", "mase", "smape")


def mase_scale(train: np.ndarray, season: int | None = None) -> float:
    """The MASE denominator: in-sample MAE of the seasonal-naive forecast.

    Args:
        train: The training values of the series.
        season: Seasonal period (None or 1: the naive forecast, lag 1). A
            season as long as the series falls back to lag 1.

    Returns:
        The scale, or NaN when it is 0 or undefined (a constant series).

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.metrics import mase_scale
    >>> float(mase_scale(np.array([1.0, 2.0, 4.0, 7.0])))
    2.0
    """
    train = np.asarray(train, dtype="float64").ravel()
    m = season if season and 1 < season < len(train) else 1
    if len(train) <= m:
        return float("nan")
    scale = float(np.mean(np.abs(train[m:] - train[:-m])))
    return scale if scale > 0 else float("nan")


def metrics_table(
    actual: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
    train: np.ndarray,
    season: int | None = None,
) -> pd.DataFrame:
    """MAE, RMSE, MASE and sMAPE of several forecasters, overall and per step.

    Args:
        actual: True values `(windows, horizon)`.
        forecasts: Forecaster name -> forecasts of the same shape.
        train: The training part of the target (for the MASE scale: the
            in-sample MAE of the seasonal-naive forecast, lag `season`).
        season: Seasonal period of the MASE scale (None or 1: lag 1).

    Returns:
        A DataFrame with index `(metric, step)` (step "all", then 1..horizon)
        and one column per forecaster; sMAPE is in percent (0-200).

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.metrics import metrics_table
    >>> table = metrics_table(np.ones((4, 2)), {"a": np.zeros((4, 2))}, np.arange(5.0))
    >>> table.loc[("mae", "all"), "a"], table.loc[("mase", 2), "a"], table.loc[("smape", 1), "a"]
    (np.float64(1.0), np.float64(1.0), np.float64(200.0))
    """
    actual = np.asarray(actual, dtype="float64")
    scale = mase_scale(train, season)
    horizon = actual.shape[1]
    steps: list[Any] = ["all", *range(1, horizon + 1)]
    columns = {}
    for name, pred in forecasts.items():
        pred = np.asarray(pred, dtype="float64")
        if pred.shape != actual.shape:
            raise ValueError(
                f"Received forecasts {name!r} of shape {pred.shape}, expected the shape of "
                f"`actual`, {actual.shape}."
            )
        err = actual - pred
        denom = np.abs(actual) + np.abs(pred)
        ape = np.where(denom > 0, 2.0 * np.abs(err) / np.where(denom > 0, denom, 1.0), 0.0)
        absolute = np.abs(err)
        rows = {
            "mae": (absolute.mean(), absolute.mean(axis=0)),
            "rmse": (np.sqrt((err**2).mean()), np.sqrt((err**2).mean(axis=0))),
            "mase": (absolute.mean() / scale, absolute.mean(axis=0) / scale),
            "smape": (100.0 * ape.mean(), 100.0 * ape.mean(axis=0)),
        }
        columns[name] = [v for metric in METRICS for v in (rows[metric][0], *rows[metric][1])]
    index = pd.MultiIndex.from_tuples(
        [(metric, step) for metric in METRICS for step in steps], names=["metric", "step"]
    )
    return pd.DataFrame(columns, index=index)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Fraction of `actual` values inside `[lower, upper]`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.metrics import coverage
    >>> coverage(np.array([1.0, 5.0]), np.array([0.0, 0.0]), np.array([2.0, 2.0]))
    0.5
    """
    actual = np.asarray(actual, dtype="float64")
    return float(np.mean((actual >= lower) & (actual <= upper)))


def winkler_score(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float
) -> float:
    """Mean Winkler score of central intervals of nominal coverage `level`.

    The width of the interval plus `2 / alpha` times the distance by which
    a value falls outside it (`alpha = 1 - level`); lower is better.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.metrics import winkler_score
    >>> round(winkler_score(np.array([1.0, 3.0]), np.zeros(2), np.full(2, 2.0), level=0.8), 6)
    7.0
    """
    actual = np.asarray(actual, dtype="float64")
    lower, upper = np.asarray(lower, dtype="float64"), np.asarray(upper, dtype="float64")
    alpha = 1.0 - level
    below = np.maximum(lower - actual, 0.0)
    above = np.maximum(actual - upper, 0.0)
    return float(np.mean(upper - lower + (2.0 / alpha) * (below + above)))


def pinball_loss(actual: np.ndarray, quantile_forecast: np.ndarray, q: float) -> float:
    """Mean pinball (quantile) loss of a forecast of the `q` quantile.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.metrics import pinball_loss
    >>> pinball_loss(np.array([1.0, 0.0]), np.array([0.0, 1.0]), q=0.9)
    0.5
    """
    diff = np.asarray(actual, dtype="float64") - np.asarray(quantile_forecast, dtype="float64")
    return float(np.mean(np.maximum(q * diff, (q - 1.0) * diff)))
