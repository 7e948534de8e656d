"""The TensorBoard HParams dashboard of a search, written without TensorFlow ops.

Layout (point TensorBoard at the project folder):

- `<project>/hparams/`: the experiment (every hyperparameter with its
  domain, and the metrics shown in the table), written once;
- `<project>/trial_<id>/run/tb/`: one session per trial: its hyperparameter
  values when it starts, its reported metrics as scalars (the objective
  among them) and its status when it ends. The recipe's own
  `keras.callbacks.TensorBoard` writes its runs below it (`epoch_loss`,
  ...), which the dashboard shows as metric groups (sentiment: `train/` and
  `validation/`; forecast: `train/train/` and `finetune/train/`, one
  TensorBoard per training phase), and `GateMonitor` its `gates/` run.

Event files are append-only logs written by TensorBoard's writer (as in
`lstm_apps.callbacks`), not through `lstm_apps._io`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_experiment", "write_session_end", "write_session_start"]


def _write(folder: Path, summary: Any) -> None:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    if not isinstance(summary, summary_pb2.Summary):  # TensorFlow's own class
        summary = summary_pb2.Summary.FromString(summary.SerializeToString())
    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    try:
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=0, summary=summary))
        writer.flush()
    finally:
        writer.close()


def _domain(spec: Any) -> Any:
    from tensorboard.plugins.hparams import api

    if spec.fixed:
        return api.Discrete([spec.values[0]])
    if spec.kind in ("choice", "bool"):
        return api.Discrete(list(spec.values))
    if spec.kind == "int":
        return api.IntInterval(int(spec.low), int(spec.high))
    return api.RealInterval(float(spec.low), float(spec.high))


#: Per-epoch runs shown by default: (run below the session folder, display name).
EPOCH_RUNS = (("validation", "validation loss (per epoch)"), ("train", "train loss (per epoch)"))


def write_experiment(
    folder: Path, space: Mapping[str, Any], metrics: Iterable[str], max_epochs: int | None = None,
    epoch_runs: Iterable[tuple[str, str]] = EPOCH_RUNS,
) -> bool:
    """Writes the experiment config once; returns False when it was already there.

    Args:
        folder: The experiment folder (`<project>/hparams`).
        space: The search space (`Spec` by hyperparameter name).
        metrics: The trial metrics (their scalars in each session folder).
        max_epochs: Hyperband's `max_epochs` (adds `tuner/epochs`), or None.
        epoch_runs: The runs whose `epoch_loss` the table shows, as
            (run below the session folder, display name).
    """
    from tensorboard.plugins.hparams import api, summary_v2

    if folder.is_dir() and any(folder.glob("events.out.tfevents.*")):
        return False
    hparams = [api.HParam(name, _domain(spec)) for name, spec in space.items()]
    if max_epochs:
        hparams.append(api.HParam("tuner/epochs", api.IntInterval(1, int(max_epochs))))
    shown = [api.Metric(name, display_name=name) for name in metrics]
    shown += [api.Metric("epoch_loss", group=group, display_name=display)
              for group, display in epoch_runs]
    _write(folder, summary_v2.hparams_config_pb(hparams=hparams, metrics=shown))
    return True


def _hparam_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in values.items()
        if isinstance(v, (bool, int, float, str)) and k not in ("tuner/trial_id",)
    }


def write_session_start(folder: Path, trial_id: str, values: Mapping[str, Any]) -> None:
    """Writes a trial's hyperparameter values (the start of its HParams session)."""
    from tensorboard.plugins.hparams import summary_v2

    _write(folder, summary_v2.hparams_pb(_hparam_values(values), trial_id=str(trial_id),
                                         start_time_secs=time.time()))


def write_session_end(folder: Path, metrics: Mapping[str, float], ok: bool) -> None:
    """Writes a trial's metrics as scalars and the end of its HParams session."""
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import api_pb2
    from tensorboard.plugins.hparams import summary as hparams_summary

    values = [
        summary_pb2.Summary.Value(tag=name, simple_value=float(value))
        for name, value in metrics.items()
    ]
    if values:
        _write(folder, summary_pb2.Summary(value=values))
    status = api_pb2.STATUS_SUCCESS if ok else api_pb2.STATUS_FAILURE
    _write(folder, hparams_summary.session_end_pb(status, end_time_secs=time.time()))
