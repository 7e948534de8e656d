"""Per-series preprocessing of the LSTM forecaster, fitted on a series' history.

What the strongest hybrid forecasters do before their network (Smyl's ES-RNN,
the M4 benchmarks), in the order `SeriesTransform` applies it:

1. a variance-stabilising log when the series is positive, so a
   multiplicative season or trend becomes additive and errors relative;
2. classical seasonal indices (centred moving average, the mean detrended
   value of each phase), removed when the series passes the M4 seasonality
   test (the autocorrelation at the seasonal lag outside the 90% band);
3. a per-series scale, the mean absolute first difference of what is left,
   so every series the global model sees has unit step size.

The network then reads windows minus their last value (in these units) and
forecasts the change from it; `inverse` puts back the level, the season and
the log. Everything is fitted on the history before a forecast's origin,
never on what comes after it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

__all__ = [
    "RECENT_SEASONS",
    "SeriesTransform",
    "is_seasonal",
    "season_from_freq",
    "seasonal_strength",
    "seasonal_indices",
]

#: Seasons of history that the seasonal indices of `SeriesTransform` average.
RECENT_SEASONS = 5

# pandas frequency prefix -> the usual seasonal period (as R's `frequency`).
_SEASONS = {"M": 12, "MS": 12, "ME": 12, "BM": 12, "BMS": 12, "BME": 12, "SM": 24, "SMS": 24,
            "Q": 4, "QS": 4, "QE": 4, "BQ": 4, "BQS": 4, "BQE": 4, "W": 52, "D": 7, "B": 5,
            "h": 24, "H": 24, "bh": 8, "BH": 8}


def season_from_freq(freq: str | None) -> int | None:
    """The usual seasonal period of a pandas frequency (monthly 12, quarterly 4, ...).

    Returns None for yearly data, sub-hourly data and multiples such as
    "2D", whose season is not standard: find it from the data instead
    (`lstm_apps.data.timeseries.infer_season`).

    Example:

    >>> from lstm_apps.forecasting.transforms import season_from_freq
    >>> season_from_freq("MS"), season_from_freq("QE-DEC"), season_from_freq("W-SUN")
    (12, 4, 52)
    >>> season_from_freq("YS") is None
    True
    """
    if not freq:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return None
    if getattr(offset, "n", 1) != 1:
        return None
    prefix = offset.name.split("-")[0]
    return _SEASONS.get(prefix)


def is_seasonal(x: np.ndarray, season: int) -> bool:
    """The M4 seasonality test: autocorrelation at lag `season` outside its 90% band.

    The band is `1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)` (Bartlett's
    formula), as in the M4 competition's benchmarks; a series shorter than
    three seasons is taken as not seasonal.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.transforms import is_seasonal
    >>> t = np.arange(120)
    >>> noise = np.random.default_rng(0).normal(size=120)
    >>> is_seasonal(np.sin(2 * np.pi * t / 12), 12), is_seasonal(noise, 12)
    (True, False)
    """
    x = np.asarray(x, dtype="float64").ravel()
    n = len(x)
    if season < 2 or n < 3 * season:
        return False
    centred = x - x.mean()
    denom = float(np.dot(centred, centred))
    if denom <= 0:
        return False
    acf = np.array([np.dot(centred[: n - k], centred[k:]) / denom for k in range(season + 1)])
    limit = 1.645 * math.sqrt((1.0 + 2.0 * np.sum(acf[1:season] ** 2)) / n)
    return bool(abs(acf[season]) > limit)


def seasonal_indices(x: np.ndarray, season: int, recent: int | None = None) -> np.ndarray:
    """Additive seasonal indices of classical decomposition, one per phase.

    The trend is the centred moving average of order `season` (2 x `season`
    when it is even); index `k` is the mean of `x - trend` over the
    positions `p` with `p % season == k`, and the indices sum to 0.
    With `recent`, only the last `recent` seasons where the trend is
    defined count, so a season whose shape drifts is followed (as the
    seasonal states of exponential smoothing follow it).

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.transforms import seasonal_indices
    >>> x = np.tile([1.0, -1.0], 6) + np.arange(12)
    >>> seasonal_indices(x, 2).round(6).tolist()
    [1.0, -1.0]
    """
    x = np.asarray(x, dtype="float64").ravel()
    n = len(x)
    if season % 2:
        weights = np.full(season, 1.0 / season)
    else:
        weights = np.r_[0.5, np.ones(season - 1), 0.5] / season
    half = len(weights) // 2
    trend = np.full(n, np.nan)
    if n >= len(weights):
        trend[half : n - half] = np.convolve(x, weights, mode="valid")
    detrended = x - trend
    if recent is not None:
        defined = np.flatnonzero(np.isfinite(detrended))
        if len(defined) > recent * season:
            detrended[: defined[-1] + 1 - recent * season] = np.nan
    phases = np.arange(n) % season
    out = np.array([
        np.nanmean(detrended[phases == k]) if np.any(np.isfinite(detrended[phases == k]))
        else 0.0
        for k in range(season)
    ])
    return out - out.mean()


def seasonal_strength(x: np.ndarray, season: int) -> float:
    """Strength of the seasonality of period `season`, in [0, 1].

    `max(0, 1 - var(R) / var(S + R))` of a classical decomposition (trend:
    the centred moving average of order `season`; S: the seasonal indices;
    R: the rest), the seasonal-strength feature of Wang, Smith & Hyndman
    (2006) and of Hyndman & Athanasopoulos's *Forecasting: Principles and
    Practice*. A trend does not count as seasonality, as it does in the
    autocorrelation of the raw series.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.transforms import seasonal_strength
    >>> t = np.arange(240)
    >>> x = 0.5 * t + 10 * np.sin(2 * np.pi * t / 12)
    >>> seasonal_strength(x, 12) > 0.99, seasonal_strength(x, 7) < 0.1
    (True, True)
    """
    x = np.asarray(x, dtype="float64").ravel()
    if season < 2 or len(x) < 2 * season + 1:
        return 0.0
    weights = (np.full(season, 1.0 / season) if season % 2 else
               np.r_[0.5, np.ones(season - 1), 0.5] / season)
    half = len(weights) // 2
    detrended = x[half : len(x) - half] - np.convolve(x, weights, mode="valid")
    phases = (np.arange(len(detrended)) + half) % season
    indices = np.array([detrended[phases == k].mean() for k in range(season)])
    rest = detrended - indices[phases]
    total = np.var(detrended)
    return float(max(0.0, 1.0 - np.var(rest) / total)) if total > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class SeriesTransform:
    """Log, deseasonalisation and scaling of one series, fitted on its history.

    Attributes:
        log: Whether the values are log-transformed.
        season: Seasonal period of the indices (1: none removed).
        indices: The seasonal indices, one per phase `position % season`
            (empty when no season is removed).
        scale: Mean absolute first difference of the deseasonalised history.
        constant: Whether the history is constant (then forecast as is).

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.transforms import SeriesTransform
    >>> t = np.arange(60)
    >>> y = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    >>> tf = SeriesTransform.fit(y, season=12)
    >>> tf.log, tf.season
    (True, 12)
    >>> bool(np.allclose(tf.inverse(tf.forward(y, t), t), y))
    True
    """

    log: bool
    season: int
    indices: tuple[float, ...]
    scale: float
    constant: bool = False

    @classmethod
    def fit(
        cls, history: np.ndarray, season: int | None = None, log: bool | str = "auto",
        deseasonalize: bool | str = "auto",
    ) -> SeriesTransform:
        """Fits the transform on `history` (positions 0 .. len - 1).

        Args:
            history: The observed values.
            season: Seasonal period (None or 1: no season).
            log: True, False, or "auto": log when every value is > 0.
            deseasonalize: True, False, or "auto": remove the seasonal
                indices when the M4 seasonality test passes.
        """
        y = np.asarray(history, dtype="float64").ravel()
        use_log = bool(np.all(y > 0)) if log == "auto" else bool(log)
        if use_log and not np.all(y > 0):
            raise ValueError(
                "Received `log`=True for a series with values <= 0 "
                f"(minimum {y.min():.6g}): the log needs positive values."
            )
        x = np.log(y) if use_log else y
        m = int(season) if season and season > 1 else 1
        seasonal = m > 1 and len(x) >= 2 * m and (
            is_seasonal(x, m) if deseasonalize == "auto" else bool(deseasonalize)
        )
        indices = seasonal_indices(x, m, recent=RECENT_SEASONS) if seasonal else np.zeros(0)
        z = x - indices[np.arange(len(x)) % m] if seasonal else x
        steps = np.abs(np.diff(z))
        scale = float(steps.mean()) if len(steps) else 0.0
        constant = bool(np.ptp(y) == 0) if len(y) else True
        if not scale > 0:
            spread = float(np.std(z))
            scale = spread if spread > 0 else 1.0
        return cls(log=use_log, season=m if seasonal else 1,
                   indices=tuple(float(v) for v in indices), scale=scale, constant=constant)

    def _season(self, positions: np.ndarray) -> np.ndarray:
        positions = np.asarray(positions)
        if self.season == 1:
            return np.zeros(positions.shape)
        return np.asarray(self.indices)[positions % self.season]

    def forward(
        self, values: np.ndarray, positions: np.ndarray, deseasonalize: bool = True
    ) -> np.ndarray:
        """Log (when fitted so) and deseasonalised values, not yet scaled."""
        values = np.asarray(values, dtype="float64")
        if self.log:
            values = np.log(np.maximum(values, np.finfo("float64").tiny))
        return values - self._season(positions) if deseasonalize else values

    def inverse(self, z: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Undoes `forward`: season added back, then the exponential."""
        x = np.asarray(z, dtype="float64") + self._season(positions)
        return np.exp(np.clip(x, -700.0, 700.0)) if self.log else x
