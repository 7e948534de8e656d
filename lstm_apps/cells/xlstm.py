"""xLSTM's sLSTM and mLSTM cells (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory").

Both use exponential input gates, kept finite by a stabiliser state m (the
running maximum of the log gates) and made scale-free by a normaliser n:

    m_t = max(log f_t + m_{t-1}, log i_t)
    i'_t = exp(log i_t - m_t),  f'_t = exp(log f_t + m_{t-1} - m_t)

so that i' and f' lie in (0, 1] however large the gate pre-activations.
log i_t is the input gate's pre-activation; log f_t is log sigma of the
forget gate's pre-activation (or the pre-activation itself with
`forget_gate="exp"`).

sLSTM (scalar memory, recurrent; per head, block-diagonal recurrent weights):

    i~, f~, z~, o~ = x W + h_{t-1} R + b         (R: one (d, d) block per head and gate)
    c_t = f' c_{t-1} + i' tanh(z~)
    n_t = f' n_{t-1} + i'
    h_t = sigma(o~) * c_t / n_t

mLSTM (matrix memory per head, no hidden-to-hidden recurrence):

    q, k, v = x W_q + b_q, (x W_k + b_k) / sqrt(d), x W_v + b_v     (per head)
    C_t = f' C_{t-1} + i' v_t k_t^T,  n_t = f' n_{t-1} + i' k_t
    h_t = sigma(x W_o + b_o) * C_t q_t / (max(|n_t . q_t|, exp(-m_t)) + eps)

Because the mLSTM gates depend on the input only, `ScanRNN` (and
`lstm_apps.LSTM(units, variant="mlstm")`) run it in its parallel form, a
masked (time x time) attention-like product per head, with the outputs and
states of the recurrent form.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from lstm_apps._validation import check_bool, check_choice, check_int, invalid_message
from lstm_apps.cells._base import (
    CellMixin,
    add_input_weights,
    add_weight_with_options,
    check_rate,
    check_units,
    recurrent_dropout_error,
    set_weight_options,
    weight_options_config,
)

__all__ = ["MLSTMCell", "SLSTMCell"]

#: Added to the mLSTM denominator, as in the reference implementation.
_EPS = 1e-6


class _XLSTMCell(CellMixin, keras.layers.Layer):
    """Arguments, input weights and config shared by the two xLSTM cells."""

    _recurrent = True

    def __init__(
        self,
        units: int,
        num_heads: int = 1,
        forget_gate: str = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.units = units = check_units(units)
        num_heads = check_int("num_heads", num_heads, 1, expected="a positive integer")
        if units % num_heads:
            raise ValueError(
                invalid_message("num_heads", f"a divisor of `units` ({units})", num_heads)
            )
        forget_gate = check_choice("forget_gate", forget_gate, ("sigmoid", "exp"))
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        if not self._recurrent and self.recurrent_dropout != 0.0:
            raise recurrent_dropout_error(self, recurrent_dropout)
        use_bias = check_bool("use_bias", use_bias)
        unit_forget_bias = check_bool("unit_forget_bias", unit_forget_bias)
        seed = check_int("seed", seed, optional=True, expected="an integer or None")
        set_weight_options(
            self,
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            recurrent=(recurrent_initializer, recurrent_regularizer, recurrent_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint),
        )
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = units // num_heads
        self.forget_gate = forget_gate
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = units

    # Blocks of the fused input kernel: (name, width), in order.
    def _blocks(self) -> tuple[tuple[str, int], ...]:
        raise NotImplementedError

    def _build_input_weights(self, input_shape: Sequence[int | None]) -> None:
        blocks = self._blocks()
        base = self.bias_initializer
        forget = self.unit_forget_bias

        def bias_initializer(shape, dtype=None):
            parts = [
                ops.ones((w,), dtype=dtype) if forget and name == "f" else base((w,), dtype=dtype)
                for name, w in blocks
            ]
            return ops.concatenate(parts)

        width = sum(w for _, w in blocks)
        add_input_weights(self, input_shape, width, bias_initializer)

    def _split(self, z: Any) -> dict[str, Any]:
        blocks = self._blocks()
        edges = list(itertools.accumulate(w for _, w in blocks))[:-1]
        return dict(zip([name for name, _ in blocks], ops.split(z, edges, axis=-1)))

    def _log_forget(self, f_raw: Any) -> Any:
        return f_raw if self.forget_gate == "exp" else ops.log_sigmoid(f_raw)

    def get_config(self) -> dict[str, Any]:
        weights = ("kernel", "recurrent", "bias")
        config = {
            "units": self.units,
            "num_heads": self.num_heads,
            "forget_gate": self.forget_gate,
            "use_bias": self.use_bias,
            **weight_options_config(self, weights, unit_forget_bias=self.unit_forget_bias),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="lstm_apps")
class SLSTMCell(_XLSTMCell):
    """sLSTM cell (Beck et al. 2024): exponential gating, normaliser and stabiliser.

        i~, f~, z~, o~ = x W + h R + b      (R block-diagonal: one (d, d) block per head)
        m' = max(log f + m, i~)             (m' = i~ while n = 0: the first step)
        i' = exp(i~ - m'),  f' = exp(log f + m - m')
        c' = f' c + i' tanh(z~),  n' = f' n + i'
        h' = sigma(o~) * c' / n'

    with `log f = log sigma(f~)` (`forget_gate="sigmoid"`, the default) or
    `log f = f~` (`"exp"`), as in the reference implementation's vanilla
    sLSTM. `kernel` `(input_dim, 4 * units)` (gate order i, f, z, o),
    `recurrent_kernel` `(4, num_heads, units // num_heads, units // num_heads)`,
    `bias` `(4 * units,)`. State: `[h, c, n, m]`, each `(batch, units)`.
    It runs inside `keras.layers.RNN` (or `lstm_apps.LSTM(units,
    variant="slstm")`).

    Args:
        units: Positive integer, dimensionality of the output space.
        num_heads: Number of heads (a divisor of `units`); the recurrent
            weights connect units of the same head only. Default: 1.
        forget_gate: `"sigmoid"` or `"exp"`. Default: `"sigmoid"`.
        unit_forget_bias: Initialise the forget gate's bias to 1.
            Default: `True`.
        use_bias, kernel_initializer, recurrent_initializer,
            bias_initializer, kernel_regularizer, recurrent_regularizer,
            bias_regularizer, kernel_constraint, recurrent_constraint,
            bias_constraint, dropout, recurrent_dropout, seed: As for
            `keras.layers.LSTMCell`.

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h, c, n, m]`, each `(batch, units)`.
        training: Whether dropout is applied.

    Returns:
        `(h, [h, c, n, m])`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import SLSTMCell
    >>> cell = SLSTMCell(8, num_heads=2)
    >>> tuple(keras.layers.RNN(cell)(np.ones((2, 5, 3), "float32")).shape)
    (2, 8)
    >>> tuple(cell.recurrent_kernel.shape)
    (4, 2, 4, 4)
    """

    def __init__(self, units: int, num_heads: int = 1, **kwargs: Any) -> None:
        super().__init__(units, num_heads, **kwargs)
        self.state_size = [units, units, units, units]

    def _blocks(self) -> tuple[tuple[str, int], ...]:
        return tuple((name, self.units) for name in ("i", "f", "z", "o"))

    def build(self, input_shape: Sequence[int | None]) -> None:
        self._build_input_weights(input_shape)
        d = self.head_dim
        self.recurrent_kernel = add_weight_with_options(
            self, "recurrent", (4, self.num_heads, d, d), name="recurrent_kernel"
        )
        self.built = True

    def step(
        self, z_x: Any, states: Sequence[Any], training: bool = False
    ) -> tuple[Any, list[Any], dict[str, Any]]:
        """One step from the input pre-activations `z_x = project_inputs(x)`.

        Returns:
            `(h, [h, c, n, m], gates)`; `gates` holds the stabilised gates
            "i" (i') and "f" (f'), the output gate "o", the candidate "g"
            (tanh z~), the normaliser "n" and the stabiliser "m".
        """
        h, c, n, m = states
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h = h * self.get_recurrent_dropout_mask(h)
        heads = ops.reshape(h, (-1, self.num_heads, self.head_dim))
        rec = ops.einsum("bhd,ghde->bghe", heads, self.recurrent_kernel)
        z = z_x + ops.reshape(rec, (-1, 4 * self.units))
        i_raw, f_raw, z_raw, o_raw = ops.split(z, 4, axis=-1)
        log_f_plus_m = self._log_forget(f_raw) + m
        m_new = ops.where(n == 0.0, i_raw, ops.maximum(i_raw, log_f_plus_m))
        i_gate = ops.exp(i_raw - m_new)
        f_gate = ops.exp(log_f_plus_m - m_new)
        g = ops.tanh(z_raw)
        o_gate = ops.sigmoid(o_raw)
        c_new = f_gate * c + i_gate * g
        n_new = f_gate * n + i_gate
        h_new = o_gate * c_new / n_new
        gates = {"i": i_gate, "f": f_gate, "o": o_gate, "g": g, "n": n_new, "m": m_new}
        return h_new, [h_new, c_new, n_new, m_new], gates

    def call(self, inputs: Any, states: Sequence[Any], training: bool = False):
        h, new_states, _ = self.step(self.project_inputs(inputs, training), states, training)
        return h, new_states


@keras.saving.register_keras_serializable(package="lstm_apps")
class MLSTMCell(_XLSTMCell):
    """mLSTM cell (Beck et al. 2024): a (d x d) matrix memory per head.

        q = x W_q + b_q,  k = (x W_k + b_k) / sqrt(d),  v = x W_v + b_v   (per head)
        i~ = x w_i + b_i,  f~ = x w_f + b_f                    (one per head)
        m' = max(log f + m, i~),  i' = exp(i~ - m'),  f' = exp(log f + m - m')
        C' = f' C + i' v k^T,  n' = f' n + i' k
        h' = sigma(x W_o + b_o) * C' q / (max(|n' . q|, exp(-m')) + eps)

    (`eps` = 1e-6, as in the reference implementation.) No hidden-to-hidden
    recurrence: the gates depend on the input only, so a whole sequence also
    has a parallel form, `scan`, which `lstm_apps.cells.ScanRNN` and
    `lstm_apps.LSTM(units, variant="mlstm")` use (its memory grows with the
    square of the sequence length). `kernel` `(input_dim, 4 * units + 2 *
    num_heads)` (blocks q, k, v, o, then i and f with one column per head),
    `bias` of the same width. State: `[h, C, n, m]`: h and n
    `(batch, units)`, C `(batch, num_heads * d * d)`, m `(batch, num_heads)`.

    Args:
        units: Positive integer, dimensionality of the output space.
        num_heads: Number of heads (a divisor of `units`). Default: 1.
        forget_gate: `"sigmoid"` or `"exp"`. Default: `"sigmoid"`.
        unit_forget_bias: Initialise the forget gates' biases to 1.
        recurrent_dropout: Must be 0 (no recurrent weights).
        **kwargs: As for `SLSTMCell` (`recurrent_*` arguments are unused).

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h, C, n, m]`.
        training: Whether dropout is applied.

    Returns:
        `(h, [h, C, n, m])`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import MLSTMCell, ScanRNN
    >>> cell = MLSTMCell(8, num_heads=2)
    >>> x = np.ones((2, 5, 3), "float32")
    >>> tuple(ScanRNN(cell, return_sequences=True)(x).shape)
    (2, 5, 8)
    >>> cell.state_size
    [8, 32, 8, 2]
    """

    _recurrent = False

    def __init__(self, units: int, num_heads: int = 1, **kwargs: Any) -> None:
        super().__init__(units, num_heads, **kwargs)
        d = self.head_dim
        self.state_size = [units, num_heads * d * d, units, num_heads]

    def _blocks(self) -> tuple[tuple[str, int], ...]:
        u, heads = self.units, self.num_heads
        return (("q", u), ("k", u), ("v", u), ("o", u), ("i", heads), ("f", heads))

    def build(self, input_shape: Sequence[int | None]) -> None:
        self._build_input_weights(input_shape)
        self.built = True

    def _heads(self, x: Any) -> Any:
        """`(..., units)` -> `(..., heads, d)`."""
        return ops.reshape(x, tuple(ops.shape(x)[:-1]) + (self.num_heads, self.head_dim))

    def _parts(self, z: Any) -> dict[str, Any]:
        parts = self._split(z)
        parts["q"] = self._heads(parts["q"])
        parts["k"] = self._heads(parts["k"]) / math.sqrt(self.head_dim)
        parts["v"] = self._heads(parts["v"])
        parts["log_f"] = self._log_forget(parts.pop("f"))
        return parts

    def step(
        self, z_x: Any, states: Sequence[Any], training: bool = False
    ) -> tuple[Any, list[Any], dict[str, Any]]:
        """One recurrent step from `z_x = project_inputs(x)`.

        Returns:
            `(h, [h, C, n, m], gates)`; `gates` holds, per head
            `(batch, num_heads)`: the stabilised gates "i" (i') and "f"
            (f'), the normaliser "n", the denominator of the read-out
            `max(|n' . q|, exp(-m')) + eps`, and the stabiliser "m" (m');
            and per unit `(batch, units)`: the output gate "o", the value
            "g" (v, written into row j of its head's memory as `i' v_j k`)
            and the read-out "c" (`C' q`, row j of the memory read with the
            query), so that `h = o * c / n` (each head's n over its units).
        """
        _, c, n, m = states
        heads, d = self.num_heads, self.head_dim
        p = self._parts(z_x)
        c = ops.reshape(c, (-1, heads, d, d))
        n = self._heads(n)
        m_new = ops.maximum(p["log_f"] + m, p["i"])
        i_gate = ops.exp(p["i"] - m_new)
        f_gate = ops.exp(p["log_f"] + m - m_new)
        i4, f4 = i_gate[..., None, None], f_gate[..., None, None]
        c_new = f4 * c + i4 * (p["v"][..., :, None] * p["k"][..., None, :])
        n_new = f_gate[..., None] * n + i_gate[..., None] * p["k"]
        q = p["q"]
        numerator = ops.einsum("bhvk,bhk->bhv", c_new, q)
        denominator = ops.maximum(ops.abs(ops.sum(n_new * q, axis=-1)), ops.exp(-m_new)) + _EPS
        o_gate = ops.sigmoid(p["o"])
        h = o_gate * ops.reshape(numerator / denominator[..., None], (-1, self.units))
        c_flat = ops.reshape(c_new, (-1, heads * d * d))
        new_states = [h, c_flat, ops.reshape(n_new, (-1, self.units)), m_new]
        gates = {
            "i": i_gate,
            "f": f_gate,
            "o": o_gate,
            "g": ops.reshape(p["v"], (-1, self.units)),
            "c": ops.reshape(numerator, (-1, self.units)),
            "n": denominator,
            "m": m_new,
        }
        return h, new_states, gates

    def call(self, inputs: Any, states: Sequence[Any], training: bool = False):
        h, new_states, _ = self.step(self.project_inputs(inputs, training), states, training)
        return h, new_states

    def scan(
        self, sequences: Any, states: Sequence[Any], mask: Any = None, training: bool = False
    ) -> tuple[Any, list[Any]]:
        """The parallel form over a whole sequence `(batch, time, features)`.

        With F_t the cumulative sum of log f up to t, the step t reads step
        s <= t with weight D[t, s] = exp(F_t - F_s + i~_s - m_t) and the
        initial state with exp(F_t + m_0 - m_t), m_t the largest of those
        logs: the same m, C, n and h as the recurrent form, from any initial
        state. A masked step neither writes (i' = 0) nor forgets (f' = 1).

        Returns:
            `(h, [h, C, n, m])`: h of every step `(batch, time, units)`
            (masked steps included) and the states after the last step.
        """
        h0, c0, n0, m0 = states
        heads, d = self.num_heads, self.head_dim
        p = self._parts(self.project_inputs(sequences, training=training))
        log_f, log_i = p["log_f"], p["i"]  # (batch, time, heads)
        if mask is not None:
            keep = ops.expand_dims(mask, -1)
            log_f = ops.where(keep, log_f, ops.zeros_like(log_f))
            log_i = ops.where(keep, log_i, ops.full_like(log_i, -math.inf))
        # (batch, heads, time) and (batch, heads, time, d)
        log_f, log_i = ops.transpose(log_f, (0, 2, 1)), ops.transpose(log_i, (0, 2, 1))
        q, k, v = (ops.transpose(p[x], (0, 2, 1, 3)) for x in ("q", "k", "v"))
        cum = ops.cumsum(log_f, axis=-1)
        steps = ops.shape(cum)[-1]
        causal = ops.tril(ops.ones((steps, steps), dtype="bool"))
        log_d = cum[..., :, None] - cum[..., None, :] + log_i[..., None, :]
        log_d = ops.where(causal, log_d, ops.full_like(log_d, -math.inf))
        log_d0 = cum + m0[..., None]  # the initial state's weight, (batch, heads, time)
        m = ops.maximum(ops.max(log_d, axis=-1), log_d0)
        weights = ops.exp(log_d - m[..., None])
        w0 = ops.exp(log_d0 - m)
        c0 = ops.reshape(c0, (-1, heads, d, d))
        n0 = self._heads(n0)
        scores = ops.einsum("bhtk,bhsk->bhts", q, k) * weights
        numerator = ops.einsum("bhts,bhsv->bhtv", scores, v) + w0[..., None] * ops.einsum(
            "bhvk,bhtk->bhtv", c0, q
        )
        qn = ops.sum(scores, axis=-1) + w0 * ops.einsum("bhk,bhtk->bht", n0, q)
        denominator = ops.maximum(ops.abs(qn), ops.exp(-m)) + _EPS
        o_gate = ops.sigmoid(p["o"])
        h_heads = ops.transpose(numerator / denominator[..., None], (0, 2, 1, 3))
        h = o_gate * ops.reshape(h_heads, (-1, steps, self.units))
        # States after the last step.
        last = weights[..., -1, :]  # (batch, heads, time)
        w0_last = w0[..., -1]
        c_last = ops.einsum("bhs,bhsv,bhsk->bhvk", last, v, k) + w0_last[..., None, None] * c0
        n_last = ops.einsum("bhs,bhsk->bhk", last, k) + w0_last[..., None] * n0
        h_last = h[:, -1]
        if mask is not None:
            processed = ops.any(mask, axis=1, keepdims=True)
            index = ops.argmax(
                ops.cast(mask, "int32") * ops.arange(1, steps + 1, dtype="int32"), axis=1
            )
            h_last = ops.take_along_axis(h, index[:, None, None], axis=1)[:, 0]
            h_last = ops.where(processed, h_last, h0)
        new_states = [
            h_last,
            ops.reshape(c_last, (-1, heads * d * d)),
            ops.reshape(n_last, (-1, self.units)),
            m[..., -1],
        ]
        return h, new_states
