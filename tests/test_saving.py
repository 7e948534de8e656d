"""`model.save` then `keras.saving.load_model` in a fresh Python process.

One fresh process per test run (each start imports TensorFlow or the
backend anew, the larger part of the time): it imports `lstm_apps` with
pandas blocked, then loads every saved model.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import lstm_apps
from lstm_apps import cells
from lstm_apps.cells import ScanRNN

pytestmark = pytest.mark.backend
BACKEND = keras.backend.backend()

_LOADER = textwrap.dedent(
    """
    import sys
    sys.modules["pandas"] = None  # `import pandas` raises ImportError
    import lstm_apps  # the only import the user needs
    lstm_apps.LSTM(2, dropout=0.1)  # usable without pandas
    print("imported", sorted(m for m in sys.modules if m.startswith("lstm_apps")))
    del sys.modules["pandas"]  # the models load as in any user's process

    import numpy as np
    import keras

    folder = sys.argv[1]
    data = np.load(f"{folder}/data.npz")
    names = open(f"{folder}/names.txt").read().split()
    for name in names:
        model = keras.saving.load_model(f"{folder}/{name}.keras")  # default safe_mode
        inputs = data[name]
        if inputs.dtype.kind == "U":
            inputs = keras.ops.convert_to_tensor([str(t) for t in inputs])
        np.save(f"{folder}/{name}.reloaded.npy", keras.ops.convert_to_numpy(model(inputs)))
    heavy = sorted(m for m in sys.modules
                   if m.startswith(("lstm_apps.data", "lstm_apps.recipes")))
    print("loaded", len(names), "; also imported:", heavy)
    """
)

#: The LSTM family saved under JAX and torch: the three cell classes, a
#: `VariantLSTMCell` without a gate and one with the gate recurrence's own
#: weights. Which variant a saved cell is comes back from its config
#: (backend-neutral, `test_config_round_trip`); TensorFlow saves them all.
_ELSEWHERE = ["standard", "peephole", "coupled", "nog", "fgr"]


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


def _other_families(rng):
    """A model per cell of the xLSTM and min-RNN families: `lstm_apps.LSTM`,
    a Bidirectional `ScanRNN` and a plain `keras.layers.RNN`."""
    for name in cells.names("xlstm") + cells.names("min"):
        inputs = keras.Input((6, 3))
        h = lstm_apps.LSTM(4, name, return_sequences=True)(inputs)
        h = keras.layers.Bidirectional(ScanRNN(cells.create(name, 4), return_sequences=True))(h)
        h = keras.layers.RNN(cells.create(name, 4))(h)
        model = keras.Model(inputs, keras.layers.Dense(2)(h))
        model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.weights])
        yield name, model


# ------------------------------------------------------------ text layers
def _text_models():
    """Models holding `lstm_apps.LSTM` and the text layers of `lstm_apps.layers`."""
    ids = keras.Input((None,), dtype="int32")
    h = lstm_apps.layers.TruncateTokens(5, name="truncate")(ids)
    h = keras.layers.Embedding(20, 3, mask_zero=True)(h)
    h = lstm_apps.LSTM(4, "peephole", return_sequences=True, dropout=0.1)(h)
    h = lstm_apps.layers.SequencePooling("max_mean", name="pooling")(h)
    yield "ids", keras.Model(ids, keras.layers.Dense(1)(h))
    if keras.backend.backend() == "tensorflow":  # string inputs need TensorFlow
        vectorizer = keras.layers.TextVectorization(
            max_tokens=20, standardize=lstm_apps.layers.standardize_review, output_mode="int"
        )
        vectorizer.adapt(["A <br />good film", "a BAD film, isn't it"])
        texts = keras.Input((), dtype="string")
        h = lstm_apps.layers.TruncateTokens(4, truncating="post")(vectorizer(texts))
        h = keras.layers.Embedding(20, 3, mask_zero=True)(h)
        h = lstm_apps.layers.SequencePooling("mean")(lstm_apps.LSTM(3, return_sequences=True)(h))
        yield "strings", keras.Model(texts, keras.layers.Dense(1)(h))


def test_text_layers_keep_their_registered_names():
    # Models saved before the layers moved to lstm_apps.layers name them so.
    from lstm_apps.data import imdb

    for obj in (lstm_apps.layers.TruncateTokens, lstm_apps.layers.SequencePooling,
                lstm_apps.layers.standardize_review, lstm_apps.LSTM):
        name = obj.__name__
        assert keras.saving.get_registered_name(obj) == f"lstm_apps>{name}"
        assert keras.saving.get_registered_object(f"lstm_apps>{name}") is obj
    assert imdb.TruncateTokens is lstm_apps.layers.TruncateTokens
    assert imdb.SequencePooling is lstm_apps.layers.SequencePooling
    assert imdb.standardize_review is lstm_apps.layers.standardize_review


def test_models_load_in_a_fresh_process_after_import_lstm_apps(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 3)).astype("float32")
    inputs, expected, exact, text = {}, {}, set(), set()

    def save(key, model, model_inputs):
        expected[key] = keras.ops.convert_to_numpy(model(model_inputs))
        model.save(tmp_path / f"{key}.keras")

    # Every cell of the LSTM family, bit for bit.
    for name in cells.names("lstm") if BACKEND == "tensorflow" else _ELSEWHERE:
        for kind, model in _models(name):
            key = f"{name}-{kind}"
            model.set_weights(
                [rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()]
            )
            inputs[key] = x
            exact.add(key)
            save(key, model, x)
    # The other families (their code runs on every backend in their own
    # modules' tests; saving them is checked on TensorFlow).
    if BACKEND == "tensorflow":
        for name, model in _other_families(rng):
            inputs[name] = x
            save(name, model, x)
    # Models of the text layers of `lstm_apps.layers`.
    text_inputs = {
        "ids": np.array([[3, 7, 1, 9, 4, 2, 8], [5, 6, 0, 0, 0, 0, 0]], "int32"),
        "strings": np.array(["a good film", "A BAD <br/>film, isn't it?", "film"]),
    }
    for name, model in _text_models():
        given = text_inputs[name]
        given = given if name == "ids" else keras.ops.convert_to_tensor(given)
        model(given)
        model.set_weights(
            [rng.normal(0, 0.5, w.shape).astype(w.dtype) if w.dtype.kind == "f" else w
             for w in model.get_weights()]
        )
        inputs[name] = text_inputs[name]
        text.add(name)
        save(name, model, given)

    np.savez(tmp_path / "data.npz", **inputs)
    (tmp_path / "names.txt").write_text("\n".join(expected))
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _LOADER, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()

    # Keras itself imports pandas where it is installed
    # (keras.src.trainers.data_adapters.array_slicing), so pandas was blocked
    # for `import lstm_apps`: it must work without it, and load no more than
    # the cells and layers.
    (imported,) = [line for line in lines if line.startswith("imported ")]
    loaded = set(ast.literal_eval(imported.removeprefix("imported ")))
    assert {"lstm_apps.cells", "lstm_apps.layers.lstm", "lstm_apps.layers.text"} <= loaded
    heavy = {m for m in loaded if m.startswith(
        ("lstm_apps.data", "lstm_apps.recipes", "lstm_apps.tuning", "lstm_apps.forecasting")
    )}
    assert not heavy, f"`import lstm_apps` loaded {sorted(heavy)}"
    # Registered by `import lstm_apps` alone: neither the IMDB data module
    # nor a recipe was needed to load the models.
    assert f"loaded {len(expected)} ; also imported: []" in lines

    for key, want in expected.items():
        got = np.load(tmp_path / f"{key}.reloaded.npy")
        if key in exact:
            np.testing.assert_array_equal(got, want, err_msg=key)
        else:
            atol = 0.0 if key in text else 1e-6
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=atol, err_msg=key)
