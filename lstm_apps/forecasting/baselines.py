"""Baselines that every forecast is compared with, on the same origins.

- Simple: naive (last value), seasonal naive (the value one season back),
  drift (last value plus the average slope of the history).
- Classical, automatic: `auto_ets` (exponential smoothing with the error,
  trend and season forms chosen by AICc), `auto_arima` (Hyndman-Khandakar
  stepwise search) and `theta` (the Theta method of Assimakopoulos &
  Nikolopoulos, 2000, with classical multiplicative deseasonalisation), all
  from statsforecast: maintained, fast (numba), and following R's `forecast`
  package, which is what the forecasting literature reports.

Each baseline sees the whole history up to each origin and, for the
classical models, is refitted there, as in a rolling-origin evaluation.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = ["CLASSICAL", "SIMPLE", "classical_forecast", "classical_forecasts", "simple_forecasts"]

logger = logging.getLogger(__name__)

#: Names of the simple baselines of `simple_forecasts`.
SIMPLE = ("naive", "seasonal_naive", "drift")
#: Names of the automatic classical models of `classical_forecasts`.
CLASSICAL = ("auto_ets", "auto_arima", "theta")


def _check_origins(y: np.ndarray, origins: Sequence[int] | np.ndarray) -> np.ndarray:
    origins = np.asarray(origins, dtype=int).ravel()
    if origins.size and (origins.min() < 0 or origins.max() >= len(y)):
        raise ValueError(
            f"Received origins from {origins.min()} to {origins.max()}, expected positions "
            f"in the series (0 to {len(y) - 1})."
        )
    return origins


def simple_forecasts(
    y: np.ndarray, origins: Sequence[int] | np.ndarray, horizon: int, season: int | None = None
) -> dict[str, np.ndarray]:
    """Naive, seasonal-naive and drift forecasts from each origin.

    Args:
        y: The series.
        origins: Position of the last observed value of each forecast.
        horizon: Steps ahead.
        season: Seasonal period (None or 1: seasonal naive is naive).

    Returns:
        A dict from baseline name to an array `(len(origins), horizon)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.baselines import simple_forecasts
    >>> out = simple_forecasts(np.arange(10.0), [4, 5], horizon=2, season=2)
    >>> out["naive"].tolist(), out["seasonal_naive"].tolist(), out["drift"].tolist()
    ([[4.0, 4.0], [5.0, 5.0]], [[3.0, 4.0], [4.0, 5.0]], [[5.0, 6.0], [6.0, 7.0]])
    """
    y = np.asarray(y, dtype="float64").ravel()
    origins = _check_origins(y, origins)
    steps = np.arange(1, horizon + 1)
    m = season if season and season > 1 else 1
    if origins.size and origins.min() < m - 1:
        raise ValueError(
            f"Received origins from {origins.min()}, but seasonal naive with season {m} "
            f"needs origins >= {m - 1}."
        )
    last = y[origins][:, None]
    lag = m * np.ceil(steps / m).astype(int)
    slope = np.where(origins > 0, (y[origins] - y[0]) / np.maximum(origins, 1), 0.0)
    return {
        "naive": np.repeat(last, horizon, axis=1),
        "seasonal_naive": y[origins[:, None] + steps[None, :] - lag[None, :]],
        "drift": last + slope[:, None] * steps[None, :],
    }


def _model(name: str, season: int):
    from statsforecast.models import AutoARIMA, AutoETS, Theta

    if name == "auto_ets":
        return AutoETS(season_length=season)
    if name == "auto_arima":
        return AutoARIMA(season_length=season)
    return Theta(season_length=season)


def classical_forecast(history: np.ndarray, horizon: int, season: int, name: str) -> np.ndarray:
    """One forecast of the automatic model `name` fitted on `history`.

    A seasonal model needs two full seasons and a few points more; with less
    history, or when the seasonal fit fails, the non-seasonal model is used,
    and when that fails too, the naive forecast (both logged).
    """
    history = np.asarray(history, dtype="float64")
    seasons = [season, 1] if season > 1 and len(history) >= 2 * season + 2 else [1]
    for m in seasons:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = _model(name, m).forecast(y=history, h=horizon)["mean"]
            out = np.asarray(out, dtype="float64")
            if np.all(np.isfinite(out)):
                return out
        except Exception as error:  # statsforecast raises many kinds on degenerate data
            logger.info("%s (season %d) failed: %s", name, m, error)
    logger.warning("%s failed on a history of %d points: naive forecast used", name,
                   len(history))
    return np.full(horizon, history[-1])


def classical_forecasts(
    y: np.ndarray,
    origins: Sequence[int] | np.ndarray,
    horizon: int,
    season: int | None = None,
    models: Sequence[str] = CLASSICAL,
) -> dict[str, np.ndarray]:
    """AutoETS, AutoARIMA and Theta forecasts, refitted at each origin.

    Args:
        y: The series.
        origins: Position of the last observed value of each forecast.
        horizon: Steps ahead.
        season: Seasonal period (None or 1: non-seasonal models).
        models: Which of `CLASSICAL` to fit.

    Returns:
        A dict from model name to an array `(len(origins), horizon)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.baselines import classical_forecasts
    >>> y = 10 + np.sin(2 * np.pi * np.arange(48) / 12)
    >>> out = classical_forecasts(y, [35, 40], horizon=3, season=12, models=["theta"])
    >>> out["theta"].shape
    (2, 3)
    """
    y = np.asarray(y, dtype="float64").ravel()
    origins = _check_origins(y, origins)
    unknown = [name for name in models if name not in CLASSICAL]
    if unknown:
        raise ValueError(
            f"Received an invalid value for argument `models`, expected names from "
            f"{list(CLASSICAL)}, got {unknown}."
        )
    m = season if season and season > 1 else 1
    return {
        name: np.stack([classical_forecast(y[: o + 1], horizon, m, name) for o in origins])
        if len(origins) else np.zeros((0, horizon))
        for name in models
    }
