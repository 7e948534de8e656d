"""Benchmark: the cost of `GateMonitor` on the IMDB-like workload W2.

W2: batches of 32 reviews of 200 token ids, `Embedding(20000, 64)`, one
64-unit LSTM layer, `Dense(1, sigmoid)`, binary cross-entropy, Adam; random
token ids and labels stand in for IMDB (25,000 reviews, 782 batches an epoch,
by default).

One model is trained in `fit` calls of `--epochs` epochs each, alternating
calls without and with a `GateMonitor` at its defaults (trace every epoch,
the images of the first probe sample, a 32-sample probe), in the order A B B A A B ...
so that drift in the machine's speed falls on both alike. A timer callback,
last in the callback list, records the end of every batch; an epoch's time is
the time between the last batch ends of two consecutive epochs, so it holds
every step of the epoch and every epoch-end callback before it (the monitor's
trace) and any slowdown from the monitor's background image thread. The
first epoch of each call is not counted (it holds the `fit` start-up), nor is
a first warm-up call of each kind (it compiles the train and trace
functions). Printed: the median epoch time of each kind, their ratio, the
median step times, the time `fit` spends at its end waiting for the last
images (once per `fit`, not per epoch), and the monitor's own work per epoch
as clocked inside it (its epoch-end hook, and the image drawing in its
background thread), which a busy machine does not blur as it blurs epochs.

Usage:
    python benchmarks/bench_gates.py                  # full W2 epochs (slow on 2 cores)
    python benchmarks/bench_gates.py --samples 6400   # shorter epochs
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
    args = parser.parse_args()
    if args.epochs < 2 or args.reps < 1:
        parser.error("--epochs must be >= 2 and --reps >= 1")

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
        """A GateMonitor at its defaults that also clocks its own work."""

        hook_seconds: list[float] = []
        image_seconds: list[float] = []

        def on_epoch_end(self, epoch, logs=None):
            start = time.perf_counter()
            super().on_epoch_end(epoch, logs)
            self.hook_seconds.append(time.perf_counter() - start)

        def _write_images(self, *args, **kwargs):
            start = time.perf_counter()
            super()._write_images(*args, **kwargs)
            self.image_seconds.append(time.perf_counter() - start)

    monitor = TimedMonitor(log_dir, x[: args.probe])  # defaults otherwise
    timer = Timer()

    def run(with_monitor: bool, epochs: int) -> tuple[list[float], float, float]:
        callbacks = ([monitor] if with_monitor else []) + [timer]
        model.fit(x, y, batch_size=args.batch, epochs=epochs, verbose=0, callbacks=callbacks)
        epoch_times = list(np.diff(timer.epoch_ends))
        step = float(np.median(np.diff(timer.batch_ends)))
        return epoch_times, step, timer.end - timer.batch_ends[-1]

    print(
        f"backend {keras.backend.backend()}, cell {args.cell}, {args.samples} samples "
        f"({-(-args.samples // args.batch)} batches of {args.batch}) x {args.steps} steps, "
        f"probe {args.probe}, {args.epochs} epochs per fit"
    )
    run(False, 1), run(True, 1)  # warm-up: compiles the train and trace functions
    times: dict[bool, list[float]] = {False: [], True: []}
    steps: dict[bool, list[float]] = {False: [], True: []}
    ends: dict[bool, list[float]] = {False: [], True: []}
    order = [False, True, True, False] * ((args.reps + 1) // 2)
    for with_monitor in order[: 2 * args.reps]:
        epoch_times, step, end = run(with_monitor, args.epochs)
        times[with_monitor] += epoch_times
        steps[with_monitor].append(step)
        ends[with_monitor].append(end)
        label = "with   " if with_monitor else "without"
        print(
            f"  {label} GateMonitor: epochs "
            + ", ".join(f"{t:.2f}" for t in epoch_times)
            + f" s; median step {1000 * step:.1f} ms; fit end {end:.2f} s"
        )
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    ratio = with_ / without
    print(f"median epoch: without {without:.2f} s, with GateMonitor {with_:.2f} s")
    print(
        f"median step: without {1000 * statistics.median(steps[False]):.1f} ms, "
        f"with {1000 * statistics.median(steps[True]):.1f} ms"
    )
    print(
        f"fit end (waits for the last images, once per fit): without "
        f"{statistics.median(ends[False]):.2f} s, with {statistics.median(ends[True]):.2f} s"
    )
    print(f"ratio with/without: {ratio:.3f} (overhead {100 * (ratio - 1):+.1f}%)")
    hook = statistics.median(monitor.hook_seconds)
    images = statistics.median(monitor.image_seconds)
    print(
        f"monitor work per epoch: {hook:.3f} s in its epoch-end hook (trace, statistics, "
        f"writing) + {images:.3f} s drawing images in a background thread; "
        f"{100 * hook / without:.1f}% and {100 * images / without:.1f}% of the median epoch "
        "without it"
    )
    files = sum(len(f) for _, _, f in os.walk(log_dir))
    print(f"event files written: {files} (in a temporary folder, now removed)")
    scratch.cleanup()


if __name__ == "__main__":
    main()
