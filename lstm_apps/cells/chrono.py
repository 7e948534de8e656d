"""Chrono initialisation of the gate biases (Tallec & Ollivier 2018).

Tallec & Ollivier, "Can recurrent neural networks warp time?" (ICLR 2018):
a unit with forget activation f keeps its memory about 1 / (1 - f) steps. To
start with memory timescales spread up to the longest dependency `T_max`
expected in the data, they initialise

    b_f = log(u),  u ~ U(1, T_max - 1)
    b_i = -b_f

so that at initialisation (zero input and state) unit k has
1 / (1 - sigmoid(b_f)) = 1 + u steps of memory, between 2 and `T_max`. The
other biases keep their usual initialisation.

`ChronoInitializer` is the bias initializer; the lstm_apps cells take it
through their `chrono_t_max` argument (see `lstm_apps.cells.StandardLSTMCell`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

__all__ = ["ChronoInitializer", "check_chrono_t_max"]

_BLOCKS = ("i", "f", "c", "o")


def check_chrono_t_max(value: Any, argument: str = "chrono_t_max") -> int | None:
    """Checks a chrono `T_max`: `None`, or an integer >= 2.

    Args:
        value: The value to check.
        argument: The argument named in the error message.

    Returns:
        The value as an `int`, or `None`.

    Raises:
        ValueError: `value` is not `None` nor an integer >= 2.

    Example:

    >>> from lstm_apps.cells.chrono import check_chrono_t_max
    >>> check_chrono_t_max(200)
    200
    >>> check_chrono_t_max(1)
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `chrono_t_max`, expected ... got 1.
    """
    if value is None:
        return None
    is_int = isinstance(value, int) or (
        isinstance(value, float) and math.isfinite(value) and value.is_integer()
    )
    if isinstance(value, bool) or not is_int or value < 2:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected None or an "
            f"integer >= 2 (the longest dependency, in time steps), got {value!r}."
        )
    return int(value)


@keras.saving.register_keras_serializable(package="lstm_apps")
class ChronoInitializer(keras.initializers.Initializer):
    """Chrono initialisation of a fused LSTM bias (Tallec & Ollivier 2018).

    The bias is split into equal blocks, one per gate in `blocks` order; the
    forget block gets `log(u)` with `u ~ U(1, t_max - 1)` drawn per unit, the
    input block (if any) its negative `-log(u)`, every other block zeros.
    With the default `blocks` it fits `keras.layers.LSTM` (gate order i, f,
    c, o; pass `unit_forget_bias=False`, else Keras calls the initializer on
    one block only). For the lstm_apps cells use their `chrono_t_max`
    argument instead.

    Args:
        t_max: The longest dependency expected, in time steps (integer >= 2).
            The initial timescales 1 / (1 - sigmoid(b_f)) lie in [2, t_max].
        blocks: The gate blocks of the bias, in order: letters among "i",
            "f", "c", "o", with "f" among them. Default: `("i", "f", "c", "o")`.
        seed: Optional integer seed of the draw.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.cells import ChronoInitializer
    >>> bias = np.asarray(ChronoInitializer(100, seed=1)((4 * 3,)))
    >>> i, f, c, o = np.split(bias, 4)
    >>> bool(np.all((f >= 0) & (f <= np.log(99)))), bool(np.allclose(i, -f))
    (True, True)
    >>> float(np.abs(c).sum() + np.abs(o).sum())
    0.0
    """

    def __init__(
        self,
        t_max: int,
        blocks: Sequence[str] = _BLOCKS,
        seed: int | None = None,
    ) -> None:
        self.t_max = check_chrono_t_max(t_max, "t_max")
        if self.t_max is None:
            raise ValueError(
                "Received an invalid value for argument `t_max`, expected an integer >= 2, "
                "got None."
            )
        blocks = tuple(blocks) if not isinstance(blocks, str) else tuple(blocks)
        if (
            not blocks
            or any(b not in _BLOCKS for b in blocks)
            or len(set(blocks)) != len(blocks)
            or "f" not in blocks
        ):
            raise ValueError(
                "Received an invalid value for argument `blocks`, expected distinct gate "
                f"letters among {_BLOCKS} including 'f', got {blocks!r}."
            )
        self.blocks = blocks
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(
                f"Received an invalid value for argument `seed`, expected an integer or None, "
                f"got {seed!r}."
            )
        self.seed = seed

    def forget_bias(self, units: int, dtype: Any = None) -> Any:
        """The forget-gate bias alone, `log(U(1, t_max - 1))`, shape `(units,)`."""
        u = keras.random.uniform(
            (units,),
            minval=1.0,
            maxval=float(self.t_max - 1),
            dtype=dtype or "float32",
            seed=self.seed,
        )
        return ops.log(u)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        shape = tuple(shape)
        n = len(self.blocks)
        if len(shape) != 1 or shape[0] % n:
            raise ValueError(
                f"ChronoInitializer with blocks {self.blocks} initialises a 1-D bias of "
                f"{n} equal blocks, got shape {shape}."
            )
        units = shape[0] // n
        forget = self.forget_bias(units, dtype)
        zeros = ops.zeros((units,), dtype=forget.dtype)
        parts = {"f": forget, "i": -forget}
        return ops.concatenate([parts.get(b, zeros) for b in self.blocks])

    def get_config(self) -> dict[str, Any]:
        return {"t_max": self.t_max, "blocks": list(self.blocks), "seed": self.seed}
