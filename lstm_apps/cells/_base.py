"""Shared machinery of the lstm_apps cell family.

Every cell of the family is one instance of `LSTMCellBase`, configured by a
`GateSpec`: which gates the cell computes, whether the input gate is coupled to
the forget gate, which gates look at the cell state (peepholes), whether the
block input and block output use an activation, and whether the gates receive
their own previous values (full gate recurrence). One code path therefore
serves the standard, peephole and coupled cells and all the ablations of
Greff et al. (2017).

The step, for a cell with every option switched on, is

    z_t = x_t W + h_{t-1} R + b                      (one fused matmul pair)
    i_t = sigma(z_i + p_i * c_{t-1} [+ a_{t-1} R_i])  input gate
    f_t = sigma(z_f + p_f * c_{t-1} [+ a_{t-1} R_f])  forget gate
    g_t = act(z_g)                                    block input (candidate)
    c_t = f_t * c_{t-1} + i_t * g_t                   cell state
    o_t = sigma(z_o + p_o * c_t    [+ a_{t-1} R_o])   output gate
    h_t = o_t * act(c_t)                              hidden state / output

where `a_{t-1} = [i_{t-1}, f_{t-1}, o_{t-1}]` only for full gate recurrence.
A gate that the cell does not have is the constant 1; the coupled cell sets
`i_t = 1 - f_t`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from lstm_apps._validation import check_int, check_real, invalid_message
from lstm_apps.cells._tf_gradients import same_shape_gradients
from lstm_apps.cells.chrono import ChronoInitializer, check_chrono_t_max

__all__ = ["GATE_ALIASES", "GateSpec", "LSTMCellBase", "check_gate_clamp"]

# Besides `__all__`, this private module gives the other modules of the package
# `Loop` and `peephole_name` (the step loop, shared with lstm_apps.layers.LSTM),
# and what the LSTM family shares with the xLSTM and min-RNN cells: `CellMixin`
# (with `DropoutMixin`), the constructors' checks (`check_units`, `check_rate`,
# `get_object`, `set_weight_options`, `recurrent_dropout_error`), `build`'s
# `add_weight_with_options` and `add_input_weights`, and `get_config`'s
# `weight_options_config`.

#: The names a gate can be given by, in `gate_clamp` and
#: `lstm_apps.gates.clamp_gates`: each maps to the gate's letter.
GATE_ALIASES: dict[str, str] = {
    "i": "i",
    "input": "i",
    "input_gate": "i",
    "f": "f",
    "forget": "f",
    "forget_gate": "f",
    "o": "o",
    "output": "o",
    "output_gate": "o",
}

_GATE_ORDER = ("i", "f", "c", "o")


@dataclasses.dataclass(frozen=True)
class GateSpec:
    """The structure of an LSTM cell.

    Args:
        input_gate: whether the cell computes an input gate from its own
            weights. `False` with `coupled=False` means i = 1 (Greff's NIG).
        forget_gate: whether the cell has a forget gate (False: f = 1, NFG).
        output_gate: whether the cell has an output gate (False: o = 1, NOG).
        coupled: input gate tied to the forget gate, i = 1 - f (CIFG).
        peepholes: the gates, among "i", "f", "o", that see the cell state.
        input_activation: apply `activation` to the block input (False: NIAF).
        output_activation: apply `activation` to the cell state before the
            output gate (False: NOAF).
        gate_recurrence: the gates receive the previous step's gate values
            through a full (3u, 3u) matrix (FGR).
    """

    input_gate: bool = True
    forget_gate: bool = True
    output_gate: bool = True
    coupled: bool = False
    peepholes: tuple[str, ...] = ()
    input_activation: bool = True
    output_activation: bool = True
    gate_recurrence: bool = False

    def __post_init__(self) -> None:
        if self.coupled and (self.input_gate or not self.forget_gate):
            raise ValueError(
                f"A coupled GateSpec needs `input_gate=False` and `forget_gate=True`, got {self}."
            )
        for gate in self.peepholes:
            if gate not in ("i", "f", "o"):
                raise ValueError(
                    "GateSpec `peepholes` must name gates among 'i', 'f', "
                    f"'o', got {self.peepholes!r}."
                )
            if not self.has_gate(gate) or (gate == "i" and self.coupled):
                raise ValueError(
                    f"GateSpec `peepholes` names gate {gate!r}, which this "
                    f"cell does not compute: {self}."
                )

    def has_gate(self, gate: str) -> bool:
        """Whether gate `gate` ("i", "f", "o") is present (computed or coupled)."""
        return {
            "i": self.input_gate or self.coupled,
            "f": self.forget_gate,
            "o": self.output_gate,
            "c": True,
        }[gate]

    @functools.cached_property  # read at every step of an eager (torch) loop
    def blocks(self) -> tuple[str, ...]:
        """Gate blocks of the fused kernels, in order (subset of i, f, c, o)."""
        return tuple(
            g
            for g in _GATE_ORDER
            if g == "c"
            or (g == "i" and self.input_gate)
            or (g == "f" and self.forget_gate)
            or (g == "o" and self.output_gate)
        )

    @functools.cached_property
    def recurrent_gates(self) -> tuple[str, ...]:
        """Gates fed back by full gate recurrence (present sigmoid gates)."""
        return tuple(g for g in ("i", "f", "o") if g in self.blocks)


@dataclasses.dataclass(frozen=True)
class Loop:
    """How `lstm_apps.layers.LSTM` runs its cell for one time loop.

    Normal layout: step tensors are `(batch, n)`, as in any Keras cell.
    `projected`: the step inputs already went through `project_inputs`.
    `steps` > 1: each call runs that many consecutive time steps (see
    `LSTMCellBase._call_chunk`).

    Feature-major layout (`feature_major=True`): every step tensor is
    transposed, `(n, batch)`, one time step per call. The weights are given
    transposed, and the bias and the input dropout mask broadcast or
    transposed to `(n, batch)`.

    Both: `peepholes` are the peephole vectors, in `spec.peepholes` order,
    side by side and broadcast to the batch; `masked`: each step's input
    ends with its mask (see `_keep_masked`). In the normal layout the
    recurrent kernels, when given, are the cell's own as tensors (converted
    once per sequence instead of once per step: on the torch backend each
    use of a variable in an op costs a Python-level conversion), multiplied
    with the tensors' own `@`; `activations`, when given, is the pair
    `(recurrent_activation, activation)` to use instead of the cell's (the
    backend's own functions for the same activations), and `split`, when
    given, the backend's own `split(x, n, axis)` instead of `ops.split`.
    """

    feature_major: bool = False
    projected: bool = False
    peepholes: Any = None
    steps: int = 1
    sequences: bool = False
    backwards: bool = False
    masked: bool = False
    zero_output_for_mask: bool = False
    kernel: Any = None
    recurrent_kernel: Any = None
    gate_recurrent_kernel: Any = None
    bias: Any = None
    input_mask: Any = None
    recurrent_mask: Any = None
    activations: Any = None
    split: Any = None


# Keras caches one dropout mask per sequence for cells that derive from its
# (private) `DropoutRNNCell` mix-in: `keras.layers.RNN` fills the cache before
# its loop and clears it after. We take the class from the public
# `keras.layers.LSTMCell`'s MRO rather than importing `keras.src`, so our cells
# get the same treatment from every Keras RNN wrapper (RNN, Bidirectional,
# StackedRNNCells). If a Keras release ever renames it, our own equivalent is
# used, and `lstm_apps.layers.LSTM` still fills the cache itself.
def _keras_dropout_mixin() -> type:
    for klass in keras.layers.LSTMCell.__mro__:
        if klass.__name__ == "DropoutRNNCell":
            return klass
    return _DropoutMaskCache


class _DropoutMaskCache:
    """Fallback dropout-mask cache (same protocol as Keras's mix-in)."""

    def _create_dropout_mask(self, step_input, rate):
        return keras.random.dropout(ops.ones_like(step_input), rate=rate, seed=self.seed_generator)

    def get_dropout_mask(self, step_input):
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input):
        if getattr(self, "_recurrent_dropout_mask", None) is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._create_dropout_mask(
                step_input, self.recurrent_dropout
            )
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None


DropoutMixin = _keras_dropout_mixin()


def check_units(units: Any) -> int:
    return check_int("units", units, 1, expected="a positive integer")


def check_rate(name: str, value: Any) -> float:
    return check_real(name, value, 0.0, 1.0, high_open=True, expected="a float in [0, 1)")


def get_object(module: Any, name: str, value: Any) -> Any:
    """`module.get(value)` with an error message that names the argument."""
    try:
        return module.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a "
            f"name or instance known to `keras.{module.__name__.split('.')[-1]}`, "
            f"got {value!r}. ({error})"
        ) from None


#: The options of a weight, with the Keras module that resolves each.
_OPTION_KINDS = (
    ("initializer", keras.initializers),
    ("regularizer", keras.regularizers),
    ("constraint", keras.constraints),
)


def set_weight_options(cell: Any, **options: tuple[Any, Any, Any]) -> None:
    """Resolves the initializer, regularizer and constraint of each weight.

    Sets the attributes `<weight>_initializer`, `<weight>_regularizer` and
    `<weight>_constraint` of `cell` for every keyword `<weight>`: the
    initializers first, then the regularizers, then the constraints, each
    in the order of the keywords (which fixes the argument named when
    several are invalid).

    Args:
        cell: The cell being constructed.
        **options: By weight (`kernel`, `recurrent`, `bias`, ...), the
            constructor's `(initializer, regularizer, constraint)` arguments:
            names, instances, configs or `None`.

    Raises:
        ValueError: An argument Keras cannot resolve (see `get_object`).
    """
    for position, (kind, module) in enumerate(_OPTION_KINDS):
        for weight, values in options.items():
            name = f"{weight}_{kind}"
            setattr(cell, name, get_object(module, name, values[position]))


def weight_options_config(
    cell: Any, weights: Sequence[str], **after_initializers: Any
) -> dict[str, Any]:
    """The `get_config` entries of the options `set_weight_options` set.

    Args:
        cell: The cell.
        weights: The weights whose options to serialise, in order
            (`"kernel"`, `"recurrent"`, ...).
        **after_initializers: Config entries to place after the
            initializers, where `keras.layers.LSTMCell.get_config` has
            `unit_forget_bias`.

    Returns:
        The serialised initializers, then `after_initializers`, then the
        regularizers, then the constraints, under the constructor's
        argument names (`"kernel_initializer"`, ...).
    """
    serialize = keras.saving.serialize_keras_object
    config: dict[str, Any] = {}
    for kind, _ in _OPTION_KINDS:
        for weight in weights:
            config[f"{weight}_{kind}"] = serialize(getattr(cell, f"{weight}_{kind}"))
        if kind == "initializer":
            config.update(after_initializers)
    return config


def add_weight_with_options(
    cell: Any,
    weight: str,
    shape: tuple[Any, ...],
    name: str | None = None,
    initializer: Any = None,
) -> Any:
    """`cell.add_weight` with the options of `weight` (see `set_weight_options`).

    Args:
        cell: The cell being built.
        weight: Whose options: `"kernel"`, `"recurrent"`, `"bias"`, ...
        shape: The variable's shape.
        name: The variable's name. Default: `weight`.
        initializer: Used instead of the cell's `<weight>_initializer` (a
            bias initializer that sets the forget gate's part, say).

    Returns:
        The new variable.
    """
    return cell.add_weight(
        shape=shape,
        name=weight if name is None else name,
        initializer=getattr(cell, f"{weight}_initializer") if initializer is None else initializer,
        regularizer=getattr(cell, f"{weight}_regularizer"),
        constraint=getattr(cell, f"{weight}_constraint"),
    )


def add_input_weights(
    cell: Any, input_shape: Sequence[int | None], width: int, bias_initializer: Any
) -> None:
    """Adds a fused input projection: `cell.kernel` and `cell.bias`.

    Args:
        cell: The cell being built, with `use_bias` and the options of
            `"kernel"` and `"bias"` (see `set_weight_options`).
        input_shape: The step input shape, `(batch, features)`.
        width: The projection's width, the kernel's number of columns.
        bias_initializer: The initializer of the bias `(width,)`; without
            `use_bias`, `cell.bias` is `None`.

    Raises:
        ValueError: A step input that is not `(batch, features)` with a
            known number of features.
    """
    if len(input_shape) != 2 or input_shape[-1] is None:
        raise ValueError(
            f"{type(cell).__name__} expects step inputs (batch, features) with a "
            f"known feature dimension, received step input shape {tuple(input_shape)}."
        )
    cell.kernel = add_weight_with_options(cell, "kernel", (input_shape[-1], width))
    cell.bias = None
    if cell.use_bias:
        cell.bias = add_weight_with_options(cell, "bias", (width,), initializer=bias_initializer)


def recurrent_dropout_error(cell: Any, value: Any) -> ValueError:
    """The error for a `recurrent_dropout` other than 0 given to `cell`, a
    cell without recurrent weights."""
    return ValueError(
        invalid_message(
            "recurrent_dropout",
            f"0 ({type(cell).__name__} has no recurrent weights to drop)",
            value,
        )
    )


class CellMixin(DropoutMixin):
    """What every lstm_apps cell has: Keras's dropout masks, the input
    projection and zero initial states.

    For a `keras.layers.Layer` with a fused input `kernel` `(features,
    width)`, `use_bias` and `bias` `(width,)`, `dropout`, `recurrent_dropout`,
    `seed_generator` and `state_size`.
    """

    def project_inputs(self, inputs: Any, training: bool = False) -> Any:
        """`dropout(x) W + b` for one step `(batch, features)` or a sequence
        `(batch, time, features)` (one dropout mask per sequence)."""
        return self._project_inputs(inputs, training, with_bias=True)

    def _project_inputs(self, inputs: Any, training: bool, with_bias: bool) -> Any:
        if training and 0.0 < self.dropout < 1.0:
            mask = self.get_dropout_mask(inputs if len(inputs.shape) == 2 else inputs[:, 0])
            if len(inputs.shape) == 3:
                mask = ops.expand_dims(mask, 1)
            inputs = inputs * mask
        if len(inputs.shape) == 3:
            # A 2-D matmul over (batch * time) rows: a broadcasting 3-D
            # matmul is several times slower on some backends' CPU kernels.
            shape = ops.shape(inputs)
            flat = ops.reshape(inputs, (-1, shape[-1]))
            z = ops.matmul(flat, self.kernel)
            if self.use_bias and with_bias:
                z = ops.add(z, self.bias)
            return ops.reshape(z, (shape[0], shape[1], ops.shape(z)[-1]))
        z = ops.matmul(inputs, self.kernel)
        if self.use_bias and with_bias:
            z = ops.add(z, self.bias)
        return z

    def get_initial_state(self, batch_size: Any = None) -> list[Any]:
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]


def peephole_name(gate: str) -> str:
    return {"i": "input", "f": "forget", "o": "output"}[gate] + "_gate_peephole_weights"


def _keep_masked(
    keep: Any, h: Any, new_states: list[Any], states: Sequence[Any], loop: Loop
) -> tuple[Any, list[Any]]:
    """A step whose mask `keep` is False keeps the previous states and
    outputs the h state (zeros with `zero_output_for_mask`), as Keras's loop
    does when the initial h is zero."""
    new_states = [ops.where(keep, n, o) for n, o in zip(new_states, states)]
    if loop.zero_output_for_mask:
        return ops.where(keep, h, ops.zeros_like(h)), new_states
    return new_states[0], new_states


def check_gate_clamp(
    gate_clamp: Any,
    spec: GateSpec | None = None,
    argument: str = "gate_clamp",
) -> dict[str, float] | None:
    """Checks a gate clamp: gate name -> constant value in [0, 1].

    Args:
        gate_clamp: `None`, or a mapping from gate names (`"i"`, `"f"`,
            `"o"`, or `"input"`, `"forget"`, `"output"`, or
            `"input_gate"`, ...) to the constant each gate is held at.
        spec: The `GateSpec` of the cell; when given, a gate the cell does
            not compute (or, for the coupled cell, the input gate 1 - f) is
            rejected.
        argument: The argument named in error messages.

    Returns:
        The clamp by gate letter (`{"f": 1.0}`), or `None` for `None` or an
        empty mapping.

    Raises:
        ValueError: an unknown or absent gate, or a value outside [0, 1].

    Example:

    >>> from lstm_apps.cells import check_gate_clamp
    >>> check_gate_clamp({"forget": 1, "output_gate": 0.5})
    {'f': 1.0, 'o': 0.5}
    >>> check_gate_clamp({"cell": 0.0})
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid gate name 'cell' in argument `gate_clamp`, expected ...
    """
    if gate_clamp is None:
        return None
    if not isinstance(gate_clamp, Mapping):
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected None or a "
            f"mapping from gate names to values in [0, 1], got {gate_clamp!r}."
        )
    out: dict[str, float] = {}
    for name, value in gate_clamp.items():
        key = GATE_ALIASES.get(name.lower()) if isinstance(name, str) else None
        if key is None:
            raise ValueError(
                f"Received an invalid gate name {name!r} in argument `{argument}`, "
                f"expected one of {list(GATE_ALIASES)}."
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(float(value))
            or not 0.0 <= float(value) <= 1.0
        ):
            raise ValueError(
                f"Received an invalid value for gate {name!r} in argument `{argument}`, "
                f"expected a number in [0, 1] (gates are sigmoids), got {value!r}."
            )
        if key in out:
            raise ValueError(
                f"Received gate {key!r} twice in argument `{argument}` ({gate_clamp!r})."
            )
        if spec is not None:
            if key == "i" and spec.coupled:
                raise ValueError(
                    f"Received gate {name!r} in argument `{argument}`, but this cell's "
                    "input gate is computed as 1 - f (coupled); clamp the forget gate "
                    "instead (input 0 is forget 1)."
                )
            if not spec.has_gate(key):
                raise ValueError(
                    f"Received gate {name!r} in argument `{argument}`, but this cell "
                    f"has no such gate (it uses the constant 1): {spec}."
                )
        out[key] = float(value)
    return out or None


def _check_clamp_units(
    units: Any, n_units: int, argument: str = "gate_clamp_units"
) -> list[int] | None:
    if units is None:
        return None
    if isinstance(units, (int, np.integer)) and not isinstance(units, bool):
        units = [units]
    if (
        not isinstance(units, (list, tuple, np.ndarray))
        or len(units) == 0
        or not all(
            isinstance(u, (int, np.integer)) and not isinstance(u, bool) and 0 <= u < n_units
            for u in units
        )
    ):
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected None or a "
            f"non-empty list of unit indices in [0, {n_units - 1}], got {units!r}."
        )
    return sorted({int(u) for u in units})


class LSTMCellBase(CellMixin, keras.layers.Layer):
    """Base class of every lstm_apps cell; configured by a `GateSpec`.

    Subclasses fix the spec; users normally create `StandardLSTMCell`,
    `PeepholeLSTMCell`, `CoupledLSTMCell` or `VariantLSTMCell`. The arguments
    are those of `keras.layers.LSTMCell`, with the same defaults and meaning,
    plus `peephole_initializer`, `peephole_regularizer` and
    `peephole_constraint` for cells with peepholes.

    Dropout: one input mask and one recurrent mask per sequence, fixed across
    time steps and shared by all gates (as `keras.layers.LSTMCell` does with
    `implementation=2`).

    Two arguments beyond Keras's, for cells with a forget gate:

    - `chrono_t_max`: chrono initialisation (Tallec & Ollivier 2018, see
      `lstm_apps.cells.ChronoInitializer`): the forget bias starts at
      log(U(1, chrono_t_max - 1)) per unit and the input bias (if the cell
      has its own input gate) at its negative, so the units' initial memory
      timescales 1 / (1 - f) spread over [2, chrono_t_max]. It replaces
      `unit_forget_bias` and `bias_initializer` for those two blocks; the
      draw uses `seed`. Needs `use_bias=True` and a forget gate (Greff's
      NFG has none: rejected).
    - `gate_clamp` (with `gate_clamp_units`): gates held at constants, for
      ablating a gate of a trained model (see `lstm_apps.gates.clamp_gates`):
      `{"f": 1.0}` holds the forget gate at 1 in every unit (or in the units
      of `gate_clamp_units`). The weights are unchanged; only the step's
      arithmetic is. Gates the cell does not compute cannot be clamped; for
      the coupled cell clamp "f" (its i = 1 - f follows).
    """

    _spec: GateSpec = GateSpec()

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        peephole_initializer: Any = "glorot_uniform",
        peephole_regularizer: Any = None,
        peephole_constraint: Any = None,
        chrono_t_max: int | None = None,
        gate_clamp: Mapping[str, float] | None = None,
        gate_clamp_units: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        self.units = check_units(units)
        self.chrono_t_max = check_chrono_t_max(chrono_t_max)
        if self.chrono_t_max is not None and not self._spec.forget_gate:
            raise ValueError(
                "Received an invalid value for argument `chrono_t_max`: chrono "
                "initialisation sets the forget-gate bias, and this cell has no forget "
                f"gate ({self._spec}); expected None, got {chrono_t_max!r}."
            )
        if self.chrono_t_max is not None and not use_bias:
            raise ValueError(
                "Received an invalid value for argument `chrono_t_max`: chrono "
                "initialisation sets the gate biases, and `use_bias=False`; expected "
                f"None, got {chrono_t_max!r}."
            )
        self.gate_clamp = check_gate_clamp(gate_clamp, self._spec)
        self.gate_clamp_units = _check_clamp_units(gate_clamp_units, self.units)
        if self.gate_clamp_units is not None and self.gate_clamp is None:
            raise ValueError(
                "Received argument `gate_clamp_units` without `gate_clamp`: expected "
                f"`gate_clamp_units=None` when no gate is clamped, got {gate_clamp_units!r}."
            )
        self._clamp_mask = None
        if self.gate_clamp_units is not None:
            mask = np.zeros((self.units,), dtype=bool)
            mask[self.gate_clamp_units] = True
            self._clamp_mask = mask
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(
                "Received an invalid value for argument `seed`, expected an "
                f"integer or None, got {seed!r}."
            )
        act = keras.activations
        self.activation = get_object(act, "activation", activation)
        self.recurrent_activation = get_object(act, "recurrent_activation", recurrent_activation)
        set_weight_options(
            self,
            kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
            recurrent=(recurrent_initializer, recurrent_regularizer, recurrent_constraint),
            bias=(bias_initializer, bias_regularizer, bias_constraint),
            peephole=(peephole_initializer, peephole_regularizer, peephole_constraint),
        )
        super().__init__(**kwargs)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        spec = self._spec
        self.state_size = [self.units, self.units]
        if spec.gate_recurrence:
            self.state_size.append(self.units * len(spec.recurrent_gates))
        self.output_size = self.units
        # Set by `lstm_apps.layers.LSTM` for the duration of its time loop.
        self._loop: Loop | None = None

    # ------------------------------------------------------------------ build
    @property
    def spec(self) -> GateSpec:
        """The `GateSpec` describing this cell's structure."""
        return self._spec

    @property
    def num_blocks(self) -> int:
        """Number of gate blocks in `kernel` (4 for a standard LSTM)."""
        return len(self._spec.blocks)

    def build(self, input_shape: Sequence[int | None]) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects the input of its RNN layer to "
                "be 3-D (batch, timesteps, features), i.e. 2-D step inputs "
                f"(batch, features); received step input shape "
                f"{tuple(input_shape)}."
            )
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{type(self).__name__} needs the last (feature) dimension of "
                f"its input to be known, received shape {tuple(input_shape)}."
            )
        units, n = self.units, self.num_blocks
        self.kernel = add_weight_with_options(self, "kernel", (input_dim, n * units))
        self.recurrent_kernel = add_weight_with_options(
            self, "recurrent", (units, n * units), name="recurrent_kernel"
        )
        if self.use_bias:
            bias_initializer = self.bias_initializer
            if self.chrono_t_max is not None:
                blocks = self._spec.blocks
                base = self.bias_initializer
                chrono = ChronoInitializer(self.chrono_t_max, blocks=blocks, seed=self.seed)

                def bias_initializer(shape, dtype=None):
                    forget = chrono.forget_bias(units, dtype=dtype)
                    parts = [base((units,), dtype=dtype) for _ in blocks]
                    parts[blocks.index("f")] = forget
                    if "i" in blocks:
                        parts[blocks.index("i")] = -forget
                    return ops.concatenate(parts)

            elif self.unit_forget_bias and self._spec.forget_gate:
                forget_index = self._spec.blocks.index("f")
                base = self.bias_initializer

                def bias_initializer(shape, dtype=None):
                    parts = [base((units,), dtype=dtype) for _ in range(n)]
                    parts[forget_index] = ops.ones((units,), dtype=dtype)
                    return ops.concatenate(parts)

            self.bias = add_weight_with_options(
                self, "bias", (n * units,), initializer=bias_initializer
            )
        else:
            self.bias = None
        for gate in self._spec.peepholes:
            name = peephole_name(gate)
            setattr(self, name, add_weight_with_options(self, "peephole", (units,), name=name))
        if self._spec.gate_recurrence:
            k = len(self._spec.recurrent_gates) * units
            self.gate_recurrent_kernel = add_weight_with_options(
                self, "recurrent", (k, k), name="gate_recurrent_kernel"
            )
        self.built = True

    # ------------------------------------------------------------------- call
    def project_inputs(self, inputs: Any, training: bool = False, with_bias: bool = True) -> Any:
        """Input half of the gate pre-activations, `dropout(x) W + b`.

        Works on a single step `(batch, features)` or on a whole sequence
        `(batch, time, features)` at once; the dropout mask is the cached one,
        so it is the same for every step of a sequence. With
        `with_bias=False` the bias is left out (`step(..., add_bias=True)`
        then adds it).
        """
        return self._project_inputs(inputs, training, with_bias)

    def step(
        self,
        z_x: Any,
        states: Sequence[Any],
        training: bool = False,
        with_gates: bool = True,
        add_bias: bool = False,
    ) -> tuple[Any, list[Any], dict[str, Any]]:
        """One time step from the input pre-activations `z_x`.

        Args:
            z_x: `project_inputs` of this step's input, `(batch, blocks*units)`.
            states: the previous states `[h, c]` (plus previous gate values
                for full gate recurrence).
            training: whether recurrent dropout is active.
            with_gates: whether `gates` must hold every gate; when `False`
                (the training/inference path) values the step does not need
                otherwise, such as the coupled cell's `1 - f`, are skipped.
            add_bias: whether `z_x` was projected without the bias
                (`project_inputs(..., with_bias=False)`), which the step then
                adds after the recurrent term.

        Returns:
            `(h, new_states, gates)`, where `gates` maps "i", "f", "o", "g"
            to the step's gate values (absent gates are left out; the coupled
            cell's "i" is 1 - f).
        """
        return self._step(z_x, states, training, with_gates, add_bias, None)

    def _step(
        self,
        z_x: Any,
        states: Sequence[Any],
        training: bool,
        with_gates: bool,
        add_bias: bool,
        loop: Loop | None,
    ) -> tuple[Any, list[Any], dict[str, Any]]:
        """`step`, in the layout of `loop` (the normal one when `None`)."""
        spec = self._spec
        feature_major = loop is not None and loop.feature_major
        axis = 0 if feature_major else -1
        h_tm1, c_tm1 = states[0], states[1]
        if training and 0.0 < self.recurrent_dropout < 1.0:
            if feature_major:
                h_tm1 = h_tm1 * loop.recurrent_mask
            else:
                h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        if feature_major:
            z = z_x + ops.matmul(loop.recurrent_kernel, h_tm1)
        else:
            if loop is not None and loop.recurrent_kernel is not None:
                z = z_x + h_tm1 @ loop.recurrent_kernel  # the backend's own matmul
            else:
                z = z_x + ops.matmul(h_tm1, self.recurrent_kernel)
            if add_bias and self.use_bias:
                z = ops.add(z, self.bias)
        blocks = spec.blocks
        split = loop.split if loop is not None and loop.split is not None else ops.split
        zs = dict(zip(blocks, split(z, len(blocks), axis=axis)))
        if spec.gate_recurrence:
            rec = spec.recurrent_gates
            if feature_major:
                a = ops.matmul(loop.gate_recurrent_kernel, states[2])
            else:
                if loop is not None and loop.gate_recurrent_kernel is not None:
                    a = states[2] @ loop.gate_recurrent_kernel
                else:
                    a = ops.matmul(states[2], self.gate_recurrent_kernel)
            for gate, part in zip(rec, split(a, len(rec), axis=axis)):
                zs[gate] = zs[gate] + part
        peepholes = self._step_peepholes(loop)
        sig, act = self.recurrent_activation, self.activation
        if loop is not None and loop.activations is not None:
            sig, act = loop.activations
        gates: dict[str, Any] = {}
        # One small op per term: on TensorFlow's CPU while_loop each op costs
        # a few microseconds of dispatch whatever its size, so fusing the i/f
        # peepholes into one 2u-wide multiply-add (concat, add, split) was
        # measured slower than this plain form.
        for gate in ("i", "f"):
            if gate in zs:
                pre = zs[gate]
                if gate in spec.peepholes:
                    pre = pre + c_tm1 * peepholes[gate]
                gates[gate] = sig(pre)
        clamp = self.gate_clamp
        if clamp is not None:
            for gate in ("i", "f"):
                if gate in clamp and gate in gates:
                    gates[gate] = self._clamped(gates[gate], clamp[gate], feature_major)
        z_g, z_o = zs["c"], zs.get("o")
        g = act(z_g) if spec.input_activation else z_g
        gates["g"] = g
        if spec.coupled:
            # f c + (1 - f) g, written with one op fewer.
            f = gates["f"]
            c = g + f * (c_tm1 - g)
            if with_gates or "i" in spec.recurrent_gates:
                gates["i"] = 1.0 - f
        else:
            f_c = gates["f"] * c_tm1 if "f" in gates else c_tm1
            c = f_c + gates["i"] * g if "i" in gates else f_c + g
        if z_o is not None:
            if "o" in spec.peepholes:
                z_o = z_o + c * peepholes["o"]
            gates["o"] = sig(z_o)
            if clamp is not None and "o" in clamp:
                gates["o"] = self._clamped(gates["o"], clamp["o"], feature_major)
        out_c = act(c) if spec.output_activation else c
        h = gates["o"] * out_c if "o" in gates else out_c
        new_states = [h, c]
        if spec.gate_recurrence:
            new_states.append(
                ops.concatenate([gates[g_] for g_ in spec.recurrent_gates], axis=axis)
            )
        return h, new_states, gates

    def _clamped(self, gate: Any, value: float, feature_major: bool) -> Any:
        """`gate` held at `value` (in the units of `gate_clamp_units`, or all)."""
        held = ops.full_like(gate, value)
        if self._clamp_mask is None:
            return held
        mask = self._clamp_mask[:, None] if feature_major else self._clamp_mask
        return ops.where(ops.convert_to_tensor(mask), held, gate)

    def _step_peepholes(self, loop: Loop | None) -> dict[str, Any]:
        """The peephole weights by gate: the vectors themselves, or slices of
        the loop's broadcast `peepholes` (one split per step)."""
        gates = self._spec.peepholes
        if not gates:
            return {}
        if loop is None or loop.peepholes is None:
            return {gate: getattr(self, peephole_name(gate)) for gate in gates}
        axis = 0 if loop.feature_major else -1
        split = loop.split if loop.split is not None else ops.split
        return dict(zip(gates, split(loop.peepholes, len(gates), axis=axis)))

    def call(self, inputs: Any, states: Sequence[Any], training: bool = False):
        # On TensorFlow, leaner gradients for the step's products and sums
        # when the batch size is unknown at trace time (see `_tf_gradients`).
        with same_shape_gradients(active=training is True):
            return self._call(inputs, states, training)

    def _call(self, inputs: Any, states: Sequence[Any], training: bool) -> tuple[Any, list[Any]]:
        loop = self._loop
        if loop is not None and loop.feature_major:
            return self._call_feature_major(inputs, states, training, loop)
        if loop is not None and loop.steps > 1:
            return self._call_chunk(inputs, states, training, loop)
        if loop is not None and loop.projected:
            z_x, add_bias = inputs, False
        else:
            # The bias goes after the recurrent term, in the order of
            # `keras.layers.LSTMCell`: on TensorFlow's CPU loop this measured
            # 4-6% faster in training than adding it to `x W` first (W1).
            z_x = self.project_inputs(inputs, training=training, with_bias=False)
            add_bias = True
        h, new_states, _ = self._step(z_x, states, training, False, add_bias, loop)
        return h, new_states

    def _call_chunk(
        self, inputs: Any, states: Sequence[Any], training: bool, loop: Loop
    ) -> tuple[Any, list[Any]]:
        """`loop.steps` consecutive time steps; `inputs` is `(batch, steps * width)`.

        One input projection for the whole chunk, then `steps` recurrent
        steps. Returns the outputs side by side, in processing order,
        (`(batch, steps * units)`) when `loop.sequences`, else the last one.
        When `loop.masked`, the last of each step's `width` columns is its
        mask (see `_keep_masked`).
        """
        steps = loop.steps
        x = ops.reshape(inputs, (-1, steps, inputs.shape[-1] // steps))
        if loop.masked:
            step_masks = ops.unstack(x[:, :, -1:] > 0.5, steps, axis=1)
            x = x[:, :, :-1]
        z = ops.unstack(self.project_inputs(x, training=training), steps, axis=1)
        outputs = []
        for j in reversed(range(steps)) if loop.backwards else range(steps):
            h, new_states, _ = self._step(z[j], states, training, False, False, loop)
            if loop.masked:
                h, new_states = _keep_masked(step_masks[j], h, new_states, states, loop)
            states = new_states
            outputs.append(h)
        return (ops.concatenate(outputs, axis=-1) if loop.sequences else h), states

    def _call_feature_major(
        self, inputs: Any, states: Sequence[Any], training: bool, loop: Loop
    ) -> tuple[Any, list[Any]]:
        """One time step in the feature-major layout; `inputs` is `(width, batch)`.

        When `loop.masked`, the last of the `width` rows is the step's mask
        (see `_keep_masked`).
        """
        x = inputs
        if loop.masked:
            x, keep = ops.split(x, [x.shape[0] - 1], axis=0)
        if loop.input_mask is not None:
            x = x * loop.input_mask
        z_x = ops.matmul(loop.kernel, x)
        if loop.bias is not None:
            z_x = z_x + loop.bias
        h, new_states, _ = self._step(z_x, states, training, False, False, loop)
        if loop.masked:
            h, new_states = _keep_masked(keep > 0.5, h, new_states, states, loop)
        return h, new_states

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        weights = ("kernel", "recurrent", "bias")
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            **weight_options_config(self, weights, unit_forget_bias=self.unit_forget_bias),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "chrono_t_max": self.chrono_t_max,
            "gate_clamp": None if self.gate_clamp is None else dict(self.gate_clamp),
            "gate_clamp_units": self.gate_clamp_units,
        }
        if self._spec.peepholes or self._has_peephole_option():
            config.update(weight_options_config(self, ("peephole",)))
        return {**super().get_config(), **config}

    def _has_peephole_option(self) -> bool:
        return False
