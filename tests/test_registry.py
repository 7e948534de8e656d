"""The recipe registry: what it lists is what the CLI, the tuner and the recipes have."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from lstm_apps import cli
from lstm_apps.commands._fields import config_class_fields, light_fields
from lstm_apps.recipes import registry
from lstm_apps.recipes.registry import RECIPES, Recipe, get_recipe, tunable
from lstm_apps.tuning import hypermodels

_NAMES = list(RECIPES)


def _describe(field: dataclasses.Field) -> tuple:
    if field.default is not dataclasses.MISSING:
        default = field.default
    elif field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    else:
        default = None
    return field.name, str(field.type), default, dict(field.metadata)


def _parse(argv: list[str]) -> tuple[object, str, str]:
    """`lstm-apps ARGV` parsed: (namespace or the SystemExit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result: object = cli.build_parser().parse_args(argv)
        except SystemExit as stop:
            result = stop.code
    return result, out.getvalue(), err.getvalue()


def test_the_registry_lists_the_three_recipes_in_order_read_only():
    assert _NAMES == ["forecast", "sentiment", "memory"]
    assert all(isinstance(r, Recipe) and r.name == name for name, r in RECIPES.items())
    with pytest.raises(TypeError):
        RECIPES["translate"] = RECIPES["forecast"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        RECIPES["forecast"].name = "other"  # type: ignore[misc]


def test_the_recipes_package_re_exports_the_registry():
    import lstm_apps.recipes

    assert set(lstm_apps.recipes.__all__) == {"RECIPES", "Recipe", "get_recipe"}
    assert lstm_apps.recipes.RECIPES is registry.RECIPES
    assert lstm_apps.recipes.Recipe is registry.Recipe
    assert lstm_apps.recipes.get_recipe is registry.get_recipe


@pytest.mark.parametrize("name", _NAMES)
def test_each_config_class_is_the_dataclass_whose_fields_the_cli_reads(name):
    recipe = get_recipe(name)
    config_class = recipe.config_class()
    assert dataclasses.is_dataclass(config_class) and config_class.__name__ == recipe.config
    assert config_class.__module__ == recipe.module
    real = [_describe(f) for f in dataclasses.fields(config_class)]
    assert [_describe(f) for f in config_class_fields(recipe.module, recipe.config)] == real
    # what `lstm-apps NAME --help` reads in a fresh process, before the recipe is imported
    assert [_describe(f) for f in light_fields(recipe.module, recipe.config)] == real
    assert callable(recipe.load().run)
    assert recipe.load() is sys.modules[recipe.module]


@pytest.mark.parametrize("name", _NAMES)
def test_the_default_output_dir_is_the_configs_and_the_commands(name):
    recipe = get_recipe(name)
    default = {f.name: f.default for f in dataclasses.fields(recipe.config_class())}
    assert str(default["output_dir"]) == recipe.output_dir
    args, _, err = _parse([name])
    assert not isinstance(args, int), err
    assert args.command == name and callable(args.func)
    assert args.output_dir == recipe.output_dir


def test_run_calls_the_modules_run(monkeypatch):
    recipe = get_recipe("memory")
    calls = []
    monkeypatch.setattr(recipe.load(), "run", lambda config, **kwargs: calls.append(
        (config, kwargs)) or "result")
    assert recipe.run("the config", extra=1) == "result"
    assert calls == [("the config", {"extra": 1})]


def test_help_lists_every_recipe_as_a_subcommand_with_its_summary(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # each summary on one line
    help_text = cli.build_parser().format_help()
    commands = re.findall(r"^    (\S+)", help_text, flags=re.M)  # help lines: deeper
    assert commands == [*_NAMES, "gates", "tune", "cells"]
    for name in _NAMES:  # the summary on the same line or, for a long name, the next one
        summary = re.escape(get_recipe(name).summary)
        assert re.search(rf"^    {name}\s+{summary}$", help_text, flags=re.M), help_text


def test_the_tune_commands_recipes_are_the_tunable_ones(monkeypatch):
    assert tunable() == ("forecast", "sentiment")
    for name in _NAMES:
        args, _, err = _parse(["tune", name])
        if name in tunable():
            assert not isinstance(args, int), err
            assert args.recipe == name
        else:
            assert args == 2 and "invalid choice" in err, err
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = _parse(["tune", "--help"])
    assert "{" + ",".join(tunable()) + "}" in out
    assert hypermodels.RECIPES == tunable()


def test_hypermodel_class_gives_the_tuning_classes():
    assert get_recipe("forecast").hypermodel_class() is hypermodels.ForecastHyperModel
    assert get_recipe("sentiment").hypermodel_class() is hypermodels.SentimentHyperModel
    for name in tunable():
        cls = get_recipe(name).hypermodel_class()
        assert issubclass(cls, hypermodels.RecipeHyperModel) and cls.recipe == name
    with pytest.raises(ValueError) as info:
        get_recipe("memory").hypermodel_class()
    assert str(info.value) == (
        "Received the 'memory' recipe, which cannot be tuned (it has no hypermodel); "
        "expected one of the tunable recipes ['forecast', 'sentiment']."
    )


def test_make_hypermodel_finds_the_class_through_the_registry():
    config = get_recipe("forecast").config_class()(length=300, horizon=3)
    assert type(hypermodels.make_hypermodel(config)) is hypermodels.ForecastHyperModel
    assert hypermodels.recipe_name(config) == "forecast"
    with pytest.raises(TypeError) as info:
        hypermodels.make_hypermodel(get_recipe("memory").config_class()())
    assert str(info.value) == (
        "Received an invalid value for argument `recipe_config`, expected a ForecastConfig, "
        "a SentimentConfig or a recipe name from ['forecast', 'sentiment'], got MemoryConfig."
    )


def test_get_recipe_rejects_an_unknown_name():
    with pytest.raises(ValueError) as info:
        get_recipe("x")
    assert str(info.value) == (
        "Received an invalid value for argument `name`, expected one of "
        "['forecast', 'sentiment', 'memory'], got 'x'."
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [({"name": ""}, "argument `name`, expected a non-empty string, got ''."),
     ({"hypermodel": "ToyHyperModel"},
      "argument `hypermodel`, expected None or \"module:Class\", got 'ToyHyperModel'.")],
)
def test_a_recipe_checks_its_fields(kwargs, message):
    fields = {"name": "toy", "module": "toy", "config": "ToyConfig", "summary": "a toy",
              "output_dir": "runs/toy", **kwargs}
    with pytest.raises(ValueError, match="Received an invalid value for argument") as info:
        Recipe(**fields)
    assert str(info.value).endswith(message)


_PROBE = textwrap.dedent(
    """
    import json, sys
    import lstm_apps.recipes.registry as registry
    registry.tunable(), registry.get_recipe("sentiment").output_dir
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
                            ("keras", "tensorflow", "pandas", "numpy")
                            or m in [r.module for r in registry.RECIPES.values()])))
    """
)


def test_importing_the_registry_loads_nothing_heavy():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
