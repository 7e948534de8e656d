"""lstm_apps: LSTM cells, gate introspection, recipes and tuning for Keras 3.

The public names below are loaded on first use, so that `lstm-apps --version`
and `import lstm_apps` do not pay for importing Keras and its backend.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "LSTM": "lstm_apps.layers",
    "StandardLSTMCell": "lstm_apps.cells",
    "PeepholeLSTMCell": "lstm_apps.cells",
    "CoupledLSTMCell": "lstm_apps.cells",
    "VariantLSTMCell": "lstm_apps.cells",
    "cells": "lstm_apps.cells",
    "layers": "lstm_apps.layers",
}

__all__ = [
    "LSTM",
    "CoupledLSTMCell",
    "PeepholeLSTMCell",
    "StandardLSTMCell",
    "VariantLSTMCell",
    "__version__",
    "cells",
    "layers",
]

if TYPE_CHECKING:  # pragma: no cover
    from lstm_apps import cells, layers
    from lstm_apps.cells import (
        CoupledLSTMCell,
        PeepholeLSTMCell,
        StandardLSTMCell,
        VariantLSTMCell,
    )
    from lstm_apps.layers import LSTM


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lstm_apps' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
