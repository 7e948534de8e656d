"""Keras Tuner oracles that survive kills and dead workers, and keep a results table.

The three oracles are Keras Tuner's own (`keras_tuner.oracles.RandomSearchOracle`,
`BayesianOptimizationOracle`, `HyperbandOracle`) with one mixin that adds:

- **Bookkeeping.** Which tuner ran each trial, how many attempts it took,
  when it started and ended; kept in the oracle's state and written beside
  Keras Tuner's `trial.json` as `trial_info.json`. After every trial start
  and end the oracle writes `trials.csv` (one row per trial) atomically.
- **Atomic state files.** `oracle.json` and every `trial.json` are written
  to a temporary file and renamed, so a SIGKILL never leaves a half-written
  file that would stop the rerun from reloading.
- **Dead workers** (distributed mode, `worker_timeout` set). Workers send a
  heartbeat while they run a trial (see `RecipeTuner`). A trial whose worker
  has not been heard of for `worker_timeout` seconds goes back to the queue
  and the next worker that asks runs it again (its `attempts` grows); a
  worker that stopped asking for trials is forgotten, so the chief can end.
  While other trials still run, a worker that asks for a trial when none is
  left is told to wait (`IDLE`) instead of to stop, so it is still there to
  take over a trial whose worker dies. A result that arrives for a trial
  that already ended (a worker thought dead that came back) is dropped.

Keras Tuner's own resume is kept as it is: on reload, trials that were
running when the process died go back to the queue (`Oracle.reload`), and
the completed ones are kept.

The mixin reads and overrides Keras Tuner's private Oracle API (`_save_trial`,
`_retry_queue`, `ongoing_trials`, ...) only through
`lstm_apps.tuning._kt_private`, which lists those names and the version
they were written against.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import keras_tuner
from keras_tuner import oracles as _kt_oracles

from lstm_apps import _io
from lstm_apps.tuning import _kt_private as _kt

__all__ = [
    "BayesianOptimizationOracle",
    "HyperbandOracle",
    "RandomSearchOracle",
    "TrialBookkeepingMixin",
]

logger = logging.getLogger(__name__)

_RUNNING, _COMPLETED, _FAILED, _IDLE, _STOPPED = (
    "RUNNING", "COMPLETED", "FAILED", "IDLE", "STOPPED"
)


def _now_iso(stamp: float) -> str:
    return _dt.datetime.fromtimestamp(stamp).isoformat(timespec="seconds")


class TrialBookkeepingMixin(_kt.OracleOverrides):
    """Bookkeeping, atomic state files and dead-worker recovery for an Oracle.

    Put it before a `keras_tuner.Oracle` subclass; it takes one more keyword
    argument, `worker_timeout` (seconds, None: never requeue).
    """

    def __init__(self, *args: Any, worker_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.worker_timeout = worker_timeout
        # trial_id -> {"tuner_id", "attempts", "started", "ended", "duration_s", "history"}
        self.trial_info: dict[str, dict[str, Any]] = {}
        # tuner_id -> last time it was heard of (not saved)
        self._last_seen: dict[str, float] = {}

    # ------------------------------------------------------------ files
    @property
    def project_path(self) -> Path:
        """The project folder (`directory/project_name`)."""
        return Path(_kt.project_dir(self))

    def save(self) -> None:
        """Writes `oracle.json` atomically."""
        _io.write_text(_kt.oracle_file(self), json.dumps(self.get_state()))

    def save_trial(self, trial: Any) -> None:
        """Writes the trial's `trial.json` atomically (Keras Tuner's `_save_trial`)."""
        path = Path(_kt.trial_dir(self, trial.trial_id)) / "trial.json"
        _io.write_text(path, json.dumps(trial.get_state()))

    def _write_info(self, trial_id: str) -> None:
        info = self.trial_info.get(trial_id)
        if info is None:
            return
        trial = self.trials.get(trial_id)
        record = {"trial_id": trial_id, "status": getattr(trial, "status", None), **info}
        _io.write_json(Path(_kt.trial_dir(self, trial_id)) / "trial_info.json", record)

    def write_table(self) -> Path:
        """Writes `trials.csv` (one row per trial) atomically; returns its path."""
        from lstm_apps.tuning import results

        rows = [
            results.trial_row(trial.get_state(), self.trial_info.get(trial_id))
            for trial_id, trial in self.trials.items()
        ]
        frame = results.rows_to_frame(rows, results.metric_order(self.project_path))
        return _io.write_csv(self.project_path / "trials.csv", frame)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["lstm_apps"] = {"trial_info": self.trial_info}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.trial_info = dict((state.get("lstm_apps") or {}).get("trial_info") or {})

    # ------------------------------------------------------------ liveness
    def _owner(self, trial_id: str) -> str | None:
        for tuner_id, trial in _kt.ongoing_trials(self).items():
            if trial.trial_id == trial_id:
                return tuner_id
        return None

    def get_trial(self, trial_id: str) -> Any:
        """Returns the trial; a call from a worker counts as its heartbeat."""
        owner = self._owner(trial_id)
        if owner is not None:
            self._last_seen[owner] = time.time()
        return super().get_trial(trial_id)

    @keras_tuner.synchronized
    def expire_stale(self) -> list[str]:
        """Requeues the trials of workers silent for `worker_timeout` seconds.

        Also forgets workers that stopped asking for trials. Returns the
        requeued trial ids. Does nothing when `worker_timeout` is None.
        """
        if not self.worker_timeout:
            return []
        now = time.time()
        requeued = []
        ongoing, tuner_ids = _kt.ongoing_trials(self), _kt.tuner_ids(self)
        retry = _kt.retry_queue(self)
        for tuner_id, trial in list(ongoing.items()):
            silent = now - self._last_seen.setdefault(tuner_id, now)
            if silent <= self.worker_timeout:
                continue
            del ongoing[tuner_id]
            tuner_ids.discard(tuner_id)
            if trial.trial_id not in retry:
                retry.append(trial.trial_id)
            requeued.append(trial.trial_id)
            info = self.trial_info.setdefault(trial.trial_id, {})
            if info.get("history"):
                info["history"][-1]["outcome"] = f"requeued: {tuner_id} silent for {silent:.0f} s"
            logger.warning(
                "tuner %r has not been heard of for %.0f s: trial %s goes back to the queue",
                tuner_id, silent, trial.trial_id,
            )
        for tuner_id in list(tuner_ids):
            if tuner_id in ongoing:
                continue
            silent = now - self._last_seen.setdefault(tuner_id, now)
            if silent > self.worker_timeout:
                tuner_ids.discard(tuner_id)
                logger.warning("tuner %r has not asked for a trial for %.0f s: forgotten",
                               tuner_id, silent)
        if requeued:
            for trial_id in requeued:
                self._write_info(trial_id)
            self.save()
            self.write_table()
        return requeued

    # ------------------------------------------------------------ trials
    @keras_tuner.synchronized
    def create_trial(self, tuner_id: str) -> Any:
        """Creates (or hands back) a trial for `tuner_id`; see the module docstring."""
        now = time.time()
        self._last_seen[tuner_id] = now
        self.expire_stale()
        had_trial = tuner_id in _kt.ongoing_trials(self)
        trial = super().create_trial(tuner_id)
        if trial.status == _STOPPED and any(t != tuner_id for t in _kt.ongoing_trials(self)):
            # Others still run: wait, to take over if one of them dies.
            _kt.tuner_ids(self).add(tuner_id)
            trial.status = _IDLE
        elif trial.status == _RUNNING and not had_trial:
            info = self.trial_info.setdefault(trial.trial_id, {})
            info["attempts"] = int(info.get("attempts", 0)) + 1
            info.update(tuner_id=tuner_id, started=_now_iso(now), start_time=now,
                        ended=None, duration_s=None)
            info.setdefault("history", []).append(
                {"tuner_id": tuner_id, "started": _now_iso(now), "outcome": "running"}
            )
            self._write_info(trial.trial_id)
            self.save()
            self.write_table()
        return trial

    @keras_tuner.synchronized
    def end_trial(self, trial: Any) -> None:
        """Records the end of a trial, then writes `trial_info.json` and `trials.csv`."""
        now = time.time()
        trial_id = trial.trial_id
        known = self.trials.get(trial_id)
        if known is not None and trial_id in _kt.end_order(self) and known.status in (
            _COMPLETED, _FAILED
        ):
            logger.warning("trial %s already ended (%s): result from a late worker dropped",
                           trial_id, known.status)
            return
        owner = self._owner(trial_id)
        if owner is not None:
            self._last_seen[owner] = now
        retry = _kt.retry_queue(self)
        if trial.status == _COMPLETED and trial_id in retry:
            retry.remove(trial_id)  # requeued, but its worker came back
        super().end_trial(trial)
        ended = self.trials[trial_id]
        info = self.trial_info.setdefault(trial_id, {})
        start = info.get("start_time")
        info.update(
            ended=_now_iso(now),
            duration_s=None if start is None else round(now - float(start), 3),
        )
        if owner is not None:
            info["tuner_id"] = owner
        if info.get("history"):
            info["history"][-1].update(ended=_now_iso(now), outcome=ended.status.lower())
        self._write_info(trial_id)
        self.save()
        self.write_table()
        score = ended.score
        logger.info(
            "trial %s %s in %s s%s", trial_id, ended.status, info.get("duration_s"),
            "" if score is None or (isinstance(score, float) and math.isnan(score))
            else f": {self.objective.name} = {score:.6g}",
        )

    def reload(self) -> None:
        """Reloads the oracle; trials left running by a dead process are requeued."""
        super().reload()
        retry = _kt.retry_queue(self)
        for trial_id in retry:
            info = self.trial_info.get(trial_id)
            if info and info.get("history") and info["history"][-1].get("outcome") == "running":
                info["history"][-1]["outcome"] = "interrupted"
                self._write_info(trial_id)
        if retry:
            logger.info("resuming: trials %s were interrupted and will run again", sorted(retry))


class RandomSearchOracle(TrialBookkeepingMixin, _kt_oracles.RandomSearchOracle):
    """`keras_tuner.oracles.RandomSearchOracle` with `TrialBookkeepingMixin`."""


class BayesianOptimizationOracle(
    TrialBookkeepingMixin, _kt_oracles.BayesianOptimizationOracle
):
    """`keras_tuner.oracles.BayesianOptimizationOracle` with `TrialBookkeepingMixin`."""


class HyperbandOracle(TrialBookkeepingMixin, _kt_oracles.HyperbandOracle):
    """`keras_tuner.oracles.HyperbandOracle` with `TrialBookkeepingMixin`.

    `max_trials` caps the number of trials (Keras Tuner's Hyperband has no
    such cap; here the brackets repeat until it is reached).
    """

    def __init__(self, *args: Any, max_trials: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("hyperband_iterations", None if max_trials else 1)
        super().__init__(*args, **kwargs)
        self.max_trials = max_trials
