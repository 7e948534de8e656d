"""Baselines that every forecast is compared with, on the same origins.

- Simple: naive (last value), seasonal naive (the value one season back),
  drift (last value plus the average slope of the history).
- Classical, automatic: `auto_ets` (exponential smoothing with the error,
  trend and season forms chosen by AICc), `auto_arima` (Hyndman-Khandakar
  stepwise search) and `theta` (the Theta method of Assimakopoulos &
  Nikolopoulos, 2000, with classical multiplicative deseasonalisation), all
  from statsforecast: maintained, fast (numba), and following R's `forecast`
  package, which is what the forecasting literature reports.

Each baseline sees the whole history up to each origin. The classical
models are refitted there (a rolling-origin evaluation), or, with many
origins, fitted at the first and run forward (`classical_forecasts`'s
`refit`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CLASSICAL",
    "MAX_MODEL_SEASON",
    "REFIT_ORIGINS",
    "SIMPLE",
    "classical_forecast",
    "classical_forecasts",
    "simple_forecasts",
]

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


#: Longest season the classical models fit themselves (R's `ets` stops at 24);
#: above it they forecast the seasonally adjusted series (classical
#: decomposition) and the indices are added back, as R's `stlf` does.
MAX_MODEL_SEASON = 24
#: Origins per series up to which the classical models are refitted at every
#: origin by default; above it they are fitted once, at the first origin, and
#: run forward through the later data (parameters kept, states updated).
REFIT_ORIGINS = 24


def _model(name: str, season: int):
    from statsforecast.models import AutoARIMA, AutoETS, Theta

    if name == "auto_ets":
        return AutoETS(season_length=season)
    if name == "auto_arima":
        return AutoARIMA(season_length=season)
    return Theta(season_length=season)


class _Fitted:
    """One classical model fitted on a history, applied to longer histories."""

    def __init__(self, history: np.ndarray, season: int, name: str) -> None:
        self.name = name
        self.model = None
        self.indices = None
        self.season = 1
        n = len(history)
        if season > 1 and n >= 2 * season + 2:
            if season > MAX_MODEL_SEASON and name != "theta":
                from lstm_apps.forecasting.transforms import seasonal_indices

                self.indices = seasonal_indices(history, season)
                self.period = season
                self.model = self._fit(history - self._season_of(np.arange(n)), 1)
            else:
                self.model = self._fit(history, season)
                self.season = season
        if self.model is None:
            self.indices = None
            self.model = self._fit(history, 1)
            self.season = 1
        if self.model is None:
            logger.warning("%s failed on a history of %d points: naive forecast used", name, n)

    def _season_of(self, positions: np.ndarray) -> np.ndarray:
        return self.indices[positions % self.period]

    def _fit(self, history: np.ndarray, season: int):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = _model(self.name, season).fit(history)
                out = model.predict(h=1)["mean"]
            return model if np.all(np.isfinite(out)) else None
        except Exception as error:  # statsforecast raises many kinds on degenerate data
            logger.info("%s (season %d) failed: %s", self.name, season, error)
            return None

    def forecast(self, history: np.ndarray, horizon: int, same: bool = False) -> np.ndarray:
        """Forecast after `history`; `same`: it is the history the model was fitted on."""
        n = len(history)
        if self.model is None:
            return np.full(horizon, history[-1])
        # The seasonal indices removed before the fit (zeros when none were).
        adjust = (np.zeros(n + horizon) if self.indices is None
                  else self._season_of(np.arange(n + horizon)))
        y = history - adjust[:n]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = (self.model.predict(h=horizon) if same else
                       self.model.forward(y=y, h=horizon))["mean"]
            out = np.asarray(out, dtype="float64")
        except Exception as error:
            logger.info("%s forward failed: %s", self.name, error)
            out = np.full(horizon, np.nan)
        out = out + adjust[n:]
        return out if np.all(np.isfinite(out)) else np.full(horizon, history[-1])


def classical_forecast(history: np.ndarray, horizon: int, season: int, name: str) -> np.ndarray:
    """One forecast of the automatic model `name` fitted on `history`.

    A seasonal model needs two full seasons and a few points more; with less
    history, or when the seasonal fit fails, the non-seasonal model is used,
    and when that fails too, the naive forecast (both logged). Seasons longer
    than `MAX_MODEL_SEASON` are removed first (classical decomposition) and
    added back, except by Theta, which deseasonalises itself.
    """
    history = np.asarray(history, dtype="float64")
    return _Fitted(history, season, name).forecast(history, horizon, same=True)


def classical_forecasts(
    y: np.ndarray,
    origins: Sequence[int] | np.ndarray,
    horizon: int,
    season: int | None = None,
    models: Sequence[str] = CLASSICAL,
    refit: bool | None = None,
) -> dict[str, np.ndarray]:
    """AutoETS, AutoARIMA and Theta forecasts from each origin.

    Args:
        y: The series.
        origins: Position of the last observed value of each forecast.
        horizon: Steps ahead.
        season: Seasonal period (None or 1: non-seasonal models).
        models: Which of `CLASSICAL` to fit.
        refit: True: each model is fitted anew on the history up to each
            origin. False: fitted once, on the history up to the first
            origin, and run forward through the later values (its
            parameters kept, its states updated: nothing after an origin is
            used for that origin's forecast). None (default): refit when
            there are at most `REFIT_ORIGINS` origins.

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
    if isinstance(models, str) or unknown:
        raise ValueError(
            f"Received an invalid value for argument `models`, expected names from "
            f"{list(CLASSICAL)}, got {models if isinstance(models, str) else unknown}."
        )
    if refit not in (None, True, False):
        raise ValueError(
            f"Received an invalid value for argument `refit`, expected True, False or None, "
            f"got {refit!r}."
        )
    m = season if season and season > 1 else 1
    refit = len(origins) <= REFIT_ORIGINS if refit is None else refit
    out = {}
    for name in models:
        if not len(origins):
            out[name] = np.zeros((0, horizon))
        elif refit:
            out[name] = np.stack([classical_forecast(y[: o + 1], horizon, m, name)
                                  for o in origins])
        else:
            first = int(origins.min())
            fitted = _Fitted(y[: first + 1], m, name)
            out[name] = np.stack([fitted.forecast(y[: o + 1], horizon, same=o == first)
                                  for o in origins])
    return out
