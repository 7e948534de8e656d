"""`lstm-apps --help` and argument errors in a fresh process: what they import."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import pytest

from lstm_apps.commands import _fields
from lstm_apps.recipes import forecast, memory, sentiment

#: Each command line, then what it leaves in `sys.modules` (cumulative).
_ARGVS = [
    ["--help"],
    ["forecast", "--help"],
    ["sentiment", "--help"],
    ["memory", "--help"],
    ["gates", "--help"],
    ["tune", "--help"],
    ["tune", "forecast", "--help"],
    ["tune", "sentiment", "--help"],
    ["cells", "--help"],
    ["forecast", "--fill", "bogus"],  # argument errors: exit status 2
    ["sentiment", "--pooling", "sum"],
    ["memory", "--lengths", "many"],
    ["tune", "forecast", "--tuner", "grid"],
    ["nonsense"],
]

_PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from lstm_apps import cli

    HEAVY = ("keras", "tensorflow", "keras_tuner", "pandas", "jax", "torch")
    report = []
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as stop:
                code = stop.code
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY
                       or (m.startswith(("lstm_apps.tuning.", "lstm_apps.recipes."))
                            and m != "lstm_apps.recipes.registry"))  # stdlib only
        report.append([argv, code, out.getvalue(), err.getvalue(), heavy])
    print(repr(report))
    """
)


@pytest.fixture(scope="module")
def help_runs():
    """Every line of `_ARGVS` run in one fresh process: {argv: (status, out, err, heavy)}."""
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(_ARGVS)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""  # no backend noise
    report = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    return {" ".join(argv): tuple(rest) for argv, *rest in report}


def test_help_lists_every_subcommand(help_runs):
    code, out, _, _ = help_runs["--help"]
    assert code == 0
    for command in ("forecast", "sentiment", "memory", "gates", "tune", "cells"):
        assert f"    {command}" in out, out


@pytest.mark.parametrize("line", [" ".join(argv) for argv in _ARGVS])
def test_help_and_argument_errors_load_neither_keras_nor_the_recipes(help_runs, line):
    code, out, err, heavy = help_runs[line]
    assert not heavy, f"`lstm-apps {line}` imported {heavy}"
    if line.endswith("--help"):
        assert code == 0 and out.startswith("usage: lstm-apps"), (code, err)
    else:
        assert code == 2 and err.startswith("usage: lstm-apps"), (code, err)
        assert "error: " in err.splitlines()[-1]


def test_help_shows_the_choices_it_reads_from_the_sources(help_runs):
    assert "--fill {raise,ffill,interpolate}" in help_runs["forecast --help"][1]
    assert "--synthetic {default,weekly_yearly,hourly_ar}" in help_runs["forecast --help"][1]
    assert "--pooling {max,mean,max_mean,last}" in help_runs["sentiment --help"][1]
    assert "--task {adding,recall}" in help_runs["memory --help"][1]
    assert "--tuner {bayesian,random,hyperband}" in help_runs["tune forecast --help"][1]
    assert "argument --fill: invalid choice: 'bogus'" in help_runs["forecast --fill bogus"][2]


# ------------------------------------------ the config fields, read from source
@pytest.mark.parametrize(
    "config", [forecast.ForecastConfig, sentiment.SentimentConfig, memory.MemoryConfig],
    ids=lambda c: c.__name__,
)
def test_fields_read_from_the_source_are_the_real_ones(config):
    light = _fields.light_fields(config.__module__, config.__name__)
    real = dataclasses.fields(config)

    def describe(field):
        default = field.default if field.default is not dataclasses.MISSING else (
            field.default_factory() if field.default_factory is not dataclasses.MISSING
            else None)
        return field.name, field.type, default, dict(field.metadata)

    assert [describe(f) for f in light] == [describe(f) for f in real]


def test_constants_read_from_the_source_are_the_real_ones():
    import lstm_apps.tuning

    assert _fields.light_value("lstm_apps.tuning", "PARAMS") is lstm_apps.tuning.PARAMS
    assert _fields._Module.of("lstm_apps.tuning").get("TUNERS") == lstm_apps.tuning.TUNERS
    params = _fields._Module.of("lstm_apps.tuning").get("PARAMS")
    assert {k: (p.kind, p.default, p.help) for k, p in params.items()} == {
        k: (p.kind, p.default, p.help) for k, p in lstm_apps.tuning.PARAMS.items()}
    assert _fields._Module.of("lstm_apps.recipes.sentiment").get("POOLINGS") == \
        sentiment.POOLINGS


def test_a_config_that_needs_a_third_party_name_is_read_by_importing_it(tmp_path,
                                                                        monkeypatch):
    package = tmp_path / "lstm_apps"
    package.mkdir()
    (package / "probe.py").write_text(textwrap.dedent(
        """
        from __future__ import annotations
        import dataclasses
        import numpy as np

        @dataclasses.dataclass
        class Config:
            size: int = int(np.int64(3))
        """))
    monkeypatch.setattr(_fields, "_ROOT", package)
    monkeypatch.setattr(_fields._Module, "_cache", {})
    with pytest.raises(ValueError, match="numpy is not part of the standard library"):
        _fields.light_fields("lstm_apps.probe", "Config")


# ------------------------------------- registration after a lazy `import lstm_apps`
_LOAD_AFTER = textwrap.dedent(
    """
    import sys
    import lstm_apps  # first, before Keras: registers nothing yet, loads nothing
    assert "keras" not in sys.modules and "lstm_apps.cells" not in sys.modules
    import keras
    print(keras.saving.get_registered_object("lstm_apps>StandardLSTMCell"),
          keras.saving.get_registered_object("lstm_apps>TruncateTokens"),
          keras.saving.get_registered_object("lstm_apps>LSTM"))
    model = keras.saving.load_model(sys.argv[1])
    print(type(model.layers[0]).__name__)
    """
)


def test_a_saved_model_loads_when_lstm_apps_was_imported_before_keras(tmp_path):
    import keras

    import lstm_apps

    path = tmp_path / "m.keras"
    keras.Sequential([keras.Input((4, 2)), lstm_apps.LSTM(3, "peephole")]).save(path)
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", _LOAD_AFTER, str(path)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    names, layer = result.stdout.strip().splitlines()[-2:]
    assert "None" not in names and "StandardLSTMCell" in names, names
    assert layer == "LSTM"
