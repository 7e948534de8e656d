"""Time-series forecasting recipe: `run(config, data) -> ForecastResult`.

A thin layer over `lstm_apps.forecasting.LSTMForecaster`: config in, the
forecaster fitted on the data before the test part, scored from every test
origin beside the baselines, and a run folder out.

- The test part is the last `test_size` points; the forecaster is fitted on
  everything before it and forecasts `horizon` steps from every `stride`-th
  origin in it, seeing only the data up to each origin (the network is not
  retrained; per-series transforms and the classical models are fitted on
  the data up to the origin: `LSTMForecaster.historical_forecasts`).
- The baselines, on the same windows: naive, seasonal naive, drift, and the
  automatic AutoETS, AutoARIMA and Theta of statsforecast
  (`lstm_apps.forecasting.baselines`). The forecaster's own forecast is
  "model"; with a classical combination, the LSTM alone is "lstm". On a
  series made by `lstm_apps.data.timeseries.synthetic`, the best possible
  forecast ("oracle", trend + seasonality known exactly) is added for
  reference, and the noise floor is reported.
- Metrics: MAE, RMSE, MASE (scaled by the in-sample seasonal-naive MAE of the
  training part) and sMAPE (0-200), overall and per horizon step; the
  intervals' coverage, mean width, Winkler score and pinball loss (a
  coverage more than 10 points from its level is warned about).

The run folder holds `forecaster/` (`LSTMForecaster.save`: what `forecast`
and `LSTMForecaster.load` need), `metrics.json` (strict JSON: a metric that
is undefined, such as the MASE of a constant series, is null),
`metrics.csv`, `predictions.csv`, `forecast.csv` (the steps after the end of
the data), `history.csv`, `config.json`, `tb/` and `plots/`. Training is
resumable after kill -9 or Ctrl-C (`lstm-apps forecast --resume RUN`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstm_apps import _io, _runs
from lstm_apps._validation import check_choice, check_int, check_real, check_text
from lstm_apps.data import timeseries as ts
from lstm_apps.data.synthetic import GENERATOR
from lstm_apps.forecasting import COMBINE_WEIGHTS, LSTMForecaster, interval_columns
from lstm_apps.forecasting import baselines as _baselines
from lstm_apps.forecasting import metrics as _metrics
from lstm_apps.forecasting.metrics import metrics_table
from lstm_apps.recipes._base import RunConfig, config_field, output_dir_field, run_name_field
from lstm_apps.recipes._common import check_cell, config_to_dict, gates_traceable

__all__ = [
    "BASELINES",
    "ForecastConfig",
    "ForecastResult",
    "backtest",
    "forecast",
    "load_data",
    "load_forecaster",
    "make_forecaster",
    "metrics_table",
    "run",
    "training_data",
]

logger = logging.getLogger(__name__)

#: Baselines scored beside the model, on the same test windows.
BASELINES = _baselines.SIMPLE + _baselines.CLASSICAL
_METRICS = _metrics.METRICS


@dataclasses.dataclass(frozen=True)
class ForecastConfig(RunConfig):
    """Settings of a forecasting run (every field is a `lstm-apps forecast` option).

    Data comes from, in order: the `data` argument of `run`, `csv`, or the
    synthetic preset `synthetic`. The model settings are those of
    `lstm_apps.forecasting.LSTMForecaster` (`make_forecaster`), with its
    defaults; the run settings (`seed`, `output_dir`, `run_name`, `plots`,
    `verbose`) are those of `RunConfig`.

    Example:

    >>> from lstm_apps.recipes.forecast import ForecastConfig
    >>> ForecastConfig(cell="peephole", horizon=5).lookback is None  # chosen from the data
    True
    >>> ForecastConfig(horizon=0)
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `horizon`, expected an integer >= 1, got 0.
    """

    # -- data
    synthetic: str = config_field(
        "synthetic preset used when no CSV or data is given", choices=ts.PRESETS, default="default"
    )
    length: int | None = config_field(
        "length of the synthetic series (default: the preset's)", default=None
    )
    csv: str | None = config_field("CSV file with a date column and the target", default=None)
    date_col: str | None = config_field("name of the CSV's date column", default=None)
    target: str | None = config_field("name of the column to forecast", default=None)
    covariates: tuple[str, ...] = config_field(
        "other numeric columns fed to the model (past values)", default=()
    )
    freq: str | None = config_field(
        "pandas frequency of the data (default: inferred)", default=None
    )
    fill: str = config_field(
        "NaN / inf in the data: raise, ffill or interpolate",
        choices=ts.FILL_METHODS,
        default="raise",
    )
    # -- evaluation
    horizon: int = config_field("steps forecast at once (direct multi-output)", default=10)
    test_size: float = config_field("test part: a fraction (<1) or a number of points", default=0.2)
    stride: int = config_field("steps between forecast origins in the test part", default=1)
    # -- model (LSTMForecaster)
    lookback: int | None = config_field(
        "input window length (default: chosen from the horizon, season, length)", default=None
    )
    season: int | None = config_field(
        "seasonal period (default: from the frequency, else the data; 1: none)", default=None
    )
    cell: str = config_field("lstm_apps cell or variant, keras_lstm or gru", default="standard")
    units: int = config_field("units per recurrent layer", default=8)
    layers: int = config_field("stacked recurrent layers", default=1)
    dropout: float = config_field("dropout before the output layer", default=0.3)
    ensemble: int = config_field("independently initialised networks, median forecast", default=1)
    combine: tuple[str, ...] = config_field(
        "classical models combined with the LSTM (none: the LSTM alone)",
        default=_baselines.CLASSICAL,
    )
    combine_weights: str = config_field(
        "how the members are combined: their median at each step, their mean (equal), or a "
        "mean weighted by each member's errors on the end of the training part (calibrated)",
        choices=COMBINE_WEIGHTS,
        default="median",
    )
    # -- training
    steps: int = config_field("optimisation steps (batches) of the training", default=600)
    epochs: int = config_field(
        "Keras epochs the steps are split into (progress, checkpoints)", default=10
    )
    batch_size: int = config_field("windows per batch", default=64)
    learning_rate: float = config_field(
        "initial Adam learning rate (cosine decay to a tenth)", default=1e-2
    )
    # -- intervals
    intervals: bool = config_field(
        "conformal prediction intervals and their coverage", default=True
    )
    interval_level: float = config_field("nominal coverage of the intervals", default=0.8)
    calibration_origins: int | None = config_field(
        "origins per series that calibrate the intervals (default: from length)", default=None
    )
    # -- outputs
    gate_monitor: bool = config_field(
        "log gate activations to TensorBoard (lstm_apps.callbacks.GateMonitor)", default=False
    )
    output_dir: str | None = output_dir_field("runs/forecast")
    run_name: str | None = run_name_field("cell")

    def __post_init__(self) -> None:
        super().__post_init__()

        def setattr_(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        setattr_("cell", check_cell(self.cell))
        check_choice("synthetic", self.synthetic, list(ts.PRESETS))
        check_choice("fill", self.fill, ts.FILL_METHODS)
        check_choice("combine_weights", self.combine_weights, COMBINE_WEIGHTS)
        minimums = {
            **dict.fromkeys(("horizon", "stride", "units", "layers", "ensemble", "steps",
                             "epochs", "batch_size", "calibration_origins"), 1),
            "length": 2,
            **dict.fromkeys(("season", "lookback"), 1),
        }
        for name, minimum in minimums.items():
            value = getattr(self, name)
            optional = name in ("length", "season", "lookback", "calibration_origins")
            setattr_(name, check_int(name, value, minimum, optional=optional))
        setattr_("dropout", check_real("dropout", self.dropout, 0.0, 1.0, high_open=True))
        setattr_("learning_rate", check_real("learning_rate", self.learning_rate, 0.0, 1.0,
                                             low_open=True))
        setattr_("interval_level", check_real("interval_level", self.interval_level, 0.0, 1.0,
                                              low_open=True, high_open=True))
        value = self.test_size
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(
                "Received an invalid value for argument `test_size`, expected a fraction in "
                f"(0, 1) or a number of points, got {value!r}."
            )
        if value <= 0 or (isinstance(value, float) and value >= 1.0):
            raise ValueError(
                "Received an invalid value for argument `test_size`, expected a fraction in "
                f"(0, 1) or a number of points >= 1 (the test part is what the model and the "
                f"baselines are scored on), got {value!r}."
            )
        for name in ("csv", "date_col", "target", "freq"):
            check_text(name, getattr(self, name), optional=True)
        for name in ("covariates", "combine"):
            names = getattr(self, name)
            if names is None and name == "combine":
                names = ()
            if isinstance(names, str) or not isinstance(names, Sequence) or not all(
                isinstance(c, str) for c in names
            ):
                raise TypeError(
                    f"Received an invalid value for argument `{name}`, expected a sequence "
                    f"of names, got {names!r}."
                )
            setattr_(name, tuple(names))
        combine = tuple(c for c in self.combine if c.lower() not in ("none", ""))
        unknown = [c for c in combine if c not in _baselines.CLASSICAL]
        if unknown:
            raise ValueError(
                "Received an invalid value for argument `combine`, expected names from "
                f"{list(_baselines.CLASSICAL)} (or none), got {list(self.combine)}."
            )
        setattr_("combine", combine)
        if self.csv is not None and (self.date_col is None or self.target is None):
            raise ValueError(
                f"Received `csv`={self.csv!r} without `date_col` and `target`: both are "
                "needed to read a CSV (e.g. --date-col date --target sales)."
            )
        if self.gate_monitor:
            if not gates_traceable(self.cell):
                raise ValueError(
                    f"Received `gate_monitor`=True with `cell`={self.cell!r}: gate "
                    "monitoring needs a cell that gate tracing covers (an lstm_apps cell or "
                    "keras_lstm; not gru)."
                )
            if self.output_dir is None:
                raise ValueError(
                    "Received `gate_monitor`=True with `output_dir`=None: the gate logs "
                    "go to the run folder's tb/."
                )


# ====================================================================== result
@dataclasses.dataclass
class ForecastResult:
    """What `run` returns.

    Attributes:
        config: The run's `ForecastConfig`.
        model: The fitted `LSTMForecaster` (fitted on the data before the
            test part).
        history: Training loss per epoch (columns "epoch", "phase", "loss").
        metrics: Headline numbers (the model's MAE, RMSE, MASE, sMAPE, the
            baselines', interval coverage and scores, season, lookback,
            timings), as written to `metrics.json`.
        table: MAE, RMSE, MASE and sMAPE of the model and every baseline
            side by side: index `(metric, step)` with step "all" then
            1..horizon, one column per forecaster.
        predictions: Every test forecast, one row per (origin, step): the
            actual value, the model's forecast and bounds, each baseline's.
        intervals: Coverage and mean width of the intervals per step (None
            without intervals).
        data: The series used (target first, then covariates).
        test_start: Position of the first test point in `data`.
        season: The seasonal period used (1: none).
        run_dir: The run folder (None when `output_dir` is None).
        paths: Files written, by name.
    """

    config: ForecastConfig
    model: LSTMForecaster
    history: pd.DataFrame
    metrics: dict[str, Any]
    table: pd.DataFrame
    predictions: pd.DataFrame
    intervals: pd.DataFrame | None
    data: pd.DataFrame
    test_start: int
    season: int
    run_dir: Path | None
    paths: dict[str, Path]

    def summary(self) -> pd.DataFrame:
        """Overall metrics: one row per metric, one column per forecaster."""
        return self.table.xs("all", level="step")

    def forecast(self, horizon: int | None = None) -> pd.DataFrame:
        """Forecast of the steps after the end of `data` (see `forecast`)."""
        return forecast(self.model, self.data, horizon=horizon)


# ====================================================================== data
def load_data(config: ForecastConfig, data: Any = None) -> pd.DataFrame:
    """The run's data as a checked DataFrame (target first, then covariates).

    Args:
        config: A `ForecastConfig`.
        data: A pandas Series or DataFrame with a `DatetimeIndex`; when None
            the data comes from `config.csv`, else the synthetic preset
            `config.synthetic`.

    Returns:
        The DataFrame of `lstm_apps.data.timeseries.from_dataframe`, with
        `attrs["source"]` describing where it came from.

    Example:

    >>> from lstm_apps.recipes.forecast import ForecastConfig, load_data
    >>> load_data(ForecastConfig(length=500)).shape
    (500, 1)
    """
    if data is not None:
        frame = ts.from_dataframe(
            data, target=config.target, covariates=config.covariates, fill=config.fill,
            freq=config.freq,
        )
        source = "data"
    elif config.csv is not None:
        frame = ts.read_csv(
            config.csv, date_col=config.date_col, target=config.target,
            covariates=config.covariates, fill=config.fill, freq=config.freq,
        )
        source = f"csv:{config.csv}"
    else:
        if config.covariates:
            raise ValueError(
                f"Received `covariates`={list(config.covariates)} for the synthetic "
                "series, which has none: pass data or a CSV with those columns."
            )
        overrides = {} if config.length is None else {"length": config.length}
        series = ts.synthetic_preset(config.synthetic, **overrides)
        frame = ts.from_dataframe(series)
        frame.attrs["synthetic"] = dict(series.attrs)
        source = f"synthetic:{config.synthetic}"
    frame.attrs["source"] = source
    if data is not None and isinstance(getattr(data, "attrs", None), dict) and (
        data.attrs.get("generator") == GENERATOR
    ):
        frame.attrs["synthetic"] = dict(data.attrs)
    return frame


def _synthetic_parts(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The components of a series made by `synthetic`, if it is one (else None)."""
    attrs = frame.attrs.get("synthetic")
    if not attrs or frame.shape[1] != 1 or frame.index.freq is None:
        return None
    try:
        parts = ts.synthetic_components(
            len(frame),
            trend=attrs["trend"],
            seasonalities=attrs["seasonalities"],
            noise_sigma=attrs["noise_sigma"],
            ar=attrs["ar"],
            intercept=attrs["intercept"],
            start=frame.index[0],
            freq=frame.index.freq,
            seed=attrs["seed"],
        )
    except (KeyError, TypeError, ValueError):
        return None
    if not np.allclose(parts["y"].to_numpy(), frame.iloc[:, 0].to_numpy()):
        return None
    return parts


# ====================================================================== model
def make_forecaster(config: ForecastConfig) -> LSTMForecaster:
    """The (unfitted) `LSTMForecaster` of a config's model and training settings.

    Example:

    >>> from lstm_apps.recipes.forecast import ForecastConfig, make_forecaster
    >>> make_forecaster(ForecastConfig(horizon=4, units=8, combine=())).combine
    ()
    """
    if not isinstance(config, ForecastConfig):
        raise TypeError(
            "Received an invalid value for argument `config`, expected a ForecastConfig, "
            f"got {type(config).__name__}."
        )
    return LSTMForecaster(
        horizon=config.horizon, cell=config.cell, lookback=config.lookback,
        season=config.season, units=config.units, layers=config.layers,
        ensemble=config.ensemble, steps=config.steps, epochs=min(config.epochs, config.steps),
        batch_size=config.batch_size, learning_rate=config.learning_rate,
        dropout=config.dropout, combine=config.combine,
        combine_weights=config.combine_weights,
        levels=(config.interval_level,) if config.intervals else (),
        calibration_origins=config.calibration_origins, seed=config.seed,
        verbose=config.verbose,
    )


def _test_start(config: ForecastConfig, n: int) -> int:
    size = config.test_size
    n_test = int(round(size * n)) if isinstance(size, float) else int(size)
    if n_test < config.horizon:
        raise ValueError(
            f"Received `test_size`={size!r}: {n_test} test points of a series of {n}, but "
            f"a forecast of `horizon`={config.horizon} steps needs at least {config.horizon}."
        )
    need = 2 * config.horizon + 2
    if n - n_test < need:
        raise ValueError(
            f"Received `test_size`={size!r}: {n_test} test points of a series of {n} leave "
            f"{n - n_test} to fit on, and `horizon`={config.horizon} needs at least {need} "
            "(more with the calibration of the intervals): lower `test_size` or `horizon`."
        )
    return n - n_test


def _parts_of(frame: pd.DataFrame, end: int | None = None) -> tuple[pd.Series, Any]:
    """The target Series and the covariate frame (None without covariates)."""
    part = frame if end is None else frame.iloc[:end]
    target = part.iloc[:, 0]
    return target, (part.iloc[:, 1:] if part.shape[1] > 1 else None)


def training_data(
    config: ForecastConfig, data: Any = None
) -> tuple[pd.Series, pd.DataFrame | None]:
    """What `run` fits the forecaster on: the target and covariates before the test part.

    Example:

    >>> from lstm_apps.recipes.forecast import ForecastConfig, training_data
    >>> target, covariates = training_data(ForecastConfig(length=500))
    >>> len(target), covariates is None
    (400, True)
    """
    frame = load_data(config, data)
    return _parts_of(frame, _test_start(config, len(frame)))


def _callbacks(config: ForecastConfig, run_dir: Path | None, forecaster: LSTMForecaster):
    """Per training phase: resumable state, TensorBoard, the gate monitor."""
    if run_dir is None:
        return None

    def phase_callbacks(phase: str) -> list[Any]:
        import keras

        out = [*_runs.training_callbacks(run_dir, tag=phase),
               keras.callbacks.TensorBoard(log_dir=str(run_dir / "tb" / phase))]
        if config.gate_monitor:
            from lstm_apps.callbacks import GateMonitor

            out.append(GateMonitor(log_dir=str(run_dir / "tb" / phase),
                                   probe=forecaster.network_inputs(8)))
        return out

    return phase_callbacks


def _history(run_dir: Path | None, history: pd.DataFrame) -> pd.DataFrame:
    """The epochs of both phases (with those before a resumption), numbered 1, 2, ..."""
    parts = []
    for phase, part in history.groupby("phase", sort=False):
        frame = _runs.history(run_dir, part.drop(columns="phase").to_dict("list"), tag=phase)
        parts.append(frame.drop(columns="epoch").assign(phase=phase))
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "epoch", range(1, len(out) + 1))
    return out


def _run_dir(config: ForecastConfig, kind: str = "forecast",
             **settings: Any) -> Path | None:
    """The run folder, started by `lstm_apps._runs` (fresh, writable) before training.

    `settings` are saved beside the config's (and checked on resuming).
    """
    if config.output_dir is None:
        return None
    path = _runs.fresh_path(config.output_dir, config.run_name, kind, config.cell)
    return _runs.start(path, {**config_to_dict(config), **settings})


# ====================================================================== run
def run(config: ForecastConfig | None = None, data: Any = None) -> ForecastResult:
    """Fits the forecaster before the test part; scores it and the baselines there.

    Everything is checked before training starts: the config (when it is
    built), the data (NaN / inf, sorting, duplicates, types) and its length
    (the message gives the numbers and the setting to change).

    Args:
        config: A `ForecastConfig` (default: `ForecastConfig()`, the
            synthetic "default" series).
        data: Optional pandas Series / DataFrame with a `DatetimeIndex`
            (target `config.target`, covariates `config.covariates`); it
            replaces `config.csv` and the synthetic series.

    Returns:
        A `ForecastResult`; with `config.output_dir`, its run folder (see the
        module docstring).

    Example:

    >>> from lstm_apps.recipes import forecast
    >>> config = forecast.ForecastConfig(length=300, horizon=5, units=8, steps=20,
    ...                                  combine=(), stride=15, output_dir=None)
    >>> result = forecast.run(config)
    >>> list(result.summary().columns)
    ['model', 'naive', 'seasonal_naive', 'drift', 'auto_ets', 'auto_arima', 'theta', 'oracle']
    """
    config = ForecastConfig() if config is None else config
    if not isinstance(config, ForecastConfig):
        raise TypeError(
            "Received an invalid value for argument `config`, expected a ForecastConfig, "
            f"got {type(config).__name__}."
        )
    started = time.perf_counter()
    frame = load_data(config, data)
    start = _test_start(config, len(frame))
    if config.gate_monitor:
        from lstm_apps.callbacks import GateMonitor  # noqa: F401  (fails before training)
    forecaster = make_forecaster(config)
    run_dir = _run_dir(config)
    target, covariates = _parts_of(frame, start)
    fit_start = time.perf_counter()
    forecaster.fit(target, past_covariates=covariates,
                   callbacks=_callbacks(config, run_dir, forecaster))
    train_seconds = time.perf_counter() - fit_start
    history = _history(run_dir, forecaster.history_)

    # ---- test windows: model, baselines, oracle
    full, full_covariates = _parts_of(frame)
    rows = forecaster.historical_forecasts(
        full, start=start, stride=config.stride, past_covariates=full_covariates,
        baselines=True)
    horizon = config.horizon
    actual = rows["actual"].to_numpy().reshape(-1, horizon)
    origins = frame.index.get_indexer(pd.DatetimeIndex(rows["origin"].iloc[::horizon]))
    names = ["forecast", *(["lstm"] if config.combine else []), *BASELINES]
    forecasts = {("model" if n == "forecast" else n): rows[n].to_numpy().reshape(-1, horizon)
                 for n in names}
    values = frame.iloc[:, 0].to_numpy(dtype="float64")
    parts = _synthetic_parts(frame)
    floor = None
    if parts is not None:
        attrs = frame.attrs["synthetic"]
        forecasts["oracle"] = ts.optimal_forecasts(parts, origins, horizon, ar=attrs["ar"])
        floor = ts.noise_floor_mae(attrs["noise_sigma"], horizon, ar=attrs["ar"])
    season = int(forecaster.season_)
    table = metrics_table(actual, forecasts, values[:start], season)
    predictions = rows.drop(columns=["id"]).rename(columns={"forecast": "model"})
    if parts is not None:
        predictions["oracle"] = forecasts["oracle"].ravel()
    if not config.combine:
        predictions = predictions.drop(columns=["lstm"])

    intervals, coverage = None, {}
    if config.intervals:
        lo, hi = interval_columns(config.interval_level)
        lower = rows[lo].to_numpy().reshape(-1, horizon)
        upper = rows[hi].to_numpy().reshape(-1, horizon)
        predictions = predictions.rename(columns={lo: "lower", hi: "upper"})
        inside = (actual >= lower) & (actual <= upper)
        width = upper - lower
        intervals = pd.DataFrame(
            {"coverage": [inside.mean(), *inside.mean(axis=0)],
             "width": [width.mean(), *width.mean(axis=0)]},
            index=pd.Index(["all", *range(1, horizon + 1)], name="step"),
        )
        level = config.interval_level
        coverage = {
            "interval_method": "conformal",
            "interval_level": level,
            "coverage": float(inside.mean()),
            "coverage_per_step": [float(v) for v in inside.mean(axis=0)],
            "interval_width": float(width.mean()),
            "winkler": _metrics.winkler_score(actual, lower, upper, level),
            "pinball": 0.5 * (_metrics.pinball_loss(actual, lower, (1 - level) / 2)
                              + _metrics.pinball_loss(actual, upper, (1 + level) / 2)),
        }
        if abs(coverage["coverage"] - level) > 0.10:
            logger.warning("the %g%% intervals covered %.1f%% of the test values", 100 * level,
                           100 * coverage["coverage"])

    overall = table.xs("all", level="step")
    metrics: dict[str, Any] = {
        **{metric: _finite(overall.loc[metric, "model"]) for metric in _METRICS},
        "baselines": {
            name: {metric: _finite(overall.loc[metric, name]) for metric in _METRICS}
            for name in overall.columns if name != "model"
        },
        "beats_baselines": {
            metric: bool(all(overall.loc[metric, "model"] < overall.loc[metric, b]
                             for b in BASELINES))
            for metric in _METRICS
        },
        "table": _table_to_dict(table),
        **coverage,
        "season": season,
        "season_source": forecaster.season_source_,
        "lookback": int(forecaster.lookback_),
        # how the members are combined, and each one's weight in a mean (empty for
        # the median and for the LSTM alone)
        "combination": forecaster.combine_weights if forecaster.combine else None,
        "combination_weights": dict(forecaster.weights_),
        # the forecast's errors at the calibration origins (the end of the training part)
        "validation": {k: (int(v) if k == "forecasts" else _finite(v))
                       for k, v in forecaster.validation_.items()},
        "cell": config.cell,
        "epochs_run": int(len(history)),
        "train_seconds": round(train_seconds, 2),
        "windows": {"test": int(len(origins))},
        "data": {
            "source": frame.attrs.get("source"),
            "length": int(len(frame)),
            "start": str(frame.index[0]),
            "end": str(frame.index[-1]),
            "freq": frame.attrs.get("freq"),
            "columns": [str(c) for c in frame.columns],
            "test_start": str(frame.index[start]),
        },
    }
    if floor is not None:
        metrics["noise_floor_mae"] = [float(v) for v in floor]
        metrics["mae_over_floor"] = [
            float(v) for v in table.loc["mae"]["model"].drop("all").to_numpy() / floor
        ]
    result = ForecastResult(
        config=config, model=forecaster, history=history, metrics=metrics, table=table,
        predictions=predictions, intervals=intervals, data=frame, test_start=start,
        season=season, run_dir=run_dir, paths={},
    )
    if run_dir is not None:
        result.paths = _write_run(result, floor)
    metrics["total_seconds"] = round(time.perf_counter() - started, 2)
    if run_dir is not None:
        _io.write_json(run_dir / "metrics.json", metrics)
    logger.info("forecast run done in %.1f s: %s", metrics["total_seconds"], run_dir)
    return result


def _finite(value: Any) -> float | None:
    """A float, or None where it is undefined (NaN / inf: null in JSON)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _table_to_dict(table: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in table.columns:
        out[name] = {
            metric: {str(step): _finite(v) for step, v in table[name].loc[metric].items()}
            for metric in table.index.get_level_values("metric").unique()
        }
    return out


def _write_run(result: ForecastResult, floor: np.ndarray | None) -> dict[str, Path]:
    run_dir = result.run_dir
    assert run_dir is not None
    paths = {
        "forecaster": result.model.save(run_dir / "forecaster"),
        "history": _io.write_csv(run_dir / "history.csv", result.history),
        "config": _io.write_json(run_dir / "config.json", config_to_dict(result.config)),
        "table": _io.write_csv(run_dir / "metrics.csv", result.table, index=True),
        "predictions": _io.write_csv(run_dir / "predictions.csv", result.predictions),
        "metrics": run_dir / "metrics.json",
        "tb": run_dir / "tb",
    }
    future = result.forecast()
    paths["forecast"] = _io.write_csv(run_dir / "forecast.csv", future, index=True)
    if result.config.plots:
        from lstm_apps.plots import forecast as fplots

        predictions = result.predictions
        last_origin = predictions["origin"].iloc[-1]
        position = int(result.data.index.get_loc(last_origin))
        horizon = result.config.horizon
        shown = predictions[predictions["origin"] == last_origin].set_index("timestamp")
        tail = max(4 * horizon, min(result.metrics["lookback"], 300))
        figures = {
            "forecast": fplots.plot_forecast(
                result.data.iloc[: position + 1, 0],
                shown.rename(columns={"model": "forecast"}),
                actual=result.data.iloc[position + 1 : position + 1 + horizon, 0],
                tail=tail, title=f"Last test window: {result.config.cell} forecast",
            ),
            "test_predictions": fplots.plot_test_predictions(predictions),
            "error_by_horizon": fplots.plot_horizon_errors(result.table, "mae", floor=floor),
            "learning_curves": fplots.plot_learning_curves(result.history),
            "future": fplots.plot_forecast(
                result.data.iloc[:, 0], future, tail=tail,
                title="Forecast after the end of the data",
            ),
        }
        for name, figure in figures.items():
            paths[f"plot_{name}"] = _io.save_figure(run_dir / "plots" / f"{name}.png", figure)
    return paths


# ====================================================================== forecast
def load_forecaster(path: str | os.PathLike) -> LSTMForecaster:
    """The forecaster of a run folder (or of a folder written by `LSTMForecaster.save`).

    Args:
        path: A run folder of `run` (its `forecaster/` is loaded) or a
            forecaster folder.

    Returns:
        The fitted `LSTMForecaster`.
    """
    folder = Path(path)
    if (folder / "forecaster" / "forecaster.json").is_file():
        folder = folder / "forecaster"
    return LSTMForecaster.load(folder)


def forecast(
    model: LSTMForecaster | ForecastResult | str | os.PathLike,
    data: pd.Series | pd.DataFrame,
    horizon: int | None = None,
    freq: str | None = None,
) -> pd.DataFrame:
    """Forecasts the steps after the end of `data` with a fitted forecaster.

    Args:
        model: A forecaster from `run` (`result.model`), a `ForecastResult`,
            or the path of a run folder or a saved forecaster folder.
        data: A Series or DataFrame with a `DatetimeIndex` holding the
            history to forecast from (target first, then the covariates the
            forecaster was fitted with), at least `lookback` values.
        horizon: Steps to forecast, at most the forecaster's horizon
            (default: its horizon).
        freq: Frequency of the data when its index has none it can infer
            (it must be the forecaster's).

    Returns:
        A DataFrame indexed by the future timestamps with the column
        "forecast", plus "lower" and "upper" when the forecaster has
        intervals (their level in `attrs["interval_level"]`).

    Example:

    >>> from lstm_apps.recipes import forecast as fc
    >>> config = fc.ForecastConfig(length=300, horizon=5, units=8, steps=20, combine=(),
    ...                            stride=15, output_dir=None)
    >>> result = fc.run(config)
    >>> future = fc.forecast(result.model, result.data, horizon=3)
    >>> list(future.columns), len(future), str(future.index[0])
    (['forecast', 'lower', 'upper'], 3, '2000-10-27 00:00:00')
    """
    if isinstance(model, ForecastResult):
        model = model.model
    elif isinstance(model, (str, os.PathLike)):
        model = load_forecaster(model)
    if not isinstance(model, LSTMForecaster):
        raise TypeError(
            "Received an invalid value for argument `model`, expected an LSTMForecaster "
            f"from `run`, a ForecastResult or a folder path, got {type(model).__name__}."
        )
    if not model.fitted:
        raise ValueError("Received an LSTMForecaster that is not fitted: call `fit` first.")
    covariates = list(model.panel_.past_columns)
    if isinstance(data, pd.DataFrame):
        frame = ts.from_dataframe(data, target=str(data.columns[0]), covariates=covariates,
                                  freq=freq)
    else:
        frame = ts.from_dataframe(data, freq=freq)
    if frame.attrs.get("freq") is None:
        raise ValueError(
            "Cannot infer the frequency of the timestamps of `data` (irregular index): "
            "pass `freq=` (e.g. 'D')."
        )
    target, covariates = _parts_of(frame)
    lookback = int(model.lookback_)
    if len(target) < lookback:
        raise ValueError(
            f"Received {len(target)} points in `data`, but the forecaster needs the last "
            f"`lookback`={lookback} values."
        )
    out = model.predict(horizon, series=target, past_covariates=covariates)
    if model.levels:
        level = model.levels[0]
        lo, hi = interval_columns(level)
        out = out.rename(columns={lo: "lower", hi: "upper"})
        out = out[["forecast", "lower", "upper"]]
        out.attrs["interval_level"] = level
        out.attrs["interval_method"] = "conformal"
    return out


# ====================================================================== backtest
def backtest(
    config: ForecastConfig | Any,
    data: Any = None,
    folds: int = 3,
) -> pd.DataFrame:
    """Rolling-origin evaluation: `folds` runs, each tested on the next block.

    The test blocks are consecutive, each `test_size` points long, and end
    at the end of the series; fold `k` fits on everything before its block
    (an expanding window), then scores the model and the baselines on its
    block with `run`.

    Args:
        config: The run settings; a `test_size` fraction refers to the
            whole series and becomes a fixed number of points.
        data: The data (as for `run`), or None for the config's own data.
        folds: Number of folds (>= 1).

    Returns:
        The metrics tables of the folds stacked, then their mean: index
        `(fold, metric, step)` with folds 0, 1, ... and "mean", one column
        per forecaster; `attrs["cutoffs"]` holds the timestamp of the last
        training point of each fold. With `output_dir`, the folds' run
        folders and `backtest.csv` go in one folder (`attrs["run_dir"]`),
        complete when its `metrics.json` (the mean table) is written. Under
        `lstm_apps._runs.policy("resume")` (`lstm-apps forecast --resume`)
        an interrupted backtest keeps its finished folds, resumes the
        training of the fold that was cut off and runs the rest. The old
        order `backtest(data, config, folds)` still works, with a
        `DeprecationWarning`.

    Example:

    >>> from lstm_apps.recipes import forecast as fc
    >>> config = fc.ForecastConfig(length=400, horizon=5, units=8, steps=20, combine=(),
    ...                            test_size=50, stride=15, output_dir=None)
    >>> frame = fc.backtest(config, folds=2)
    >>> frame.index.get_level_values("fold").unique().tolist()
    [0, 1, 'mean']
    """
    if not isinstance(config, ForecastConfig) and isinstance(data, ForecastConfig):
        warnings.warn(
            "backtest(data, config) is deprecated: call backtest(config, data), the order "
            "of run(config, data).", DeprecationWarning, stacklevel=2)
        config, data = data, config
    if not isinstance(config, ForecastConfig):
        raise TypeError(
            "Received an invalid value for argument `config`, expected a ForecastConfig, "
            f"got {type(config).__name__}."
        )
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 1:
        raise ValueError(
            f"Received an invalid value for argument `folds`, expected an integer >= 1, "
            f"got {folds!r}."
        )
    frame = load_data(config, data)
    n_test = len(frame) - _test_start(config, len(frame))
    ends = [len(frame) - (folds - 1 - k) * n_test for k in range(folds)]
    if ends[0] - n_test < 2 * config.horizon + 2:
        raise ValueError(
            f"Received `folds`={folds} with {n_test} test points each: the first fold "
            f"would fit on {max(ends[0] - n_test, 0)} of {len(frame)} points; lower `folds` "
            "or `test_size`."
        )
    base = _run_dir(config, kind="backtest", folds=folds)
    tables, cutoffs = [], []
    for k, end in enumerate(ends):
        cutoffs.append(str(frame.index[end - n_test - 1]))
        fold_dir = None if base is None else base / f"fold_{k}"
        if fold_dir is not None and _runs.is_complete(fold_dir):
            # Only a resumed backtest finds a finished fold: its table is kept.
            tables.append(_read_table(fold_dir / "metrics.csv"))
            logger.info("backtest fold %d/%d: complete in %s, kept", k + 1, folds, fold_dir)
            continue
        fold_config = dataclasses.replace(
            config, test_size=n_test,
            output_dir=None if base is None else str(base),
            run_name=None if base is None else fold_dir.name,
        )
        part = frame.iloc[:end].copy()
        # `run` re-checks the data; the synthetic settings let it add the oracle.
        part.attrs = dict(frame.attrs.get("synthetic") or {})
        # The fold an interruption cut off resumes its training; later ones start.
        mode = "resume" if fold_dir is not None and fold_dir.is_dir() else "new"
        with _runs.policy(mode):
            result = run(fold_config, part)
        tables.append(result.table)
        logger.info("backtest fold %d/%d: model MAE %.4g", k + 1, folds, result.metrics["mae"])
    stacked = pd.concat(tables, keys=range(folds), names=["fold"])
    mean = stacked.groupby(level=["metric", "step"], sort=False).mean()
    out = pd.concat([stacked, pd.concat([mean], keys=["mean"], names=["fold"])])
    out.attrs = {"cutoffs": cutoffs, "run_dir": None if base is None else str(base)}
    if base is not None:
        _io.write_csv(base / "backtest.csv", out, index=True)
        # The marker, last: the backtest is complete.
        _io.write_json(base / _runs.MARKER, {"folds": folds, "cutoffs": cutoffs,
                                             "mean": _table_to_dict(mean)})
    return out


def _read_table(path: Path) -> pd.DataFrame:
    """A metrics table written by `run` (`metrics.csv`), with its steps as written."""
    table = pd.read_csv(path, index_col=["metric", "step"])
    steps = [int(s) if str(s).isdigit() else s for s in table.index.get_level_values("step")]
    table.index = pd.MultiIndex.from_arrays(
        [table.index.get_level_values("metric"), pd.Index(steps, dtype=object)],
        names=["metric", "step"])
    return table
