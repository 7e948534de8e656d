"""The recipes of lstm_apps, listed once: the command line, the tuner and scripts read it.

Each `Recipe` names where its module, config class and Keras Tuner
hypermodel live (as strings) and the command's one-line help and default
run folder. This module imports only the standard library: nothing is
loaded until `Recipe.load`, `Recipe.config_class`, `Recipe.run` or
`Recipe.hypermodel_class` is called, so `lstm-apps --help` can list the
recipes without starting Keras and TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
from collections.abc import Mapping
from typing import Any

__all__ = ["RECIPES", "Recipe", "get_recipe", "tunable"]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Where a recipe lives and how the command line presents it.

    Args:
        name: The recipe's name, also its `lstm-apps` subcommand
            ("forecast").
        module: The recipe module, which defines `run(config, ...)`
            ("lstm_apps.recipes.forecast").
        config: The name of the config dataclass in `module`
            ("ForecastConfig").
        summary: One line: the subcommand's help in `lstm-apps --help`.
        output_dir: The default folder of the recipe's run folders
            ("runs/forecast").
        hypermodel: The Keras Tuner hypermodel class as "module:Class"
            ("lstm_apps.tuning.hypermodels:ForecastHyperModel"), or None
            when the recipe cannot be tuned.

    Example:

    >>> from lstm_apps.recipes.registry import Recipe
    >>> recipe = Recipe("toy", "lstm_apps.recipes.toy", "ToyConfig",
    ...                 "a toy recipe", "runs/toy")
    >>> recipe.is_tunable
    False
    >>> Recipe("toy", "lstm_apps.recipes.toy", "ToyConfig", "a toy recipe",
    ...        "runs/toy", hypermodel="ToyHyperModel")
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `hypermodel`, expected None or \
"module:Class", got 'ToyHyperModel'.
    """

    name: str
    module: str
    config: str
    summary: str
    output_dir: str
    hypermodel: str | None = None

    def __post_init__(self) -> None:
        for argument in ("name", "module", "config", "summary", "output_dir"):
            value = getattr(self, argument)
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"Received an invalid value for argument `{argument}`, expected a "
                    f"non-empty string, got {value!r}."
                )
        if self.hypermodel is not None:
            text = self.hypermodel if isinstance(self.hypermodel, str) else ""
            module, _, attribute = text.partition(":")
            if not module or not attribute:
                raise ValueError(
                    "Received an invalid value for argument `hypermodel`, expected None or "
                    f'"module:Class", got {self.hypermodel!r}.'
                )

    @property
    def is_tunable(self) -> bool:
        """Whether the recipe has a Keras Tuner hypermodel."""
        return self.hypermodel is not None

    def load(self) -> types.ModuleType:
        """Imports the recipe module (Keras and the recipe's other dependencies with it).

        Returns:
            The module `self.module`.
        """
        return importlib.import_module(self.module)

    def config_class(self) -> type:
        """The recipe's config dataclass (imports the recipe module).

        Returns:
            The class `self.config` of `self.module`.
        """
        return getattr(self.load(), self.config)

    def run(self, config: Any = None, **kwargs: Any) -> Any:
        """Runs the recipe: the module's `run(config, **kwargs)`.

        Args:
            config: An instance of `config_class()` (None: the recipe's
                default config, where its `run` accepts None).
            **kwargs: Further arguments of the module's `run` (e.g. `data`
                for the forecast recipe).

        Returns:
            What the module's `run` returns (the recipe's result object).
        """
        return self.load().run(config, **kwargs)

    def hypermodel_class(self) -> type:
        """The recipe's Keras Tuner hypermodel class (imports Keras Tuner).

        Returns:
            A subclass of `lstm_apps.tuning.RecipeHyperModel`.

        Raises:
            ValueError: The recipe cannot be tuned (its `hypermodel` is None).
        """
        if self.hypermodel is None:
            raise ValueError(
                f"Received the {self.name!r} recipe, which cannot be tuned (it has no "
                f"hypermodel); expected one of the tunable recipes {list(tunable())}."
            )
        module, _, attribute = self.hypermodel.partition(":")
        return getattr(importlib.import_module(module), attribute)


def _recipes(*recipes: Recipe) -> Mapping[str, Recipe]:
    return types.MappingProxyType({recipe.name: recipe for recipe in recipes})


#: Every recipe, by name, in the order `lstm-apps --help` lists them (read-only).
RECIPES: Mapping[str, Recipe] = _recipes(
    Recipe(
        name="forecast",
        module="lstm_apps.recipes.forecast",
        config="ForecastConfig",
        summary="forecast a time series with an LSTM and compare it with baselines",
        output_dir="runs/forecast",
        hypermodel="lstm_apps.tuning.hypermodels:ForecastHyperModel",
    ),
    Recipe(
        name="sentiment",
        module="lstm_apps.recipes.sentiment",
        config="SentimentConfig",
        summary="train an LSTM on IMDB reviews from raw text",
        output_dir="runs/sentiment",
        hypermodel="lstm_apps.tuning.hypermodels:SentimentHyperModel",
    ),
    Recipe(
        name="memory",
        module="lstm_apps.recipes.memory",
        config="MemoryConfig",
        summary="long-range memory: the adding problem at several lengths, LSTM vs SimpleRNN",
        output_dir="runs/memory",
    ),
)


def get_recipe(name: str) -> Recipe:
    """The registered recipe called `name`.

    Args:
        name: A recipe name, one of `RECIPES`.

    Returns:
        Its `Recipe`.

    Raises:
        ValueError: `name` is not a registered recipe.

    Example:

    >>> from lstm_apps.recipes.registry import get_recipe
    >>> recipe = get_recipe("forecast")
    >>> recipe.module, recipe.config, recipe.output_dir
    ('lstm_apps.recipes.forecast', 'ForecastConfig', 'runs/forecast')
    >>> get_recipe("memory").hypermodel is None
    True
    >>> get_recipe("x")
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `name`, expected one of \
['forecast', 'sentiment', 'memory'], got 'x'.
    """
    recipe = RECIPES.get(name) if isinstance(name, str) else None
    if recipe is None:
        raise ValueError(
            f"Received an invalid value for argument `name`, expected one of "
            f"{list(RECIPES)}, got {name!r}."
        )
    return recipe


def tunable() -> tuple[str, ...]:
    """The names of the recipes that have a hypermodel, in registry order.

    Returns:
        A tuple of recipe names.

    Example:

    >>> from lstm_apps.recipes.registry import tunable
    >>> tunable()
    ('forecast', 'sentiment')
    """
    return tuple(name for name, recipe in RECIPES.items() if recipe.is_tunable)
