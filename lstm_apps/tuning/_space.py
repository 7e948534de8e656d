"""The tunable settings of a recipe: their kinds, default ranges and how users narrow them.

Every tunable setting is a field of the recipe's config, and the
hyperparameter has the field's name. A user value for a setting is one of:

- `None`: not tuned; the base config's value is used and no hyperparameter
  is registered;
- a single value (`32`, `"peephole"`, `True`): fixed, registered as
  `hp.Fixed` so that it shows in the results table and in TensorBoard;
- for a number: a range `(min, max)` or `(min, max, step)`;
- for a choice or a boolean: a sequence of the allowed values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CHRONO_T_MAX", "DEFAULT_CELLS", "PARAMS", "Param", "Spec", "expand_cells", "resolve_space",
]

#: Cells searched by default: the three lstm_apps cells and the Keras baselines.
DEFAULT_CELLS = ("standard", "peephole", "coupled", "keras_lstm", "gru")
#: Default choices of `chrono_t_max`: 0 (off: the usual forget bias), then
#: chrono initialisation with memory timescales spread up to 100 or 1000 steps.
CHRONO_T_MAX = (0, 100, 1000)


@dataclasses.dataclass(frozen=True)
class Param:
    """A tunable setting: its kind, its default search range and its help text."""

    name: str
    kind: str  # "int", "float", "choice", "bool"
    default: Any
    help: str
    log: bool = False


#: Every setting a recipe hypermodel can tune, in the order it draws them.
PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("cell", "choice", DEFAULT_CELLS,
              "recurrent cell: lstm_apps cells and variants, keras_lstm or gru"),
        Param("units", "int", (8, 64, 8), "units per recurrent layer"),
        Param("layers", "int", (1, 2), "stacked recurrent layers"),
        Param("bidirectional", "bool", (False, True), "bidirectional recurrent layers"),
        Param("dropout", "float", (0.0, 0.5, 0.1), "dropout rate"),
        Param("recurrent_dropout", "float", (0.0, 0.3, 0.1),
              "dropout rate on the recurrent state"),
        Param("learning_rate", "float", (1e-4, 1e-2), "Adam learning rate (log scale)",
              log=True),
        Param("clipnorm", "choice", (0.0, 1.0, 5.0),
              "gradient clipping by norm, 0 = off"),
        Param("unit_forget_bias", "bool", (True, False),
              "forget-gate bias initialised to 1 (not drawn for gru)"),
        Param("chrono_t_max", "choice", CHRONO_T_MAX,
              "chrono initialisation's T_max (Tallec & Ollivier 2018), 0 = off; drawn only "
              "for the lstm_apps cells with a forget gate"),
    )
}


@dataclasses.dataclass(frozen=True)
class Spec:
    """A resolved search range for one setting."""

    name: str
    kind: str
    values: tuple[Any, ...] = ()  # choices ("choice", "bool") or the fixed value
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    fixed: bool = False

    def describe(self) -> str:
        """A short human-readable form, e.g. `Int(8..64, step 8)`."""
        if self.fixed:
            return f"Fixed({self.values[0]!r})"
        if self.kind == "bool":
            return "Boolean"
        if self.kind == "choice":
            return f"Choice({', '.join(map(repr, self.values))})"
        kind = "Int" if self.kind == "int" else "Float"
        extra = ", log" if self.log else (f", step {self.step:g}" if self.step else "")
        return f"{kind}({self.low:g}..{self.high:g}{extra})"

    def corners(self) -> tuple[Any, ...]:
        """The values at the ends of the range (or every choice)."""
        if self.fixed or self.kind in ("choice", "bool"):
            return self.values
        return (self.low, self.high)

    def draw(self, hp: Any, default: Any = None) -> Any:
        """Registers the hyperparameter on `hp` and returns its value."""
        if self.fixed:
            return hp.Fixed(self.name, self.values[0])
        if self.kind == "bool":
            return hp.Boolean(self.name, default=bool(default) if default is not None else False)
        if self.kind == "choice":
            default = default if default in self.values else self.values[0]
            return hp.Choice(self.name, list(self.values), default=default)
        if self.kind == "int":
            step = int(self.step or 1)
            if default is None or not (self.low <= default <= self.high):
                default = int(self.low)
            return hp.Int(self.name, int(self.low), int(self.high), step=step, default=default)
        if default is None or not (self.low <= default <= self.high):
            default = self.low
        return hp.Float(
            self.name, float(self.low), float(self.high), step=self.step,
            sampling="log" if self.log else "linear", default=float(default),
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value
    )


def _sequence(value: Any) -> bool:
    """A non-empty list or tuple (not a string)."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) > 0


def _bad(name: str, expected: str, value: Any) -> ValueError:
    return ValueError(
        f"Received an invalid value for argument `{name}`, expected {expected}, got {value!r}."
    )


def expand_cells(cells: Any, argument: str = "cells") -> tuple[str, ...]:
    """Cell names with the groups "default", "ablations", "xlstm", "min" and "all" expanded.

    Args:
        cells: A cell name, a group name or a sequence of them.
        argument: The argument named in error messages.

    Returns:
        The normalised cell names, in order, without duplicates.
    """
    from lstm_apps import cells as cells_module
    from lstm_apps.recipes._common import check_cell, recipe_cells

    main = ("standard", "peephole", "coupled")
    groups = {
        "default": DEFAULT_CELLS,
        "ablations": tuple(n for n in cells_module.names("lstm") if n not in main),
        "xlstm": tuple(cells_module.names("xlstm")),
        "min": tuple(cells_module.names("min")),
        "all": tuple(recipe_cells()),
    }
    items = [cells] if isinstance(cells, str) else cells
    if not isinstance(items, Sequence) or not items:
        raise _bad(argument, "a cell name or a non-empty sequence of cell names", cells)
    out: list[str] = []
    for item in items:
        key = item.lower() if isinstance(item, str) else item
        names = groups.get(key, None) if isinstance(key, str) else None
        if names is None:
            try:
                names = (check_cell(item, argument),)
            except ValueError:
                valid = recipe_cells() + list(groups)
                raise ValueError(
                    f"Received an invalid value for argument `{argument}`, expected cell "
                    f"names or groups from {valid}, got {item!r}."
                ) from None
        out.extend(n for n in names if n not in out)
    return tuple(out)


def _resolve_one(param: Param, value: Any) -> Spec:
    name = param.name
    if param.kind == "choice" and name == "cell":
        values = expand_cells(value, "cells")
        return Spec(name, "choice", values, fixed=len(values) == 1)
    if name == "chrono_t_max":  # 0 (off) or integers >= 2
        items = [value] if _is_number(value) else value
        if not _sequence(items) or not all(
            _is_number(v) and float(v).is_integer() and (v == 0 or v >= 2) for v in items
        ):
            raise _bad(name, "0 (off), an integer >= 2 or a non-empty sequence of them", value)
        values = tuple(dict.fromkeys(int(v) for v in items))
        return Spec(name, "choice", values, fixed=len(values) == 1)
    if param.kind == "choice":  # clipnorm: non-negative numbers
        items = [value] if _is_number(value) else value
        if not _sequence(items) or not all(_is_number(v) and v >= 0 for v in items):
            raise _bad(name, "a number >= 0 or a non-empty sequence of them (0 = off)", value)
        values = tuple(dict.fromkeys(float(v) for v in items))
        return Spec(name, "choice", values, fixed=len(values) == 1)
    if param.kind == "bool":
        items = [value] if isinstance(value, bool) else value
        if not _sequence(items) or not all(isinstance(v, bool) for v in items):
            raise _bad(name, "a boolean or a non-empty sequence of booleans", value)
        values = tuple(dict.fromkeys(items))
        return Spec(name, "bool", values, fixed=len(values) == 1)
    # numbers
    integer = param.kind == "int"
    kind_text = "an integer" if integer else "a number"

    def ok(v: Any) -> bool:
        return _is_number(v) and (not integer or float(v).is_integer())

    expected = f"{kind_text}, a range (min, max) or (min, max, step), or None"
    if ok(value):
        fixed = int(value) if integer else float(value)
        return Spec(name, param.kind, (fixed,), fixed=True)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) not in (
        2, 3
    ) or not all(ok(v) for v in value):
        raise _bad(name, expected, value)
    low, high = value[0], value[1]
    step = value[2] if len(value) == 3 else None
    if low > high:
        raise ValueError(
            f"Received an invalid range for argument `{name}`: min ({low!r}) > max ({high!r})."
        )
    if step is not None and step <= 0:
        raise ValueError(
            f"Received an invalid range for argument `{name}`: the step must be > 0, "
            f"got {step!r}."
        )
    if param.log and low <= 0:
        raise ValueError(
            f"Received an invalid range for argument `{name}`: it is searched on a log "
            f"scale, so min must be > 0, got {low!r}."
        )
    if low == high:
        fixed = int(low) if integer else float(low)
        return Spec(name, param.kind, (fixed,), fixed=True)
    if param.log and step is not None:
        raise ValueError(
            f"Received an invalid range for argument `{name}`: it is searched on a log "
            f"scale, which takes no step, got {value!r}."
        )
    cast = int if integer else float
    return Spec(
        name, param.kind, low=cast(low), high=cast(high),
        step=None if step is None else cast(step), log=param.log,
    )


def resolve_space(
    user: Mapping[str, Any],
    fields: Sequence[str],
    defaults: Mapping[str, Any],
    recipe: str,
) -> dict[str, Spec]:
    """The search space: user values over the recipe's defaults, checked.

    Args:
        user: Setting name -> user value (see the module docstring); settings
            not given keep their default range.
        fields: The fields of the recipe's config (only those can be tuned).
        defaults: Setting name -> default range for this recipe.
        recipe: The recipe's name, for error messages.

    Returns:
        Setting name -> `Spec`, in drawing order, without the settings that
        are not tuned.
    """
    tunable = [n for n in PARAMS if n in fields]
    for name in user:
        if name not in PARAMS:
            raise ValueError(
                f"Received an unknown search-space setting `{name}`; the {recipe} recipe "
                f"can tune {tunable}."
            )
        if name not in fields and user[name] is not None:
            raise ValueError(
                f"Received a search range for `{name}`, but the {recipe} recipe's config has "
                f"no field `{name}`; it can tune {tunable}."
            )
    space: dict[str, Spec] = {}
    for name in tunable:
        value = user[name] if name in user else defaults.get(name, PARAMS[name].default)
        if value is None:
            continue
        space[name] = _resolve_one(PARAMS[name], value)
    return space
