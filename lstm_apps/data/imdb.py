"""IMDB movie reviews as raw text: loaders, checks and splits (NumPy and pandas only).

Every loader gives raw review strings and binary labels (0 = negative,
1 = positive), whatever the source:

- `load_keras_imdb()`: `keras.datasets.imdb` (downloads on first use). Its
  word-index arrays are decoded back to text with `get_word_index()`.
- `load_aclimdb(path)`: the original `aclImdb` folder (`train/pos`,
  `train/neg`, `test/pos`, `test/neg`, one `.txt` file per review).
- `load_table(source)`: a CSV (optionally gzip-compressed), a Parquet file
  (needs `pyarrow`) or a pandas DataFrame with a text and a label column.

`load_imdb(data, ...)` picks the right one, checks the texts and labels, and
returns `TextSplits`: a seeded, stratified validation split carved from the
training data, and the test split, which no choice ever looks at.

Text goes into a model through the Keras layers of `lstm_apps.layers`:
`make_vectorizer()` and `make_ngram_vectorizer()` in
`lstm_apps.layers.vectorizers` (`TextVectorization` layers adapted on the
training texts only), `TruncateTokens` and `standardize_review` in
`lstm_apps.layers.text`. This module imports neither Keras nor TensorFlow
(`load_keras_imdb` imports Keras when called); the names that it used to
re-export from there still resolve, with a `DeprecationWarning`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "KERAS_SOURCE",
    "TextSplits",
    "check_labelled_texts",
    "check_source",
    "describe_source",
    "load_aclimdb",
    "load_imdb",
    "load_keras_imdb",
    "load_table",
    "stratified_split",
]

logger = logging.getLogger(__name__)

#: Names that lived here before the Keras pieces moved to `lstm_apps.layers`.
_MOVED = {
    "make_vectorizer": "lstm_apps.layers.vectorizers",
    "make_ngram_vectorizer": "lstm_apps.layers.vectorizers",
    "vectorize": "lstm_apps.layers.vectorizers",
    "SequencePooling": "lstm_apps.layers.text",
    "TruncateTokens": "lstm_apps.layers.text",
    "standardize_review": "lstm_apps.layers.text",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"`lstm_apps.data.imdb.{name}` moved to `{_MOVED[name]}.{name}`; the old name "
            "will be removed in a future release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: The `data` value that selects `keras.datasets.imdb` (downloads).
KERAS_SOURCE = "keras"

_TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet", ".pq")
_POSITIVE = ("1", "pos", "positive", "true")
_NEGATIVE = ("0", "neg", "negative", "false")


# ------------------------------------------------------------------ the splits
@dataclasses.dataclass(frozen=True)
class TextSplits:
    """Raw texts and binary labels, split into train, validation and test.

    Args:
        train_texts, val_texts, test_texts: 1-D object arrays of strings.
        train_labels, val_labels, test_labels: 1-D int32 arrays of 0/1.
        source: Where the data came from (for logs and `config.json`).
    """

    train_texts: np.ndarray
    train_labels: np.ndarray
    val_texts: np.ndarray
    val_labels: np.ndarray
    test_texts: np.ndarray
    test_labels: np.ndarray
    source: str = ""

    def sizes(self) -> dict[str, int]:
        """Number of reviews per split."""
        return {
            "train": len(self.train_texts),
            "val": len(self.val_texts),
            "test": len(self.test_texts),
        }

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes().items())
        return f"TextSplits({sizes}, source={self.source!r})"


def stratified_split(
    labels: Sequence[int] | np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded split that keeps the share of each label.

    Args:
        labels: 1-D array of class labels.
        fraction: Share of each class that goes to the second part, in (0, 1).
        seed: Seed of the permutation (same seed, same split).

    Returns:
        `(keep, held_out)`: sorted index arrays. Each class with at least two
        members puts at least one in each part.

    Example:

    >>> from lstm_apps.data.imdb import stratified_split
    >>> keep, held = stratified_split([0, 0, 0, 0, 1, 1, 1, 1], 0.25, seed=0)
    >>> len(keep), len(held), sorted([0, 0, 0, 0, 1, 1, 1, 1][i] for i in held)
    (6, 2, [0, 1])
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(
            "Received an invalid value for argument `fraction`, expected a float in "
            f"(0, 1), got {fraction!r}."
        )
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            "Received an invalid value for argument `fraction`, expected a float in "
            f"(0, 1), got {fraction!r}."
        )
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        n_held = int(fraction * len(members) + 0.5)
        if len(members) >= 2:
            n_held = min(max(n_held, 1), len(members) - 1)
        held.append(members[:n_held])
        keep.append(members[n_held:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))


def _subsample(labels: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """Stratified, seeded indices of at most `size` rows (all rows if None)."""
    if size is None or size >= len(labels):
        return np.arange(len(labels))
    _, picked = stratified_split(labels, size / len(labels), seed)
    return picked


# -------------------------------------------------------------------- checking
def _show(values: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def _check_texts(texts: Any, where: str) -> np.ndarray:
    """Checks that every text is a non-empty string; returns an object array."""
    texts = np.asarray(texts, dtype=object)
    if texts.ndim != 1:
        raise ValueError(f"Expected a 1-D sequence of texts in {where}, got shape {texts.shape}.")
    if len(texts) == 0:
        raise ValueError(f"Received no texts in {where}: the split is empty.")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(
            f"Expected every text in {where} to be a string, but {len(bad)} of "
            f"{len(texts)} are not: rows {_show(bad)} hold {_show([texts[i] for i in bad])}."
        )
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise ValueError(
            f"Expected every text in {where} to be a non-empty string, but {len(empty)} "
            f"of {len(texts)} are empty or only whitespace: rows {_show(empty)}."
        )
    return texts


def _check_labels(labels: Any, where: str) -> np.ndarray:
    """Maps binary labels (0/1, booleans, 'neg'/'pos') to an int32 0/1 array."""
    labels = np.asarray(labels, dtype=object)
    if labels.ndim != 1:
        raise ValueError(f"Expected 1-D labels in {where}, got shape {labels.shape}.")
    out = np.empty(len(labels), dtype="int32")
    for i, value in enumerate(labels):
        key = value
        if isinstance(value, (bool, np.bool_)):
            key = int(value)
        elif isinstance(value, (int, float, np.integer, np.floating)) and float(value) in (0, 1):
            key = int(value)
        key = str(key).strip().lower()
        if key in _POSITIVE:
            out[i] = 1
        elif key in _NEGATIVE:
            out[i] = 0
        else:
            seen = sorted({repr(v) if not isinstance(v, str) else v for v in labels}, key=str)
            raise ValueError(
                f"Expected binary labels in {where} (0/1, True/False or 'neg'/'pos'), "
                f"got {len(seen)} distinct values: {_show(seen, limit=10)}."
            )
    return out


def check_labelled_texts(texts: Any, labels: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Texts and their binary labels as arrays, or a ValueError/TypeError naming `where`.

    Args:
        texts: A sequence of strings.
        labels: One label per text: 0/1, True/False or "neg"/"pos" (and
            "negative"/"positive").
        where: What the texts are, for the messages ("the training table").

    Returns:
        `(texts, labels)`: an object array of strings and an int array of 0/1.

    Example:

    >>> from lstm_apps.data.imdb import check_labelled_texts
    >>> check_labelled_texts(["good", "bad"], ["pos", "neg"], "reviews")[1].tolist()
    [1, 0]
    """
    texts, labels = _check_texts(texts, where), _check_labels(labels, where)
    if len(texts) != len(labels):
        raise ValueError(
            f"Expected one label per text in {where}, got {len(texts)} texts and "
            f"{len(labels)} labels."
        )
    return texts, labels


# --------------------------------------------------------------------- sources
def load_keras_imdb() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`keras.datasets.imdb`, decoded back to text (downloads on first use).

    The dataset ships reviews as word-index arrays, already lower-cased and
    stripped of punctuation; they are turned back into space-separated words
    with `keras.datasets.imdb.get_word_index()`, so that the same vectoriser
    serves every source.

    Returns:
        `{"train": (texts, labels), "test": (texts, labels)}`.

    Example:

    ```python
    splits = load_keras_imdb()          # needs internet the first time
    texts, labels = splits["train"]     # 25,000 strings, 25,000 labels
    ```
    """
    import keras

    index_from = 3  # 0 = padding, 1 = start, 2 = out-of-vocabulary
    imdb = keras.datasets.imdb
    (x_train, y_train), (x_test, y_test) = imdb.load_data(index_from=index_from)
    words = {rank + index_from: word for word, rank in imdb.get_word_index().items()}

    def decode(rows: Any) -> np.ndarray:
        return np.array(
            [" ".join(words[i] for i in row if i in words) for row in rows], dtype=object
        )

    return {
        "train": (decode(x_train), np.asarray(y_train)),
        "test": (decode(x_test), np.asarray(y_test)),
    }


def _find_aclimdb(path: Path) -> Path | None:
    """The folder holding `train/pos` etc.: `path` itself or `path/aclImdb`."""
    for root in (path, path / "aclImdb"):
        if all((root / s / c).is_dir() for s in ("train", "test") for c in ("pos", "neg")):
            return root
    return None


def load_aclimdb(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reviews from an `aclImdb` folder in the original layout.

    Args:
        path: The `aclImdb` folder (or its parent), holding `train/pos`,
            `train/neg`, `test/pos` and `test/neg` with one UTF-8 `.txt` file
            per review. Other folders (`train/unsup`) are ignored.

    Returns:
        `{"train": (texts, labels), "test": (texts, labels)}`, in file-name
        order within each label.

    Example:

    ```python
    splits = load_aclimdb("~/data/aclImdb")
    ```
    """
    given = Path(path).expanduser()
    if not given.exists():
        raise FileNotFoundError(f"Received argument `path`={str(path)!r}, which does not exist.")
    root = _find_aclimdb(given)
    if root is None:
        raise ValueError(
            f"Received argument `path`={str(path)!r}, expected an aclImdb folder with "
            "train/pos, train/neg, test/pos and test/neg subfolders."
        )
    out = {}
    for split in ("train", "test"):
        texts, labels = [], []
        for label, folder in ((0, "neg"), (1, "pos")):
            files = sorted((root / split / folder).glob("*.txt"), key=_review_order)
            texts += [f.read_text(encoding="utf-8") for f in files]
            labels += [label] * len(files)
        out[split] = (np.array(texts, dtype=object), np.array(labels, dtype="int32"))
    return out


def _review_order(path: Path) -> tuple:
    stem = path.stem.split("_")[0]
    return (0, int(stem), path.name) if stem.isdigit() else (1, 0, path.name)


def _table_suffix(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in _TABLE_SUFFIXES if name.endswith(s)), None)


def _read_table(path: Path) -> Any:
    import pandas as pd

    suffix = _table_suffix(path)
    if suffix in (".parquet", ".pq"):
        import importlib.util

        if not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
            raise ImportError(
                f"Reading the Parquet file {str(path)!r} needs the `pyarrow` package (or "
                "`fastparquet`), which is not installed: `pip install pyarrow`, or pass a "
                "CSV file or a pandas DataFrame instead."
            )
        return pd.read_parquet(path)
    if suffix is None:
        raise ValueError(
            f"Received a table file {str(path)!r} of unknown type, expected one of "
            f"{list(_TABLE_SUFFIXES)}."
        )
    sep = "\t" if suffix.startswith(".tsv") else ","
    return pd.read_csv(path, sep=sep, keep_default_na=False, na_values=[])


def load_table(
    source: Any,
    text_column: str = "text",
    label_column: str = "label",
    argument: str = "data",
) -> tuple[np.ndarray, np.ndarray]:
    """Texts and labels from a CSV or Parquet file, or a pandas DataFrame.

    Args:
        source: A path to a `.csv`, `.csv.gz`, `.tsv` or `.parquet` file
            (Parquet needs `pyarrow`), or a `pandas.DataFrame`.
        text_column: The column holding the review text.
        label_column: The column holding the labels: 0/1, True/False or
            "neg"/"pos" ("negative"/"positive").
        argument: Name of the argument `source` came from, for messages.

    Returns:
        `(texts, labels)`: an object array of strings and an int32 0/1 array.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.data.imdb import load_table
    >>> frame = pd.DataFrame({"review": ["Loved it", "Dull"], "sentiment": ["pos", "neg"]})
    >>> texts, labels = load_table(frame, text_column="review", label_column="sentiment")
    >>> labels.tolist()
    [1, 0]
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame, where = source, f"the DataFrame given as `{argument}`"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"Received argument `{argument}`={str(source)!r}, which is not an existing file."
            )
        frame, where = _read_table(path), f"{str(path)!r}"
    else:
        raise TypeError(
            f"Received an invalid value for argument `{argument}`, expected a file path "
            f"or a pandas DataFrame, got {type(source).__name__}."
        )
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Expected columns {text_column!r} (text) and {label_column!r} (label) in "
            f"{where}, but {_show(missing)} missing; found columns "
            f"{[str(c) for c in frame.columns]}. Set `text_column` / `label_column`."
        )
    texts = frame[text_column].to_numpy(dtype=object)
    labels = frame[label_column].to_numpy(dtype=object)
    return (
        _check_texts(texts, f"column {text_column!r} of {where}"),
        _check_labels(labels, f"column {label_column!r} of {where}"),
    )


def _split_files(folder: Path) -> dict[str, Path]:
    """`train.*` and `test.*` table files in `folder` (csv, csv.gz, parquet)."""
    found = {}
    for split in ("train", "test"):
        for suffix in _TABLE_SUFFIXES:
            if (folder / f"{split}{suffix}").is_file():
                found[split] = folder / f"{split}{suffix}"
                break
    return found


def describe_source(data: Any) -> str:
    """A short, JSON-friendly description of a data source."""
    try:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return f"<DataFrame: {len(data)} rows, columns {[str(c) for c in data.columns]}>"
    except ImportError:  # pragma: no cover
        pass
    return str(data)


def check_source(data: Any, argument: str = "data") -> None:
    """Raises if `data` is no valid source: the cheap checks, before loading.

    Args:
        data: `"keras"`, a path (aclImdb folder, folder with train/test
            tables, or one table file) or a pandas DataFrame.
        argument: The argument name used in messages.
    """
    if data is None:
        return
    if isinstance(data, str) and data == KERAS_SOURCE:
        return
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"Received argument `{argument}`={str(data)!r}, which does not exist. "
                f"Expected {KERAS_SOURCE!r}, an aclImdb folder, a folder with train/test "
                "CSV or Parquet files, or one such file."
            )
        if path.is_dir() and not (_find_aclimdb(path) or len(_split_files(path)) == 2):
            raise ValueError(
                f"Received argument `{argument}`={str(data)!r}, a folder that holds neither "
                "the aclImdb layout (train/pos, train/neg, test/pos, test/neg) nor "
                "train and test tables (train.csv[.gz] and test.csv[.gz], or .parquet)."
            )
        if path.is_file() and _table_suffix(path) is None:
            raise ValueError(
                f"Received argument `{argument}`={str(data)!r}, a file of unknown type; "
                f"expected one of {list(_TABLE_SUFFIXES)}."
            )
        return
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return
    raise TypeError(
        f"Received an invalid value for argument `{argument}`, expected {KERAS_SOURCE!r}, "
        f"a path or a pandas DataFrame, got {type(data).__name__}."
    )


def load_imdb(
    data: Any = KERAS_SOURCE,
    test_data: Any = None,
    text_column: str = "text",
    label_column: str = "label",
    validation_split: float = 0.1,
    test_split: float = 0.2,
    max_train_samples: int | None = None,
    max_test_samples: int | None = None,
    seed: int = 1337,
) -> TextSplits:
    """Loads, checks and splits labelled reviews from any supported source.

    Args:
        data: `"keras"` (`keras.datasets.imdb`, downloads), an `aclImdb`
            folder, a folder holding `train` and `test` tables
            (`train.csv.gz`, `test.csv.gz`, `.csv` or `.parquet`; the layout of
            `shared/data/imdb`), a single table file, or a pandas DataFrame.
        test_data: The test table (path or DataFrame) when `data` is a single
            table. If None, a stratified `test_split` share of `data` is held
            out as the test split.
        text_column, label_column: Column names for table sources.
        validation_split: Share of the training data held out (stratified,
            seeded) for validation and early stopping, in (0, 1).
        test_split: Share held out for testing when `data` is a single table
            and `test_data` is None.
        max_train_samples: Use at most this many training reviews (validation
            included; a stratified, seeded subsample), for quick runs.
        max_test_samples: Evaluate on at most this many test reviews
            (stratified, seeded).
        seed: Seed of every split and subsample.

    Returns:
        A `TextSplits`.

    Example:

    >>> import pandas as pd
    >>> from lstm_apps.data.imdb import load_imdb
    >>> frame = pd.DataFrame({"text": [f"review {i}" for i in range(40)],
    ...                       "label": [0, 1] * 20})
    >>> load_imdb(frame, validation_split=0.25, test_split=0.5, seed=0).sizes()
    {'train': 14, 'val': 6, 'test': 20}
    """
    check_source(data, "data")
    check_source(test_data, "test_data")
    limits = (("max_train_samples", max_train_samples), ("max_test_samples", max_test_samples))
    for name, value in limits:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 4
        ):
            raise ValueError(
                f"Received an invalid value for argument `{name}`, expected None or an "
                f"integer >= 4, got {value!r}."
            )
    if test_data is not None and not _is_single_table(data):
        raise ValueError(
            "Received argument `test_data`, which only a single-table `data` (one file "
            f"or a DataFrame) takes; `data`={describe_source(data)!r} has its own test split."
        )
    source = describe_source(data)
    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    if isinstance(data, str) and data == KERAS_SOURCE:
        splits = load_keras_imdb()
    elif not _is_single_table(data):
        folder = Path(data).expanduser()
        if _find_aclimdb(folder):
            splits = load_aclimdb(folder)
        else:
            files = _split_files(folder)
            splits = {
                s: load_table(files[s], text_column, label_column, argument="data")
                for s in ("train", "test")
            }
    else:
        train = load_table(data, text_column, label_column, argument="data")
        if test_data is not None:
            test = load_table(test_data, text_column, label_column, argument="test_data")
            splits = {"train": train, "test": test}
        else:
            _need_both_labels(train[1], "`data`")
            keep, held = stratified_split(train[1], test_split, seed + 2)
            splits = {
                "train": (train[0][keep], train[1][keep]),
                "test": (train[0][held], train[1][held]),
            }
            logger.info(
                "Held out %d of %d rows of `data` as the test split", len(held), len(train[1])
            )
    texts, labels = check_labelled_texts(*splits["train"], f"the training split of {source}")
    test_texts, test_labels = check_labelled_texts(*splits["test"], f"the test split of {source}")
    _need_both_labels(labels, f"the training split of {source}")
    picked = _subsample(labels, max_train_samples, seed)
    texts, labels = texts[picked], labels[picked]
    keep, val = stratified_split(labels, validation_split, seed)
    picked = _subsample(test_labels, max_test_samples, seed + 1)
    out = TextSplits(
        train_texts=texts[keep],
        train_labels=labels[keep],
        val_texts=texts[val],
        val_labels=labels[val],
        test_texts=test_texts[picked],
        test_labels=test_labels[picked],
        source=source,
    )
    logger.info("Loaded %r", out)
    return out


def _is_single_table(data: Any) -> bool:
    """Whether `data` is one table (a file or a DataFrame) rather than a split source."""
    if isinstance(data, str) and data == KERAS_SOURCE:
        return False
    if isinstance(data, (str, os.PathLike)):
        return not Path(data).expanduser().is_dir()
    return True


def _need_both_labels(labels: np.ndarray, where: str) -> None:
    counts = np.bincount(labels, minlength=2)
    if counts.min() < 2:
        raise ValueError(
            f"Expected at least 2 reviews of each label in {where}, got "
            f"{int(counts[0])} negative and {int(counts[1])} positive."
        )
