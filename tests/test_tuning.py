"""Tests of `lstm_apps.tuning` on one machine: hypermodels, search, resume, bad input.

The searches are tiny (300-point synthetic series, lookback 20, horizon 3,
4-8 units, 20 optimisation steps, the LSTM alone, a test origin every 15
steps) so that a trial takes seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import keras_tuner
import numpy as np
import pandas as pd
import pytest

from lstm_apps import cli
from lstm_apps.recipes.forecast import ForecastConfig
from lstm_apps.tuning import (
    ForecastHyperModel,
    parse_address,
    results_dataframe,
    tune,
)

REPO = Path(__file__).resolve().parents[1]

#: Columns of every table, before the hyperparameters / after the metrics.
FIRST = ["trial_id", "status", "score"]
LAST = ["duration_s", "tuner_id", "attempts", "started", "ended", "best_step", "message"]
FORECAST_METRICS = ["val_mae", "val_scaled_mae", "loss", "test_mae", "test_rmse", "test_mase",
                    "test_smape", "epochs", "params", "train_seconds"]
#: The hyperparameters of the forecast recipe, in drawing order.
FORECAST_SPACE = ["cell", "units", "layers", "dropout", "learning_rate"]


def tiny_config(**overrides: Any) -> ForecastConfig:
    """A forecasting config whose run takes a few seconds.

    `intervals` stays on (the default): a search is scored on the calibration
    origins, which only the intervals make.
    """
    settings = dict(length=300, lookback=20, horizon=3, units=8, steps=20, epochs=1,
                    combine=(), stride=15, plots=False, output_dir=None)
    settings.update(overrides)
    return ForecastConfig(**settings)


#: A small space of fast cells (the Keras baselines) for the search tests.
TINY_SPACE = {"cells": ("keras_lstm", "gru"), "units": (4, 8, 4), "layers": 1}


def tiny_argv(directory: Path, max_trials: int, *extra: str) -> list[str]:
    """`lstm-apps tune forecast` arguments for `tiny_config` and `TINY_SPACE`."""
    return [
        "tune", "forecast", "--tuner", "random", "--max-trials", str(max_trials),
        "--directory", str(directory), "--search-seed", "3", "--quiet",
        "--cells", "keras_lstm", "gru", "--units", "4", "8", "4", "--layers", "1",
        "--length", "300", "--lookback", "20", "--horizon", "3", "--steps", "20",
        "--epochs", "1", "--combine", "none", "--stride", "15", "--no-plots",
        "--output-dir", "none", *extra,
    ]


def expected_columns(space_names: list[str], metrics: list[str] = FORECAST_METRICS) -> list[str]:
    """The exact columns of a results table (same on one machine and distributed)."""
    return [*FIRST, *space_names, *metrics, *LAST]


def wait_for(predicate: Any, timeout: float, what: str, procs: tuple = ()) -> None:
    """Polls `predicate` until true; fails after `timeout` s or if a process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(
                    f"process {proc.args[-1] if proc.args else ''} exited with "
                    f"{proc.returncode} while waiting for {what}"
                )
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO), MPLBACKEND="Agg",
               CUDA_VISIBLE_DEVICES="")
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    return env


def start_cli(argv: list[str], log: Path) -> subprocess.Popen:
    """Starts `python -m lstm_apps.cli ARGV` with its output in `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lstm_apps.cli", *argv], stdout=out,
            stderr=subprocess.STDOUT, env=subprocess_env(), cwd=str(log.parent),
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def table_or_empty(directory: Path) -> pd.DataFrame:
    try:
        return results_dataframe(directory)
    except (FileNotFoundError, ValueError):
        return pd.DataFrame(columns=FIRST)


def session_hparams(folder: Path, objective: str = "val_mae") -> dict[str, Any]:
    """The HParams session written in `folder`: its hyperparameters, its status
    ("__status__") and the scalar `objective` ("__objective__")."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import metadata

    found: dict[str, Any] = {}
    for path in folder.glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == metadata.SESSION_START_INFO_TAG:
                    info = metadata.parse_session_start_info_plugin_data(
                        value.metadata.plugin_data.content
                    )
                    for name, v in info.hparams.items():
                        kind = v.WhichOneof("kind")
                        found[name] = getattr(v, kind)
                if value.tag == metadata.SESSION_END_INFO_TAG:
                    found["__status__"] = metadata.parse_session_end_info_plugin_data(
                        value.metadata.plugin_data.content
                    ).status
                if value.tag == objective:
                    from tensorboard.util import tensor_util

                    found["__objective__"] = float(
                        value.simple_value if value.HasField("simple_value")
                        else tensor_util.make_ndarray(value.tensor)
                    )
    return found


# ====================================================================== hypermodels
def test_hypermodel_default_space_names_and_kinds():
    hm = ForecastHyperModel(tiny_config())
    assert hm.search_space() == {
        "cell": "Choice('standard', 'peephole', 'coupled', 'keras_lstm', 'gru')",
        "units": "Int(8..64, step 8)",
        "layers": "Int(1..2)",
        "dropout": "Float(0..0.5, step 0.1)",
        "learning_rate": "Float(0.001..0.03, log)",
    }
    assert hm.default_objective == "val_mae"
    assert list(hm.metric_directions) == FORECAST_METRICS
    hp = keras_tuner.HyperParameters()
    hm.draw(hp)
    by_name = {p.name: p for p in hp.space}
    assert list(by_name) == FORECAST_SPACE
    assert by_name["learning_rate"].sampling == "log"
    assert (by_name["units"].min_value, by_name["units"].max_value, by_name["units"].step) == (
        8, 64, 8)
    # Defaults come from the base config when they lie in the range.
    assert hp.values["units"] == 8 and hp.values["cell"] == "standard"
    assert hp.values["learning_rate"] == pytest.approx(tiny_config().learning_rate)
    hp = keras_tuner.HyperParameters()
    ForecastHyperModel(tiny_config(units=128, learning_rate=1e-4)).draw(hp)
    assert hp.values["units"] == 8 and hp.values["learning_rate"] == pytest.approx(1e-3)


def test_hypermodel_fixed_narrowed_and_untuned_settings():
    base = tiny_config(dropout=0.2)
    hm = ForecastHyperModel(base, cells="peephole", units=(16, 32, 16), dropout=None,
                            learning_rate=3e-3, layers=(1, 2), clipnorm=None)
    space = hm.search_space()
    assert space == {"cell": "Fixed('peephole')", "units": "Int(16..32, step 16)",
                     "layers": "Int(1..2)", "learning_rate": "Fixed(0.003)"}
    hp = keras_tuner.HyperParameters()
    hp.Fixed("units", 32)
    config = hm.config(hp, steps=7)
    assert (config.cell, config.units, config.dropout) == ("peephole", 32, 0.2)
    assert config.learning_rate == 3e-3 and config.layers == 1 and config.steps == 7
    assert config == dataclasses.replace(base, cell="peephole", units=32, layers=1,
                                         learning_rate=3e-3, steps=7)
    assert "dropout" not in hp.values
    # Settings the forecast config has no field for are refused, naming the field.
    for name, value in (("clipnorm", (0, 2.0)), ("recurrent_dropout", 0.1),
                        ("unit_forget_bias", False), ("bidirectional", True)):
        with pytest.raises(ValueError) as info:
            ForecastHyperModel(base, **{name: value})
        assert str(info.value).startswith(
            f"Received a search range for `{name}`, but the forecast recipe's config has no "
            f"field `{name}`; it can tune {FORECAST_SPACE}.")


def test_hypermodel_refuses_a_search_without_calibration_origins():
    with pytest.raises(ValueError) as info:
        ForecastHyperModel(tiny_config(intervals=False))
    assert str(info.value).startswith(
        "Received `intervals`=False in `base_config`: a search is scored on the calibration "
        "origins at the end of the training part (never on the test part)")


def test_hypermodel_builds_the_network_the_trial_trains():
    hm = ForecastHyperModel(tiny_config(), cells=("peephole", "gru"), units=(4, 12, 4),
                            layers=(1, 2))
    hp = keras_tuner.HyperParameters()
    hp.Fixed("cell", "gru")
    hp.Fixed("units", 12)
    hp.Fixed("layers", 2)
    hp.Fixed("learning_rate", 0.005)
    model = hm.build(hp)
    rnn = [layer for layer in model.layers if "_rnn_" in layer.name]
    assert [type(layer).__name__ for layer in rnn] == ["GRU", "GRU"]
    assert [layer.units for layer in rnn] == [12, 12]
    assert model.optimizer is not None
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)  # step 0 of the decay
    # (batch, lookback, target + seasonal channel) -> (batch, ensemble members, horizon)
    assert model.input_shape == (None, 20, 2) and model.output_shape == (None, 1, 3)
    # The same network as the recipe's forecaster of the drawn config builds.
    from lstm_apps.recipes import forecast

    target, covariates = forecast.training_data(hm.config(hp))
    same = forecast.make_forecaster(hm.config(hp)).build(target, past_covariates=covariates)
    assert [w.shape for w in same.weights] == [w.shape for w in model.weights]
    for a, b in zip(same.get_weights(), model.get_weights()):  # same seed, same initialisation
        np.testing.assert_array_equal(a, b)

    hp = keras_tuner.HyperParameters()
    hp.Fixed("cell", "peephole")
    model = hm.build(hp)
    rnn = [layer for layer in model.layers if "_rnn_" in layer.name]
    assert type(rnn[0].cell).__name__ == "PeepholeLSTMCell"


def test_budget_maps_hyperband_epochs_to_steps():
    hm = ForecastHyperModel(tiny_config(steps=30, epochs=4))
    assert hm.max_epochs == 4
    assert [hm.budget(e) for e in (1, 2, 4)] == [
        {"steps": 7, "epochs": 1}, {"steps": 15, "epochs": 2}, {"steps": 30, "epochs": 4}]
    assert hm.budget(1, 100) == {"steps": 1, "epochs": 1}  # at least one step
    hp = keras_tuner.HyperParameters()
    config = hm.config(hp, **hm.budget(2))
    assert (config.steps, config.epochs) == (15, 2)


def test_hypermodel_gate_monitor_is_switched_off_for_keras_baselines(tmp_path):
    hm = ForecastHyperModel(tiny_config(gate_monitor=True, output_dir=str(tmp_path)),
                            cells=("standard", "keras_lstm"))
    for cell, monitored in (("standard", True), ("keras_lstm", False)):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("cell", cell)
        assert hm.config(hp).gate_monitor is monitored


def test_cell_groups_expand():
    hm = ForecastHyperModel(tiny_config(), cells=("ablations", "keras_lstm"))
    values = eval(hm.search_space()["cell"].removeprefix("Choice"))
    assert values[-1] == "keras_lstm" and "nig" in values and "standard" not in values
    hm = ForecastHyperModel(tiny_config(), cells="all")
    assert "fgr" in hm.search_space()["cell"] and "gru" in hm.search_space()["cell"]


def test_new_cell_groups_expand_and_gate_monitor_follows_tracing(tmp_path):
    hm = ForecastHyperModel(tiny_config(gate_monitor=True, output_dir=str(tmp_path)),
                            cells=("xlstm", "min", "standard"))
    values = eval(hm.search_space()["cell"].removeprefix("Choice"))
    assert values == ("slstm", "mlstm", "minlstm", "mingru", "standard")
    # Gate tracing covers every lstm_apps cell, the xLSTM and min cells included,
    # so all their trials keep the monitor.
    for cell, monitored in (("slstm", True), ("mlstm", True), ("minlstm", True),
                            ("mingru", True), ("standard", True)):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("cell", cell)
        assert hm.config(hp).gate_monitor is monitored, cell


def test_recurrent_dropout_is_drawn_only_for_cells_with_recurrent_weights():
    from lstm_apps.recipes import sentiment
    from lstm_apps.tuning import SentimentHyperModel

    rng = np.random.default_rng(2)
    words = ["great", "awful", "film", "plot", "the", "moving", "dull", "a"]
    frame = pd.DataFrame({"text": [" ".join(rng.choice(words, 6)) for _ in range(60)],
                          "label": np.arange(60) % 2})
    config = sentiment.SentimentConfig(data=frame, units=4, embedding_dim=8, vocab_size=20,
                                       ngram_vocab_size=40, max_len=8, batch_size=32, verbose=0)
    hm = SentimentHyperModel(config, cells=("slstm", "min", "mlstm"), units=4, layers=1,
                             recurrent_dropout=(0.1, 0.3, 0.1))
    for cell, drawn in (("slstm", True), ("minlstm", False), ("mingru", False),
                        ("mlstm", False)):
        hp = keras_tuner.HyperParameters()
        hp.Fixed("cell", cell)
        trial = hm.config(hp)
        assert hp.is_active("recurrent_dropout") is drawn, cell
        if drawn:
            assert 0.1 <= trial.recurrent_dropout <= 0.3
        else:  # these cells reject recurrent_dropout > 0
            assert trial.recurrent_dropout == 0.0, cell
    hp = keras_tuner.HyperParameters()
    hp.Fixed("cell", "mingru")
    assert hm.build(hp).count_params() > 0  # the trial's model builds
    # Searching only cells without recurrent weights leaves it untuned.
    only = SentimentHyperModel(config, cells="min", units=4, layers=1)
    hp = keras_tuner.HyperParameters()
    assert "recurrent_dropout" not in only.draw(hp)
    assert "recurrent_dropout" not in hp.values


# ====================================================================== bad input
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(max_trials=0), ValueError,
         "Received an invalid value for argument `max_trials`, expected an integer >= 1, got 0."),
        (dict(max_trials=-2), ValueError, "expected an integer >= 1, got -2."),
        (dict(max_trials=True), ValueError, "expected an integer >= 1, got True."),
        (dict(tuner="grid"), ValueError,
         "Received an invalid value for argument `tuner`, expected one of ['bayesian', "
         "'random', 'hyperband'], got 'grid'."),
        (dict(space={"units": (64, 8)}), ValueError,
         "Received an invalid range for argument `units`: min (64) > max (8)."),
        (dict(space={"dropout": (0.5, 0.1, 0.1)}), ValueError,
         "Received an invalid range for argument `dropout`: min (0.5) > max (0.1)."),
        (dict(space={"learning_rate": (0.0, 0.01)}), ValueError,
         "it is searched on a log scale, so min must be > 0, got 0.0."),
        (dict(space={"dropout": (0.0, 1.5)}), ValueError,
         "Received an invalid search range for argument `dropout`"),
        (dict(space={"cells": ("standard", "lstm2")}), ValueError,
         "Received an invalid value for argument `cells`, expected cell names or groups from "
         "['standard', 'peephole', 'coupled', 'vanilla'"),
        (dict(space={"bidirectional": (False, True)}), ValueError,
         "Received a search range for `bidirectional`, but the forecast recipe's config has "
         "no field `bidirectional`"),
        (dict(space={"unitz": 8}), ValueError, "Received unknown settings ['unitz'] in `space`"),
        (dict(space={"units": "many"}), ValueError,
         "Received an invalid value for argument `units`, expected an integer, a range (min, "
         "max) or (min, max, step), or None, got 'many'."),
        (dict(space={"recurrent_dropout": (0.0, 0.2)}), ValueError,
         "Received a search range for `recurrent_dropout`, but the forecast recipe's config "
         "has no field `recurrent_dropout`"),
        (dict(objective="accuracy"), ValueError,
         "Received an invalid value for argument `objective`, expected a metric the forecast "
         "trials report"),
        (dict(objective="val_loss"), ValueError,
         f"expected a metric the forecast trials report, one of {sorted(FORECAST_METRICS)}, "
         "got 'val_loss'."),
        (dict(chief="localhost"), ValueError,
         "Received an invalid value for argument `chief`, expected an address HOST:PORT with "
         "a port in 1-65535 (for example '127.0.0.1:8000'), got 'localhost'."),
        (dict(chief="0.0.0.0:70000"), ValueError, "argument `chief`, expected an address"),
        (dict(worker="host:port"), ValueError, "argument `worker`, expected an address"),
        (dict(chief="0.0.0.0:8000", worker="h:8000"), ValueError, "Received both `chief`"),
        (dict(worker="h:8000", tuner_id="my-chief"), ValueError,
         "Received an invalid value for argument `tuner_id`"),
        (dict(worker_timeout=0), ValueError, "argument `worker_timeout`, expected a number > 0"),
        (dict(project_name="../x"), ValueError, "argument `project_name`"),
    ],
)
def test_tune_rejects_bad_input_before_any_trial(tmp_path, kwargs, error, message):
    kwargs = {"max_trials": 2, **kwargs}
    with pytest.raises(error) as info:
        tune(tiny_config(), directory=tmp_path / "sweep", **kwargs)
    assert message in str(info.value)
    assert not (tmp_path / "sweep").exists()  # nothing written, nothing trained


def test_tune_rejects_unknown_recipe_and_bad_config(tmp_path):
    with pytest.raises(ValueError) as info:
        tune("translate", directory=tmp_path)
    assert str(info.value) == (
        "Received an invalid value for argument `recipe_config`, expected a recipe name from "
        "['forecast', 'sentiment'] or a recipe config, got 'translate'."
    )
    with pytest.raises(TypeError, match="expected a ForecastConfig, a SentimentConfig"):
        tune({"cell": "standard"}, directory=tmp_path)
    with pytest.raises(ValueError, match=r"Received `intervals`=False in `base_config`"):
        tune(tiny_config(intervals=False), directory=tmp_path)
    with pytest.raises(ValueError, match=r"Received `test_size`=300: 300 test points of a "
                                         r"series of 300"):
        tune(tiny_config(test_size=300), directory=tmp_path)  # the data is checked up front
    with pytest.raises(ValueError, match=r"Received an invalid search range for argument "
                                         r"`units`: the forecast recipe rejects \{'units': 0\}"):
        tune(tiny_config(), directory=tmp_path, space={"units": (0, 8, 4)})
    assert list(tmp_path.iterdir()) == []


def test_bayesian_tuner_runs_or_names_its_missing_dependencies(tmp_path, capsys):
    try:
        import scipy  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError) as info:
            tune(tiny_config(), "bayesian", max_trials=1, directory=tmp_path / "sweep")
        assert str(info.value).startswith("Received `tuner`='bayesian', which needs ")
        assert 'pip install "keras-tuner[bayesian]"' in str(info.value)
        assert cli.main(tiny_argv(tmp_path / "sweep", 1, "--tuner", "bayesian")) == 2
        assert "which needs " in capsys.readouterr().err
        assert not (tmp_path / "sweep").exists()
    else:
        result = tune(tiny_config(), "bayesian", max_trials=1, directory=tmp_path / "sweep",
                      seed=1, space=TINY_SPACE)
        assert result.table["status"].tolist() == ["COMPLETED"]


@pytest.mark.parametrize("address, expected", [
    ("0.0.0.0:8000", ("0.0.0.0", 8000)),
    ("node-7.cluster:1", ("node-7.cluster", 1)),
    ("[::1]:65535", ("[::1]", 65535)),
])
def test_parse_address(address, expected):
    assert parse_address(address) == expected


def test_cli_rejects_bad_input(tmp_path, capsys):
    assert cli.main(tiny_argv(tmp_path, 0)) == 2
    # tune's own errors name the options, not the Python arguments
    assert "lstm-apps tune: error: Received an invalid value for --max-trials, " \
        "expected an integer >= 1, got 0." in capsys.readouterr().err
    assert cli.main(tiny_argv(tmp_path, 2, "--chief", "nohost")) == 2
    assert "Received an invalid value for --chief, expected an address HOST:PORT" in \
        capsys.readouterr().err
    assert cli.main(tiny_argv(tmp_path, 2, "--max-retries", "-1")) == 2
    assert "Received an invalid value for --max-retries, expected an integer >= 0" in \
        capsys.readouterr().err
    assert cli.main(tiny_argv(tmp_path, 2, "--search-seed", "-1")) == 2
    assert "Received an invalid value for --search-seed" in capsys.readouterr().err
    assert cli.main(tiny_argv(tmp_path, 2, "--top", "0")) == 2
    assert "Received --top 0, expected an integer >= 1." in capsys.readouterr().err
    assert cli.main([*tiny_argv(tmp_path, 2), "--units", "9", "3"]) == 2
    assert "min (9) > max (3)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["tune", "translate"])
    assert info.value.code == 2
    assert "invalid choice: 'translate' (choose from 'forecast', 'sentiment')" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(tiny_argv(tmp_path, 2, "--tuner", "grid"))
    assert "invalid choice: 'grid' (choose from 'bayesian', 'random', 'hyperband')" in \
        capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_config_file_and_options_make_the_base_config(tmp_path, capsys):
    from lstm_apps.commands.tune import _base_config, recipe_parser
    from lstm_apps.recipes._common import config_to_dict

    good = tmp_path / "best_config.json"
    good.write_text(json.dumps(config_to_dict(tiny_config(lookback=25, covariates=()))))
    args = recipe_parser("forecast").parse_args(["--config", str(good), "--horizon", "4",
                                                  "--units", "8", "16"])
    assert _base_config(args, ForecastConfig) == tiny_config(lookback=25, horizon=4)
    args = recipe_parser("forecast").parse_args(["--combine", "none", "--steps", "30"])
    base = _base_config(args, ForecastConfig)
    assert (base.combine, base.steps, base.lookback) == ((), 30, None)
    for option in ("--recurrent-dropout", "--clipnorm", "--unit-forget-bias"):
        with pytest.raises(SystemExit):  # not settings of the forecast recipe
            recipe_parser("forecast").parse_args([option, "0"])
        assert f"unrecognized arguments: {option} 0" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"lookback": 20, "colour": 1}))
    assert cli.main([*tiny_argv(tmp_path / "sweep", 2), "--config", str(bad)]) == 2
    assert f"--config {bad} has unknown fields ['colour']." in capsys.readouterr().err
    assert not (tmp_path / "sweep").exists()


def test_results_dataframe_finds_the_project(tmp_path):
    with pytest.raises(FileNotFoundError, match="which holds no search"):
        results_dataframe(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "oracle.json").write_text("{}")
    with pytest.raises(ValueError, match=r"holds several searches \['a', 'b'\]: pass "):
        results_dataframe(tmp_path)
    with pytest.raises(FileNotFoundError, match="Received `project_name`='c'"):
        results_dataframe(tmp_path, "c")
    frame = results_dataframe(tmp_path, "a")
    assert frame.empty and frame.columns.tolist() == FIRST + LAST
    assert results_dataframe(tmp_path / "b").attrs["project_dir"] == str(tmp_path / "b")


# ====================================================================== search
class RecordingHyperModel(ForecastHyperModel):
    """A `ForecastHyperModel` that keeps each trial's `validation_`, by trial folder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validations: dict[str, dict[str, Any]] = {}

    def run(self, config: Any) -> Any:
        result = super().run(config)
        self.validations[Path(config.output_dir).name] = dict(result.model.validation_)
        return result


def test_search_table_best_model_config_tensorboard_and_resume(tmp_path):
    from lstm_apps.recipes import forecast

    directory = tmp_path / "sweep"
    hypermodel = RecordingHyperModel(tiny_config(), **TINY_SPACE)  # as `space=TINY_SPACE`
    result = tune(tiny_config(), "random", max_trials=3, directory=directory, seed=7,
                  hypermodel=hypermodel)
    project = directory / "forecast"
    table = result.table

    # One row per trial, in the documented form.
    assert table.columns.tolist() == expected_columns(FORECAST_SPACE)
    assert table["trial_id"].tolist() == ["0", "1", "2"]
    assert table["status"].tolist() == ["COMPLETED"] * 3
    assert (table["attempts"] == 1).all() and (table["tuner_id"] == "tuner0").all()
    assert (table["duration_s"] > 0).all() and table["started"].notna().all()
    assert result.objective == "val_mae" and result.direction == "min"
    assert table["score"].tolist() == table["val_mae"].tolist()
    assert set(table["cell"]) <= {"keras_lstm", "gru"}
    assert (table["layers"] == 1).all()
    assert sorted(hypermodel.validations) == [f"trial_{t}" for t in table["trial_id"]]
    for row in table.itertuples():  # the numbers are the run's own
        run_dir = project / f"trial_{row.trial_id}" / "run"
        validation = hypermodel.validations[f"trial_{row.trial_id}"]
        assert row.val_mae == pytest.approx(validation["mae"])
        assert row.val_scaled_mae == pytest.approx(validation["scaled_mae"])
        assert validation["forecasts"] > 0
        history = pd.read_csv(run_dir / "history.csv")
        assert row.loss == pytest.approx(history["loss"].iloc[-1])
        assert row.epochs == len(history)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert row.test_mae == pytest.approx(metrics["mae"])
        assert row.test_mase == pytest.approx(metrics["mase"])
        assert row.val_mae != pytest.approx(row.test_mae)  # scored on other windows
        run_config = json.loads((run_dir / "config.json").read_text())
        assert (run_config["cell"], run_config["units"]) == (row.cell, row.units)
        assert (run_config["steps"], run_config["intervals"]) == (20, True)
        trained = forecast.load_forecaster(run_dir)
        assert (trained.cell, trained.units) == (row.cell, row.units)
        assert row.params == trained.network_.count_params()
        # `build(hp)` of the trial's values is the network the trial trained.
        state = json.loads((project / f"trial_{row.trial_id}" / "trial.json").read_text())
        hp = keras_tuner.HyperParameters.from_config(state["hyperparameters"])
        built = hypermodel.build(hp)
        assert [w.shape for w in built.weights] == [w.shape for w in trained.network_.weights]

    # trials.csv holds the same table.
    csv = pd.read_csv(project / "trials.csv", dtype={"trial_id": str})
    assert csv.columns.tolist() == table.columns.tolist()
    assert csv["val_mae"].tolist() == pytest.approx(table["val_mae"].tolist())
    pd.testing.assert_frame_equal(results_dataframe(directory), table)

    # The best trial, its forecaster and its config.
    best = table.loc[table["score"].idxmin()]
    assert result.best_trial_id == best["trial_id"]
    assert result.best_score == pytest.approx(best["score"])
    saved = json.loads((project / "best_config.json").read_text())
    config = ForecastConfig(**saved)
    assert config == result.best_config
    assert (config.cell, config.units) == (best["cell"], best["units"])
    assert config.output_dir is None  # the base config's, not the trial folder
    assert result.paths["best_model"] == project / "best_forecaster"
    assert not (project / "best_model.keras").exists()
    model = result.best_model()
    trial_model = forecast.load_forecaster(project / f"trial_{best['trial_id']}" / "run")
    assert model.get_params() == trial_model.get_params()
    assert model.get_params() == forecast.make_forecaster(config).get_params()
    pd.testing.assert_frame_equal(model.predict(), trial_model.predict())
    best_trial = json.loads((project / "best_trial.json").read_text())
    assert best_trial["trial_id"] == best["trial_id"]
    assert best_trial["metrics"]["val_mae"] == pytest.approx(best["val_mae"])
    assert best_trial["run_dir"] == str(project / f"trial_{best['trial_id']}" / "run")

    # TensorBoard: one folder per trial, with the HParams session of its values.
    for row in table.itertuples():
        tb = project / f"trial_{row.trial_id}" / "run" / "tb"
        assert (tb / "train" / "train").is_dir() and (tb / "finetune" / "train").is_dir()
        session = session_hparams(tb, "val_mae")
        assert session["cell"] == row.cell and session["units"] == row.units
        assert session["__objective__"] == pytest.approx(row.val_mae, rel=1e-6)
        assert session["__status__"] == 1  # STATUS_SUCCESS
    assert list((project / "hparams").glob("events.out.tfevents.*"))

    # A rerun of the same call trains nothing more; a larger max_trials extends.
    stamps = {p: p.stat().st_mtime_ns
              for p in project.glob("trial_*/run/forecaster/model.keras")}
    assert len(stamps) == 3
    again = tune(tiny_config(), "random", max_trials=3, directory=directory, seed=7,
                 space=TINY_SPACE)
    assert again.table["trial_id"].tolist() == ["0", "1", "2"]
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    more = tune(tiny_config(), "random", max_trials=4, directory=directory, seed=7,
                space=TINY_SPACE)
    assert more.table["status"].tolist() == ["COMPLETED"] * 4
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert (project / "best_forecaster" / "forecaster.json").is_file()

    # Other settings on the same project: an error, before any trial.
    with pytest.raises(ValueError, match="was started with other settings .*space"):
        tune(tiny_config(), "random", max_trials=5, directory=directory,
             space={**TINY_SPACE, "units": (4, 16, 4)})
    with pytest.raises(ValueError, match="was started with other settings .*tuner"):
        tune(tiny_config(), "hyperband", max_trials=5, directory=directory, space=TINY_SPACE)
    with pytest.raises(ValueError, match="was started with other settings .*base_config"):
        tune(tiny_config(steps=40), "random", max_trials=5, directory=directory,
             space=TINY_SPACE)
    assert len(results_dataframe(directory)) == 4


def test_hyperband_budget_is_steps_and_gate_monitor(tmp_path):
    config = tiny_config(steps=20, epochs=2, gate_monitor=True, output_dir=str(tmp_path / "runs"))
    result = tune(config, "hyperband", max_trials=3, directory=tmp_path, seed=2,
                  hyperband_factor=2, space={"cells": "standard", "units": (4, 8, 4),
                                             "layers": 1})
    table = result.table
    assert table["status"].tolist() == ["COMPLETED"] * 3
    # Hyperband's rounds: 1, 1, then 2 "epochs" (out of the config's 2) for the best
    # of the two; an epoch of budget is steps / epochs = 10 optimisation steps.
    assert table["tuner/epochs"].tolist() == [1, 1, 2]
    best_first = table.iloc[:2].sort_values("score").iloc[0]
    assert table.iloc[2]["tuner/trial_id"] == best_first["trial_id"]
    for row in table.itertuples():
        budget = row[table.columns.get_loc("tuner/epochs") + 1]
        run_dir = tmp_path / "forecast" / f"trial_{row.trial_id}" / "run"
        run_config = json.loads((run_dir / "config.json").read_text())
        assert (run_config["steps"], run_config["epochs"]) == (10 * budget, budget)
        history = pd.read_csv(run_dir / "history.csv")
        assert len(history) == row.epochs
        assert (history["phase"] == "train").sum() == budget
        assert list((run_dir / "tb" / "train" / "gates").glob("events.out.tfevents.*")), \
            "GateMonitor wrote nothing"
    best_budget = int(table.loc[table["trial_id"] == result.best_trial_id,
                                "tuner/epochs"].iloc[0])
    assert (result.best_config.steps, result.best_config.epochs) == (10 * best_budget,
                                                                    best_budget)
    assert result.best_config.gate_monitor is True
    assert result.best_model().get_params()["steps"] == 10 * best_budget


# ====================================================================== faults
def test_sigkill_then_same_command_resumes_without_losing_trials(tmp_path):
    directory = tmp_path / "sweep"
    argv = tiny_argv(directory, 3)
    proc = start_cli(argv, tmp_path / "first.log")
    try:
        def mid_second_trial() -> bool:
            table = table_or_empty(directory)
            running = table[table["status"] == "RUNNING"]["trial_id"].tolist()
            return (table["status"] == "COMPLETED").sum() >= 1 and any(
                (directory / "forecast" / f"trial_{t}" / "run" / "tb" / "train").is_dir()
                for t in running)

        wait_for(mid_second_trial, 240, "a completed trial and a trial in training", (proc,))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == -signal.SIGKILL
    before = results_dataframe(directory)
    done = before[before["status"] == "COMPLETED"]
    interrupted = before[before["status"] == "RUNNING"]["trial_id"].tolist()
    assert len(done) >= 1 and len(interrupted) == 1
    project = directory / "forecast"
    kept = {t: (project / f"trial_{t}" / "trial.json").read_text() for t in done["trial_id"]}
    stamps = {t: (project / f"trial_{t}" / "run" / "forecaster" / "model.keras")
              .stat().st_mtime_ns for t in done["trial_id"]}

    assert cli.main(argv) == 0  # the same command again

    after = results_dataframe(directory)
    assert after["trial_id"].tolist() == ["0", "1", "2"]
    assert after["status"].tolist() == ["COMPLETED"] * 3
    for trial_id, text in kept.items():  # completed trials kept as they were, not rerun
        assert (project / f"trial_{trial_id}" / "trial.json").read_text() == text
        assert (project / f"trial_{trial_id}" / "run" / "forecaster" / "model.keras") \
            .stat().st_mtime_ns == stamps[trial_id]
    (again,) = interrupted
    row = after.set_index("trial_id").loc[again]
    assert row["attempts"] == 2
    assert before.set_index("trial_id").loc[again, "units"] == row["units"]  # same values
    info = json.loads((project / f"trial_{again}" / "trial_info.json").read_text())
    assert [h["outcome"] for h in info["history"]] == ["interrupted", "completed"]
    assert (project / "best_forecaster" / "forecaster.json").is_file()


# ====================================================================== sentiment
SENTIMENT_METRICS = ["val_accuracy", "val_loss", "val_auc", "accuracy", "loss", "test_accuracy",
                     "test_auc", "test_loss", "epochs", "params", "train_seconds"]


def test_sentiment_search_maximises_validation_accuracy(tmp_path):
    from lstm_apps.recipes.sentiment import SentimentConfig

    rng = np.random.default_rng(0)
    good, bad = ["great", "wonderful", "superb", "moving"], ["awful", "boring", "dull", "bad"]
    rows = []
    for i in range(240):
        label = i % 2
        words = rng.choice(good if label else bad, size=3).tolist() + ["film", "plot", "the"]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    pd.DataFrame(rows).to_csv(tmp_path / "reviews.csv", index=False)
    config = SentimentConfig(data=str(tmp_path / "reviews.csv"), units=4, embedding_dim=8,
                             vocab_size=50, max_len=12, batch_size=32, epochs=1,
                             ema_momentum=None, gate_monitor=True, verbose=0,
                             output_dir=str(tmp_path / "runs"))
    space = {"cells": ("keras_lstm", "gru"), "units": (4, 8, 4), "layers": 1,
             "bidirectional": (False, True)}
    result = tune(config, "random", max_trials=2, directory=tmp_path / "sweep", seed=4,
                  space=space)
    table = result.table
    assert table.columns.tolist() == expected_columns(
        ["cell", "units", "layers", "bidirectional", "dropout", "recurrent_dropout",
         "learning_rate", "clipnorm"], SENTIMENT_METRICS)
    assert table["status"].tolist() == ["COMPLETED"] * 2
    assert result.objective == "val_accuracy" and result.direction == "max"
    assert table["score"].tolist() == table["val_accuracy"].tolist()
    assert result.best_trial_id == table.loc[table["score"].idxmax(), "trial_id"]
    project = tmp_path / "sweep" / "sentiment"
    for row in table.itertuples():
        metrics = json.loads((project / f"trial_{row.trial_id}" / "run" / "metrics.json")
                             .read_text())
        assert row.test_accuracy == pytest.approx(metrics["test_accuracy"])
        assert row.val_accuracy == pytest.approx(metrics["val_accuracy"])
    saved = SentimentConfig(**json.loads((project / "best_config.json").read_text()))
    assert saved == result.best_config
    assert saved.gate_monitor is False  # the Keras baselines have no gates to trace
    assert str(saved.output_dir) == str(tmp_path / "runs")
    from lstm_apps.recipes.sentiment import predict_sentiment

    probability = np.asarray(predict_sentiment(result.best_model(), ["great moving film"]))
    assert probability.size == 1 and 0.0 <= float(probability.ravel()[0]) <= 1.0


def test_sentiment_hypermodel_builds_the_recipes_model(tmp_path):
    from lstm_apps.data import imdb
    from lstm_apps.recipes import sentiment
    from lstm_apps.tuning import SentimentHyperModel

    rng = np.random.default_rng(1)
    words = ["great", "awful", "film", "plot", "the", "moving", "dull", "a"]
    frame = pd.DataFrame({"text": [" ".join(rng.choice(words, 6)) for _ in range(120)],
                          "label": np.arange(120) % 2})
    config = sentiment.SentimentConfig(data=frame, units=4, embedding_dim=8, vocab_size=20,
                                       ngram_vocab_size=40, max_len=8, batch_size=32,
                                       ema_momentum=0.99, verbose=0)
    hm = SentimentHyperModel(config, cells="standard", units=4, layers=1)
    built = hm.build(keras_tuner.HyperParameters())
    trial_config = hm.config(keras_tuner.HyperParameters())
    splits = imdb.load_imdb(frame, seed=config.seed)
    layers = sentiment.make_vectorizers(trial_config, splits.train_texts, splits.train_labels)
    recipe = sentiment.compile_model(sentiment.build_model(trial_config, *layers),
                                     trial_config, len(splits.train_texts))
    # The same layers (the n-gram branch with its weights included) and optimizer.
    assert [type(x).__name__ for x in built.layers] == [type(x).__name__ for x in recipe.layers]
    assert built.count_params() == recipe.count_params()
    for name in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "clipnorm"):
        assert getattr(built.optimizer, name) == getattr(recipe.optimizer, name), name
    assert built.optimizer.ema_momentum < 0.99  # lowered for a few steps per epoch

