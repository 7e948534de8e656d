"""`LSTM`: a ready `keras.layers.RNN` for any lstm_apps cell, by name."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import keras
from keras import ops

from lstm_apps import cells as _cells
from lstm_apps.cells._base import LSTMCellBase, _Loop, _peephole_name

__all__ = ["LSTM"]

_CELL_ARGS = frozenset(
    p
    for p in inspect.signature(LSTMCellBase.__init__).parameters
    if p not in ("self", "units", "kwargs")
) | {"peephole"}
#: Whether `LSTM` runs its time loops of one step per iteration on transposed,
#: `(features, batch)`, step tensors (see `LSTM._feature_major_loop`).
_FEATURE_MAJOR = keras.backend.backend() == "tensorflow"
#: Whether `LSTM`'s normal-layout loop multiplies the whole input sequence by
#: the kernel before the time loop (see `LSTM.inner_loop`).
_HOIST_PROJECTION = keras.backend.backend() in ("torch", "jax")
#: Most time steps `LSTM` runs per iteration of TensorFlow's while_loop (see
#: `LSTM._chunked_loop`); 1 turns chunking off.
_MAX_TIME_CHUNK = 5 if keras.backend.backend() == "tensorflow" else 1
#: Training loops are chunked only up to this many units: above it, each
#: step's matmuls dominate and chunked training was measured slower (0.86x
#: at 128 units, batch 64, on 2 cores), while inference gained (1.1x).
_MAX_TRAINING_CHUNK_UNITS = 64
#: Shorter sequences run one step per iteration: there the loop saves little,
#: and a chunked loop takes longer to trace (a stacked Bidirectional test
#: model with 5 steps compiled 1.7x slower).
_MIN_CHUNKED_STEPS = 20


@contextlib.contextmanager
def _temporarily(obj: Any, **attributes: Any):
    """Sets attributes of `obj` for one call (one time loop); puts the old values back."""
    old = {name: getattr(obj, name) for name in attributes}
    for name, value in attributes.items():
        setattr(obj, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(obj, name, value)


def _with_mask_column(sequences: Any, mask: Any) -> Any:
    """`sequences` with the mask (1 or 0) as one more feature, if there is one:
    the cell's loop calls then see each step's mask with its input."""
    if mask is None:
        return sequences
    column = ops.expand_dims(ops.cast(mask, sequences.dtype), -1)
    return ops.concatenate([sequences, column], axis=-1)


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

    Speed: on the TensorFlow backend the layer runs up to five time steps
    per iteration of its time loop (one input matmul for them all), and
    runs loops of one step per iteration on transposed, `(features, batch)`,
    step tensors, where splitting the gate pre-activations copies nothing.
    That makes it faster than a cell in a plain `keras.layers.RNN`; results
    are the same. These run one step per iteration: `unroll=True`,
    sequences of fewer than 20 steps, and training loops of more than 64
    units. Masked sequences whose initial state is given or kept by
    `stateful` (unless `zero_output_for_mask=True`) run Keras's own loop.

    Call arguments:
        sequences: A 3-D tensor `(batch, timesteps, features)`.
        initial_state: Optional list of initial state tensors.
        mask: Optional boolean tensor `(batch, timesteps)`.
        training: Whether dropout is applied.

    Example:

    >>> import numpy as np
    >>> import lstm_apps
    >>> layer = lstm_apps.LSTM(8, variant="peephole", return_sequences=True)
    >>> tuple(layer(np.zeros((2, 10, 3), "float32")).shape)
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
        self._zero_initial_state = False

    @property
    def units(self) -> int:
        return self.cell.units

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        steps = self._time_chunk(sequences, mask, training)
        if steps > 1:
            return self._chunked_loop(steps, sequences, initial_state, mask, training)
        if _FEATURE_MAJOR and self._mask_input_is_exact(mask):
            return self._feature_major_loop(sequences, initial_state, mask, training)
        loop = _Loop(
            peepholes=self._peepholes(ops.shape(sequences)[0]), projected=_HOIST_PROJECTION
        )
        if _HOIST_PROJECTION:
            # One (batch * time, features) x (features, blocks * units) matmul
            # for the whole sequence; the loop then only adds h R. This is
            # what Keras's own torch LSTM does on CPU: it pays where each step
            # is a Python-level op dispatch (torch) or a compiled scan body
            # (JAX). On TensorFlow's while_loop it costs more than it saves
            # (measured 0.61-0.75x): there, the per-step input matmuls of
            # later steps run on idle cores while the recurrence waits, and
            # hoisting them serialises that work.
            sequences = self.cell.project_inputs(sequences, training=training)
        with _temporarily(self.cell, _loop=loop):
            return super().inner_loop(sequences, initial_state, mask, training=training)

    def _peepholes(self, batch: Any, feature_major: bool = False) -> Any:
        """The peephole vectors side by side, broadcast to the batch, or `None`.

        Broadcast once, outside the loop, each step's products are of
        same-shape tensors, and the gradient's sum over the batch is taken
        once per sequence instead of once per step (W1 training on
        TensorFlow: 0.79x -> 0.88x of keras.layers.LSTM). One tensor rather
        than one per gate: every tensor the loop body captures is one more
        loop variable, which TensorFlow passes through each iteration,
        forward and backward (W1 training: 39.2 ms per batch against 45.0 ms
        with three, measured in one process).
        """
        cell = self.cell
        gates = cell.spec.peepholes
        if not gates:
            return None
        joined = ops.concatenate([getattr(cell, _peephole_name(gate)) for gate in gates])
        if feature_major:
            return ops.broadcast_to(ops.expand_dims(joined, 1), (joined.shape[0], batch))
        return ops.broadcast_to(joined, (batch, joined.shape[0]))

    def _feature_major_loop(self, sequences, initial_state, mask, training):
        """Keras's loop on transposed, `(features, batch)`, step tensors.

        Each step splits its `(blocks * units, ...)` pre-activations into
        gates. TensorFlow splits along the first axis without copying, but
        along the last axis it copies every block, and so does the
        concatenation in the gradient. Transposed, the step does the same
        arithmetic without those copies: W1 training of the peephole cell
        went from 0.88x to 0.93x of `keras.layers.LSTM`, the standard cell
        from 1.00x to 1.11x (median of 5 processes). Chunked loops keep the
        normal layout, which predicted faster (see `_chunked_loop`). The
        sequence, the weights, the states and the outputs are transposed
        once, outside the loop. A mask, if any, travels as one more input
        row.
        """
        cell = self.cell
        batch = ops.shape(sequences)[0]
        dropout = training not in (False, None)
        input_mask = recurrent_mask = None
        if dropout and 0.0 < cell.dropout < 1.0:
            input_mask = ops.transpose(cell.get_dropout_mask(sequences[:, 0]))
        if dropout and 0.0 < cell.recurrent_dropout < 1.0:
            recurrent_mask = ops.transpose(cell.get_recurrent_dropout_mask(initial_state[0]))
        sequences = _with_mask_column(sequences, mask)
        # (features, time, batch): Keras's loop swaps the first two axes.
        sequences = ops.transpose(sequences, (2, 1, 0))

        def transposed(weight):
            return ops.transpose(ops.cast(weight, cell.compute_dtype))

        bias = None
        if cell.use_bias:
            bias = ops.cast(cell.bias, cell.compute_dtype)
            bias = ops.broadcast_to(ops.expand_dims(bias, 1), (bias.shape[0], batch))
        loop = _Loop(
            feature_major=True,
            peepholes=self._peepholes(batch, feature_major=True),
            masked=mask is not None,
            zero_output_for_mask=self.zero_output_for_mask,
            kernel=transposed(cell.kernel),
            recurrent_kernel=transposed(cell.recurrent_kernel),
            gate_recurrent_kernel=(
                transposed(cell.gate_recurrent_kernel) if cell.spec.gate_recurrence else None
            ),
            bias=bias,
            input_mask=input_mask,
            recurrent_mask=recurrent_mask,
        )
        states = [ops.transpose(state) for state in initial_state]
        with _temporarily(cell, _loop=loop):
            last, outputs, states = super().inner_loop(sequences, states, None, training=training)
        # Keras returns the outputs as (units, time, batch).
        outputs = ops.transpose(outputs, (2, 1, 0))
        return ops.transpose(last), outputs, [ops.transpose(state) for state in states]

    def call(self, sequences, initial_state=None, mask=None, training=False):
        zero = initial_state is None and not self.stateful
        with _temporarily(self, _zero_initial_state=zero):
            return super().call(
                sequences, initial_state=initial_state, mask=mask, training=training
            )

    def _mask_input_is_exact(self, mask: Any) -> bool:
        """Whether a loop that carries the mask with the inputs (see
        `_with_mask_column`) gives Keras's masked outputs: a masked first
        step outputs 0 in Keras's loop, the initial h in ours, so the
        initial h must be zero unless masked steps output zeros anyway."""
        return mask is None or self.zero_output_for_mask or self._zero_initial_state

    def _time_chunk(self, sequences: Any, mask: Any, training: Any) -> int:
        """Time steps per loop iteration: the largest divisor of the sequence
        length up to `_MAX_TIME_CHUNK`, or 1 where chunking does not apply."""
        timesteps = sequences.shape[1]
        if _MAX_TIME_CHUNK <= 1 or self.unroll or timesteps is None:
            return 1
        if timesteps < _MIN_CHUNKED_STEPS:
            return 1
        if training not in (False, None) and self.cell.units > _MAX_TRAINING_CHUNK_UNITS:
            return 1
        if not self._mask_input_is_exact(mask):
            return 1
        return max(k for k in range(1, _MAX_TIME_CHUNK + 1) if timesteps % k == 0)

    def _chunked_loop(
        self, steps: int, sequences: Any, initial_state: Any, mask: Any, training: bool
    ):
        # TensorFlow's while_loop pays a fixed cost per iteration (the loop's
        # control ops, one TensorArray read and write) and per small op. Each
        # iteration here runs `steps` cell steps on a (batch, steps * width)
        # slice, with one input matmul for all of them, so those costs are
        # paid once per chunk. The mask, if any, travels as one more input
        # column. Same arithmetic, same results. (A feature-major chunked
        # loop measured slower in inference: W1 predict 1.03x of Keras
        # against 1.15x.)
        timesteps = sequences.shape[1]
        sequences = _with_mask_column(sequences, mask)
        width = sequences.shape[2]
        chunks = ops.reshape(sequences, (-1, timesteps // steps, steps * width))
        loop = _Loop(
            peepholes=self._peepholes(ops.shape(sequences)[0]),
            steps=steps,
            sequences=self.return_sequences,
            backwards=self.go_backwards,
            masked=mask is not None,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        with _temporarily(self.cell, _loop=loop):
            last, outputs, states = super().inner_loop(
                chunks, initial_state, None, training=training
            )
        if self.return_sequences:
            outputs = ops.reshape(outputs, (-1, timesteps, self.cell.units))
            last = outputs[:, -1]
        return last, outputs, states

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
