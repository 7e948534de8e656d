"""Figures of the long-range memory recipe (`lstm_apps.recipes.memory`).

Each function takes one of the frames of a `MemoryResult` (`results`,
`forget_curves`, `timescales`) and returns a `matplotlib.figure.Figure`
made with the object-oriented API (no `pyplot` state), like
`lstm_apps.plots.gates`: a notebook shows it when it is the last expression
of a cell, and `lstm_apps._io.save_figure` writes it. This module imports
matplotlib only when a figure is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_forget_curves", "plot_memory_results", "plot_memory_timescales"]


def plot_memory_results(results: pd.DataFrame) -> Figure:
    """Test MSE / trivial-baseline MSE per length, one line per model (log scale).

    Args:
        results: `MemoryResult.results`.

    Returns:
        A matplotlib Figure; the dashed line is the "solved" threshold.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.plots.memory import plot_memory_results
    >>> frame = pd.DataFrame({"length": [10, 20], "model": ["a", "a"], "ratio": [0.01, 0.9],
    ...                       "solved": [True, False]})
    >>> len(plot_memory_results(frame).axes)
    1
    """
    from matplotlib.figure import Figure

    needed = {"length", "model", "ratio", "solved"}
    if not isinstance(results, pd.DataFrame) or not needed <= set(results.columns):
        raise TypeError(
            "Received an invalid value for argument `results`, expected "
            f"`MemoryResult.results` (columns {sorted(needed)})."
        )
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for model, part in results.groupby("model", sort=False):
        part = part.sort_values("length")
        line, = ax.plot(part["length"], part["ratio"], marker="o", label=model)
        solved = part[part["solved"]]
        ax.scatter(solved["length"], solved["ratio"], s=120, facecolors="none",
                   edgecolors=line.get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    lengths = sorted(results["length"].unique())
    ax.set_xticks(lengths)
    ax.set_xticklabels([str(v) for v in lengths])
    ax.set_xlabel("sequence length")
    ax.set_ylabel("test MSE / trivial baseline MSE")
    ax.set_title("Long-range memory (circled: solved)")
    ax.legend(fontsize="small")
    return fig


def _check_frame(name: str, value: Any, columns: set[str], expected: str) -> None:
    """A TypeError unless `value` is a DataFrame with `columns` (`expected` names it)."""
    if not isinstance(value, pd.DataFrame) or not columns <= set(value.columns):
        raise TypeError(f"Received an invalid value for argument `{name}`, expected {expected}.")


def _at_length(frame: pd.DataFrame, length: int) -> pd.DataFrame:
    """The rows of `frame` at sequence length `length`; a ValueError when there are none."""
    rows = frame[frame["length"] == length]
    if rows.empty:
        raise ValueError(
            f"Received `length`={length}, expected one of {sorted(frame['length'].unique())}."
        )
    return rows


def plot_forget_curves(curves: pd.DataFrame, length: int, marker_window: int = 10) -> Figure:
    """Forget gate over time at one length: mean over units, and the holding unit.

    Args:
        curves: `MemoryResult.forget_curves`.
        length: The sequence length to show.
        marker_window: Shades the steps where the first marker can be.

    Returns:
        A matplotlib Figure.

    Example:

    >>> import numpy as np, pandas as pd
    >>> from lstm_apps.plots.memory import plot_forget_curves
    >>> frame = pd.DataFrame({"length": 20, "model": "a", "step": np.arange(20),
    ...                       "mean_f": 0.5, "holder_f": 0.99})
    >>> len(plot_forget_curves(frame, 20).axes)
    1
    """
    from matplotlib.figure import Figure

    _check_frame("curves", curves, {"mean_f"}, "`MemoryResult.forget_curves`")
    part = _at_length(curves, length)
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot()
    for model, rows in part.groupby("model", sort=False):
        line, = ax.plot(rows["step"], rows["holder_f"], lw=2, label=f"{model}: holding unit")
        ax.plot(rows["step"], rows["mean_f"], lw=1, linestyle="--", color=line.get_color(),
                label=f"{model}: mean of units")
    ax.axvspan(0, marker_window, color="gray", alpha=0.15, label="first marker")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time step")
    ax.set_ylabel("forget gate f")
    ax.set_title(f"Forget gate on test sequences, length {length}")
    ax.legend(fontsize="small", loc="lower left")
    return fig


def plot_memory_timescales(results: pd.DataFrame, timescales: pd.DataFrame, length: int) -> Figure:
    """Each model's memory timescales at one length, beside whether it solved the task.

    One panel per model: a histogram of its units' timescales 1 / (1 - f)
    (log scale, f a unit's mean forget activation on the test probe), a
    dashed line at the distance the task asks to carry a value (half the
    length), and a title with the test MSE over the trivial baseline's and
    "solved" or "not solved". A model without a forget gate (SimpleRNN, GRU)
    gets a panel that says so.

    Args:
        results: `MemoryResult.results`.
        timescales: `MemoryResult.timescales`.
        length: The sequence length to show.

    Returns:
        A matplotlib Figure.

    Example:

    >>> import numpy as np, pandas as pd
    >>> from lstm_apps.plots.memory import plot_memory_timescales
    >>> results = pd.DataFrame({"length": 40, "model": ["a", "b"], "ratio": [0.01, 0.9],
    ...                         "solved": [True, False]})
    >>> scales = pd.DataFrame({"length": 40, "model": "a", "unit": range(4),
    ...                        "forget_mean": 0.9, "timescale": [5.0, 10, 20, 40]})
    >>> [ax.get_title() for ax in plot_memory_timescales(results, scales, 40).axes]
    ['a: solved (MSE 0.01 x baseline)', 'b: not solved (MSE 0.9 x baseline)']
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    needed = {"length", "model", "ratio", "solved"}
    _check_frame("results", results, needed,
                 f"`MemoryResult.results` (columns {sorted(needed)})")
    _check_frame("timescales", timescales, {"length", "model", "timescale"},
                 "`MemoryResult.timescales` (columns length, model, unit, forget_mean, timescale)")
    rows = _at_length(results, length)
    count = len(rows)
    figure = Figure(figsize=(3.4 * count, 3.0), layout="constrained")
    axes = figure.subplots(1, count, squeeze=False, sharey=True)[0]
    shown = timescales[timescales["length"] == length]["timescale"].to_numpy(dtype=float)
    shown = shown[np.isfinite(shown)]
    top = max(float(shown.max()) if shown.size else 1.0, float(length)) * 1.05
    edges = np.geomspace(1.0, top, 31)  # one scale for every panel
    for ax, (_, row) in zip(axes, rows.iterrows()):
        verdict = "solved" if row["solved"] else "not solved"
        ax.set_title(f"{row['model']}: {verdict} (MSE {row['ratio']:.2g} x baseline)",
                     fontsize=9, color="#117733" if row["solved"] else "#aa3377")
        part = timescales[(timescales["length"] == length) & (timescales["model"] == row["model"])]
        values = part["timescale"].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if not len(part):
            ax.text(0.5, 0.5, "no forget gate", ha="center", va="center",
                    transform=ax.transAxes, color="#666666")
            ax.set_xticks([])
        else:
            ax.hist(np.clip(finite, 1.0, top), bins=edges, color="#4477aa")
            ax.set_xscale("log")
            ax.set_xlim(1.0, top)
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.axvline(length / 2, color="#aa3377", linestyle="--", linewidth=0.8,
                       label=f"length / 2 = {length / 2:g}")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_xlabel("timescale 1 / (1 - f), steps")
    axes[0].set_ylabel("units")
    figure.suptitle(f"Memory timescales after training, length {length}", fontsize=10)
    return figure
