"""Recipes: one module per task, each a frozen `Config` and `run(config) -> Result`.

`RECIPES` (`lstm_apps.recipes.registry`) lists them; importing this package
loads none of the recipe modules (nor Keras): `get_recipe(name).load()` does.
"""

from lstm_apps.recipes.registry import RECIPES, Recipe, get_recipe

__all__ = ["RECIPES", "Recipe", "get_recipe"]
