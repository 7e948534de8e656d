"""Figures of forecasts: history with forecast and interval, test forecasts,
error per horizon step, learning curves, backtest folds.

Like `lstm_apps.plots.gates`, every function returns a
`matplotlib.figure.Figure` made with the object-oriented API (no `pyplot`
state): a notebook shows it when it is the last expression of a cell, and
`lstm_apps._io.save_figure` writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "plot_backtest",
    "plot_forecast",
    "plot_horizon_errors",
    "plot_learning_curves",
    "plot_test_predictions",
]

_BASELINE_STYLE = {
    "naive": dict(color="tab:gray", linestyle=":"),
    "seasonal_naive": dict(color="tab:orange", linestyle="--"),
    "drift": dict(color="tab:brown", linestyle="-."),
    "ets": dict(color="tab:green", linestyle="--"),
    "auto_ets": dict(color="tab:green", linestyle="--"),
    "auto_arima": dict(color="tab:purple", linestyle="--"),
    "theta": dict(color="tab:olive", linestyle="-."),
    "lstm": dict(color="tab:pink", linestyle="-"),
    "oracle": dict(color="black", linestyle=":"),
}


def _check_frame(name: str, value: object, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise TypeError(
            f"Received an invalid value for argument `{name}`, expected a pandas "
            f"DataFrame, got {type(value).__name__}."
        )
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ValueError(
            f"Received `{name}` without the columns {missing}; its columns are "
            f"{list(value.columns)}."
        )
    return value


def plot_forecast(
    history: pd.Series,
    forecast: pd.DataFrame,
    actual: pd.Series | None = None,
    tail: int | None = 300,
    title: str | None = None,
) -> Figure:
    """The end of a series, the forecast that follows it and its interval.

    Args:
        history: The observed series (the model's input ends at its end).
        forecast: A DataFrame indexed by the future timestamps with a
            "forecast" column and, optionally, "lower" and "upper" (the
            output of `lstm_apps.recipes.forecast.forecast`).
        actual: The true future values, drawn when given.
        tail: Points of history shown (None: all).
        title: Figure title.

    Returns:
        A Figure with one axes.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.plots.forecast import plot_forecast
    >>> idx = pd.date_range("2024-01-01", periods=12, freq="D")
    >>> future = pd.DataFrame({"forecast": [3.0, 4.0], "lower": [2.0, 3.0],
    ...                        "upper": [4.0, 5.0]}, index=idx[10:])
    >>> fig = plot_forecast(pd.Series(range(10), idx[:10], dtype=float), future)
    >>> len(fig.axes)
    1
    """
    if not isinstance(history, pd.Series):
        raise TypeError(
            "Received an invalid value for argument `history`, expected a pandas Series, "
            f"got {type(history).__name__}."
        )
    forecast = _check_frame("forecast", forecast, ["forecast"])
    shown = history if tail is None else history.iloc[-tail:]
    fig = Figure(figsize=(10, 4))
    ax = fig.add_subplot()
    ax.plot(shown.index, shown.to_numpy(), color="tab:blue", lw=1, label="history")
    ax.plot(forecast.index, forecast["forecast"].to_numpy(), color="tab:red", lw=1.8,
            marker=".", label="forecast")
    if {"lower", "upper"} <= set(forecast.columns):
        level = forecast.attrs.get("interval_level")
        label = f"{level:.0%} interval" if level else "interval"
        ax.fill_between(forecast.index, forecast["lower"].to_numpy(),
                        forecast["upper"].to_numpy(), color="tab:red", alpha=0.2, label=label)
    if actual is not None:
        ax.plot(actual.index, actual.to_numpy(), color="black", lw=1, marker="x", ms=4,
                label="actual")
    ax.axvline(shown.index[-1], color="gray", lw=0.8, linestyle="--")
    ax.set_title(title or "Forecast")
    ax.set_xlabel(history.index.name or "time")
    ax.set_ylabel(str(history.name) if history.name is not None else "value")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    return fig


def plot_test_predictions(
    predictions: pd.DataFrame,
    steps: Sequence[int] | None = None,
    tail: int | None = 200,
    baselines: Sequence[str] = ("seasonal_naive",),
) -> Figure:
    """Test-set forecasts `h` steps ahead against the actual values.

    Args:
        predictions: `ForecastResult.predictions` (columns "timestamp",
            "step", "actual", "model", optionally "lower" / "upper" and
            baselines).
        steps: Horizon steps to show, one panel each (default: the first and
            the last).
        tail: Last target timestamps shown per panel (None: all).
        baselines: Baseline columns drawn too (when present).

    Returns:
        A Figure with one axes per step.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.plots.forecast import plot_test_predictions
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="D")
    >>> frame = pd.DataFrame({"timestamp": idx, "step": [1, 2, 1, 2],
    ...                       "actual": [1.0, 2, 3, 4], "model": [1.1, 2, 3, 4]})
    >>> len(plot_test_predictions(frame).axes)
    2
    """
    frame = _check_frame("predictions", predictions, ["timestamp", "step", "actual", "model"])
    available = sorted(frame["step"].unique())
    if steps is None:
        steps = sorted({available[0], available[-1]})
    bad = [s for s in steps if s not in available]
    if bad:
        raise ValueError(
            f"Received `steps`={list(steps)}, but the predictions have steps "
            f"{available[0]}..{available[-1]} (not {bad})."
        )
    fig = Figure(figsize=(10, 2.8 * len(steps)))
    axes = fig.subplots(len(steps), 1, sharex=True, squeeze=False)[:, 0]
    for ax, step in zip(axes, steps):
        part = frame[frame["step"] == step].sort_values("timestamp")
        if tail is not None:
            part = part.iloc[-tail:]
        t = part["timestamp"]
        ax.plot(t, part["actual"], color="black", lw=0.8, label="actual")
        ax.plot(t, part["model"], color="tab:red", lw=1.2, label="model")
        if {"lower", "upper"} <= set(part.columns):
            ax.fill_between(t, part["lower"], part["upper"], color="tab:red", alpha=0.2,
                            label="interval")
        for name in baselines:
            if name in part.columns:
                ax.plot(t, part[name], lw=1, label=name, **_BASELINE_STYLE.get(name, {}))
        ax.set_title(f"{step} step{'s' if step > 1 else ''} ahead")
        ax.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_horizon_errors(
    table: pd.DataFrame,
    metric: str = "mae",
    floor: Sequence[float] | None = None,
    reference: str | None = None,
) -> Figure:
    """Error per horizon step of the model and every baseline, relative to a reference.

    Each forecaster's error is divided, step by step, by the reference's
    (the oracle when the table has one, else seasonal naive), so curves
    that sit within a few percent of each other are told apart; the y axis
    spans the curves, not 0 upwards. The reference is the line at 1. A
    second panel shows the raw errors of the model and the reference.

    Args:
        table: `ForecastResult.table` (index `(metric, step)`, one column
            per forecaster).
        metric: "mae", "rmse", "mase" or "smape".
        floor: Optional error of the best possible forecast per step (the
            noise floor of a synthetic series), drawn relative too.
        reference: The column the errors are divided by (default: "oracle",
            else "seasonal_naive", else the first column).

    Returns:
        A Figure with two axes.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.forecasting.metrics import metrics_table
    >>> from lstm_apps.plots.forecast import plot_horizon_errors
    >>> table = metrics_table(np.ones((3, 4)), {"model": np.zeros((3, 4)),
    ...                       "seasonal_naive": np.full((3, 4), 3.0)}, np.arange(9.0))
    >>> plot_horizon_errors(table, "rmse").axes[0].get_ylabel()
    'RMSE / RMSE of seasonal_naive'
    """
    if not isinstance(table, pd.DataFrame) or not isinstance(table.index, pd.MultiIndex):
        raise TypeError(
            "Received an invalid value for argument `table`, expected the metrics table "
            f"of a forecasting run (index (metric, step)), got {type(table).__name__}."
        )
    metrics = list(table.index.get_level_values(0).unique())
    if metric not in metrics:
        raise ValueError(
            f"Received an invalid value for argument `metric`, expected one of {metrics}, "
            f"got {metric!r}."
        )
    columns = list(table.columns)
    if reference is None:
        reference = next((c for c in ("oracle", "seasonal_naive") if c in columns), columns[0])
    if reference not in columns:
        raise ValueError(
            f"Received an invalid value for argument `reference`, expected one of {columns}, "
            f"got {reference!r}."
        )
    per_step = table.loc[metric].drop("all", errors="ignore")
    steps = np.asarray(per_step.index, dtype=int)
    base = per_step[reference].to_numpy(dtype=float)
    label = metric.upper() if metric != "smape" else "sMAPE"
    fig = Figure(figsize=(11, 4))
    ax, raw = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in per_step.columns:
            style = (dict(color="tab:red", lw=2.2, marker="o") if name == "model"
                     else dict(lw=1.3, marker=".", **_BASELINE_STYLE.get(name, {})))
            ax.plot(steps, per_step[name].to_numpy() / base, label=name, **style)
        if floor is not None:
            ax.plot(steps, np.asarray(floor, dtype=float) / base, color="tab:blue", lw=1,
                    linestyle="--", label="noise floor (best possible)")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xlabel("horizon step")
    ax.set_ylabel(f"{label} / {label} of {reference}")
    ax.set_title(f"{label} per horizon step, relative to {reference}")
    ax.set_xticks(steps)
    ax.legend(fontsize="small", ncol=2)
    raw.plot(steps, per_step["model" if "model" in columns else columns[0]].to_numpy(),
             color="tab:red", marker="o", label="model" if "model" in columns else columns[0])
    raw.plot(steps, base, marker=".", label=reference, **_BASELINE_STYLE.get(reference, {}))
    raw.set_xlabel("horizon step")
    raw.set_ylabel(label if metric != "smape" else "sMAPE (%)")
    raw.set_title(f"{label} per step")
    raw.set_xticks(steps)
    raw.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_learning_curves(history: pd.DataFrame) -> Figure:
    """Training and validation loss (and point MAE) per epoch.

    Args:
        history: `ForecastResult.history` (columns "loss", optionally
            "val_loss", "point_mae", "val_point_mae", "epoch").

    Returns:
        A Figure with one axes per quantity.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.plots.forecast import plot_learning_curves
    >>> frame = pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.2, 0.7]})
    >>> len(plot_learning_curves(frame).axes)
    1
    """
    frame = _check_frame("history", history, ["loss"])
    epochs = frame["epoch"] if "epoch" in frame else np.arange(1, len(frame) + 1)
    groups = [("loss", "loss")]
    mae = [c for c in frame.columns if c.endswith("mae") and not c.startswith("val_")]
    if mae:
        groups.append((mae[0], "MAE of the point forecast"))
    fig = Figure(figsize=(5 * len(groups), 3.5))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (key, label) in zip(axes, groups):
        ax.plot(epochs, frame[key], marker=".", label="train")
        if f"val_{key}" in frame:
            ax.plot(epochs, frame[f"val_{key}"], marker=".", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if key == "loss" and (frame[key] > 0).all():
            ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    return fig


def plot_backtest(frame: pd.DataFrame, metric: str = "mase") -> Figure:
    """One group of bars per backtest fold: each forecaster's overall error.

    Args:
        frame: The output of `lstm_apps.recipes.forecast.backtest` (index
            `(fold, metric, step)`).
        metric: "mae", "rmse", "mase" or "smape".

    Returns:
        A Figure with one axes.

    Example:

    >>> import numpy as np, pandas as pd
    >>> from lstm_apps.forecasting.metrics import metrics_table
    >>> from lstm_apps.plots.forecast import plot_backtest
    >>> t = metrics_table(np.ones((3, 2)), {"model": np.zeros((3, 2))}, np.arange(9.0))
    >>> len(plot_backtest(pd.concat([t, t], keys=[0, 1], names=["fold"])).axes)
    1
    """
    if not isinstance(frame, pd.DataFrame) or frame.index.nlevels != 3:
        raise TypeError(
            "Received an invalid value for argument `frame`, expected the output of "
            f"`backtest` (index (fold, metric, step)), got {type(frame).__name__}."
        )
    overall = frame.xs("all", level="step")
    if metric not in overall.index.get_level_values(1):
        raise ValueError(
            f"Received an invalid value for argument `metric`, expected one of "
            f"{sorted(set(overall.index.get_level_values(1)))}, got {metric!r}."
        )
    values = overall.xs(metric, level="metric")
    folds = np.arange(len(values))
    width = 0.8 / len(values.columns)
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    for k, name in enumerate(values.columns):
        color = "tab:red" if name == "model" else _BASELINE_STYLE.get(name, {}).get("color")
        ax.bar(folds + k * width, values[name].to_numpy(), width, label=name, color=color)
    ax.set_xticks(folds + width * (len(values.columns) - 1) / 2)
    ax.set_xticklabels([f"fold {f}" for f in values.index])
    ax.set_ylabel(metric.upper())
    ax.set_title(f"Backtest: {metric.upper()} per fold")
    ax.legend(fontsize="small")
    return fig
