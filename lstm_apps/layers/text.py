"""Keras text components: review standardisation, token truncation, pooling.

They belong to the model (a saved sentiment model holds them), so they live
on the model floor and are registered with Keras's serialization as soon as
`lstm_apps` is imported; `lstm_apps.data.imdb` re-exports them.

- `standardize_review`: the registered standardisation callable of the
  `TextVectorization` layer that `lstm_apps.data.imdb.make_vectorizer`
  builds.
- `TruncateTokens`: keeps the first or the last `max_len` token ids of each
  row.
- `SequencePooling`: max / mean pooling over the unmasked time steps.
- `check_max_len`: the check of a `max_len` argument, shared with the
  sentiment recipe's config.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

__all__ = ["SequencePooling", "TruncateTokens", "check_max_len", "standardize_review"]


def check_max_len(max_len: Any) -> int:
    """Checks a `max_len` argument (the most tokens kept per review).

    Args:
        max_len: The value to check.

    Returns:
        `max_len`, a positive integer.

    Raises:
        ValueError: If `max_len` is not a positive integer (booleans included).

    Example:

    >>> from lstm_apps.layers.text import check_max_len
    >>> check_max_len(400)
    400
    >>> check_max_len(0)
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `max_len`, expected ... got 0.
    """
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len <= 0:
        raise ValueError(
            "Received an invalid value for argument `max_len`, expected a positive "
            f"integer, got {max_len!r}."
        )
    return max_len


# ------------------------------------------------------------ standardisation
# HTML line breaks (`<br />`, 29,200 of the 50,000 reviews) and any other tag
# become spaces; apostrophes are dropped inside words ("don't" -> "dont");
# every other character that is not a letter or a digit becomes a space.
_TAG = r"<[^>]*>"
_APOSTROPHE = r"['\x{2019}`]"
_NOT_WORD = r"[^\p{L}\p{N}]+"
_PY_TAG = re.compile(r"<[^>]*>")
_PY_APOSTROPHE = re.compile("['\u2019`]")
_PY_NOT_WORD = re.compile(r"[^\w]+|_+")


@keras.saving.register_keras_serializable(package="lstm_apps")
def standardize_review(text: Any) -> Any:
    """Lower-cases a review and strips HTML tags and punctuation.

    The standardisation of the vectoriser that `make_vectorizer` builds. It is
    registered with Keras (`"lstm_apps>standardize_review"`), so a saved model
    that uses it loads in a fresh process once `lstm_apps` is imported.

    Args:
        text: A string tensor (the TensorFlow backend hands
            `TextVectorization`'s callable a `tf.Tensor`), or a NumPy array or
            list of Python strings (what the other backends hand it).

    Returns:
        The standardised text, of the same kind and shape.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.layers import standardize_review
    >>> standardize_review(np.array(["A <br /><br />GREAT film, isn't it?!"]))
    array(['a great film isnt it'], dtype='<U20')
    """
    if isinstance(text, (np.ndarray, list, tuple, str)):
        array = np.asarray(text)
        if array.dtype.kind == "S" or array.dtype == object:
            array = np.vectorize(
                lambda t: t.decode("utf-8") if isinstance(t, bytes) else str(t), otypes=[str]
            )(array)
        return np.vectorize(_standardize_str, otypes=[str])(array)
    import tensorflow as tf  # TextVectorization is built on TensorFlow

    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _TAG, " ")
    text = tf.strings.regex_replace(text, _APOSTROPHE, "")
    text = tf.strings.regex_replace(text, _NOT_WORD, " ")
    return tf.strings.strip(text)


def _standardize_str(text: str) -> str:
    text = _PY_TAG.sub(" ", text.lower())
    text = _PY_APOSTROPHE.sub("", text)
    return _PY_NOT_WORD.sub(" ", text).strip()


@keras.saving.register_keras_serializable(package="lstm_apps")
class TruncateTokens(keras.layers.Layer):
    """Keeps at most `max_len` tokens of each row of padded token ids.

    The input is a batch of token ids padded with 0 at the end (what
    `TextVectorization` gives). Each row keeps its last (`truncating="pre"`,
    the default: a review's verdict is often at its end) or its first
    (`truncating="post"`) `max_len` tokens, padded with 0 at the end. The
    output is as long as the longest kept row (at most `max_len`), so a batch
    of short reviews stays short; `fixed_length=True` always pads to
    `max_len`.

    Args:
        max_len: The most tokens kept per row, a positive integer.
        truncating: `"pre"` drops tokens from the start of long rows, `"post"`
            from the end (as in `keras.utils.pad_sequences`).
        fixed_length: Always output `max_len` steps. Default: `False`.
        **kwargs: Base layer arguments (`name`, ...).

    Call arguments:
        ids: Integer tensor `(batch, timesteps)`, padded with 0 at the end.

    Returns:
        Integer tensor `(batch, min(longest row, max_len))`, or
        `(batch, max_len)` with `fixed_length=True`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.layers import TruncateTokens
    >>> ids = np.array([[5, 6, 7, 8], [5, 6, 0, 0]])
    >>> np.asarray(TruncateTokens(3)(ids)).tolist()
    [[6, 7, 8], [5, 6, 0]]
    >>> np.asarray(TruncateTokens(3, truncating="post")(ids)).tolist()
    [[5, 6, 7], [5, 6, 0]]
    >>> np.asarray(TruncateTokens(6)(ids)).shape
    (2, 4)
    >>> np.asarray(TruncateTokens(6, fixed_length=True)(ids)).shape
    (2, 6)
    """

    def __init__(
        self, max_len: int, truncating: str = "pre", fixed_length: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.max_len = check_max_len(max_len)
        if truncating not in ("pre", "post"):
            raise ValueError(
                "Received an invalid value for argument `truncating`, expected 'pre' "
                f"or 'post', got {truncating!r}."
            )
        self.truncating = truncating
        self.fixed_length = bool(fixed_length)

    def call(self, ids: Any) -> Any:
        ids = ops.convert_to_tensor(ids)
        if len(ids.shape) != 2:
            raise ValueError(
                f"TruncateTokens expects 2-D token ids (batch, timesteps), received "
                f"shape {tuple(ids.shape)}."
            )
        lengths = ops.sum(ops.cast(ops.not_equal(ids, 0), "int32"), axis=1)
        if self.fixed_length:
            steps = self.max_len
        else:  # at least one step, so that an all-padding batch still runs
            steps = ops.maximum(ops.minimum(ops.max(lengths), self.max_len), 1)
        padded = ops.concatenate(
            [ids, ops.zeros((ops.shape(ids)[0], self.max_len), dtype=ids.dtype)], axis=1
        )
        start = ops.zeros_like(lengths)
        if self.truncating == "pre":
            start = ops.maximum(lengths - self.max_len, 0)
        index = ops.expand_dims(start, 1) + ops.expand_dims(ops.arange(steps, dtype="int32"), 0)
        return ops.take_along_axis(padded, index, axis=1)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple:
        return (input_shape[0], self.max_len if self.fixed_length else None)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_len": self.max_len,
            "truncating": self.truncating,
            "fixed_length": self.fixed_length,
        }


@keras.saving.register_keras_serializable(package="lstm_apps")
class SequencePooling(keras.layers.Layer):
    """Pools a sequence over its unmasked time steps.

    Args:
        mode: `"max"`, `"mean"` or `"max_mean"` (max and mean, concatenated).
        **kwargs: Base layer arguments.

    Call arguments:
        sequences: Tensor `(batch, timesteps, features)`.
        mask: Optional boolean tensor `(batch, timesteps)`; masked steps are
            ignored. A row with no unmasked step pools to zeros.

    Returns:
        Tensor `(batch, features)` (`2 * features` for `"max_mean"`).

    Example:

    >>> import numpy as np
    >>> from lstm_apps.layers import SequencePooling
    >>> x = np.array([[[1.0], [3.0], [9.0]]], "float32")
    >>> mask = np.array([[True, True, False]])
    >>> np.asarray(SequencePooling("max_mean")(x, mask=mask)).tolist()
    [[3.0, 2.0]]
    """

    def __init__(self, mode: str = "max", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in ("max", "mean", "max_mean"):
            raise ValueError(
                "Received an invalid value for argument `mode`, expected one of "
                f"['max', 'mean', 'max_mean'], got {mode!r}."
            )
        self.mode = mode
        self.supports_masking = True

    def call(self, sequences: Any, mask: Any = None) -> Any:
        if mask is None:
            mask = ops.ones(ops.shape(sequences)[:2], dtype="bool")
        mask = ops.cast(mask, "bool")
        weights = ops.expand_dims(ops.cast(mask, sequences.dtype), -1)
        outputs = []
        if "max" in self.mode:
            lowest = ops.full_like(sequences, -1e9)
            peak = ops.max(ops.where(ops.expand_dims(mask, -1), sequences, lowest), axis=1)
            any_step = ops.any(mask, axis=1, keepdims=True)
            outputs.append(ops.where(any_step, peak, ops.zeros_like(peak)))
        if "mean" in self.mode:
            total = ops.sum(sequences * weights, axis=1)
            outputs.append(total / ops.maximum(ops.sum(weights, axis=1), 1.0))
        return outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=-1)

    def compute_mask(self, sequences: Any, mask: Any = None) -> None:
        return None

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple:
        features = input_shape[-1]
        if self.mode == "max_mean" and features is not None:
            features *= 2
        return (input_shape[0], features)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}
