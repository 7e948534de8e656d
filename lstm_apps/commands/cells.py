"""`lstm-apps cells`: list the cells and variants."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("cells", help="list the LSTM cells and variants")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lstm_apps import cells

    lines = cells.describe()
    width = max(map(len, lines))
    for name, text in lines.items():
        print(f"{name:<{width}}  {text}")
    return 0
