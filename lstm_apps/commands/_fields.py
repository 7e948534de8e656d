"""The fields of a recipe's config dataclass, read without importing the recipe.

The configs live in their recipe modules, which import Keras, TensorFlow and
pandas at the top. To build `lstm-apps forecast --help` without them, this
module evaluates the config's class statement from the module's source in a
namespace of its own: the module-level names the class statement needs
(helpers such as `_help`, constants such as `TASKS`, `ts.PRESETS`) are
evaluated the same way from the source of the lstm_apps module that defines
them, and standard-library modules are imported as usual. Method bodies
(`__post_init__`) are compiled, never run: the stand-in class only tells the
fields' names, annotations, defaults and metadata.

Anything else (a name from a third-party module, a class statement that
fails) falls back to importing the recipe, so the fields are always those of
the real class; tests compare the two for every recipe.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import dataclasses
import importlib
import logging
import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["config_class_fields", "light_fields", "light_value"]

logger = logging.getLogger(__name__)

_PACKAGE = "lstm_apps"
_ROOT = Path(__file__).resolve().parents[1]  # the lstm_apps package folder
_FLAGS = __future__.annotations.compiler_flag


class _Unreadable(Exception):
    """The source uses something that cannot be evaluated without importing it."""


def _source(module: str) -> Path | None:
    """The source file of an lstm_apps module, or None (not one, or not a plain file)."""
    parts = module.split(".")
    if parts[0] != _PACKAGE:
        return None
    base = _ROOT.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


class _Proxy:
    """Stands for an lstm_apps module: `proxy.NAME` evaluates NAME from its source."""

    def __init__(self, module: _Module) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return self._module.get(name)


class _Module:
    """The module-level statements of one lstm_apps module, evaluated on demand."""

    _cache: dict[str, _Module] = {}

    @classmethod
    def of(cls, name: str) -> _Module:
        if name not in cls._cache:
            cls._cache[name] = cls(name)
        return cls._cache[name]

    def __init__(self, name: str) -> None:
        path = _source(name)
        if path is None:
            raise _Unreadable(f"no source file for {name}")
        self.name = name
        self.path = path
        self.is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.statements: dict[str, ast.stmt] = {}
        self.imported: dict[str, tuple[ast.stmt, ast.alias]] = {}
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                self.statements[stmt.name] = stmt
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self.statements[target.id] = stmt
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                if isinstance(stmt.target, ast.Name):
                    self.statements[stmt.target.id] = stmt
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    self.imported[bound] = (stmt, alias)
        # A module object of its own (never the real one): `dataclasses` looks the
        # class's module up in `sys.modules` while it processes the class.
        self.module = types.ModuleType(f"{__name__}:{name}")
        self.module.__builtins__ = builtins  # type: ignore[attr-defined]
        self.namespace: dict[str, Any] = self.module.__dict__
        self._busy: set[str] = set()

    # -- names
    def get(self, name: str) -> Any:
        if name in self.namespace:
            return self.namespace[name]
        if name in self._busy:
            raise _Unreadable(f"{self.name}.{name} refers to itself")
        self._busy.add(name)
        try:
            if name in self.imported:
                value = self._import(*self.imported[name])
            elif name in self.statements:
                value = self._evaluate(name, self.statements[name])
            elif hasattr(builtins, name):
                return getattr(builtins, name)
            else:
                raise _Unreadable(f"{self.name} defines no {name!r}")
        finally:
            self._busy.discard(name)
        self.namespace[name] = value
        return value

    def _import(self, stmt: ast.stmt, alias: ast.alias) -> Any:
        if isinstance(stmt, ast.Import):
            target = alias.name if alias.asname else alias.name.split(".")[0]
            return _module_value(target)
        assert isinstance(stmt, ast.ImportFrom)
        base = stmt.module or ""
        if stmt.level:
            package = self.name if self.is_package else self.name.rpartition(".")[0]
            for _ in range(stmt.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        if base == "__future__":
            raise _Unreadable("__future__ names are compiler flags")
        if base.split(".")[0] == _PACKAGE:
            if _source(f"{base}.{alias.name}") is not None:  # a submodule
                return _Proxy(_Module.of(f"{base}.{alias.name}"))
            return _Module.of(base).get(alias.name)
        return getattr(_module_value(base), alias.name)

    def _evaluate(self, name: str, stmt: ast.stmt) -> Any:
        for used in _names_used(stmt):
            if used != name and used not in self.namespace and (
                used in self.statements or used in self.imported
            ):
                self.get(used)
        code = compile(ast.Module(body=[stmt], type_ignores=[]), str(self.path), "exec",
                       flags=_FLAGS, dont_inherit=True)
        sys.modules[self.module.__name__] = self.module
        try:
            exec(code, self.namespace)
        finally:
            del sys.modules[self.module.__name__]
        return self.namespace[name]


def _module_value(name: str) -> Any:
    """A module named in an import: a standard-library one imported, an lstm_apps one a proxy."""
    if name.split(".")[0] == _PACKAGE:
        return _Proxy(_Module.of(name))
    if name.split(".")[0] in sys.stdlib_module_names:
        return importlib.import_module(name)
    raise _Unreadable(f"{name} is not part of the standard library")


def _names_used(stmt: ast.stmt) -> set[str]:
    """Global names that running `stmt` reads.

    Annotations are strings (`from __future__ import annotations`) and a
    class's method bodies run only when it is used, so both are left out.
    """

    def function_parts(item: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
        defaults = [*item.args.defaults, *[d for d in item.args.kw_defaults if d is not None]]
        return [*item.decorator_list, *defaults]

    if isinstance(stmt, ast.ClassDef):
        nodes: list[ast.AST] = [*stmt.decorator_list, *stmt.bases, *stmt.keywords]
        for item in stmt.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                nodes += function_parts(item)
            elif isinstance(item, ast.AnnAssign):
                nodes += [item.value] if item.value is not None else []
            else:
                nodes.append(item)
    elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        nodes = [*function_parts(stmt), *stmt.body]
    elif isinstance(stmt, ast.AnnAssign):
        nodes = [stmt.value] if stmt.value is not None else []
    else:
        nodes = [stmt]
    names = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                names.add(sub.id)
    return names


def light_fields(module: str, name: str) -> tuple[dataclasses.Field, ...]:
    """The fields of dataclass `module.name` evaluated from the source, never importing it.

    Raises:
        ValueError: the class statement needs something outside the standard
            library and lstm_apps's own module-level definitions.
    """
    try:
        cls = _Module.of(module).get(name)
    except _Unreadable as error:
        raise ValueError(f"{module}.{name} cannot be read from its source: {error}") from None
    if not dataclasses.is_dataclass(cls):
        raise ValueError(f"{module}.{name} is not a dataclass.")
    return dataclasses.fields(cls)


def light_value(module: str, name: str) -> Any:
    """A module-level constant of `module` (the real one when imported already)."""
    loaded = sys.modules.get(module)
    if loaded is not None and hasattr(loaded, name):
        return getattr(loaded, name)
    try:
        return _Module.of(module).get(name)
    except Exception as error:  # noqa: BLE001  (any failure: the real module answers)
        logger.debug("%s.%s read by importing the module (%s)", module, name, error)
        return getattr(importlib.import_module(module), name)


def config_class_fields(module: str, name: str) -> tuple[dataclasses.Field, ...]:
    """The fields of config dataclass `module.name`: the real class's when it is imported
    already, else read from the source (`light_fields`), else by importing the module."""
    loaded = sys.modules.get(module)
    if loaded is not None and hasattr(loaded, name):
        return dataclasses.fields(getattr(loaded, name))
    try:
        return light_fields(module, name)
    except Exception as error:  # noqa: BLE001  (any failure: the real class answers)
        logger.debug("%s.%s read by importing the module (%s)", module, name, error)
        return dataclasses.fields(getattr(importlib.import_module(module), name))
