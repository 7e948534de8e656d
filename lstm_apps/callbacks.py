"""`GateMonitor`: the gates of a model's LSTM layers in TensorBoard, during training.

Keras's `TensorBoard` callback logs weights, never gate activations. The
`GateMonitor` traces a fixed probe batch with `lstm_apps.trace_gates` every
`freq` epochs (and, optionally, every `batch_freq` batches) and writes, for
every LSTM layer (each direction of a `Bidirectional`) and every gate:
histograms, scalars (mean, fraction saturated low and high, mean |c|) and
images (gate heatmaps and lines over time for the first probe samples).

Design notes:

- Where it writes: into `<log_dir>/gates`, a run of its own beside the
  `train` and `validation` runs that `keras.callbacks.TensorBoard(log_dir)`
  writes, so both show in the same TensorBoard.
- Keras Tuner: the tuner deep-copies the callbacks of every trial and gives a
  per-trial folder only to callbacks whose class is named `TensorBoard` (it
  rewrites their `log_dir`). Rather than pretend to be a `TensorBoard` (the
  tuner would then also attach a second HParams writer to the same folder,
  and `isinstance` checks would lie), a `GateMonitor` can *follow* a
  `TensorBoard` callback: pass that callback as `log_dir`. The tuner
  deep-copies the callback list in one `copy.deepcopy` call, so the copied
  monitor points at the copied `TensorBoard`, whose `log_dir` the tuner then
  rewrites; the monitor reads it when training starts, so each trial (and
  execution) gets `<trial folder>/gates`. A monitor with a fixed folder that
  finds itself deep-copied warns that every copy writes to the same folder.
- The file writer and the tracer are created when training starts and
  dropped by `copy.deepcopy`; the writer is closed at the end of training.
- Backends: the event files are written with TensorBoard's own writer
  (`tensorboard.summary.writer`, the one PyTorch's `SummaryWriter` uses),
  not with TensorFlow ops, so the monitor works on the TensorFlow, JAX and
  PyTorch backends. The probe is traced by a compiled function (a graph on
  TensorFlow, `jax.jit` on JAX, eager on PyTorch).
- Cost: at each trace the probe goes through the model once (compiled), the
  statistics are NumPy; the images, which take most of the time, are drawn
  in a background thread while training goes on (`background_images`).
- Files: event files are append-only logs written by TensorBoard's writer,
  like those of `keras.callbacks.TensorBoard`; they are not written through
  `lstm_apps._io` (a partial event file is still readable).
"""

from __future__ import annotations

import concurrent.futures
import copy
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lstm_apps import gates as _gates
from lstm_apps._validation import check_int

__all__ = ["IMAGE_SIZE", "GateMonitor", "histogram_buckets"]

logger = logging.getLogger(__name__)

#: Width and height in pixels of each image the monitor writes: about the
#: size at which TensorBoard's images dashboard shows an image by default, so
#: it reads without "Show actual image size".
IMAGE_SIZE = (480, 200)
_DPI = 80
_MAX_LABELS = 24

# Attributes that live only while training; `copy.deepcopy` resets them.
_RUNTIME = {
    "_model": None,
    "_writer": None,
    "_writer_dir": None,
    "_executor": None,
    "_pending": None,
    "_layout_written": None,
    "_no_forget": None,
    "_stuck": None,
    "last_trace": None,
}


class GateMonitor(keras.callbacks.Callback):
    """Writes the gate activations of a model's LSTM layers to TensorBoard.

    Every `freq` epochs (and every `batch_freq` batches if set) the monitor
    traces the fixed `probe` batch (`lstm_apps.trace_gates`, inference mode)
    and writes, per layer, direction and gate (i, f, o, g; c and h too):

    - histograms `"<layer>/<gate name>"` of the values at unmasked steps,
      e.g. `"lstm/forget_gate"`, `"bi/backward/input_gate"`;
    - scalars `"<layer>/<gate name>/mean"`, `".../saturated_low"` (fraction
      < 0.1; for g < -0.9) and `".../saturated_high"` (> 0.9), and
      `"<layer>/cell_state/mean_abs"` (mean |c|);
    - memory: a histogram `"<layer>/memory/timescale"` of the units'
      timescales 1 / (1 - f) (f a unit's mean forget activation over the
      probe; infinite ones left out) and a scalar
      `"<layer>/memory/timescale_median"`; a layer without a forget gate
      gets neither (a log message says so, once);
    - alerts: scalars `"<layer>/alerts/saturated_units"` (units with a gate
      i, f or o below 0.1 or above 0.9 at every step of every probe sample)
      and `"<layer>/alerts/constant_units"` (units whose output h is
      constant over the probe: dead), and a log warning naming the layer and
      the units (with the reason) whenever that set of units changes (see
      `lstm_apps.gates.LayerTrace.stuck_units`);
    - images, one gate per image, `IMAGE_SIZE` (480 x 200) pixels, so they
      read at TensorBoard's default size: `"<layer>/<gate name>/heatmap"`
      (units x time) and `"<layer>/<gate name>/lines"` (a few units over
      time), e.g. `"lstm/forget_gate/heatmap"`, one image per probe sample
      for the first `image_samples` samples; the time axis shows the tokens
      for text probes and the dates of a probe given `tokens` of dates.

    Every summary carries a description (what it is, the thresholds), shown
    in TensorBoard; and the run holds a custom-scalars layout (TensorBoard's
    "Custom Scalars" tab): per layer, one chart with the means of i, f and o
    together, one with their saturated fractions, one with the median
    memory timescale, one with the stuck-unit counts, and one with the
    per-batch means.

    Epoch-level summaries use the epoch as step (as `keras.callbacks.TensorBoard`
    does); batch-level ones are tagged `"batch/..."`, use the number of
    batches trained so far and are scalars only (no histograms, no images),
    so that batch-level monitoring stays cheap: on the IMDB-like benchmark
    (`benchmarks/bench_gates.py`) `batch_freq=50` costs a few percent of an
    epoch. A gate that a cell does not have is not written (the minLSTM's and
    minGRU's output gate); the coupled cell's input gate (1 - f) and the
    minGRU's forget gate (1 - z) are written like the others. For the cells
    beyond the LSTM family the gates are those `lstm_apps.gates.LayerTrace`
    describes (the sLSTM's and mLSTM's stabilised i' and f', the minLSTM's
    normalised ones); their normaliser n and stabiliser m are in
    `last_trace`, not written.

    Args:
        log_dir: The TensorBoard folder (the one given to
            `keras.callbacks.TensorBoard`), or a `keras.callbacks.TensorBoard`
            callback whose `log_dir` to follow (use this inside a Keras Tuner
            search to get one folder per trial). The monitor writes to
            `<log_dir>/<run_name>`.
        probe: A batch of model inputs to trace (a NumPy array; for several
            inputs a list of arrays; for a model that takes raw text a list or
            array of strings). Keep it small (8-64 samples).
        freq: Trace every `freq` epochs. Default: 1.
        batch_freq: Also trace every `batch_freq` training batches and write
            the scalars (None: never). 50 is a sensible value: each trace
            runs the model on the probe, forward only, about the cost of one
            training step. Default: None.
        layers: Names of the layers to trace (default: every LSTM layer).
        tokens: Labels of the time axis, one list per probe sample of strings
            or of dates (`datetime64`, pandas Timestamps: the images then
            show dates).
            By default, for text probes, the tokens of the model's
            `TextVectorization` layer.
        run_name: Name of the run folder under `log_dir`. Default: "gates".
        image_samples: Number of probe samples that get images (0: no
            images). Default: 1.
        image_units: Number of units in the line plots. Default: 4.
        histogram_buckets: Number of histogram buckets. Default: 30.
        background_images: Draw and write the images in a background thread
            while training goes on (the trace itself, the histograms and the
            scalars are always taken at once, from the current weights). The
            monitor waits for the images at the next trace and at the end of
            training, so everything is on disk when `fit` returns. Default:
            `True`.
        alerts: Write the stuck-unit counts and log a warning when units are
            stuck. Default: `True`.

    Raises:
        ValueError: (when created) `freq`, `batch_freq`, `image_samples`,
            `image_units` or `histogram_buckets` is not a positive integer;
            (when training starts, before the first batch) the model has no
            LSTM layer, a `layers` name does not exist, or the probe does not
            match the model's input shape or dtype.
        TypeError: `log_dir`, `probe` or `layers` have the wrong type.

    Example:

    >>> import os, tempfile, numpy as np, keras, lstm_apps
    >>> model = keras.Sequential([keras.Input((10, 2)), lstm_apps.LSTM(4, name="rnn"),
    ...                           keras.layers.Dense(1)])
    >>> model.compile(loss="mse")
    >>> logs = tempfile.mkdtemp()
    >>> x, y = np.random.rand(16, 10, 2), np.random.rand(16, 1)
    >>> monitor = lstm_apps.GateMonitor(logs, probe=x[:4], image_samples=1)
    >>> _ = model.fit(x, y, epochs=2, verbose=0,
    ...               callbacks=[keras.callbacks.TensorBoard(logs), monitor])
    >>> sorted(os.listdir(logs))
    ['gates', 'train']
    >>> monitor.last_trace["rnn"]["f"].shape
    (4, 10, 4)
    """

    def __init__(
        self,
        log_dir: str | os.PathLike | keras.callbacks.TensorBoard,
        probe: Any,
        freq: int = 1,
        batch_freq: int | None = None,
        layers: str | Sequence[str] | None = None,
        tokens: Sequence[Sequence[str]] | None = None,
        run_name: str = "gates",
        image_samples: int = 1,
        image_units: int = 4,
        histogram_buckets: int = 30,
        background_images: bool = True,
        alerts: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(log_dir, keras.callbacks.TensorBoard):
            self._tensorboard: keras.callbacks.TensorBoard | None = log_dir
            self._log_dir: str | None = None
        elif isinstance(log_dir, (str, os.PathLike)):
            self._tensorboard = None
            self._log_dir = os.fspath(log_dir)
        else:
            raise TypeError(
                "Received an invalid value for argument `log_dir`, expected a "
                "folder path or a keras.callbacks.TensorBoard callback, got "
                f"{type(log_dir).__name__}."
            )
        self.freq = check_int("freq", freq, 1, expected="a positive integer")
        self.batch_freq = check_int("batch_freq", batch_freq, 1, optional=True,
                                    expected="a positive integer or None")
        if (
            isinstance(image_samples, bool)
            or not isinstance(image_samples, int)
            or (image_samples < 0)
        ):
            raise ValueError(
                "Received an invalid value for argument `image_samples`, expected an "
                f"integer >= 0, got {image_samples!r}."
            )
        self.image_samples = image_samples
        self.image_units = check_int("image_units", image_units, 1, expected="a positive integer")
        self.histogram_buckets = check_int("histogram_buckets", histogram_buckets, 1,
                                           expected="a positive integer")
        if not isinstance(run_name, str) or not run_name or os.sep in run_name:
            raise ValueError(
                "Received an invalid value for argument `run_name`, expected a "
                f"non-empty folder name, got {run_name!r}."
            )
        self.run_name = run_name
        if layers is not None and not (
            isinstance(layers, str)
            or (isinstance(layers, (list, tuple)) and all(isinstance(n, str) for n in layers))
        ):
            raise TypeError(
                "Received an invalid value for argument `layers`, expected None, a "
                f"layer name or a list of layer names, got {layers!r}."
            )
        self.layers = layers
        self._probe = _gates.GateProbe(probe, tokens=tokens, argument="probe")
        #: The probe inputs, as checked NumPy arrays.
        self.probe: Any = self._probe.inputs
        self.tokens = self._probe.tokens
        if not isinstance(background_images, bool):
            raise TypeError(
                "Received an invalid value for argument `background_images`, "
                f"expected a bool, got {background_images!r}."
            )
        self.background_images = background_images
        if not isinstance(alerts, bool):
            raise TypeError(
                f"Received an invalid value for argument `alerts`, expected a bool, got {alerts!r}."
            )
        self.alerts = alerts
        self._copied = False
        self._batches_seen = 0
        self.__dict__.update(_RUNTIME)

    # -------------------------------------------------------------- plumbing
    def __deepcopy__(self, memo: dict[int, Any]) -> GateMonitor:
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key in _RUNTIME:
                new.__dict__[key] = _RUNTIME[key]
            else:
                new.__dict__[key] = copy.deepcopy(value, memo)
        new._copied = True
        return new

    @property
    def log_dir(self) -> str:
        """The TensorBoard folder: the followed `TensorBoard`'s, or the fixed one."""
        if self._tensorboard is not None:
            return str(self._tensorboard.log_dir)
        return str(self._log_dir)

    @log_dir.setter
    def log_dir(self, value: str | os.PathLike) -> None:
        # Lets tuners (or users) move a monitor the way Keras Tuner moves
        # TensorBoard callbacks; takes effect when training next starts.
        if self._tensorboard is not None:
            self._tensorboard.log_dir = os.fspath(value)
        else:
            self._log_dir = os.fspath(value)

    @property
    def run_dir(self) -> Path:
        """The folder the event files go to: `<log_dir>/<run_name>`."""
        return Path(self.log_dir) / self.run_name

    # Overriding `on_train_batch_end` turns off Keras's asynchronous callback
    # dispatch, so the monitor only exposes a batch hook when `batch_freq` is
    # set; otherwise it hands out Keras's own no-op (marked as the default).
    @property
    def on_train_batch_end(self) -> Any:  # type: ignore[override]
        if self.batch_freq is None:
            return super().on_train_batch_end
        return self._on_train_batch_end

    def _on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._batches_seen += 1
        if self._batches_seen % self.batch_freq == 0:
            sync = getattr(self.model, "jax_state_sync", None)
            if callable(sync):  # JAX keeps the variables aside during an epoch
                sync()
            self._trace_and_write(self._batches_seen, prefix="batch/")

    # ----------------------------------------------------------------- hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._prepare()
        if self._copied and self._tensorboard is None:
            logger.warning(
                "This GateMonitor is a deep copy (as Keras Tuner makes for every "
                "trial) with the fixed folder %s, so every copy writes there. Pass "
                "your keras.callbacks.TensorBoard callback as `log_dir` to get one "
                "folder per trial.",
                self.run_dir,
            )

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.freq == 0:
            self._trace_and_write(epoch, prefix="")

    def on_train_end(self, logs: dict | None = None) -> None:
        self.close()

    def close(self) -> None:
        """Waits for pending images and closes the event file (reopened when needed)."""
        try:
            self._wait_for_images()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
            if self._writer is not None:
                self._writer.close()
            self._executor = None
            self._writer = None
            self._writer_dir = None

    # ----------------------------------------------------------------- work
    def _prepare(self) -> None:
        """Checks the model and the probe and builds the tracer (no tracing)."""
        self._probe.prepare(self.model, self.layers)
        if self.image_samples > self._probe.batch_size:
            raise ValueError(
                "Received an invalid value for argument `image_samples`, expected at "
                f"most the number of probe samples ({self._probe.batch_size}), "
                f"got {self.image_samples}."
            )

    def trace(self) -> _gates.GateTrace:
        """Traces the probe now with the model's current weights.

        Returns:
            The `GateTrace` (also kept as `last_trace`).
        """
        if self.model is None:
            raise ValueError(
                "GateMonitor.trace() needs a model: the monitor gets one when "
                "`model.fit` starts (or call `set_model(model)`)."
            )
        self._prepare()
        self.last_trace = self._probe.trace(self.model, self.layers, compiled=True)
        return self.last_trace

    def _get_writer(self) -> Any:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        run_dir = str(self.run_dir)
        if self._writer is None or self._writer_dir != run_dir:
            if self._writer is not None:
                self._writer.close()
            self._writer = EventFileWriter(run_dir, max_queue_size=100)
            self._writer_dir = run_dir
        return self._writer

    def _trace_and_write(self, step: int, prefix: str) -> None:
        trace = self.trace()
        self._wait_for_images()  # one image job at a time; re-raises its error
        writer = self._get_writer()
        if self._layout_written != self._writer_dir:
            writer.add_event(_event(0, [_layout_value(trace.keys)]))
            self._layout_written = self._writer_dir
        if self._no_forget is None:
            self._no_forget = set()
        stuck = {layer.key: layer.stuck_units() for layer in trace} if self.alerts else None
        batch = prefix == "batch/"
        values = _trace_values(
            trace, prefix, self.histogram_buckets, self._no_forget, stuck, histograms=not batch
        )
        writer.add_event(_event(step, values))
        if stuck is not None:
            self._warn_stuck(trace, stuck, step, prefix)
        writer.flush()
        if self.image_samples and not batch:
            if self.background_images:
                if self._executor is None:
                    self._executor = concurrent.futures.ThreadPoolExecutor(
                        max_workers=1, thread_name_prefix="GateMonitor-images"
                    )
                self._pending = self._executor.submit(
                    self._write_images, writer, trace, step, prefix
                )
            else:
                self._write_images(writer, trace, step, prefix)

    def _warn_stuck(
        self, trace: _gates.GateTrace, stuck: dict[str, dict[int, list[str]]], step: int,
        prefix: str,
    ) -> None:
        """Logs a warning per layer whose set of stuck units changed (info when it clears)."""
        if self._stuck is None:
            self._stuck = {}
        when = f"batch {step}" if prefix else f"epoch {step + 1}"
        for layer in trace:
            units = stuck[layer.key]
            previous = self._stuck.get(layer.key, frozenset())
            if frozenset(units) == previous:
                continue
            self._stuck[layer.key] = frozenset(units)
            if not units:
                logger.info("Layer %r: no stuck unit any more (%s).", layer.key, when)
                continue
            shown = "; ".join(
                f"unit {u}: {', '.join(why)}" for u, why in list(units.items())[:20]
            )
            more = f"; and {len(units) - 20} more" if len(units) > 20 else ""
            logger.warning(
                "Layer %r: %d of %d units stuck over the probe at %s (a gate saturated "
                "at every step, or a constant output): %s%s.",
                layer.key, len(units), layer.units, when, shown, more,
            )

    def _wait_for_images(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _write_images(self, writer: Any, trace: _gates.GateTrace, step: int, prefix: str) -> None:
        values = []
        for layer in trace:
            for gate, (heatmaps, lines) in self._images(trace, layer).items():
                tag = f"{prefix}{layer.key}/{_gates.GATE_NAMES[gate]}"
                values.append(_image_value(f"{tag}/heatmap", heatmaps))
                values.append(_image_value(f"{tag}/lines", lines))
        writer.add_event(_event(step, values))
        writer.flush()

    def _images(
        self, trace: _gates.GateTrace, layer: _gates.LayerTrace
    ) -> dict[str, tuple[list, list]]:
        """Per gate, PNG bytes of the heatmap and line figures of the first probe samples.

        One gate per figure, sized to be read at TensorBoard's default image
        size (`IMAGE_SIZE` pixels), the time axis labelled with the probe's
        tokens or dates when it has them.
        """
        from lstm_apps.plots.gates import plot_gate_heatmap, plot_gate_lines

        width, height = IMAGE_SIZE[0] / _DPI, IMAGE_SIZE[1] / _DPI
        out = {}
        for gate in (g for g in ("i", "f", "o", "g") if g in layer.values):
            heatmaps, lines = [], []
            for sample in range(self.image_samples):
                common = dict(
                    gate=gate, sample=sample, direction=layer.direction,
                    figsize=(width, height), layout=None, max_labels=_MAX_LABELS,
                )
                heatmaps.append(_png(plot_gate_heatmap(trace, layer.layer, **common)))
                lines.append(_png(plot_gate_lines(
                    trace, layer.layer, units=min(self.image_units, layer.units), **common
                )))
            out[gate] = (heatmaps, lines)
        return out


# ------------------------------------------------------------ summary protos
# The summaries are written with TensorBoard's own event-file writer (the
# one PyTorch's SummaryWriter uses), so no TensorFlow op runs: writing costs
# no graph work on any backend. The tensors have the layout of
# `tf.summary.histogram` / `scalar` / `image`.
def histogram_buckets(values: np.ndarray, buckets: int = 30) -> np.ndarray:
    """TensorBoard histogram buckets `(buckets, 3)`: left edge, right edge, count.

    Same rule as `tf.summary.histogram`: `buckets` equal-width buckets from the
    minimum to the maximum, the maximum counted in the last bucket.
    """
    data = np.asarray(values, dtype=np.float64).ravel()
    data = data[np.isfinite(data)]
    if data.size == 0:
        return np.zeros((buckets, 3))
    low, high = float(data.min()), float(data.max())
    if high == low:
        counts = np.zeros(buckets)
        counts[-1] = data.size
        edges = np.full(buckets, low)
        return np.stack([edges, edges, counts], axis=1)
    width = (high - low) / buckets
    index = np.minimum(np.floor((data - low) / width).astype(np.int64), buckets - 1)
    counts = np.bincount(index, minlength=buckets).astype(np.float64)
    edges = np.linspace(low, high, buckets + 1)
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def _event(step: int, values: list) -> Any:
    import time

    from tensorboard.compat.proto import event_pb2, summary_pb2

    return event_pb2.Event(
        wall_time=time.time(), step=int(step), summary=summary_pb2.Summary(value=values)
    )


#: What each scalar statistic is, for the tag descriptions.
_STAT_TEXT = {
    "mean": "Mean of the {name} over the probe (every unmasked step, sample and unit).",
    "saturated_low": (
        "Fraction of {name} values below {low:g} over the probe: the gate is (nearly) shut there."
    ),
    "saturated_high": (
        "Fraction of {name} values above {high:g} over the probe: the gate is (nearly) "
        "fully open there."
    ),
    "mean_abs": "Mean |c| of the cell state over the probe (it is unbounded: no thresholds).",
}


def _describe_histogram(name: str, key: str) -> str:
    return (
        f"Distribution of the {name} of layer {key} over the probe: every unmasked "
        "time step, sample and unit."
    )


def _trace_values(
    trace: _gates.GateTrace,
    prefix: str,
    buckets: int,
    no_forget: set[str] | None = None,
    stuck: dict[str, dict[int, list[str]]] | None = None,
    histograms: bool = True,
) -> list:
    """The histogram and scalar summaries of one trace, each with a description.

    With `histograms=False` (the batch-level traces) only the scalars.

    `no_forget` collects the keys of layers without a forget gate, logged
    once (they get no timescale summaries); `stuck` holds each layer's
    `stuck_units()`, written as the alert counts (None: no alerts).
    """
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.histogram import metadata as histogram_metadata
    from tensorboard.plugins.scalar import metadata as scalar_metadata
    from tensorboard.util import tensor_util

    def scalar(tag: str, value: float, description: str) -> Any:
        tensor = tensor_util.make_tensor_proto(np.float32(value))
        meta = scalar_metadata.create_summary_metadata(None, description)
        return summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)

    def histogram(tag: str, data: Any, description: str) -> Any:
        tensor = tensor_util.make_tensor_proto(histogram_buckets(data, buckets))
        meta = histogram_metadata.create_summary_metadata(None, description)
        return summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)

    values = []
    for layer in trace:
        for gate, long_name in _gates.GATE_NAMES.items():
            if gate not in layer.values:
                continue
            tag = f"{prefix}{layer.key}/{long_name}"
            name = long_name.replace("_", " ")
            data = layer.valid(gate)
            if histograms:
                values.append(histogram(tag, data, _describe_histogram(name, layer.key)))
            stats = _gates.gate_statistics(data, gate)
            low, high = _gates.SATURATION.get(gate, (None, None))
            if gate in ("i", "f", "o", "g"):
                for stat in ("mean", "saturated_low", "saturated_high"):
                    text = _STAT_TEXT[stat].format(name=name, low=low, high=high)
                    values.append(scalar(f"{tag}/{stat}", stats[stat], text))
            elif gate == "c":
                values.append(scalar(f"{tag}/mean_abs", stats["mean_abs"], _STAT_TEXT["mean_abs"]))
        if stuck is not None:
            units = stuck[layer.key]
            saturated = sum(any(r != "h constant" for r in why) for why in units.values())
            constant = sum("h constant" in why for why in units.values())
            values.append(scalar(
                f"{prefix}{layer.key}/alerts/saturated_units", saturated,
                f"Number of units of layer {layer.key} with a gate (i, f or o) below 0.1 or "
                "above 0.9 at every step of every probe sample: stuck shut or open (a forget "
                "gate always above 0.9 may also be a long memory). The log names them.",
            ))
            values.append(scalar(
                f"{prefix}{layer.key}/alerts/constant_units", constant,
                f"Number of units of layer {layer.key} whose output h varies by less than "
                f"{_gates.CONSTANT_TOLERANCE:g} over the probe: dead units. The log names them.",
            ))
        if not layer.has_forget_gate:
            if no_forget is not None and layer.key not in no_forget:
                no_forget.add(layer.key)
                logger.info(
                    "Layer %r (%s cell) has no forget gate (f = 1): no memory timescale "
                    "is written for it.",
                    layer.key,
                    layer.cell,
                )
            continue
        timescale = layer.timescales()["timescale"]
        finite = timescale[np.isfinite(timescale)]
        if histograms:
            values.append(histogram(
                f"{prefix}{layer.key}/memory/timescale",
                finite,
                f"Memory timescale of each unit of layer {layer.key}, in steps: "
                "1 / (1 - f), f the unit's mean forget activation over the probe "
                f"({timescale.size - finite.size} unit(s) with f = 1, infinite, left out).",
            ))
        values.append(
            scalar(
                f"{prefix}{layer.key}/memory/timescale_median",
                float(np.median(timescale)) if timescale.size else float("nan"),
                f"Median over the units of layer {layer.key} of the memory timescale "
                "1 / (1 - f) (steps), f each unit's mean forget activation over the probe.",
            )
        )
    return values


def _layout_value(keys: Sequence[str]) -> Any:
    """The custom-scalars layout: per layer, gate means, saturation and memory."""
    import re

    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.plugins.custom_scalar import metadata as cs_metadata
    from tensorboard.util import tensor_util

    categories = []
    for key in keys:
        k = re.escape(key)
        charts = [
            ("gate means (i, f, o)", rf"^{k}/(input|forget|output)_gate/mean$"),
            (
                "saturated fractions (< 0.1, > 0.9)",
                rf"^{k}/(input|forget|output)_gate/saturated_(low|high)$",
            ),
            ("memory timescale, median (steps)", rf"^{k}/memory/timescale_median$"),
            ("alerts: stuck units (count)", rf"^{k}/alerts/(saturated|constant)_units$"),
            ("per batch: gate means", rf"^batch/{k}/(input|forget|output)_gate/mean$"),
        ]
        categories.append(
            layout_pb2.Category(
                title=f"gates: {key}",
                chart=[
                    layout_pb2.Chart(
                        title=f"{key}: {title}",
                        multiline=layout_pb2.MultilineChartContent(tag=[regex]),
                    )
                    for title, regex in charts
                ],
            )
        )
    layout = layout_pb2.Layout(category=categories)
    tensor = tensor_util.make_tensor_proto(layout.SerializeToString())
    return summary_pb2.Summary.Value(
        tag=cs_metadata.CONFIG_SUMMARY_TAG,
        tensor=tensor,
        metadata=cs_metadata.create_summary_metadata(),
    )


def _image_value(tag: str, pngs: list[tuple[int, int, bytes]]) -> Any:
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.image import metadata as image_metadata
    from tensorboard.util import tensor_util

    width, height = pngs[0][0], pngs[0][1]
    data = np.array(
        [str(width).encode(), str(height).encode()] + [p[2] for p in pngs], dtype=object
    )
    tensor = tensor_util.make_tensor_proto(data)
    meta = image_metadata.create_summary_metadata(None, None)
    return summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)


def _png(figure: Any, dpi: int = 80) -> tuple[int, int, bytes]:
    """`(width, height, PNG bytes)` of a matplotlib figure, without pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    figure.set_dpi(dpi)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    width, height = canvas.get_width_height()
    return int(width), int(height), buffer.getvalue()
