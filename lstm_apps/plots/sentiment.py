"""Figures of the sentiment recipe (`lstm_apps.recipes.sentiment`).

Like `lstm_apps.plots.gates`, every function returns a
`matplotlib.figure.Figure` made with the object-oriented API (no `pyplot`
state): a notebook shows it when it is the last expression of a cell, and
`lstm_apps._io.save_figure` writes it. This module imports matplotlib only
when a figure is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_sentiment_learning_curves"]

#: The quantities drawn, one panel each, when the history has them.
_PANELS = ("loss", "accuracy", "auc")


def plot_sentiment_learning_curves(history: Any) -> Figure:
    """Training and validation loss, accuracy and AUC per epoch.

    One panel per quantity among "loss", "accuracy" and "auc" that the
    history has, with the training curve and, where the history has its
    `val_` column, the validation curve (dashed); for a two-stage history
    (a `branch` column) one pair of curves per branch.

    Args:
        history: `SentimentResult.history`: a DataFrame with an "epoch"
            column and at least one of "loss", "accuracy", "auc"
            (optionally "val_loss", "val_accuracy", "val_auc", and "branch").

    Returns:
        A matplotlib Figure with one axes per quantity.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.plots.sentiment import plot_sentiment_learning_curves
    >>> history = pd.DataFrame({"epoch": [1, 2], "loss": [0.6, 0.4], "val_loss": [0.5, 0.45],
    ...                         "accuracy": [0.7, 0.8], "val_accuracy": [0.75, 0.78]})
    >>> [ax.get_title() for ax in plot_sentiment_learning_curves(history).axes]
    ['loss', 'accuracy']
    """
    import pandas as pd
    from matplotlib.figure import Figure

    if (
        not isinstance(history, pd.DataFrame)
        or "epoch" not in history
        or not any(m in history for m in _PANELS)
    ):
        raise TypeError(
            "Received an invalid value for argument `history`, expected "
            "`SentimentResult.history` (a DataFrame with an \"epoch\" column and at least "
            f"one of {list(_PANELS)})."
        )
    panels = [m for m in _PANELS if m in history]
    figure = Figure(figsize=(4.2 * len(panels), 3.4))
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    # A two-stage history holds each branch's own training (a `branch` column).
    parts = list(history.groupby("branch", sort=False)) if "branch" in history else [
        (None, history)]
    for ax, metric in zip(axes, panels):
        for branch, rows in parts:
            prefix = f"{branch} " if branch is not None else ""
            line = ax.plot(rows["epoch"], rows[metric], marker="o", label=f"{prefix}train")
            if f"val_{metric}" in rows:
                ax.plot(rows["epoch"], rows[f"val_{metric}"], marker="o", linestyle="--",
                        color=line[0].get_color() if branch is not None else None,
                        label=f"{prefix}validation")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    return figure
