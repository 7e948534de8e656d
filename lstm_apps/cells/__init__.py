"""The lstm_apps cell family: Keras 3 cells for `keras.layers.RNN`.

`get(name)` returns a factory for any cell or variant by name;
`names()` lists them and `describe()` gives one line for each. Three
families: the LSTM cells (the classic cells and Greff et al.'s variants,
which all take `keras.layers.LSTMCell`'s arguments), xLSTM's sLSTM and
mLSTM, and minLSTM / minGRU.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import keras

from lstm_apps.cells._base import GATE_ALIASES, GateSpec, LSTMCellBase, check_gate_clamp
from lstm_apps.cells.chrono import ChronoInitializer, check_chrono_t_max
from lstm_apps.cells.coupled import CoupledLSTMCell
from lstm_apps.cells.min_rnn import MinGRUCell, MinLSTMCell, ScanRNN, scan_loop
from lstm_apps.cells.peephole import PeepholeLSTMCell
from lstm_apps.cells.standard import StandardLSTMCell
from lstm_apps.cells.variants import VARIANTS, Variant, VariantLSTMCell
from lstm_apps.cells.xlstm import MLSTMCell, SLSTMCell

__all__ = [
    "GATE_ALIASES",
    "ChronoInitializer",
    "CoupledLSTMCell",
    "GateSpec",
    "LSTMCellBase",
    "MLSTMCell",
    "MinGRUCell",
    "MinLSTMCell",
    "PeepholeLSTMCell",
    "SLSTMCell",
    "ScanRNN",
    "StandardLSTMCell",
    "VARIANTS",
    "Variant",
    "VariantLSTMCell",
    "arguments",
    "check_chrono_t_max",
    "check_gate_clamp",
    "create",
    "describe",
    "get",
    "names",
    "scan_loop",
]

_CLASSES: dict[str, tuple[Callable[..., LSTMCellBase], str]] = {
    "standard": (StandardLSTMCell, "standard LSTM, weight layout of keras.layers.LSTMCell"),
    "peephole": (PeepholeLSTMCell, "diagonal peepholes (Gers & Schmidhuber 2000)"),
    "coupled": (CoupledLSTMCell, "coupled input-forget gate, i = 1 - f (CIFG), 3 blocks"),
}
#: The cells beyond the LSTM family, by family: name -> (class, one line).
_FAMILIES: dict[str, dict[str, tuple[Callable[..., Any], str]]] = {
    "xlstm": {
        "slstm": (SLSTMCell, "xLSTM sLSTM: exponential gates, normaliser, stabiliser, heads"),
        "mlstm": (MLSTMCell, "xLSTM mLSTM: matrix memory per head, parallel form for training"),
    },
    "min": {
        "minlstm": (MinLSTMCell, "minLSTM (Feng et al. 2024): input-only gates, parallel scan"),
        "mingru": (MinGRUCell, "minGRU (Feng et al. 2024): input-only update gate, parallel scan"),
    },
}
_OTHERS = {name: item for family in _FAMILIES.values() for name, item in family.items()}


def names(family: str | None = None) -> list[str]:
    """All cell and variant names that `get` accepts, main cells first.

    Args:
        family: `None` for every name; `"lstm"` for the LSTM cells and
            variants (those that take `keras.layers.LSTMCell`'s arguments),
            `"xlstm"` for sLSTM and mLSTM, `"min"` for minLSTM and minGRU.

    Example:

    >>> from lstm_apps import cells
    >>> cells.names()[:4]
    ['standard', 'peephole', 'coupled', 'vanilla']
    >>> cells.names("xlstm") + cells.names("min")
    ['slstm', 'mlstm', 'minlstm', 'mingru']
    """
    if family is not None and family not in ("lstm", *_FAMILIES):
        raise ValueError(
            "Received an invalid value for argument `family`, expected None or one of "
            f"{['lstm', *_FAMILIES]}, got {family!r}."
        )
    lstm = list(_CLASSES) + list(VARIANTS)
    if family == "lstm":
        return lstm
    if family is not None:
        return list(_FAMILIES[family])
    return lstm + list(_OTHERS)


def describe() -> dict[str, str]:
    """One line per cell or variant name.

    Example:

    >>> from lstm_apps import cells
    >>> cells.describe()["nfg"]
    'NFG: no forget gate (f = 1)'
    """
    lines = {name: text for name, (_, text) in _CLASSES.items()}
    lines.update({name: v.summary for name, v in VARIANTS.items()})
    lines.update({name: text for name, (_, text) in _OTHERS.items()})
    return lines


def _check_name(name: Any) -> str:
    key = name.lower() if isinstance(name, str) else None
    if key not in _CLASSES and key not in VARIANTS and key not in _OTHERS:
        raise ValueError(
            "Received an invalid value for argument `name`, expected one of "
            f"{names()}, got {name!r}."
        )
    return key


def get(name: str) -> Callable[..., keras.layers.Layer]:
    """Returns the cell factory for a cell or variant name.

    Args:
        name: A name from `names()`, case-insensitive.

    Returns:
        A callable taking `units` and the cell's keyword arguments: the class
        itself for "standard", "peephole", "coupled", "slstm", "mlstm",
        "minlstm" and "mingru", a `functools.partial` of `VariantLSTMCell`
        for a variant.

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
    if key in _OTHERS:
        return _OTHERS[key][0]
    return functools.partial(VariantLSTMCell, variant=key)


def create(name: str, units: int, /, **kwargs: Any) -> keras.layers.Layer:
    """Creates a cell by name: `get(name)(units, **kwargs)`.

    Example:

    >>> from lstm_apps import cells
    >>> cells.create("coupled", 8, peephole=True).spec.peepholes
    ('f', 'o')
    """
    return get(name)(units, **kwargs)


def arguments(name: str) -> frozenset[str]:
    """The keyword arguments that the cell named `name` takes (besides `units`).

    Example:

    >>> from lstm_apps import cells
    >>> sorted(cells.arguments("slstm") - cells.arguments("standard"))
    ['forget_gate', 'num_heads']
    """
    factory = get(name)
    klass = factory.func if isinstance(factory, functools.partial) else factory
    found: set[str] = set()
    for cls in klass.__mro__:
        if cls.__module__.startswith("keras"):
            break
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        found |= {
            p
            for p in inspect.signature(init).parameters
            if p not in ("self", "units", "kwargs", "args", "variant")
        }
        if not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
            break
    return frozenset(found)
