"""Speed of the xLSTM and minLSTM/minGRU cells against Keras's LSTM and GRU.

Training and predict throughput (samples/s) of `lstm_apps.LSTM(units,
variant=...)` for "minlstm", "mingru" (parallel scan over time), "mlstm"
(parallel form) and "slstm" (step loop), beside `keras.layers.LSTM` and
`keras.layers.GRU`, at several sequence lengths. One model per cell and
length: `Input((steps, features))`, the recurrent layer, `Dense(1)`, MSE,
Adam. All models of one length are built in one process and measured
interleaved (A B C A B C ...), `--reps` times; each figure is the median
over repetitions of the time of `--batches` calls of `train_on_batch` or
`predict_on_batch`, after one untimed call of each (tracing, compilation).
The ratio columns are the speed relative to `keras.layers.LSTM` and
`keras.layers.GRU` measured in the same run (> 1: faster).

The mLSTM's parallel form holds a (time x time) matrix per sample and
head; `--max-mlstm-steps` (default 1000) leaves it out of longer runs.

Usage:

    python benchmarks/bench_new_cells.py                       # 100, 1000, 4000 steps
    python benchmarks/bench_new_cells.py --steps 100 1000 --reps 3 --batches 2
    KERAS_BACKEND=jax python benchmarks/bench_new_cells.py --steps 100 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

CELLS = ("keras_lstm", "keras_gru", "minlstm", "mingru", "mlstm", "slstm")


def build(cell: str, steps: int, features: int, units: int):
    import keras

    import lstm_apps

    if cell == "keras_lstm":
        layer = keras.layers.LSTM(units)
    elif cell == "keras_gru":
        layer = keras.layers.GRU(units)
    else:
        layer = lstm_apps.LSTM(units, variant=cell)
    model = keras.Sequential([keras.Input((steps, features)), layer, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def timed(fn, batches: int) -> float:
    start = time.perf_counter()
    for _ in range(batches):
        fn()
    return (time.perf_counter() - start) / batches


def run_length(args: argparse.Namespace, steps: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, steps, args.features)).astype("float32")
    y = rng.normal(size=(args.batch, 1)).astype("float32")
    cells = [c for c in args.cells if not (c == "mlstm" and steps > args.max_mlstm_steps)]
    models, warmup = {}, {}
    for cell in cells:
        start = time.perf_counter()
        model = build(cell, steps, args.features, args.units)
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
        models[cell] = model
        warmup[cell] = time.perf_counter() - start
    times: dict[str, dict[str, list[float]]] = {c: {"train": [], "predict": []} for c in cells}
    for _ in range(args.reps):
        for cell, model in models.items():
            times[cell]["train"].append(timed(lambda: model.train_on_batch(x, y), args.batches))
            times[cell]["predict"].append(timed(lambda: model.predict_on_batch(x), args.batches))
    out = {}
    for cell in cells:
        out[cell] = {
            kind: args.batch / statistics.median(times[cell][kind]) for kind in ("train", "predict")
        }
        out[cell]["warmup"] = warmup[cell]
    return out


def report(steps: int, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{steps} steps (samples/s; ratio to keras LSTM | keras GRU, same run)")
    header = (
        f"{'cell':<11} {'train/s':>9} {'xLSTM':>6} {'xGRU':>6}"
        f" {'predict/s':>10} {'xLSTM':>6} {'xGRU':>6} {'warm-up s':>9}"
    )
    print(header)
    base_l, base_g = results.get("keras_lstm"), results.get("keras_gru")
    for cell, r in results.items():
        parts = [f"{cell:<11}"]
        for kind, width in (("train", 9), ("predict", 10)):
            parts.append(f"{r[kind]:>{width}.1f}")
            for base in (base_l, base_g):
                parts.append(f"{r[kind] / base[kind]:>6.2f}" if base else f"{'-':>6}")
        parts.append(f"{r['warmup']:>9.1f}")
        print(" ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 1000, 4000])
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--batches", type=int, default=2, help="timed calls per repetition")
    parser.add_argument("--max-mlstm-steps", type=int, default=1000)
    args = parser.parse_args()
    import keras

    print(
        f"backend {keras.backend.backend()}, batch {args.batch}, {args.features} features, "
        f"{args.units} units, median of {args.reps} interleaved reps x {args.batches} batches"
    )
    for steps in args.steps:
        report(steps, run_length(args, steps))


if __name__ == "__main__":
    main()
