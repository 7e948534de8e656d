"""Tests of `lstm_apps._validation`: what each check accepts, returns and rejects, word for word."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm_apps._validation import (
    WrongTypeError,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_text,
    invalid_message,
)


def _message(name, expected, got):
    return f"Received an invalid value for argument `{name}`, expected {expected}, got {got}."


def test_invalid_message_has_the_keras_form():
    assert invalid_message("units", "a positive integer", 0) == (
        "Received an invalid value for argument `units`, expected a positive integer, got 0."
    )
    assert invalid_message("cell", "a name", "lstm9").endswith("got 'lstm9'.")


def test_wrong_type_error_is_both_a_type_error_and_a_value_error():
    assert issubclass(WrongTypeError, TypeError) and issubclass(WrongTypeError, ValueError)
    for kind in (TypeError, ValueError):
        with pytest.raises(kind):
            check_int("units", "8")


# -------------------------------------------------------------------- check_int
@pytest.mark.parametrize(
    "value", [0, 7, -3, np.int64(7), np.int32(-2), np.uint8(3), 10**30]
)
def test_check_int_accepts_python_and_numpy_integers(value):
    out = check_int("n", value)
    assert out == int(value) and type(out) is int


def test_check_int_bounds_and_optional():
    assert check_int("units", 1, 1) == 1
    assert check_int("sample", 3, 0, 3) == 3
    assert check_int("sample", 0, maximum=3) == 0
    assert check_int("lookback", None, 1, optional=True) is None


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(value=0, minimum=1), ValueError, _message("units", "an integer >= 1", "0")),
        (dict(value=-3, minimum=0), ValueError, _message("units", "an integer >= 0", "-3")),
        (dict(value=5, maximum=4), ValueError, _message("units", "an integer <= 4", "5")),
        (dict(value=2, minimum=0, maximum=1), ValueError,
         _message("units", "an integer in [0, 1]", "2")),
        (dict(value=0, minimum=1, expected="a positive integer"), ValueError,
         _message("units", "a positive integer", "0")),
        # bools are no counts, whatever int() makes of them
        (dict(value=True, minimum=1), WrongTypeError, _message("units", "an integer >= 1", "True")),
        (dict(value=np.bool_(False)), WrongTypeError,
         _message("units", "an integer", repr(np.bool_(False)))),
        (dict(value=2.0, minimum=1), WrongTypeError, _message("units", "an integer >= 1", "2.0")),
        (dict(value="8"), WrongTypeError, _message("units", "an integer", "'8'")),
        (dict(value=None, minimum=1), WrongTypeError, _message("units", "an integer >= 1", "None")),
        # optional: None is allowed, so a wrong type says so; a value out of range does not
        (dict(value=2.5, minimum=1, optional=True), WrongTypeError,
         _message("units", "an integer >= 1 or None", "2.5")),
        (dict(value=-5, minimum=1, optional=True), ValueError,
         _message("units", "an integer >= 1", "-5")),
        (dict(value="x", expected="a positive integer", optional=True), WrongTypeError,
         _message("units", "a positive integer or None", "'x'")),
        # an expectation that already names None is shown as it is, in both messages
        (dict(value="x", expected="a positive integer or None", optional=True), WrongTypeError,
         _message("units", "a positive integer or None", "'x'")),
        (dict(value=-2, minimum=1, expected="a positive integer or None", optional=True),
         ValueError, _message("units", "a positive integer or None", "-2")),
    ],
)
def test_check_int_rejects(kwargs, error, message):
    with pytest.raises(error) as info:
        check_int("units", **kwargs)
    assert str(info.value) == message
    if error is ValueError:  # out of range: not a type error
        assert not isinstance(info.value, TypeError)


# ------------------------------------------------------------------- check_real
@pytest.mark.parametrize(
    "value", [0, 0.5, -2, np.float32(0.25), np.float64(1e-3), np.int64(3)]
)
def test_check_real_accepts_python_and_numpy_numbers(value):
    out = check_real("x", value)
    assert out == float(value) and type(out) is float


def test_check_real_bounds_closed_by_default_and_optional():
    assert check_real("rate", 0.0, 0.0, 1.0) == 0.0
    assert check_real("rate", 1.0, 0.0, 1.0) == 1.0
    assert check_real("rate", 1.0, 0.0, 1.0, low_open=True) == 1.0
    assert check_real("rate", 0.0, 0.0, 1.0, high_open=True) == 0.0
    assert check_real("timeout", None, 0, low_open=True, optional=True) is None


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((1.0, 0.0, 1.0), dict(high_open=True), ValueError,
         _message("rate", "a number in [0.0, 1.0)", "1.0")),
        ((0.0, 0.0, 1.0), dict(low_open=True), ValueError,
         _message("rate", "a number in (0.0, 1.0]", "0.0")),
        ((0, 0), dict(low_open=True), ValueError, _message("rate", "a number > 0", "0")),
        ((-1.0, 0.0), {}, ValueError, _message("rate", "a number >= 0.0", "-1.0")),
        ((2, None, 1), dict(high_open=True), ValueError, _message("rate", "a number < 1", "2")),
        ((2, None, 1), {}, ValueError, _message("rate", "a number <= 1", "2")),
        ((1.5, 0.0, 1.0), dict(expected="a float in [0, 1)"), ValueError,
         _message("rate", "a float in [0, 1)", "1.5")),
        # NaN and infinities are never valid numbers, bounded or not
        ((math.nan,), {}, ValueError, _message("rate", "a finite number", "nan")),
        ((math.nan, 0.0, 1.0), {}, ValueError, _message("rate", "a number in [0.0, 1.0]", "nan")),
        ((np.float32("nan"), 0.0), {}, ValueError,
         _message("rate", "a number >= 0.0", repr(np.float32("nan")))),
        ((math.inf, 0.0), {}, ValueError, _message("rate", "a number >= 0.0", "inf")),
        ((-math.inf,), {}, ValueError, _message("rate", "a finite number", "-inf")),
        ((10**400,), {}, ValueError, _message("rate", "a finite number", str(10**400))),
        # wrong types
        ((True, 0.0, 1.0), {}, WrongTypeError, _message("rate", "a number in [0.0, 1.0]", "True")),
        (("0.5",), {}, WrongTypeError, _message("rate", "a finite number", "'0.5'")),
        ((1j,), {}, WrongTypeError, _message("rate", "a finite number", "1j")),
        ((None, 0), dict(low_open=True), WrongTypeError, _message("rate", "a number > 0", "None")),
        (("x", 0), dict(low_open=True, optional=True), WrongTypeError,
         _message("rate", "a number > 0 or None", "'x'")),
        ((0, 0), dict(low_open=True, optional=True), ValueError,
         _message("rate", "a number > 0", "0")),
    ],
)
def test_check_real_rejects(args, kwargs, error, message):
    with pytest.raises(error) as info:
        check_real("rate", *args, **kwargs)
    assert str(info.value) == message
    if error is ValueError:
        assert not isinstance(info.value, TypeError)


# ----------------------------------------------------------------- check_choice
def test_check_choice_accepts_and_returns_the_value():
    assert check_choice("fill", "ffill", ("raise", "ffill")) == "ffill"
    assert check_choice("verbose", 0, (0, 1, 2)) == 0
    assert check_choice("verbose", np.int64(2), [0, 1, 2]) == 2
    assert check_choice("flag", False, (False, True)) is False
    assert check_choice("part", "val", iter(["train", "val"])) == "val"  # any iterable


@pytest.mark.parametrize(
    "value, options, message",
    [
        ("cubic", ("raise", "ffill"), _message("fill", "one of ['raise', 'ffill']", "'cubic'")),
        (3, (0, 1, 2), _message("fill", "one of [0, 1, 2]", "3")),
        # a bool is no choice among numbers, nor a number among bools
        (True, (0, 1, 2), _message("fill", "one of [0, 1, 2]", "True")),
        (1, (False, True), _message("fill", "one of [False, True]", "1")),
        (["ffill"], ("raise", "ffill"), _message("fill", "one of ['raise', 'ffill']", "['ffill']")),
        (None, ("a",), _message("fill", "one of ['a']", "None")),
    ],
)
def test_check_choice_rejects(value, options, message):
    with pytest.raises(ValueError) as info:
        check_choice("fill", value, options)
    assert str(info.value) == message


def test_check_choice_survives_values_whose_equality_is_odd():
    with pytest.raises(ValueError, match=r"expected one of \[0, 1\], got array"):
        check_choice("verbose", np.array([0, 1]), (0, 1))


# ------------------------------------------------------------------- check_bool
def test_check_bool():
    assert check_bool("chrono", True) is True
    assert check_bool("chrono", np.bool_(False)) is False
    for value, shown in ((1, "1"), (0, "0"), ("yes", "'yes'"), (None, "None")):
        with pytest.raises(WrongTypeError) as info:
            check_bool("chrono", value)
        assert str(info.value) == _message("chrono", "a bool", shown)


# ------------------------------------------------------------------- check_text
def test_check_text():
    assert check_text("target", "sales") == "sales"
    assert check_text("run_name", None, optional=True) is None
    with pytest.raises(WrongTypeError) as info:
        check_text("target", 3)
    assert str(info.value) == _message("target", "a non-empty string", "3")
    with pytest.raises(WrongTypeError) as info:
        check_text("run_name", b"x", optional=True)
    assert str(info.value) == _message("run_name", "a non-empty string or None", "b'x'")
    with pytest.raises(ValueError) as info:
        check_text("target", "")
    assert str(info.value) == _message("target", "a non-empty string", "''")
    assert not isinstance(info.value, TypeError)
    with pytest.raises(WrongTypeError) as info:
        check_text("date_col", None, expected="a column name (str)")
    assert str(info.value) == _message("date_col", "a column name (str)", "None")
