"""Speed of every lstm_apps cell against `keras.layers.LSTM`, side by side.

Two workloads (from the cell issue):

- W1: batch 64, 100 steps, 32 features, 128 units, Dense(1), MSE, Adam.
- W2: batch 32, 200 token ids, Embedding(20000, 64), 64 units,
  Dense(1, sigmoid), binary cross-entropy, Adam.
- W2m (not in the issue; `--workloads W2m`): W2 with `mask_zero=True` and
  sequences padded at the end to 50-200 tokens.

All models are built in one process and measured interleaved (A B C A B C
...), `--reps` times; each figure is the median over repetitions of the
median time per batch, taken from batch-end callbacks (so the ~1 s that
tf.data autotuning adds to each `fit()` return on TensorFlow is not counted).
Throughput is samples/s; the ratio column is the speed relative to
`keras.layers.LSTM` in the same run (> 1 is faster). Peak memory is the peak
RSS of a separate process that builds one model and trains a few batches,
minus its RSS just before training (the TensorFlow runtime alone is ~1 GB).

Steady state: every model first runs one whole training epoch and one
prediction (tracing, XLA or JAX compilation), timed apart and printed as
"warm-up s"; the timed batches exclude the first batch of every call, so no
compilation is timed. (On JAX, W1 training is slow in steady state too: the
time is the backward pass of XLA's CPU scan, not compilation.)

Reference: `torch.nn.LSTM` (PyTorch's fused CPU kernel, same shapes, same
optimizer) in a subprocess before and after the Keras models, `--reps`
timed epochs each time; the "nn.LSTM" columns are each model's throughput
over the reference's median (`--no-reference` leaves it out). Threads: the
libraries' defaults (one per core) unless `--threads N` sets N for every
backend and the reference. Works on every backend:
`KERAS_BACKEND=jax python benchmarks/bench_cells.py ...`.

Usage:

    python benchmarks/bench_cells.py                  # everything (~15 min on 2 cores)
    python benchmarks/bench_cells.py --cells standard,peephole,coupled --reps 5
    python benchmarks/bench_cells.py --jit            # also jit_compile=True
    python benchmarks/bench_cells.py --workloads W1 --processes 5
    python benchmarks/bench_cells.py --feed dataset   # batch size unknown when traced

`--processes N` repeats the whole interleaved measurement in N fresh
processes and prints, per cell, the median of the N within-process ratios
and their range. On a shared 2-core machine the speed of one and the same
model differs by up to ~25% from one process to the next (W1 training of
`keras.layers.LSTM` measured 30-39 ms per batch), while ratios within a
process are stable; the median over processes is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

#: The name of the `torch.nn.LSTM` reference row.
REFERENCE = "nn.LSTM"

WORKLOADS = {
    "W1": dict(batch=64, steps=100, features=32, units=128, kind="regression"),
    "W2": dict(batch=32, steps=200, vocab=20000, embed=64, units=64, kind="tokens"),
    # Not in the issue: W2 with Embedding(mask_zero=True) and reviews padded
    # at the end to 50-200 tokens, as the sentiment recipe trains.
    "W2m": dict(batch=32, steps=200, vocab=20000, embed=64, units=64, kind="tokens", mask=True),
}


def build(workload: str, cell: str, jit: bool):
    import keras

    import lstm_apps

    spec = WORKLOADS[workload]
    keras.utils.set_random_seed(0)
    if cell == "keras_lstm":
        rnn = keras.layers.LSTM(spec["units"])
    else:
        rnn = lstm_apps.LSTM(spec["units"], variant=cell)
    if spec["kind"] == "regression":
        model = keras.Sequential(
            [keras.Input((spec["steps"], spec["features"])), rnn, keras.layers.Dense(1)]
        )
        loss = "mse"
    else:
        model = keras.Sequential(
            [
                keras.Input((spec["steps"],), dtype="int32"),
                keras.layers.Embedding(
                    spec["vocab"], spec["embed"], mask_zero=spec.get("mask", False)
                ),
                rnn,
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        loss = "binary_crossentropy"
    model.compile(optimizer="adam", loss=loss, jit_compile=jit)
    return model


def data(workload: str, batches: int):
    spec = WORKLOADS[workload]
    rng = np.random.default_rng(0)
    n = spec["batch"] * batches
    if spec["kind"] == "regression":
        x = rng.normal(size=(n, spec["steps"], spec["features"])).astype("float32")
        y = rng.normal(size=(n, 1)).astype("float32")
    else:
        x = rng.integers(1, spec["vocab"], size=(n, spec["steps"])).astype("int32")
        if spec.get("mask"):
            lengths = rng.integers(spec["steps"] // 4, spec["steps"] + 1, size=n)
            x[np.arange(spec["steps"])[None, :] >= lengths[:, None]] = 0
        y = rng.integers(0, 2, size=(n, 1)).astype("float32")
    return x, y


def _batch_times(run) -> float:
    import keras

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.stamps: list[float] = []

        def on_train_batch_end(self, batch, logs=None):
            self.stamps.append(time.perf_counter())

        def on_predict_batch_end(self, batch, logs=None):
            self.stamps.append(time.perf_counter())

    clock = Clock()
    run(clock)
    return float(np.median(np.diff(clock.stamps)))


def _feeds(x, y, batch: int, feed: str) -> tuple[dict, dict]:
    """`fit` and `predict` keyword arguments for the data, fed as `feed`.

    "arrays": NumPy arrays, which Keras cuts into batches of a known size
    (every batch here is full), so the step is traced with a static batch
    dimension. "dataset": a `tf.data.Dataset` batched without
    `drop_remainder`, so the step is traced with an unknown batch dimension,
    as most `tf.data` pipelines (and any epoch with a last partial batch) are.
    """
    if feed == "arrays":
        return dict(x=x, y=y, batch_size=batch), dict(x=x, batch_size=batch)
    import tensorflow as tf

    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
    predict = tf.data.Dataset.from_tensor_slices(x).batch(batch)
    return dict(x=train), dict(x=predict)


def measure_speed(workload, cells, reps, batches, jit, feed="arrays", reference=True):
    """Samples/s `(train, predict)` per `(cell, jit_compiled)`, and the
    warm-up seconds (first epoch and first prediction) per key in
    `speed["warmup"]`; with `reference`, `torch.nn.LSTM`'s samples/s under
    the key `(REFERENCE, False)` (median of a run before and one after).

    The plain models are built and measured first, interleaved; with `jit`,
    the jit-compiled ones follow, interleaved among themselves. Measured
    side by side with compiled models in the same process, the plain
    `keras.layers.LSTM` predicted W2 at 1,700-1,800 samples/s instead of
    2,700-3,000.
    """
    x, y = data(workload, batches)
    batch = WORKLOADS[workload]["batch"]
    fit_args, predict_args = _feeds(x, y, batch, feed)
    speed = {}
    warmup = {}
    references = [measure_reference(workload, reps, batches)] if reference else []
    for compiled in [False, True] if jit else [False]:
        models = {}
        for cell in cells:
            model = build(workload, cell, compiled)
            begin = time.perf_counter()
            model.fit(**fit_args, epochs=1, verbose=0)  # trace/compile + warm up
            model.predict(**predict_args, verbose=0)
            warmup[(cell, compiled)] = time.perf_counter() - begin
            models[(cell, compiled)] = model
        train = {key: [] for key in models}
        predict = {key: [] for key in models}
        for _ in range(reps):
            for key, model in models.items():
                train[key].append(
                    _batch_times(
                        lambda cb, m=model: m.fit(**fit_args, epochs=1, verbose=0, callbacks=[cb])
                    )
                )
                predict[key].append(
                    _batch_times(
                        lambda cb, m=model: m.predict(**predict_args, verbose=0, callbacks=[cb])
                    )
                )
        for key in models:
            speed[key] = (
                batch / float(np.median(train[key])),
                batch / float(np.median(predict[key])),
            )
    if reference:
        references.append(measure_reference(workload, reps, batches))
        speed[(REFERENCE, False)] = tuple(
            float(np.median([r[kind] for r in references])) for kind in ("train", "predict")
        )
    speed["warmup"] = warmup
    return speed


def _reference_child(workload: str, reps: int, batches: int) -> None:
    """Samples/s `(train, predict)` of the same model in plain PyTorch."""
    import torch

    spec = WORKLOADS[workload]
    torch.manual_seed(0)
    x, y = data(workload, batches)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    if spec["kind"] == "regression":
        layers = [torch.nn.LSTM(spec["features"], spec["units"], batch_first=True)]
        head, loss_fn = torch.nn.Linear(spec["units"], 1), torch.nn.MSELoss()
    else:
        layers = [
            torch.nn.Embedding(spec["vocab"], spec["embed"]),
            torch.nn.LSTM(spec["embed"], spec["units"], batch_first=True),
        ]
        head = torch.nn.Sequential(torch.nn.Linear(spec["units"], 1), torch.nn.Sigmoid())
        loss_fn = torch.nn.BCELoss()
    modules = torch.nn.ModuleList([*layers, head])

    def forward(batch):
        h = batch
        for layer in layers:
            h = layer(h)
            h = h[0] if isinstance(h, tuple) else h
        return head(h[:, -1])

    optimizer = torch.optim.Adam(modules.parameters())
    size = spec["batch"]
    starts = range(0, len(x), size)

    def train_epoch():
        times = []
        for start in starts:
            begin = time.perf_counter()
            optimizer.zero_grad()
            loss = loss_fn(forward(x[start : start + size]), y[start : start + size])
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - begin)
        return float(np.median(times[1:]))

    def predict_epoch():
        times = []
        with torch.inference_mode():
            for start in starts:
                begin = time.perf_counter()
                forward(x[start : start + size])
                times.append(time.perf_counter() - begin)
        return float(np.median(times[1:]))

    train_epoch(), predict_epoch()  # warm-up
    train = [train_epoch() for _ in range(reps)]
    predict = [predict_epoch() for _ in range(reps)]
    result = {"train": size / float(np.median(train)), "predict": size / float(np.median(predict))}
    result["threads"] = torch.get_num_threads()
    print(json.dumps(result))


def measure_reference(workload: str, reps: int, batches: int) -> dict:
    """`_reference_child` in a fresh process (PyTorch only, no Keras)."""
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    out = subprocess.run(
        [sys.executable, __file__, "--reference-child", workload]
        + ["--reps", str(reps), "--batches", str(batches)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_child(workload: str, cell: str) -> None:
    x, y = data(workload, 4)
    model = build(workload, cell, False)
    model(x[:1])
    before = _rss_mb()  # runtime, data and weights: the same for every cell
    model.fit(x, y, batch_size=WORKLOADS[workload]["batch"], epochs=2, verbose=0)
    model.predict(x, batch_size=WORKLOADS[workload]["batch"], verbose=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak - before}))


def measure_memory(workload: str, cell: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", workload, cell],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def measure_memories(workload: str, cells: list[str]) -> dict[str, float]:
    """`measure_memory` of every cell, each in its own process."""
    return {cell: measure_memory(workload, cell) for cell in cells}


def _speed_child(
    workload: str,
    cells: list[str],
    reps: int,
    batches: int,
    jit: bool,
    feed: str,
    reference: bool,
) -> None:
    speed = measure_speed(workload, cells, reps, batches, jit, feed, reference)
    speed.pop("warmup")
    print(json.dumps([[cell, compiled, *value] for (cell, compiled), value in speed.items()]))


def measure_speed_in_processes(
    workload, cells, reps, batches, jit, processes, feed="arrays", reference=True
):
    """`measure_speed` in `processes` fresh processes, one after the other."""
    command = [sys.executable, __file__, "--speed-child", workload, "--cells", ",".join(cells)]
    command += ["--reps", str(reps), "--batches", str(batches), "--feed", feed]
    command += ["--jit"] if jit else []
    command += [] if reference else ["--no-reference"]
    runs = []
    for index in range(processes):
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        rows = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append({(cell, compiled): (train, pred) for cell, compiled, train, pred in rows})
        print(f"  process {index + 1}/{processes} done", flush=True)
    return runs


def _print_process_table(runs, cells, jit, memory):
    """Median (and range) over processes of each within-process ratio."""
    reference = (REFERENCE, False) in runs[0]
    columns = [("train", False, 0, "keras_lstm"), ("pred", False, 1, "keras_lstm")]
    if jit:
        columns += [("jit train", True, 0, "keras_lstm"), ("jit pred", True, 1, "keras_lstm")]
    if reference:
        columns += [("train/nn.LSTM", False, 0, REFERENCE), ("pred/nn.LSTM", False, 1, REFERENCE)]
    print(f"{'cell':<12}" + "".join(f"{name:>22}" for name, *_ in columns), end="")
    print(f"{'train MB ratio':>16}" if memory else "")
    rows = cells + ([REFERENCE] if reference else [])
    for cell in rows:
        line = f"{cell:<12}"
        for _, compiled, index, base in columns:
            if (cell, compiled) not in runs[0]:
                line += f"{'':>22}"
                continue
            ratios = sorted(
                run[(cell, compiled)][index] / run[(base, False)][index] for run in runs
            )
            line += f"{np.median(ratios):10.2f} [{ratios[0]:.2f}-{ratios[-1]:.2f}]"
        if memory and cell in memory:
            line += f"{memory[cell] / memory['keras_lstm']:16.2f}"
        print(line, flush=True)


def _set_threads(threads: int) -> None:
    """One thread count for every backend and the reference, before any of
    them is imported (the variables also reach the child processes)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default=None, help="default: every LSTM-family cell")
    parser.add_argument("--workloads", default="W1,W2")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batches", type=int, default=15, help="batches per timed epoch")
    parser.add_argument("--jit", action="store_true", help="also measure jit_compile=True")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--feed",
        choices=["arrays", "dataset"],
        default="arrays",
        help="NumPy arrays (batch size known when traced) or a tf.data.Dataset "
        "batched without drop_remainder (batch size unknown when traced)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="repeat the measurement in this many fresh processes; report median ratios",
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="leave out the torch.nn.LSTM reference"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per process for every backend and the reference (default: the "
        "libraries' own, one per core); 1 gives steadier ratios on a loaded machine",
    )
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--speed-child", help=argparse.SUPPRESS)
    parser.add_argument("--reference-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.processes < 1:
        parser.error(f"argument --processes: expected a positive integer, got {args.processes}")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"argument --threads: expected a positive integer, got {args.threads}")
        _set_threads(args.threads)
    import lstm_apps

    if args.cells is None:
        args.cells = ",".join(
            name
            for name in lstm_apps.cells.names()
            if isinstance(lstm_apps.cells.create(name, 1), lstm_apps.cells.LSTMCellBase)
        )
    if args.reference_child:
        _reference_child(args.reference_child, args.reps, args.batches)
        return
    if args.memory_child:
        _peak_rss_child(*args.memory_child)
        return
    if args.speed_child:
        _speed_child(
            args.speed_child,
            args.cells.split(","),
            args.reps,
            args.batches,
            args.jit,
            args.feed,
            not args.no_reference,
        )
        return
    if args.reps < 5:
        print(f"note: --reps {args.reps} < 5; the issue asks for the median of at least 5")
    import keras

    cells = ["keras_lstm"] + [c for c in args.cells.split(",") if c and c != "keras_lstm"]
    print(
        f"backend={keras.backend.backend()} keras={keras.__version__} cores={os.cpu_count()} "
        f"threads={args.threads or 'default'} load={os.getloadavg()[0]:.1f}"
    )
    for workload in args.workloads.split(","):
        print(
            f"\n== {workload}: {WORKLOADS[workload]}  "
            f"(reps={args.reps}, batches={args.batches}, feed={args.feed})"
        )
        reference = not args.no_reference
        if args.processes > 1:
            runs = measure_speed_in_processes(
                workload,
                cells,
                args.reps,
                args.batches,
                args.jit,
                args.processes,
                args.feed,
                reference,
            )
            memory = None if args.no_memory else measure_memories(workload, cells)
            print(f"median [min-max] over {args.processes} processes of the ratio to keras_lstm")
            _print_process_table(runs, cells, args.jit, memory)
            continue
        speed = measure_speed(
            workload, cells, args.reps, args.batches, args.jit, args.feed, reference
        )
        warmup = speed.pop("warmup")
        base_train, base_pred = speed[("keras_lstm", False)]
        header = f"{'cell':<12}{'train/s':>9}{'ratio':>7}{'pred/s':>9}{'ratio':>7}"
        if reference:
            header += f"{'train/nn.LSTM':>14}{'pred/nn.LSTM':>13}"
        header += f"{'warm-up s':>10}"
        if args.jit:
            header += f"{'jit train':>11}{'ratio':>7}{'jit pred':>10}{'ratio':>7}"
        if not args.no_memory:
            header += f"{'train MB':>9}{'ratio':>7}"
        print(header)
        memory = None if args.no_memory else measure_memories(workload, cells)
        for cell in cells + ([REFERENCE] if reference else []):
            train, pred = speed[(cell, False)]
            line = (
                f"{cell:<12}{train:9.0f}{train / base_train:7.2f}{pred:9.0f}{pred / base_pred:7.2f}"
            )
            if reference:
                ref_train, ref_pred = speed[(REFERENCE, False)]
                line += f"{train / ref_train:14.2f}{pred / ref_pred:13.2f}"
            line += f"{warmup.get((cell, False), float('nan')):10.1f}"
            if cell == REFERENCE:
                print(line, flush=True)
                continue
            if args.jit:
                jtrain, jpred = speed[(cell, True)]
                line += (
                    f"{jtrain:11.0f}{jtrain / base_train:7.2f}{jpred:10.0f}{jpred / base_pred:7.2f}"
                )
            if memory is not None:
                mem = memory[cell]
                line += f"{mem:9.0f}{mem / memory['keras_lstm']:7.2f}"
            print(line, flush=True)
    print(
        "\nratios: relative to keras.layers.LSTM (jit columns: relative to keras.layers.LSTM "
        "without jit; nn.LSTM columns: relative to torch.nn.LSTM) in this run; > 1 is faster "
        "(or, for memory, more)."
    )


if __name__ == "__main__":
    main()
