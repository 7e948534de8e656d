"""`RecipeTuner`: a Keras Tuner tuner whose trials are runs of a recipe."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import keras
import keras_tuner

from lstm_apps import _io, _runs
from lstm_apps.tuning import _hparams
from lstm_apps.tuning import _kt_private as _kt

__all__ = ["RUN_FOLDER", "RecipeTuner", "is_chief", "is_worker"]

logger = logging.getLogger(__name__)

#: The recipe's run folder inside each trial folder.
RUN_FOLDER = "run"


def is_chief() -> bool:
    """Whether Keras Tuner's environment makes this process the chief (oracle server)."""
    return "KERASTUNER_ORACLE_IP" in os.environ and _kt.is_chief_id(
        os.environ.get("KERASTUNER_TUNER_ID", "")
    )


def is_worker() -> bool:
    """Whether Keras Tuner's environment makes this process a worker of a chief."""
    return "KERASTUNER_ORACLE_IP" in os.environ and not is_chief()


class _Heartbeat:
    """Calls `oracle.get_trial(trial_id)` every `interval` seconds in a thread."""

    def __init__(self, oracle: Any, trial_id: str, interval: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, args=(oracle, trial_id, interval),
            name=f"lstm_apps-heartbeat-{trial_id}", daemon=True,
        )
        self._thread.start()

    def _loop(self, oracle: Any, trial_id: str, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                oracle.get_trial(trial_id)
            except Exception as error:  # the chief may be gone; the trial goes on
                logger.debug("heartbeat of trial %s failed: %s", trial_id, error)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class RecipeTuner(keras_tuner.Tuner):
    """Runs each trial as one run of the recipe, in the trial's folder.

    `run_trial` builds the recipe config of the trial's hyperparameters
    (`hypermodel.config(hp)`, with `hypermodel.run_overrides` pointing the
    run folder at `<trial folder>/run`) and calls the recipe's own `run`: a
    trial trains exactly what `lstm-apps forecast` / `sentiment` train, with
    the same callbacks (TensorBoard in `run/tb`, `GateMonitor` when the
    config has `gate_monitor=True`, and the recipe's own, such as early
    stopping), and leaves a complete run folder (the trained model,
    `hypermodel.model_file`: `forecaster/` for the forecast recipe,
    `model.keras` for sentiment; `metrics.json`, `history.csv`,
    `config.json`, `tb/`). A run folder that an attempt completed without the
    oracle recording it is removed first; one that an interrupted attempt left
    is resumed. With Hyperband, `tuner/epochs` becomes the config's training
    budget (`hypermodel.budget`: sentiment's `epochs`, forecast's share of
    its `steps`) and every trial trains from scratch (no weights are carried
    between rounds). The trial reports `hypermodel.trial_metrics(result)`;
    its HParams session (hyperparameters, then those metrics, the objective
    among them) is written to `run/tb`.

    In distributed mode a worker sends a heartbeat to the chief every
    `heartbeat_interval` seconds while it runs a trial, and waits
    `idle_interval` seconds before asking again when told to wait; the chief
    runs `oracle.expire_stale()` every `min(1, heartbeat_interval)` seconds.

    Args:
        oracle: An oracle of `lstm_apps.tuning.oracles`.
        hypermodel: A `RecipeHyperModel`.
        heartbeat_interval: Seconds between heartbeats (workers only).
        idle_interval: Seconds a worker waits when no trial is ready.
        **kwargs: Passed to `keras_tuner.Tuner` (`directory`,
            `project_name`, `overwrite`, `tuner_id`).

    Example:

    >>> import tempfile, keras_tuner
    >>> from lstm_apps.recipes.forecast import ForecastConfig
    >>> from lstm_apps.tuning import ForecastHyperModel, RandomSearchOracle, RecipeTuner
    >>> config = ForecastConfig(length=300, lookback=20, horizon=3, units=8, steps=20,
    ...                         epochs=1, combine=(), stride=15, plots=False, output_dir=None)
    >>> hypermodel = ForecastHyperModel(config, cells="gru", units=(4, 8, 4))
    >>> oracle = RandomSearchOracle(objective=keras_tuner.Objective("val_mae", "min"),
    ...                             max_trials=1, seed=1)
    >>> tuner = RecipeTuner(oracle, hypermodel, directory=tempfile.mkdtemp(),
    ...                     project_name="demo")
    >>> tuner.search(verbose=0)
    >>> trial = tuner.oracle.get_best_trials()[0]
    >>> trial.status, trial.hyperparameters.values["cell"]
    ('COMPLETED', 'gru')
    >>> best = tuner.get_best_models()[0]  # the trial's fitted LSTMForecaster
    >>> type(best).__name__, best.network_.output_shape
    ('LSTMForecaster', (None, 1, 3))
    """

    def __init__(
        self,
        oracle: Any,
        hypermodel: Any,
        heartbeat_interval: float = 10.0,
        idle_interval: float = 0.25,
        **kwargs: Any,
    ) -> None:
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.heartbeat_interval = float(heartbeat_interval)
        self.idle_interval = float(idle_interval)
        self._heartbeat: _Heartbeat | None = None
        self._waiting = False
        self._trial_started: dict[str, float] = {}
        self._last_metrics: dict[str, float] | None = None

    # ------------------------------------------------------------ trials
    def trial_run_dir(self, trial_id: str) -> Path:
        """The recipe's run folder of a trial."""
        return Path(self.get_trial_dir(trial_id)) / RUN_FOLDER

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        """Runs the recipe with the trial's config; returns its metrics."""
        hp = trial.hyperparameters
        run_dir = self.trial_run_dir(trial.trial_id)
        if _runs.is_complete(run_dir):  # finished, but not recorded: run it again
            logger.info("trial %s: removing the run folder of an earlier attempt",
                        trial.trial_id)
            shutil.rmtree(run_dir, ignore_errors=True)
        elif run_dir.exists():
            logger.info("trial %s: resuming the run of an interrupted attempt", trial.trial_id)
        overrides: dict[str, Any] = self.hypermodel.run_overrides(run_dir)
        overrides.update(self.budget_overrides(hp.values))
        config = self.hypermodel.config(hp, **overrides)
        keras.backend.clear_session()
        gc.collect()
        session = run_dir / "tb"
        run_dir.mkdir(parents=True, exist_ok=True)
        _hparams.write_session_start(session, trial.trial_id, hp.values)
        try:
            # "resume": the folder holds the trial's TensorBoard session already, and
            # an interrupted attempt continues from its last finished epoch.
            with _runs.policy("resume"):
                result = self.hypermodel.run(config)
        except BaseException:
            _hparams.write_session_end(session, {}, ok=False)
            raise
        metrics = self.hypermodel.trial_metrics(result)
        _hparams.write_session_end(session, metrics, ok=True)
        self._last_metrics = metrics
        return metrics

    def budget_overrides(self, values: Any) -> dict[str, Any]:
        """The config fields of a trial's Hyperband budget (`{}` without `tuner/epochs`)."""
        epochs = values.get("tuner/epochs")
        if not epochs:
            return {}
        max_epochs = getattr(self.oracle, "max_epochs", None) or self.hypermodel.max_epochs
        return self.hypermodel.budget(int(epochs), int(max_epochs))

    def trial_model_path(self, trial_id: str) -> Path:
        """The trained model in a trial's run folder (`hypermodel.model_file`)."""
        return self.trial_run_dir(trial_id) / self.hypermodel.model_file

    def load_model(self, trial: Any) -> Any:
        """The trained model of a trial, from its run folder.

        A `keras.Model` (sentiment: `run/model.keras`) or the fitted
        `LSTMForecaster` (forecast: `run/forecaster/`): `hypermodel.load_trained`.
        """
        path = self.trial_model_path(trial.trial_id)
        if not path.exists():
            raise FileNotFoundError(f"trial {trial.trial_id} has no model: {path} is missing.")
        return self.hypermodel.load_trained(path)

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        """Nothing to do: the recipe saves each trial's model in its run folder."""

    # ------------------------------------------------------------ hooks
    def pre_create_trial(self) -> None:
        """Waits `idle_interval` seconds when the oracle said IDLE last time.

        Keras Tuner's undocumented hook (see `lstm_apps.tuning._kt_private`),
        called before every `oracle.create_trial`.
        """
        if self._waiting:  # the oracle answered IDLE last time
            time.sleep(self.idle_interval)
        self._waiting = True

    def on_trial_begin(self, trial: Any) -> None:
        self._waiting = False
        self._last_metrics = None
        self._trial_started[trial.trial_id] = time.perf_counter()
        values = {k: v for k, v in trial.hyperparameters.values.items()
                  if not k.startswith("tuner/") or k == "tuner/epochs"}
        logger.info("trial %s started on %s: %s", trial.trial_id, self.tuner_id, values)
        if is_worker():
            self._heartbeat = _Heartbeat(self.oracle, trial.trial_id, self.heartbeat_interval)
        super().on_trial_begin(trial)

    def on_trial_end(self, trial: Any) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        seconds = time.perf_counter() - self._trial_started.pop(trial.trial_id, time.perf_counter())
        super().on_trial_end(trial)
        if trial.status == "COMPLETED" and self._last_metrics is not None:
            objective = self.oracle.objective.name
            logger.info("trial %s completed on %s in %.1f s: %s = %.6g", trial.trial_id,
                        self.tuner_id, seconds, objective,
                        self._last_metrics.get(objective, float("nan")))
        else:
            logger.warning("trial %s ended %s on %s after %.1f s: %s", trial.trial_id,
                           trial.status, self.tuner_id, seconds,
                           (trial.message or "").strip().splitlines()[-1:] or "")

    def search(self, *args: Any, **kwargs: Any) -> None:
        """Runs the search (Keras Tuner's loop; on the chief, with a watchdog)."""
        stop = threading.Event()
        watchdog = None
        if is_chief() and hasattr(self.oracle, "expire_stale"):
            def watch() -> None:
                while not stop.wait(min(1.0, self.heartbeat_interval)):
                    try:
                        self.oracle.expire_stale()
                    except Exception as error:  # never kill the server over bookkeeping
                        logger.warning("checking for dead workers failed: %s", error)

            watchdog = threading.Thread(target=watch, name="lstm_apps-watchdog", daemon=True)
            watchdog.start()
        try:
            super().search(*args, **kwargs)
        finally:
            stop.set()
            if watchdog is not None:
                watchdog.join(timeout=10)

    def save(self) -> None:
        """Saves the oracle (not on workers) and this tuner's state, atomically."""
        if not _kt.is_worker_tuner(self):
            self.oracle.save()
        _io.write_json(_kt.tuner_file(self), self.get_state())
