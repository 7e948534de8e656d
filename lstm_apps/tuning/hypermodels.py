"""Keras Tuner hypermodels of the lstm_apps recipes, one per recipe.

A hypermodel takes the fixed task settings (the recipe's base config: data,
window, horizon, output size, epochs...) in `__init__`, checks them there,
and draws the tunable ones in `build(hp)`. Defaults and ranges:

| setting             | default search range                          | hyperparameter |
|---------------------|-----------------------------------------------|----------------|
| `cell`              | standard, peephole, coupled, keras_lstm, gru  | `hp.Choice`    |
| `units`             | 8..64, step 8 (sentiment: 16..128, step 16)   | `hp.Int`       |
| `layers`            | 1..2                                          | `hp.Int`       |
| `bidirectional`     | False, True (recipes with that field only)    | `hp.Boolean`   |
| `dropout`           | 0.0..0.5, step 0.1                            | `hp.Float`     |
| `recurrent_dropout` | 0.0..0.3, step 0.1                            | `hp.Float` (3) |
| `learning_rate`     | 1e-4..1e-2, log scale                         | `hp.Float(sampling="log")` |
| `clipnorm`          | 0 (off), 1, 5                                 | `hp.Choice`    |
| `unit_forget_bias`  | True, False; not drawn for gru (no forget gate) | `hp.Boolean` (1) |
| `chrono_t_max`      | 0 (off), 100, 1000; lstm_apps cells with f    | `hp.Choice` (2) |

(1) inside `hp.conditional_scope("cell", <the cells other than gru>)`.
(2) chrono initialisation (Tallec & Ollivier 2018, `lstm_apps.cells.ChronoInitializer`),
drawn inside `hp.conditional_scope("cell", <the lstm_apps cells with a forget gate>)`
when the search has other cells; 0 becomes `chrono_t_max=None` in the config.
(3) inside `hp.conditional_scope("cell", <the cells with recurrent weights>)` when
the search has mlstm, minlstm or mingru beside them.

Only the settings that are fields of the recipe's config are tuned: the
forecast recipe tunes `cell`, `units`, `layers`, `dropout` and
`learning_rate` (its defaults: units 8..64 step 8, learning rate 1e-3..3e-2,
log scale); the sentiment recipe all but `unit_forget_bias`.

Each setting is an argument of the hypermodel: leave it out for the default
range, pass `None` to leave it untuned (the base config's value), a single
value to fix it (`units=32`, `cells="peephole"`: an `hp.Fixed`, shown in the
results), a range `(min, max)` / `(min, max, step)` for a number, or a
sequence of values for a choice. `cells` also takes the groups "default",
"ablations" (Greff et al.'s variants), "xlstm" (slstm, mlstm), "min"
(minlstm, mingru) and "all"; `recurrent_dropout` is drawn only for the
cells with recurrent weights (not mlstm, minlstm, mingru: 0 for them), and
`gate_monitor` is switched off for the cells gate tracing does not cover.
The hyperparameters carry the names of the config fields, so
`hp.Fixed("units", 32)` in a `HyperParameters` passed to the tuner works too.

Hyperband's budget (`tuner/epochs`, out of `max_epochs` = the base config's
`epochs`) becomes a config setting through `RecipeHyperModel.budget`: the
sentiment recipe trains `tuner/epochs` epochs; the forecast recipe, whose
budget is its number of optimisation steps (`epochs` only splits them),
trains `max(1, steps * tuner/epochs // epochs)` steps in `tuner/epochs`
epochs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import keras
import keras_tuner

from lstm_apps.recipes import forecast as _forecast
from lstm_apps.recipes import registry
from lstm_apps.recipes._common import (
    BASELINE_CELLS,
    config_to_dict,
    gates_traceable,
    has_forget_gate,
)
from lstm_apps.tuning import _space

__all__ = [
    "DEFAULT",
    "RECIPES",
    "ForecastHyperModel",
    "RecipeHyperModel",
    "SentimentHyperModel",
    "make_hypermodel",
    "recipe_name",
]

logger = logging.getLogger(__name__)

#: Recipes that can be tuned, by name (those of `lstm_apps.recipes.registry` with a
#: hypermodel).
RECIPES = registry.tunable()


class _Default:
    """Marks a search-space argument that was not given (its default range applies)."""

    def __repr__(self) -> str:
        return "DEFAULT"


#: The value of a search-space argument that was left out.
DEFAULT: Any = _Default()


class RecipeHyperModel(keras_tuner.HyperModel):
    """Base class: a recipe's config with some fields drawn from a search space.

    Subclasses set `recipe`, `config_class`, `metric_directions` and
    `default_space` (and, where the recipe's run folder differs,
    `model_file`, `best_model_file`, `epoch_runs`), and implement `_prepare`
    (check and load the data), `_build_model(config)` and `run(config)`,
    `trial_metrics(result)`; `budget` and `load_trained` where the recipe's
    training budget is not its `epochs` or its model not a `.keras` file.

    Args:
        base_config: The recipe's config; its values are used for every
            setting that is not tuned, and its task settings (data, windows,
            epochs, outputs) for every trial.
        data: Data passed to the recipe's `run` (recipe-specific; None: the
            config's own data source).
        cells, units, layers, bidirectional, dropout, recurrent_dropout,
            learning_rate, clipnorm, unit_forget_bias, chrono_t_max: The search range of
            each setting (see the module docstring); `cells` is drawn as the
            hyperparameter "cell".
        name: Name of the hypermodel.
    """

    recipe: ClassVar[str] = ""
    config_class: ClassVar[type] = type(None)
    #: Metric reported by `trial_metrics` -> "min" or "max".
    metric_directions: ClassVar[dict[str, str]] = {}
    #: The metric `tune` optimises unless told otherwise.
    default_objective: ClassVar[str] = "val_loss"
    #: Default search range per setting, over `_space.PARAMS`' defaults.
    default_space: ClassVar[dict[str, Any]] = {}
    #: The trained model in a run folder of the recipe (a file or a folder).
    model_file: ClassVar[str] = "model.keras"
    #: The copy of the best trial's model in the project folder.
    best_model_file: ClassVar[str] = "best_model.keras"
    #: Per-epoch TensorBoard scalars of a run, as (run below `tb/`, display name),
    #: shown beside the trial metrics in the HParams dashboard ("epoch_loss").
    epoch_runs: ClassVar[tuple[tuple[str, str], ...]] = (
        ("validation", "validation loss (per epoch)"),
        ("train", "train loss (per epoch)"),
    )

    def __init__(
        self,
        base_config: Any = None,
        data: Any = None,
        *,
        cells: Any = DEFAULT,
        units: Any = DEFAULT,
        layers: Any = DEFAULT,
        bidirectional: Any = DEFAULT,
        dropout: Any = DEFAULT,
        recurrent_dropout: Any = DEFAULT,
        learning_rate: Any = DEFAULT,
        clipnorm: Any = DEFAULT,
        unit_forget_bias: Any = DEFAULT,
        chrono_t_max: Any = DEFAULT,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        if base_config is None:
            base_config = self.config_class()
        if not isinstance(base_config, self.config_class):
            raise TypeError(
                f"Received an invalid value for argument `base_config`, expected a "
                f"{self.config_class.__name__}, got {type(base_config).__name__}."
            )
        self.base_config = base_config
        self.data = data
        given = {
            "cell": cells, "units": units, "layers": layers, "bidirectional": bidirectional,
            "dropout": dropout, "recurrent_dropout": recurrent_dropout,
            "learning_rate": learning_rate, "clipnorm": clipnorm,
            "unit_forget_bias": unit_forget_bias, "chrono_t_max": chrono_t_max,
        }
        user = {k: v for k, v in given.items() if v is not DEFAULT}
        fields = [f.name for f in dataclasses.fields(self.config_class)]
        self.space: dict[str, _space.Spec] = _space.resolve_space(
            user, fields, self.default_space, self.recipe
        )
        self._check_space()
        self._prepare()

    # ------------------------------------------------------------ space
    def _check_space(self) -> None:
        """Every end of every range gives a valid config, before any trial runs."""
        for name, spec in self.space.items():
            for value in spec.corners():
                self._try_config({name: value}, name)
        for pick in (0, -1):
            values = {name: spec.corners()[pick] for name, spec in self.space.items()}
            self._try_config(values, "the search space")

    def _try_config(self, values: Mapping[str, Any], argument: str) -> None:
        try:
            self._replace(dict(values))
        except (ValueError, TypeError) as error:
            where = f"argument `{argument}`" if argument in self.space else argument
            raise ValueError(
                f"Received an invalid search range for {where}: the {self.recipe} recipe "
                f"rejects {dict(values)}: {error}"
            ) from None

    def _replace(self, values: dict[str, Any], **overrides: Any) -> Any:
        if "clipnorm" in values:
            values["clipnorm"] = float(values["clipnorm"]) or None
        if "chrono_t_max" in values:
            values["chrono_t_max"] = int(values["chrono_t_max"]) or None
        for key in ("units", "layers"):
            if key in values:
                values[key] = int(values[key])
        cell = values.get("cell", self.base_config.cell)
        if getattr(self.base_config, "gate_monitor", False) and not _traceable(cell):
            # Keras's own layers, minLSTM, minGRU and mLSTM: no gates to trace.
            values["gate_monitor"] = False
        values.update(overrides)
        return dataclasses.replace(self.base_config, **values)

    def search_space(self) -> dict[str, str]:
        """The search space as text, e.g. `{"units": "Int(8..64, step 8)", ...}`."""
        return {name: spec.describe() for name, spec in self.space.items()}

    def draw(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """Registers the search space on `hp`; returns the drawn values by config field.

        `unit_forget_bias` is drawn only when the cell is not "gru" (a GRU has
        no forget gate), `chrono_t_max` only for the lstm_apps cells with a
        forget gate, and `recurrent_dropout` only for cells with recurrent
        weights (not "mlstm", "minlstm" or "mingru", which get 0), inside
        `hp.conditional_scope("cell", ...)`; a setting none of the searched
        cells has is not drawn (the base config's value stays).
        """
        base = self.base_config
        values: dict[str, Any] = {}
        cell_spec = self.space.get("cell")
        if cell_spec is not None:
            values["cell"] = cell_spec.draw(hp, base.cell)
        for name, spec in self.space.items():
            if name == "cell":
                continue
            default = getattr(base, name)
            if name == "clipnorm":
                default = float(default or 0.0)
            if name == "chrono_t_max":
                default = int(default or 0)
            if name in ("unit_forget_bias", "chrono_t_max", "recurrent_dropout"):
                cells = cell_spec.values if cell_spec is not None else (base.cell,)
                keep = {
                    "chrono_t_max": _has_forget_gate,
                    "recurrent_dropout": _has_recurrent_weights,
                }.get(name, lambda c: c != "gru")
                lstm_cells = [c for c in cells if keep(c)]
                if not lstm_cells:
                    continue
                if cell_spec is not None and len(lstm_cells) < len(cells):
                    with hp.conditional_scope("cell", lstm_cells):
                        value = spec.draw(hp, default)
                    if value is not None:
                        values[name] = value
                    elif name == "recurrent_dropout":
                        values[name] = 0.0  # the drawn cell has no recurrent weights
                    continue
            values[name] = spec.draw(hp, default)
        return values

    def config(self, hp: keras_tuner.HyperParameters, **overrides: Any) -> Any:
        """The recipe config of the values in `hp` (drawn if missing).

        Args:
            hp: A `keras_tuner.HyperParameters` (a trial's, or a fresh one for
                the defaults).
            **overrides: Other config fields to set (e.g. `output_dir`).

        Returns:
            `dataclasses.replace(base_config, **drawn values, **overrides)`;
            `clipnorm` 0 becomes None (off), and `gate_monitor` is switched
            off for the Keras baselines.
        """
        return self._replace(self.draw(hp), **overrides)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """The compiled model of the recipe for the values drawn in `hp`."""
        return self._build_model(self.config(hp))

    def config_dict(self, config: Any) -> dict[str, Any]:
        """A config as a JSON-ready dict that `config_class(**d)` accepts."""
        return config_to_dict(config)

    # ------------------------------------------------------------ per recipe
    def run_overrides(self, run_dir: Path) -> dict[str, Any]:
        """Config fields that make the recipe write its run folder at `run_dir`."""
        raise NotImplementedError

    def _prepare(self) -> None:
        raise NotImplementedError

    def _build_model(self, config: Any) -> keras.Model:
        raise NotImplementedError

    def run(self, config: Any) -> Any:
        """Runs the recipe on the hypermodel's data with `config`."""
        raise NotImplementedError

    def trial_metrics(self, result: Any) -> dict[str, float]:
        """The numbers a trial reports to the oracle, from the recipe's result."""
        raise NotImplementedError

    @property
    def max_epochs(self) -> int:
        """Hyperband's `max_epochs`: the base config's `epochs`."""
        return int(self.base_config.epochs)

    def budget(self, tuner_epochs: int, max_epochs: int | None = None) -> dict[str, Any]:
        """Config fields of a Hyperband budget of `tuner_epochs` out of `max_epochs`.

        Here `{"epochs": tuner_epochs}`; recipes whose training budget is
        not their epochs override it.
        """
        return {"epochs": int(tuner_epochs)}

    def load_trained(self, path: str | Path) -> Any:
        """The trained model saved at `path` (a trial's `model_file`, or the best copy)."""
        import lstm_apps  # noqa: F401  (registers the custom layers)

        return keras.saving.load_model(path)

    @staticmethod
    def _history_row(history: Any, restore_best: bool) -> Any:
        """The epoch whose weights the recipe kept: best `val_loss`, or the last."""
        if "val_loss" in history and restore_best and history["val_loss"].notna().any():
            return history.loc[history["val_loss"].idxmin()]
        return history.iloc[-1]


def _has_forget_gate(cell: str) -> bool:
    """Whether an lstm_apps cell has a forget gate (False for keras_lstm and gru)."""
    return cell not in BASELINE_CELLS and has_forget_gate(cell)


def _has_recurrent_weights(cell: str) -> bool:
    """Whether a cell takes `recurrent_dropout` > 0 (False for mLSTM, minLSTM, minGRU)."""
    if cell in BASELINE_CELLS:
        return True
    from lstm_apps import cells

    try:
        cells.create(cell, 1, recurrent_dropout=0.1)
    except ValueError:  # the cell has no recurrent weights to drop
        return False
    return True


def _traceable(cell: str) -> bool:
    """Whether a trial of `cell` keeps `gate_monitor` (never for the Keras baselines)."""
    return cell not in BASELINE_CELLS and gates_traceable(cell)


def _float(value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


class ForecastHyperModel(RecipeHyperModel):
    """Hypermodel of the forecasting recipe (`lstm_apps.recipes.forecast`).

    The data is loaded and checked once, here. The model of each draw is the
    network that the trial's run trains: `LSTMForecaster.build` of
    `forecast.make_forecaster(config)` on the training part. Trials report
    `val_mae` and `val_scaled_mae` (the forecast's errors at the calibration
    origins at the end of the training part: the search never sees the
    test part), `loss` (the last training epoch's); on the test windows:
    `test_mae`, `test_rmse`, `test_mase`, `test_smape`; and `epochs`,
    `params` and `train_seconds`.

    Args:
        base_config: A `ForecastConfig` (with `intervals`: the calibration
            origins are the validation).
        data: Optional Series / DataFrame, as for `forecast.run`.
        **space: The search range of each setting (see
            `RecipeHyperModel`); the forecast recipe has no `bidirectional`,
            `recurrent_dropout`, `clipnorm` or `unit_forget_bias`.

    Example:

    >>> import keras_tuner
    >>> from lstm_apps.recipes.forecast import ForecastConfig
    >>> from lstm_apps.tuning import ForecastHyperModel
    >>> hm = ForecastHyperModel(ForecastConfig(length=300, horizon=3),
    ...                         cells=("standard", "gru"), units=(8, 32, 8))
    >>> hm.search_space()["units"]
    'Int(8..32, step 8)'
    >>> hp = keras_tuner.HyperParameters()
    >>> hp.Fixed("cell", "gru")
    'gru'
    >>> config = hm.config(hp)
    >>> config.cell, config.units
    ('gru', 8)
    >>> hm.build(hp).output_shape  # (batch, ensemble members, horizon)
    (None, 1, 3)
    """

    recipe = "forecast"
    metric_directions = {
        "val_mae": "min", "val_scaled_mae": "min", "loss": "min",
        "test_mae": "min", "test_rmse": "min", "test_mase": "min", "test_smape": "min",
        "epochs": "min", "params": "min", "train_seconds": "min",
    }
    default_objective = "val_mae"
    default_space = {"units": (8, 64, 8), "learning_rate": (1e-3, 3e-2)}
    model_file = "forecaster"
    best_model_file = "best_forecaster"
    epoch_runs = (("train/train", "train loss (per epoch)"),
                  ("finetune/train", "fine-tuning loss (per epoch)"))

    config_class = _forecast.ForecastConfig

    def __init__(self, base_config: Any = None, data: Any = None, **space: Any) -> None:
        super().__init__(base_config, data, **space)

    def _prepare(self) -> None:
        if not self.base_config.intervals:
            raise ValueError(
                "Received `intervals`=False in `base_config`: a search is scored on the "
                "calibration origins at the end of the training part (never on the test "
                "part), which only intervals make."
            )
        self._train = _forecast.training_data(self.base_config, self.data)

    def _build_model(self, config: Any) -> keras.Model:
        target, covariates = self._train
        return _forecast.make_forecaster(config).build(target, past_covariates=covariates)

    def run_overrides(self, run_dir: Path) -> dict[str, Any]:
        """`output_dir` = the trial folder, `run_name` = the run folder's name."""
        return {"output_dir": str(run_dir.parent), "run_name": run_dir.name}

    def run(self, config: Any) -> Any:
        """Runs `forecast.run(config, data)`."""
        return _forecast.run(config, self.data)

    def budget(self, tuner_epochs: int, max_epochs: int | None = None) -> dict[str, Any]:
        """`steps` = the base config's `steps` x `tuner_epochs` / `max_epochs` (at least 1).

        The forecast recipe's training budget is its number of optimisation
        steps (its `epochs` only split them into Keras epochs and do not
        change the result), so a Hyperband round of `tuner_epochs` out of
        `max_epochs` (default: the base config's `epochs`) trains that share
        of the steps, in `tuner_epochs` epochs, from scratch.

        Example:

        >>> from lstm_apps.recipes.forecast import ForecastConfig
        >>> from lstm_apps.tuning import ForecastHyperModel
        >>> hm = ForecastHyperModel(ForecastConfig(length=300, horizon=3, steps=90, epochs=3))
        >>> hm.budget(1), hm.budget(3)
        ({'steps': 30, 'epochs': 1}, {'steps': 90, 'epochs': 3})
        """
        tuner_epochs = int(tuner_epochs)
        max_epochs = self.max_epochs if max_epochs is None else int(max_epochs)
        steps = max(1, self.base_config.steps * tuner_epochs // max(1, max_epochs))
        return {"steps": steps, "epochs": min(tuner_epochs, steps)}

    def load_trained(self, path: str | Path) -> Any:
        """The fitted `LSTMForecaster` saved at `path` (a forecaster folder)."""
        return _forecast.load_forecaster(path)

    def trial_metrics(self, result: Any) -> dict[str, float]:
        """Validation numbers (calibration origins), test numbers, size and time."""
        validation = result.model.validation_
        out = {"val_mae": _float(validation.get("mae")),
               "val_scaled_mae": _float(validation.get("scaled_mae")),
               "loss": _float(result.history["loss"].iloc[-1])}
        for metric in ("mae", "rmse", "mase", "smape"):
            out[f"test_{metric}"] = _float(result.metrics.get(metric))
        out["epochs"] = float(len(result.history))
        out["params"] = float(result.model.network_.count_params())
        out["train_seconds"] = _float(result.metrics.get("train_seconds"))
        return out


class SentimentHyperModel(RecipeHyperModel):
    """Hypermodel of the sentiment recipe (`lstm_apps.recipes.sentiment`).

    The config names the data; `build(hp)` loads it once (on first use),
    adapts the vectoriser on the training split as `sentiment.run` does and
    compiles the model the same way. Trials report, at the epoch whose
    weights the recipe keeps (best validation accuracy): `val_accuracy`,
    `val_loss`, `val_auc`, `accuracy`, `loss`; on the test split:
    `test_accuracy`, `test_auc`, `test_loss`; and `epochs`, `params` and
    `train_seconds`. `tune` maximises `val_accuracy` by default, the
    quantity the recipe's early stopping watches. The sentiment config has
    no `unit_forget_bias` field, so that setting is not tuned.

    Args:
        base_config: A `SentimentConfig`.
        data: Must be None (the config names the data).
        **space: The search range of each setting (see `RecipeHyperModel`);
            default units 16..128, step 16.

    Example:

    >>> from lstm_apps.recipes.sentiment import SentimentConfig
    >>> from lstm_apps.tuning import SentimentHyperModel
    >>> hm = SentimentHyperModel(SentimentConfig(data="keras"), cells=("standard", "gru"))
    >>> sorted(hm.search_space())
    ['bidirectional', 'cell', 'clipnorm', 'dropout', 'layers', 'learning_rate', \
'recurrent_dropout', 'units']
    """

    recipe = "sentiment"
    metric_directions = {
        "val_accuracy": "max", "val_loss": "min", "val_auc": "max", "accuracy": "max",
        "loss": "min", "test_accuracy": "max", "test_auc": "max", "test_loss": "min",
        "epochs": "min", "params": "min", "train_seconds": "min",
    }
    default_objective = "val_accuracy"
    default_space = {"units": (16, 128, 16)}

    def __init__(self, base_config: Any = None, data: Any = None, **space: Any) -> None:
        try:
            from lstm_apps.recipes import sentiment
        except ImportError as error:
            raise ImportError(
                f"The sentiment recipe cannot be imported ({error}); it is needed to tune it."
            ) from None
        self.config_class = sentiment.SentimentConfig
        if data is not None:
            raise ValueError(
                "Received `data` for the sentiment recipe, which reads its data from its "
                f"config (`SentimentConfig.data`); got {type(data).__name__}."
            )
        super().__init__(base_config, None, **space)

    def _prepare(self) -> None:
        self._text_cache: tuple[Any, int] | None = None

    def _text_layers(self) -> tuple[Any, int]:
        """The adapted text layers of the base config and the training reviews' count
        (cached: the search space does not change the vocabulary)."""
        if self._text_cache is None:
            from lstm_apps.data import imdb
            from lstm_apps.recipes import sentiment

            config = self.base_config
            splits = imdb.load_imdb(
                config.data, config.test_data, text_column=config.text_column,
                label_column=config.label_column, validation_split=config.validation_split,
                test_split=config.test_split, max_train_samples=config.max_train_samples,
                max_test_samples=config.max_test_samples, seed=config.seed,
            )
            layers = sentiment.make_vectorizers(config, splits.train_texts, splits.train_labels)
            self._text_cache = (layers, len(splits.train_texts))
        return self._text_cache

    def _build_model(self, config: Any) -> keras.Model:
        from lstm_apps.recipes import sentiment

        layers, samples = self._text_layers()  # built and compiled as `sentiment.run` does
        return sentiment.compile_model(sentiment.build_model(config, *layers), config, samples)

    def run_overrides(self, run_dir: Path) -> dict[str, Any]:
        """`output_dir` = the run folder itself."""
        return {"output_dir": str(run_dir)}

    def config_dict(self, config: Any) -> dict[str, Any]:
        """`config.to_dict()` (a DataFrame source becomes its description)."""
        return config.to_dict()

    def run(self, config: Any) -> Any:
        """Runs `sentiment.run(config)`."""
        from lstm_apps.recipes import sentiment

        return sentiment.run(config)

    def trial_metrics(self, result: Any) -> dict[str, float]:
        """Validation numbers at the kept epoch (`val_accuracy` and `val_loss`: the
        final model's, the whole two-stage model's), test numbers, size and time."""
        history = result.history
        metrics = result.metrics or {}
        if "branch" in history:  # two stages: the LSTM stage's epochs (the tuned part)
            history = history[history["branch"] == "lstm"].reset_index(drop=True)
        best = int(metrics.get("best_epoch", len(history))) - 1
        row = history.iloc[min(max(best, 0), len(history) - 1)]
        out = {k: _float(row[k]) for k in ("val_accuracy", "val_loss", "val_auc", "accuracy",
                                           "loss") if k in row}
        # The model's own validation numbers (of the whole two-stage model, not of a branch).
        out.update({k: _float(metrics[k]) for k in ("val_accuracy", "val_loss") if k in metrics})
        for key in ("test_accuracy", "test_auc", "test_loss"):
            out[key] = _float(metrics.get(key))
        out["epochs"] = float(len(history))
        out["params"] = float(result.model.count_params())
        out["train_seconds"] = _float(metrics.get("train_seconds"))
        return out


def recipe_name(config: Any) -> str:
    """The recipe a config belongs to ("forecast" or "sentiment"), or a ValueError."""
    if isinstance(config, str):
        if config not in RECIPES:
            raise ValueError(
                f"Received an invalid value for argument `recipe_config`, expected a recipe "
                f"name from {list(RECIPES)} or a recipe config, got {config!r}."
            )
        return config
    for name in RECIPES:
        try:
            config_class = registry.get_recipe(name).config_class()
        except ImportError:  # a recipe whose dependencies are missing
            continue
        if isinstance(config, config_class):
            return name
    expected = ", ".join(f"a {registry.get_recipe(name).config}" for name in RECIPES)
    raise TypeError(
        f"Received an invalid value for argument `recipe_config`, expected {expected} "
        f"or a recipe name from {list(RECIPES)}, got {type(config).__name__}."
    )


def make_hypermodel(config: Any, data: Any = None, **space: Any) -> RecipeHyperModel:
    """The hypermodel of a recipe config (or of a recipe's default config, by name).

    Args:
        config: A `ForecastConfig`, a `SentimentConfig`, or "forecast" /
            "sentiment" for that recipe's default config.
        data: Data for the recipe's `run` (forecast only).
        **space: The search range of each setting.

    Returns:
        A `ForecastHyperModel` or `SentimentHyperModel`.
    """
    cls = registry.get_recipe(recipe_name(config)).hypermodel_class()
    return cls(None if isinstance(config, str) else config, data, **space)
