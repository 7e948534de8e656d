"""Every use of Keras Tuner's private (undocumented) API, in one module.

Written against **keras-tuner 1.4.8** (`pyproject.toml` pins
`keras-tuner>=1.4.7,<1.5`). Nothing else in `lstm_apps.tuning` touches
these names: it calls the functions here, or inherits `OracleOverrides`.
`tests/test_kt_private.py` fails, naming the missing ones, as soon as a
Keras Tuner release drops or changes any of them; that is the place to look
first when upgrading Keras Tuner.

The names, where Keras Tuner defines them (`keras_tuner/src/...`), and what
`lstm_apps` does with them:

`keras_tuner.Oracle` (`engine/oracle.py`):

- `_save_trial(trial)`: **overridden** (`OracleOverrides`), so that every
  `trial.json` is written atomically (`Oracle.create_trial`, `update_trial`
  and `end_trial` call it).
- `_get_trial_dir(trial_id)`: the trial's folder, `<project>/trial_<id>`
  (created if missing); read by `trial_dir`.
- `_get_oracle_fname()`: the path of `oracle.json`; read by `oracle_file`.
- `_project_dir`: the project folder (a property, set by the tuner through
  `_set_project_dir`); read by `project_dir`.
- `_retry_queue`: the list of trial ids to run again, popped by
  `create_trial`; read and changed by `retry_queue` (dead workers' trials
  are appended, a trial whose worker came back is removed).
- `ongoing_trials`: `{tuner_id: Trial}` of the running trials; read and
  changed by `ongoing_trials` (a dead worker's entry is deleted).
- `tuner_ids`: the set of tuner ids that asked for trials (the chief ends
  once it is empty); read and changed by `tuner_ids`.
- `end_order`: the list of ended trial ids; read by `end_order`.

`keras_tuner.Tuner` (`engine/base_tuner.py`):

- `_is_worker()`: whether this tuner is a worker of a chief; read by
  `is_worker_tuner`.
- `_get_tuner_fname()`: the path of the tuner's own state file,
  `<project>/<tuner_id>.json`; read by `tuner_file`.
- `pre_create_trial()`: an undocumented hook, called before every
  `oracle.create_trial`; overridden by `RecipeTuner`.

Distribution (`distribute/utils.py`):

- `is_chief_oracle()`: a process is the chief when
  `KERASTUNER_ORACLE_IP` is set and its `KERASTUNER_TUNER_ID` *contains*
  `"chief"`; mirrored (without importing Keras Tuner's private module) by
  `CHIEF_MARK` and `is_chief_id`.
"""

from __future__ import annotations

from typing import Any

import keras_tuner

__all__ = [
    "CHIEF_MARK",
    "KERAS_TUNER_VERSION",
    "ORACLE_ATTRIBUTES",
    "ORACLE_METHODS",
    "TUNER_METHODS",
    "OracleOverrides",
    "end_order",
    "is_chief_id",
    "is_worker_tuner",
    "missing_names",
    "ongoing_trials",
    "oracle_file",
    "project_dir",
    "retry_queue",
    "trial_dir",
    "tuner_file",
    "tuner_ids",
]

#: The Keras Tuner version these uses were written against.
KERAS_TUNER_VERSION = "1.4.8"
#: Private methods and properties of `keras_tuner.Oracle` used here.
ORACLE_METHODS = ("_save_trial", "_get_trial_dir", "_get_oracle_fname", "_project_dir")
#: Undocumented attributes of every `keras_tuner.Oracle` instance used here.
ORACLE_ATTRIBUTES = ("_retry_queue", "ongoing_trials", "tuner_ids", "end_order")
#: Private methods and undocumented hooks of `keras_tuner.Tuner` used here.
TUNER_METHODS = ("_is_worker", "_get_tuner_fname", "pre_create_trial")
#: Keras Tuner takes any `KERASTUNER_TUNER_ID` containing this for the chief's.
CHIEF_MARK = "chief"


def missing_names(oracle: Any | None = None) -> list[str]:
    """The names listed in this module that Keras Tuner no longer has.

    Args:
        oracle: A `keras_tuner.Oracle` instance, to check the instance
            attributes (`ORACLE_ATTRIBUTES`) on. If None, a
            `keras_tuner.oracles.RandomSearchOracle` is made.

    Returns:
        Qualified names (`"Oracle._save_trial"`, ...); empty when all are there.

    Example:

    >>> from lstm_apps.tuning import _kt_private
    >>> _kt_private.missing_names()
    []
    """
    if oracle is None:
        oracle = keras_tuner.oracles.RandomSearchOracle(
            objective=keras_tuner.Objective("val_loss", "min"), max_trials=1
        )
    missing = [f"Oracle.{n}" for n in ORACLE_METHODS if not hasattr(keras_tuner.Oracle, n)]
    missing += [f"Oracle().{n}" for n in ORACLE_ATTRIBUTES if n not in vars(oracle)]
    missing += [f"Tuner.{n}" for n in TUNER_METHODS if not hasattr(keras_tuner.Tuner, n)]
    return missing


class OracleOverrides:
    """Mixin routing `keras_tuner.Oracle`'s private hooks to public-named methods.

    Put it before a `keras_tuner.Oracle` subclass; the class must define
    `save_trial(trial)`, which Keras Tuner then calls wherever it would
    write a trial's `trial.json` (`Oracle._save_trial`).
    """

    def _save_trial(self, trial: Any) -> None:
        self.save_trial(trial)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- Oracle
def project_dir(oracle: Any) -> str:
    """The oracle's project folder (`directory/project_name`)."""
    return oracle._project_dir


def oracle_file(oracle: Any) -> str:
    """The path of the oracle's `oracle.json`."""
    return oracle._get_oracle_fname()


def trial_dir(oracle: Any, trial_id: str) -> str:
    """The folder of a trial (`<project>/trial_<id>`), created if missing."""
    return oracle._get_trial_dir(trial_id)


def retry_queue(oracle: Any) -> list[str]:
    """The oracle's own list of trial ids to run again (changes act on the oracle)."""
    return oracle._retry_queue


def ongoing_trials(oracle: Any) -> dict[str, Any]:
    """The oracle's own `{tuner_id: Trial}` of running trials (changes act on it)."""
    return oracle.ongoing_trials


def tuner_ids(oracle: Any) -> set[str]:
    """The oracle's own set of tuner ids that asked for trials (changes act on it)."""
    return oracle.tuner_ids


def end_order(oracle: Any) -> list[str]:
    """The ids of the trials the oracle has ended, in order."""
    return oracle.end_order


# ---------------------------------------------------------------- Tuner
def is_worker_tuner(tuner: Any) -> bool:
    """Whether `tuner` is a worker of a chief (Keras Tuner's own rule)."""
    return bool(tuner._is_worker())


def tuner_file(tuner: Any) -> str:
    """The path of the tuner's own state file (`<project>/<tuner_id>.json`)."""
    return tuner._get_tuner_fname()


# ---------------------------------------------------------------- distribution
def is_chief_id(tuner_id: str) -> bool:
    """Whether Keras Tuner takes `tuner_id` (`KERASTUNER_TUNER_ID`) for the chief's."""
    return CHIEF_MARK in tuner_id
