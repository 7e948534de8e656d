"""`tune()`: one call for a resumable, optionally distributed, search over a recipe."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import keras_tuner
import pandas as pd

from lstm_apps import _io, _runs
from lstm_apps._validation import check_int, check_real
from lstm_apps.tuning import _hparams, oracles, results
from lstm_apps.tuning import _kt_private as _kt
from lstm_apps.tuning.hypermodels import RecipeHyperModel, make_hypermodel, recipe_name
from lstm_apps.tuning.tuner import RecipeTuner

__all__ = ["TUNERS", "TuneResult", "parse_address", "tune"]

logger = logging.getLogger(__name__)

#: Search algorithms, by name.
TUNERS = ("bayesian", "random", "hyperband")
_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
#: Files of a search, in its project folder.
SETTINGS_FILE, TABLE_FILE = "search.json", "trials.csv"
#: The best model is `hypermodel.best_model_file` ("best_forecaster" for forecast,
#: this for sentiment).
BEST_MODEL_FILE, BEST_CONFIG_FILE, BEST_TRIAL_FILE = (
    "best_model.keras", "best_config.json", "best_trial.json"
)


@dataclasses.dataclass
class TuneResult:
    """What `tune` returns.

    Attributes:
        recipe: "forecast" or "sentiment".
        role: "single" (one machine), "chief" or "worker".
        project_dir: The project folder (`directory/project_name`).
        objective: The objective's name, e.g. "val_mae".
        direction: "min" or "max".
        table: One row per trial (see `results_dataframe`).
        best_trial_id: The best completed trial (None if none completed).
        best_score: Its objective value.
        best_hyperparameters: Its hyperparameter values.
        best_config: Its recipe config, ready for the recipe's `run` (with
            the base config's `output_dir` and `run_name`).
        paths: Files written: "table" (`trials.csv`), "best_model" (a copy
            of the best trial's model: `best_forecaster/`, a folder of
            `LSTMForecaster.save`, for the forecast recipe;
            `best_model.keras` for sentiment), "best_config"
            (`best_config.json`), "best_trial" (`best_trial.json`); on a
            worker only "table" and "best_model" (the best trial's own
            `run/forecaster/` or `run/model.keras`).
        tuner: The `RecipeTuner`.
    """

    recipe: str
    role: str
    project_dir: Path
    objective: str
    direction: str
    table: pd.DataFrame
    best_trial_id: str | None
    best_score: float | None
    best_hyperparameters: dict[str, Any]
    best_config: Any
    paths: dict[str, Path]
    tuner: Any = dataclasses.field(repr=False, default=None)

    def best_model(self) -> Any:
        """Loads the best trained model: the fitted `LSTMForecaster` (forecast) or the
        `keras.Model` (sentiment), from `paths["best_model"]`."""
        path = self.paths.get("best_model")
        if path is None or not Path(path).exists():
            raise FileNotFoundError(f"no best model in {self.project_dir}: no trial completed.")
        if self.recipe == "forecast":
            from lstm_apps.recipes.forecast import load_forecaster

            return load_forecaster(path)
        import keras

        import lstm_apps  # noqa: F401  (registers the custom layers)

        return keras.saving.load_model(path)

    def summary(self, top: int = 10) -> pd.DataFrame:
        """The `top` completed trials, best first."""
        done = self.table[self.table["status"] == "COMPLETED"]
        return done.sort_values("score", ascending=self.direction == "min").head(top)


# ====================================================================== checks
def parse_address(address: Any, argument: str = "address") -> tuple[str, int]:
    """Splits "HOST:PORT" (or "[IPv6]:PORT") into a host and a port.

    Args:
        address: The address.
        argument: The argument named in error messages.

    Returns:
        `(host, port)`; an IPv6 host keeps its brackets (as gRPC wants it).

    Example:

    >>> parse_address("127.0.0.1:8000")
    ('127.0.0.1', 8000)
    >>> parse_address("[::1]:8000")
    ('[::1]', 8000)
    >>> parse_address("node-1", "chief")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `chief`, expected an address ...'node-1'.
    """
    match = None
    if isinstance(address, str):
        match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):([0-9]{1,5})",
                             address.strip())
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected an address "
            "HOST:PORT with a port in 1-65535 (for example '127.0.0.1:8000'), got "
            f"{address!r}."
        )
    return match.group(1), int(match.group(2))


def _check_bayesian() -> None:
    missing = []
    for module in ("scipy", "sklearn"):
        try:
            __import__(module)
        except ImportError:
            missing.append({"sklearn": "scikit-learn"}.get(module, module))
    if missing:
        raise ImportError(
            f"Received `tuner`='bayesian', which needs {' and '.join(missing)} (not "
            "installed): `pip install \"keras-tuner[bayesian]\"`, or use `tuner`='random' "
            "or 'hyperband'."
        )


def _role(chief: Any, worker: Any, tuner_id: Any) -> tuple[str, dict[str, str] | None]:
    """The process's role and the Keras Tuner environment it needs."""
    if chief is not None and worker is not None:
        raise ValueError(
            f"Received both `chief`={chief!r} and `worker`={worker!r}: a process is the "
            "chief or a worker, not both."
        )
    if tuner_id is not None and (not isinstance(tuner_id, str) or not re.fullmatch(
        r"[A-Za-z0-9_.\-]+", tuner_id
    ) or _kt.is_chief_id(tuner_id)):
        raise ValueError(
            "Received an invalid value for argument `tuner_id`, expected a name of letters, "
            f"digits, '.', '_' or '-' without 'chief', got {tuner_id!r}."
        )
    if chief is not None:
        if tuner_id is not None:
            raise ValueError(
                f"Received `tuner_id`={tuner_id!r} with `chief`: only workers take a tuner id."
            )
        host, port = parse_address(chief, "chief")
        return "chief", {"KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": host,
                         "KERASTUNER_ORACLE_PORT": str(port)}
    if worker is not None:
        host, port = parse_address(worker, "worker")
        name = tuner_id or f"worker-{socket.gethostname()}-{os.getpid()}"
        # Keras Tuner takes any id containing "chief" for the chief's.
        name = re.sub(r"[^A-Za-z0-9_.\-]", "-", name).replace(_kt.CHIEF_MARK, "head")
        return "worker", {"KERASTUNER_TUNER_ID": name, "KERASTUNER_ORACLE_IP": host,
                          "KERASTUNER_ORACLE_PORT": str(port)}
    if tuner_id is not None:
        raise ValueError(f"Received `tuner_id`={tuner_id!r} without `worker`.")
    if "KERASTUNER_ORACLE_IP" in os.environ:  # Keras Tuner's own variables, set by the user
        for key in _ENV:
            if key not in os.environ:
                raise ValueError(
                    f"KERASTUNER_ORACLE_IP is set but {key} is not: set all of {list(_ENV)} "
                    "or use `chief=` / `worker=`."
                )
        parse_address(f"{os.environ['KERASTUNER_ORACLE_IP']}:"
                      f"{os.environ['KERASTUNER_ORACLE_PORT']}", "KERASTUNER_ORACLE_IP/PORT")
        role = "chief" if _kt.is_chief_id(os.environ["KERASTUNER_TUNER_ID"]) else "worker"
        return role, None
    return "single", None


@contextlib.contextmanager
def _environment(values: Mapping[str, str] | None) -> Iterator[None]:
    """Sets Keras Tuner's distribution variables for the duration of the search."""
    if not values:
        yield
        return
    old = {key: os.environ.get(key) for key in _ENV}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _LogStream(io.TextIOBase):
    """A stdout replacement that sends Keras Tuner's prints to the log."""

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                logger.info("keras_tuner: %s", line.strip())
        return len(text)


def _settings(recipe: str, tuner: str, objective: Any, hypermodel: RecipeHyperModel,
              factor: int) -> dict[str, Any]:
    base = hypermodel.config_dict(hypermodel.base_config)
    base.pop("verbose", None)
    settings = {
        "recipe": recipe,
        "tuner": tuner,
        "objective": [objective.name, objective.direction],
        "space": hypermodel.search_space(),
        "metrics": list(hypermodel.metric_directions),
        "base_config": json.loads(json.dumps(base, default=str)),
    }
    if tuner == "hyperband":
        settings["hyperband_factor"] = factor
    return settings


def _check_settings(path: Path, settings: Mapping[str, Any]) -> None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    saved = {k: v for k, v in saved.items() if k != "max_trials"}
    different = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
    if different:
        details = "; ".join(f"{k}: was {saved.get(k)!r}, now {settings.get(k)!r}"
                            for k in different)
        raise ValueError(
            f"The search in {path.parent} was started with other settings ({details}). A "
            "rerun must use the same command to resume it; pass `overwrite=True` "
            "(--overwrite) to start again, or choose another `project_name`."
        )


# ====================================================================== tune
def tune(
    recipe_config: Any,
    tuner: str = "random",
    max_trials: int = 10,
    directory: str | os.PathLike = "tuning",
    project_name: str | None = None,
    overwrite: bool = False,
    *,
    data: Any = None,
    space: Mapping[str, Any] | None = None,
    hypermodel: RecipeHyperModel | None = None,
    objective: str | keras_tuner.Objective | None = None,
    seed: int | None = None,
    hyperband_factor: int = 3,
    max_retries_per_trial: int = 0,
    max_consecutive_failed_trials: int = 3,
    chief: str | None = None,
    worker: str | None = None,
    tuner_id: str | None = None,
    worker_timeout: float | None = 300.0,
    heartbeat_interval: float | None = None,
) -> TuneResult:
    """Searches the hyperparameters of a recipe with Keras Tuner.

    Every trial is one run of the recipe (see `RecipeTuner`) in
    `<directory>/<project_name>/trial_<id>/run/`. Everything is checked
    before the first trial runs.

    Resuming: rerun the same call (with `overwrite=False`) after an
    interruption; completed trials are kept, a trial that was running is
    run again from the start with the same hyperparameters, and the search
    ends when `max_trials` trials have ended in total (a larger
    `max_trials` extends a finished search). Other changed settings are an
    error.

    Distributed (Keras Tuner's chief/worker mode): run the same call on
    every machine with a shared `directory`, once with
    `chief="127.0.0.1:8000"` (the oracle; it runs no trial and returns when
    the search is done) and on each worker with `worker="chief-host:8000"`.
    A worker silent for `worker_timeout` seconds is taken as dead and its
    trial goes to another worker.

    Args:
        recipe_config: A `ForecastConfig` or `SentimentConfig` (the base of
            every trial), or "forecast" / "sentiment" for the default config.
        tuner: "random" (`RandomSearchOracle`, the default), "bayesian"
            (`BayesianOptimizationOracle`; needs scikit-learn and scipy:
            `pip install "keras-tuner[bayesian]"`) or "hyperband"
            (`HyperbandOracle`, with `max_epochs` = the config's `epochs`;
            a budget of `tuner/epochs` is `epochs` for sentiment and
            `steps * tuner/epochs // epochs` steps for forecast, see
            `RecipeHyperModel.budget`).
        max_trials: Number of trials of the search (>= 1).
        directory: Folder of the search (shared by all machines).
        project_name: Subfolder of this search (default: the recipe name).
        overwrite: Start again, deleting the project folder (ignored on
            workers).
        data: Data for the recipe (forecast: a Series / DataFrame).
        space: Search ranges by hypermodel argument (`cells`, `units`,
            `layers`, `bidirectional`, `dropout`, `recurrent_dropout`,
            `learning_rate`, `clipnorm`, `unit_forget_bias`; only those
            that are fields of the recipe's config: forecast has `cells`,
            `units`, `layers`, `dropout`, `learning_rate`), e.g.
            `{"cells": ("standard", "peephole"), "units": (16, 64, 16)}`; see
            `lstm_apps.tuning.hypermodels`.
        hypermodel: A ready `RecipeHyperModel` instead of `data` and `space`.
        objective: A metric the trials report (see the hypermodel's
            `metric_directions`), or a `keras_tuner.Objective`. Default: the
            hypermodel's `default_objective` (forecast: `val_mae`, min, the
            MAE at the calibration origins at the end of the training part;
            sentiment: `val_accuracy`, max).
        seed: Seed of the search algorithm (None: random).
        hyperband_factor: Hyperband's reduction factor (>= 2).
        max_retries_per_trial: Reruns of a trial that raised an error.
        max_consecutive_failed_trials: The search stops after this many
            failed trials in a row.
        chief: "HOST:PORT": this process serves the oracle there.
        worker: "HOST:PORT" of the chief: this process runs trials.
        tuner_id: A worker's name (default: `worker-<host>-<pid>`); a worker
            restarted with the same name takes its unfinished trial back.
        worker_timeout: Seconds of silence after which the chief takes a
            worker as dead (None: never).
        heartbeat_interval: Seconds between a worker's heartbeats (default:
            `min(10, worker_timeout / 4)`).

    Returns:
        A `TuneResult`. The chief (or the only process) writes, in the
        project folder: `trials.csv` (after every trial), the best model
        (`best_forecaster/` or `best_model.keras`), `best_config.json`
        (`Config(**json.load(f))` gives the config back), `best_trial.json`
        and `search.json` (the settings).

    Example:

    >>> import tempfile
    >>> from lstm_apps.recipes.forecast import ForecastConfig
    >>> from lstm_apps.tuning import tune
    >>> config = ForecastConfig(length=300, lookback=20, horizon=3, units=8, steps=20,
    ...                         epochs=1, combine=(), stride=15, plots=False, output_dir=None)
    >>> result = tune(config, "random", max_trials=2, directory=tempfile.mkdtemp(), seed=1,
    ...               space={"cells": ("keras_lstm", "gru"), "units": (4, 8, 4)})
    >>> len(result.table), sorted(set(result.table["status"]))
    (2, ['COMPLETED'])
    >>> type(result.best_config).__name__, result.paths["best_model"].name
    ('ForecastConfig', 'best_forecaster')
    >>> type(result.best_model()).__name__
    'LSTMForecaster'
    """
    # ---- checks, before anything is written or trained
    recipe = recipe_name(recipe_config)
    if not isinstance(tuner, str) or tuner.lower() not in TUNERS:
        raise ValueError(
            f"Received an invalid value for argument `tuner`, expected one of {list(TUNERS)}, "
            f"got {tuner!r}."
        )
    tuner = tuner.lower()
    if tuner == "bayesian":
        _check_bayesian()
    max_trials = check_int("max_trials", max_trials, 1)
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
        raise TypeError(
            "Received an invalid value for argument `directory`, expected a path, got "
            f"{directory!r}."
        )
    project_name = recipe if project_name is None else project_name
    if not isinstance(project_name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", project_name) \
            or project_name in (".", ".."):
        raise ValueError(
            "Received an invalid value for argument `project_name`, expected a folder name "
            f"of letters, digits, '.', '_' or '-', got {project_name!r}."
        )
    hyperband_factor = check_int("hyperband_factor", hyperband_factor, 2)
    max_retries_per_trial = check_int("max_retries_per_trial", max_retries_per_trial, 0)
    max_consecutive_failed_trials = check_int(
        "max_consecutive_failed_trials", max_consecutive_failed_trials, 1
    )
    seed = check_int("seed", seed, 0, optional=True)
    worker_timeout = check_real("worker_timeout", worker_timeout, 0, low_open=True, optional=True)
    if heartbeat_interval is None:
        heartbeat_interval = min(10.0, (worker_timeout or 40.0) / 4)
    heartbeat_interval = check_real("heartbeat_interval", heartbeat_interval, 0, low_open=True)
    if worker_timeout is not None and heartbeat_interval >= worker_timeout:
        raise ValueError(
            f"Received `heartbeat_interval`={heartbeat_interval} >= `worker_timeout`="
            f"{worker_timeout}: live workers would be taken as dead."
        )
    role, env = _role(chief, worker, tuner_id)

    if hypermodel is not None:
        if not isinstance(hypermodel, RecipeHyperModel):
            raise TypeError(
                "Received an invalid value for argument `hypermodel`, expected a "
                f"RecipeHyperModel, got {type(hypermodel).__name__}."
            )
        if space or data is not None:
            raise ValueError(
                "Received `hypermodel` with `space` or `data`: give the search space and the "
                "data to the hypermodel."
            )
        if hypermodel.recipe != recipe:
            raise ValueError(
                f"Received a {hypermodel.recipe} hypermodel for a {recipe} config."
            )
    else:
        if space is not None and not isinstance(space, Mapping):
            raise TypeError(
                "Received an invalid value for argument `space`, expected a mapping from "
                f"setting to search range, got {type(space).__name__}."
            )
        space = dict(space or {})
        known = ("cells", "units", "layers", "bidirectional", "dropout", "recurrent_dropout",
                 "learning_rate", "clipnorm", "unit_forget_bias", "chrono_t_max")
        unknown = sorted(set(space) - set(known))
        if unknown:
            raise ValueError(
                f"Received unknown settings {unknown} in `space`, expected some of {list(known)}."
            )
        hypermodel = make_hypermodel(recipe_config, data, **space)

    directions = hypermodel.metric_directions
    if objective is None:
        objective = hypermodel.default_objective
    if isinstance(objective, str):
        if objective not in directions:
            raise ValueError(
                f"Received an invalid value for argument `objective`, expected a metric the "
                f"{recipe} trials report, one of {sorted(directions)}, got {objective!r}."
            )
        objective = keras_tuner.Objective(objective, directions[objective])
    elif not isinstance(objective, keras_tuner.Objective):
        raise TypeError(
            "Received an invalid value for argument `objective`, expected a metric name or a "
            f"keras_tuner.Objective, got {type(objective).__name__}."
        )
    elif objective.name not in directions:
        raise ValueError(
            f"Received an objective on {objective.name!r}, which the {recipe} trials do not "
            f"report; they report {sorted(directions)}."
        )

    project_dir = Path(directory) / project_name
    _runs.ensure_writable(project_dir)  # fails here, not after the first trial
    settings = _settings(recipe, tuner, objective, hypermodel, hyperband_factor)
    settings_path = project_dir / SETTINGS_FILE
    if not (overwrite and role != "worker") and settings_path.is_file():
        _check_settings(settings_path, settings)
    if overwrite and role == "worker":
        logger.warning("`overwrite` is ignored on a worker (the chief owns the project folder)")

    # ---- the oracle and the tuner
    common = dict(
        objective=objective, seed=seed, max_retries_per_trial=max_retries_per_trial,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
        worker_timeout=worker_timeout if role == "chief" else None,
    )
    if tuner == "random":
        oracle = oracles.RandomSearchOracle(max_trials=max_trials, **common)
    elif tuner == "bayesian":
        oracle = oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    else:
        oracle = oracles.HyperbandOracle(
            max_trials=max_trials, max_epochs=hypermodel.max_epochs,
            factor=hyperband_factor, **common,
        )
    with _environment(env):
        with contextlib.redirect_stdout(_LogStream()):
            recipe_tuner = RecipeTuner(
                oracle, hypermodel, heartbeat_interval=heartbeat_interval,
                idle_interval=min(0.25, heartbeat_interval),
                directory=os.fspath(directory), project_name=project_name,
                overwrite=bool(overwrite) and role != "worker",
                tuner_id=env["KERASTUNER_TUNER_ID"] if env else None,
            )
        if role != "worker":
            _io.write_json(settings_path, {**settings, "max_trials": max_trials})
            _hparams.write_experiment(
                project_dir / "hparams", hypermodel.space, list(directions),
                max_epochs=hypermodel.max_epochs if tuner == "hyperband" else None,
                epoch_runs=hypermodel.epoch_runs,
            )
            oracle.write_table()
        logger.info("%s search of the %s recipe (%s) in %s: %d trials, space %s", tuner,
                    recipe, role, project_dir, max_trials, hypermodel.search_space())
        quiet = getattr(hypermodel.base_config, "verbose", 0) == 0
        with contextlib.redirect_stdout(_LogStream()) if quiet else contextlib.nullcontext():
            recipe_tuner.search(verbose=0)
    return _finish(recipe, role, project_dir, objective, hypermodel, recipe_tuner)


def _copy_model(source: Path, target: Path) -> Path:
    """Copies a model file or folder onto `target`, replacing it whole (renamed into place)."""
    if source.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
            os.chmod(tmp, 0o755 & ~_umask())
            if target.is_dir() and not target.is_symlink():
                old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
                os.replace(target, old / target.name)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                if target.exists():
                    target.unlink()
                os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return target
    with _io.atomic_path(target) as tmp_file:
        shutil.copyfile(source, tmp_file)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _finish(
    recipe: str, role: str, project_dir: Path, objective: keras_tuner.Objective,
    hypermodel: RecipeHyperModel, recipe_tuner: RecipeTuner,
) -> TuneResult:
    table = results.results_dataframe(project_dir)
    paths: dict[str, Path] = {"table": project_dir / TABLE_FILE}
    if role != "worker":
        recipe_tuner.oracle.write_table()
    done = table[(table["status"] == "COMPLETED") & table["score"].notna()]
    best_id = best_score = best_config = None
    best_hp: dict[str, Any] = {}
    if len(done):
        ordered = done.sort_values("score", ascending=objective.direction == "min")
        best_id = str(ordered.iloc[0]["trial_id"])
        best_score = float(ordered.iloc[0]["score"])
        state = json.loads((project_dir / f"trial_{best_id}" / "trial.json").read_text())
        hp = keras_tuner.HyperParameters.from_config(state["hyperparameters"])
        best_hp = dict(hp.values)
        best_config = hypermodel.config(hp, **recipe_tuner.budget_overrides(hp.values))
        trial_model = recipe_tuner.trial_model_path(best_id)
        paths["best_model"] = trial_model
        if role != "worker":
            paths["best_model"] = _copy_model(trial_model,
                                              project_dir / hypermodel.best_model_file)
            paths["best_config"] = _io.write_json(
                project_dir / BEST_CONFIG_FILE, hypermodel.config_dict(best_config)
            )
            metrics = {k: v for k, v in ordered.iloc[0].items()
                       if k in hypermodel.metric_directions}
            paths["best_trial"] = _io.write_json(project_dir / BEST_TRIAL_FILE, {
                "trial_id": best_id, "objective": objective.name,
                "direction": objective.direction, "score": best_score,
                "hyperparameters": best_hp, "metrics": metrics,
                "run_dir": str(recipe_tuner.trial_run_dir(best_id)),
            })
    logger.info("search done: %d trials, %d completed, best %s = %s (trial %s)",
                len(table), len(done), objective.name, best_score, best_id)
    return TuneResult(
        recipe=recipe, role=role, project_dir=project_dir, objective=objective.name,
        direction=objective.direction, table=table, best_trial_id=best_id,
        best_score=best_score, best_hyperparameters=best_hp, best_config=best_config,
        paths=paths, tuner=recipe_tuner,
    )
