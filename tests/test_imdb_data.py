"""Tests of `lstm_apps.data.imdb`: every loader on data the tests make, the checks, the layers."""

from __future__ import annotations

import gzip
import importlib.util

import keras
import numpy as np
import pandas as pd
import pytest

from lstm_apps.data import imdb
from lstm_apps.layers import text as text_layers
from lstm_apps.layers import vectorizers

POS = ["A wonderful, moving film.<br /><br />Loved it!", "Great acting; I'd watch it again."]
NEG = ["Dull and far too long.", "The worst plot<br />I have ever seen..."]


def _frame(n: int = 20) -> pd.DataFrame:
    texts = [f"{(POS if i % 2 else NEG)[i // 2 % 2]} number {i}" for i in range(n)]
    return pd.DataFrame({"text": texts, "label": [i % 2 for i in range(n)]})


def _write_aclimdb(root, per_label: int = 6) -> None:
    for split in ("train", "test"):
        for folder, texts in (("pos", POS), ("neg", NEG)):
            path = root / split / folder
            path.mkdir(parents=True)
            for i in range(per_label):
                (path / f"{i}_{8 if folder == 'pos' else 2}.txt").write_text(
                    f"{texts[i % 2]} ({split} {i})", encoding="utf-8"
                )
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabelled", encoding="utf-8")


# ------------------------------------------------------------------- loaders
def test_load_aclimdb_reads_the_original_layout(tmp_path):
    _write_aclimdb(tmp_path / "aclImdb")
    splits = imdb.load_aclimdb(tmp_path / "aclImdb")
    texts, labels = splits["train"]
    assert len(texts) == 12 and labels.tolist() == [0] * 6 + [1] * 6
    assert texts[0] == f"{NEG[0]} (train 0)" and texts[6] == f"{POS[0]} (train 0)"
    assert "unlabelled" not in set(texts)
    assert splits["test"][0][-1] == f"{POS[1]} (test 5)"
    # the parent folder works too, and load_imdb finds the layout
    again = imdb.load_imdb(tmp_path, validation_split=0.25, seed=3)
    assert again.sizes() == {"train": 8, "val": 4, "test": 12}
    assert again.val_labels.tolist().count(1) == 2  # stratified


def test_load_table_from_csv_with_custom_columns(tmp_path):
    frame = _frame().rename(columns={"text": "review", "label": "sentiment"})
    frame["sentiment"] = frame["sentiment"].map({0: "neg", 1: "pos"})
    path = tmp_path / "reviews.csv"
    frame.to_csv(path, index=False)
    texts, labels = imdb.load_table(path, text_column="review", label_column="sentiment")
    assert texts.tolist() == frame["review"].tolist()
    assert labels.tolist() == [i % 2 for i in range(20)]
    assert labels.dtype == np.int32


def test_folder_with_train_and_test_tables_like_the_shared_data(tmp_path):
    for split, n in (("train", 20), ("test", 8)):
        with gzip.open(tmp_path / f"{split}.csv.gz", "wt", encoding="utf-8") as f:
            _frame(n).assign(rating=7, id=range(n)).to_csv(f, index=False)
    splits = imdb.load_imdb(tmp_path, validation_split=0.2, seed=0)
    assert splits.sizes() == {"train": 16, "val": 4, "test": 8}
    assert set(splits.train_texts) | set(splits.val_texts) == set(_frame(20)["text"])
    assert splits.source == str(tmp_path)


def test_dataframe_source_with_and_without_test_data():
    held_out = imdb.load_imdb(_frame(40), validation_split=0.25, test_split=0.5, seed=1)
    assert held_out.sizes() == {"train": 14, "val": 6, "test": 20}
    everything = np.concatenate([held_out.train_texts, held_out.val_texts, held_out.test_texts])
    assert sorted(everything) == sorted(_frame(40)["text"])  # disjoint, complete
    separate = imdb.load_imdb(_frame(20), test_data=_frame(6), validation_split=0.1, seed=1)
    assert separate.sizes() == {"train": 18, "val": 2, "test": 6}
    assert separate.test_labels.tolist() == [0, 1] * 3


def test_parquet_needs_pyarrow(tmp_path):
    path = tmp_path / "reviews.parquet"
    if not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
        path.write_bytes(b"PAR1")  # never read: the dependency check comes first
        with pytest.raises(ImportError, match="needs the `pyarrow` package"):
            imdb.load_table(path)
    else:
        _frame().to_parquet(path)
        texts, labels = imdb.load_table(path)
        assert texts.tolist() == _frame()["text"].tolist() and labels.sum() == 10


def test_keras_datasets_source_is_decoded_back_to_text(monkeypatch):
    # keras.datasets.imdb ids: 1 = start, 2 = OOV, words from index_from=3 on.
    word_index = {"the": 1, "film": 2, "was": 3, "great": 4, "awful": 5}
    x_train = np.array(
        [[1, 4, 5, 6, 7], [1, 4, 5, 6, 8], [1, 4, 2, 6, 7], [1, 4, 5, 6, 8]], dtype=object
    )
    y_train = np.array([1, 0, 1, 0])
    calls = {}

    def load_data(**kwargs):
        calls.update(kwargs)
        return (x_train, y_train), (x_train[:2], y_train[:2])

    monkeypatch.setattr(keras.datasets.imdb, "load_data", load_data)
    monkeypatch.setattr(keras.datasets.imdb, "get_word_index", lambda: word_index)
    raw = imdb.load_keras_imdb()
    assert calls == {"index_from": 3}
    assert raw["train"][0].tolist() == [
        "the film was great",
        "the film was awful",
        "the was great",
        "the film was awful",
    ]
    splits = imdb.load_imdb("keras", validation_split=0.5, seed=0)
    assert splits.sizes() == {"train": 2, "val": 2, "test": 2}
    assert splits.source == "keras"


def test_max_samples_subsample_stratified_and_seeded():
    a, b = (
        imdb.load_imdb(
            _frame(100),
            test_data=_frame(50),
            max_train_samples=40,
            max_test_samples=10,
            validation_split=0.25,
            seed=5,
        )
        for _ in range(2)
    )
    assert a.sizes() == {"train": 30, "val": 10, "test": 10}
    assert a.train_labels.sum() == 15 and a.test_labels.sum() == 5
    assert a.train_texts.tolist() == b.train_texts.tolist()
    c = imdb.load_imdb(
        _frame(100), test_data=_frame(50), max_train_samples=40, validation_split=0.25, seed=6
    )
    assert c.train_texts.tolist() != a.train_texts.tolist()


def test_stratified_split_is_disjoint_complete_and_seeded():
    labels = np.array([0] * 30 + [1] * 70)
    keep, held = imdb.stratified_split(labels, 0.2, seed=7)
    assert len(np.intersect1d(keep, held)) == 0
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(100))
    assert labels[held].tolist().count(0) == 6 and labels[held].tolist().count(1) == 14
    again, _ = imdb.stratified_split(labels, 0.2, seed=7)
    other, _ = imdb.stratified_split(labels, 0.2, seed=8)
    assert again.tolist() == keep.tolist() and other.tolist() != keep.tolist()
    with pytest.raises(ValueError, match=r"`fraction`, expected a float in \(0, 1\), got 1.5"):
        imdb.stratified_split(labels, 1.5, seed=0)


def test_real_imdb_folder(imdb_dir):
    splits = imdb.load_imdb(imdb_dir, seed=1337)
    assert splits.sizes() == {"train": 22500, "val": 2500, "test": 25000}
    assert splits.train_labels.mean() == 0.5 and splits.val_labels.mean() == 0.5
    assert splits.test_labels.mean() == 0.5
    assert any("<br />" in t for t in splits.train_texts[:200])


# --------------------------------------------------------------- bad input
def test_missing_path_is_named():
    with pytest.raises(
        FileNotFoundError,
        match=r"argument `data`='/no/such/reviews.csv', which "
        r"does not exist",
    ):
        imdb.load_imdb("/no/such/reviews.csv")


def test_csv_without_the_named_columns_lists_what_it_found(tmp_path):
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"review": ["good"] * 4, "stars": [1, 0, 1, 0]}).to_csv(path, index=False)
    with pytest.raises(
        ValueError,
        match=r"Expected columns 'text' \(text\) and 'label' \(label\)"
        r".*found columns \['review', 'stars'\]",
    ):
        imdb.load_imdb(path)


def test_labels_that_are_not_binary_show_the_values_seen():
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "label": [1, 2, 0, 10]})
    with pytest.raises(
        ValueError,
        match=r"Expected binary labels .* got 4 distinct values: "
        r"\['0', '1', '10', '2'\]",
    ):
        imdb.load_imdb(frame)


@pytest.mark.parametrize(
    "texts, error, message",
    [
        (
            ["good", "  ", "bad", "ok"],
            ValueError,
            r"non-empty string, but 1 of 4 are empty .*rows \[1\]",
        ),
        (
            ["good", None, "bad", float("nan")],
            TypeError,
            r"to be a string, but 2 of 4 are not: "
            # pandas 3 stores the None as NaN, pandas 2 keeps it
            r"rows \[1, 3\] hold \[(None|nan), nan\]",
        ),
    ],
)
def test_empty_or_non_string_texts(texts, error, message):
    with pytest.raises(error, match=message):
        imdb.load_imdb(pd.DataFrame({"text": texts, "label": [0, 1, 0, 1]}))


def test_other_bad_sources(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither the aclImdb layout"):
        imdb.load_imdb(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"a file of unknown type; expected one of \['.csv'"):
        imdb.load_imdb(tmp_path / "notes.txt")
    with pytest.raises(
        TypeError, match="argument `data`, expected 'keras', a path or a pandas DataFrame, got int"
    ):
        imdb.load_imdb(42)
    _write_aclimdb(tmp_path / "acl")
    with pytest.raises(ValueError, match="`test_data`, which only a single-table `data`"):
        imdb.load_imdb(tmp_path / "acl", test_data=_frame())
    with pytest.raises(ValueError, match=r"at least 2 reviews of each label .* 4 negative and 0"):
        imdb.load_imdb(pd.DataFrame({"text": list("abcd"), "label": [0] * 4}))
    with pytest.raises(ValueError, match="`max_train_samples`, expected None or an integer >= 4"):
        imdb.load_imdb(_frame(), max_train_samples=2)


# ------------------------------------------------- standardisation and layers
def test_standardize_review_strips_tags_punctuation_and_case():
    raw = np.array(["A <br /><br />GREAT film, isn't it?! 10/10", "Caf\u00e9 \u00c9T\u00c9 -- ok"])
    assert text_layers.standardize_review(raw).tolist() == [
        "a great film isnt it 10 10",
        "caf\u00e9 \u00e9t\u00e9 ok",
    ]


def test_standardize_review_tensorflow_path_matches_numpy_path():
    import tensorflow as tf

    raw = list(_frame(8)["text"]) + ["Won\u2019t <i>see</i> it__again!", "\u00dcBER  cool\tfilm"]
    via_tf = [t.decode("utf-8") for t in text_layers.standardize_review(tf.constant(raw)).numpy()]
    assert via_tf == text_layers.standardize_review(np.array(raw, dtype=object)).tolist()


def test_vectorizer_is_adapted_on_the_training_split_only():
    splits = imdb.load_imdb(
        _frame(20),
        test_data=pd.DataFrame({"text": ["zyzzyva masterpiece", "dreadful"], "label": [1, 0]}),
        seed=0,
    )
    vectorizer = vectorizers.make_vectorizer(splits.train_texts, vocab_size=50)
    vocabulary = set(vectorizer.get_vocabulary())
    assert {"wonderful", "worst", "br"} & vocabulary == {"wonderful", "worst"}
    assert not {"zyzzyva", "masterpiece", "dreadful"} & vocabulary
    ids, lengths = vectorizers.vectorize(["zyzzyva wonderful"], vectorizer, max_len=5)
    assert ids[0, :2].tolist()[0] == 1 and lengths.tolist() == [2]  # 1 = OOV
    with pytest.raises(ValueError, match="`vocab_size`, expected an integer >= 3, got 2"):
        vectorizers.make_vectorizer(["a"], vocab_size=2)


def test_truncate_tokens_pre_post_fixed_and_config_round_trip():
    ids = np.array([[3, 4, 5, 6, 7, 8], [9, 10, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    keep_end = text_layers.TruncateTokens(4)
    assert np.asarray(keep_end(ids)).tolist() == [[5, 6, 7, 8], [9, 10, 0, 0], [0, 0, 0, 0]]
    keep_start = text_layers.TruncateTokens(4, truncating="post")
    assert np.asarray(keep_start(ids)).tolist() == [[3, 4, 5, 6], [9, 10, 0, 0], [0, 0, 0, 0]]
    assert np.asarray(keep_end(ids[1:2])).tolist() == [[9, 10]]  # as long as the longest row
    assert np.asarray(keep_end(ids[2:])).shape == (1, 1)
    fixed = text_layers.TruncateTokens(8, fixed_length=True)
    assert np.asarray(fixed(ids[:1])).tolist() == [[3, 4, 5, 6, 7, 8, 0, 0]]
    clone = text_layers.TruncateTokens.from_config(keep_start.get_config())
    assert (clone.max_len, clone.truncating, clone.fixed_length) == (4, "post", False)
    with pytest.raises(ValueError, match="`max_len`, expected a positive integer, got 0"):
        text_layers.TruncateTokens(0)
    with pytest.raises(ValueError, match="`truncating`, expected 'pre' or 'post', got 'end'"):
        text_layers.TruncateTokens(3, truncating="end")


def test_sequence_pooling_ignores_masked_steps():
    x = np.array(
        [[[1.0, -5.0], [3.0, -1.0], [100.0, 100.0]], [[7.0, 7.0], [0.0, 0.0], [0.0, 0.0]]],
        "float32",
    )
    mask = np.array([[True, True, False], [False, False, False]])
    out = np.asarray(text_layers.SequencePooling("max_mean")(x, mask=mask))
    np.testing.assert_allclose(out, [[3.0, -1.0, 2.0, -3.0], [0.0, 0.0, 0.0, 0.0]])
    trimmed = np.asarray(text_layers.SequencePooling("max")(x[:1, :2]))
    np.testing.assert_allclose(trimmed, out[:1, :2])
    with pytest.raises(ValueError, match="`mode`, expected one of"):
        text_layers.SequencePooling("median")


# ------------------------------------------------------------------- n-grams
def test_ngram_vectorizer_counts_documents_and_gives_nb_ratios():
    texts = ["a good film", "a good good plot", "a bad film", "bad bad acting <br /> here"]
    labels = [1, 1, 0, 0]
    vectorizer, ratios = vectorizers.make_ngram_vectorizer(texts, labels, vocab_size=100)
    vocabulary = [str(g) for g in vectorizer.get_vocabulary()]
    assert vocabulary[:2] == ["", "[UNK]"] and ratios.shape == (len(vocabulary),)
    assert {"good film", "bad bad", "acting here"} <= set(vocabulary) and "br" not in vocabulary
    assert ratios[:2].tolist() == [0.0, 0.0]
    # "good" is in 2 of the 2 positive reviews (once each: document counts) and in no
    # negative one; by hand: p = 2 + 1, q = 0 + 1, over the sums of p and q.
    p = {g: 1.0 for g in vocabulary[2:]}
    q = dict(p)
    for text, label in zip(texts, labels):
        for gram in vectorizers._ngrams(text, 2):
            (p if label else q)[gram] += 1
    expected = np.log((p["good"] / sum(p.values())) / (q["good"] / sum(q.values())))
    assert ratios[vocabulary.index("good")] == pytest.approx(expected, rel=1e-5)
    assert ratios[vocabulary.index("bad")] < 0
    # the most frequent n-grams are kept ("a": 3 reviews; ties of 2 in text order)
    small, _ = vectorizers.make_ngram_vectorizer(texts, labels, vocab_size=4)
    assert [str(g) for g in small.get_vocabulary()] == ["", "[UNK]", "a", "a good"]


def test_ngram_vectorizer_ids_are_the_python_ngrams():
    # The Python counting and the layer's own n-grams agree, so every kept n-gram
    # gets its ratio: the distinct ids of a text are exactly its kept n-grams.
    texts = list(_frame(16)["text"]) + ["Won\u2019t <i>see</i> it again!"]
    vectorizer, _ = vectorizers.make_ngram_vectorizer(texts, [i % 2 for i in range(17)], 10_000)
    vocabulary = [str(g) for g in vectorizer.get_vocabulary()]
    for text in texts:
        ids = set(np.asarray(vectorizer([text]))[0].tolist()) - {0}
        assert {vocabulary[i] for i in ids} == vectorizers._ngrams(text, 2)
    words, _ = vectorizers.make_ngram_vectorizer(texts, [i % 2 for i in range(17)], 1000, ngrams=1)
    assert not [g for g in words.get_vocabulary() if " " in g]


def test_ngram_vectorizer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`vocab_size`, expected an integer >= 3, got 2"):
        vectorizers.make_ngram_vectorizer(["a"], [1], vocab_size=2)
    with pytest.raises(ValueError, match="`ngrams`, expected a positive integer, got 0"):
        vectorizers.make_ngram_vectorizer(["a"], [1], ngrams=0)
    with pytest.raises(ValueError, match="one label per text"):
        vectorizers.make_ngram_vectorizer(["a", "b"], [1])


def test_ngram_bag_is_nb_weighted_logistic_regression():
    from lstm_apps.layers.text import NGramBag

    rng = np.random.default_rng(0)
    ids = np.array([[2, 5, 5, 3, 0, 0], [4, 1, 1, 0, 0, 0], [6, 6, 6, 6, 6, 2]])
    scale = rng.normal(size=7).astype("float32")
    scale[:2] = 0.0
    kernel = rng.normal(size=(7, 2)).astype("float32")
    bag = NGramBag(7, units=2)
    bag.build((None, None))
    bag.set_scale(scale)
    bag.kernel.assign(kernel)
    bag.bias.assign(np.array([0.5, -1.0], "float32"))
    multi_hot = np.zeros((3, 7), "float32")
    for row, values in enumerate(ids):
        multi_hot[row, values] = 1.0
    expected = (multi_hot * scale) @ kernel + [0.5, -1.0]
    np.testing.assert_allclose(np.asarray(bag(ids)), expected, rtol=1e-5, atol=1e-6)
    counts = NGramBag(7, units=2, binary=False)
    counts.build((None, None))
    counts.set_scale(scale)
    counts.kernel.assign(kernel)
    tally = np.stack([np.bincount(r, minlength=7) for r in ids]).astype("float32")
    tally[:, 0] = 0
    np.testing.assert_allclose(np.asarray(counts(ids)), (tally * scale) @ kernel, rtol=1e-5)
    assert [w.name for w in bag.trainable_weights] == ["kernel", "bias"]
    clone = NGramBag.from_config(NGramBag(7, units=2, kernel_regularizer="l2").get_config())
    assert (clone.vocab_size, clone.units, clone.binary) == (7, 2, True)
    assert isinstance(clone.kernel_regularizer, keras.regularizers.L2)
    with pytest.raises(ValueError, match="`vocab_size`, expected an integer >= 2, got 1"):
        NGramBag(1)
    with pytest.raises(ValueError, match=r"`scale`, expected shape \(7,\), got \(3,\)"):
        bag.set_scale(np.ones(3))


def test_branch_sum_drops_whole_branches_in_training_only():
    from lstm_apps.layers.text import BranchSum

    a = np.full((2000, 1), 1.0, "float32")
    b = np.full((2000, 1), 10.0, "float32")
    layer = BranchSum(0.4, seed=0)
    np.testing.assert_array_equal(np.asarray(layer([a, b])), 11.0)
    out = np.asarray(layer([a, b], training=True))[:, 0]
    assert set(out.tolist()) == {1.0, 10.0, 11.0}  # one branch or both, never none
    alone = (out != 11.0).mean()  # 800 expected; 5 standard deviations = 0.055
    assert 0.4 - 0.055 < alone < 0.4 + 0.055
    assert abs((out == 1.0).mean() - (out == 10.0).mean()) < 0.07  # either branch alike
    np.testing.assert_array_equal(np.asarray(BranchSum(0.0)([a, b], training=True)), 11.0)
    assert BranchSum.from_config(layer.get_config()).branch_dropout == 0.4
    with pytest.raises(ValueError, match=r"`branch_dropout`, expected a float in \[0, 1\)"):
        BranchSum(1.0)


def test_data_module_is_keras_free_and_the_moved_names_warn():
    # `lstm_apps.data.imdb` is NumPy/pandas only; the vectorisers moved to lstm_apps.layers.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import lstm_apps.data.imdb\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
    with pytest.warns(DeprecationWarning, match="moved to `lstm_apps.layers.vectorizers"):
        assert imdb.make_vectorizer is vectorizers.make_vectorizer
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        imdb.nothing  # noqa: B018
