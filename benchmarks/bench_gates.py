"""Benchmark: the cost of `GateMonitor` on the IMDB-like workload W2, per epoch and per batch.

W2: batches of 32 reviews of 200 token ids, `Embedding(20000, 64)`, one
64-unit LSTM layer, `Dense(1, sigmoid)`, binary cross-entropy, Adam; random
token ids and labels stand in for IMDB (25,000 reviews, 782 batches an epoch,
by default).

One model is trained in `fit` calls of `--epochs` epochs each, of three
kinds side by side in one run: without a monitor, with a `GateMonitor` at its
defaults (trace every epoch, the images of the first probe sample, a 32-sample
probe) and with the same monitor tracing every `--batch-freq` batches too
(batch-level scalars). The calls go in the order N E B B E N ... so that drift
in the machine's speed falls on all kinds alike. A timer callback, last in
the callback list, records the end of every batch; an epoch's time is the
time between the last batch ends of two consecutive epochs, so it holds every
step of the epoch and every epoch-end callback before it (the monitor's
trace) and any slowdown from the monitor's background image thread. The
first epoch of each call is not counted (it holds the `fit` start-up), nor is
a first warm-up call of each kind (it compiles the train and trace
functions). Printed: the median epoch time of each kind and its ratio to the
unmonitored one, the median step times, the time `fit` spends at its end
waiting for the last images (once per `fit`, not per epoch), and the
monitor's own work per epoch as clocked inside it (its epoch-end hook, its
batch-level traces, and the image drawing in its background thread), which a
busy machine does not blur as it blurs epochs.

Usage:
    python benchmarks/bench_gates.py                  # full W2 epochs (slow on 2 cores)
    python benchmarks/bench_gates.py --samples 6400   # shorter epochs
    python benchmarks/bench_gates.py --batch-freq 10  # batch-level traces more often
    KERAS_BACKEND=jax python benchmarks/bench_gates.py --cell standard
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _build(cell: str, units: int, vocabulary: int, steps: int):
    import keras

    import lstm_apps

    recurrent = (
        keras.layers.LSTM(units, name="lstm")
        if cell == "keras_lstm"
        else lstm_apps.LSTM(units, variant=cell, name="lstm")
    )
    model = keras.Sequential(
        [
            keras.Input((steps,), dtype="int32"),
            keras.layers.Embedding(vocabulary, 64),
            recurrent,
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=25_000, help="reviews per epoch")
    parser.add_argument("--reps", type=int, default=2, help="timed fit calls of each kind")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit call (>= 2)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=200, help="token ids per review")
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--probe", type=int, default=32, help="probe samples")
    parser.add_argument(
        "--cell", default="keras_lstm", help="keras_lstm (default) or an lstm_apps cell name"
    )
    parser.add_argument(
        "--batch-freq", type=int, default=50, help="batch_freq of the batch-level monitor"
    )
    args = parser.parse_args()
    if args.epochs < 2 or args.reps < 1 or args.batch_freq < 1:
        parser.error("--epochs must be >= 2, --reps >= 1 and --batch-freq >= 1")

    import keras
    import numpy as np

    from lstm_apps import GateMonitor

    class Timer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.batch_ends: list[float] = []
            self.epoch_ends: list[float] = []

        def on_train_batch_end(self, batch, logs=None):
            self.batch_ends.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_ends.append(self.batch_ends[-1])  # last batch end of this epoch

        def on_train_end(self, logs=None):
            self.end = time.perf_counter()

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    vocabulary = 20_000
    x = rng.integers(1, vocabulary, size=(args.samples, args.steps), dtype=np.int32)
    y = rng.integers(0, 2, size=(args.samples, 1)).astype("float32")
    model = _build(args.cell, args.units, vocabulary, args.steps)
    scratch = tempfile.TemporaryDirectory(prefix="bench_gates_")
    log_dir = scratch.name

    class TimedMonitor(GateMonitor):
        """A GateMonitor that also clocks its own work."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.hook_seconds: list[float] = []
            self.batch_seconds: list[float] = []
            self.image_seconds: list[float] = []

        def on_epoch_end(self, epoch, logs=None):
            start = time.perf_counter()
            super().on_epoch_end(epoch, logs)
            self.hook_seconds.append(time.perf_counter() - start)

        def _on_train_batch_end(self, batch, logs=None):
            start = time.perf_counter()
            super()._on_train_batch_end(batch, logs)
            self.batch_seconds.append(time.perf_counter() - start)

        def _write_images(self, *args, **kwargs):
            start = time.perf_counter()
            super()._write_images(*args, **kwargs)
            self.image_seconds.append(time.perf_counter() - start)

    monitors = {
        "none": None,
        "epoch": TimedMonitor(log_dir + "/epoch", x[: args.probe]),  # defaults otherwise
        "batch": TimedMonitor(log_dir + "/batch", x[: args.probe], batch_freq=args.batch_freq),
    }
    timer = Timer()

    def run(kind: str, epochs: int) -> tuple[list[float], float, float]:
        monitor = monitors[kind]
        callbacks = ([monitor] if monitor is not None else []) + [timer]
        model.fit(x, y, batch_size=args.batch, epochs=epochs, verbose=0, callbacks=callbacks)
        epoch_times = list(np.diff(timer.epoch_ends))
        step = float(np.median(np.diff(timer.batch_ends)))
        return epoch_times, step, timer.end - timer.batch_ends[-1]

    batches = -(-args.samples // args.batch)
    print(
        f"backend {keras.backend.backend()}, cell {args.cell}, {args.samples} samples "
        f"({batches} batches of {args.batch}) x {args.steps} steps, "
        f"probe {args.probe}, {args.epochs} epochs per fit, batch_freq {args.batch_freq} "
        f"({batches // args.batch_freq} batch-level traces an epoch)"
    )
    for kind in monitors:  # warm-up: compiles the train and trace functions
        run(kind, 1)
    for monitor in monitors.values():
        if monitor is not None:
            for clocked in (monitor.hook_seconds, monitor.batch_seconds, monitor.image_seconds):
                clocked.clear()
    times: dict[str, list[float]] = {k: [] for k in monitors}
    steps: dict[str, list[float]] = {k: [] for k in monitors}
    ends: dict[str, list[float]] = {k: [] for k in monitors}
    order = ["none", "epoch", "batch", "batch", "epoch", "none"] * ((args.reps + 1) // 2)
    for kind in order[: 3 * args.reps]:
        epoch_times, step, end = run(kind, args.epochs)
        times[kind] += epoch_times
        steps[kind].append(step)
        ends[kind].append(end)
        print(
            f"  {kind:>5} monitor: epochs " + ", ".join(f"{t:.2f}" for t in epoch_times)
            + f" s; median step {1000 * step:.1f} ms; fit end {end:.2f} s"
        )
    without = statistics.median(times["none"])
    print(f"median epoch without a monitor: {without:.2f} s")
    for kind, label in (("epoch", "epoch-level (defaults)"),
                        ("batch", f"batch-level, batch_freq={args.batch_freq}")):
        median = statistics.median(times[kind])
        monitor = monitors[kind]
        hook = statistics.median(monitor.hook_seconds)
        images = statistics.median(monitor.image_seconds)
        per_epoch = sum(monitor.batch_seconds) / max(1, len(monitor.hook_seconds))
        print(
            f"{label}: median epoch {median:.2f} s, ratio {median / without:.3f} "
            f"(overhead {100 * (median / without - 1):+.1f}%); median step "
            f"{1000 * statistics.median(steps[kind]):.1f} ms (without "
            f"{1000 * statistics.median(steps['none']):.1f} ms); fit end "
            f"{statistics.median(ends[kind]):.2f} s"
        )
        print(
            f"  clocked monitor work per epoch: epoch-end hook {hook:.3f} s, batch hooks "
            f"{per_epoch:.3f} s, images {images:.3f} s (background thread): "
            f"{100 * (hook + per_epoch) / without:.1f}% of the unmonitored epoch in the "
            f"training thread, {100 * images / without:.1f}% beside it"
        )
    files = sum(len(f) for _, _, f in os.walk(log_dir))
    print(f"event files written: {files} (in a temporary folder, now removed)")
    scratch.cleanup()


if __name__ == "__main__":
    main()
