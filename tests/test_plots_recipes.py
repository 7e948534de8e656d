"""Tests of the recipe figures in `lstm_apps.plots` (memory, sentiment)."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from lstm_apps import plots
from lstm_apps.plots import memory as memory_plots
from lstm_apps.plots.sentiment import plot_sentiment_learning_curves
from lstm_apps.recipes import memory


@pytest.mark.parametrize(
    "name", ["plot_forget_curves", "plot_memory_results", "plot_memory_timescales"]
)
def test_memory_figures_stay_importable_from_the_recipe(name):
    assert getattr(memory, name) is getattr(memory_plots, name) is getattr(plots, name)
    assert name in memory.__all__ and name in plots.__all__


def test_sentiment_learning_curves_draw_the_quantities_of_the_history():
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.7, 0.5, 0.4], "auc": [0.6, 0.8, 0.9],
                            "val_loss": [0.6, 0.55, 0.5], "val_auc": [0.7, 0.75, 0.8]})
    figure = plot_sentiment_learning_curves(history)
    assert isinstance(figure, Figure)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "auc"]
    assert [len(ax.lines) for ax in figure.axes] == [2, 2]  # train and validation


def test_sentiment_learning_curves_draw_each_branch_of_an_ensemble():
    history = pd.DataFrame({"branch": ["ngram"] * 2 + ["lstm"] * 3, "epoch": [1, 2, 1, 2, 3],
                            "loss": [0.5, 0.3, 0.7, 0.5, 0.4],
                            "val_loss": [0.4, 0.35, 0.6, 0.5, 0.45]})
    (ax,) = plot_sentiment_learning_curves(history).axes
    assert [line.get_label() for line in ax.lines] == [
        "ngram train", "ngram validation", "lstm train", "lstm validation"]
    assert [len(line.get_xdata()) for line in ax.lines] == [2, 2, 3, 3]


@pytest.mark.parametrize(
    "history",
    [{"epoch": [1], "loss": [0.5]}, pd.DataFrame({"loss": [0.5]}),
     pd.DataFrame({"epoch": [1], "precision": [0.5]})],
)
def test_sentiment_learning_curves_reject_other_values(history):
    with pytest.raises(TypeError, match="Received an invalid value for argument `history`"):
        plot_sentiment_learning_curves(history)
