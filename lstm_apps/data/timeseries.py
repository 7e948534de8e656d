"""Time series for the forecasting recipe: synthetic series, user data, splits, windows.

The pieces, in the order a forecasting run uses them:

- `synthetic` / `synthetic_preset` / `synthetic_components`: a seeded series
  made of a linear trend, any number of seasonalities, an optional
  autoregressive part and Gaussian noise of known sigma, as a pandas Series
  with a `DatetimeIndex`. Because the noise is known, so is the best possible
  forecast (`optimal_forecasts`) and its error (`noise_floor_mae`).
- `from_dataframe` / `read_csv`: user data (a target column plus optional
  covariate columns) checked for everything that would make training fail
  or lie: a missing `DatetimeIndex`, unsorted or duplicate timestamps,
  non-numeric columns, NaN or inf values (an error unless `fill` says how to
  fill them).
- `split_by_time`: train, validation and test parts of a series, in time
  order, and the windows whose targets fall into each part.
- `fit_scaling`: centre and scale fitted on the training part only.
- `window_dataset` (through `keras.utils.timeseries_dataset_from_array`) and
  `window_arrays`: `(lookback, features)` input windows, each with the next
  `horizon` values of the target.
- `infer_season`: the seasonal period, from the autocorrelation of the
  training part.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

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

logger = logging.getLogger(__name__)

#: Ways to handle NaN / inf values in user data (`fill` argument).
FILL_METHODS = ("raise", "ffill", "interpolate")

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


# --------------------------------------------------------------- argument checks
def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"Received an invalid value for argument `{name}`, expected an integer "
            f">= {minimum}, got {value!r} (type {type(value).__name__})."
        )
    if value < minimum:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected an integer "
            f">= {minimum}, got {value!r}."
        )
    return int(value)


def _check_real(name: str, value: Any, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(
            f"Received an invalid value for argument `{name}`, expected a real number, "
            f"got {value!r} (type {type(value).__name__})."
        )
    value = float(value)
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a finite "
            f"number{bound}, got {value!r}."
        )
    return value


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
    coefs = tuple(_check_real("ar", c) for c in ar)
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


# -------------------------------------------------------------------- synthetic
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

    >>> from lstm_apps.data import timeseries
    >>> parts = timeseries.synthetic_components(100, seed=1)
    >>> list(parts.columns)
    ['y', 'trend', 'seasonal', 'ar', 'noise']
    >>> bool((parts[["trend", "seasonal", "ar", "noise"]].sum(axis=1) - parts.y).abs().max() < 1e-9)
    True
    """
    length = _check_int("length", length, minimum=2)
    trend = _check_real("trend", trend)
    intercept = _check_real("intercept", intercept)
    noise_sigma = _check_real("noise_sigma", noise_sigma, minimum=0.0)
    seasons = _check_seasonalities(seasonalities)
    coefs = _check_ar(ar)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(
            f"Received an invalid value for argument `seed`, expected an integer or "
            f"None, got {seed!r}."
        )
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

    >>> from lstm_apps.data import timeseries
    >>> y = timeseries.synthetic(200, seasonalities=[(7, 2.0), (30, 5.0)], seed=3)
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
        "generator": "lstm_apps.data.timeseries.synthetic",
        "trend": float(trend),
        "intercept": float(intercept),
        "seasonalities": [list(s) for s in _check_seasonalities(seasonalities)],
        "noise_sigma": float(noise_sigma),
        "ar": [float(c) for c in ar],
        "seed": seed,
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

    >>> from lstm_apps.data import timeseries
    >>> len(timeseries.synthetic_preset("default", length=500))
    500
    """
    if name not in PRESETS:
        raise ValueError(
            f"Received an invalid value for argument `name`, expected one of "
            f"{sorted(PRESETS)}, got {name!r}."
        )
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

    >>> from lstm_apps.data import timeseries
    >>> timeseries.noise_floor_mae(2.0, 3).round(4).tolist()
    [1.5958, 1.5958, 1.5958]
    """
    noise_sigma = _check_real("noise_sigma", noise_sigma, minimum=0.0)
    horizon = _check_int("horizon", horizon)
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

    >>> from lstm_apps.data import timeseries
    >>> parts = timeseries.synthetic_components(100, noise_sigma=1.0)
    >>> timeseries.optimal_forecasts(parts, [49, 89], 5).shape
    (2, 5)
    """
    horizon = _check_int("horizon", horizon)
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


# ------------------------------------------------------------------- user data
def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """The pandas frequency string of a regular `DatetimeIndex`, else None.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.data import timeseries
    >>> timeseries.infer_freq(pd.date_range("2024-01-01", periods=5, freq="W"))
    'W-SUN'
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(
            "Received an invalid value for argument `index`, expected a pandas "
            f"DatetimeIndex, got {type(index).__name__}."
        )
    if index.freq is not None:
        return index.freqstr
    if len(index) < 3:
        return None
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            offset = pd.infer_freq(index)
    except (KeyError, pd.errors.OptionError):  # pandas without the option
        return pd.infer_freq(index)
    except ValueError:
        return None
    return None if offset is None else getattr(offset, "freqstr", str(offset))


def _check_gaps(index: pd.DatetimeIndex) -> None:
    """Raises if `index` is a regular grid with timestamps missing (e.g. daily, days missing).

    Such rows would be taken as equally spaced (a wrong season, no future
    dates); truly irregular timestamps pass.
    """
    if len(index) < 3:
        return
    steps = np.diff(index.asi8)
    values, counts = np.unique(steps, return_counts=True)
    step = int(values[np.argmax(counts)])
    if step <= 0 or counts.max() < 0.5 * len(steps) or np.any(steps % step):
        return
    expected = int((index.asi8[-1] - index.asi8[0]) // step) + 1
    missing = expected - len(index)
    try:
        code = pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr
    except ValueError:  # pragma: no cover  (every Timedelta has an offset)
        return
    gap = int(np.argmax(steps > step))
    raise ValueError(
        f"Received timestamps on a regular grid of one step {code!r} "
        f"({pd.Timedelta(step)}) with {missing} of {expected} timestamps missing (the first "
        f"gap after {index[gap]}); the rows cannot be taken as equally spaced. Pass "
        f"`freq={code!r}` (--freq {code}) to insert the missing timestamps, and `fill` "
        "(--fill ffill or --fill interpolate) to fill them."
    )


def _first(values: Any, k: int = 3) -> str:
    items = [str(v) for v in list(values)[:k]]
    more = len(values) - k
    return ", ".join(items) + (f" (and {more} more)" if more > 0 else "")


def from_dataframe(
    data: pd.Series | pd.DataFrame,
    target: str | None = None,
    covariates: Sequence[str] = (),
    fill: str = "raise",
    freq: str | None = None,
) -> pd.DataFrame:
    """Checks user data and returns it as a float DataFrame: target first, then covariates.

    Args:
        data: A Series (the target) or a DataFrame with a `DatetimeIndex`.
        target: Name of the target column (needed when `data` is a
            DataFrame with more than one column).
        covariates: Other columns to use as model inputs (their past values
            only).
        fill: What to do with NaN / inf values: "raise" (default: an error),
            "ffill" (carry the last value forward; leading gaps take the
            first value) or "interpolate" (linear in time, both ends
            extended).
        freq: Optional pandas frequency. When given the index is made
            regular with it (`asfreq`), and the missing timestamps become
            NaN values, handled by `fill`. Otherwise it is inferred.

    Returns:
        A float64 DataFrame with a sorted, unique `DatetimeIndex`, columns
        `[target, *covariates]`, and `attrs["freq"]` (None when irregular).

    Raises:
        TypeError: `data` is not a pandas object or has no `DatetimeIndex`.
        ValueError: a named column is missing or not numeric, timestamps are
            unsorted or duplicated, or values are NaN / inf with
            `fill="raise"`.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.data import timeseries
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D")
    >>> frame = pd.DataFrame({"sales": [1.0, None, 3.0, 4.0], "temp": [5, 6, 7, 8]}, idx)
    >>> out = timeseries.from_dataframe(frame, "sales", ["temp"], fill="interpolate")
    >>> out["sales"].tolist(), out.attrs["freq"]
    ([1.0, 2.0, 3.0, 4.0], 'D')
    """
    if fill not in FILL_METHODS:
        raise ValueError(
            f"Received an invalid value for argument `fill`, expected one of "
            f"{list(FILL_METHODS)}, got {fill!r}."
        )
    if isinstance(covariates, str) or not isinstance(covariates, Sequence):
        raise TypeError(
            "Received an invalid value for argument `covariates`, expected a sequence "
            f"of column names, got {covariates!r}."
        )
    if isinstance(data, pd.Series):
        name = data.name if data.name is not None else (target or "y")
        if target is not None and target != name:
            raise ValueError(
                f"Received `target`={target!r}, but `data` is a Series named {name!r}; "
                "pass a DataFrame to pick a column."
            )
        if covariates:
            raise ValueError(
                f"Received `covariates`={list(covariates)!r} with a Series: "
                "pass a DataFrame that holds the covariate columns."
            )
        frame = data.to_frame(name=name)
        target = str(name)
    elif isinstance(data, pd.DataFrame):
        if target is None:
            if data.shape[1] != 1:
                raise ValueError(
                    "Received a DataFrame with columns "
                    f"{list(data.columns)} and no `target`: pass `target=` to name the "
                    "column to forecast."
                )
            target = str(data.columns[0])
        missing = [c for c in [target, *covariates] if c not in data.columns]
        if missing:
            raise ValueError(
                f"Received column names {missing} that are not in the data, whose "
                f"columns are {list(data.columns)} (arguments `target` / `covariates`)."
            )
        if target in covariates or len(set(covariates)) != len(covariates):
            raise ValueError(
                f"Received `covariates`={list(covariates)!r}: they must be distinct "
                f"and must not include the target {target!r}."
            )
        frame = data[[target, *covariates]]
    else:
        raise TypeError(
            "Received an invalid value for argument `data`, expected a pandas Series "
            f"or DataFrame with a DatetimeIndex, got {type(data).__name__}."
        )
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise TypeError(
            "Received data whose index is not a pandas DatetimeIndex (got "
            f"{type(frame.index).__name__}); set one with `data.set_index(pd.to_datetime"
            "(data[date_col]))`, or use `read_csv(path, date_col=...)`."
        )
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
                   or pd.api.types.is_bool_dtype(frame[c])]
    if non_numeric:
        kinds = {c: str(frame[c].dtype) for c in non_numeric}
        raise ValueError(
            f"Received non-numeric columns {non_numeric} (dtypes {kinds}); the target "
            "and covariates must be numbers."
        )
    index = frame.index
    if index.tz is not None:
        frame = frame.tz_localize(None)
        index = frame.index
    if index.hasnans:
        raise ValueError("Received data with missing timestamps (NaT) in its index.")
    duplicated = index[index.duplicated()]
    if len(duplicated):
        raise ValueError(
            f"Received data with {len(duplicated)} duplicate timestamps: "
            f"{_first(duplicated)}. Aggregate them first, e.g. "
            "`data.groupby(level=0).mean()`."
        )
    if not index.is_monotonic_increasing:
        position = int(np.argmax(np.diff(index.asi8) < 0)) + 1
        raise ValueError(
            "Received data whose timestamps are not sorted: "
            f"{index[position]} comes after {index[position - 1]} (position {position}). "
            "Sort it first with `data.sort_index()`."
        )
    frame = frame.astype("float64")
    if freq is not None:
        try:
            frame = frame.asfreq(freq)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"Received an invalid value for argument `freq`, expected a pandas "
                f"frequency string, got {freq!r} ({error})."
            ) from None
    frame = frame.replace([np.inf, -np.inf], np.nan)
    bad = frame.isna()
    if bad.to_numpy().any():
        if fill == "raise":
            counts = {c: int(n) for c, n in bad.sum().items() if n}
            where = frame.index[bad.any(axis=1)]
            raise ValueError(
                f"Received NaN or inf values {counts} at {_first(where)}; pass "
                "`fill='ffill'` or `fill='interpolate'` to fill them, or clean the data."
            )
        if fill == "ffill":
            frame = frame.ffill().bfill()
        else:
            frame = frame.interpolate(method="time", limit_direction="both")
        logger.info("filled %d missing values with %r", int(bad.to_numpy().sum()), fill)
        if frame.isna().to_numpy().any():
            empty = [c for c in frame.columns if frame[c].isna().all()]
            raise ValueError(f"Received columns {empty} with no finite value at all.")
    inferred = freq or frame.index.freqstr or infer_freq(frame.index)
    if inferred is None:
        _check_gaps(frame.index)
    if inferred is not None and frame.index.freq is None:
        frame.index.freq = inferred
    frame.attrs = {"target": target, "covariates": list(covariates), "freq": inferred}
    return frame


def read_csv(
    path: str | os.PathLike,
    date_col: str,
    target: str,
    covariates: Sequence[str] = (),
    fill: str = "raise",
    freq: str | None = None,
    **read_csv_kwargs: Any,
) -> pd.DataFrame:
    """Reads a CSV with a date column and checks it like `from_dataframe`.

    Args:
        path: The CSV file.
        date_col: Name of the column holding the timestamps (parsed with
            `pd.to_datetime`).
        target: Name of the column to forecast.
        covariates: Other numeric columns to feed to the model.
        fill, freq: As in `from_dataframe`.
        **read_csv_kwargs: Passed to `pandas.read_csv` (`sep`, `decimal`, ...).

    Returns:
        The DataFrame of `from_dataframe`.

    Example:

    >>> import tempfile, pathlib
    >>> from lstm_apps.data import timeseries
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = path.write_text("day,sales\\n2024-01-01,3\\n2024-01-02,4\\n2024-01-03,5\\n")
    >>> timeseries.read_csv(path, date_col="day", target="sales")["sales"].tolist()
    [3.0, 4.0, 5.0]
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Received `csv` path {path!r}, which is not a file.")
    for name, value in (("date_col", date_col), ("target", target)):
        if not isinstance(value, str) or not value:
            raise TypeError(
                f"Received an invalid value for argument `{name}`, expected a column "
                f"name (str), got {value!r}."
            )
    try:
        raw = pd.read_csv(path, **read_csv_kwargs)
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"Received `csv` path {path!r} (--csv), an empty file; expected a header line "
            "with the date and target columns, then one row per time step."
        ) from None
    if raw.empty:
        raise ValueError(
            f"Received `csv` path {path!r} (--csv) with a header ({list(map(str, raw.columns))})"
            " but no rows; expected one row per time step."
        )
    if date_col not in raw.columns:
        raise ValueError(
            f"Received `date_col`={date_col!r}, which is not a column of {path!r}; its "
            f"columns are {list(raw.columns)}."
        )
    try:
        dates = pd.to_datetime(raw[date_col])
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Could not parse the `date_col` column {date_col!r} of {path!r} as dates: "
            f"{error}"
        ) from None
    frame = raw.drop(columns=[date_col]).set_index(pd.DatetimeIndex(dates, name=date_col))
    return from_dataframe(frame, target=target, covariates=covariates, fill=fill, freq=freq)


# ------------------------------------------------------------------- splitting
@dataclasses.dataclass(frozen=True)
class TimeSplit:
    """Train / validation / test parts of a series of `length` points, in time order.

    A window's "origin" is the position of its last input value; its targets
    are the `horizon` values after it. The windows of a part are those whose
    targets all fall inside that part (their inputs may reach back into the
    earlier parts, as they would in production).

    Attributes:
        length: Number of points.
        lookback: Input window length.
        horizon: Number of steps forecast.
        n_train, n_val, n_test: Sizes of the three parts (points).
    """

    length: int
    lookback: int
    horizon: int
    n_train: int
    n_val: int
    n_test: int

    @property
    def train_end(self) -> int:
        """Position one past the last training point."""
        return self.n_train

    @property
    def val_end(self) -> int:
        """Position one past the last validation point."""
        return self.n_train + self.n_val

    def origins(self, part: str) -> np.ndarray:
        """Origins (positions of the last input value) of the windows of `part`.

        Args:
            part: "train", "val" or "test".
        """
        bounds = {
            "train": (0, self.train_end),
            "val": (self.train_end, self.val_end),
            "test": (self.val_end, self.length),
        }
        if part not in bounds:
            raise ValueError(
                f"Received an invalid value for argument `part`, expected one of "
                f"{list(bounds)}, got {part!r}."
            )
        lo, hi = bounds[part]
        first = max(lo - 1, self.lookback - 1) if part != "train" else self.lookback - 1
        last = hi - self.horizon - 1
        return np.arange(first, last + 1) if last >= first else np.arange(0)


def _part_size(name: str, value: Any, length: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(
            f"Received an invalid value for argument `{name}`, expected a number of "
            f"points (int) or a fraction in [0, 1) (float), got {value!r}."
        )
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value < 1.0:
            raise ValueError(
                f"Received an invalid value for argument `{name}`, expected a fraction "
                f"in [0, 1) or a number of points, got {value!r}."
            )
        return int(round(value * length))
    if value < 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a non-negative "
            f"number of points, got {value!r}."
        )
    return int(value)


def split_by_time(
    length: int,
    lookback: int,
    horizon: int,
    val_size: int | float = 0.1,
    test_size: int | float = 0.2,
) -> TimeSplit:
    """Splits `length` points into train, validation and test parts, in time order.

    Args:
        length: Number of points of the series.
        lookback: Input window length (>= 1).
        horizon: Number of steps forecast (>= 1).
        val_size: Points in the validation part (int) or a fraction of
            `length` (float); 0 for none. A non-empty part holds at least
            `horizon` points.
        test_size: The same, for the test part.

    Returns:
        A `TimeSplit`.

    Raises:
        ValueError: the series is too short: the message gives the numbers.

    Example:

    >>> from lstm_apps.data import timeseries
    >>> split = timeseries.split_by_time(1000, lookback=50, horizon=10)
    >>> split.n_train, split.n_val, split.n_test, len(split.origins("test"))
    (700, 100, 200, 191)
    """
    length = _check_int("length", length)
    lookback = _check_int("lookback", lookback)
    horizon = _check_int("horizon", horizon)
    n_val = _part_size("val_size", val_size, length)
    n_test = _part_size("test_size", test_size, length)
    if n_test:
        n_test = max(n_test, horizon)
    if n_val:
        n_val = max(n_val, horizon)
    needed = lookback + horizon + n_val + n_test
    if length < needed:
        raise ValueError(
            f"The series is too short: it has {length} points, but lookback ({lookback}) "
            f"+ horizon ({horizon}) + validation part ({n_val}) + test part ({n_test}) "
            f"= {needed} points are needed for one training window. Use a longer "
            "series or a smaller `lookback`, `horizon`, `val_size` or `test_size`."
        )
    return TimeSplit(
        length=length,
        lookback=lookback,
        horizon=horizon,
        n_train=length - n_val - n_test,
        n_val=n_val,
        n_test=n_test,
    )


# --------------------------------------------------------------------- scaling
def fit_scaling(
    train: np.ndarray, lookback: int, normalization: str = "last", target_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of each column, fitted on the training part only.

    The covariates get their mean and standard deviation. The target gets
    its mean and a scale that matches what the model sees: with per-window
    level normalisation ("last" or "mean") it is the standard deviation of
    the training windows (inputs and targets) minus their level, otherwise
    the plain standard deviation. A zero scale becomes 1.

    Args:
        train: Training values, shape `(time, features)`.
        lookback: Input window length.
        normalization: "last", "mean" or "none".
        target_index: Column of the target.

    Returns:
        `(center, scale)`, two float arrays of shape `(features,)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.data import timeseries
    >>> center, scale = timeseries.fit_scaling(np.arange(20.0)[:, None], 5, "none")
    >>> float(center[0]), round(float(scale[0]), 3)
    (9.5, 5.766)
    """
    train = np.asarray(train, dtype="float64")
    if train.ndim != 2:
        raise ValueError(
            "Received an invalid value for argument `train`, expected a 2-D array "
            f"(time, features), got shape {train.shape}."
        )
    center = train.mean(axis=0)
    scale = train.std(axis=0)
    if normalization in ("last", "mean") and len(train) > lookback:
        y = train[:, target_index]
        windows = np.lib.stride_tricks.sliding_window_view(y, min(len(y), 2 * lookback))
        level = (
            windows[:, lookback - 1 : lookback]
            if normalization == "last"
            else windows[:, :lookback].mean(axis=1, keepdims=True)
        )
        scale[target_index] = float((windows - level).std())
    scale = np.where(scale > 1e-12, scale, 1.0)
    return center, scale


# --------------------------------------------------------------------- windows
def window_arrays(
    values: np.ndarray,
    lookback: int,
    horizon: int,
    origins: Sequence[int] | np.ndarray | None = None,
    target_index: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Input windows and their targets as NumPy arrays.

    Args:
        values: Array `(time, features)` (or `(time,)` for one feature).
        lookback: Input window length.
        horizon: Number of target steps after each window.
        origins: Positions of the last input value of each window (default:
            every window that fits).
        target_index: Column of the target.

    Returns:
        `(x, y)`: float32 arrays `(windows, lookback, features)` and
        `(windows, horizon)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.data import timeseries
    >>> x, y = timeseries.window_arrays(np.arange(10.0), lookback=3, horizon=2)
    >>> x.shape, y.shape, x[0, :, 0].tolist(), y[0].tolist()
    ((6, 3, 1), (6, 2), [0.0, 1.0, 2.0], [3.0, 4.0])
    """
    lookback = _check_int("lookback", lookback)
    horizon = _check_int("horizon", horizon)
    values = np.asarray(values, dtype="float32")
    if values.ndim == 1:
        values = values[:, None]
    if origins is None:
        origins = np.arange(lookback - 1, len(values) - horizon)
    origins = np.asarray(origins, dtype=int)
    if origins.size and (origins.min() < lookback - 1 or origins.max() + horizon >= len(values)):
        raise ValueError(
            f"Received origins outside [{lookback - 1}, {len(values) - horizon - 1}] for "
            f"lookback {lookback}, horizon {horizon} and {len(values)} points."
        )
    offsets = np.arange(-lookback + 1, 1)
    x = values[origins[:, None] + offsets[None, :]]
    y = values[origins[:, None] + np.arange(1, horizon + 1)[None, :], target_index]
    return x.reshape(len(origins), lookback, values.shape[1]), y.reshape(len(origins), horizon)


def window_dataset(
    values: np.ndarray,
    lookback: int,
    horizon: int,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int | None = None,
    target_index: int = 0,
    target_shape: str = "2d",
) -> Any:
    """Windows as a batched `tf.data.Dataset`, via `keras.utils.timeseries_dataset_from_array`.

    Every window of `lookback` consecutive rows of `values` whose `horizon`
    next target values exist becomes one `(x, y)` example.

    Args:
        values: Array `(time, features)` (or `(time,)`).
        lookback: Input window length.
        horizon: Number of target steps.
        batch_size: Windows per batch.
        shuffle: Shuffle the windows (reproducibly with `seed`).
        seed: Shuffle seed.
        target_index: Column of the target.
        target_shape: "2d" for targets `(batch, horizon)`, "3d" for
            `(batch, horizon, 1)`.

    Returns:
        A dataset of `(x, y)` with `x` float32 `(batch, lookback, features)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.data import timeseries
    >>> ds = timeseries.window_dataset(np.arange(10.0), lookback=3, horizon=2, batch_size=4)
    >>> x, y = next(iter(ds))
    >>> tuple(x.shape), tuple(y.shape), y.numpy()[0].tolist()
    ((4, 3, 1), (4, 2), [3.0, 4.0])
    """
    import keras

    lookback = _check_int("lookback", lookback)
    horizon = _check_int("horizon", horizon)
    batch_size = _check_int("batch_size", batch_size)
    values = np.asarray(values, dtype="float32")
    if values.ndim == 1:
        values = values[:, None]
    n_windows = len(values) - lookback - horizon + 1
    if n_windows < 1:
        raise ValueError(
            f"Received {len(values)} points, fewer than lookback ({lookback}) + horizon "
            f"({horizon}) = {lookback + horizon}: no window fits."
        )
    targets = np.lib.stride_tricks.sliding_window_view(values[lookback:, target_index], horizon)
    targets = np.ascontiguousarray(targets[:n_windows])
    if target_shape == "3d":
        targets = targets[..., None]
    return keras.utils.timeseries_dataset_from_array(
        values[: n_windows + lookback - 1],
        targets,
        sequence_length=lookback,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
    )


# --------------------------------------------------------------------- seasons
def infer_season(
    values: np.ndarray | pd.Series, max_lag: int | None = None, min_lag: int = 2
) -> int | None:
    """The seasonal period of a series, from its autocorrelation.

    The series is detrended (a least-squares line is removed), its
    autocorrelation computed up to `max_lag`, and the period is the
    smallest local maximum that is clearly significant (above `3 / sqrt(n)` and
    0.1) and
    within 90% of the highest one (so multiples of the period lose to it).

    Args:
        values: The series (training part only, to keep the test part unseen).
        max_lag: Largest period considered (default: a third of the length).
        min_lag: Smallest period considered (>= 2).

    Returns:
        The period in steps, or None when no significant seasonality is found.

    Example:

    >>> from lstm_apps.data import timeseries
    >>> timeseries.infer_season(timeseries.synthetic(1000, noise_sigma=1.0))
    50
    """
    y = np.asarray(values, dtype="float64").ravel()
    n = len(y)
    min_lag = _check_int("min_lag", min_lag, minimum=2)
    if max_lag is None:
        max_lag = n // 3
    max_lag = min(_check_int("max_lag", max_lag), n - 2)
    if n < 8 or max_lag <= min_lag:
        return None
    t = np.arange(n)
    y = y - np.polyval(np.polyfit(t, y, 1), t)
    denom = float(np.dot(y, y))
    if denom <= 0:
        return None
    spectrum = np.fft.rfft(y, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: max_lag + 2] / denom
    lags = np.arange(min_lag, max_lag + 1)
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1])]
    peaks = peaks[acf[peaks] > max(0.1, 3.0 / math.sqrt(n))]
    if not len(peaks):
        return None
    best = acf[peaks].max()
    return int(peaks[acf[peaks] >= 0.9 * best][0])

