"""`lstm-apps memory`: can the cells carry information across long sequences?

Trains each cell (and `keras.layers.SimpleRNN`) on the adding problem (or a
recall task) at several sequence lengths, with the forget-gate bias
initialised to 1 and to 0, and prints which models solve it and how their
forget gate holds the information. Every field of `MemoryConfig` is an
option (`lstm-apps memory --help`).
"""

from __future__ import annotations

import argparse

from lstm_apps.commands._run_options import add_run_options, policy, resumed


def _flag(text: str) -> bool:
    value = text.lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


def register(sub: argparse._SubParsersAction) -> None:
    from lstm_apps.commands.forecast import add_config_arguments
    from lstm_apps.recipes.memory import MemoryConfig

    parser = sub.add_parser(
        "memory",
        help="long-range memory: the adding problem at several lengths, LSTM vs SimpleRNN",
        description=(
            "Trains each model on a long-dependency task (the first relevant value sits "
            "among the first 10 steps, the answer is due at the end) at each sequence "
            "length, and reports whether it solves the task (test MSE below "
            "solved_ratio x the trivial baseline's) and how its forget gate holds the "
            "information (mean forget gate, and retention: the product of the forget "
            "gate of the best-holding unit from the marker to the end)."
        ),
        epilog=(
            "examples:\n"
            "  lstm-apps memory\n"
            "  lstm-apps memory --lengths 50 100 200 400 --cells standard peephole "
            "simple_rnn --epochs 60\n"
            "  lstm-apps memory --task recall --unit-forget-bias on"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(parser, MemoryConfig, skip={"verbose", "lengths", "unit_forget_bias"})
    default = MemoryConfig()
    parser.add_argument(
        "--lengths", type=int, nargs="+", default=list(default.lengths),
        help=f"sequence lengths (default: {' '.join(map(str, default.lengths))})",
    )
    parser.add_argument(
        "--unit-forget-bias", type=_flag, nargs="+", default=list(default.unit_forget_bias),
        metavar="{on,off}",
        help="forget-gate bias 1 (on) and/or 0 (off) for the LSTM cells (default: on off)",
    )
    parser.add_argument(
        "--progress", type=int, choices=(0, 1, 2), default=0,
        help="Keras training output: 0 none, 1 progress bar, 2 one line per epoch "
        "(default: 0)",
    )
    add_run_options(parser, "memory")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lstm_apps.commands.forecast import config_from_args
    from lstm_apps.recipes import memory

    if args.resume is not None:
        args = resumed(args, args._argv)
    args.lengths = tuple(args.lengths)
    args.unit_forget_bias = tuple(args.unit_forget_bias)
    args.cells = tuple(args.cells)
    config = config_from_args(memory.MemoryConfig, args, verbose=args.progress)
    print(
        f"{config.task} task, lengths {list(config.lengths)}, models "
        f"{[label for label, _, _ in config.models()]}: training "
        f"{len(config.lengths) * len(config.models())} models..."
    )
    with policy(args):
        result = memory.run(config)
    table = result.results[
        ["length", "model", "test_mse", "ratio", "solved", "epochs", "seconds",
         "forget_mean", "retention"]
    ]
    print(f"\nTrivial baseline (predict the mean): MSE "
          f"{result.results['baseline_mse'].iloc[0]:.4g}; solved = test MSE < "
          f"{config.solved_ratio:g} x baseline.")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print("\nSolved:")
    print(result.solved().to_string())
    if result.run_dir is not None:
        print(f"\nRun folder: {result.run_dir}")
    return 0
