"""Vocabularies of the sentiment models: `TextVectorization` layers adapted on training text.

- `make_vectorizer(texts, vocab_size)`: the words of the LSTM branch.
- `make_ngram_vectorizer(texts, labels, vocab_size, ngrams)`: the words and
  word pairs of the n-gram branch, with their naive Bayes log-count ratios
  (Wang & Manning, 2012).
- `vectorize(texts, vectorizer, max_len)`: the token ids a model computes
  inside, up front (for batching reviews of similar length).

Both vectorisers standardise with `lstm_apps.layers.text.standardize_review`
(registered, so a saved model holding them loads in any process after
`import lstm_apps`). The vocabularies are counted in Python with the same
standardisation, several times faster than `TextVectorization.adapt`.

Example:

>>> from lstm_apps.layers.vectorizers import make_vectorizer, vectorize
>>> vectorizer = make_vectorizer(["a good film", "a bad film"], vocab_size=10)
>>> vectorize(["a good film"], vectorizer, max_len=4)[1].tolist()
[3]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import keras
import numpy as np

from lstm_apps.layers.text import TruncateTokens, standardize_review, standardize_text

__all__ = ["make_ngram_vectorizer", "make_vectorizer", "vectorize"]

logger = logging.getLogger(__name__)


def make_vectorizer(
    texts: Sequence[str] | np.ndarray,
    vocab_size: int = 20000,
    batch_size: int = 1024,
) -> keras.layers.TextVectorization:
    """A `TextVectorization` layer adapted on `texts` (the training split only).

    Its output is integer token ids padded with 0 to the longest review of a
    batch (index 1 is the out-of-vocabulary token); `TruncateTokens` then cuts
    or pads them to a fixed length.

    The vocabulary is what `TextVectorization.adapt` would keep (the most
    frequent words, ties in reverse text order), counted in Python with the
    same standardisation, which is several times faster than `adapt` on a
    busy CPU.

    Args:
        texts: The training texts (raw strings).
        vocab_size: Size of the vocabulary, padding and OOV tokens included
            (an integer >= 3).
        batch_size: Unused; kept for callers that pass it.

    Returns:
        The adapted `keras.layers.TextVectorization` layer, named
        `"vectorizer"`.

    Example:

    >>> from lstm_apps.layers.vectorizers import make_vectorizer
    >>> vectorizer = make_vectorizer(["a good film", "a bad film"], vocab_size=10)
    >>> " ".join(vectorizer.get_vocabulary()[2:])
    'film a good bad'
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 3:
        raise ValueError(
            "Received an invalid value for argument `vocab_size`, expected an integer "
            f">= 3, got {vocab_size!r}."
        )
    texts = np.asarray(texts, dtype=object)
    if texts.ndim != 1 or len(texts) == 0:
        raise ValueError(
            "Received an invalid value for argument `texts`, expected a non-empty "
            f"1-D sequence of strings, got shape {texts.shape}."
        )
    from collections import Counter

    counts: Counter = Counter()
    for text in texts:
        counts.update(standardize_text(str(text)).split())
    # adapt()'s order: most frequent first, ties in reverse text order
    ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
    vocabulary = [str(word) for word, _ in ranked[: vocab_size - 2]]
    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocab_size,
        standardize=standardize_review,
        output_mode="int",
        vocabulary=vocabulary or None,
        name="vectorizer",
    )
    if not vocabulary:  # nothing to count: adapt() gives the empty vocabulary of Keras
        import tensorflow as tf

        vectorizer.adapt(tf.data.Dataset.from_tensor_slices(texts.astype(str)).batch(batch_size))
    logger.info(
        "Adapted the vocabulary on %d texts: %d tokens kept (vocab_size=%d)",
        len(texts),
        vectorizer.vocabulary_size(),
        vocab_size,
    )
    return vectorizer


def _ngrams(text: str, ngrams: int) -> set[str]:
    """The distinct 1- to `ngrams`-grams of a review, as `TextVectorization` joins them."""
    words = standardize_text(text).split()
    grams = set(words)
    for n in range(2, ngrams + 1):
        grams.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return grams


def make_ngram_vectorizer(
    texts: Sequence[str] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    vocab_size: int = 100000,
    ngrams: int = 2,
    alpha: float = 1.0,
) -> tuple[keras.layers.TextVectorization, np.ndarray]:
    """An n-gram `TextVectorization` and the naive Bayes weight of each n-gram.

    Counts, in one pass over the training texts, in how many positive and
    negative reviews each 1- to `ngrams`-gram occurs; keeps the
    `vocab_size - 2` most frequent; and returns a vectoriser with that
    vocabulary (`output_mode="int"`, the same `standardize_review`) and the
    log-count ratios `r = log((p / |p|_1) / (q / |q|_1))` of Wang & Manning
    (2012), where `p` and `q` are the counts plus `alpha` (0 for the padding
    and out-of-vocabulary ids). Counting in Python is about four times faster
    than `TextVectorization.adapt` with n-grams.

    Args:
        texts: The training texts (raw strings).
        labels: Their 0/1 labels.
        vocab_size: Ids kept, padding and OOV included (an integer >= 3).
        ngrams: Longest n-gram (1: words only).
        alpha: Smoothing count of the ratios.

    Returns:
        `(vectorizer, ratios)`: the `TextVectorization` layer, named
        `"ngram_vectorizer"`, and a float32 array of shape
        `(vectorizer.vocabulary_size(),)`.

    Example:

    >>> from lstm_apps.layers.vectorizers import make_ngram_vectorizer
    >>> vectorizer, ratios = make_ngram_vectorizer(
    ...     ["a good film", "a bad film", "good good"], [1, 0, 1], vocab_size=20)
    >>> vocabulary = [str(gram) for gram in vectorizer.get_vocabulary()]
    >>> vocabulary[:6]
    ['', '[UNK]', 'a', 'film', 'good', 'a bad']
    >>> bool(ratios[vocabulary.index("good")] > 0 > ratios[vocabulary.index("bad")])
    True
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 3:
        raise ValueError(
            "Received an invalid value for argument `vocab_size`, expected an integer "
            f">= 3, got {vocab_size!r}."
        )
    if isinstance(ngrams, bool) or not isinstance(ngrams, int) or ngrams < 1:
        raise ValueError(
            "Received an invalid value for argument `ngrams`, expected a positive integer, "
            f"got {ngrams!r}."
        )
    # Imported here: `import lstm_apps` loads the layers but not the data
    # modules (tests/test_saving.py checks it).
    from collections import Counter

    from lstm_apps.data.imdb import check_labelled_texts

    texts, labels = check_labelled_texts(texts, labels, "make_ngram_vectorizer")

    counts = (Counter(), Counter())  # negative, positive
    for text, label in zip(texts, labels):
        counts[int(label)].update(_ngrams(str(text), ngrams))
    total = counts[0] + counts[1]
    # most frequent first; ties by the n-gram itself, so the order is reproducible
    ranked = sorted(total.items(), key=lambda item: (-item[1], item[0]))[: vocab_size - 2]
    vocabulary = [str(gram) for gram, _ in ranked]
    if not vocabulary:
        raise ValueError("Received texts without a single token after standardisation.")
    p = np.array([counts[1][g] for g in vocabulary], "float64") + alpha
    q = np.array([counts[0][g] for g in vocabulary], "float64") + alpha
    ratios = np.log((p / p.sum()) / (q / q.sum()))
    ratios = np.concatenate([[0.0, 0.0], ratios]).astype("float32")
    vectorizer = keras.layers.TextVectorization(
        standardize=standardize_review,
        ngrams=ngrams if ngrams > 1 else None,
        output_mode="int",
        vocabulary=vocabulary,
        name="ngram_vectorizer",
    )
    logger.info(
        "Counted %d distinct n-grams (n <= %d) in %d texts; kept %d",
        len(total), ngrams, len(texts), len(vocabulary),
    )
    return vectorizer, ratios


def vectorize(
    texts: Sequence[str] | np.ndarray,
    vectorizer: keras.layers.TextVectorization,
    max_len: int,
    truncating: str = "pre",
    batch_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of `texts`, cut to `max_len`, and the length of each row.

    Exactly what the end-to-end model computes inside (vectoriser, then
    `TruncateTokens`), done once up front so that training can batch reviews
    of similar length together.

    Args:
        texts: Raw strings.
        vectorizer: An adapted vectoriser (see `make_vectorizer`).
        max_len: Tokens kept per review.
        truncating: `"pre"` (keep the end) or `"post"` (keep the start).
        batch_size: Texts vectorised at a time.

    Returns:
        `(ids, lengths)`: int32 arrays of shape `(n, max_len)` and `(n,)`.

    Example:

    >>> from lstm_apps.layers.vectorizers import make_vectorizer, vectorize
    >>> vectorizer = make_vectorizer(["a good film", "a bad film"], vocab_size=10)
    >>> ids, lengths = vectorize(["a good good film", "bad"], vectorizer, max_len=3)
    >>> ids.tolist(), lengths.tolist()
    ([[4, 4, 2], [5, 0, 0]], [3, 1])
    """
    truncate = TruncateTokens(max_len, truncating=truncating, fixed_length=True)
    texts = np.asarray(texts, dtype=object).astype(str)
    chunks = [
        np.asarray(truncate(vectorizer(texts[i : i + batch_size])))
        for i in range(0, len(texts), batch_size)
    ]
    ids = np.concatenate(chunks).astype("int32") if chunks else np.zeros((0, max_len), "int32")
    return ids, (ids != 0).sum(axis=1).astype("int32")
