"""IMDB sentiment benchmark: the default model and its ablations, on the full data.

Trains `lstm_apps.recipes.sentiment` on all 25,000 training reviews of
`../shared/data/imdb` (22,500 for training, 2,500 for validation), evaluates
once on all 25,000 test reviews, and prints one row per variant: test
accuracy, ROC AUC, validation accuracy (and the validation-to-test gap),
best/run epochs, preparation and training minutes, CPU minutes and peak
memory. The variants (`VARIANTS`):

- `default`: the default `SentimentConfig` (n-gram branch trained alone,
  then the LSTM branch trained on top of it, `fusion="residual"`); its run
  also measures the n-gram branch alone, the model without its LSTM part,
  on the same test reviews, printed under the table;
- `ensemble`: each branch trained alone, then blended with weights fitted on
  validation (`fusion="ensemble"`); its run also measures the LSTM branch
  alone;
- `joint`: the two branches trained together as one model (`fusion="joint"`);
- `lstm_only`: the same without its n-gram branch (`branches="lstm"`);
- `ngram_only`: the same without its LSTM branch (`branches="ngram"`);
- `nig`, `nog`, `peephole`, `coupled`, `keras_lstm`, `gru`: the default with
  another cell in the LSTM branch (the Greff et al. ablations: no input
  gate, no output gate; Keras's own LSTM; a GRU);
- `lstm_only_nig`, `lstm_only_nog`: the cell ablations without the n-gram
  branch.

Each variant runs in a fresh Python process, so its peak memory (max RSS) is
its own and no variant warms a cache for the next.

Target: the default reaches 0.90 test accuracy within 20 minutes of training
on a 2-core CPU. Timings are wall-clock and move with whatever else runs on
the machine: the load average is printed beside them.

Usage:

    python benchmarks/bench_imdb.py                                   # every variant
    python benchmarks/bench_imdb.py --variants default,lstm_only,ngram_only
    python benchmarks/bench_imdb.py --variants default --max-train-samples 2000 \\
        --max-test-samples 2000 --epochs 1

Each run folder lands under `--output-dir` (default `runs/bench_imdb/<variant>`),
and the table as `results.json` beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "imdb"
#: Variant name -> `SentimentConfig` overrides.
VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "ensemble": {"fusion": "ensemble"},
    "joint": {"fusion": "joint"},
    "lstm_only": {"branches": "lstm"},
    "ngram_only": {"branches": "ngram"},
    "nig": {"cell": "nig"},
    "nog": {"cell": "nog"},
    "lstm_only_nig": {"branches": "lstm", "cell": "nig"},
    "lstm_only_nog": {"branches": "lstm", "cell": "nog"},
    "peephole": {"cell": "peephole"},
    "coupled": {"cell": "coupled"},
    "keras_lstm": {"cell": "keras_lstm"},
    "gru": {"cell": "gru"},
}


def _one(args: argparse.Namespace) -> None:
    """Runs one variant in this process and prints its result as one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from lstm_apps.recipes.sentiment import SentimentConfig, run

    overrides = {
        k: v
        for k, v in {
            "epochs": args.epochs,
            "max_train_samples": args.max_train_samples,
            "max_test_samples": args.max_test_samples,
        }.items()
        if v is not None
    }
    config = SentimentConfig(
        data=args.data,
        **VARIANTS[args.one],
        output_dir=Path(args.output_dir) / args.one,
        gate_monitor=args.gate_monitor,
        verbose=args.verbose,
        **overrides,
    )
    start, cpu = time.perf_counter(), time.process_time()
    result = run(config)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    row = {
        **result.metrics,
        "load_average": round(os.getloadavg()[0], 1),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_rss_mib": round(peak),
    }
    print("RESULT " + json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="IMDB data source")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated variants, of {', '.join(VARIANTS)}",
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs")
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--max-test-samples", type=int, default=None)
    parser.add_argument("--output-dir", default=str(REPO / "runs" / "bench_imdb"))
    parser.add_argument(
        "--gate-monitor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the default gate monitoring (on)",
    )
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _one(args)
        return 0

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; expected some of {list(VARIANTS)}")
    rows = {}
    for variant in variants:
        command = [
            sys.executable,
            __file__,
            "--one",
            variant,
            "--data",
            args.data,
            "--output-dir",
            args.output_dir,
            "--verbose",
            str(args.verbose),
            "--gate-monitor" if args.gate_monitor else "--no-gate-monitor",
        ]
        for flag, value in (
            ("--epochs", args.epochs),
            ("--max-train-samples", args.max_train_samples),
            ("--max-test-samples", args.max_test_samples),
        ):
            if value is not None:
                command += [flag, str(value)]
        print(f"== {variant}", flush=True)
        results = []
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
            for line in process.stdout:  # stream the child's progress as it comes
                if line.startswith("RESULT "):
                    results.append(json.loads(line[7:]))
                else:
                    print(line, end="", flush=True)
        if process.returncode or not results:
            print(f"{variant}: failed (exit code {process.returncode})", flush=True)
            continue
        rows[variant] = results[0]

    if not rows:
        return 1
    header = (
        f"{'variant':<14} {'test acc':>8} {'test AUC':>8} {'val acc':>7} {'gap':>6} "
        f"{'best/run':>8} {'prep min':>8} {'train min':>9} {'CPU min':>7} {'peak GiB':>8} "
        f"{'load':>5}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for variant, r in rows.items():
        print(
            f"{variant:<14} {r['test_accuracy']:>8.4f} {r['test_auc']:>8.4f} "
            f"{r['val_accuracy']:>7.4f} {r['val_accuracy'] - r['test_accuracy']:>+6.3f} "
            f"{r['best_epoch']:>3}/{r['epochs_run']:<4} {r['prepare_seconds'] / 60:>8.1f} "
            f"{r['train_seconds'] / 60:>9.1f} {r['cpu_seconds'] / 60:>7.1f} "
            f"{r['peak_rss_mib'] / 1024:>8.2f} {r['load_average']:>5.1f}"
        )
    for variant, r in rows.items():
        if "ngram_test_accuracy" not in r:  # one branch, or joint training
            continue
        # A two-stage model: its n-gram branch alone (and an ensemble's LSTM
        # branch alone), same run, same test reviews.
        line = f"{variant}: "
        if "lstm_test_accuracy" in r:
            line += (f"LSTM branch alone {r['lstm_test_accuracy']:.4f} "
                     f"(AUC {r['lstm_test_auc']:.4f}), ")
        line += (
            f"n-gram branch alone {r['ngram_test_accuracy']:.4f} (AUC "
            f"{r['ngram_test_auc']:.4f}), model {r['test_accuracy']:.4f}: the LSTM adds "
            f"{r['test_accuracy'] - r['ngram_test_accuracy']:+.4f} accuracy, "
            f"{r['test_auc'] - r['ngram_test_auc']:+.4f} AUC"
        )
        if "blend_weights" in r:
            w = r["blend_weights"]
            line += (f"; weights LSTM {w['lstm']:.3f}, n-gram {w['ngram']:.3f}, "
                     f"bias {w['bias']:+.3f}")
        print(line)
    print(
        f"\n{next(iter(rows.values()))['train_samples']} training reviews, "
        f"{next(iter(rows.values()))['test_samples']} test reviews. 'gap' is validation "
        "minus test accuracy; 'prep min' the vocabularies and n-gram counts, 'train min' "
        "the wall-clock time of fit(); 'CPU min' the CPU time of the whole run (load, "
        "prepare, train, test) of all threads; 'load' the 1-minute load average at the end "
        f"of each run, on {os.cpu_count()} CPUs: wall-clock times are noisy when other jobs "
        "run."
    )
    sys.path.insert(0, str(REPO))
    from lstm_apps import _io

    _io.write_json(Path(args.output_dir) / "results.json", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
