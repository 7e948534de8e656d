"""Pieces every recipe shares: the recurrent block by cell name, seeding, run folders."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lstm_apps._validation import check_int

__all__ = [
    "BASELINE_CELLS",
    "check_cell",
    "gates_traceable",
    "has_forget_gate",
    "recipe_cells",
    "recurrent_stack",
    "config_to_dict",
]

logger = logging.getLogger(__name__)

#: Keras's own recurrent layers, offered by every recipe as baselines.
BASELINE_CELLS = ("keras_lstm", "gru")


def recipe_cells() -> list[str]:
    """Every `cell` value a recipe accepts: lstm_apps cells and variants, then baselines."""
    from lstm_apps import cells

    return cells.names() + list(BASELINE_CELLS)


def has_forget_gate(cell: str) -> bool:
    """Whether a recipe's `cell` (a valid name) has an LSTM forget gate to initialise.

    True for "keras_lstm" and the lstm_apps cells whose gate spec has one;
    False for "gru" and the cells without a gate spec (sLSTM, mLSTM,
    minLSTM, minGRU), which chrono initialisation does not cover.
    """
    if cell in BASELINE_CELLS:
        return cell == "keras_lstm"
    from lstm_apps import cells

    spec = getattr(cells.create(cell, 1), "spec", None)
    return bool(spec is not None and spec.forget_gate)


def gates_traceable(cell: str) -> bool:
    """Whether gate tracing and `GateMonitor` cover a recipe's `cell` (a valid name).

    True for "keras_lstm" and every lstm_apps cell (the LSTM cells and
    variants, the sLSTM and mLSTM with their stabilised gates, the minLSTM
    and minGRU with their normalised or update gates; see
    `lstm_apps.gates.LayerTrace`); False for "gru".

    Example:

    >>> from lstm_apps.recipes._common import gates_traceable
    >>> [gates_traceable(c) for c in ("standard", "mlstm", "minlstm", "mingru", "gru")]
    [True, True, True, True, False]
    """
    if cell in BASELINE_CELLS:
        return cell == "keras_lstm"
    from lstm_apps import cells
    from lstm_apps.gates import is_traceable

    return is_traceable(cells.create(cell, 1))


def check_cell(cell: Any, argument: str = "cell") -> str:
    """Returns the normalised cell name, or raises a ValueError listing the valid ones."""
    valid = recipe_cells()
    key = cell.lower() if isinstance(cell, str) else None
    if key not in valid:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected one of "
            f"{valid}, got {cell!r}."
        )
    return key


def _one_layer(
    cell: str,
    units: int,
    return_sequences: bool,
    dropout: float,
    recurrent_dropout: float,
    seed: int | None,
    unit_forget_bias: bool,
    name: str,
) -> Any:
    import keras

    from lstm_apps.layers import LSTM

    common = dict(
        return_sequences=return_sequences,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        seed=seed,
        name=name,
    )
    if cell == "keras_lstm":
        return keras.layers.LSTM(units, unit_forget_bias=unit_forget_bias, **common)
    if cell == "gru":
        return keras.layers.GRU(units, **common)
    return LSTM(units, variant=cell, unit_forget_bias=unit_forget_bias, **common)


def recurrent_stack(
    cell: str,
    units: int | Sequence[int],
    layers: int = 1,
    bidirectional: bool = False,
    return_sequences: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    seed: int | None = None,
    unit_forget_bias: bool = True,
    name: str = "rnn",
) -> list[Any]:
    """Builds `layers` recurrent layers of one cell type, ready to stack.

    Args:
        cell: A name from `recipe_cells()` ("standard", "peephole", ...,
            "keras_lstm", "gru").
        units: Units per layer (one int for all layers, or one per layer).
        layers: Number of stacked layers (>= 1).
        bidirectional: Wrap each layer in `keras.layers.Bidirectional`.
        return_sequences: Whether the last layer returns the whole sequence
            (the others always do).
        dropout, recurrent_dropout: Dropout rates inside each layer.
        seed: Seed of the dropout masks (each layer gets `seed + index`).
        unit_forget_bias: Forget-gate bias initialised to 1 (ignored by GRU).
        name: Prefix of the layer names.

    Returns:
        The list of layers, named `rnn_0`, `rnn_1`, ... (`name` + index; the
        Bidirectional wrappers are named `bidirectional_rnn_0`, ...).

    Example:

    >>> from lstm_apps.recipes._common import recurrent_stack
    >>> [type(l).__name__ for l in recurrent_stack("peephole", 8, layers=2)]
    ['LSTM', 'LSTM']
    """
    import keras

    cell = check_cell(cell)
    layers = check_int("layers", layers, 1)
    sizes = [units] * layers if isinstance(units, int) else list(units)
    if len(sizes) != layers:
        raise ValueError(
            f"Received {len(sizes)} values for argument `units`, expected one or `layers`={layers}."
        )
    out = []
    for index, size in enumerate(sizes):
        last = index == layers - 1
        layer = _one_layer(
            cell,
            size,
            return_sequences=return_sequences or not last,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=None if seed is None else seed + index,
            unit_forget_bias=unit_forget_bias,
            name=f"{name}_{index}",
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{name}_{index}")
        out.append(layer)
    return out


def config_to_dict(config: Any) -> dict[str, Any]:
    """A recipe config as JSON-ready dict (paths as strings)."""
    data = dataclasses.asdict(config)
    return {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}
