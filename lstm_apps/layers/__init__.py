"""Keras layers of lstm_apps: the recurrent `LSTM` layer and the text layers.

- `LSTM` (`lstm_apps.layers.lstm`): a ready `keras.layers.RNN` for any
  lstm_apps cell, chosen by name.
- `TruncateTokens`, `SequencePooling`, `NGramBag`, `BranchSum`,
  `standardize_review` (`lstm_apps.layers.text`): the text components of the
  sentiment models (the recurrent branch, the n-gram bag branch, their sum).
- `make_vectorizer`, `make_ngram_vectorizer`, `vectorize`
  (`lstm_apps.layers.vectorizers`): their `TextVectorization` layers,
  adapted on training text.

Every layer here is registered with Keras's serialization under the package
`"lstm_apps"` (`"lstm_apps>LSTM"`, `"lstm_apps>TruncateTokens"`, ...), so a
saved model that holds them loads once `lstm_apps` is imported.

Example:

>>> import numpy as np
>>> from lstm_apps import layers
>>> ids = np.array([[5, 6, 7, 8], [5, 6, 0, 0]])
>>> np.asarray(layers.TruncateTokens(3)(ids)).tolist()
[[6, 7, 8], [5, 6, 0]]
>>> tuple(layers.LSTM(4)(np.zeros((2, 5, 3), "float32")).shape)
(2, 4)
"""

from __future__ import annotations

from lstm_apps.layers.lstm import LSTM
from lstm_apps.layers.text import (
    BranchSum,
    NGramBag,
    SequencePooling,
    TruncateTokens,
    check_max_len,
    standardize_review,
    standardize_text,
)
from lstm_apps.layers.vectorizers import make_ngram_vectorizer, make_vectorizer, vectorize

__all__ = [
    "LSTM",
    "BranchSum",
    "NGramBag",
    "SequencePooling",
    "TruncateTokens",
    "check_max_len",
    "make_ngram_vectorizer",
    "make_vectorizer",
    "standardize_review",
    "standardize_text",
    "vectorize",
]
