"""Synthetic series whose best possible forecast is known.

`synthetic` / `synthetic_preset` / `synthetic_components` make a seeded series
of a linear trend, any number of seasonalities, an optional autoregressive
part and Gaussian noise of known sigma, as a pandas Series with a
`DatetimeIndex`. Because the noise is known, so is the best possible forecast
(`optimal_forecasts`) and its error (`noise_floor_mae`): the floor a
forecaster is measured against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lstm_apps._validation import check_choice, check_int, check_real

__all__ = [
    "GENERATOR",
    "PRESETS",
    "noise_floor_mae",
    "optimal_forecasts",
    "synthetic",
    "synthetic_components",
    "synthetic_preset",
]

#: Named settings of `synthetic`. "default" is the example the project started
#: from: a 0.1 t trend, a period-50 sine of amplitude 10 and noise sigma 2.
PRESETS: dict[str, dict[str, Any]] = {
    "default": dict(
        length=3000,
        trend=0.1,
        seasonalities=((50, 10.0),),
        noise_sigma=2.0,
        ar=(),
        freq="D",
    ),
    "weekly_yearly": dict(
        length=4 * 365,
        trend=0.02,
        seasonalities=((7, 3.0), (365.25, 10.0)),
        noise_sigma=1.0,
        ar=(),
        freq="D",
    ),
    "hourly_ar": dict(
        length=24 * 120,
        trend=0.0,
        seasonalities=((24, 5.0),),
        noise_sigma=1.0,
        ar=(0.6,),
        freq="h",
    ),
}

#: What `noise_sigma` takes (the wording the messages have always used).
_SIGMA = "a finite number >= 0"

#: `attrs["generator"]` of a synthetic series; the forecast recipe recognises
#: synthetic data by it, so it keeps the public path it has always had (the
#: `lstm_apps.data.timeseries` facade re-exports `synthetic`).
GENERATOR = "lstm_apps.data.timeseries.synthetic"


# --------------------------------------------------------------- argument checks
def _check_seasonalities(seasonalities: Any) -> tuple[tuple[float, float, float], ...]:
    expected = (
        "expected a sequence of (period, amplitude) or (period, amplitude, phase) "
        "tuples with period > 1"
    )
    if isinstance(seasonalities, (str, bytes)) or not isinstance(seasonalities, Sequence):
        raise TypeError(
            f"Received an invalid value for argument `seasonalities`, {expected}, "
            f"got {seasonalities!r}."
        )
    out = []
    for item in seasonalities:
        ok = (
            isinstance(item, Sequence)
            and not isinstance(item, str)
            and len(item) in (2, 3)
            and all(
                isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                for v in item
            )
        )
        if not ok or float(item[0]) <= 1:
            raise ValueError(
                f"Received an invalid value for argument `seasonalities`, {expected}, "
                f"got {seasonalities!r}."
            )
        phase = float(item[2]) if len(item) == 3 else 0.0
        out.append((float(item[0]), float(item[1]), phase))
    return tuple(out)


def _check_ar(ar: Any) -> tuple[float, ...]:
    if isinstance(ar, (str, bytes)) or not isinstance(ar, Sequence):
        raise TypeError(
            "Received an invalid value for argument `ar`, expected a sequence of "
            f"autoregressive coefficients (phi_1, ..., phi_p), got {ar!r}."
        )
    coefs = tuple(check_real("ar", c) for c in ar)
    if coefs:
        companion = np.zeros((len(coefs), len(coefs)))
        companion[0] = coefs
        companion[1:, :-1] = np.eye(len(coefs) - 1)
        radius = float(np.max(np.abs(np.linalg.eigvals(companion))))
        if radius >= 1.0:
            raise ValueError(
                "Received an invalid value for argument `ar`, expected the "
                "coefficients of a stationary AR process (all roots inside the "
                f"unit circle), got {coefs!r} (spectral radius {radius:.3f})."
            )
    return coefs


# --------------------------------------------------------------------- series
def synthetic_components(
    length: int = 3000,
    *,
    trend: float = 0.1,
    seasonalities: Sequence[Sequence[float]] = ((50, 10.0),),
    noise_sigma: float = 2.0,
    ar: Sequence[float] = (),
    intercept: float = 0.0,
    start: str | pd.Timestamp = "2000-01-01",
    freq: str = "D",
    seed: int | None = 0,
) -> pd.DataFrame:
    """The parts of a synthetic series, one column each.

    The series is `y_t = trend_t + seasonal_t + ar_t + noise_t` with
    `trend_t = intercept + trend * t`,
    `seasonal_t = sum_k amplitude_k * sin(2 pi t / period_k + phase_k)`,
    `noise_t ~ N(0, noise_sigma^2)` independent, and, when `ar` is given,
    an AR(p) process `a_t = sum_j ar_j a_{t-j} + noise_t` whose predictable
    part `ar_t = a_t - noise_t` is the "ar" column.

    Args:
        length: Number of time steps.
        trend: Slope of the linear trend, per step.
        seasonalities: `(period, amplitude)` or `(period, amplitude, phase)`
            tuples; the period is in steps and may be fractional (365.25).
        noise_sigma: Standard deviation of the Gaussian noise (>= 0).
        ar: Coefficients of an optional stationary AR(p) part.
        intercept: Value of the trend at t = 0.
        start: First timestamp.
        freq: A pandas frequency string ("D", "h", "W", "MS", ...).
        seed: Seed of the noise (NumPy `default_rng`).

    Returns:
        A DataFrame indexed by timestamps with columns "y", "trend",
        "seasonal", "ar" and "noise".

    Example:

    >>> from lstm_apps.data.synthetic import synthetic_components
    >>> parts = synthetic_components(100, seed=1)
    >>> list(parts.columns)
    ['y', 'trend', 'seasonal', 'ar', 'noise']
    >>> bool((parts[["trend", "seasonal", "ar", "noise"]].sum(axis=1) - parts.y).abs().max() < 1e-9)
    True
    """
    length = check_int("length", length, 2)
    trend = check_real("trend", trend)
    intercept = check_real("intercept", intercept)
    noise_sigma = check_real("noise_sigma", noise_sigma, 0.0, expected=_SIGMA)
    seasons = _check_seasonalities(seasonalities)
    coefs = _check_ar(ar)
    seed = check_int("seed", seed, 0, optional=True)
    try:
        index = pd.date_range(start=start, periods=length, freq=freq, name="date")
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Received an invalid value for argument `freq` or `start`, expected a "
            f"pandas frequency string and a timestamp, got freq={freq!r}, "
            f"start={start!r} ({error})."
        ) from None

    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype="float64")
    trend_part = intercept + trend * t
    seasonal = np.zeros(length)
    for period, amplitude, phase in seasons:
        seasonal += amplitude * np.sin(2.0 * np.pi * t / period + phase)
    p = len(coefs)
    burn_in = 200 if p else 0  # lets the AR part forget its zero start
    eps = rng.normal(0.0, noise_sigma, size=length + burn_in)
    if p:
        a = np.zeros(length + burn_in)
        for k in range(length + burn_in):
            past = a[max(0, k - p) : k][::-1]
            a[k] = float(np.dot(coefs[: len(past)], past)) + eps[k]
        a, eps = a[burn_in:], eps[burn_in:]
        ar_part = a - eps
    else:
        ar_part = np.zeros(length)
    y = trend_part + seasonal + ar_part + eps
    return pd.DataFrame(
        {"y": y, "trend": trend_part, "seasonal": seasonal, "ar": ar_part, "noise": eps},
        index=index,
    )


def synthetic(
    length: int = 3000,
    *,
    trend: float = 0.1,
    seasonalities: Sequence[Sequence[float]] = ((50, 10.0),),
    noise_sigma: float = 2.0,
    ar: Sequence[float] = (),
    intercept: float = 0.0,
    start: str | pd.Timestamp = "2000-01-01",
    freq: str = "D",
    seed: int | None = 0,
    name: str = "y",
) -> pd.Series:
    """A seeded synthetic series: trend + seasonalities + optional AR part + noise.

    The defaults are the "default" preset: `y_t = 0.1 t + 10 sin(2 pi t / 50)
    + N(0, 2^2)`, 3000 daily points from 2000-01-01. See
    `synthetic_components` for the formula and the arguments.

    The generating settings are kept in `series.attrs` ("noise_sigma", "ar",
    "seasonalities", ...), and `noise_floor_mae` gives the error of the best
    possible forecast.

    Args:
        length, trend, seasonalities, noise_sigma, ar, intercept, start, freq,
            seed: as in `synthetic_components`.
        name: Name of the returned Series.

    Returns:
        A float64 `pd.Series` with a `DatetimeIndex` of frequency `freq`.

    Example:

    >>> from lstm_apps.data.synthetic import synthetic
    >>> y = synthetic(200, seasonalities=[(7, 2.0), (30, 5.0)], seed=3)
    >>> y.shape, y.index.freqstr, y.attrs["noise_sigma"]
    ((200,), 'D', 2.0)
    """
    parts = synthetic_components(
        length,
        trend=trend,
        seasonalities=seasonalities,
        noise_sigma=noise_sigma,
        ar=ar,
        intercept=intercept,
        start=start,
        freq=freq,
        seed=seed,
    )
    series = parts["y"].rename(name)
    series.attrs = {
        "generator": GENERATOR,
        "trend": float(trend),
        "intercept": float(intercept),
        "seasonalities": [list(s) for s in _check_seasonalities(seasonalities)],
        "noise_sigma": float(noise_sigma),
        "ar": [float(c) for c in ar],
        "seed": None if seed is None else int(seed),
    }
    return series


def synthetic_preset(name: str = "default", **overrides: Any) -> pd.Series:
    """`synthetic(**PRESETS[name], **overrides)`.

    Args:
        name: A key of `PRESETS` ("default", "weekly_yearly", "hourly_ar").
        **overrides: Arguments of `synthetic` that replace the preset's.

    Returns:
        The series, with `attrs["preset"] = name`.

    Example:

    >>> from lstm_apps.data.synthetic import synthetic_preset
    >>> len(synthetic_preset("default", length=500))
    500
    """
    check_choice("name", name, sorted(PRESETS))
    series = synthetic(**{**PRESETS[name], **overrides})
    series.attrs["preset"] = name
    return series


def _psi_weights(ar: Sequence[float], horizon: int) -> np.ndarray:
    """MA(infinity) weights psi_0..psi_{horizon-1} of an AR process."""
    psi = np.zeros(horizon)
    psi[0] = 1.0
    for j in range(1, horizon):
        psi[j] = sum(ar[k] * psi[j - 1 - k] for k in range(min(len(ar), j)))
    return psi


def noise_floor_mae(noise_sigma: float, horizon: int, ar: Sequence[float] = ()) -> np.ndarray:
    """MAE of the best possible forecast of a synthetic series, per horizon step.

    Only the noise is unpredictable: with independent noise the h-step error
    of the best forecast is N(0, sigma^2) at every step, so its MAE is
    `sigma * sqrt(2 / pi)`. With an AR part the error of step h is
    `sigma * sqrt(sum_{j<h} psi_j^2) * sqrt(2 / pi)`.

    Args:
        noise_sigma: The noise's standard deviation.
        horizon: Number of steps ahead.
        ar: The AR coefficients of the series, if any.

    Returns:
        A float array of shape `(horizon,)`.

    Example:

    >>> from lstm_apps.data.synthetic import noise_floor_mae
    >>> noise_floor_mae(2.0, 3).round(4).tolist()
    [1.5958, 1.5958, 1.5958]
    """
    noise_sigma = check_real("noise_sigma", noise_sigma, 0.0, expected=_SIGMA)
    horizon = check_int("horizon", horizon, 1)
    psi = _psi_weights(_check_ar(ar), horizon)
    return noise_sigma * np.sqrt(np.cumsum(psi**2)) * math.sqrt(2.0 / math.pi)


def optimal_forecasts(
    components: pd.DataFrame, origins: Sequence[int] | np.ndarray, horizon: int,
    ar: Sequence[float] = (),
) -> np.ndarray:
    """The best possible forecasts of a synthetic series (its conditional mean).

    Args:
        components: The output of `synthetic_components`.
        origins: Positions (0-based) of the last observed value of each
            forecast.
        horizon: Number of steps ahead.
        ar: The AR coefficients the series was made with.

    Returns:
        An array `(len(origins), horizon)`: trend + seasonal part of each
        target, plus the AR part's conditional mean given the past.

    Example:

    >>> from lstm_apps.data.synthetic import optimal_forecasts, synthetic_components
    >>> parts = synthetic_components(100, noise_sigma=1.0)
    >>> optimal_forecasts(parts, [49, 89], 5).shape
    (2, 5)
    """
    horizon = check_int("horizon", horizon, 1)
    coefs = _check_ar(ar)
    origins = np.asarray(origins, dtype=int)
    n = len(components)
    if origins.size and (origins.min() < 0 or origins.max() + horizon >= n):
        raise ValueError(
            f"Received origins outside the series: they must lie in [0, {n - horizon - 1}] "
            f"for horizon {horizon} and {n} points, got min {origins.min()}, "
            f"max {origins.max()}."
        )
    deterministic = (components["trend"] + components["seasonal"]).to_numpy()
    targets = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    out = deterministic[targets]
    if coefs:
        a = (components["ar"] + components["noise"]).to_numpy()
        p = len(coefs)
        # history[:, 0] is a_T, history[:, 1] is a_{T-1}, ...
        history = np.stack(
            [a[np.clip(origins - k, 0, None)] * (origins - k >= 0) for k in range(p)], axis=1
        )
        for h in range(horizon):
            nxt = history @ np.asarray(coefs)
            out[:, h] += nxt
            history = np.concatenate([nxt[:, None], history[:, :-1]], axis=1)
    return out
