"""Tests of `lstm_apps._io`: file modes, strict JSON, errors that name the file."""

from __future__ import annotations

import errno
import json
import logging
import math
import os

import numpy as np
import pandas as pd
import pytest

from lstm_apps import _io


def strict_loads(text: str) -> object:
    def reject(token: str) -> None:
        raise ValueError(f"non-JSON token {token}")

    return json.loads(text, parse_constant=reject)


@pytest.fixture
def umask():
    """Sets the process umask for a test, and restores it."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_of_the_process_umask(tmp_path, umask, mask, mode):
    umask(mask)
    written = [
        _io.write_text(tmp_path / "a.txt", "x"),
        _io.write_json(tmp_path / "a.json", {"a": 1}),
        _io.write_csv(tmp_path / "a.csv", pd.DataFrame({"a": [1]})),
    ]
    for path in written:
        assert path.stat().st_mode & 0o777 == mode, path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.json", "a.txt"]


def test_json_is_strict_and_names_the_non_finite_keys(tmp_path, caplog):
    data = {"mase": float("nan"), "scores": [1.0, np.float32("inf"), -math.inf],
            "nested": {"auc": np.float64("nan"), "n": np.int64(3), "ok": np.bool_(True)}}
    with caplog.at_level(logging.WARNING, logger="lstm_apps._io"):
        path = _io.write_json(tmp_path / "metrics.json", data)
    assert strict_loads(path.read_text()) == {
        "mase": None, "scores": [1.0, None, None], "nested": {"auc": None, "n": 3, "ok": True}}
    message = caplog.records[-1].getMessage()
    assert message == ("metrics.json: 4 value(s) are NaN or infinite, written as null: mase, "
                       "scores[1], scores[2], nested.auc")


def test_finite_json_writes_no_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="lstm_apps._io"):
        _io.write_json(tmp_path / "a.json", {"a": [0.5, 2]})
    assert not caplog.records


def test_a_write_under_a_regular_file_names_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError) as error:
        _io.write_json(blocker / "sub" / "a.json", {})
    assert str(error.value) == f"cannot write {blocker}/sub/a.json: [Errno 20] Not a directory"
    assert error.value.errno == errno.ENOTDIR


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary_file(tmp_path):
    target = tmp_path / "model.keras"
    with pytest.raises(OSError, match=r"cannot write .*model\.keras: \[Errno 28\] No space "
                       "left on device"):
        with _io.atomic_path(target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a full disk
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_are_recognised():
    assert _io.is_temp_name(".model.keras.ab_cd123.keras")
    assert _io.is_temp_name(".README.abcdefgh")
    assert not _io.is_temp_name("model.keras")
    assert not _io.is_temp_name(".backup")
    assert not _io.is_temp_name(".model.keras.ab_cd123.png")  # suffix of another name


def test_one_class_test_set_warns_that_auc_is_undefined(caplog):
    from lstm_apps.recipes import sentiment

    with caplog.at_level(logging.WARNING, logger="lstm_apps.recipes.sentiment"):
        auc = sentiment._roc_auc(np.ones(5), np.linspace(0, 1, 5))
    assert math.isnan(auc)
    assert "ROC AUC is undefined: the 5 test reviews are all of one class (5 positive, 0 " \
           "negative)" in caplog.text


def test_a_constant_series_writes_strict_metrics(tmp_path):
    from lstm_apps.recipes import forecast as fc

    index = pd.date_range("2020-01-01", periods=200, freq="D")
    series = pd.Series(5.0, index=index, name="y")
    config = fc.ForecastConfig(target="y", lookback=20, horizon=3, units=4, steps=10,
                               epochs=1, season=7, combine=(), stride=3, intervals=False,
                               plots=False, output_dir=str(tmp_path), run_name="c")
    fc.run(config, series)
    metrics = strict_loads((tmp_path / "c" / "metrics.json").read_text())
    assert metrics["mase"] is None  # MASE of a constant series: 0 / 0
