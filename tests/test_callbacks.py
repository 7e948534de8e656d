"""Tests of `lstm_apps.GateMonitor`: event files, TensorBoard, deep copies, Keras Tuner."""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path

import keras
import numpy as np
import pytest
from tensorboard.backend.event_processing import plugin_event_accumulator

import lstm_apps
from lstm_apps.callbacks import IMAGE_SIZE, GateMonitor, histogram_buckets
from lstm_apps.gates import GATE_NAMES, trace_gates

PNG = b"\x89PNG\r\n\x1a\n"


def _data(n=32, steps=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, steps, 2)).astype("float32"), rng.normal(size=(n, 1))


def _model():
    model = keras.Sequential(
        [
            keras.Input((8, 2)),
            lstm_apps.LSTM(4, variant="coupled", return_sequences=True, name="rnn"),
            keras.layers.Bidirectional(keras.layers.LSTM(3), name="bi"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def _events(run_dir: Path):
    acc = plugin_event_accumulator.EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def _value(acc, tag, step=None):
    events = acc.Tensors(tag)
    event = events[-1] if step is None else next(e for e in events if e.step == step)
    from tensorboard.util import tensor_util

    return tensor_util.make_ndarray(event.tensor_proto)


class _CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.batches += 1


# ------------------------------------------------------- what gets written
def test_event_files_hold_what_a_direct_trace_gives(tmp_path):
    model = _model()
    x, y = _data()
    probe = x[:4]
    monitor = GateMonitor(tmp_path, probe, image_samples=2)
    model.fit(
        x,
        y,
        epochs=2,
        batch_size=8,
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(tmp_path), monitor],
    )
    assert sorted(os.listdir(tmp_path)) == ["gates", "train"]  # a run beside "train"
    acc = _events(tmp_path / "gates")
    direct = trace_gates(model, probe)  # the weights of the last epoch end
    histograms = set(acc.PluginTagToContent("histograms"))
    scalars = set(acc.PluginTagToContent("scalars"))
    images = set(acc.PluginTagToContent("images"))
    # One gate per image: i (the coupled cell's computed 1 - f too), f, o, g.
    assert images == {
        f"{key}/{name}/{kind}"
        for key in ("rnn", "bi", "bi/backward")
        for name in ("input_gate", "forget_gate", "output_gate", "candidate")
        for kind in ("heatmap", "lines")
    }
    summary = direct.summary().set_index(["layer", "direction", "gate"])
    for t in direct:
        for gate, name in GATE_NAMES.items():
            tag = f"{t.key}/{name}"
            assert tag in histograms
            assert [e.step for e in acc.Tensors(tag)] == [0, 1]
            buckets = _value(acc, tag)
            expected = histogram_buckets(t.valid(gate), 30)
            assert buckets.shape == (30, 3)
            np.testing.assert_allclose(buckets[:, :2], expected[:, :2], rtol=1e-5, atol=1e-6)
            assert buckets[:, 2].sum() == t.valid(gate).size
            assert np.abs(buckets[:, 2] - expected[:, 2]).sum() <= 2  # float rounding at edges
            row = summary.loc[(t.layer, t.direction, gate)]
            if gate in ("i", "f", "o", "g"):
                for stat in ("mean", "saturated_low", "saturated_high"):
                    assert f"{tag}/{stat}" in scalars
                    assert float(_value(acc, f"{tag}/{stat}")) == pytest.approx(row[stat], abs=1e-5)
            elif gate == "c":
                assert float(_value(acc, f"{tag}/mean_abs")) == pytest.approx(
                    row["mean_abs"], abs=1e-5
                )
    # the coupled cell's input gate is written (computed as 1 - f)
    assert float(_value(acc, "rnn/input_gate/mean")) == pytest.approx(
        1 - float(_value(acc, "rnn/forget_gate/mean")), abs=1e-5
    )
    for tag in images:
        image = _value(acc, tag)
        assert len(image) == 2 + 2  # width, height, one PNG per probe sample
        assert (int(image[0]), int(image[1])) == IMAGE_SIZE
        for png in image[2:]:  # the PNG's own size (IHDR), as TensorBoard shows it
            assert png.startswith(PNG)
            assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (
                IMAGE_SIZE
            )
    assert IMAGE_SIZE[0] <= 500  # TensorBoard's default image card shows ~500 px across
    np.testing.assert_allclose(monitor.last_trace["rnn"]["f"], direct["rnn"]["f"], atol=1e-5)


def test_freq_batch_freq_and_no_images(tmp_path):
    model = _model()
    x, y = _data()
    monitor = GateMonitor(
        tmp_path,
        x[:2],
        freq=2,
        batch_freq=3,
        image_samples=0,
        background_images=False,
        layers=["rnn"],
    )
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[monitor])  # 4 batches/epoch
    acc = _events(tmp_path / "gates")
    assert [e.step for e in acc.Tensors("rnn/forget_gate/mean")] == [1]
    assert [e.step for e in acc.Tensors("batch/rnn/forget_gate/mean")] == [3, 6, 9, 12]
    assert "images" not in acc.ActivePlugins()
    assert not [t for t in acc.PluginTagToContent("scalars") if "bi/" in t]


def _dropout_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 2)),
            lstm_apps.LSTM(4, dropout=0.2, recurrent_dropout=0.2, return_sequences=True),
            keras.layers.LSTM(3, dropout=0.2, recurrent_dropout=0.2),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def test_monitor_does_not_change_training_with_dropout(tmp_path):
    # The trace runs the model, whose RNN layers draw dropout masks from their
    # seed generators even in inference mode; the monitor must leave them as
    # it found them, so a seeded run gives the same weights with or without it.
    x, y = _data(n=12)
    fits = {}
    for monitored in (True, False):
        model = _dropout_model()
        callbacks = []
        if monitored:
            callbacks.append(GateMonitor(tmp_path, x[:2], batch_freq=2, image_samples=0))
        history = model.fit(
            x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=callbacks
        )
        fits[monitored] = (model.get_weights(), history.history["loss"])
    (with_weights, with_loss), (without_weights, without_loss) = fits[True], fits[False]
    assert len(with_weights) == len(without_weights)
    for monitored_weight, plain_weight in zip(with_weights, without_weights):
        np.testing.assert_allclose(monitored_weight, plain_weight, rtol=0, atol=1e-7)
    assert with_loss == without_loss
    assert (tmp_path / "gates").is_dir()


def test_no_batch_hook_unless_batch_freq(tmp_path):
    x, _ = _data()
    quiet = GateMonitor(tmp_path, x[:2])
    busy = GateMonitor(tmp_path, x[:2], batch_freq=5)
    # Keras runs batch-end callbacks asynchronously only if none overrides them.
    assert getattr(quiet.on_train_batch_end, "_is_default", False)
    assert not getattr(busy.on_train_batch_end, "_is_default", False)


def test_text_model_images_use_the_vocabulary(tmp_path):
    texts = np.array(["a great film", "a dull slow plot", "great acting", "slow film"] * 4)
    vectorizer = keras.layers.TextVectorization(max_tokens=30, output_sequence_length=5)
    vectorizer.adapt(texts)
    inputs = keras.Input((1,), dtype="string")
    x = keras.layers.Embedding(30, 4, mask_zero=True)(vectorizer(inputs))
    x = lstm_apps.LSTM(3, name="rnn")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    monitor = GateMonitor(tmp_path, ["a great film", "slow plot"], image_samples=1)
    import tensorflow as tf  # Keras's fit takes string arrays only through tf.data

    data = tf.data.Dataset.from_tensor_slices((texts[:, None], np.ones((16, 1)))).batch(8)
    model.fit(data, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.last_trace.tokens == [
        ["a", "great", "film", "", ""],
        ["slow", "plot", "", "", ""],
    ]
    acc = _events(tmp_path / "gates")
    assert _value(acc, "rnn/forget_gate/heatmap")[2].startswith(PNG)
    assert float(_value(acc, "rnn/forget_gate/mean")) == pytest.approx(
        trace_gates(model, ["a great film", "slow plot"])
        .summary()
        .set_index("gate")
        .loc["f", "mean"],
        abs=1e-5,
    )


# ------------------------------------------------------- copies and tuners
def test_deepcopy_before_and_after_training_and_lazy_writer(tmp_path, caplog):
    model = _model()
    x, y = _data()
    monitor = GateMonitor(tmp_path / "logs", x[:2], image_samples=0)
    before = copy.deepcopy(monitor)
    assert not (tmp_path / "logs").exists()  # nothing is opened before training
    assert before.freq == 1 and before.probe is not monitor.probe
    np.testing.assert_array_equal(before.probe, monitor.probe)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[monitor])
    assert monitor.last_trace is not None
    after = copy.deepcopy(monitor)
    assert after.model is None and after.last_trace is None and after._writer is None
    assert after.run_dir == monitor.run_dir
    with caplog.at_level(logging.WARNING, logger="lstm_apps.callbacks"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[after])
    assert "deep copy" in caplog.text and "TensorBoard callback as `log_dir`" in caplog.text
    files = list((tmp_path / "logs" / "gates").glob("events.out.tfevents.*"))
    assert len(files) == 2  # one per training run
    # a monitor can be trained again with another model
    other = _model()
    monitor_steps = copy.deepcopy(monitor)
    other.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[monitor_steps])
    assert monitor_steps.last_trace.names == ["rnn", "bi"]


def test_following_a_tensorboard_callback_through_a_deepcopy(tmp_path):
    model = _model()
    x, y = _data()
    board = keras.callbacks.TensorBoard(tmp_path / "a")
    monitor = GateMonitor(board, x[:2], image_samples=0)
    assert monitor.run_dir == tmp_path / "a" / "gates"
    board_copy, monitor_copy = copy.deepcopy([board, monitor])
    board_copy.log_dir = str(tmp_path / "b")  # what Keras Tuner does to TensorBoard
    assert monitor_copy.run_dir == tmp_path / "b" / "gates"
    assert monitor.run_dir == tmp_path / "a" / "gates"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[board_copy, monitor_copy])
    assert sorted(os.listdir(tmp_path / "b")) == ["gates", "train"]
    assert not (tmp_path / "a").exists()


def test_keras_tuner_search_writes_one_folder_per_trial(tmp_path):
    import keras_tuner

    x, y = _data(16)

    def build(hp):
        model = keras.Sequential(
            [
                keras.Input((8, 2)),
                lstm_apps.LSTM(hp.Choice("units", [2, 3]), name="rnn"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer="adam", loss="mse")
        return model

    tuner = keras_tuner.GridSearch(
        build, objective="loss", max_trials=2, directory=tmp_path / "tuner", project_name="p"
    )
    board = keras.callbacks.TensorBoard(tmp_path / "tb")
    monitor = GateMonitor(board, x[:2], image_samples=0)
    tuner.search(x, y, epochs=1, verbose=0, callbacks=[board, monitor])
    trial_ids = sorted(tuner.oracle.trials)
    assert len(trial_ids) == 2
    units = []
    for trial_id in trial_ids:
        run = tmp_path / "tb" / trial_id / "execution0"
        assert sorted(p.name for p in run.iterdir() if p.is_dir()) == ["gates", "train"]
        acc = _events(run / "gates")
        assert "rnn/forget_gate/mean" in acc.PluginTagToContent("scalars")
        values = int(_value(acc, "rnn/cell_state")[:, 2].sum())  # 2 samples x 8 steps x units
        units.append(values // 16)
    assert sorted(units) == [2, 3]  # each trial's own model
    assert not (tmp_path / "tb" / "gates").exists()  # the original never trained


# ------------------------------------------------------------ TensorBoard
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_a_real_tensorboard_serves_the_gate_summaries(tmp_path):
    model = _model()
    x, y = _data()
    model.fit(
        x,
        y,
        epochs=1,
        batch_size=16,
        verbose=0,
        callbacks=[
            keras.callbacks.TensorBoard(tmp_path),
            GateMonitor(tmp_path, x[:2], image_samples=1),
        ],
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(tmp_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--load_fast",
            "false",
            "--reload_interval",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    try:
        deadline = time.monotonic() + 120
        scalars: dict = {}
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"tensorboard exited: {process.stderr.read().decode()[-2000:]}")
            try:
                scalars = json.loads(_get(f"{base}/data/plugin/scalars/tags"))
            except OSError:
                scalars = {}
            if "rnn/forget_gate/mean" in scalars.get("gates", {}):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"tensorboard did not list the gate scalars in time: {scalars}")
        assert "epoch_loss" in scalars["train"]  # Keras's own run shows beside ours
        assert "bi/backward/cell_state/mean_abs" in scalars["gates"]
        histograms = json.loads(_get(f"{base}/data/plugin/histograms/tags"))
        assert {"rnn/input_gate", "bi/backward/hidden_state"} <= set(histograms["gates"])
        images = json.loads(_get(f"{base}/data/plugin/images/tags"))
        assert "rnn/forget_gate/heatmap" in images["gates"]
        query = urllib.parse.urlencode(
            {"run": "gates", "tag": "rnn/forget_gate/heatmap", "sample": 0}
        )
        entries = json.loads(_get(f"{base}/data/plugin/images/images?{query}"))
        assert entries
        png = _get(f"{base}/data/plugin/images/individualImage?{entries[-1]['query']}")
        assert png.startswith(PNG)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        process.stderr.close()


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"freq": 0}, ValueError, r"`freq`, expected a positive integer, got 0"),
        ({"freq": 1.5}, ValueError, r"`freq`, expected a positive integer, got 1.5"),
        ({"batch_freq": -2}, ValueError, r"`batch_freq`, expected a positive integer or None"),
        (
            {"log_dir": 3},
            TypeError,
            r"`log_dir`, expected a folder path or a "
            r"keras.callbacks.TensorBoard callback, got int",
        ),
        ({"probe": None}, TypeError, r"`probe`, expected a batch of model inputs, got None"),
        ({"probe": np.zeros((0, 8, 2))}, ValueError, r"`probe`, expected a non-empty batch"),
        ({"layers": 3}, TypeError, r"`layers`, expected None, a layer name"),
        ({"image_samples": -1}, ValueError, r"`image_samples`, expected an integer >= 0"),
        (
            {"tokens": [["a"]]},
            ValueError,
            r"`tokens`, expected one list of token strings \(or dates\) per "
            r"sample \(2 lists\)",
        ),
    ],
)
def test_bad_arguments_fail_at_construction(tmp_path, kwargs, error, message):
    arguments = {"log_dir": tmp_path, "probe": np.zeros((2, 8, 2)), **kwargs}
    with pytest.raises(error, match=message):
        GateMonitor(**arguments)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"probe": np.zeros((2, 9, 2))},
            r"`probe`.*shape \(None, 8, 2\) with dtype float32; got shape \(2, 9, 2\)",
        ),
        ({"probe": np.array(["text", "more"])}, r"`probe`.*got shape \(2,\) and dtype <U4"),
        ({"layers": ["rnn", "nope"]}, r"`layers`.*\['rnn', 'bi'\], got 'nope'"),
        (
            {"image_samples": 3},
            r"`image_samples`, expected at most the number of probe "
            r"samples \(2\), got 3",
        ),
    ],
)
def test_bad_probe_or_layers_fail_before_the_first_batch(tmp_path, kwargs, message):
    model = _model()
    weights = [w.copy() for w in model.get_weights()]
    x, y = _data()
    counter = _CountBatches()
    monitor = GateMonitor(tmp_path, **{"probe": np.zeros((2, 8, 2)), **kwargs})
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[counter, monitor])
    assert counter.batches == 0
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_model_without_lstm_fails_before_training(tmp_path):
    model = keras.Sequential(
        [keras.Input((8, 2)), keras.layers.GRU(2, name="gru"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    counter = _CountBatches()
    with pytest.raises(
        ValueError,
        match=r"no LSTM layer to trace.*found layers of types: "
        r"GRU, Dense\. Recurrent layers without LSTM gates: 'gru'",
    ):
        model.fit(x, y, verbose=0, callbacks=[counter, GateMonitor(tmp_path, x[:2])])
    assert counter.batches == 0


def test_histogram_buckets_follow_tensorflow(tmp_path):
    tf = pytest.importorskip("tensorflow")
    values = np.random.default_rng(3).normal(size=1000)
    with tf.summary.create_file_writer(str(tmp_path)).as_default():
        tf.summary.histogram("h", values, step=0, buckets=12)
    theirs = _value(_events(tmp_path), "h")
    ours = histogram_buckets(values, 12)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_array_equal(
        ours[:, 2], np.histogram(values, ours[:, 0].tolist() + [values.max()])[0]
    )
    same = histogram_buckets(np.full(5, 0.5), 4)
    np.testing.assert_array_equal(same[:, 2], [0, 0, 0, 5])
    assert histogram_buckets(np.array([]), 3).shape == (3, 3)


# --------------------------------------------------------- other backends
_OTHER_BACKEND_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, keras, lstm_apps
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util
    log_dir = sys.argv[1]
    model = keras.Sequential([keras.Input((6, 2)), lstm_apps.LSTM(3, name="rnn"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 6, 2)).astype("float32")
    monitor = lstm_apps.GateMonitor(log_dir, x[:2], batch_freq=2, image_samples=1)
    model.fit(x, np.ones((16, 1)), epochs=1, batch_size=4, verbose=0, callbacks=[monitor])
    acc = pea.EventAccumulator(log_dir + "/gates", size_guidance={"tensors": 0})
    acc.Reload()
    steps = [e.step for e in acc.Tensors("batch/rnn/forget_gate/mean")]
    written = float(tensor_util.make_ndarray(acc.Tensors("rnn/forget_gate/mean")[-1].tensor_proto))
    direct = lstm_apps.trace_gates(model, x[:2]).summary().set_index("gate").loc["f", "mean"]
    assert steps == [2, 4], steps
    assert abs(written - direct) < 1e-5, (written, direct)
    assert "rnn/forget_gate/heatmap" in acc.PluginTagToContent("images")
    print("OK", keras.backend.backend())
    """
)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_monitor_writes_on_other_backends(tmp_path, backend):
    pytest.importorskip(backend)
    result = subprocess.run(
        [sys.executable, "-c", _OTHER_BACKEND_SCRIPT, str(tmp_path)],
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"OK {backend}" in result.stdout


# ------------------------------------------- memory, descriptions, layout
def test_memory_timescales_are_written_per_layer(tmp_path, caplog):
    model = keras.Sequential(
        [
            keras.Input((8, 2)),
            lstm_apps.LSTM(4, variant="coupled", return_sequences=True, name="rnn"),
            lstm_apps.LSTM(3, variant="nfg", name="nfg"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    monitor = GateMonitor(tmp_path, x[:4], image_samples=0)
    with caplog.at_level(logging.INFO, logger="lstm_apps.callbacks"):
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[monitor])
    acc = _events(tmp_path / "gates")
    histograms = set(acc.PluginTagToContent("histograms"))
    scalars = set(acc.PluginTagToContent("scalars"))
    assert "rnn/memory/timescale" in histograms
    assert "rnn/memory/timescale_median" in scalars
    # The last epoch's values are the trace's.
    expected = monitor.last_trace["rnn"].timescales()["timescale"]
    assert float(_value(acc, "rnn/memory/timescale_median")) == pytest.approx(
        float(np.median(expected)), rel=1e-5
    )
    buckets = _value(acc, "rnn/memory/timescale")
    assert buckets[:, 2].sum() == np.isfinite(expected).sum() == 4
    assert buckets[0, 0] == pytest.approx(expected.min(), rel=1e-5)
    # No forget gate: skipped, said once (two epochs traced).
    assert not any(tag.startswith("nfg/memory") for tag in histograms | scalars)
    assert caplog.text.count("'nfg' (nfg cell) has no forget gate") == 1


def test_an_slstm_model_is_monitored_with_its_stabilised_gates(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((8, 2)),
            keras.layers.Bidirectional(
                lstm_apps.LSTM(4, "slstm", num_heads=2, return_sequences=True), name="bi"
            ),
            lstm_apps.LSTM(4, "slstm", name="rnn"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    monitor = GateMonitor(tmp_path, x[:4], image_samples=0, alerts=False)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[monitor])
    trace = trace_gates(model, x[:4])  # the trained weights: what the last epoch wrote
    for name in ("rnn", "bi", "bi/backward"):
        np.testing.assert_allclose(monitor.last_trace[name]["f"], trace[name]["f"], rtol=1e-6)
        assert {"n", "m"} <= set(monitor.last_trace[name].values)
    acc = _events(tmp_path / "gates")
    scalars = set(acc.PluginTagToContent("scalars"))
    assert {"rnn/input_gate/mean", "rnn/forget_gate/mean", "rnn/memory/timescale_median",
            "bi/backward/output_gate/mean"} <= scalars
    assert float(_value(acc, "rnn/forget_gate/mean")) == pytest.approx(
        float(np.mean(trace["rnn"]["f"])), rel=1e-5
    )


@pytest.mark.parametrize("name", ["mlstm", "minlstm", "mingru"])
def test_a_parallel_cell_model_is_monitored(tmp_path, name):
    # The mLSTM (stabilised gates per head, output gate), minLSTM (normalised
    # gates) and minGRU (z and 1 - z): gates, states, timescale and images are
    # written; the min cells have no output gate, so none is written for them.
    heads = {"num_heads": 2} if name == "mlstm" else {}
    model = keras.Sequential(
        [
            keras.Input((8, 2)),
            keras.layers.Bidirectional(
                lstm_apps.LSTM(4, name, return_sequences=True, **heads), name="bi"
            ),
            lstm_apps.LSTM(4, name, name="rnn", **heads),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    monitor = GateMonitor(tmp_path, x[:4], image_samples=1, background_images=False)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[monitor])
    assert (tmp_path / "gates").is_dir() and os.listdir(tmp_path / "gates")
    trace = trace_gates(model, x[:4])  # the trained weights: what the epoch wrote
    acc = _events(tmp_path / "gates")
    histograms = set(acc.PluginTagToContent("histograms"))
    scalars = set(acc.PluginTagToContent("scalars"))
    images = set(acc.PluginTagToContent("images"))
    gates = ["input_gate", "forget_gate", "candidate"]
    if name == "mlstm":
        gates.append("output_gate")
    for key in ("rnn", "bi", "bi/backward"):
        assert {f"{key}/{g}" for g in gates + ["cell_state", "hidden_state"]} <= histograms
        assert {f"{key}/{g}/mean" for g in gates} <= scalars
        assert {f"{key}/cell_state/mean_abs", f"{key}/memory/timescale_median",
                f"{key}/alerts/saturated_units", f"{key}/alerts/constant_units"} <= scalars
        assert f"{key}/memory/timescale" in histograms
        assert {f"{key}/{g}/heatmap" for g in gates} <= images
        assert (f"{key}/output_gate" in histograms) == (name == "mlstm")
        np.testing.assert_allclose(monitor.last_trace[key]["h"], trace[key]["h"], rtol=1e-5,
                                   atol=1e-6)
    assert float(_value(acc, "rnn/forget_gate/mean")) == pytest.approx(
        float(np.mean(trace["rnn"]["f"])), rel=1e-5
    )
    assert float(_value(acc, "rnn/memory/timescale_median")) == pytest.approx(
        float(np.median(trace["rnn"].timescales()["timescale"])), rel=1e-5
    )


def test_every_tag_has_a_description_and_the_layout_is_written(tmp_path):
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.plugins.custom_scalar import metadata as cs_metadata

    model = _model()
    x, y = _data()
    monitor = GateMonitor(tmp_path, x[:2], image_samples=0, batch_freq=2)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[monitor])
    acc = _events(tmp_path / "gates")
    tags = set(acc.PluginTagToContent("histograms")) | set(acc.PluginTagToContent("scalars"))
    assert len(tags) > 40
    for tag in tags:
        description = acc.SummaryMetadata(tag).summary_description
        assert len(description) > 20, tag
    assert "below 0.1" in acc.SummaryMetadata("rnn/forget_gate/saturated_low").summary_description
    assert (
        "above 0.9"
        in acc.SummaryMetadata("bi/backward/output_gate/saturated_high").summary_description
    )
    assert "1 / (1 - f)" in acc.SummaryMetadata("bi/memory/timescale_median").summary_description

    # The custom-scalars layout: one category per layer and direction, each
    # with the gate means, the saturated fractions and the timescale, and
    # every chart's regex matches tags that exist.
    content = acc.PluginTagToContent(cs_metadata.PLUGIN_NAME)
    assert list(content) == [cs_metadata.CONFIG_SUMMARY_TAG]
    (event,) = acc.Tensors(cs_metadata.CONFIG_SUMMARY_TAG)
    from tensorboard.util import tensor_util

    layout = layout_pb2.Layout.FromString(tensor_util.make_ndarray(event.tensor_proto).item())
    assert [c.title for c in layout.category] == ["gates: rnn", "gates: bi", "gates: bi/backward"]
    import re

    scalars = set(acc.PluginTagToContent("scalars"))
    for category in layout.category:
        key = category.title.split(": ", 1)[1]
        matched = {
            chart.title: sorted(t for t in scalars if re.search(chart.multiline.tag[0], t))
            for chart in category.chart
        }
        means, saturated, memory, alerts, batch = matched.values()
        assert means == sorted(f"{key}/{g}_gate/mean" for g in ("input", "forget", "output"))
        assert len(saturated) == 6 and memory == [f"{key}/memory/timescale_median"]
        assert alerts == [f"{key}/alerts/constant_units", f"{key}/alerts/saturated_units"]
        assert batch == sorted(f"batch/{key}/{g}_gate/mean" for g in ("input", "forget", "output"))


def test_callbacks_use_only_public_names_of_gates():
    import ast
    import inspect

    import lstm_apps.callbacks as module

    tree = ast.parse(inspect.getsource(module))
    private = sorted(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "_gates"
        and node.attr.startswith("_")
    )
    assert private == []
    from lstm_apps import gates

    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "_gates"
    }
    assert used and used <= set(gates.__all__)


# ------------------------------------------------------------------ alerts
def _stuck_model():
    """A standard LSTM whose bias forces: f > 0.9 in units 1 and 3, o ~ 0 (h = 0) in unit 2."""
    model = keras.Sequential(
        [keras.Input((8, 2)), lstm_apps.LSTM(4, name="rnn"), keras.layers.Dense(1)]
    )
    cell = model.get_layer("rnn").cell
    bias = np.zeros(16, "float32")  # gate blocks i, f, c, o of 4 units each
    bias[4 + 1] = bias[4 + 3] = 12.0
    bias[12 + 2] = -25.0
    cell.bias.assign(bias)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    return model


def test_stuck_units_are_counted_per_layer_and_named_in_a_warning(tmp_path, caplog):
    model = _stuck_model()
    x, y = _data()
    trace = trace_gates(model, x[:4])
    assert trace["rnn"].stuck_units() == {1: ["f > 0.9"], 2: ["o < 0.1", "h constant"],
                                          3: ["f > 0.9"]}
    monitor = GateMonitor(tmp_path, x[:4], image_samples=0, batch_freq=2)
    with caplog.at_level(logging.INFO, logger="lstm_apps.callbacks"):
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[monitor])
    acc = _events(tmp_path / "gates")
    for prefix in ("", "batch/"):
        saturated = acc.Tensors(f"{prefix}rnn/alerts/saturated_units")
        constant = acc.Tensors(f"{prefix}rnn/alerts/constant_units")
        assert len(saturated) == len(constant) == 2  # 2 epochs; 4 batches, every 2nd
        from tensorboard.util import tensor_util

        assert [float(tensor_util.make_ndarray(e.tensor_proto)) for e in saturated] == [3, 3]
        assert [float(tensor_util.make_ndarray(e.tensor_proto)) for e in constant] == [1, 1]
    description = acc.SummaryMetadata("rnn/alerts/constant_units").summary_description
    assert "dead" in description
    warnings = [
        r.getMessage() for r in caplog.records
        if r.levelno == logging.WARNING and r.name.startswith("lstm_apps")
    ]
    # One warning: the set of stuck units never changed over the four traces.
    assert warnings == [
        "Layer 'rnn': 3 of 4 units stuck over the probe at batch 2 (a gate saturated at every "
        "step, or a constant output): unit 1: f > 0.9; unit 2: o < 0.1, h constant; "
        "unit 3: f > 0.9."
    ]


def test_a_healthy_layer_raises_no_alert_and_alerts_can_be_off(tmp_path, caplog):
    model = keras.Sequential(
        [keras.Input((8, 2)), lstm_apps.LSTM(4, name="rnn"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    with caplog.at_level(logging.WARNING, logger="lstm_apps.callbacks"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[GateMonitor(tmp_path / "on", x[:4], image_samples=0)])
        _stuck_model().fit(x, y, epochs=1, verbose=0, callbacks=[
            GateMonitor(tmp_path / "off", x[:4], image_samples=0, alerts=False)])
    assert not [r for r in caplog.records if r.name.startswith("lstm_apps")]
    on = _events(tmp_path / "on" / "gates")
    assert float(_value(on, "rnn/alerts/saturated_units")) == 0
    assert float(_value(on, "rnn/alerts/constant_units")) == 0
    off = _events(tmp_path / "off" / "gates")
    assert not [t for t in off.PluginTagToContent("scalars") if "/alerts/" in t]
    with pytest.raises(TypeError, match=r"`alerts`, expected a bool, got 'yes'"):
        GateMonitor(tmp_path, x[:2], alerts="yes")
