"""Keras Tuner's private API that `lstm_apps.tuning` relies on is still there.

Every name lives in `lstm_apps.tuning._kt_private`; when a Keras Tuner
release drops or changes one, these tests say which, before a search fails
in the middle of a run.
"""

from __future__ import annotations

import inspect
import json
import os

import keras_tuner
import pytest

from lstm_apps.tuning import _kt_private, oracles
from lstm_apps.tuning.tuner import RecipeTuner

_UPGRADE = (
    "lstm_apps.tuning._kt_private was written against keras-tuner {written}; the "
    "installed keras-tuner {installed} {problem}. Update _kt_private (and the "
    "`keras-tuner` pin in pyproject.toml) before using this Keras Tuner."
)


def _message(problem: str) -> str:
    return _UPGRADE.format(written=_kt_private.KERAS_TUNER_VERSION,
                           installed=keras_tuner.__version__, problem=problem)


def _oracle(**kwargs):
    return oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("val_loss", "min"), max_trials=2, seed=1, **kwargs
    )


def test_every_private_name_is_still_there():
    missing = _kt_private.missing_names()
    assert not missing, _message(f"no longer has {missing}")


def test_the_module_names_every_name_it_lists():
    listed = _kt_private.ORACLE_METHODS + _kt_private.ORACLE_ATTRIBUTES + (
        _kt_private.TUNER_METHODS
    )
    doc = _kt_private.__doc__
    assert _kt_private.KERAS_TUNER_VERSION in doc
    undocumented = [name for name in listed if f"`{name}" not in doc]
    assert not undocumented, f"_kt_private's docstring does not describe {undocumented}"


def test_missing_names_reports_a_dropped_attribute(monkeypatch):
    oracle = _oracle()
    del oracle._retry_queue
    owner = next(c for c in keras_tuner.Tuner.__mro__ if "pre_create_trial" in vars(c))
    monkeypatch.delattr(owner, "pre_create_trial")
    assert _kt_private.missing_names(oracle) == ["Oracle()._retry_queue",
                                                 "Tuner.pre_create_trial"]


@pytest.mark.parametrize(
    "cls, name, parameters",
    [
        (keras_tuner.Oracle, "_save_trial", ["self", "trial"]),
        (keras_tuner.Oracle, "_get_trial_dir", ["self", "trial_id"]),
        (keras_tuner.Oracle, "_get_oracle_fname", ["self"]),
        (keras_tuner.Tuner, "_is_worker", ["self"]),
        (keras_tuner.Tuner, "_get_tuner_fname", ["self"]),
        (keras_tuner.Tuner, "pre_create_trial", ["self"]),
    ],
)
def test_private_methods_keep_their_signatures(cls, name, parameters):
    found = list(inspect.signature(getattr(cls, name)).parameters)
    assert found == parameters, _message(
        f"has {cls.__name__}.{name}{tuple(found)}, expected {tuple(parameters)}"
    )


def test_instance_attributes_keep_their_types():
    oracle = _oracle()
    types = {"_retry_queue": list, "ongoing_trials": dict, "tuner_ids": set, "end_order": list}
    wrong = {name: type(getattr(oracle, name)).__name__ for name, kind in types.items()
             if not isinstance(getattr(oracle, name), kind)}
    assert not wrong, _message(f"holds other types in the Oracle: {wrong}")
    assert _kt_private.retry_queue(oracle) is oracle._retry_queue
    assert _kt_private.ongoing_trials(oracle) is oracle.ongoing_trials
    assert _kt_private.tuner_ids(oracle) is oracle.tuner_ids
    assert _kt_private.end_order(oracle) is oracle.end_order


def test_keras_tuner_writes_every_trial_through_the_override(tmp_path, monkeypatch):
    """`_save_trial` is overridden (atomic `trial.json`): Keras Tuner must still call it."""
    oracle = _oracle()
    oracle._set_project_dir(str(tmp_path), "project")
    saved = []
    original = oracle.save_trial
    monkeypatch.setattr(oracle, "save_trial", lambda trial: (saved.append(trial.trial_id),
                                                             original(trial)))
    calls = {}
    trial = oracle.create_trial("tuner0")
    calls["create_trial"] = len(saved)
    oracle.update_trial(trial.trial_id, {"val_loss": 0.5})
    calls["update_trial"] = len(saved) - calls["create_trial"]
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    calls["end_trial"] = len(saved) - sum(calls.values())
    assert set(saved) == {trial.trial_id}
    silent = sorted(name for name, count in calls.items() if count == 0)
    assert not silent, _message(f"no longer calls Oracle._save_trial from {silent}")
    assert _kt_private.project_dir(oracle) == os.path.join(str(tmp_path), "project")
    path = os.path.join(_kt_private.trial_dir(oracle, trial.trial_id), "trial.json")
    with open(path, encoding="utf-8") as file:
        state = json.load(file)
    assert state["trial_id"] == trial.trial_id and state["status"] == "COMPLETED"
    assert _kt_private.end_order(oracle) == [trial.trial_id]
    assert _kt_private.oracle_file(oracle) == os.path.join(str(tmp_path), "project",
                                                          "oracle.json")


def test_the_tuner_helpers_read_keras_tuners_own_answers(tmp_path, monkeypatch):
    for key in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(key, raising=False)
    class Tiny(keras_tuner.HyperModel):
        def build(self, hp):
            import keras

            return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    tuner = RecipeTuner(_oracle(), Tiny(), directory=str(tmp_path), project_name="p",
                        tuner_id="tuner0")
    assert _kt_private.is_worker_tuner(tuner) is False
    assert _kt_private.tuner_file(tuner) == os.path.join(str(tmp_path), "p", "tuner0.json")


@pytest.mark.parametrize("tuner_id, chief", [("chief", True), ("chief-2", True),
                                             ("worker-1", False), ("head", False)])
def test_the_chief_rule_is_keras_tuners(monkeypatch, tuner_id, chief):
    from keras_tuner.src.distribute import utils as dist_utils

    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", tuner_id)
    assert dist_utils.is_chief_oracle() is chief, _message("changed how it finds the chief")
    assert _kt_private.is_chief_id(tuner_id) is chief


def test_keras_tuner_is_pinned_below_its_next_minor_version():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"keras-tuner>=1.4.7,<1.5"' in text
    assert keras_tuner.__version__.startswith("1.4."), _message("is outside the pin")
