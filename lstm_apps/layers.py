"""`LSTM`: a ready `keras.layers.RNN` for any lstm_apps cell, by name."""

from __future__ import annotations

import inspect
from typing import Any

import keras

from lstm_apps import cells as _cells
from lstm_apps.cells._base import LSTMCellBase

__all__ = ["LSTM"]

_CELL_ARGS = frozenset(
    p
    for p in inspect.signature(LSTMCellBase.__init__).parameters
    if p not in ("self", "units", "kwargs")
) | {"peephole"}
#: Whether `LSTM` multiplies the whole input sequence by the kernel before the
#: time loop (see `LSTM.inner_loop`).
_HOIST_PROJECTION = keras.backend.backend() in ("torch", "jax")


@keras.saving.register_keras_serializable(package="lstm_apps")
class LSTM(keras.layers.RNN):
    """Recurrent layer running any lstm_apps cell or variant, chosen by name.

    Equivalent to `keras.layers.RNN(lstm_apps.cells.create(variant, units,
    **cell_kwargs), ...)`; like `keras.layers.LSTM`, it takes the cell's
    arguments directly and serializes them flat in its config.

    Args:
        units: Positive integer, dimensionality of the output space.
        variant: A name from `lstm_apps.cells.names()`: "standard",
            "peephole", "coupled", or a Greff et al. variant ("nig", "nfg",
            "nog", "niaf", "noaf", "np", "cifg", "fgr", "vanilla").
            Default: "standard".
        return_sequences: Whether to return the whole output sequence or
            only the last output. Default: `False`.
        return_state: Whether to return the last states after the output.
            Default: `False`.
        go_backwards: Process the sequence backwards and return the reversed
            sequence. Default: `False`.
        stateful: Keep the last state of each sample of a batch as the
            initial state of the same sample in the next batch.
            Default: `False`.
        unroll: Unroll the time loop (faster for short sequences, more
            memory). Default: `False`.
        zero_output_for_mask: Whether masked steps output zeros instead of
            repeating the last output. Default: `False`, as in Keras.
        **kwargs: Cell arguments (`activation`, `recurrent_activation`,
            `use_bias`, initializers, regularizers, constraints,
            `unit_forget_bias`, `dropout`, `recurrent_dropout`, `seed`,
            `peephole_initializer`, ..., `peephole` for "coupled") and layer
            arguments (`name`, `dtype`, `trainable`, `activity_regularizer`).

    Call arguments:
        sequences: A 3-D tensor `(batch, timesteps, features)`.
        initial_state: Optional list of initial state tensors.
        mask: Optional boolean tensor `(batch, timesteps)`.
        training: Whether dropout is applied.

    Example:

    >>> import numpy as np
    >>> import lstm_apps
    >>> layer = lstm_apps.LSTM(8, variant="peephole", return_sequences=True)
    >>> layer(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 8)
    >>> type(layer.cell).__name__
    'PeepholeLSTMCell'
    """

    def __init__(
        self,
        units: int,
        variant: str = "standard",
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _CELL_ARGS}
        if "peephole" in cell_kwargs and _cells._check_name(variant) != "coupled":
            raise ValueError(
                "Received argument `peephole`, which only the 'coupled' "
                f"variant takes; got variant={variant!r}. Use "
                "variant='peephole' or 'cifg' for peephole cells."
            )
        cell = _cells.create(
            variant,
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=f"{_cells._check_name(variant)}_cell",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
        self.variant = _cells._check_name(variant)
        self.input_spec = keras.InputSpec(ndim=3)

    @property
    def units(self) -> int:
        return self.cell.units

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not _HOIST_PROJECTION:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        # One (batch * time, features) x (features, blocks * units) matmul
        # for the whole sequence; the loop then only adds h R. This is what
        # Keras's own torch LSTM does on CPU: it pays where each step is a
        # Python-level op dispatch (torch) or a compiled scan body (JAX). On
        # TensorFlow's while_loop it costs more than it saves (measured
        # 0.61-0.75x), so it is off there.
        projected = self.cell.project_inputs(sequences, training=training)
        self.cell._inputs_projected = True
        try:
            return super().inner_loop(projected, initial_state, mask, training=training)
        finally:
            self.cell._inputs_projected = False

    def get_config(self) -> dict[str, Any]:
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "units"):
            cell_config.pop(key, None)
        config = super().get_config()
        del config["cell"]
        return {**config, **cell_config, "units": self.units, "variant": self.variant}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LSTM:
        return cls(**config)
