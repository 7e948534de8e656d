"""Time-series forecasting with any lstm_apps cell: `run(config) -> ForecastResult`.

The model reads a window of the last `lookback` values (target first, then
any covariates) and predicts the next `horizon` values of the target at once
(direct multi-output). Two small registered layers make the saved
`model.keras` work on raw values:

- `WindowNormalization` scales every column with the centre and scale fitted
  on the training part only, then subtracts the window's level (its mean by
  default, or its last value) from the target, so the network only learns
  the shape of what comes next, whatever the level of the series;
- `ForecastHead` adds the level back and undoes the scaling; with quantile
  intervals it also returns a lower and an upper bound.

Season features (`season_features`, on by default when a season is given or
found): two extra input columns, sin and cos of `2 pi t / season` where `t`
counts the steps since the first timestamp. They tell the network where in
the cycle each step is, as exponential smoothing's seasonal states do (and as
darts' cyclic encoders do); without them it must infer the phase from the
noisy window. `forecast` makes them for new timestamps from the origin,
frequency and period stored in the model.

Prediction intervals, `interval_method`:

- "quantile" (default): two extra outputs trained with the pinball loss for
  the quantiles `(1 - level) / 2` and `(1 + level) / 2`; they are built as
  `point - softplus(.)` and `point + softplus(.)`, so they never cross the
  point forecast. They cover the noise of the series as well as the model's
  errors.
- "mc_dropout": Monte Carlo dropout (Gal & Ghahramani, 2016): the model is
  called `mc_samples` times with dropout on and the interval is the spread of
  those forecasts. It needs `dropout` or `recurrent_dropout` > 0 and only
  reflects the model's own uncertainty, not the noise of the series, so it
  is usually too narrow: check `metrics["coverage"]`.

Every forecast is compared with baselines on the same test windows: naive
(last value), seasonal naive (season given, or inferred from the training
part and reported), drift (last value plus the average slope of the
history) and, when statsmodels is installed, additive Holt-Winters
exponential smoothing fitted on the training part
(`statsmodels.tsa.holtwinters.ExponentialSmoothing`). On the synthetic
series, the best possible forecast (the "oracle", trend + seasonality known
exactly) is added for reference. The metrics are MAE, RMSE, MASE (scaled by
the in-sample seasonal-naive MAE of the training part) and sMAPE (0-200),
overall and per horizon step.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
from keras import ops

from lstm_apps import _io, _runs
from lstm_apps.data import timeseries as ts
from lstm_apps.forecasting.metrics import metrics_table
from lstm_apps.recipes._common import (
    _check_choice,
    _check_int,
    _check_real,
    _check_text,
    check_cell,
    config_to_dict,
    recurrent_stack,
)

__all__ = [
    "BASELINES",
    "INTERVAL_METHODS",
    "NORMALIZATIONS",
    "ForecastConfig",
    "ForecastHead",
    "ForecastLoss",
    "ForecastResult",
    "WindowNormalization",
    "backtest",
    "baseline_forecasts",
    "build_model",
    "forecast",
    "load_data",
    "load_model",
    "metrics_table",
    "point_mae",
    "run",
]

logger = logging.getLogger(__name__)

#: Baselines computed on every test window ("ets" only with statsmodels).
BASELINES = ("naive", "seasonal_naive", "drift", "ets")
#: Per-window level normalisation modes (`ForecastConfig.normalization`).
NORMALIZATIONS = ("last", "mean", "none")
#: Ways to compute prediction intervals (`ForecastConfig.interval_method`).
INTERVAL_METHODS = ("quantile", "mc_dropout")
_METRICS = ("mae", "rmse", "mase", "smape")


# ====================================================================== layers
@keras.saving.register_keras_serializable(package="lstm_apps")
class WindowNormalization(keras.layers.Layer):
    """Scales an input window and removes the target's level.

    Each column is scaled as `(x - center) / scale`; then the level of the
    target column (its last value in the window, or its mean) is subtracted
    from that column. The layer returns the normalised window and the level,
    which `ForecastHead` adds back.

    Args:
        center: Centre of each column (fitted on the training part).
        scale: Scale of each column.
        normalization: "last", "mean" or "none" (no level removed).
        target_index: Column of the target.
        columns: Names of the columns (target first), kept in the config so
            that `forecast` can pick them from a DataFrame.
        encoders: How the season features among the columns were made
            (`{"origin", "freq", "periods", "columns"}`), kept so that
            `forecast` can make them for new timestamps; None without them.

    Call arguments:
        inputs: A window `(batch, lookback, features)` of raw values.

    Returns:
        `(normalised, level)`, of shapes `(batch, lookback, features)` and
        `(batch, 1)` (the level in scaled units).

    Example:

    >>> import numpy as np
    >>> layer = WindowNormalization(center=[10.0], scale=[2.0], normalization="last")
    >>> z, level = layer(np.array([[[12.0], [14.0]]], "float32"))
    >>> np.asarray(z)[0, :, 0].tolist(), np.asarray(level).tolist()
    ([-1.0, 0.0], [[2.0]])
    """

    def __init__(
        self,
        center: Sequence[float],
        scale: Sequence[float],
        normalization: str = "last",
        target_index: int = 0,
        columns: Sequence[str] | None = None,
        encoders: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"Received an invalid value for argument `normalization`, expected one "
                f"of {list(NORMALIZATIONS)}, got {normalization!r}."
            )
        self.center = [float(c) for c in center]
        self.scale = [float(s) for s in scale]
        if len(self.center) != len(self.scale) or any(s <= 0 for s in self.scale):
            raise ValueError(
                "Received invalid `center` / `scale`: expected two sequences of the same "
                f"length with positive scales, got {self.center} and {self.scale}."
            )
        self.normalization = normalization
        self.target_index = int(target_index)
        self.columns = None if columns is None else [str(c) for c in columns]
        self.encoders = None if encoders is None else dict(encoders)

    def call(self, inputs: Any) -> tuple[Any, Any]:
        z = (inputs - ops.convert_to_tensor(self.center, dtype=inputs.dtype)) / (
            ops.convert_to_tensor(self.scale, dtype=inputs.dtype)
        )
        target = z[:, :, self.target_index]
        if self.normalization == "last":
            level = target[:, -1:]
        elif self.normalization == "mean":
            level = ops.mean(target, axis=1, keepdims=True)
        else:
            level = ops.zeros_like(target[:, -1:])
        one_hot = np.zeros(len(self.center), dtype="float32")
        one_hot[self.target_index] = 1.0
        z = z - ops.expand_dims(level, 1) * ops.convert_to_tensor(one_hot, dtype=z.dtype)
        return z, level

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[Any, Any]:
        return tuple(input_shape), (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "center": self.center,
            "scale": self.scale,
            "normalization": self.normalization,
            "target_index": self.target_index,
            "columns": self.columns,
            "encoders": self.encoders,
        }


@keras.saving.register_keras_serializable(package="lstm_apps")
class ForecastHead(keras.layers.Layer):
    """Turns the network's raw outputs into forecasts on the original scale.

    Args:
        horizon: Number of steps forecast.
        center: Centre of the target (as in `WindowNormalization`).
        scale: Scale of the target.
        intervals: Whether the inputs carry two interval outputs per step.
        interval_level: Nominal coverage of the interval (kept in the config
            for `forecast`).
        interval_method: "quantile", "mc_dropout" or None (kept in the
            config for `forecast`).

    Call arguments:
        inputs: `[raw, level]`: `raw` of shape `(batch, horizon * k)` with
            `k = 3` when `intervals` (point, and the softplus-distances of
            the lower and upper bounds), else 1; `level` `(batch, 1)`.

    Returns:
        `(batch, horizon, k)`: the point forecast in `[..., 0]`, then the
        lower and upper bounds.

    Example:

    >>> import numpy as np
    >>> head = ForecastHead(horizon=2, center=10.0, scale=2.0)
    >>> out = head([np.array([[0.5, 1.0]], "float32"), np.array([[1.0]], "float32")])
    >>> np.asarray(out)[0, :, 0].tolist()
    [13.0, 14.0]
    """

    def __init__(
        self,
        horizon: int,
        center: float,
        scale: float,
        intervals: bool = False,
        interval_level: float | None = None,
        interval_method: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.horizon = int(horizon)
        self.center = float(center)
        self.scale = float(scale)
        self.intervals = bool(intervals)
        self.interval_level = None if interval_level is None else float(interval_level)
        self.interval_method = interval_method

    @property
    def outputs_per_step(self) -> int:
        """3 (point, lower, upper) with quantile intervals, else 1."""
        return 3 if self.intervals else 1

    def call(self, inputs: Sequence[Any]) -> Any:
        raw, level = inputs
        k = self.outputs_per_step
        raw = ops.reshape(raw, (-1, self.horizon, k))
        point = raw[:, :, :1]
        if self.intervals:
            lower = point - ops.softplus(raw[:, :, 1:2])
            upper = point + ops.softplus(raw[:, :, 2:3])
            raw = ops.concatenate([point, lower, upper], axis=-1)
        else:
            raw = point
        return (raw + ops.expand_dims(level, -1)) * self.scale + self.center

    def compute_output_shape(self, input_shape: Sequence[Any]) -> tuple[Any, ...]:
        return (input_shape[0][0], self.horizon, self.outputs_per_step)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "horizon": self.horizon,
            "center": self.center,
            "scale": self.scale,
            "intervals": self.intervals,
            "interval_level": self.interval_level,
            "interval_method": self.interval_method,
        }


@keras.saving.register_keras_serializable(package="lstm_apps")
class ForecastLoss(keras.losses.Loss):
    """Squared error of the point forecast plus pinball losses of the bounds.

    Errors are divided by `scale` (the target's scale), so the loss is of the
    same size for every series.

    Args:
        quantiles: Quantile levels of the outputs after the point forecast
            (e.g. `(0.1, 0.9)`), or `()` for a point forecast only.
        scale: The target's scale.

    Call arguments:
        y_true: `(batch, horizon)` or `(batch, horizon, 1)`.
        y_pred: `(batch, horizon, 1 + len(quantiles))`.

    Example:

    >>> import numpy as np
    >>> loss = ForecastLoss(quantiles=(0.1, 0.9), scale=1.0)
    >>> y = np.zeros((1, 2, 1), "float32")
    >>> pred = np.array([[[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]], "float32")
    >>> round(float(loss(y, pred)), 4)
    1.0
    """

    def __init__(
        self,
        quantiles: Sequence[float] = (),
        scale: float = 1.0,
        name: str = "forecast_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.quantiles = [float(q) for q in quantiles]
        self.scale = float(scale)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_true = ops.cast(y_true, y_pred.dtype)
        if len(y_true.shape) == 3:
            y_true = y_true[:, :, 0]
        error = (y_true - y_pred[:, :, 0]) / self.scale
        loss = ops.mean(ops.square(error), axis=-1)
        for k, q in enumerate(self.quantiles):
            u = (y_true - y_pred[:, :, k + 1]) / self.scale
            loss = loss + ops.mean(ops.maximum(q * u, (q - 1.0) * u), axis=-1)
        return loss

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "quantiles": self.quantiles, "scale": self.scale}


@keras.saving.register_keras_serializable(package="lstm_apps")
def point_mae(y_true: Any, y_pred: Any) -> Any:
    """Mean absolute error of the point forecast `y_pred[..., 0]` (a Keras metric)."""
    y_true = ops.cast(y_true, y_pred.dtype)
    if len(y_true.shape) == 3:
        y_true = y_true[:, :, 0]
    return ops.mean(ops.abs(y_true - y_pred[:, :, 0]), axis=-1)


# ====================================================================== config
def _help(text: str, **extra: Any) -> dict[str, Any]:
    return {"help": text, **extra}


@dataclasses.dataclass(frozen=True)
class ForecastConfig:
    """Settings of a forecasting run (every field is a `lstm-apps forecast` option).

    Data comes from, in order: the `data` argument of `run`, `csv`, or the
    synthetic preset `synthetic`.

    Example:

    >>> from lstm_apps.recipes.forecast import ForecastConfig
    >>> ForecastConfig(cell="peephole", horizon=5).lookback
    100
    >>> ForecastConfig(horizon=0)
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `horizon`, expected an integer >= 1, got 0.
    """

    # -- data
    synthetic: str = dataclasses.field(
        default="default",
        metadata=_help("synthetic preset used when no CSV or data is given", choices=ts.PRESETS),
    )
    length: int | None = dataclasses.field(
        default=None, metadata=_help("length of the synthetic series (default: the preset's)")
    )
    csv: str | None = dataclasses.field(
        default=None, metadata=_help("CSV file with a date column and the target")
    )
    date_col: str | None = dataclasses.field(
        default=None, metadata=_help("name of the CSV's date column")
    )
    target: str | None = dataclasses.field(
        default=None, metadata=_help("name of the column to forecast")
    )
    covariates: tuple[str, ...] = dataclasses.field(
        default=(), metadata=_help("other numeric columns fed to the model (past values)")
    )
    freq: str | None = dataclasses.field(
        default=None, metadata=_help("pandas frequency of the data (default: inferred)")
    )
    fill: str = dataclasses.field(
        default="raise",
        metadata=_help("NaN / inf in the data: raise, ffill or interpolate",
                       choices=ts.FILL_METHODS),
    )
    # -- windows and split
    lookback: int = dataclasses.field(default=100, metadata=_help("input window length"))
    horizon: int = dataclasses.field(
        default=10, metadata=_help("steps forecast at once (direct multi-output)")
    )
    val_size: float = dataclasses.field(
        default=0.1, metadata=_help("validation part: a fraction (<1) or a number of points")
    )
    test_size: float = dataclasses.field(
        default=0.2, metadata=_help("test part: a fraction (<1) or a number of points")
    )
    normalization: str = dataclasses.field(
        default="mean",
        metadata=_help("per-window level normalisation", choices=NORMALIZATIONS),
    )
    season: int | None = dataclasses.field(
        default=None,
        metadata=_help("seasonal period (default: inferred from the training part, 1 if none)"),
    )
    season_features: bool = dataclasses.field(
        default=True,
        metadata=_help("feed sin/cos of the position within the season to the model"),
    )
    # -- model
    cell: str = dataclasses.field(
        default="standard", metadata=_help("lstm_apps cell or variant, keras_lstm or gru")
    )
    units: int = dataclasses.field(default=32, metadata=_help("units per recurrent layer"))
    layers: int = dataclasses.field(default=1, metadata=_help("stacked recurrent layers"))
    dropout: float = dataclasses.field(
        default=0.0, metadata=_help("dropout after each recurrent layer")
    )
    recurrent_dropout: float = dataclasses.field(
        default=0.0, metadata=_help("dropout on the recurrent state")
    )
    unit_forget_bias: bool = dataclasses.field(
        default=True, metadata=_help("initialise the forget-gate bias to 1")
    )
    # -- training
    epochs: int = dataclasses.field(default=30, metadata=_help("maximum training epochs"))
    batch_size: int = dataclasses.field(default=64, metadata=_help("windows per batch"))
    learning_rate: float = dataclasses.field(default=3e-3, metadata=_help("Adam learning rate"))
    clipnorm: float | None = dataclasses.field(
        default=1.0, metadata=_help("gradient clipping by norm (none: off)")
    )
    patience: int = dataclasses.field(
        default=8, metadata=_help("early stopping patience in epochs (0: off)")
    )
    reduce_lr: bool = dataclasses.field(
        default=True, metadata=_help("halve the learning rate when validation loss stalls")
    )
    seed: int = dataclasses.field(default=0, metadata=_help("random seed of the run"))
    # -- outputs
    intervals: bool = dataclasses.field(
        default=True, metadata=_help("prediction intervals and their coverage")
    )
    interval_method: str = dataclasses.field(
        default="quantile",
        metadata=_help("quantile outputs or Monte Carlo dropout", choices=INTERVAL_METHODS),
    )
    interval_level: float = dataclasses.field(
        default=0.8, metadata=_help("nominal coverage of the intervals")
    )
    mc_samples: int = dataclasses.field(
        default=50, metadata=_help("forward passes for mc_dropout intervals")
    )
    ets: bool = dataclasses.field(
        default=True, metadata=_help("add the exponential smoothing baseline (statsmodels)")
    )
    gate_monitor: bool = dataclasses.field(
        default=False,
        metadata=_help("log gate activations to TensorBoard (lstm_apps.callbacks.GateMonitor)"),
    )
    output_dir: str | None = dataclasses.field(
        default="runs/forecast", metadata=_help("where run folders go (none: write nothing)")
    )
    run_name: str | None = dataclasses.field(
        default=None, metadata=_help("run folder name (default: time stamp and cell)")
    )
    plots: bool = dataclasses.field(default=True, metadata=_help("write figures to plots/"))
    verbose: int = dataclasses.field(
        default=0, metadata=_help("Keras progress output: 0 silent, 1 bar, 2 one line/epoch")
    )

    def __post_init__(self) -> None:
        def setattr_(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        setattr_("cell", check_cell(self.cell))
        _check_choice("synthetic", self.synthetic, list(ts.PRESETS))
        _check_choice("fill", self.fill, ts.FILL_METHODS)
        _check_choice("normalization", self.normalization, NORMALIZATIONS)
        _check_choice("interval_method", self.interval_method, INTERVAL_METHODS)
        # a value of the wrong type is a TypeError that names its type
        typed: dict[str, Any] = {"wrong_type": TypeError, "show_type": True}
        minimums = {
            **dict.fromkeys(
                ("lookback", "horizon", "units", "layers", "epochs", "batch_size", "mc_samples"), 1
            ),
            **dict.fromkeys(("patience", "seed", "verbose"), 0),
            **dict.fromkeys(("length", "season"), 2),
        }
        for name, minimum in minimums.items():
            value = getattr(self, name)
            optional = name in ("length", "season")
            setattr_(name, _check_int(name, value, minimum, optional=optional, **typed))
        if self.verbose > 2:
            raise ValueError(
                f"Received an invalid value for argument `verbose`, expected 0, 1 or 2, "
                f"got {self.verbose!r}."
            )
        for name in ("dropout", "recurrent_dropout"):
            setattr_(name, _check_real(name, getattr(self, name), 0.0, 1.0, **typed))
        value = _check_real(
            "learning_rate", self.learning_rate, 0.0, 1.0, open_low=True, closed_high=True, **typed
        )
        setattr_("learning_rate", value)
        value = _check_real(
            "clipnorm", self.clipnorm, 0.0, math.inf, open_low=True, optional=True, **typed
        )
        setattr_("clipnorm", value)
        value = _check_real("interval_level", self.interval_level, 0.0, 1.0, open_low=True, **typed)
        setattr_("interval_level", value)
        for name in ("val_size", "test_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(
                    f"Received an invalid value for argument `{name}`, expected a fraction "
                    f"in [0, 1) or a number of points, got {value!r}."
                )
            if value < 0 or (isinstance(value, float) and value >= 1.0):
                raise ValueError(
                    f"Received an invalid value for argument `{name}`, expected a fraction "
                    f"in [0, 1) or a number of points, got {value!r}."
                )
        if self.test_size == 0:
            raise ValueError(
                "Received `test_size`=0: the test part is what the model and the "
                "baselines are scored on, so it must not be empty."
            )
        for name in ("csv", "date_col", "target", "freq", "output_dir", "run_name"):
            _check_text(name, getattr(self, name), optional=True)
        covariates = self.covariates
        if isinstance(covariates, str) or not isinstance(covariates, Sequence) or not all(
            isinstance(c, str) for c in covariates
        ):
            raise TypeError(
                "Received an invalid value for argument `covariates`, expected a sequence "
                f"of column names, got {covariates!r}."
            )
        setattr_("covariates", tuple(covariates))
        if self.csv is not None and (self.date_col is None or self.target is None):
            raise ValueError(
                f"Received `csv`={self.csv!r} without `date_col` and `target`: both are "
                "needed to read a CSV (e.g. --date-col date --target sales)."
            )
        if self.interval_method == "mc_dropout" and self.intervals and not (
            self.dropout > 0 or self.recurrent_dropout > 0
        ):
            raise ValueError(
                "Received `interval_method`='mc_dropout' with `dropout`=0 and "
                "`recurrent_dropout`=0: Monte Carlo dropout needs a dropout rate > 0."
            )
        if self.gate_monitor:
            if self.cell == "gru":
                raise ValueError(
                    "Received `gate_monitor`=True with `cell`='gru': gate monitoring "
                    "needs an LSTM (an lstm_apps cell or keras_lstm)."
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
        model: The trained Keras model (raw windows in, `(batch, horizon, k)`
            forecasts out).
        history: Training history, one row per epoch.
        metrics: Headline numbers (the model's MAE, RMSE, MASE, sMAPE, the
            baselines', interval coverage, season, timings), as written to
            `metrics.json`.
        table: MAE, RMSE, MASE and sMAPE of the model and every baseline
            side by side: index `(metric, step)` with step "all" then
            1..horizon, one column per forecaster.
        predictions: Every test forecast, one row per (origin, step): the
            actual value, the model's forecast and bounds, each baseline's.
        intervals: Coverage and mean width of the intervals per step (None
            without intervals).
        data: The series used (target first, then covariates).
        split: The train / validation / test split.
        season: The seasonal period of the baselines (1: none).
        run_dir: The run folder (None when `output_dir` is None).
        paths: Files written, by name.
    """

    config: ForecastConfig
    model: Any
    history: pd.DataFrame
    metrics: dict[str, Any]
    table: pd.DataFrame
    predictions: pd.DataFrame
    intervals: pd.DataFrame | None
    data: pd.DataFrame
    split: ts.TimeSplit
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
        data.attrs.get("generator") == "lstm_apps.data.timeseries.synthetic"
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
def build_model(
    config: ForecastConfig,
    n_features: int,
    center: Sequence[float],
    scale: Sequence[float],
    columns: Sequence[str] | None = None,
    encoders: dict[str, Any] | None = None,
) -> keras.Model:
    """The forecasting model of `config`, compiled.

    `WindowNormalization` -> recurrent layers of `config.cell` (with
    `Dropout` after each when `config.dropout` > 0) -> `Dense(horizon * k)`
    -> `ForecastHead`.

    Args:
        config: A `ForecastConfig`.
        n_features: Number of input columns (target + covariates).
        center: Centre of each column.
        scale: Scale of each column.
        columns: Column names, target first.
        encoders: Description of the season features (see
            `WindowNormalization`).

    Returns:
        A compiled `keras.Model` from `(batch, lookback, n_features)` raw
        windows to `(batch, horizon, k)` forecasts, `k` = 3 with quantile
        intervals (point, lower, upper), else 1.

    Example:

    >>> from lstm_apps.recipes.forecast import ForecastConfig, build_model
    >>> model = build_model(ForecastConfig(lookback=20, horizon=4, units=8), 1, [0.0], [1.0])
    >>> model.output_shape
    (None, 4, 3)
    """
    quantile = config.intervals and config.interval_method == "quantile"
    inputs = keras.Input((config.lookback, n_features), name="window")
    x, level = WindowNormalization(
        center, scale, normalization=config.normalization, columns=columns,
        encoders=encoders, name="normalize",
    )(inputs)
    stack = recurrent_stack(
        config.cell,
        config.units,
        layers=config.layers,
        recurrent_dropout=config.recurrent_dropout,
        seed=config.seed,
        unit_forget_bias=config.unit_forget_bias,
    )
    for index, layer in enumerate(stack):
        x = layer(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(
                config.dropout, seed=config.seed + 1000 + index, name=f"dropout_{index}"
            )(x)
    k = 3 if quantile else 1
    raw = keras.layers.Dense(config.horizon * k, name="dense")(x)
    outputs = ForecastHead(
        config.horizon,
        center=center[0],
        scale=scale[0],
        intervals=quantile,
        interval_level=config.interval_level if config.intervals else None,
        interval_method=config.interval_method if config.intervals else None,
        name="forecast",
    )([raw, level])
    model = keras.Model(inputs, outputs, name=f"forecast_{config.cell}")
    alpha = (1.0 - config.interval_level) / 2.0
    optimizer = keras.optimizers.Adam(
        learning_rate=config.learning_rate, clipnorm=config.clipnorm
    )
    model.compile(
        optimizer=optimizer,
        loss=ForecastLoss(quantiles=(alpha, 1.0 - alpha) if quantile else (), scale=scale[0]),
        metrics=[point_mae],
    )
    return model


def _season_encoding(
    positions: np.ndarray, periods: Sequence[int]
) -> tuple[np.ndarray, list[str]]:
    """sin and cos of `2 pi position / period`, two columns per period."""
    columns, names = [], []
    for period in periods:
        angle = 2.0 * np.pi * np.asarray(positions, dtype="float64") / period
        columns += [np.sin(angle), np.cos(angle)]
        names += [f"season_sin_{period}", f"season_cos_{period}"]
    return np.stack(columns, axis=1), names


def _positions(index: pd.DatetimeIndex, origin: str, freq: str) -> np.ndarray:
    """Positions of a regular index counted in `freq` steps from `origin`."""
    start, end = pd.Timestamp(origin), index[-1]
    forward = end >= start
    grid = pd.date_range(start=start, end=end, freq=freq) if forward else pd.date_range(
        start=end, end=start, freq=freq)
    if not len(grid) or (grid[-1] != end if forward else grid[0] != end):
        raise ValueError(
            f"Received timestamps that are not on the model's time grid (every {freq!r} "
            f"from {origin}): last timestamp {end}."
        )
    last = len(grid) - 1 if forward else -(len(grid) - 1)
    return last - (len(index) - 1) + np.arange(len(index))


def _parts(model: keras.Model) -> tuple[WindowNormalization, ForecastHead]:
    norm = [layer for layer in model.layers if isinstance(layer, WindowNormalization)]
    head = [layer for layer in model.layers if isinstance(layer, ForecastHead)]
    if len(norm) != 1 or len(head) != 1:
        raise TypeError(
            "Received a model that was not built by `lstm_apps.recipes.forecast` (expected "
            "one WindowNormalization and one ForecastHead layer), got "
            f"{getattr(model, 'name', type(model).__name__)!r}."
        )
    return norm[0], head[0]


def _predict(
    model: keras.Model, x: np.ndarray, mc_samples: int = 0, level: float | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Forecasts `(n, horizon, k)`; with `mc_samples`, bounds from MC dropout."""
    point = np.asarray(model.predict(x, batch_size=1024, verbose=0))
    if not mc_samples:
        return point
    if seed is not None:
        keras.utils.set_random_seed(seed)
    samples = np.stack(
        [
            np.concatenate(
                [np.asarray(model(x[i : i + 1024], training=True))[..., 0]
                 for i in range(0, len(x), 1024)]
            )
            for _ in range(mc_samples)
        ]
    )
    alpha = (1.0 - (level or 0.8)) / 2.0
    lower, upper = np.quantile(samples, [alpha, 1.0 - alpha], axis=0)
    return np.stack([point[..., 0], np.minimum(lower, point[..., 0]),
                     np.maximum(upper, point[..., 0])], axis=-1)


def load_model(path: str | os.PathLike) -> keras.Model:
    """Loads a forecasting `model.keras` (registering the lstm_apps layers first).

    Args:
        path: The `.keras` file of a run folder.

    Returns:
        The model, ready for `forecast`.
    """
    import lstm_apps.layers  # noqa: F401  (registers the recurrent layer)

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Received `path`={path!r}, which is not a file.")
    return keras.saving.load_model(path)


# ====================================================================== baselines
def baseline_forecasts(
    y: np.ndarray | pd.Series,
    origins: Sequence[int] | np.ndarray,
    horizon: int,
    season: int | None = None,
    train_end: int | None = None,
    ets: bool = True,
) -> dict[str, np.ndarray]:
    """Naive, seasonal-naive, drift and (with statsmodels) ETS forecasts.

    Each baseline sees the whole history up to each origin (not only the
    model's input window).

    Args:
        y: The target series.
        origins: Position of the last observed value of each forecast.
        horizon: Steps ahead.
        season: Seasonal period (None or 1: seasonal naive is naive).
        train_end: End of the training part, on which ETS is fitted (its
            parameters are then kept fixed and its states updated through
            the later values). Default: the first origin + 1.
        ets: Add the exponential smoothing baseline when statsmodels is
            installed.

    Returns:
        A dict from baseline name to an array `(len(origins), horizon)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.recipes.forecast import baseline_forecasts
    >>> out = baseline_forecasts(np.arange(10.0), [4, 5], horizon=2, season=2, ets=False)
    >>> out["naive"].tolist(), out["seasonal_naive"].tolist(), out["drift"].tolist()
    ([[4.0, 4.0], [5.0, 5.0]], [[3.0, 4.0], [4.0, 5.0]], [[5.0, 6.0], [6.0, 7.0]])
    """
    y = np.asarray(y, dtype="float64").ravel()
    origins = np.asarray(origins, dtype=int)
    steps = np.arange(1, horizon + 1)
    m = season if season and season > 1 else 1
    if origins.size and origins.min() < m - 1:
        raise ValueError(
            f"Received origins from {origins.min()}, but seasonal naive with season {m} "
            f"needs origins >= {m - 1}."
        )
    last = y[origins][:, None]
    out = {"naive": np.repeat(last, horizon, axis=1)}
    lag = m * np.ceil(steps / m).astype(int)
    out["seasonal_naive"] = y[origins[:, None] + steps[None, :] - lag[None, :]]
    slope = np.where(origins > 0, (y[origins] - y[0]) / np.maximum(origins, 1), 0.0)
    out["drift"] = last + slope[:, None] * steps[None, :]
    if ets:
        fitted = _ets_forecasts(y, origins, horizon, m, train_end or int(origins.min()) + 1)
        if fitted is not None:
            out["ets"] = fitted
    return out


def _ets_forecasts(
    y: np.ndarray, origins: np.ndarray, horizon: int, season: int, train_end: int
) -> np.ndarray | None:
    try:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
    except ImportError:
        logger.info("statsmodels is not installed: no ETS baseline")
        return None
    seasonal = "add" if season > 1 and train_end >= 2 * season + 2 else None
    spec = dict(trend="add", seasonal=seasonal, seasonal_periods=season if seasonal else None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ExponentialSmoothing(
                y[:train_end], initialization_method="estimated", **spec
            ).fit()
            p = fit.params
            known = dict(initial_level=p["initial_level"], initial_trend=p["initial_trend"])
            smoothing = dict(
                smoothing_level=p["smoothing_level"], smoothing_trend=p["smoothing_trend"]
            )
            if seasonal:
                known["initial_seasonal"] = p["initial_seasons"]
                smoothing["smoothing_seasonal"] = p["smoothing_seasonal"]
            full = ExponentialSmoothing(
                y, initialization_method="known", **known, **spec
            ).fit(optimized=False, **smoothing)
    except Exception as error:  # statsmodels raises many kinds; ETS is optional
        logger.warning("exponential smoothing baseline failed, left out: %s", error)
        return None
    steps = np.arange(1, horizon + 1)
    level = np.asarray(full.level)[origins][:, None]
    trend = np.asarray(full.trend)[origins][:, None]
    out = level + trend * steps[None, :]
    if seasonal:
        lag = season * np.ceil(steps / season).astype(int)
        out = out + np.asarray(full.season)[origins[:, None] + steps[None, :] - lag[None, :]]
    return out


# ====================================================================== metrics
def _table_to_dict(table: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in table.columns:
        out[name] = {
            metric: {str(step): float(v) for step, v in table[name].loc[metric].items()}
            for metric in table.index.get_level_values("metric").unique()
        }
    return out


# ====================================================================== run
def _run_dir(config: ForecastConfig, kind: str = "forecast") -> Path | None:
    """The run folder, started by `lstm_apps._runs` (fresh, writable) before training."""
    if config.output_dir is None:
        return None
    path = _runs.fresh_path(config.output_dir, config.run_name, kind, config.cell)
    return _runs.start(path, config_to_dict(config))


def _gate_monitor_class() -> Any:
    try:
        from lstm_apps.callbacks import GateMonitor
    except ImportError as error:
        raise ImportError(
            "Received `gate_monitor`=True, but `lstm_apps.callbacks.GateMonitor` cannot "
            f"be imported ({error}); run without gate monitoring."
        ) from None
    return GateMonitor


def run(config: ForecastConfig | None = None, data: Any = None) -> ForecastResult:
    """Trains a forecaster, scores it and the baselines on the test windows.

    Everything is checked before training starts: the config (when it is
    built), the data (NaN / inf, sorting, duplicates, types) and its length
    (`lookback + horizon + validation + test` points at least).

    Args:
        config: A `ForecastConfig` (default: `ForecastConfig()`, the
            synthetic "default" series).
        data: Optional pandas Series / DataFrame with a `DatetimeIndex`
            (target `config.target`, covariates `config.covariates`); it
            replaces `config.csv` and the synthetic series.

    Returns:
        A `ForecastResult`. With `config.output_dir` set, its run folder
        holds `model.keras`, `metrics.json`, `history.csv`, `config.json`,
        `metrics.csv` (the table), `predictions.csv`, `forecast.csv` (the
        steps after the end of the data), `tb/` and `plots/`.

    Example:

    >>> from lstm_apps.recipes import forecast
    >>> config = forecast.ForecastConfig(length=300, lookback=30, horizon=5, units=8,
    ...                                  epochs=1, output_dir=None)
    >>> result = forecast.run(config)
    >>> list(result.summary().columns)
    ['model', 'naive', 'seasonal_naive', 'drift', 'ets', 'oracle']
    """
    config = ForecastConfig() if config is None else config
    if not isinstance(config, ForecastConfig):
        raise TypeError(
            "Received an invalid value for argument `config`, expected a ForecastConfig, "
            f"got {type(config).__name__}."
        )
    started = time.perf_counter()
    frame = load_data(config, data)
    split = ts.split_by_time(
        len(frame), config.lookback, config.horizon, config.val_size, config.test_size
    )
    gate_monitor_cls = _gate_monitor_class() if config.gate_monitor else None
    values = frame.to_numpy(dtype="float64")
    target = values[:, 0]
    if config.season is not None:
        season, season_source = config.season, "config"
    else:
        found = ts.infer_season(
            target[: split.train_end], max_lag=min(split.train_end // 3, split.val_end - 1)
        )
        season, season_source = (found, "inferred") if found else (1, "none found")
    logger.info("season %d (%s)", season, season_source)
    test_origins = split.origins("test")
    if season > 1 and test_origins.min() < season - 1:
        raise ValueError(
            f"Received `season`={season}, longer than the history before the first test "
            f"window ({test_origins.min() + 1} points)."
        )

    columns = [str(c) for c in frame.columns]
    encoders = None
    if config.season_features and season > 1:
        if frame.attrs.get("freq"):
            encoders = {
                "origin": str(frame.index[0]),
                "freq": frame.attrs["freq"],
                "periods": [int(season)],
            }
            features, names = _season_encoding(np.arange(len(frame)), encoders["periods"])
            encoders["columns"] = names
            values = np.concatenate([values, features], axis=1)
            columns += names
        else:
            logger.warning("irregular timestamps: no season features")
    train = values[: split.train_end]

    keras.utils.set_random_seed(config.seed)
    center, scale = ts.fit_scaling(train, config.lookback, config.normalization)
    model = build_model(
        config, values.shape[1], center.tolist(), scale.tolist(), columns, encoders
    )

    train_ds = ts.window_dataset(
        train, config.lookback, config.horizon, config.batch_size, shuffle=True,
        seed=config.seed, target_shape="3d",
    )
    val_origins = split.origins("val")
    val_ds, x_val = None, None
    if len(val_origins):
        x_val, y_val = ts.window_arrays(values, config.lookback, config.horizon, val_origins)
        val_ds = (x_val, y_val[..., None])
    run_dir = _run_dir(config)
    callbacks: list[Any] = []
    monitor = "val_loss" if val_ds is not None else "loss"
    if config.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=config.patience, restore_best_weights=True
            )
        )
    if config.reduce_lr:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, factor=0.5, patience=max(2, config.patience // 3), min_lr=1e-5
            )
        )
    if run_dir is not None:
        callbacks += _runs.training_callbacks(run_dir)  # resumable after kill -9 / Ctrl-C
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tb")))
    if gate_monitor_cls is not None:
        probe = x_val[:8] if x_val is not None else ts.window_arrays(
            train, config.lookback, config.horizon)[0][-8:]
        callbacks.append(gate_monitor_cls(log_dir=str(run_dir / "tb"), probe=probe))

    fit_start = time.perf_counter()
    fit = model.fit(
        train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=callbacks,
        verbose=config.verbose, shuffle=False,  # the dataset shuffles itself
    )
    train_seconds = time.perf_counter() - fit_start
    history = _runs.history(run_dir, fit.history)  # with the epochs before a resumption

    # ---- test windows: model, baselines, oracle
    x_test, y_test = ts.window_arrays(values, config.lookback, config.horizon, test_origins)
    mc = config.intervals and config.interval_method == "mc_dropout"
    pred = _predict(model, x_test, config.mc_samples if mc else 0, config.interval_level,
                    seed=config.seed)
    forecasts = {"model": pred[..., 0]}
    baselines = baseline_forecasts(
        target, test_origins, config.horizon, season, train_end=split.train_end,
        ets=config.ets,
    )
    forecasts.update(baselines)
    parts = _synthetic_parts(frame)
    floor = None
    if parts is not None:
        synthetic_attrs = frame.attrs["synthetic"]
        forecasts["oracle"] = ts.optimal_forecasts(
            parts, test_origins, config.horizon, ar=synthetic_attrs["ar"]
        )
        floor = ts.noise_floor_mae(
            synthetic_attrs["noise_sigma"], config.horizon, ar=synthetic_attrs["ar"]
        )
    table = metrics_table(y_test, forecasts, target[: split.train_end], season)

    intervals = None
    coverage: dict[str, Any] = {}
    if config.intervals:
        inside = (y_test >= pred[..., 1]) & (y_test <= pred[..., 2])
        width = pred[..., 2] - pred[..., 1]
        intervals = pd.DataFrame(
            {
                "coverage": [inside.mean(), *inside.mean(axis=0)],
                "width": [width.mean(), *width.mean(axis=0)],
            },
            index=pd.Index(["all", *range(1, config.horizon + 1)], name="step"),
        )
        coverage = {
            "interval_method": config.interval_method,
            "interval_level": config.interval_level,
            "coverage": float(inside.mean()),
            "coverage_per_step": [float(v) for v in inside.mean(axis=0)],
            "interval_width": float(width.mean()),
        }

    predictions = _predictions_frame(frame.index, test_origins, y_test, pred, forecasts)
    overall = table.xs("all", level="step")
    metrics: dict[str, Any] = {
        **{metric: float(overall.loc[metric, "model"]) for metric in _METRICS},
        "baselines": {
            name: {metric: float(overall.loc[metric, name]) for metric in _METRICS}
            for name in overall.columns
            if name != "model"
        },
        "beats_baselines": {
            metric: bool(
                all(overall.loc[metric, "model"] < overall.loc[metric, b] for b in baselines)
            )
            for metric in _METRICS
        },
        "table": _table_to_dict(table),
        **coverage,
        "season": int(season),
        "season_source": season_source,
        "cell": config.cell,
        "epochs_run": int(len(history)),
        "train_seconds": round(train_seconds, 2),
        "windows": {
            "train": int(max(0, split.train_end - config.lookback - config.horizon + 1)),
            "val": int(len(val_origins)),
            "test": int(len(test_origins)),
        },
        "data": {
            "source": frame.attrs.get("source"),
            "length": int(len(frame)),
            "start": str(frame.index[0]),
            "end": str(frame.index[-1]),
            "freq": frame.attrs.get("freq"),
            "columns": columns,
        },
    }
    if floor is not None:
        metrics["noise_floor_mae"] = [float(v) for v in floor]
        metrics["mae_over_floor"] = [
            float(v) for v in table.loc["mae"]["model"].drop("all").to_numpy() / floor
        ]
    if "val_loss" in history:
        metrics["best_epoch"] = int(history["val_loss"].idxmin()) + 1

    result = ForecastResult(
        config=config, model=model, history=history, metrics=metrics, table=table,
        predictions=predictions, intervals=intervals, data=frame, split=split,
        season=int(season), run_dir=run_dir, paths={},
    )
    if run_dir is not None:
        result.paths = _write_run(result, floor)
    metrics["total_seconds"] = round(time.perf_counter() - started, 2)
    if run_dir is not None:
        _io.write_json(run_dir / "metrics.json", metrics)
    logger.info("forecast run done in %.1f s: %s", metrics["total_seconds"], run_dir)
    return result


def _predictions_frame(
    index: pd.DatetimeIndex,
    origins: np.ndarray,
    actual: np.ndarray,
    pred: np.ndarray,
    forecasts: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    n, horizon = actual.shape
    steps = np.tile(np.arange(1, horizon + 1), n)
    origin_pos = np.repeat(origins, horizon)
    frame = pd.DataFrame(
        {
            "origin": index[origin_pos],
            "step": steps,
            "timestamp": index[origin_pos + steps],
            "actual": actual.ravel(),
        }
    )
    for name, values in forecasts.items():
        frame[name] = np.asarray(values).ravel()
        if name == "model" and pred.shape[-1] == 3:
            frame["lower"] = pred[..., 1].ravel()
            frame["upper"] = pred[..., 2].ravel()
    return frame


def _write_run(result: ForecastResult, floor: np.ndarray | None) -> dict[str, Path]:
    run_dir = result.run_dir
    assert run_dir is not None
    paths = {
        "model": _io.save_model(run_dir / "model.keras", result.model),
        "history": _io.write_csv(run_dir / "history.csv", result.history),
        "config": _io.write_json(run_dir / "config.json", config_to_dict(result.config)),
        "table": _io.write_csv(run_dir / "metrics.csv", result.table, index=True),
        "predictions": _io.write_csv(run_dir / "predictions.csv", result.predictions),
        "metrics": run_dir / "metrics.json",
        "tb": run_dir / "tb",
    }
    future = result.forecast() if result.data.attrs.get("freq") else None
    if future is not None:
        paths["forecast"] = _io.write_csv(run_dir / "forecast.csv", future, index=True)
    if result.config.plots:
        from lstm_apps.plots import forecast as fplots

        last_origin = result.split.origins("test")[-1]
        horizon = result.config.horizon
        shown = result.predictions[
            result.predictions["origin"] == result.data.index[last_origin]
        ].set_index("timestamp")
        figures = {
            "forecast": fplots.plot_forecast(
                result.data.iloc[: last_origin + 1, 0],
                shown.rename(columns={"model": "forecast"}),
                actual=result.data.iloc[last_origin + 1 : last_origin + 1 + horizon, 0],
                tail=max(4 * horizon, min(result.config.lookback, 300)),
                title=f"Last test window: {result.config.cell} forecast",
            ),
            "test_predictions": fplots.plot_test_predictions(result.predictions),
            "error_by_horizon": fplots.plot_horizon_errors(result.table, "mae", floor=floor),
            "learning_curves": fplots.plot_learning_curves(result.history),
        }
        if future is not None:
            figures["future"] = fplots.plot_forecast(
                result.data.iloc[:, 0], future,
                tail=max(4 * horizon, min(result.config.lookback, 300)),
                title="Forecast after the end of the data",
            )
        for name, figure in figures.items():
            paths[f"plot_{name}"] = _io.save_figure(run_dir / "plots" / f"{name}.png", figure)
    return paths


# ====================================================================== forecast
def forecast(
    model: Any,
    data: pd.Series | pd.DataFrame,
    horizon: int | None = None,
    freq: str | None = None,
    mc_samples: int = 100,
    seed: int | None = None,
) -> pd.DataFrame:
    """Forecasts the steps after the end of `data` with a trained model.

    Args:
        model: A model from `run` (`result.model`), a `ForecastResult`, or
            the path of a saved `model.keras`.
        data: A Series or DataFrame with a `DatetimeIndex` holding at least
            `lookback` values of the model's columns (target, covariates).
        horizon: Steps to forecast, at most the model's horizon (default:
            the model's horizon).
        freq: Frequency of the future timestamps (default: inferred from the
            index of `data`).
        mc_samples: Forward passes for a model with Monte Carlo dropout
            intervals.
        seed: Seed of the Monte Carlo dropout passes.

    Returns:
        A DataFrame indexed by the future timestamps with the column
        "forecast", plus "lower" and "upper" when the model has intervals
        (their level in `attrs["interval_level"]`).

    Example:

    >>> from lstm_apps.data import timeseries
    >>> from lstm_apps.recipes import forecast as fc
    >>> config = fc.ForecastConfig(length=300, lookback=30, horizon=5, units=8, epochs=1,
    ...                            output_dir=None)
    >>> result = fc.run(config)
    >>> future = fc.forecast(result.model, result.data, horizon=3)
    >>> list(future.columns), len(future), str(future.index[0])
    (['forecast', 'lower', 'upper'], 3, '2000-10-27 00:00:00')
    """
    if isinstance(model, ForecastResult):
        model = model.model
    elif isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Received an invalid value for argument `model`, expected a keras.Model from "
            f"`run`, a ForecastResult or a .keras path, got {type(model).__name__}."
        )
    norm, head = _parts(model)
    encoders = norm.encoders or {}
    extra = list(encoders.get("columns", []))
    columns = [c for c in (norm.columns or ["y"]) if c not in extra]
    lookback = int(model.input_shape[1])
    if horizon is None:
        horizon = head.horizon
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(
            f"Received an invalid value for argument `horizon`, expected an integer >= 1, "
            f"got {horizon!r}."
        )
    if horizon > head.horizon:
        raise ValueError(
            f"Received `horizon`={horizon}, but the model forecasts {head.horizon} steps "
            "at once; train a model with a longer horizon."
        )
    if isinstance(data, pd.Series):
        frame = ts.from_dataframe(data.rename(columns[0]) if len(columns) == 1 else data)
    else:
        frame = ts.from_dataframe(data, target=columns[0], covariates=columns[1:])
    if len(frame) < lookback:
        raise ValueError(
            f"Received {len(frame)} points in `data`, but the model needs the last "
            f"`lookback`={lookback} values."
        )
    freq = freq or frame.attrs.get("freq")
    if freq is None:
        raise ValueError(
            "Cannot infer the frequency of the timestamps of `data` (irregular index): "
            "pass `freq=` (e.g. 'D')."
        )
    window = frame.iloc[-lookback:]
    values = window.to_numpy(dtype="float64")
    if extra:
        positions = _positions(window.index, encoders["origin"], encoders["freq"])
        values = np.concatenate(
            [values, _season_encoding(positions, encoders["periods"])[0]], axis=1
        )
    x = values.astype("float32")[None]
    mc = head.interval_method == "mc_dropout"
    pred = _predict(model, x, mc_samples if mc else 0, head.interval_level, seed=seed)[0]
    index = pd.date_range(start=frame.index[-1], periods=horizon + 1, freq=freq)[1:]
    out = pd.DataFrame({"forecast": pred[:horizon, 0]}, index=index.rename(frame.index.name))
    if pred.shape[-1] == 3:
        out["lower"] = pred[:horizon, 1]
        out["upper"] = pred[:horizon, 2]
        out.attrs["interval_level"] = head.interval_level
        out.attrs["interval_method"] = head.interval_method
    return out


# ====================================================================== backtest
def backtest(
    series: pd.Series | pd.DataFrame | None,
    config: ForecastConfig,
    folds: int = 3,
) -> pd.DataFrame:
    """Rolling-origin evaluation: `folds` runs, each tested on the next block.

    The test blocks are consecutive, each `test_size` points long, and end
    at the end of the series; fold `k` trains on everything before its
    block (an expanding window) with the validation part just before it,
    then scores the model and the baselines on its block with `run`.

    Args:
        series: The data (as for `run`), or None for the config's own data.
        config: The run settings; `test_size` and `val_size` fractions refer
            to the whole series and become fixed numbers of points.
        folds: Number of folds (>= 1).

    Returns:
        The metrics tables of the folds stacked: index `(fold, metric,
        step)`, one column per forecaster; `attrs["cutoffs"]` holds the
        timestamp of the last training-or-validation point of each fold.
        With `output_dir`, the folds' run folders and `backtest.csv` go in
        one folder (`attrs["run_dir"]`).

    Example:

    >>> from lstm_apps.recipes import forecast as fc
    >>> config = fc.ForecastConfig(length=400, lookback=30, horizon=5, units=8, epochs=1,
    ...                            test_size=50, output_dir=None)
    >>> frame = fc.backtest(None, config, folds=2)
    >>> sorted(frame.index.get_level_values("fold").unique().tolist())
    [0, 1]
    """
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
    frame = load_data(config, series)
    whole = ts.split_by_time(
        len(frame), config.lookback, config.horizon, config.val_size, config.test_size
    )
    n_test, n_val = whole.n_test, whole.n_val
    ends = [len(frame) - (folds - 1 - k) * n_test for k in range(folds)]
    # The shortest fold must fit, checked before any training.
    ts.split_by_time(ends[0], config.lookback, config.horizon, n_val, n_test)
    base = _run_dir(config, kind="backtest")
    tables, cutoffs = [], []
    for k, end in enumerate(ends):
        fold_config = dataclasses.replace(
            config,
            val_size=n_val,
            test_size=n_test,
            output_dir=None if base is None else str(base),
            run_name=None if base is None else f"fold_{k}",
        )
        part = frame.iloc[:end].copy()
        # `run` re-checks the data; the synthetic settings let it add the oracle.
        part.attrs = dict(frame.attrs.get("synthetic") or {})
        result = run(fold_config, part)
        tables.append(result.table)
        cutoffs.append(str(frame.index[end - n_test - 1]))
        logger.info("backtest fold %d/%d: model MAE %.4g", k + 1, folds, result.metrics["mae"])
    out = pd.concat(tables, keys=range(folds), names=["fold"])
    out.attrs = {"cutoffs": cutoffs, "run_dir": None if base is None else str(base)}
    if base is not None:
        _io.write_csv(base / "backtest.csv", out, index=True)
        _io.write_json(base / "config.json", {**config_to_dict(config), "folds": folds})
    return out

