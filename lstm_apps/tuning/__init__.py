"""Hyperparameter search over the lstm_apps recipes with Keras Tuner.

One call (`tune`) or one command (`lstm-apps tune forecast|sentiment`) runs
a search whose trials are runs of the recipe; it resumes after a crash when
rerun, runs across machines with Keras Tuner's chief/worker mode, and
leaves a results table (`trials.csv`, `results_dataframe`), the best model
(`best_forecaster/` for the forecast recipe, `best_model.keras` for
sentiment) and its config (`best_config.json`).

- `ForecastHyperModel`, `SentimentHyperModel`: `keras_tuner.HyperModel`s
  that draw the recipe's settings: the cell, units, layers, dropout and
  learning rate (forecast, scored on its calibration origins, `val_mae`);
  also bidirectional, recurrent dropout and gradient clipping (sentiment).
- `RecipeTuner`: a `keras_tuner.Tuner` whose trials call the recipe's `run`.
- `oracles`: Keras Tuner's random, Bayesian and Hyperband oracles with
  per-trial bookkeeping, atomic state files and dead-worker recovery.
- `tune`, `TuneResult`, `results_dataframe`.
- `PARAMS`: every setting a hypermodel can tune (`Param`: kind, default
  range, help), e.g. for a command line's options.
"""

from __future__ import annotations

from lstm_apps.tuning._space import DEFAULT_CELLS, PARAMS, Param
from lstm_apps.tuning.hypermodels import (
    DEFAULT,
    RECIPES,
    ForecastHyperModel,
    RecipeHyperModel,
    SentimentHyperModel,
    make_hypermodel,
)
from lstm_apps.tuning.oracles import (
    BayesianOptimizationOracle,
    HyperbandOracle,
    RandomSearchOracle,
)
from lstm_apps.tuning.results import results_dataframe
from lstm_apps.tuning.search import TUNERS, TuneResult, parse_address, tune
from lstm_apps.tuning.tuner import RecipeTuner

__all__ = [
    "DEFAULT",
    "DEFAULT_CELLS",
    "PARAMS",
    "RECIPES",
    "TUNERS",
    "BayesianOptimizationOracle",
    "ForecastHyperModel",
    "HyperbandOracle",
    "Param",
    "RandomSearchOracle",
    "RecipeHyperModel",
    "RecipeTuner",
    "SentimentHyperModel",
    "TuneResult",
    "make_hypermodel",
    "parse_address",
    "results_dataframe",
    "tune",
]
