"""The coupled input-forget gate LSTM cell (CIFG)."""

from __future__ import annotations

from typing import Any

import keras

from lstm_apps.cells._base import GateSpec, LSTMCellBase

__all__ = ["CoupledLSTMCell"]

_COUPLED = GateSpec(input_gate=False, coupled=True)
_COUPLED_PEEPHOLE = GateSpec(input_gate=False, coupled=True, peepholes=("f", "o"))


@keras.saving.register_keras_serializable(package="lstm_apps")
class CoupledLSTMCell(LSTMCellBase):
    """LSTM cell with coupled input and forget gates (CIFG).

    The cell computes the forget gate and lets the input gate be its
    complement, so new content enters exactly as much as old content leaves
    (Greff et al. 2017; the GRU couples its gates the same way):

        f = sigma(x W_f + h R_f [+ p_f * c] + b_f)
        i = 1 - f
        g = tanh(x W_c + h R_c + b_c)
        c' = f * c + i * g
        o = sigma(x W_o + h R_o [+ p_o * c'] + b_o)
        h' = o * tanh(c')

    It has three gate blocks instead of four: `kernel` `(input_dim, 3 * units)`,
    `recurrent_kernel` `(units, 3 * units)`, `bias` `(3 * units,)`, gate order
    f, c, o. `unit_forget_bias=True` still initializes the forget bias to 1.
    With `peephole=True` it adds `forget_gate_peephole_weights` and
    `output_gate_peephole_weights` (Greff et al.'s CIFG variant).

    Args:
        units: Positive integer, dimensionality of the output space.
        peephole: Whether the forget and output gates see the cell state.
            Default: `False`.
        peephole_initializer, peephole_regularizer, peephole_constraint:
            As for `PeepholeLSTMCell`; used only when `peephole=True`.
        chrono_t_max, gate_clamp, gate_clamp_units: As for
            `StandardLSTMCell`; chrono sets only the forget bias (i = 1 - f),
            and `gate_clamp` takes the forget and output gates only.
        **kwargs: Every other argument of `keras.layers.LSTMCell`, same
            defaults and meaning.

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h, c]`, each `(batch, units)`.
        training: Whether dropout is applied.

    Returns:
        `(h, [h, c])`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import CoupledLSTMCell
    >>> cell = CoupledLSTMCell(4)
    >>> tuple(keras.layers.RNN(cell)(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    >>> tuple(cell.kernel.shape)
    (3, 12)
    """

    def __init__(self, units: int, peephole: bool = False, **kwargs: Any) -> None:
        if not isinstance(peephole, bool):
            raise TypeError(
                "Received an invalid value for argument `peephole`, expected "
                f"a bool, got {peephole!r}."
            )
        self._spec = _COUPLED_PEEPHOLE if peephole else _COUPLED
        super().__init__(units, **kwargs)
        self.peephole = peephole

    def _has_peephole_option(self) -> bool:
        return True

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "peephole": self.peephole}
