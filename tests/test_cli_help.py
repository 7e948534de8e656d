"""`lstm-apps --help` in a fresh process: what it imports."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

_PROBE = (
    "import sys, io, contextlib\n"
    "from lstm_apps import cli\n"
    "out = io.StringIO()\n"
    "with contextlib.redirect_stdout(out):\n"
    "    try:\n"
    "        cli.main(['--help'])\n"
    "    except SystemExit as stop:\n"
    "        assert stop.code == 0, stop.code\n"
    "print(repr(out.getvalue()))\n"
    "print(sorted(m for m in sys.modules if m in ('keras', 'tensorflow', 'keras_tuner')"
    " or m.startswith('lstm_apps.tuning')))\n"
)


@pytest.fixture(scope="module")
def help_run():
    """`--help` run once in a fresh process: (help text, heavy modules it loaded)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    text, modules = result.stdout.strip().splitlines()[-2:]
    return ast.literal_eval(text), set(ast.literal_eval(modules))


def test_help_lists_every_subcommand_without_loading_the_tuner(help_run):
    text, modules = help_run
    for command in ("forecast", "sentiment", "memory", "gates", "tune", "cells"):
        assert f"    {command}" in text, text
    # The subcommand parsers (tune's included) are built without Keras Tuner.
    tuning = {m for m in modules if m == "keras_tuner" or m.startswith("lstm_apps.tuning")}
    assert not tuning, sorted(tuning)
