"""Every docstring `Example:` in the package runs and prints what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import lstm_apps

_FINDER = doctest.DocTestFinder()
#: The package's modules that have docstring examples.
_DOCUMENTED = [
    name
    for name in ["lstm_apps"]
    + sorted(m.name for m in pkgutil.walk_packages(lstm_apps.__path__, "lstm_apps."))
    if any(test.examples for test in _FINDER.find(importlib.import_module(name)))
]
#: The cell modules' examples also run under the JAX and torch backends.
_CELL_MODULES = {"lstm_apps.cells", "lstm_apps.layers"}


def _is_cell_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _CELL_MODULES)


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, marks=pytest.mark.backend) if _is_cell_module(m) else m for m in _DOCUMENTED],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_modules_have_examples():
    # Guards the test above against finding nothing to run.
    assert {
        "lstm_apps.gates",
        "lstm_apps.plots.gates",
        "lstm_apps.plots.memory",
        "lstm_apps.plots.sentiment",
        "lstm_apps.callbacks",
        "lstm_apps.layers",
        "lstm_apps.cells.peephole",
        "lstm_apps.recipes.forecast",
        "lstm_apps.recipes.registry",
        "lstm_apps.recipes.sentiment",
        "lstm_apps.tuning.search",
    } <= set(_DOCUMENTED)
