"""`model.save` then `keras.saving.load_model` in a fresh Python process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import lstm_apps
from lstm_apps import cells

pytestmark = pytest.mark.backend

_LOADER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import lstm_apps  # the only import the user needs

    folder = sys.argv[1]
    data = np.load(f"{folder}/data.npz")
    names = open(f"{folder}/names.txt").read().split()
    for name in names:
        model = keras.saving.load_model(f"{folder}/{name}.keras")  # default safe_mode
        got = keras.ops.convert_to_numpy(model(data["x"]))
        np.save(f"{folder}/{name}.reloaded.npy", got)
    print("loaded", len(names))
    """
)


def _models(name):
    """Three ways a user builds a model around the cell named `name`."""
    inputs = keras.Input((6, 3))
    h = lstm_apps.LSTM(4, name, return_sequences=True, dropout=0.1, recurrent_dropout=0.1)(inputs)
    h = keras.layers.Bidirectional(keras.layers.RNN(cells.create(name, 3)))(h)
    yield "functional", keras.Model(inputs, keras.layers.Dense(2)(h))
    yield (
        "sequential",
        keras.Sequential(
            [
                keras.Input((6, 3)),
                keras.layers.RNN(
                    cells.create(name, 5, peephole_initializer="ones")
                    if name != "coupled"
                    else cells.create(name, 5, peephole=True)
                ),
                keras.layers.Dense(1),
            ]
        ),
    )


def test_save_and_load_in_fresh_process(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    np.savez(tmp_path / "data.npz", x=x)
    expected = {}
    for name in cells.names("lstm"):  # the other families: test_xlstm, test_min_rnn
        for kind, model in _models(name):
            key = f"{name}-{kind}"
            model(x)
            model.set_weights(
                [rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()]
            )
            expected[key] = keras.ops.convert_to_numpy(model(x))
            model.save(tmp_path / f"{key}.keras")
    (tmp_path / "names.txt").write_text("\n".join(expected))
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _LOADER, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"loaded {len(expected)}" in result.stdout
    for key, want in expected.items():
        got = np.load(tmp_path / f"{key}.reloaded.npy")
        np.testing.assert_array_equal(got, want, err_msg=key)
