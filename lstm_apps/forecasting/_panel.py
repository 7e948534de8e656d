"""User series in, checked panel out: one or many series, long frames, covariates.

Private to `lstm_apps.forecasting`: `LSTMForecaster` calls `to_panel` on
whatever `fit`, `predict` and `historical_forecasts` receive.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lstm_apps.data.series import infer_freq

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Item:
    """One series: its id, timestamps, values and covariates (aligned)."""

    id: Any
    index: pd.DatetimeIndex
    y: np.ndarray
    past: np.ndarray | None = None  # (n, p), aligned with index
    future: pd.DataFrame | None = None  # indexed by timestamps, may run past the end
    static: np.ndarray | None = None  # (s,)


@dataclasses.dataclass
class Panel:
    """The checked series, their shared frequency and how they came in."""

    items: list[Item]
    freq: str
    kind: str  # "single", "list" or "long"
    id_col: str = "unique_id"
    time_col: str = "ds"
    target_col: str = "y"
    past_columns: tuple[str, ...] = ()
    future_columns: tuple[str, ...] = ()
    static_columns: tuple[str, ...] = ()


def _series_from(obj: Any, name: str, target: str | None) -> pd.Series:
    if isinstance(obj, pd.DataFrame):
        if target is not None and target in obj.columns:
            obj = obj[target]
        elif obj.shape[1] == 1:
            obj = obj.iloc[:, 0]
        else:
            raise ValueError(
                f"Received `{name}` with columns {list(obj.columns)}, expected one column or "
                f"`target_col` naming the target (got {target!r})."
            )
    if not isinstance(obj, pd.Series):
        raise TypeError(
            f"Received an invalid value for argument `{name}`, expected a pandas Series or "
            f"DataFrame with a DatetimeIndex, a list of them, or a long DataFrame with an id "
            f"column, got {type(obj).__name__}."
        )
    if not isinstance(obj.index, pd.DatetimeIndex):
        raise TypeError(
            f"Received `{name}` with a {type(obj.index).__name__}, expected a DatetimeIndex "
            "(use `series.index = pd.to_datetime(...)`)."
        )
    return obj


def _check_values(series: pd.Series, label: str) -> tuple[np.ndarray, str]:
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
        series.dtype
    ):
        raise ValueError(f"Received non-numeric values ({series.dtype}) in series {label}.")
    index = series.index
    if index.has_duplicates:
        raise ValueError(f"Received duplicate timestamps in series {label}.")
    if not index.is_monotonic_increasing:
        raise ValueError(f"Received unsorted timestamps in series {label}: sort the index.")
    values = series.to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"Received {int(bad.sum())} NaN / inf values in series {label} (first at "
            f"{index[int(np.argmax(bad))]}): fill them first (e.g. `series.interpolate()`)."
        )
    freq = infer_freq(index)
    if freq is None:
        raise ValueError(
            f"Received series {label} with irregular timestamps (no frequency can be "
            "inferred): make them regular first, e.g. `series.asfreq('MS').interpolate()`."
        )
    return values, freq


def _split_long(frame: pd.DataFrame, id_col: str, time_col: str, name: str) -> dict[Any, Any]:
    missing = [c for c in (id_col, time_col) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Received a long DataFrame as `{name}` without the columns {missing} (columns: "
            f"{list(frame.columns)}); name them with `id_col` / `time_col`."
        )
    out = {}
    for key, part in frame.groupby(id_col, sort=False):
        part = part.drop(columns=[id_col]).set_index(pd.DatetimeIndex(part[time_col]))
        out[key] = part.drop(columns=[time_col]).sort_index()
    return out


def _per_id(obj: Any, ids: list[Any], kind: str, name: str, id_col: str, time_col: str
            ) -> list[pd.DataFrame | None]:
    """Covariate frames, one per series id (None where not given)."""
    if obj is None:
        return [None] * len(ids)
    if kind == "long":
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"Received an invalid value for argument `{name}`, expected a long DataFrame "
                f"with columns {id_col!r} and {time_col!r}, got {type(obj).__name__}."
            )
        parts = _split_long(obj, id_col, time_col, name)
        return [parts.get(i) for i in ids]
    frames = list(obj) if kind == "list" else [obj]
    if len(frames) != len(ids):
        raise ValueError(
            f"Received {len(frames)} `{name}` for {len(ids)} series: give one per series."
        )
    out = []
    for frame in frames:
        if isinstance(frame, pd.Series):
            frame = frame.to_frame()
        if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
            raise TypeError(
                f"Received an invalid value for argument `{name}`, expected DataFrames with a "
                f"DatetimeIndex, got {type(frame).__name__}."
            )
        out.append(frame)
    return out


def to_panel(
    series: Any,
    past_covariates: Any = None,
    future_covariates: Any = None,
    static_covariates: Any = None,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    name: str = "series",
) -> Panel:
    """Checks `series` (and covariates) and returns them as a `Panel`."""
    if isinstance(series, pd.DataFrame) and id_col in series.columns:
        kind = "long"
        parts = _split_long(series, id_col, time_col, name)
        if target_col not in series.columns:
            raise ValueError(
                f"Received a long DataFrame as `{name}` without the target column "
                f"{target_col!r} (columns: {list(series.columns)}); name it with `target_col`."
            )
        raw = {key: part[target_col] for key, part in parts.items()}
    elif isinstance(series, (pd.Series, pd.DataFrame)):
        kind = "single"
        only = _series_from(series, name, target_col if isinstance(series, pd.DataFrame)
                            and series.shape[1] > 1 else None)
        raw = {only.name if only.name is not None else 0: only}
    elif isinstance(series, Sequence) and not isinstance(series, str) and len(series):
        kind = "list"
        raw = {}
        for k, obj in enumerate(series):
            one = _series_from(obj, f"{name}[{k}]", target_col if isinstance(obj, pd.DataFrame)
                               and obj.shape[1] > 1 else None)
            raw[k] = one
    else:
        raise TypeError(
            f"Received an invalid value for argument `{name}`, expected a pandas Series or "
            "DataFrame with a DatetimeIndex, a non-empty list of them, or a long DataFrame "
            f"with an {id_col!r} column, got {type(series).__name__}."
        )
    ids = list(raw)
    items, freqs = [], {}
    for key in ids:
        values, freq = _check_values(raw[key], f"{key!r}")
        freqs[key] = freq
        items.append(Item(id=key, index=pd.DatetimeIndex(raw[key].index), y=values))
    if len(set(freqs.values())) > 1:
        shown = ", ".join(f"{k!r}: {v}" for k, v in list(freqs.items())[:6])
        raise ValueError(
            f"Received series with different frequencies ({shown}): one model forecasts "
            "series of one frequency; resample them to a common one."
        )
    panel = Panel(items=items, freq=next(iter(freqs.values())), kind=kind, id_col=id_col,
                  time_col=time_col, target_col=target_col)

    past = _per_id(past_covariates, ids, kind, "past_covariates", id_col, time_col)
    future = _per_id(future_covariates, ids, kind, "future_covariates", id_col, time_col)
    for item, p, f in zip(items, past, future):
        if p is not None:
            p = p.reindex(item.index)
            if p.isna().to_numpy().any():
                raise ValueError(
                    f"Received `past_covariates` for series {item.id!r} that do not cover its "
                    f"timestamps {item.index[0]} to {item.index[-1]}."
                )
            item.past = p.to_numpy(dtype="float64")
            panel.past_columns = tuple(str(c) for c in p.columns)
        if f is not None:
            if not np.all(np.isfinite(f.to_numpy(dtype="float64"))):
                raise ValueError(
                    f"Received NaN / inf values in the `future_covariates` of series {item.id!r}."
                )
            item.future = f.astype("float64")
            panel.future_columns = tuple(str(c) for c in f.columns)
    if static_covariates is not None:
        table = _static_table(static_covariates, ids, kind)
        for item in items:
            item.static = table.loc[item.id].to_numpy(dtype="float64")
        panel.static_columns = tuple(str(c) for c in table.columns)
    return panel


def _static_table(static: Any, ids: list[Any], kind: str) -> pd.DataFrame:
    if isinstance(static, Mapping) and kind == "single":
        static = pd.DataFrame([static], index=ids)
    elif isinstance(static, pd.Series) and kind == "single":
        static = static.to_frame().T.set_axis(ids)
    if not isinstance(static, pd.DataFrame):
        raise TypeError(
            "Received an invalid value for argument `static_covariates`, expected a DataFrame "
            f"with one row per series id (index: the ids), got {type(static).__name__}."
        )
    if kind == "list" and list(static.index) != ids:
        static = static.set_axis(ids) if len(static) == len(ids) else static
    missing = [i for i in ids if i not in static.index]
    if missing:
        raise ValueError(
            f"Received `static_covariates` without rows for the series {missing[:5]}."
        )
    values = static.loc[ids]
    if not all(pd.api.types.is_numeric_dtype(t) for t in values.dtypes):
        raise ValueError("Received non-numeric `static_covariates`: encode them as numbers.")
    return values.astype("float64")
