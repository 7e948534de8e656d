"""The lstm_apps cell family: Keras 3 cells for `keras.layers.RNN`.

`get(name)` returns a factory for any cell or variant by name;
`names()` lists them and `describe()` gives one line for each.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from lstm_apps.cells._base import GateSpec, LSTMCellBase
from lstm_apps.cells.coupled import CoupledLSTMCell
from lstm_apps.cells.peephole import PeepholeLSTMCell
from lstm_apps.cells.standard import StandardLSTMCell
from lstm_apps.cells.variants import VARIANTS, Variant, VariantLSTMCell

__all__ = [
    "CoupledLSTMCell",
    "GateSpec",
    "LSTMCellBase",
    "PeepholeLSTMCell",
    "StandardLSTMCell",
    "VARIANTS",
    "Variant",
    "VariantLSTMCell",
    "create",
    "describe",
    "get",
    "names",
]

_CLASSES: dict[str, tuple[Callable[..., LSTMCellBase], str]] = {
    "standard": (StandardLSTMCell, "standard LSTM, weight layout of keras.layers.LSTMCell"),
    "peephole": (PeepholeLSTMCell, "diagonal peepholes (Gers & Schmidhuber 2000)"),
    "coupled": (CoupledLSTMCell, "coupled input-forget gate, i = 1 - f (CIFG), 3 blocks"),
}


def names() -> list[str]:
    """All cell and variant names that `get` accepts, main cells first.

    Example:

    >>> from lstm_apps import cells
    >>> cells.names()[:4]
    ['standard', 'peephole', 'coupled', 'vanilla']
    """
    return list(_CLASSES) + list(VARIANTS)


def describe() -> dict[str, str]:
    """One line per cell or variant name.

    Example:

    >>> from lstm_apps import cells
    >>> cells.describe()["nfg"]
    'NFG: no forget gate (f = 1)'
    """
    lines = {name: text for name, (_, text) in _CLASSES.items()}
    lines.update({name: v.summary for name, v in VARIANTS.items()})
    return lines


def _check_name(name: Any) -> str:
    key = name.lower() if isinstance(name, str) else None
    if key not in _CLASSES and key not in VARIANTS:
        raise ValueError(
            "Received an invalid value for argument `name`, expected one of "
            f"{names()}, got {name!r}."
        )
    return key


def get(name: str) -> Callable[..., LSTMCellBase]:
    """Returns the cell factory for a cell or variant name.

    Args:
        name: A name from `names()`, case-insensitive.

    Returns:
        A callable taking `units` and the cell's keyword arguments: the class
        itself for "standard", "peephole" and "coupled", a
        `functools.partial` of `VariantLSTMCell` for a variant.

    Example:

    >>> from lstm_apps import cells
    >>> cells.get("peephole")
    <class 'lstm_apps.cells.peephole.PeepholeLSTMCell'>
    >>> cells.get("nog")(8).spec.output_gate
    False
    """
    key = _check_name(name)
    if key in _CLASSES:
        return _CLASSES[key][0]
    return functools.partial(VariantLSTMCell, variant=key)


def create(name: str, units: int, /, **kwargs: Any) -> LSTMCellBase:
    """Creates a cell by name: `get(name)(units, **kwargs)`.

    Example:

    >>> from lstm_apps import cells
    >>> cells.create("coupled", 8, peephole=True).spec.peepholes
    ('f', 'o')
    """
    return get(name)(units, **kwargs)
