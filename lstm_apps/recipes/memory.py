"""Long-range memory: can a cell carry what it saw at step 10 to step 400?

`run(config) -> MemoryResult` trains small models on a classic long-dependency
task at several sequence lengths and reports, per length, whether each model
solves it (test error far below the trivial baseline's) and how its forget
gate holds the information.

Tasks (`MemoryConfig.task`), each sequence of shape `(length, 2)`: channel 0
holds random values in [0, 1), channel 1 marks the relevant steps.

- "adding" (Hochreiter & Schmidhuber, 1997): two steps are marked, the first
  among the first `marker_window` steps, the second before the middle of the
  sequence; the target is the sum of the two marked values. Predicting the
  mean (1.0) gives MSE 1/6.
- "recall": one step among the first `marker_window` is marked; the target
  is its value (MSE 1/12 for the mean).

Either way the model reads the whole sequence and answers at the end, so it
has to hold a value for at least `length / 2` steps. The models: any
lstm_apps cell or variant, `keras_lstm`, `gru`, and `keras.layers.SimpleRNN`
("simple_rnn", the gateless baseline); LSTM cells run once per value of
`unit_forget_bias` (forget-gate bias initialised to 1, or 0).

Initialisations: LSTM cells with a forget gate run once with chrono
initialisation (`chrono`, Tallec & Ollivier 2018: forget bias log(U(1, T_max
- 1)), input bias its negative, T_max = the sequence length, so the units
start with memory timescales spread up to the length; label
`"<cell>/chrono"`) and once per value of `unit_forget_bias` (bias 1: label
`"<cell>"`, bias 0: `"<cell>/bias0"`). Every model gets the same budget:
`epochs` and `time_budget` seconds of training (it stops at the first batch
past it; a resumed run starts the clock again).

Forget gate: after training, `lstm_apps.trace_gates` reads the gates on test
sequences. `forget_mean` is the mean forget gate; `retention` is, for the
unit that holds best, the product of its forget gate from the (first) marked
step to the end: the fraction of what the cell stored at the marker that
survives to the answer (median over sequences); `timescale_median` the
median over units of the memory timescale 1 / (1 - f), and
`MemoryResult.timescales` every unit's (`plot_memory_timescales` draws them
beside whether each model solved the task). With `unit_forget_bias=False`
the gates start near 0.5, so an untrained cell keeps about 0.5^T of a value
and the gradient that should teach it to remember vanishes as fast; with
bias 1 they start near 0.73 (a timescale of 3.7 steps). Retention measures
the cell's self-loop only: a trained LSTM can also carry a value through its
recurrent weights (re-writing it at each step), so a model may solve the
task with a modest retention.

Cost: the default study is the adding problem at length 200, standard LSTM
(chrono, bias 1, bias 0) against SimpleRNN, 32 units, 5000 training
sequences in batches of 16, at most 600 s of training per model. Measured
once on two shared CPU cores (load average 5-14): the chrono LSTM solved it
in 308 s (12 epochs, test MSE 0.006, 0.04 x the baseline's); bias 1, bias 0
and SimpleRNN used their 600 s (25, 15 and 23 epochs) and stayed at the
baseline (MSE 0.152, 0.156, 0.152). About 35 minutes in all.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstm_apps import _io, _runs
from lstm_apps._validation import check_bool, check_choice, check_int, check_real
from lstm_apps.plots.memory import plot_forget_curves, plot_memory_results, plot_memory_timescales
from lstm_apps.recipes._base import RunConfig, config_field, output_dir_field, run_name_field
from lstm_apps.recipes._common import (
    check_cell,
    config_to_dict,
    gates_traceable,
    has_forget_gate,
    recipe_cells,
)

__all__ = [
    "MODELS",
    "TASKS",
    "MemoryConfig",
    "MemoryResult",
    "make_task",
    "plot_forget_curves",
    "plot_memory_results",
    "plot_memory_timescales",
    "run",
]

logger = logging.getLogger(__name__)

#: Long-dependency tasks.
TASKS = ("adding", "recall")
#: Models beside the recipe cells: the gateless baseline.
MODELS = ("simple_rnn",)
_NOT_LSTM = ("gru", "simple_rnn")


# ====================================================================== data
def make_task(
    task: str, samples: int, length: int, marker_window: int = 10, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences of a long-dependency task.

    Args:
        task: "adding" or "recall" (see the module docstring).
        samples: Number of sequences.
        length: Steps per sequence (>= 2 * marker_window + 2 for "adding",
            > marker_window for "recall").
        marker_window: The (first) marked step lies in `[0, marker_window)`.
        seed: Seed of the NumPy generator.

    Returns:
        `(x, y, first)`: inputs `(samples, length, 2)` float32, targets
        `(samples, 1)` float32, and the position of the first marked step
        of each sequence `(samples,)`.

    Example:

    >>> from lstm_apps.recipes.memory import make_task
    >>> x, y, first = make_task("adding", 4, 50, seed=0)
    >>> x.shape, y.shape, x[..., 1].sum(axis=1).tolist(), bool((first < 10).all())
    ((4, 50, 2), (4, 1), [2.0, 2.0, 2.0, 2.0], True)
    """
    if task not in TASKS:
        raise ValueError(
            f"Received an invalid value for argument `task`, expected one of {list(TASKS)}, "
            f"got {task!r}."
        )
    for name, value in (("samples", samples), ("length", length),
                        ("marker_window", marker_window)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(
                f"Received an invalid value for argument `{name}`, expected an integer "
                f">= 1, got {value!r}."
            )
    minimum = 2 * marker_window + 2 if task == "adding" else marker_window + 1
    if length < minimum:
        raise ValueError(
            f"Received `length`={length}, too short for the {task!r} task with "
            f"`marker_window`={marker_window}: expected at least {minimum}."
        )
    rng = np.random.default_rng(seed)
    rows = np.arange(samples)
    x = np.zeros((samples, length, 2), dtype="float32")
    x[:, :, 0] = rng.random((samples, length))
    first = rng.integers(0, marker_window, samples)
    x[rows, first, 1] = 1.0
    y = x[rows, first, 0].copy()
    if task == "adding":
        second = rng.integers(marker_window, length // 2, samples)
        x[rows, second, 1] = 1.0
        y = y + x[rows, second, 0]
    return x, y[:, None].astype("float32"), first


# ====================================================================== config
@dataclasses.dataclass(frozen=True)
class MemoryConfig(RunConfig):
    """Settings of the long-range memory study (every field is a `lstm-apps memory` option).

    The run settings (`seed`, `output_dir`, `run_name`, `plots`, `verbose`)
    are those of `RunConfig`.

    Example:

    >>> from lstm_apps.recipes.memory import MemoryConfig
    >>> MemoryConfig(lengths=(40, 30), cells=("peephole", "simple_rnn")).lengths
    (30, 40)
    >>> MemoryConfig(cells=("lstm9",))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `cells`, expected names among ...
    """

    task: str = config_field("long-dependency task", choices=TASKS, default="adding")
    lengths: tuple[int, ...] = config_field("sequence lengths", default=(200,))
    cells: tuple[str, ...] = config_field(
        "lstm_apps cells, keras_lstm, gru or simple_rnn", default=("standard", "simple_rnn")
    )
    unit_forget_bias: tuple[bool, ...] = config_field(
        "forget-gate bias initialisations tried for LSTM cells (on/off; none: only chrono)",
        default=(True, False),
    )
    chrono: bool = config_field(
        "also train each LSTM cell with chrono initialisation (Tallec & Ollivier 2018), "
        "T_max = the sequence length",
        default=True,
    )
    units: int = config_field("units of the recurrent layer", default=32)
    train_samples: int = config_field("training sequences", default=5000)
    test_samples: int = config_field("validation and test sequences (each)", default=500)
    epochs: int = config_field("maximum epochs per model", default=300)
    time_budget: float | None = config_field(
        "seconds of training per model, the same for every model; training stops at "
        "the first batch past it (none: no limit)",
        default=600.0,
    )
    batch_size: int = config_field("sequences per batch", default=16)
    learning_rate: float = config_field("Adam learning rate", default=1e-3)
    clipnorm: float | None = config_field("gradient clipping by norm (none: off)", default=1.0)
    marker_window: int = config_field(
        "the first marked step lies among the first N steps", default=10
    )
    solved_ratio: float = config_field(
        "solved when test MSE < this fraction of the trivial baseline's", default=0.1
    )
    stop_when_solved: bool = config_field(
        "stop training a model once its validation error solves", default=True
    )
    output_dir: str | None = output_dir_field("runs/memory")
    run_name: str | None = run_name_field("task")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("task", self.task, TASKS)
        for name in ("lengths", "cells", "unit_forget_bias"):
            value = getattr(self, name)
            bias = name == "unit_forget_bias"
            if (isinstance(value, (str, bytes)) or not isinstance(value, Sequence)
                    or not (value or (bias and self.chrono is True))):
                extra = " (or an empty one with `chrono`)" if bias else ""
                raise TypeError(
                    f"Received an invalid value for argument `{name}`, expected a non-empty "
                    f"sequence{extra}, got {value!r}."
                )
        check_int("marker_window", self.marker_window, 1)
        minimum = 2 * self.marker_window + 2 if self.task == "adding" else (
            self.marker_window + 1)
        expected = (
            f"integers >= {minimum} for the {self.task!r} task with "
            f"`marker_window`={self.marker_window}"
        )
        for value in self.lengths:
            check_int("lengths", value, minimum, expected=expected)
        lengths = tuple(int(v) for v in self.lengths)
        valid = recipe_cells() + list(MODELS)
        cells = []
        for cell in self.cells:
            key = cell.lower() if isinstance(cell, str) else None
            if key not in valid:
                raise ValueError(
                    f"Received an invalid value for argument `cells`, expected names among "
                    f"{valid}, got {cell!r}."
                )
            cells.append(key if key in MODELS else check_cell(key, "cells"))
        if any(not isinstance(b, (bool, np.bool_)) for b in self.unit_forget_bias):
            raise TypeError(
                "Received an invalid value for argument `unit_forget_bias`, expected "
                f"booleans, got {self.unit_forget_bias!r}."
            )
        object.__setattr__(self, "lengths", tuple(sorted(set(lengths))))
        object.__setattr__(self, "cells", tuple(dict.fromkeys(cells)))
        object.__setattr__(
            self, "unit_forget_bias", tuple(dict.fromkeys(bool(b) for b in self.unit_forget_bias))
        )
        for name in ("units", "train_samples", "test_samples", "epochs", "batch_size"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
        for name in ("learning_rate", "solved_ratio"):
            value = getattr(self, name)
            check_real(name, value, 0.0, 1.0, low_open=True)
        check_real(
            "clipnorm",
            self.clipnorm,
            0.0,
            math.inf,
            low_open=True,
            optional=True,
            expected="a positive number or None",
        )
        check_bool("chrono", self.chrono)
        check_real(
            "time_budget",
            self.time_budget,
            0.0,
            math.inf,
            low_open=True,
            high_open=True,
            optional=True,
            expected="a positive number of seconds or None",
        )

    def models(self) -> list[tuple[str, str, str | None]]:
        """`(label, cell, init)` of every model trained at each length.

        `init` is the forget-gate initialisation: "chrono" (label
        `"<cell>/chrono"`, with `chrono`, for cells with a forget gate),
        "bias1" (label `"<cell>"`) or "bias0" (`"<cell>/bias0"`) from
        `unit_forget_bias`; None for GRU and SimpleRNN.
        """
        out: list[tuple[str, str, str | None]] = []
        for cell in self.cells:
            if cell in _NOT_LSTM:
                out.append((cell, cell, None))
                continue
            if self.chrono and has_forget_gate(cell):
                out.append((f"{cell}/chrono", cell, "chrono"))
            for bias in self.unit_forget_bias:
                out.append((cell if bias else f"{cell}/bias0", cell, "bias1" if bias else "bias0"))
        return out


# ====================================================================== result
@dataclasses.dataclass
class MemoryResult:
    """What `run` returns.

    Attributes:
        config: The `MemoryConfig`.
        results: One row per (length, model): test MSE, the trivial
            baseline's, their ratio, `solved`, epochs and seconds trained,
            `forget_mean` and `retention` (NaN for models without a forget
            gate).
        history: Training history of every model (columns length, model,
            epoch, loss, val_loss).
        forget_curves: Mean forget gate per step (columns length, model,
            step, mean_f: over sequences and units; holder_f: the unit that
            holds best).
        timescales: Memory timescale of every unit of every LSTM model after
            training (columns length, model, unit, forget_mean, timescale =
            1 / (1 - forget_mean), f's mean over the test probe; see
            `lstm_apps.gates.memory_timescales`).
        models: The trained models, by `(length, label)`.
        metrics: JSON-ready summary (as written to `metrics.json`).
        run_dir: The run folder (None when `output_dir` is None).
        paths: Files written, by name.
    """

    config: MemoryConfig
    results: pd.DataFrame
    history: pd.DataFrame
    forget_curves: pd.DataFrame
    timescales: pd.DataFrame
    models: dict[tuple[int, str], Any]
    metrics: dict[str, Any]
    run_dir: Path | None
    paths: dict[str, Path]

    def solved(self) -> pd.DataFrame:
        """A length x model table of True / False."""
        return self.results.pivot(index="length", columns="model", values="solved")


# ====================================================================== model
def _build(cell: str, units: int, length: int, init: str | None, seed: int) -> Any:
    """The model: `Input -> recurrent layer "rnn_0" -> Dense(1)`.

    `init` is "chrono" (chrono initialisation with T_max = `length`),
    "bias1", "bias0" or None (GRU, SimpleRNN).
    """
    import keras

    from lstm_apps.cells import ChronoInitializer
    from lstm_apps.layers import LSTM
    from lstm_apps.recipes._common import recurrent_stack

    inputs = keras.Input((length, 2), name="sequence")
    if cell == "simple_rnn":
        layer = keras.layers.SimpleRNN(units, seed=seed, name="rnn_0")
    elif init == "chrono" and cell == "keras_lstm":
        layer = keras.layers.LSTM(
            units, unit_forget_bias=False, seed=seed, name="rnn_0",
            bias_initializer=ChronoInitializer(length, seed=seed),
        )
    elif init == "chrono":
        layer = LSTM(units, variant=cell, chrono_t_max=length, seed=seed, name="rnn_0")
    else:
        layer = recurrent_stack(cell, units, seed=seed, unit_forget_bias=init != "bias0")[0]
    outputs = keras.layers.Dense(1, name="answer")(layer(inputs))
    return keras.Model(inputs, outputs, name=f"memory_{cell}")


def _stop_when_below(threshold: float) -> Any:
    import keras

    class _StopWhenSolved(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            if logs and logs.get("val_loss", math.inf) < threshold:
                self.model.stop_training = True

    return _StopWhenSolved()


def _stop_after(seconds: float) -> Any:
    """Stops training at the first batch that ends past `seconds` of training."""
    import keras

    class _TimeBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
            self.started = time.perf_counter()
            self.spent = False

        def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            if time.perf_counter() - self.started > seconds:
                self.spent = True
                self.model.stop_training = True

    return _TimeBudget()


def _forget_stats(
    model: Any, x: np.ndarray, first: np.ndarray, trace: Any = None
) -> tuple[float, float, np.ndarray | None, np.ndarray | None]:
    """forget_mean, retention and the two forget curves of a traced LSTM layer."""
    from lstm_apps.gates import trace_gates

    if trace is None:
        trace = trace_gates(model, x)
    trace = trace.get("rnn_0")
    if "f" not in trace.values:  # a variant without forget gate: f = 1
        value = float(trace.absent.get("f", 1.0))
        ones = np.full(x.shape[1], value)
        return value, value ** (x.shape[1] - 1), ones, ones
    f = np.asarray(trace["f"], dtype="float64")  # (batch, time, units)
    steps = np.arange(f.shape[1])
    after = steps[None, :, None] > first[:, None, None]  # after the first marked step
    log_f = np.where(after, np.log(np.clip(f, 1e-12, 1.0)), 0.0)
    kept = np.exp(log_f.sum(axis=1))  # (batch, units)
    holder = int(np.argmax(np.median(kept, axis=0)))
    retention = float(np.median(kept.max(axis=1)))
    return float(f.mean()), retention, f.mean(axis=(0, 2)), f[:, :, holder].mean(axis=0)


def _run_dir(config: MemoryConfig) -> Path | None:
    """The run folder, started by `lstm_apps._runs` (fresh, writable) before training."""
    if config.output_dir is None:
        return None
    path = _runs.fresh_path(config.output_dir, config.run_name, "memory", config.task)
    return _runs.start(path, config_to_dict(config))


def _model_file(length: int, label: str) -> str:
    return f"L{length}-{label.replace('/', '-')}.keras"


def _finished(run_dir: Path | None, length: int, label: str) -> Path | None:
    """The record of a model trained before a resumption (None: train it)."""
    if run_dir is None:
        return None
    record = _runs.finished_path(run_dir, _model_file(length, label) + ".json")
    model_file = run_dir / "models" / _model_file(length, label)
    return record if record.is_file() and model_file.is_file() else None


def _train(
    config: MemoryConfig, cell: str, init: str | None, length: int, train: tuple, val: tuple,
    threshold: float, run_dir: Path | None, tag: str,
) -> tuple[Any, pd.DataFrame, float]:
    """Builds and trains one model: (model, history with `epoch`, seconds).

    With a run folder, the training resumes after an interruption, and a
    model that finished is kept under `models/` for a resumption of the run.
    """
    import keras

    keras.utils.set_random_seed(config.seed)
    model = _build(cell, config.units, length, init, config.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm),
        loss="mse",
    )
    callbacks: list[Any] = []
    if config.stop_when_solved:
        callbacks.append(_stop_when_below(0.5 * threshold))
    if config.time_budget is not None:
        callbacks.append(_stop_after(config.time_budget))
    if run_dir is not None:
        callbacks += _runs.training_callbacks(run_dir, tag)  # resumable after kill -9
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tb" / tag)))
    started = time.perf_counter()
    fit = model.fit(
        *train, validation_data=val, epochs=config.epochs,
        batch_size=config.batch_size, callbacks=callbacks, verbose=config.verbose,
    )
    seconds = time.perf_counter() - started
    hist = _runs.history(run_dir, fit.history, tag)
    if run_dir is not None:
        _io.save_model(run_dir / "models" / f"{tag}.keras", model)
        _runs.mark_finished(
            run_dir, f"{tag}.keras", {"seconds": seconds, "history": hist.to_dict(orient="list")}
        )
    return model, hist, seconds


# ====================================================================== run
def run(config: MemoryConfig | None = None) -> MemoryResult:
    """Trains every model of `config` at every length and reads its forget gate.

    Args:
        config: A `MemoryConfig` (default: the adding problem at length
            200, standard LSTM with chrono initialisation, forget bias 1 and
            forget bias 0 against SimpleRNN, at most 600 s of training each:
            about 35 minutes on two CPU cores, see the module docstring).

    Returns:
        A `MemoryResult`. With `config.output_dir`, the run folder holds
        `model.keras` (the first LSTM at the longest length), every model
        under `models/`, `metrics.json`, `results.csv`, `history.csv`,
        `forget_curves.csv`, `timescales.csv`, `config.json`, `tb/` and
        `plots/` (results, forget curves, timescales per length).

    Example:

    >>> from lstm_apps.recipes import memory
    >>> config = memory.MemoryConfig(task="recall", lengths=(15,), train_samples=64,
    ...     test_samples=32, epochs=1, units=4, unit_forget_bias=(True,), output_dir=None)
    >>> config.models()[:2]
    [('standard/chrono', 'standard', 'chrono'), ('standard', 'standard', 'bias1')]
    >>> result = memory.run(config)
    >>> result.results[["length", "model"]].values.tolist()
    [[15, 'standard/chrono'], [15, 'standard'], [15, 'simple_rnn']]
    """
    import keras

    config = MemoryConfig() if config is None else config
    if not isinstance(config, MemoryConfig):
        raise TypeError(
            "Received an invalid value for argument `config`, expected a MemoryConfig, got "
            f"{type(config).__name__}."
        )
    run_dir = _run_dir(config)
    rows, histories, curves, scales = [], [], [], []
    models: dict[tuple[int, str], Any] = {}
    for length in config.lengths:
        seed = config.seed + length
        x, y, _ = make_task(config.task, config.train_samples, length,
                            config.marker_window, seed=seed)
        x_val, y_val, _ = make_task(config.task, config.test_samples, length,
                                    config.marker_window, seed=seed + 1)
        x_test, y_test, first = make_task(config.task, config.test_samples, length,
                                          config.marker_window, seed=seed + 2)
        baseline = float(np.mean((y_test - y.mean()) ** 2))
        threshold = config.solved_ratio * baseline
        for label, cell, init in config.models():
            tag = f"L{length}-{label.replace('/', '-')}"
            record = _finished(run_dir, length, label)
            if record is not None:  # trained before a resumption: keep it
                model = keras.saving.load_model(run_dir / "models" / _model_file(length, label))
                saved = json.loads(record.read_text(encoding="utf-8"))
                seconds, hist = saved["seconds"], pd.DataFrame(saved["history"])
                logger.info("length %d %s: trained before the resumption", length, label)
            else:
                model, hist, seconds = _train(
                    config, cell, init, length, (x, y), (x_val, y_val), threshold, run_dir, tag
                )
            # A direct call, not `predict`: one compiled predict function per model
            # would make TensorFlow warn about retracing.
            pred = np.concatenate(
                [np.asarray(model(x_test[i : i + 512], training=False))
                 for i in range(0, len(x_test), 512)]
            )
            mse = float(np.mean((pred - y_test) ** 2))
            row: dict[str, Any] = {
                "length": length,
                "model": label,
                "cell": cell,
                "init": init,
                "unit_forget_bias": None if init in (None, "chrono") else init == "bias1",
                "chrono_t_max": length if init == "chrono" else None,
                "test_mse": mse,
                "baseline_mse": baseline,
                "ratio": mse / baseline,
                "solved": bool(mse < threshold),
                "epochs": len(hist),
                "seconds": round(seconds, 2),
                "forget_mean": math.nan,
                "retention": math.nan,
                "timescale_median": math.nan,
            }
            # The forget-gate measures need a traced forget gate: f' for the xLSTM
            # and minLSTM cells, 1 - z for the minGRU; none for GRU and SimpleRNN (NaN).
            if cell not in _NOT_LSTM and gates_traceable(cell):
                from lstm_apps.gates import trace_gates

                probe = slice(0, min(128, len(x_test)))
                trace = trace_gates(model, x_test[probe])
                f_mean, retention, mean_curve, holder_curve = _forget_stats(
                    model, x_test[probe], first[probe], trace=trace
                )
                memory = trace.get("rnn_0").timescales()
                row.update(forget_mean=f_mean, retention=retention,
                           timescale_median=float(np.nanmedian(memory["timescale"]))
                           if trace.get("rnn_0").has_forget_gate else math.nan)
                scales.append(pd.DataFrame({
                    "length": length, "model": label, "unit": np.arange(len(memory["timescale"])),
                    "forget_mean": memory["forget_mean"], "timescale": memory["timescale"],
                }))
                curves.append(pd.DataFrame({
                    "length": length, "model": label, "step": np.arange(length),
                    "mean_f": mean_curve, "holder_f": holder_curve,
                }))
            rows.append(row)
            hist = hist.copy()
            hist.insert(0, "model", label)
            hist.insert(0, "length", length)
            histories.append(hist)
            models[(length, label)] = model
            logger.info(
                "length %d %s: MSE %.4g (baseline %.4g) %s in %d epochs, %.0f s", length, label,
                mse, baseline, "solved" if row["solved"] else "not solved", row["epochs"],
                seconds,
            )
    results = pd.DataFrame(rows)
    history = pd.concat(histories, ignore_index=True)
    forget_curves = (
        pd.concat(curves, ignore_index=True) if curves
        else pd.DataFrame(columns=["length", "model", "step", "mean_f", "holder_f"])
    )
    timescales = (
        pd.concat(scales, ignore_index=True) if scales
        else pd.DataFrame(columns=["length", "model", "unit", "forget_mean", "timescale"])
    )
    metrics = {
        "task": config.task,
        "solved": {
            str(length): {r["model"]: r["solved"] for r in rows if r["length"] == length}
            for length in config.lengths
        },
        "results": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in rows
        ],
        "forget_gate_source": "lstm_apps.trace_gates",
    }
    result = MemoryResult(
        config=config, results=results, history=history, forget_curves=forget_curves,
        timescales=timescales, models=models, metrics=metrics, run_dir=run_dir, paths={},
    )
    if run_dir is not None:
        result.paths = _write_run(result)
    return result


def _write_run(result: MemoryResult) -> dict[str, Path]:
    run_dir = result.run_dir
    assert run_dir is not None
    config = result.config
    paths = {
        "results": _io.write_csv(run_dir / "results.csv", result.results),
        "history": _io.write_csv(run_dir / "history.csv", result.history),
        "forget_curves": _io.write_csv(run_dir / "forget_curves.csv", result.forget_curves),
        "timescales": _io.write_csv(run_dir / "timescales.csv", result.timescales),
        "config": _io.write_json(run_dir / "config.json", config_to_dict(config)),
        "tb": run_dir / "tb",
    }
    longest = max(config.lengths)
    lstm_labels = [label for label, cell, _ in config.models() if cell not in _NOT_LSTM]
    main = lstm_labels[0] if lstm_labels else config.models()[0][0]
    paths["model"] = _io.save_model(run_dir / "model.keras", result.models[(longest, main)])
    for (length, label), model in result.models.items():
        _io.save_model(run_dir / "models" / _model_file(length, label), model)
    if config.plots:
        paths["plot_results"] = _io.save_figure(
            run_dir / "plots" / "results.png", plot_memory_results(result.results)
        )
        for length in config.lengths:
            paths[f"plot_timescales_{length}"] = _io.save_figure(
                run_dir / "plots" / f"timescales_L{length}.png",
                plot_memory_timescales(result.results, result.timescales, length),
            )
        if len(result.forget_curves):
            for length in config.lengths:
                paths[f"plot_forget_{length}"] = _io.save_figure(
                    run_dir / "plots" / f"forget_gate_L{length}.png",
                    plot_forget_curves(result.forget_curves, length, config.marker_window),
                )
    _runs.clear_backup(run_dir)
    # The completion marker, written last: a run cut short never looks complete.
    paths["metrics"] = _io.write_json(run_dir / _runs.MARKER, result.metrics)
    return paths
