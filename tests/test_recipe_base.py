"""`RunConfig`: the run settings the forecast and memory configs share, written once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from lstm_apps._validation import WrongTypeError
from lstm_apps.cli import main
from lstm_apps.recipes import registry
from lstm_apps.recipes._base import RUN_SETTING, RunConfig, config_field
from lstm_apps.recipes.forecast import ForecastConfig
from lstm_apps.recipes.memory import MemoryConfig

CONFIGS = [ForecastConfig, MemoryConfig]
RUN_FIELDS = ("seed", "output_dir", "run_name", "plots", "verbose")


def _fields(config: type) -> dict[str, dataclasses.Field]:
    return {field.name: field for field in dataclasses.fields(config)}


def test_both_configs_are_run_configs_with_the_same_run_fields():
    base = _fields(RunConfig)
    assert tuple(base) == RUN_FIELDS
    for config in CONFIGS:
        assert issubclass(config, RunConfig)
        fields = _fields(config)
        assert tuple(fields)[:len(RUN_FIELDS)] == RUN_FIELDS  # a dataclass lists its base first
        for name in ("seed", "plots", "verbose"):  # inherited: the very same definitions
            assert fields[name] is base[name], (config.__name__, name)
        for name in RUN_FIELDS:
            assert fields[name].kw_only and fields[name].metadata[RUN_SETTING] is True
            assert fields[name].type == base[name].type
    assert _fields(ForecastConfig)["run_name"].default is None
    assert _fields(MemoryConfig)["run_name"].default is None
    assert _fields(ForecastConfig)["run_name"].metadata["help"] == (
        "run folder name (default: time stamp and cell)")
    assert _fields(MemoryConfig)["run_name"].metadata["help"] == (
        "run folder name (default: time stamp and task)")
    output_helps = {dict(_fields(c)["output_dir"].metadata)["help"] for c in [RunConfig, *CONFIGS]}
    assert output_helps == {"where run folders go (none: write nothing)"}


def test_each_config_has_its_own_output_dir_the_registry_names():
    assert ForecastConfig().output_dir == "runs/forecast"
    assert MemoryConfig().output_dir == "runs/memory"
    for name, config in (("forecast", ForecastConfig), ("memory", MemoryConfig)):
        assert config().output_dir == registry.get_recipe(name).output_dir
    with pytest.raises(TypeError, match="output_dir"):
        RunConfig()  # the base has no default folder
    assert RunConfig(output_dir=None).plots is True


def test_the_shared_defaults():
    for config in CONFIGS:
        made = config()
        assert (made.seed, made.run_name, made.plots, made.verbose) == (0, None, True, 0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(seed=-1), ValueError, r"`seed`, expected an integer >= 0, got -1\.$"),
        (dict(seed=1.5), WrongTypeError, r"`seed`, expected an integer >= 0, got 1\.5\.$"),
        (dict(seed=True), WrongTypeError, r"`seed`, expected an integer >= 0, got True\.$"),
        (dict(verbose=3), ValueError, r"`verbose`, expected 0, 1 or 2, got 3\.$"),
        (dict(verbose=-1), ValueError, r"`verbose`, expected an integer >= 0, got -1\.$"),
        (dict(verbose="1"), WrongTypeError, r"`verbose`, expected an integer >= 0, got '1'\.$"),
        (dict(output_dir=""), ValueError,
         r"`output_dir`, expected a non-empty string or None, got ''\.$"),
        (dict(output_dir=Path("runs")), WrongTypeError,
         r"`output_dir`, expected a non-empty string or None, got PosixPath\('runs'\)\.$"),
        (dict(run_name=""), ValueError,
         r"`run_name`, expected a non-empty string or None, got ''\.$"),
        (dict(run_name=3), WrongTypeError,
         r"`run_name`, expected a non-empty string or None, got 3\.$"),
        (dict(plots=1), WrongTypeError, r"`plots`, expected a bool, got 1\.$"),
    ],
)
def test_bad_run_settings_raise_the_same_error_from_both(kwargs, error, match):
    raised = []
    for config in CONFIGS:
        with pytest.raises(error, match=match) as info:
            config(**kwargs)
        raised.append((type(info.value), str(info.value)))
    assert raised[0] == raised[1]


def test_run_settings_are_normalised_and_replace_checks_them():
    for config in CONFIGS:
        made = config(seed=np.int64(3), verbose=np.int64(2), plots=np.bool_(False))
        assert (made.seed, made.verbose, made.plots) == (3, 2, False)
        assert type(made.seed) is int and type(made.verbose) is int and type(made.plots) is bool
        assert dataclasses.replace(made, run_name="again").run_name == "again"
        with pytest.raises(ValueError, match="`verbose`, expected 0, 1 or 2, got 5"):
            dataclasses.replace(made, verbose=5)


def test_the_recipes_own_checks_still_run():
    with pytest.raises(ValueError, match="`horizon`, expected an integer >= 1, got 0"):
        ForecastConfig(horizon=0, seed=1)
    with pytest.raises(ValueError, match="`units`, expected an integer >= 1, got 0"):
        MemoryConfig(units=0, seed=1)
    with pytest.raises(ValueError, match="`gate_monitor`=True with `output_dir`=None"):
        ForecastConfig(gate_monitor=True, output_dir=None)


def test_config_field_keeps_help_and_choices_in_the_metadata():
    field = config_field("the task", choices=("adding", "recall"), default="adding")
    assert dict(field.metadata) == {"help": "the task", "choices": ("adding", "recall")}
    assert field.default == "adding"
    assert dict(config_field("units", default_factory=list).metadata) == {"help": "units"}


@pytest.mark.parametrize(
    "command, last_own", [("forecast", "--gate-monitor"), ("memory", "--stop-when-solved")]
)
def test_the_commands_list_the_run_options_after_their_own(capsys, command, last_own):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    options = text[text.index("options:"):]
    shown = ["--seed SEED random seed of the run (default: 0)",
             f"--output-dir OUTPUT_DIR where run folders go (none: write nothing) (default: "
             f"runs/{command})",
             "--run-name RUN_NAME run folder name (default: time stamp and "
             f"{'cell' if command == 'forecast' else 'task'})",
             "--plots, --no-plots write figures to plots/ (default: on)",
             "--verbose {0,1,2} Keras training output"]
    places = [options.index(line) for line in shown]
    assert places == sorted(places) and places[0] > options.index(last_own)


def test_a_bad_run_option_is_reported_by_its_flag(capsys):
    assert main(["memory", "--verbose", "2", "--seed", "-1"]) == 2
    assert "invalid value for --seed, expected an integer >= 0, got -1" in capsys.readouterr().err
