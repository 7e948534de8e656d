"""lstm_apps: LSTM cells, gate introspection, recipes and tuning for Keras 3.

The cells and layers are imported (and so registered with Keras's
serialization) as soon as `lstm_apps` is imported: `keras.saving.load_model`
then needs nothing more than `import lstm_apps`. The heavier parts (gate
tracing, recipes, tuning) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "trace_gates": "lstm_apps.gates",
    "GateTrace": "lstm_apps.gates",
    "GateMonitor": "lstm_apps.callbacks",
    "tuning": "lstm_apps.tuning",
    "tune": "lstm_apps.tuning",
    "forecasting": "lstm_apps.forecasting",
    "LSTMForecaster": "lstm_apps.forecasting",
}

__all__ = [
    "LSTM",
    "CoupledLSTMCell",
    "GateMonitor",
    "GateTrace",
    "LSTMForecaster",
    "PeepholeLSTMCell",
    "StandardLSTMCell",
    "VariantLSTMCell",
    "__version__",
    "cells",
    "forecasting",
    "layers",
    "trace_gates",
    "tune",
    "tuning",
]

from lstm_apps import cells, layers  # noqa: E402  (registers the custom objects)
from lstm_apps.cells import (  # noqa: E402
    CoupledLSTMCell,
    PeepholeLSTMCell,
    StandardLSTMCell,
    VariantLSTMCell,
)
from lstm_apps.layers import LSTM  # noqa: E402


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
