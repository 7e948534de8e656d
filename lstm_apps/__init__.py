"""lstm_apps: LSTM cells, gate introspection, recipes and tuning for Keras 3.

`import lstm_apps` itself imports nothing heavy: every public name loads on
first use (`lstm_apps.LSTM`, `lstm_apps.cells`, ...), so that `lstm-apps
--help` answers without starting Keras and TensorFlow.

The cells and layers are registered with Keras's serialization as soon as
Keras is imported, whichever of `import keras` and `import lstm_apps` comes
first: `keras.saving.load_model` then needs nothing more than `import
lstm_apps`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (a module's own name: the module)
_LAZY: dict[str, str] = {
    "cells": "lstm_apps.cells",
    "layers": "lstm_apps.layers",
    "LSTM": "lstm_apps.layers",
    "CoupledLSTMCell": "lstm_apps.cells",
    "PeepholeLSTMCell": "lstm_apps.cells",
    "StandardLSTMCell": "lstm_apps.cells",
    "VariantLSTMCell": "lstm_apps.cells",
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

# The modules whose import registers every serialisable lstm_apps object.
_REGISTERING = ("lstm_apps.cells", "lstm_apps.layers")


def _register() -> None:
    """Imports the cells and layers (their decorators register them with Keras)."""
    if any(name in sys.modules for name in _REGISTERING):
        # Being imported now (their own `import keras` got here) or done already:
        # the import under way registers them.
        return
    for name in _REGISTERING:
        importlib.import_module(name)


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Registers the lstm_apps objects right after the first `import keras`.

    Finds `keras` with the other finders and runs `_register` once its module
    has executed; the finder then leaves `sys.meta_path`.
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "keras":
            return None
        _remove_hook()
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            execute(module)
            _register()

        spec.loader.exec_module = exec_module  # this spec's own loader object
        return spec


_HOOK = _RegisterAfterKeras()


def _remove_hook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


if "keras" in sys.modules:
    _register()
else:
    sys.meta_path.insert(0, _HOOK)


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
