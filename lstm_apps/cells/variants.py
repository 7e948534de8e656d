"""The eight LSTM ablations of Greff et al., "LSTM: A Search Space Odyssey".

Greff, Srivastava, Koutnik, Steunebrink & Schmidhuber (2017), IEEE TNNLS 28(10).
Their reference ("vanilla", V) is the peephole LSTM; each variant removes or
changes one part of it. All are the same code (`LSTMCellBase`) with a
different `GateSpec`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

from lstm_apps.cells._base import GateSpec, LSTMCellBase

__all__ = ["VARIANTS", "Variant", "VariantLSTMCell"]

_ALL = ("i", "f", "o")


@dataclasses.dataclass(frozen=True)
class Variant:
    """One named LSTM variant: its structure and a one-line description."""

    name: str
    spec: GateSpec
    summary: str
    equations: str


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant(
            "vanilla",
            GateSpec(peepholes=_ALL),
            "V: peephole LSTM, Greff et al.'s reference (same as PeepholeLSTMCell)",
            "i=s(zi+pi*c) f=s(zf+pf*c) g=tanh(zg) c'=f*c+i*g o=s(zo+po*c') h=o*tanh(c')",
        ),
        Variant(
            "nig",
            GateSpec(input_gate=False, peepholes=("f", "o")),
            "NIG: no input gate (i = 1)",
            "f=s(zf+pf*c) g=tanh(zg) c'=f*c+g o=s(zo+po*c') h=o*tanh(c')",
        ),
        Variant(
            "nfg",
            GateSpec(forget_gate=False, peepholes=("i", "o")),
            "NFG: no forget gate (f = 1)",
            "i=s(zi+pi*c) g=tanh(zg) c'=c+i*g o=s(zo+po*c') h=o*tanh(c')",
        ),
        Variant(
            "nog",
            GateSpec(output_gate=False, peepholes=("i", "f")),
            "NOG: no output gate (o = 1)",
            "i=s(zi+pi*c) f=s(zf+pf*c) g=tanh(zg) c'=f*c+i*g h=tanh(c')",
        ),
        Variant(
            "niaf",
            GateSpec(peepholes=_ALL, input_activation=False),
            "NIAF: no input activation function (g = z_g)",
            "i=s(zi+pi*c) f=s(zf+pf*c) g=zg c'=f*c+i*g o=s(zo+po*c') h=o*tanh(c')",
        ),
        Variant(
            "noaf",
            GateSpec(peepholes=_ALL, output_activation=False),
            "NOAF: no output activation function (h = o * c)",
            "i=s(zi+pi*c) f=s(zf+pf*c) g=tanh(zg) c'=f*c+i*g o=s(zo+po*c') h=o*c'",
        ),
        Variant(
            "np",
            GateSpec(),
            "NP: no peepholes (the standard LSTM, same as StandardLSTMCell)",
            "i=s(zi) f=s(zf) g=tanh(zg) c'=f*c+i*g o=s(zo) h=o*tanh(c')",
        ),
        Variant(
            "cifg",
            GateSpec(input_gate=False, coupled=True, peepholes=("f", "o")),
            "CIFG: coupled input and forget gate, i = 1 - f (with peepholes)",
            "f=s(zf+pf*c) i=1-f g=tanh(zg) c'=f*c+i*g o=s(zo+po*c') h=o*tanh(c')",
        ),
        Variant(
            "fgr",
            GateSpec(peepholes=_ALL, gate_recurrence=True),
            "FGR: full gate recurrence, gates also see all gates of step t-1",
            "a=[i,f,o]_(t-1); i=s(zi+pi*c+a Ri) f=s(zf+pf*c+a Rf) g=tanh(zg) "
            "c'=f*c+i*g o=s(zo+po*c'+a Ro) h=o*tanh(c')",
        ),
    ]
}


@keras.saving.register_keras_serializable(package="lstm_apps")
class VariantLSTMCell(LSTMCellBase):
    """An LSTM cell of Greff et al.'s study, chosen by name.

    Variants (z_x = x W + h R + b for gate x, s = sigmoid, c = c_{t-1}):

    - `"vanilla"` (V): the peephole LSTM (`PeepholeLSTMCell`).
    - `"nig"`: no input gate, i = 1.
    - `"nfg"`: no forget gate, f = 1.
    - `"nog"`: no output gate, o = 1, h = tanh(c').
    - `"niaf"`: no input activation function, g = z_g.
    - `"noaf"`: no output activation function, h = o * c'.
    - `"np"`: no peepholes, the standard LSTM (`StandardLSTMCell`).
    - `"cifg"`: coupled input and forget gate, i = 1 - f, with peepholes.
    - `"fgr"`: full gate recurrence: the gates also receive
      a = [i, f, o] of step t-1 through a `(3u, 3u)` weight
      `gate_recurrent_kernel`; a is carried as a third state, so
      `state_size` is `[units, units, 3 * units]`.

    The fused kernels hold only the blocks a variant has, in the order
    i, f, c, o (for example NIG: f, c, o). Peephole vectors keep the TF 2.x
    names (`input_gate_peephole_weights`, ...).

    Args:
        units: Positive integer, dimensionality of the output space.
        variant: One of `VARIANTS` (case-insensitive). Default: `"vanilla"`.
        **kwargs: The arguments of `keras.layers.LSTMCell` and the
            `peephole_*` arguments of `PeepholeLSTMCell`.
            `chrono_t_max` (chrono initialisation) is rejected by `"nfg"`,
            which has no forget gate; `gate_clamp` takes only the gates the
            variant computes (the forget gate for `"cifg"`, not i = 1 - f).

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h, c]` (and the previous gates for `"fgr"`).
        training: Whether dropout is applied.

    Returns:
        `(h, new_states)`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import VariantLSTMCell
    >>> cell = VariantLSTMCell(4, variant="nig")
    >>> tuple(keras.layers.RNN(cell)(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    >>> cell.spec.blocks
    ('f', 'c', 'o')
    """

    def __init__(self, units: int, variant: str = "vanilla", **kwargs: Any) -> None:
        key = variant.lower() if isinstance(variant, str) else variant
        if key not in VARIANTS:
            raise ValueError(
                "Received an invalid value for argument `variant`, expected "
                f"one of {sorted(VARIANTS)}, got {variant!r}."
            )
        self._spec = VARIANTS[key].spec
        super().__init__(units, **kwargs)
        self.variant = key

    def _has_peephole_option(self) -> bool:
        return True

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "variant": self.variant}
