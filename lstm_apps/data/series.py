"""User series in: reading and checking them, and what their timestamps and values tell.

- `from_dataframe` / `read_csv`: user data (a target column plus optional
  covariate columns) checked for everything that would make training fail
  or lie: a missing `DatetimeIndex`, unsorted or duplicate timestamps,
  non-numeric columns, NaN or inf values (an error unless `fill` says how to
  fill them), timestamps missing from a regular grid.
- `infer_freq`: the pandas frequency of a regular `DatetimeIndex`.
- `infer_season`: the seasonal period, from the autocorrelation of the
  training part (where the frequency gives none: see
  `lstm_apps.forecasting.transforms.season_from_freq`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lstm_apps._validation import check_choice, check_int, check_text

__all__ = [
    "FILL_METHODS",
    "from_dataframe",
    "infer_freq",
    "infer_season",
    "read_csv",
]

logger = logging.getLogger(__name__)

#: Ways to handle NaN / inf values in user data (`fill` argument).
FILL_METHODS = ("raise", "ffill", "interpolate")


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """The pandas frequency string of a regular `DatetimeIndex`, else None.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.data.series import infer_freq
    >>> infer_freq(pd.date_range("2024-01-01", periods=5, freq="W"))
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
    >>> from lstm_apps.data.series import from_dataframe
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D")
    >>> frame = pd.DataFrame({"sales": [1.0, None, 3.0, 4.0], "temp": [5, 6, 7, 8]}, idx)
    >>> out = from_dataframe(frame, "sales", ["temp"], fill="interpolate")
    >>> out["sales"].tolist(), out.attrs["freq"]
    ([1.0, 2.0, 3.0, 4.0], 'D')
    """
    check_choice("fill", fill, FILL_METHODS)
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
    >>> from lstm_apps.data.series import read_csv
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sales.csv"
    >>> _ = path.write_text("day,sales\\n2024-01-01,3\\n2024-01-02,4\\n2024-01-03,5\\n")
    >>> read_csv(path, date_col="day", target="sales")["sales"].tolist()
    [3.0, 4.0, 5.0]
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Received `csv` path {path!r}, which is not a file.")
    for name, value in (("date_col", date_col), ("target", target)):
        check_text(name, value, expected="a column name (str)")
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

    >>> from lstm_apps.data.series import infer_season
    >>> from lstm_apps.data.synthetic import synthetic
    >>> infer_season(synthetic(1000, noise_sigma=1.0))
    50
    """
    y = np.asarray(values, dtype="float64").ravel()
    n = len(y)
    min_lag = check_int("min_lag", min_lag, 2)
    if max_lag is None:
        max_lag = n // 3
    max_lag = min(check_int("max_lag", max_lag, 1), n - 2)
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
