"""Keras text components: review standardisation, token truncation, pooling.

They belong to the model (a saved sentiment model holds them), so they live
on the model floor and are registered with Keras's serialization as soon as
`lstm_apps` is imported; `lstm_apps.data.imdb` re-exports them.

- `standardize_review`: the registered standardisation callable of the
  `TextVectorization` layer that `lstm_apps.layers.vectorizers.make_vectorizer`
  builds.
- `TruncateTokens`: keeps the first or the last `max_len` token ids of each
  row.
- `SequencePooling`: max / mean pooling over the unmasked time steps.
- `NGramBag`: a bag of n-grams (each distinct n-gram of a review once),
  optionally scaled by fixed per-n-gram weights (naive Bayes log-count
  ratios), times a trainable kernel: NB logistic regression when `units=1`.
- `BranchSum`: sums the logits of several branches; in training it drops one
  branch at a time for a share of the reviews, so that each branch also
  learns to classify alone.
- `standardize_review` / `standardize_text`: the text standardisation the
  vectorizers use, for arrays and tensors or for one Python string.
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

__all__ = [
    "BranchSum",
    "NGramBag",
    "SequencePooling",
    "TruncateTokens",
    "check_max_len",
    "standardize_review",
    "standardize_text",
]


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
        return np.vectorize(standardize_text, otypes=[str])(array)
    import tensorflow as tf  # TextVectorization is built on TensorFlow

    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _TAG, " ")
    text = tf.strings.regex_replace(text, _APOSTROPHE, "")
    text = tf.strings.regex_replace(text, _NOT_WORD, " ")
    return tf.strings.strip(text)


def standardize_text(text: str) -> str:
    """`standardize_review` for one Python string, without NumPy or TensorFlow.

    The same rules (lower case, HTML tags and punctuation to spaces,
    apostrophes dropped), for counting or listing the words of a review.

    Args:
        text: One review.

    Returns:
        The standardised review.

    Example:

    >>> from lstm_apps.layers import standardize_text
    >>> standardize_text("A <br /><br />GREAT film, isn't it?!").split()
    ['a', 'great', 'film', 'isnt', 'it']
    """
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


@keras.saving.register_keras_serializable(package="lstm_apps")
class NGramBag(keras.layers.Layer):
    """A linear bag of n-grams over token ids: `sum_g scale[g] * kernel[g] + bias`.

    The input is a batch of n-gram ids padded with 0 (what a
    `TextVectorization(ngrams=2, output_mode="int")` gives; id 1, the
    out-of-vocabulary token, has no weight of its own when `scale[1] == 0`).
    With `binary=True` each distinct id of a row counts once, as in the
    binarised features of NBSVM (Wang & Manning, 2012). `scale` is a fixed
    (non-trainable) weight per id, all ones unless set, e.g. to naive Bayes
    log-count ratios with `set_scale`; `kernel` is trainable. With `units=1`
    the layer is the logit of NB-weighted logistic regression.

    Args:
        vocab_size: Number of ids (padding and OOV included), an integer >= 2.
        units: Output features per row. Default: 1.
        binary: Count each distinct id of a row once. Default: `True`.
        kernel_regularizer: Regularizer of the kernel (e.g. `"l2"` or
            `keras.regularizers.L2(2e-4)`).
        **kwargs: Base layer arguments.

    Call arguments:
        ids: Integer tensor `(batch, timesteps)`, 0 for padding.

    Returns:
        Float tensor `(batch, units)`.

    Example:

    >>> import keras, numpy as np
    >>> from lstm_apps.layers.text import NGramBag
    >>> bag = NGramBag(6)
    >>> bag.build((None, None))
    >>> bag.set_scale(np.array([0, 0, 1, 2, 3, 4], "float32"))
    >>> _ = bag.kernel.assign(np.ones((6, 1), "float32"))
    >>> keras.ops.convert_to_numpy(bag(np.array([[2, 2, 5, 0], [3, 1, 0, 0]]))).tolist()
    [[5.0], [2.0]]
    """

    def __init__(
        self,
        vocab_size: int,
        units: int = 1,
        binary: bool = True,
        kernel_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value, low in (("vocab_size", vocab_size, 2), ("units", units, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(
                    f"Received an invalid value for argument `{name}`, expected an integer "
                    f">= {low}, got {value!r}."
                )
        self.vocab_size = vocab_size
        self.units = units
        self.binary = bool(binary)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape: Sequence[int | None]) -> None:
        self.scale = self.add_weight(
            name="scale", shape=(self.vocab_size,), initializer="ones", trainable=False
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.vocab_size, self.units),
            initializer="zeros",
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def set_scale(self, scale: Any) -> None:
        """Sets the fixed per-id weights (shape `(vocab_size,)`)."""
        scale = np.asarray(scale, dtype="float32")
        if scale.shape != (self.vocab_size,):
            raise ValueError(
                "Received an invalid value for argument `scale`, expected shape "
                f"({self.vocab_size},), got {scale.shape}."
            )
        self.scale.assign(scale)

    def call(self, ids: Any) -> Any:
        ids = ops.cast(ids, "int32")
        keep = ops.not_equal(ids, 0)
        if self.binary:  # a row's repeated ids count once: keep the first of each run
            ids = ops.sort(ids, axis=1)
            keep = ops.concatenate(
                [ops.ones_like(ids[:, :1], dtype="bool"), ops.not_equal(ids[:, 1:], ids[:, :-1])],
                axis=1,
            )
            keep = ops.logical_and(keep, ops.not_equal(ids, 0))
        weights = ops.cast(keep, self.compute_dtype) * ops.take(self.scale, ids, axis=0)
        vectors = ops.take(self.kernel, ids, axis=0)  # (batch, timesteps, units)
        return ops.sum(vectors * ops.expand_dims(weights, -1), axis=1) + self.bias

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple:
        return (input_shape[0], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "units": self.units,
            "binary": self.binary,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


@keras.saving.register_keras_serializable(package="lstm_apps")
class BranchSum(keras.layers.Layer):
    """Sums the logits of several branches, dropping whole branches in training.

    At inference the output is the plain sum. In training, each row keeps all
    branches with probability `1 - branch_dropout`; otherwise all but one
    branch, drawn at random, are zeroed for that row, so that every branch
    also learns to classify alone instead of leaning on the others.

    Args:
        branch_dropout: Share of the rows in [0, 1) that see a single branch.
        seed: Seed of the draws.
        **kwargs: Base layer arguments.

    Call arguments:
        logits: A list of tensors `(batch, 1)`, one per branch.
        training: Python boolean, training mode.

    Returns:
        Tensor `(batch, 1)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.layers.text import BranchSum
    >>> a, b = np.ones((2, 1), "float32"), np.full((2, 1), 2.0, "float32")
    >>> np.asarray(BranchSum(0.5)([a, b])).tolist()
    [[3.0], [3.0]]
    """

    def __init__(self, branch_dropout: float = 0.0, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if (
            isinstance(branch_dropout, bool)
            or not isinstance(branch_dropout, (int, float))
            or not 0.0 <= branch_dropout < 1.0
        ):
            raise ValueError(
                "Received an invalid value for argument `branch_dropout`, expected a float "
                f"in [0, 1), got {branch_dropout!r}."
            )
        self.branch_dropout = float(branch_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, logits: Sequence[Any], training: bool | None = None) -> Any:
        if len(logits) < 2 or not training or self.branch_dropout == 0.0:
            return sum(logits[1:], logits[0])
        n = len(logits)
        batch = ops.shape(logits[0])[0]
        single = keras.random.uniform((batch, 1), seed=self.seed_generator) < self.branch_dropout
        chosen = ops.floor(keras.random.uniform((batch, 1), seed=self.seed_generator) * n)
        total = ops.zeros_like(logits[0])
        for index, logit in enumerate(logits):
            kept = ops.logical_or(ops.logical_not(single), ops.equal(chosen, float(index)))
            total = total + ops.where(kept, logit, ops.zeros_like(logit))
        return total

    def compute_output_shape(self, input_shape: Sequence[Sequence[int | None]]) -> tuple:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "branch_dropout": self.branch_dropout, "seed": self.seed}
