"""Tests of `lstm_apps.recipes.sentiment` and `lstm-apps sentiment`."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_apps.cli import main
from lstm_apps.layers.vectorizers import make_vectorizer
from lstm_apps.recipes import sentiment
from lstm_apps.recipes.sentiment import SentimentConfig, build_model, predict_sentiment, run

REPO = Path(__file__).resolve().parents[1]
GOOD = ["great", "wonderful", "superb", "moving", "loved", "brilliant"]
BAD = ["awful", "boring", "dull", "terrible", "hated", "worst"]
FILLER = [
    "the",
    "film",
    "plot",
    "actor",
    "scene",
    "and",
    "it",
    "was",
    "a",
    "story",
    "director",
    "music",
    "of",
    "this",
    "with",
    "cast",
    "ending",
    "script",
]

# Small, fast settings for the synthetic reviews below.
TINY = dict(
    units=8,
    embedding_dim=16,
    vocab_size=100,
    max_len=40,
    batch_size=32,
    epochs=3,
    learning_rate=0.01,
    seed=3,
    verbose=0,
)


def reviews(n: int, seed: int) -> pd.DataFrame:
    """Synthetic reviews: filler words plus 1-3 words that give the label away,
    with HTML line breaks and punctuation sprinkled in."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(FILLER, rng.integers(6, 40)))
        for _ in range(rng.integers(1, 4)):
            words.insert(
                int(rng.integers(0, len(words) + 1)), str(rng.choice(GOOD if label else BAD))
            )
        text = " ".join(words).capitalize() + rng.choice([".", "!", "..."])
        if rng.random() < 0.4:
            text = text.replace(" ", " <br /><br />", 1)
        rows.append((text, "pos" if label else "neg"))
    return pd.DataFrame(rows, columns=["review", "sentiment"])


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    reviews(400, seed=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def quick(table, tmp_path_factory):
    """One tiny run on the synthetic CSV, shared by the tests that read its outputs."""
    config = SentimentConfig(
        data=table,
        text_column="review",
        label_column="sentiment",
        output_dir=tmp_path_factory.mktemp("run"),
        gate_monitor=True,
        **TINY,
    )
    return run(config)


def all_layers(model) -> dict:
    """Every layer of `model` by name, those of nested models (the branches) included."""
    import keras

    found = {}
    for layer in model.layers:
        found[layer.name] = layer
        if isinstance(layer, keras.Model):
            found.update(all_layers(layer))
    return found


# ----------------------------------------------------------------- the run
def test_quick_run_learns_and_reports(quick):
    m = quick.metrics
    assert m["test_accuracy"] >= 0.9 and m["test_auc"] >= 0.95
    assert m["train_samples"] == 288 and m["val_samples"] == 32 and m["test_samples"] == 80
    assert 1 <= m["best_epoch"] <= m["epochs_run"] <= 3
    history = quick.history
    assert list(history.columns) == [
        "branch",
        "epoch",
        "accuracy",
        "auc",
        "loss",
        "val_accuracy",
        "val_auc",
        "val_loss",
        "seconds",
    ]
    # The default (residual) trains the n-gram branch, then the LSTM on top of it.
    assert list(dict.fromkeys(history["branch"])) == ["ngram", "lstm"]
    for branch, epochs in (("ngram", m["ngram_epochs_run"]), ("lstm", m["epochs_run"])):
        rows = history[history["branch"] == branch]
        assert rows["epoch"].tolist() == list(range(1, epochs + 1))
        assert rows["loss"].iloc[-1] < rows["loss"].iloc[0]
    # Each stage keeps its epoch of best validation accuracy: the n-gram branch
    # alone its own, the whole model (n-gram + LSTM logits, weights 1) the LSTM stage's.
    rows = history[history["branch"] == "ngram"]
    assert m["ngram_val_accuracy"] == pytest.approx(rows["val_accuracy"].max(), abs=1e-6)
    rows = history[history["branch"] == "lstm"]
    assert m["val_accuracy"] == pytest.approx(rows["val_accuracy"].max(), abs=1e-6)
    assert 0.5 <= m["ngram_test_accuracy"] <= 1.0 and 0.5 <= m["ngram_test_auc"] <= 1.0
    # No blend is fitted and the LSTM logit alone is a correction, not a classifier.
    assert "blend_weights" not in m and "lstm_test_accuracy" not in m
    kernel, bias = quick.model.get_layer("blend").get_weights()
    np.testing.assert_array_equal(kernel.ravel(), [1, 1])
    np.testing.assert_array_equal(bias, [0])
    # The n-gram branch was frozen for the LSTM stage only: trainable again after it.
    assert quick.model.get_layer("ngram_branch").trainable


def test_residual_stage_trains_the_lstm_on_top_of_the_frozen_ngram_branch():
    # The LSTM stage's logit is the n-gram logit plus the LSTM logit, and fitting
    # it under `_frozen` moves the LSTM weights only, though the n-gram weights
    # have an L2 penalty that would shrink them if they were trained.
    model, _, _ = _branch_model("lstm+ngram", fusion="residual")
    model_config = SentimentConfig(units=4, embedding_dim=8, max_len=12, fusion="residual")
    stages = sentiment._stages(model, model_config)
    assert [tag for tag, _, _ in stages] == ["ngram", "lstm"]
    stage = stages[1][1]
    ngram, lstm = model.get_layer("ngram_branch"), model.get_layer("lstm_branch")
    # The n-gram stage trains the n-gram branch; the LSTM stage keeps it frozen.
    assert stages[0][2] == () and stages[1][2] == (ngram,)
    texts = np.array(["a great film", "the worst plot <br /> awful", "moving", "dull"] * 8,
                     dtype=object)
    labels = np.array([1, 0, 1, 0] * 8, dtype="float32")
    logits = [branch.predict_on_batch(texts) for branch in (ngram, lstm)]
    np.testing.assert_allclose(
        stage.predict_on_batch(texts), 1 / (1 + np.exp(-(logits[0] + logits[1]))), rtol=1e-5)
    before = [w.copy() for w in ngram.get_weights()]
    lstm_before = [w.copy() for w in lstm.get_weights()]
    with sentiment._frozen(*stages[1][2]):
        sentiment.compile_model(stage, model_config, len(texts))
        stage.fit(texts, labels, epochs=3, batch_size=8, verbose=0)
    assert ngram.trainable and ngram.trainable_weights
    for old, new in zip(before, ngram.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert any(not np.allclose(old, new) for old, new in zip(lstm_before, lstm.get_weights()))


def test_metrics_match_predictions_on_raw_text(quick, table):
    splits = sentiment_splits(quick.config)
    probabilities = predict_sentiment(quick.model, list(splits.test_texts))
    assert probabilities.shape == (80,) and ((0 <= probabilities) & (probabilities <= 1)).all()
    accuracy = ((probabilities > 0.5) == splits.test_labels).mean()
    assert accuracy == pytest.approx(quick.metrics["test_accuracy"])
    clear = predict_sentiment(quick.model, ["Great <br />superb wonderful film!", "awful dull."])
    assert clear[0] > 0.5 > clear[1]
    # batching by length gives the same numbers as one example at a time
    one_by_one = [predict_sentiment(quick.model, [t])[0] for t in splits.test_texts[:5]]
    np.testing.assert_allclose(one_by_one, probabilities[:5], atol=1e-5)


def sentiment_splits(config):
    from lstm_apps.data.imdb import load_imdb

    return load_imdb(
        config.data,
        text_column=config.text_column,
        label_column=config.label_column,
        seed=config.seed,
    )


def test_run_folder(quick):
    run_dir = quick.config.output_dir
    names = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert {
        "model.keras",
        "metrics.json",
        "history.csv",
        "config.json",
        "plots/learning_curves.png",
        "plots/forget_gate.png",
    } <= names
    assert {n.split("/")[1] for n in names if n.startswith("tb/")} == {
        "train",
        "validation",
        "gates",
        "ngram",  # the n-gram branch's own fit: tb/ngram/train, tb/ngram/validation
    }
    assert not [n for n in names if Path(n).name.startswith(".")]  # no temp files left
    written = json.loads((run_dir / "metrics.json").read_text())
    assert written == pytest.approx(quick.metrics)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"] == str(quick.config.data) and config["units"] == 8
    assert SentimentConfig(**config).to_dict() == quick.config.to_dict() == config
    history = pd.read_csv(run_dir / "history.csv")
    pd.testing.assert_frame_equal(history, quick.history, check_dtype=False)
    assert quick.paths["model"] == run_dir / "model.keras"


def test_saved_model_reloads_in_a_fresh_process(quick):
    texts = ["A wonderful, moving film.", "Dull<br />and boring...", "the plot and the cast"]
    expected = predict_sentiment(quick.model, texts)
    # The model (both branches: NGramBag, the blend, the cells) loads after
    # `import lstm_apps` alone, before the recipe module is imported.
    code = (
        "import json, sys\n"
        "import lstm_apps\n"
        "import keras\n"
        "texts = json.loads(sys.argv[2])\n"
        "plain = keras.saving.load_model(sys.argv[1])\n"
        "import numpy as np\n"
        "raw = plain.predict(np.array(texts, dtype=object), verbose=0)[:, 0]\n"
        "print(json.dumps(raw.tolist()))\n"
        "from lstm_apps.recipes.sentiment import load_model, predict_sentiment\n"
        "print(json.dumps(predict_sentiment(plain, texts).tolist()))\n"
        "print(json.dumps(predict_sentiment(load_model(sys.argv[1]), texts).tolist()))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(quick.paths["model"]), json.dumps(texts)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()[-3:]  # predict, predict_sentiment twice
    assert len(lines) == 3, out.stdout
    for line in lines:
        np.testing.assert_allclose(json.loads(line), expected, atol=1e-5)
    assert {"ngram_bag", "blend", "bidirectional_rnn_0"} <= set(all_layers(quick.model))


def test_same_seed_same_result(quick, table, tmp_path):
    # Same config, another folder: the same numbers (TensorFlow on CPU, same machine).
    again = run(dataclasses.replace(quick.config, output_dir=tmp_path))
    assert again.metrics["test_accuracy"] == quick.metrics["test_accuracy"]
    assert again.metrics["best_epoch"] == quick.metrics["best_epoch"]
    np.testing.assert_allclose(again.history["val_loss"], quick.history["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(
        predict_sentiment(again.model, ["a great film", "dull"]),
        predict_sentiment(quick.model, ["a great film", "dull"]),
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "settings",
    [
        dict(cell="peephole", pooling="max_mean", layers=2),
        dict(cell="nfg", pooling="last", bidirectional=False),
        dict(cell="standard", pooling="mean", truncating="post", recurrent_dropout=0.1),
        dict(cell="gru", pooling="max"),
        dict(cell="keras_lstm", pooling="max", layers=2),
    ],
)
def test_build_model_variants(settings):
    vectorizer = make_vectorizer(list(reviews(40, seed=1)["review"]), vocab_size=50)
    model = build_model(
        SentimentConfig(units=4, embedding_dim=8, max_len=12, **settings), vectorizer
    )
    out = model.predict_on_batch(np.array(["a great film", "the worst <br /> plot " * 20]))
    assert out.shape == (2, 1) and np.all((out > 0) & (out < 1))
    layers = all_layers(model)
    assert ("pooling" in layers) == (settings["pooling"] != "last")
    assert ("bidirectional_rnn_0" in layers) == settings.get("bidirectional", True)
    # without an n-gram vectorizer the n-gram branch is a bag of the words
    assert layers["ngram_bag"].vocab_size == vectorizer.vocabulary_size()


def _branch_model(branches, **settings):
    from lstm_apps.layers.vectorizers import make_ngram_vectorizer

    frame = reviews(60, seed=1)
    labels = (frame["sentiment"] == "pos").astype(int)
    vectorizer = make_vectorizer(list(frame["review"]), vocab_size=50)
    ngrams, ratios = make_ngram_vectorizer(frame["review"], labels, vocab_size=300)
    config = SentimentConfig(units=4, embedding_dim=8, max_len=12, branches=branches, **settings)
    return build_model(config, vectorizer, ngrams, ratios), ngrams, ratios


@pytest.mark.parametrize(
    "branches, present, absent",
    [
        ("lstm+ngram", {"lstm_branch", "ngram_branch", "bidirectional_rnn_0", "ngram_bag",
                        "blend"}, {"branch_sum"}),
        ("lstm+ngram/joint", {"bidirectional_rnn_0", "ngram_bag", "branch_sum"},
         {"blend", "lstm_branch"}),
        ("lstm", {"bidirectional_rnn_0", "lstm_logit"}, {"ngram_bag", "ngram_vectorizer"}),
        ("ngram", {"ngram_bag", "ngram_vectorizer"}, {"vectorizer", "embedding", "lstm_logit"}),
    ],
)
def test_branches_build_the_parts_they_name(branches, present, absent):
    branches, _, fusion = branches.partition("/")
    model, ngrams, ratios = _branch_model(branches, fusion=fusion or "residual")
    layers = all_layers(model)
    assert present <= set(layers) and not absent & set(layers)
    out = model.predict_on_batch(np.array(["a great film", "awful and dull"]))
    assert out.shape == (2, 1) and np.all((out > 0) & (out < 1))
    if "ngram_bag" in layers:  # the NB ratios are the fixed scale of the bag
        np.testing.assert_allclose(layers["ngram_bag"].scale.numpy(), ratios)


def test_blend_weighs_the_branch_logits():
    # The ensemble's probability is sigmoid(w_lstm * lstm logit + w_ngram * n-gram logit + b),
    # each logit computed by its branch alone; the blend is not trained by fit.
    import keras

    model, _, _ = _branch_model("lstm+ngram", fusion="ensemble")
    blend = model.get_layer("blend")
    assert not blend.trainable
    assert all(w is not blend.kernel and w is not blend.bias for w in model.trainable_weights)
    blend.set_weights([np.array([[0.7], [1.3]], "float32"), np.array([-0.2], "float32")])
    texts = np.array(["a great film", "the worst plot <br /> awful", "moving"], dtype=object)
    lstm = model.get_layer("lstm_branch").predict_on_batch(texts)
    ngram = model.get_layer("ngram_branch").predict_on_batch(texts)
    expected = 1 / (1 + np.exp(-(0.7 * lstm + 1.3 * ngram - 0.2)))
    np.testing.assert_allclose(model.predict_on_batch(texts), expected, rtol=1e-5)
    assert isinstance(model.get_layer("lstm_branch"), keras.Model)


def test_sum_of_branches_is_the_logit_of_the_joint_model():
    # The joint model's logit is the LSTM logit plus the n-gram logit (no dropout at inference).
    import keras

    model, _, _ = _branch_model("lstm+ngram", fusion="joint")
    bag = model.get_layer("ngram_bag")
    bag.kernel.assign(np.random.default_rng(0).normal(size=bag.kernel.shape).astype("float32"))
    texts = np.array(["a great film", "the worst plot <br /> awful", "moving"], dtype=object)
    parts = keras.Model(
        model.input, [model.get_layer("lstm_logit").output, bag.output]
    ).predict_on_batch(texts)
    probability = model.predict_on_batch(texts)
    expected = 1 / (1 + np.exp(-(parts[0] + parts[1])))
    np.testing.assert_allclose(probability, expected, rtol=1e-5)
    assert np.abs(parts[1]).max() > 0.1  # the bag contributes


def test_keras_lstm_baseline_without_the_gate_modules(table, tmp_path, monkeypatch, caplog):
    # GateMonitor, trace_gates and the gate plots are imported lazily: without
    # them the run still trains (here the keras.layers.LSTM baseline) and warns.
    for name in ("lstm_apps.callbacks", "lstm_apps.gates", "lstm_apps.plots"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail
    with caplog.at_level(logging.WARNING, logger="lstm_apps.recipes.sentiment"):
        result = run(
            SentimentConfig(
                data=table,
                text_column="review",
                label_column="sentiment",
                output_dir=tmp_path,
                cell="keras_lstm",
                max_train_samples=100,
                max_test_samples=20,
                gate_monitor=True,
                **{**TINY, "epochs": 1},
            )
        )
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "GateMonitor is unavailable" in messages and "Skipping the forget-gate plot" in messages
    assert "forget_gate" not in result.paths and not (tmp_path / "tb" / "gates").exists()
    assert result.metrics["cell"] == "keras_lstm" and (tmp_path / "model.keras").is_file()


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "settings, error, message",
    [
        (dict(max_len=0), ValueError, r"`max_len`, expected a positive integer, got 0"),
        (dict(max_len=-5), ValueError, r"`max_len`, expected a positive integer, got -5"),
        (
            dict(cell="lstm9"),
            ValueError,
            r"`cell`, expected one of \['standard', 'peephole', "
            r"'coupled', .*'keras_lstm', 'gru'\], got 'lstm9'",
        ),
        (
            dict(data="/no/such/folder"),
            FileNotFoundError,
            r"`data`='/no/such/folder', which does not exist",
        ),
        (
            dict(pooling="attention"),
            ValueError,
            r"`pooling`, expected one of \['max', 'mean', "
            r"'max_mean', 'last'\], got 'attention'",
        ),
        (dict(dropout=1.0), ValueError, r"`dropout`, expected a float in \[0, 1\), got 1.0"),
        (dict(units=0), ValueError, r"`units`, expected a positive integer, got 0"),
        (dict(vocab_size=2), ValueError, r"`vocab_size`, expected an integer >= 3, got 2"),
        (dict(truncating="end"), ValueError, r"`truncating`, expected one of \['pre', 'post'\]"),
        (dict(learning_rate=0), ValueError, r"`learning_rate`, expected a positive number"),
        (dict(ema_momentum=1.0), ValueError, r"`ema_momentum`, expected a float in \(0, 1\)"),
        (dict(patience=0), ValueError, r"`patience`, expected a positive integer, got 0"),
        (dict(output_dir=3), TypeError, r"`output_dir`, expected a folder path, got int"),
        (dict(seed=1.5), TypeError, r"`seed`, expected an integer, got 1.5"),
        (dict(bidirectional="yes"), TypeError, r"`bidirectional`, expected a bool"),
        (dict(verbose=3), ValueError, r"`verbose`, expected one of \[0, 1, 2\], got 3"),
        (
            dict(branches="cnn"),
            ValueError,
            r"`branches`, expected one of \['lstm\+ngram', 'lstm', 'ngram'\], got 'cnn'",
        ),
        (dict(ngrams=0), ValueError, r"`ngrams`, expected a positive integer, got 0"),
        (dict(ngram_vocab_size=2), ValueError, r"`ngram_vocab_size`, expected an integer >= 3"),
        (dict(ngram_l2=-1e-4), ValueError, r"`ngram_l2`, expected a number >= 0, got -0.0001"),
        (
            dict(branch_dropout=1.0),
            ValueError,
            r"`branch_dropout`, expected a float in \[0, 1\), got 1.0",
        ),
    ],
)
def test_config_rejects_bad_values(settings, error, message):
    with pytest.raises(error, match=message):
        SentimentConfig(**settings)


def test_cell_names_are_normalised():
    assert SentimentConfig(cell="Keras_LSTM").cell == "keras_lstm"


@pytest.mark.parametrize(
    "frame, message",
    [
        (
            pd.DataFrame({"text": ["a"] * 8, "label": [0, 1] * 4}),
            r"Expected columns 'review' \(text\) and 'sentiment' \(label\) .* found columns "
            r"\['text', 'label'\]",
        ),
        (
            pd.DataFrame({"review": ["a"] * 8, "sentiment": [0, 1, 2, 3] * 2}),
            r"binary labels .* got 4 distinct values: \['0', '1', '2', '3'\]",
        ),
        (
            pd.DataFrame({"review": ["a", "", "b", "c"] * 2, "sentiment": [0, 1] * 4}),
            r"non-empty string, but 2 of 8 are empty",
        ),
    ],
)
def test_bad_data_fails_before_training(frame, message, tmp_path):
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    config = SentimentConfig(
        data=path,
        text_column="review",
        label_column="sentiment",
        output_dir=tmp_path / "run",
        **TINY,
    )
    with pytest.raises(ValueError, match=message):
        run(config)
    assert not (tmp_path / "run").exists()  # nothing trained, nothing written


def test_predict_sentiment_rejects_bad_texts(quick):
    with pytest.raises(TypeError, match="expected a list of strings, got a single string"):
        predict_sentiment(quick.model, "a wonderful film")
    with pytest.raises(TypeError, match=r"but the items at \[1\] are \['int'\]"):
        predict_sentiment(quick.model, ["fine", 3])
    assert predict_sentiment(quick.model, []).shape == (0,)


def test_epoch_momentum_keeps_full_runs_and_shortens_tiny_epochs():
    assert sentiment._epoch_momentum(0.99, 176) == 0.99
    assert sentiment._epoch_momentum(0.99, 10) ** 10 == pytest.approx(0.2)


def test_roc_auc_matches_a_pairwise_count():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert sentiment._roc_auc(labels, scores) == pytest.approx(pairs)


# ------------------------------------------------------------------- CLI
def test_cli_runs_the_recipe(table, tmp_path, capsys):
    code = main(
        [
            "sentiment",
            "--data",
            str(table),
            "--text-column",
            "review",
            "--label-column",
            "sentiment",
            "--output-dir",
            str(tmp_path),
            "--run-name",
            "run",
            "--units",
            "8",
            "--embedding-dim",
            "16",
            "--vocab-size",
            "100",
            "--max-len",
            "40",
            "--epochs",
            "1",
            "--max-train-samples",
            "120",
            "--max-test-samples",
            "40",
            "--cell",
            "gru",
            "--no-gate-monitor",
            "--clipnorm",
            "none",
            "--verbose",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "cell gru: test accuracy" in out and "on 40 reviews" in out
    run_dir = tmp_path / "run"  # --output-dir holds the run folders
    metrics = json.loads((run_dir / "metrics.json").read_text())
    gain = metrics["test_accuracy"] - metrics["ngram_test_accuracy"]
    assert (f"the n-gram branch alone: {metrics['ngram_test_accuracy']:.4f} test accuracy "
            f"(the LSTM adds {gain:+.4f})") in out
    config = json.loads((run_dir / "config.json").read_text())
    assert config["clipnorm"] is None and config["gate_monitor"] is False
    # no gate monitoring: no gate run in TensorBoard, no forget-gate plot
    assert sorted(p.name for p in (run_dir / "tb").iterdir()) == ["ngram", "train", "validation"]
    assert sorted(p.name for p in (run_dir / "tb" / "ngram").iterdir()) == ["train", "validation"]
    assert sorted(p.name for p in (run_dir / "plots").iterdir()) == ["learning_curves.png"]


def test_cli_reports_bad_input(tmp_path, capsys):
    assert main(["sentiment", "--max-len", "0", "--output-dir", str(tmp_path)]) == 2
    # checked by the option parser (`--max-len`) or by SentimentConfig (`max_len`)
    assert re.search(
        r"(`max_len`|--max-len), expected a positive integer, got 0", capsys.readouterr().err
    )
    assert main(["sentiment", "--data", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv', which does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------- script
def test_recipe_script_runs_quick(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split, n, seed in (("train", 300, 5), ("test", 100, 6)):
        reviews(n, seed).rename(columns={"review": "text", "sentiment": "label"}).to_csv(
            data / f"{split}.csv", index=False
        )
    env = {
        **os.environ,
        "LSTM_APPS_QUICK": "1",
        "LSTM_APPS_IMDB": str(data),
        "LSTM_APPS_OUTPUT": str(tmp_path / "run"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    out = subprocess.run(
        [sys.executable, str(REPO / "recipes" / "imdb_sentiment.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "TextSplits(train=270, val=30, test=100" in out.stdout
    assert "'test_accuracy'" in out.stdout and "Run folder:" in out.stdout
    assert (tmp_path / "run" / "model.keras").is_file()


# ---------------------------------------------------------- the real data
@pytest.mark.slow
def test_quick_run_on_real_reviews(imdb_dir, tmp_path):
    # 1,200 real reviews, the default model (both branches) over the last 200 words,
    # 2 epochs of small batches: about 0.8 test accuracy; the bar is loose.
    result = run(
        SentimentConfig(
            data=imdb_dir,
            output_dir=tmp_path,
            max_train_samples=1200,
            max_test_samples=600,
            max_len=200,
            batch_size=32,
            epochs=2,
            gate_monitor=False,
            verbose=0,
        )
    )
    m = result.metrics
    assert m["train_samples"] == 1080 and m["test_samples"] == 600
    assert m["branches"] == "lstm+ngram" and m["ngram_vocabulary_size"] > m["vocabulary_size"]
    assert m["test_accuracy"] >= 0.70
