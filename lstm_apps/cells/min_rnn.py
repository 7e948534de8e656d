"""minLSTM and minGRU (Feng et al. 2024, "Were RNNs All We Needed?").

Both cells drop the hidden state from their gates, so a whole sequence is
one linear recurrence `h_t = a_t * h_{t-1} + b_t` whose coefficients depend
on the inputs only:

    minLSTM   f_t, i_t = sigma(x_t W_f + b_f), sigma(x_t W_i + b_i)
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
              h_t = f'_t * h_{t-1} + i'_t * act(x_t W_h + b_h)
    minGRU    z_t = sigma(x_t W_z + b_z)
              h_t = (1 - z_t) * h_{t-1} + z_t * act(x_t W_h + b_h)

(`act` is the identity by default, as in the paper.) The gates are computed
in log space, as the paper does (log f' = -softplus(softplus(-k_f) -
softplus(-k_i)), log(1 - z) = log sigma(-k_z)). The cells step like any
Keras cell inside `keras.layers.RNN` (for stepping and stateful use);
`ScanRNN` (and `lstm_apps.LSTM` with these cells) runs the same recurrence
as a parallel associative scan over time (`keras.ops.associative_scan` on JAX
and torch, a Hillis-Steele scan in a while loop on TensorFlow; see
`_prefix_scan`), carrying the cumulative log decay, with the same outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from lstm_apps._validation import check_bool, check_int
from lstm_apps.cells._base import (
    CellMixin,
    add_input_weights,
    check_rate,
    check_units,
    get_object,
    recurrent_dropout_error,
    set_weight_options,
    weight_options_config,
)

__all__ = ["MinGRUCell", "MinLSTMCell", "ScanRNN", "scan_loop"]


def _combine(earlier: tuple[Any, Any], later: tuple[Any, Any]) -> tuple[Any, Any]:
    """Composes two spans of `h -> exp(log_a) * h + b`: first `earlier`, then `later`."""
    log_a1, b1 = earlier
    log_a2, b2 = later
    return log_a1 + log_a2, ops.exp(log_a2) * b1 + b2


#: Whether `_prefix_scan` uses `keras.ops.associative_scan` (JAX, torch). On
#: TensorFlow its recursive graph took 44-100 s to trace a minLSTM training
#: step at 1,000-4,000 steps (bench_new_cells.py), against 3-6 s for the
#: while-loop scan, which also predicted 1.5-3x faster there (training at
#: 4,000 steps: 0.60x of keras.layers.LSTM against 1.09x).
_USE_KERAS_SCAN = keras.backend.backend() != "tensorflow"


def _prefix_scan(
    combine: Any, elems: tuple[Any, ...], identity: tuple[float, ...]
) -> tuple[Any, ...]:
    """Inclusive scan of `elems` (tensors `(batch, time, ...)`) along time.

    `keras.ops.associative_scan` on JAX and torch when the number of steps
    is known; else (TensorFlow, see `_USE_KERAS_SCAN`, and any sequence
    length unknown when traced, which that op cannot take) the same scan as
    log2(time) rounds of a Hillis-Steele scan in a `keras.ops.while_loop`,
    padding with `identity`.

    Args:
        combine: Associative `combine(earlier, later) -> tuple`, elementwise.
        elems: The tensors, one tuple.
        identity: The identity element, one number per tensor.
    """
    if _USE_KERAS_SCAN and all(x.shape[1] is not None for x in elems):
        return tuple(ops.associative_scan(combine, tuple(elems), axis=1))
    steps = ops.shape(elems[0])[1]

    def shifted(x: Any, value: float, offset: Any) -> Any:
        pad = ops.full_like(x[:, :offset], value)
        return ops.concatenate([pad, x[:, : steps - offset]], axis=1)

    def body(offset: Any, *xs: Any) -> tuple[Any, ...]:
        earlier = tuple(shifted(x, v, offset) for x, v in zip(xs, identity))
        return (offset * 2, *combine(earlier, xs))

    out = ops.while_loop(lambda offset, *xs: offset < steps, body, (1, *elems))
    return tuple(out[1:])


def _linear_scan(log_a: Any, b: Any, h0: Any) -> Any:
    """All `h_t = exp(log_a_t) * h_{t-1} + b_t` at once, along axis 1.

    Args:
        log_a: Log decays, `(batch, time, units)`, each <= 0.
        b: Inputs, `(batch, time, units)`.
        h0: The state before the first step, `(batch, units)`.

    Returns:
        Every `h_t`, `(batch, time, units)`.
    """
    cum_log_a, acc = _prefix_scan(_combine, (log_a, b), (0.0, 0.0))
    h = ops.exp(cum_log_a) * ops.expand_dims(h0, 1) + acc
    # TensorFlow's scan loses the static shape in a traced function.
    return ops.reshape(h, ops.shape(b))


class _MinCell(CellMixin, keras.layers.Layer):
    """The shared part of `MinLSTMCell` and `MinGRUCell`."""

    _blocks: tuple[str, ...] = ()

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.units = units = check_units(units)
        self.dropout = check_rate("dropout", dropout)
        recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        if recurrent_dropout != 0.0:
            raise recurrent_dropout_error(self, recurrent_dropout)
        self.recurrent_dropout = 0.0
        use_bias = check_bool("use_bias", use_bias)
        unit_forget_bias = check_bool("unit_forget_bias", unit_forget_bias)
        seed = check_int("seed", seed, optional=True, expected="an integer or None")
        self.activation = get_object(keras.activations, "activation", activation)
        set_weight_options(
            self,
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint),
        )
        super().__init__(**kwargs)
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = [units]
        self.output_size = units

    def build(self, input_shape: Sequence[int | None]) -> None:
        units, n = self.units, len(self._blocks)
        base = self.bias_initializer
        offsets = self._bias_offsets() if self.unit_forget_bias else {}

        def bias_initializer(shape, dtype=None):
            parts = [base((units,), dtype=dtype) for _ in range(n)]
            for block, value in offsets.items():
                parts[self._blocks.index(block)] = ops.full((units,), value, dtype=dtype)
            return ops.concatenate(parts)

        add_input_weights(self, input_shape, n * units, bias_initializer)
        self.built = True

    def _bias_offsets(self) -> dict[str, float]:
        raise NotImplementedError

    def coefficients(self, z: Any) -> dict[str, Any]:
        """The recurrence `h = exp(log_a) * h_prev + b` from projected inputs `z`.

        Returns a dict with `"log_a"` and `"b"` and the gate values the
        cell traces (the normalised gates and the candidate).
        """
        raise NotImplementedError

    def step(
        self, z_x: Any, states: Sequence[Any], training: bool = False
    ) -> tuple[Any, list[Any], dict[str, Any]]:
        """One step from the input pre-activations `z_x = project_inputs(x)`.

        Args:
            z_x: The projected inputs of one step, `(batch, n_blocks * units)`.
            states: `[h]`, `(batch, units)`.
            training: Unused (dropout is applied by `project_inputs`);
                taken so that every lstm_apps cell's `step` has the same
                signature.

        Returns:
            `(h, [h], gates)`; `gates` holds the weights of the recurrence
            `h = f * h_prev + i * g`: "f" (minLSTM: the normalised forget
            gate f'; minGRU: the keep gate 1 - z), "i" (minLSTM: the
            normalised input gate i'; minGRU: the update gate z) and the
            candidate "g" (`act(x W_h + b_h)`), each `(batch, units)`.
        """
        parts = self.coefficients(z_x)
        h = ops.exp(parts["log_a"]) * states[0] + parts["b"]
        return h, [h], {key: parts[key] for key in ("i", "f", "g")}

    def call(self, inputs: Any, states: Sequence[Any], training: bool = False):
        h, new_states, _ = self.step(self.project_inputs(inputs, training=training), states)
        return h, new_states

    def scan(
        self, sequences: Any, states: Sequence[Any], mask: Any = None, training: bool = False
    ) -> tuple[Any, list[Any]]:
        """Every step of `sequences` `(batch, time, features)` as one parallel scan.

        Args:
            sequences: Inputs in processing order.
            states: `[h0]`.
            mask: Optional bool `(batch, time)`; a masked step keeps h.
            training: Whether dropout is applied.

        Returns:
            `(h, [h_last])`, `h` of every step `(batch, time, units)` (masked
            steps hold the previous h).
        """
        parts = self.coefficients(self.project_inputs(sequences, training=training))
        log_a, b = parts["log_a"], parts["b"]
        if mask is not None:
            keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
            log_a = ops.where(keep, log_a, ops.zeros_like(log_a))
            b = ops.where(keep, b, ops.zeros_like(b))
        h = _linear_scan(log_a, b, states[0])
        return h, [h[:, -1]]

    def get_config(self) -> dict[str, Any]:
        weights = ("kernel", "bias")
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_options_config(self, weights, unit_forget_bias=self.unit_forget_bias),
            "dropout": self.dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="lstm_apps")
class MinLSTMCell(_MinCell):
    """minLSTM cell (Feng et al. 2024): gates from the input only, normalised.

        f = sigma(x W_f + b_f),  i = sigma(x W_i + b_i)
        f' = f / (f + i),        i' = i / (f + i)
        h' = f' * h + i' * act(x W_h + b_h)

    No recurrent weights: `kernel` `(input_dim, 3 * units)` (blocks f, i, h),
    `bias` `(3 * units,)`. Inside `keras.layers.RNN` it steps like any cell;
    `lstm_apps.cells.ScanRNN` or `lstm_apps.LSTM(units, variant="minlstm")`
    run a whole sequence as one parallel scan, with the same outputs. State:
    `[h]`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate `x W_h + b_h`. Default:
            `None` (identity, as in the paper).
        use_bias: Whether the projection has a bias. Default: `True`.
        kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, kernel_constraint, bias_constraint: As for
            `keras.layers.Dense`.
        unit_forget_bias: Initialise the forget gate's bias to 1. Default:
            `True`.
        dropout: Fraction of the inputs to drop (one mask per sequence).
        recurrent_dropout: Must be 0: the cell has no recurrent weights
            (accepted so that every lstm_apps cell takes the same arguments).
        seed: Seed of the dropout mask.

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h]`, `(batch, units)`.
        training: Whether dropout is applied.

    Returns:
        `(h, [h])`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import MinLSTMCell
    >>> cell = MinLSTMCell(4)
    >>> tuple(keras.layers.RNN(cell)(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    >>> tuple(cell.kernel.shape)
    (3, 12)
    """

    _blocks = ("f", "i", "h")

    def _bias_offsets(self) -> dict[str, float]:
        return {"f": 1.0}

    def coefficients(self, z: Any) -> dict[str, Any]:
        k_f, k_i, k_h = ops.split(z, 3, axis=-1)
        # log(i / f) = log sigma(k_i) - log sigma(k_f)
        diff = ops.softplus(-k_f) - ops.softplus(-k_i)
        log_f = -ops.softplus(diff)
        log_i = -ops.softplus(-diff)
        candidate = self.activation(k_h)
        input_gate = ops.exp(log_i)
        return {
            "log_a": log_f,
            "b": input_gate * candidate,
            "f": ops.exp(log_f),
            "i": input_gate,
            "g": candidate,
        }


@keras.saving.register_keras_serializable(package="lstm_apps")
class MinGRUCell(_MinCell):
    """minGRU cell (Feng et al. 2024): the update gate from the input only.

        z = sigma(x W_z + b_z)
        h' = (1 - z) * h + z * act(x W_h + b_h)

    No recurrent weights: `kernel` `(input_dim, 2 * units)` (blocks z, h),
    `bias` `(2 * units,)`. `unit_forget_bias=True` (the default) initialises
    the update gate's bias to -1, so that the keep gate `1 - z` starts at
    sigma(1), as an LSTM forget gate with `unit_forget_bias`. Steps inside
    `keras.layers.RNN`; `lstm_apps.cells.ScanRNN` or
    `lstm_apps.LSTM(units, variant="mingru")` scan a whole sequence at once.
    State: `[h]`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate. Default: `None` (identity).
        unit_forget_bias: Initialise the update gate's bias to -1.
            Default: `True`.
        **kwargs: As for `MinLSTMCell`.

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h]`, `(batch, units)`.
        training: Whether dropout is applied.

    Returns:
        `(h, [h])`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import MinGRUCell
    >>> cell = MinGRUCell(4)
    >>> tuple(keras.layers.RNN(cell)(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    >>> tuple(cell.kernel.shape)
    (3, 8)
    """

    _blocks = ("z", "h")

    def _bias_offsets(self) -> dict[str, float]:
        return {"z": -1.0}

    def coefficients(self, z: Any) -> dict[str, Any]:
        k_z, k_h = ops.split(z, 2, axis=-1)
        candidate = self.activation(k_h)
        update = ops.sigmoid(k_z)
        log_keep = ops.log_sigmoid(-k_z)
        return {
            "log_a": log_keep,
            "b": update * candidate,
            "f": ops.exp(log_keep),
            "i": update,
            "g": candidate,
        }


def _last_processed(outputs: Any, mask: Any, before: Any) -> Any:
    """Keras's masked outputs: each masked step repeats the output of the
    last processed step before it (`before` ahead of the first)."""
    steps = ops.shape(outputs)[1]
    index = ops.where(mask, ops.expand_dims(ops.arange(steps, dtype="int32"), 0), -1)
    (index,) = _prefix_scan(lambda a, b: (ops.maximum(a[0], b[0]),), (index,), (-1,))
    index = ops.reshape(index, ops.shape(mask))
    gathered = ops.take_along_axis(outputs, ops.expand_dims(ops.maximum(index, 0), -1), axis=1)
    return ops.where(ops.expand_dims(index >= 0, -1), gathered, ops.expand_dims(before, 1))


def scan_loop(
    rnn: keras.layers.RNN, sequences: Any, initial_state: Any, mask: Any, training: Any = False
) -> tuple[Any, Any, list[Any]]:
    """`keras.layers.RNN.inner_loop` for cells with a parallel form (`cell.scan`).

    Runs the cell's `scan` over the whole sequence (in reverse with
    `go_backwards`) and applies Keras's masking rules to the outputs, so the
    results equal those of Keras's step loop. Cells without `scan`, and
    `unroll=True`, run Keras's loop.

    Args:
        rnn: The `keras.layers.RNN` whose `cell`, `go_backwards` and
            `zero_output_for_mask` apply.
        sequences, initial_state, mask, training: As for `inner_loop`.

    Returns:
        `(last_output, outputs, states)`, as `keras.layers.RNN.inner_loop`.
    """
    cell = rnn.cell
    if not hasattr(cell, "scan") or rnn.unroll:
        return keras.layers.RNN.inner_loop(rnn, sequences, initial_state, mask, training=training)
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if mask is not None:
        mask = ops.cast(mask, "bool")
    if rnn.go_backwards:
        sequences = ops.flip(sequences, axis=1)
        mask = None if mask is None else ops.flip(mask, axis=1)
    outputs, states = cell.scan(sequences, list(initial_state), mask, training=training)
    if mask is not None:
        if rnn.zero_output_for_mask:
            outputs = ops.where(ops.expand_dims(mask, -1), outputs, ops.zeros_like(outputs))
        else:
            # Ahead of the first processed step Keras's loop outputs zeros,
            # except on JAX, whose loop outputs the initial h there.
            h0 = initial_state[0]
            before = h0 if keras.backend.backend() == "jax" else ops.zeros_like(h0)
            outputs = _last_processed(outputs, mask, before)
    return outputs[:, -1], outputs, states


@keras.saving.register_keras_serializable(package="lstm_apps")
class ScanRNN(keras.layers.RNN):
    """`keras.layers.RNN` that runs its cell's parallel form over time.

    For `MinLSTMCell`, `MinGRUCell` and `MLSTMCell`, whose recurrences need
    no step loop: the whole sequence is computed at once (an associative
    scan, or mLSTM's parallel form), with the outputs and states of Keras's
    step loop, masking, `go_backwards`, `stateful`, `return_state` and
    `Bidirectional` included. Other cells run Keras's loop, as in
    `keras.layers.RNN`. Same arguments as `keras.layers.RNN`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.cells import MinGRUCell, ScanRNN
    >>> layer = ScanRNN(MinGRUCell(4), return_sequences=True)
    >>> tuple(layer(np.ones((2, 7, 3), "float32")).shape)
    (2, 7, 4)
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        return scan_loop(self, sequences, initial_state, mask, training=training)
