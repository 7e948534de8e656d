"""Argument checks shared by the package: one message form, one exception per kind of mistake.

Every check names the argument, says what it expects and shows what it got,
as Keras does:

    Received an invalid value for argument `units`, expected a positive integer, got 0.

A value of the wrong type (a string where a number is expected, a bool where
an integer is) raises `WrongTypeError`, which is a `TypeError` and also a
`ValueError`: callers that caught either kind before keep working, whichever
their module used to raise. A value of the right type that is out of range,
not finite, not one of the options or empty raises a `ValueError`.
`optional=True` lets None through. Each check returns the value normalised
(`int`, `float`, `bool`, `str`), so NumPy scalars do not leak into configs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "WrongTypeError",
    "check_bool",
    "check_choice",
    "check_int",
    "check_real",
    "check_text",
    "invalid_message",
]

_INTEGERS = (int, np.integer)
_REALS = (int, float, np.integer, np.floating)
_BOOLS = (bool, np.bool_)


class WrongTypeError(TypeError, ValueError):
    """An argument of the wrong type: a `TypeError` that is also a `ValueError`.

    Example:

    >>> from lstm_apps._validation import WrongTypeError, check_int
    >>> try:
    ...     check_int("units", "8", 1)
    ... except ValueError as error:  # `except TypeError` catches it as well
    ...     print(type(error).__name__, error)
    WrongTypeError Received an invalid value for argument `units`, ... got '8'.
    """


def invalid_message(name: str, expected: str, value: Any) -> str:
    """The message of an invalid argument: its name, what it takes, what it got.

    Example:

    >>> from lstm_apps._validation import invalid_message
    >>> invalid_message("units", "a positive integer", 0)
    'Received an invalid value for argument `units`, expected a positive integer, got 0.'
    """
    return f"Received an invalid value for argument `{name}`, expected {expected}, got {value!r}."


def _or_none(expected: str, optional: bool) -> str:
    """The expectation of a wrong type: " or None" added when None is allowed (once)."""
    return f"{expected} or None" if optional and not expected.endswith(" or None") else expected


def _interval(low: Any, high: Any, low_open: bool, high_open: bool) -> str:
    """"in [0, 1)", ">= 2", "< 5" or "" for the bounds given."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def check_int(
    name: str,
    value: Any,
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    optional: bool = False,
    expected: str | None = None,
) -> int | None:
    """Returns `value` as an int, or raises unless it is an integer in `[minimum, maximum]`.

    Python and NumPy integers are accepted; bools are not (`True` is no
    count of anything).

    Args:
        name: The argument's name, shown in the message.
        value: What the caller passed.
        minimum, maximum: Inclusive bounds; None for none.
        optional: Let None through (returned as None).
        expected: Replaces the wording "an integer >= `minimum`" (e.g. "a
            positive integer"). One that ends with " or None" is shown as
            it is in both messages.

    Raises:
        WrongTypeError: `value` is not an integer (" or None" is added to
            the expectation when `optional`).
        ValueError: `value` is out of bounds.

    Example:

    >>> import numpy as np
    >>> from lstm_apps._validation import check_int
    >>> check_int("units", np.int64(8), 1), check_int("seed", None, 0, optional=True)
    (8, None)
    >>> check_int("units", 0, 1, expected="a positive integer")
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `units`, expected a positive integer, got 0.
    """
    if optional and value is None:
        return None
    if expected is None:
        expected = "an integer" + _interval(minimum, maximum, False, False)
    if isinstance(value, _BOOLS) or not isinstance(value, _INTEGERS):
        raise WrongTypeError(invalid_message(name, _or_none(expected, optional), value))
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(invalid_message(name, expected, value))
    return int(value)


def check_real(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    optional: bool = False,
    expected: str | None = None,
) -> float | None:
    """Returns `value` as a float, or raises unless it is a finite number between `low` and `high`.

    Python and NumPy integers and floats are accepted; bools, complex
    numbers, NaN and infinities are not.

    Args:
        name: The argument's name, shown in the message.
        value: What the caller passed.
        low, high: Bounds; None for none.
        low_open, high_open: Exclude the bound itself (`low_open=True`:
            `value > low`); bounds are included by default.
        optional: Let None through (returned as None).
        expected: Replaces the wording "a number in [low, high]" (or "a
            number >= low", "a finite number", ...). One that ends with
            " or None" is shown as it is in both messages.

    Raises:
        WrongTypeError: `value` is not a real number (" or None" is added
            to the expectation when `optional`).
        ValueError: `value` is NaN, infinite or out of bounds.

    Example:

    >>> from lstm_apps._validation import check_real
    >>> check_real("dropout", 0, 0.0, 1.0, high_open=True)
    0.0
    >>> check_real("learning_rate", float("nan"), 0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: ... argument `learning_rate`, expected a number > 0.0, got nan.
    """
    if optional and value is None:
        return None
    if expected is None:
        bounds = _interval(low, high, low_open, high_open)
        expected = f"a number{bounds}" if bounds else "a finite number"
    if isinstance(value, _BOOLS) or not isinstance(value, _REALS):
        raise WrongTypeError(invalid_message(name, _or_none(expected, optional), value))
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(invalid_message(name, expected, value))
    return number


def _same(option: Any, value: Any) -> bool:
    """`option == value`, where a bool equals only a bool (True is not 1 here)."""
    if isinstance(option, _BOOLS) != isinstance(value, _BOOLS):
        return False
    try:
        return bool(option == value)
    except Exception:  # an array, or a type whose == raises
        return False


def check_choice(name: str, value: Any, options: Iterable[Any]) -> Any:
    """Returns `value`, or raises a ValueError unless it equals one of `options`.

    A bool matches only a bool option: `True` is not the choice `1`.

    Example:

    >>> from lstm_apps._validation import check_choice
    >>> check_choice("verbose", 2, (0, 1, 2))
    2
    >>> check_choice("verbose", True, (0, 1, 2))
    Traceback (most recent call last):
    ...
    ValueError: ... argument `verbose`, expected one of [0, 1, 2], got True.
    """
    options = list(options)
    if not any(_same(option, value) for option in options):
        raise ValueError(invalid_message(name, f"one of {options}", value))
    return value


def check_bool(name: str, value: Any) -> bool:
    """Returns `value` as a bool, or raises `WrongTypeError` unless it is a (NumPy) bool.

    Example:

    >>> from lstm_apps._validation import check_bool
    >>> check_bool("bidirectional", "yes")
    Traceback (most recent call last):
    ...
    lstm_apps._validation.WrongTypeError: ... `bidirectional`, expected a bool, got 'yes'.
    """
    if not isinstance(value, _BOOLS):
        raise WrongTypeError(invalid_message(name, "a bool", value))
    return bool(value)


def check_text(
    name: str, value: Any, *, optional: bool = False, expected: str = "a non-empty string"
) -> str | None:
    """Returns `value`, or raises unless it is a non-empty string (or None, when `optional`).

    `expected` replaces the wording "a non-empty string" (e.g. "a column name").

    Raises:
        WrongTypeError: `value` is not a string.
        ValueError: `value` is the empty string.

    Example:

    >>> from lstm_apps._validation import check_text
    >>> check_text("run_name", "baseline"), check_text("run_name", None, optional=True)
    ('baseline', None)
    >>> check_text("run_name", "", optional=True)
    Traceback (most recent call last):
    ...
    ValueError: ... `run_name`, expected a non-empty string or None, got ''.
    """
    if optional and value is None:
        return None
    expected = _or_none(expected, optional)
    if not isinstance(value, str):
        raise WrongTypeError(invalid_message(name, expected, value))
    if not value:
        raise ValueError(invalid_message(name, expected, value))
    return value
