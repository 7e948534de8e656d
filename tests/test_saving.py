"""`model.save` then `keras.saving.load_model` in a fresh Python process."""

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


# ------------------------------------------------------------ text layers
_TEXT_LOADER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import lstm_apps  # the only import the user needs

    folder = sys.argv[1]
    data = np.load(f"{folder}/data.npz")
    for name in open(f"{folder}/names.txt").read().split():
        model = keras.saving.load_model(f"{folder}/{name}.keras")  # default safe_mode
        inputs = data[name] if name != "strings" else keras.ops.convert_to_tensor(
            [str(t) for t in data[name]]
        )
        np.save(f"{folder}/{name}.reloaded.npy", keras.ops.convert_to_numpy(model(inputs)))
    heavy = sorted(m for m in sys.modules
                   if m.startswith(("lstm_apps.data", "lstm_apps.recipes")))
    print("loaded; also imported:", heavy)
    """
)


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


def test_text_models_load_in_a_fresh_process_after_import_lstm_apps(tmp_path):
    rng = np.random.default_rng(0)
    inputs = {
        "ids": np.array([[3, 7, 1, 9, 4, 2, 8], [5, 6, 0, 0, 0, 0, 0]], "int32"),
        "strings": np.array(["a good film", "A BAD <br/>film, isn't it?", "film"]),
    }
    expected = {}
    for name, model in _text_models():
        x = inputs[name] if name == "ids" else keras.ops.convert_to_tensor(inputs[name])
        model(x)
        model.set_weights(
            [rng.normal(0, 0.5, w.shape).astype(w.dtype) if w.dtype.kind == "f" else w
             for w in model.get_weights()]
        )
        expected[name] = keras.ops.convert_to_numpy(model(x))
        model.save(tmp_path / f"{name}.keras")
    np.savez(tmp_path / "data.npz", **{k: inputs[k] for k in expected})
    (tmp_path / "names.txt").write_text("\n".join(expected))
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _TEXT_LOADER, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Registered by `import lstm_apps` alone: neither the IMDB data module
    # nor a recipe was needed to load them.
    assert "loaded; also imported: []" in result.stdout
    for name, want in expected.items():
        got = np.load(tmp_path / f"{name}.reloaded.npy")
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)


_LIGHT_IMPORT = textwrap.dedent(
    """
    import sys
    sys.modules["pandas"] = None  # `import pandas` raises ImportError
    import lstm_apps
    lstm_apps.LSTM(2, dropout=0.1)  # usable without pandas
    print(sorted(m for m in sys.modules if m.startswith("lstm_apps")))
    """
)


def test_import_lstm_apps_needs_neither_pandas_nor_the_recipes():
    # Keras itself imports pandas where it is installed
    # (keras.src.trainers.data_adapters.array_slicing), so pandas is blocked
    # here: `import lstm_apps` must work without it.
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _LIGHT_IMPORT], capture_output=True, text=True, env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    assert {"lstm_apps.cells", "lstm_apps.layers.lstm", "lstm_apps.layers.text"} <= loaded
    heavy = {m for m in loaded if m.startswith(
        ("lstm_apps.data", "lstm_apps.recipes", "lstm_apps.tuning", "lstm_apps.forecasting")
    )}
    assert not heavy, f"`import lstm_apps` loaded {sorted(heavy)}"
