"""Matplotlib figures of lstm_apps results; each function returns a Figure."""

from lstm_apps.plots.forecast import (
    plot_backtest,
    plot_forecast,
    plot_horizon_errors,
    plot_learning_curves,
    plot_test_predictions,
)
from lstm_apps.plots.gates import (
    plot_gate_heatmap,
    plot_gate_histograms,
    plot_gate_lines,
    plot_timescales,
)
from lstm_apps.plots.memory import (
    plot_forget_curves,
    plot_memory_results,
    plot_memory_timescales,
)
from lstm_apps.plots.sentiment import plot_sentiment_learning_curves

__all__ = [
    "plot_backtest",
    "plot_forecast",
    "plot_horizon_errors",
    "plot_learning_curves",
    "plot_test_predictions",
    "plot_gate_heatmap",
    "plot_gate_histograms",
    "plot_gate_lines",
    "plot_timescales",
    "plot_forget_curves",
    "plot_memory_results",
    "plot_memory_timescales",
    "plot_sentiment_learning_curves",
]
