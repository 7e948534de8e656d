"""Results of a search as a pandas DataFrame: one row per trial."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["find_project", "metric_order", "results_dataframe", "rows_to_frame", "trial_row"]

logger = logging.getLogger(__name__)

#: Columns every table starts with, before the hyperparameters and metrics.
_FIRST = ("trial_id", "status", "score")
#: Columns every table ends with.
_LAST = ("duration_s", "tuner_id", "attempts", "started", "ended", "best_step", "message")


def _metric_value(history: Mapping[str, Any]) -> float:
    """The best value of one metric of a trial (its direction), as Keras Tuner scores it."""
    values = []
    for observation in history.get("observations") or []:
        value = observation.get("value")
        value = value if isinstance(value, list) else [value]
        numbers = [float(v) for v in value if v is not None]
        if numbers:
            values.append(float(np.mean(numbers)))
    if not values or all(math.isnan(v) for v in values):
        return math.nan
    return float(np.nanmax(values) if history.get("direction") == "max" else np.nanmin(values))


def trial_row(state: Mapping[str, Any], info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One table row from a trial's state (`trial.json`) and its `trial_info.json`.

    Returns:
        A dict with `trial_id`, `status`, `score`, then one entry per
        hyperparameter (its name; None where inactive) and one per metric
        (its name, or `metric_<name>` when a hyperparameter has that name),
        then `duration_s`, `tuner_id`, `attempts`, `started`, `ended`,
        `best_step` and `message` (the last line of an error); `_columns`
        holds the hyperparameter and metric names, for `rows_to_frame`.
    """
    info = info or {}
    row: dict[str, Any] = {
        "trial_id": str(state.get("trial_id")),
        "status": state.get("status"),
        "score": math.nan if state.get("score") is None else float(state["score"]),
    }
    hyperparameters = state.get("hyperparameters") or {}
    values = hyperparameters.get("values") or {}
    names = [h.get("config", {}).get("name") for h in hyperparameters.get("space") or []]
    names = [n for n in dict.fromkeys(names) if n] + [n for n in values if n not in names]
    for name in names:
        row[name] = values.get(name)
    metrics = ((state.get("metrics") or {}).get("metrics")) or {}
    metric_names = []
    for name, history in metrics.items():
        key = name if name not in row and name not in _LAST else f"metric_{name}"
        row[key] = _metric_value(history)
        metric_names.append(key)
    row["_columns"] = (names, metric_names)
    message = state.get("message")
    row.update(
        duration_s=info.get("duration_s"),
        tuner_id=info.get("tuner_id"),
        attempts=info.get("attempts"),
        started=info.get("started"),
        ended=info.get("ended"),
        best_step=state.get("best_step"),
        message=message.strip().splitlines()[-1] if message else None,
    )
    return row


def _order(trial_id: str) -> tuple[int, Any]:
    return (0, int(trial_id)) if trial_id.isdigit() else (1, trial_id)


def metric_order(project_dir: str | os.PathLike) -> list[str]:
    """The metrics of a search in their recipe's order (from its `search.json`)."""
    settings = _read_json(Path(project_dir) / "search.json") or {}
    metrics = settings.get("metrics")
    return [str(m) for m in metrics] if isinstance(metrics, list) else []


def rows_to_frame(
    rows: Sequence[Mapping[str, Any]], metrics_first: Sequence[str] = ()
) -> pd.DataFrame:
    """The rows as a DataFrame in trial order, with the columns in a fixed order.

    Args:
        rows: Rows from `trial_row`.
        metrics_first: Metric names in the order their columns should come
            (others follow in order of appearance).
    """
    rows = sorted(rows, key=lambda r: _order(str(r["trial_id"])))
    hyperparameters: list[str] = []
    metrics: list[str] = []
    for row in rows:
        names, metric_names = row.get("_columns", ([], []))
        hyperparameters.extend(n for n in names if n not in hyperparameters)
        metrics.extend(n for n in metric_names if n not in metrics)
    # Keras Tuner's protos (distributed mode) reorder the hyperparameters by type:
    # the recipes' settings come first, in their drawing order.
    # The same goes for the metrics: the recipe's metrics first, in their order.
    from lstm_apps.tuning._space import PARAMS

    def ordered(names: list[str], canonical: list[str]) -> list[str]:
        return sorted(names, key=lambda n: canonical.index(n) if n in canonical
                      else len(canonical))

    hyperparameters = ordered(hyperparameters, list(PARAMS))
    metrics = ordered(metrics, list(metrics_first))
    columns = [*_FIRST, *hyperparameters, *metrics, *_LAST]
    return pd.DataFrame([{k: row.get(k) for k in columns} for row in rows], columns=columns)


def find_project(directory: str | os.PathLike, project_name: str | None = None) -> Path:
    """The project folder of a search.

    Args:
        directory: The search's `directory`, or the project folder itself.
        project_name: The project's name; None when `directory` is the
            project folder or holds exactly one project.

    Returns:
        The folder holding `oracle.json` and the `trial_*` folders.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(
            "Received an invalid value for argument `directory`, expected a path, got "
            f"{type(directory).__name__}."
        )
    root = Path(directory)
    if project_name is not None:
        path = root / project_name
        if not (path / "oracle.json").is_file():
            raise FileNotFoundError(
                f"Received `project_name`={project_name!r}, but {path} holds no search "
                "(no oracle.json)."
            )
        return path
    if (root / "oracle.json").is_file():
        return root
    if not root.is_dir():
        raise FileNotFoundError(f"Received `directory`={str(root)!r}, which is not a folder.")
    projects = sorted(p.name for p in root.iterdir() if (p / "oracle.json").is_file())
    if not projects:
        raise FileNotFoundError(f"Received `directory`={str(root)!r}, which holds no search.")
    if len(projects) > 1:
        raise ValueError(
            f"Received `directory`={str(root)!r}, which holds several searches {projects}: "
            "pass `project_name`."
        )
    return root / projects[0]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        logger.warning("cannot read %s, left out: %s", path, error)
        return None


def results_dataframe(
    directory: str | os.PathLike, project_name: str | None = None
) -> pd.DataFrame:
    """Every trial of a search, read from its files, as a DataFrame.

    Works during a search (from any machine that sees the shared folder)
    and after it; the rows are those of `trials.csv`.

    Args:
        directory: The search's `directory` (or its project folder).
        project_name: The project's name (see `find_project`).

    Returns:
        One row per trial, in trial order: `trial_id`, `status` (RUNNING,
        COMPLETED, INVALID, FAILED), `score` (the objective), one column
        per hyperparameter (`cell`, `units`, ...; empty where inactive, such
        as `unit_forget_bias` for gru) and per metric (`val_mae`,
        `test_mae`, ...), then `duration_s`, `tuner_id` (who ran it),
        `attempts`, `started`, `ended`, `best_step` and `message`.
        `attrs["project_dir"]` is the project folder.

    Example:

    >>> import tempfile
    >>> from lstm_apps.recipes.forecast import ForecastConfig
    >>> from lstm_apps.tuning import tune, results_dataframe
    >>> folder = tempfile.mkdtemp()
    >>> config = ForecastConfig(length=300, lookback=20, horizon=3, units=8, steps=20,
    ...                         epochs=1, combine=(), stride=15, plots=False, output_dir=None)
    >>> _ = tune(config, "random", max_trials=1, directory=folder, seed=1,
    ...          space={"cells": "gru", "units": (4, 8, 4)})
    >>> frame = results_dataframe(folder)
    >>> frame[["trial_id", "status", "cell"]].values.tolist()
    [['0', 'COMPLETED', 'gru']]
    """
    project = find_project(directory, project_name)
    rows = []
    for trial_dir in sorted(project.glob("trial_*")):
        state = _read_json(trial_dir / "trial.json")
        if state is None:
            continue
        rows.append(trial_row(state, _read_json(trial_dir / "trial_info.json")))
    frame = rows_to_frame(rows, metric_order(project))
    frame.attrs["project_dir"] = str(project)
    return frame
