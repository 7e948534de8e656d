"""Gate traces: what the gates of an LSTM do, step by step.

`trace_gates(model, inputs)` returns, for every LSTM layer of a model, the
input gate i, forget gate f, output gate o, block input (candidate) g, cell
state c and hidden state h at every time step, each as a NumPy array
`(batch, time, units)`. It covers every lstm_apps cell and variant, plain
`keras.layers.LSTM` layers (and `keras.layers.RNN(keras.layers.LSTMCell)`),
stacked layers, both directions of `keras.layers.Bidirectional` and layers
inside nested models. The cells beyond the LSTM family are traced in the
same terms: the sLSTM and mLSTM with their stabilised exponential gates i'
and f', normaliser n and stabiliser m (the mLSTM's per-head values given to
each unit of the head), the minLSTM with its normalised gates f' and i', the
minGRU with its update gate z as i and 1 - z as f (see `LayerTrace`).

How it works: the model runs once, as it is, on `inputs`; each traced layer's
`call` is wrapped for that one run so that the arguments it receives (the
input sequence, the mask, the initial state) also go through a *twin*: a
`keras.layers.RNN` over a small cell that calls the layer's own cell step
(`LSTMCellBase.step`, and the `step` of the sLSTM, mLSTM, minLSTM and minGRU
cells, which return the gates) and emits the concatenation of the gates, c
and h. The twin reads the layer's own weights (for a Keras `LSTMCell`, a
`StandardLSTMCell` that points at the same variables), runs in the backend's
own loop with the same mask, `go_backwards` and initial state, and so its h
equals the layer's output (for a layer that runs a cell's parallel form,
`ScanRNN`, up to float rounding: that form is the same recurrence). The
wrapper is removed as soon as the run ends (also on error); no weight or
state of the model changes (states of stateful layers are put back). Random
states are put back too: Keras RNN layers draw their dropout masks from their
cells' `keras.random.SeedGenerator` on every call, even in inference mode, so
the state of every seed generator of the model is saved before the run and
restored after it (on PyTorch also torch's global random state, which Keras's
dropout uses for generators made without a seed); a training run with a
`GateMonitor` then draws the same dropout masks as one without.

Memory: `GateTrace.timescales()` gives every unit's memory timescale
1 / (1 - f) and half-life ln 0.5 / ln f from its mean forget activation f
(`memory_timescales`); `summary()` gives their medians on the forget-gate
row and `to_dataframe(timescales=True)` per row.

Ablation: `clamp_gates(model, {"forget": 1.0})` returns a twin of a trained
model with chosen gates of chosen layers (and units) held at constants, the
original untouched, to measure what a gate contributes with `evaluate`.

`GateProbe` is a fixed probe batch, checked once and traced repeatedly (what
`lstm_apps.GateMonitor` uses); `gate_statistics` the statistics it writes.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from lstm_apps.cells import (
    GateSpec,
    LSTMCellBase,
    MinGRUCell,
    MinLSTMCell,
    MLSTMCell,
    SLSTMCell,
    StandardLSTMCell,
    check_gate_clamp,
)

__all__ = [
    "CONSTANT_TOLERANCE",
    "GATE_NAMES",
    "SATURATION",
    "GateProbe",
    "GateTrace",
    "LayerTrace",
    "clamp_gates",
    "gate_statistics",
    "is_traceable",
    "memory_timescales",
    "trace_gates",
]

logger = logging.getLogger(__name__)

#: Every quantity a trace can hold, in order, with its long name.
GATE_NAMES: dict[str, str] = {
    "i": "input_gate",
    "f": "forget_gate",
    "o": "output_gate",
    "g": "candidate",
    "c": "cell_state",
    "h": "hidden_state",
}

_GATES = ("i", "f", "o", "g")
#: Saturation thresholds `(low, high)` by quantity: sigmoid gates live in
#: (0, 1), tanh quantities in (-1, 1); the cell state is unbounded and has none.
SATURATION: dict[str, tuple[float, float]] = {
    "i": (0.1, 0.9),
    "f": (0.1, 0.9),
    "o": (0.1, 0.9),
    "g": (-0.9, 0.9),
    "h": (-0.9, 0.9),
}
#: Largest spread (max - min) of a unit's output h over a trace that counts as
#: constant (a dead unit), for `LayerTrace.stuck_units`.
CONSTANT_TOLERANCE = 1e-3
_ABSENT_VALUE = {"i": 1.0, "f": 1.0, "o": 1.0}
_MISSING = object()


# --------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True, eq=False)
class LayerTrace:
    """The trace of one direction of one LSTM layer.

    Attributes:
        layer: Name of the layer as the model shows it (for a
            `Bidirectional`, the wrapper's name, for both directions; inside
            a nested model, `"submodel/layer"`).
        direction: `"forward"`, or `"backward"` for the backward half of a
            `Bidirectional` and for a layer with `go_backwards=True`.
        cell: The cell: an lstm_apps cell name from `lstm_apps.cells.names()`
            (`"slstm"`, `"mlstm"`, `"minlstm"`, `"mingru"` for the cells
            beyond the LSTM family) or `"keras_lstm"` for a
            `keras.layers.LSTMCell`.
        units: Number of units.
        values: `"i"`, `"f"`, `"o"`, `"g"`, `"c"`, `"h"` -> float32 array
            `(batch, time, units)`, in the time order of the *input*, also for
            a layer that reads it backwards. Steps that the mask skipped hold
            NaN. Gates the cell does not have are not in it. Every value is
            recomputed from the layer's own weights, and "h" is the layer's
            output. The cells beyond the LSTM family:

            - sLSTM: "i" and "f" are the stabilised exponential gates i' and
              f' (in (0, 1] from the second step on; the raw input gate is
              i' * exp(m)), and the values also hold the normaliser `"n"`
              and the stabiliser `"m"` (h = o * c / n).
            - mLSTM: i', f', n and m are one per head; each head's value is
              given to each of its units (head k: units k*d to (k+1)*d - 1,
              d = units // num_heads), so the units of a head share them.
              "i" and "f" are the stabilised gates i' and f', "o" the output
              gate (per unit), "g" the value v_t (row j of a head's matrix
              memory C gets i' v_j k_t), `"c"` the memory's read-out C_t q_t
              (row j read with the query; the (d x d) matrix C_t itself has
              no per-unit form and is not traced), `"n"` the denominator
              that divides it, max(|n_t . q_t|, exp(-m_t)) + 1e-6 (the
              normaliser vector n_t runs over key dimensions, not units,
              and is not traced), and `"m"` the stabiliser m_t; so that
              h = o * c / n, as for the sLSTM.
            - minLSTM: h_t = f'_t h_{t-1} + i'_t g_t; "f" and "i" are the
              normalised gates f' = f / (f + i) and i' = i / (f + i) (so
              f' + i' = 1), "g" the candidate h~ = act(x W_h + b_h). No
              output gate ("o" absent: 1.0) and no state beside h: the state
              recurs as an LSTM cell state does and is the output, so "c" and
              "h" hold the same values.
            - minGRU: h_t = (1 - z_t) h_{t-1} + z_t g_t; "i" is the update
              gate z, "f" the keep gate 1 - z (computed: `{"f": "1 - i"}`),
              "g" the candidate; "o" absent and "c" = "h", as for the
              minLSTM.

            The candidates of the minLSTM and minGRU (identity activation by
            default) and the mLSTM's v are not bounded as tanh is, nor are
            their outputs h: for them the "saturated" fractions of g and h
            (`summary`, `GateMonitor`) count values beyond -0.9 and 0.9.
        mask: Bool array `(batch, time)`: `True` where the layer processed the
            step, `False` where the mask skipped it.
        absent: Gates the cell does not have, with the constant the cell uses
            in their place (`{"i": 1.0}` for Greff et al.'s NIG, `{"o": 1.0}`
            for the minLSTM and minGRU).
        computed: Gates the cell derives instead of learning, with the
            formula (`{"i": "1 - f"}` for the coupled cells, `{"f": "1 - i"}`
            for the minGRU).
        go_backwards: Whether the layer reads the sequence backwards.
    """

    layer: str
    direction: str
    cell: str
    units: int
    values: Mapping[str, np.ndarray]
    mask: np.ndarray
    absent: Mapping[str, float]
    computed: Mapping[str, str]
    go_backwards: bool = False

    def __getitem__(self, gate: str) -> np.ndarray:
        if gate in self.values:
            return self.values[gate]
        if gate in self.absent:
            raise KeyError(
                f"Layer {self.layer!r} ({self.cell} cell) has no gate {gate!r}: "
                f"it is absent, the cell uses the constant {self.absent[gate]}."
            )
        raise KeyError(f"Received an invalid gate {gate!r}, expected one of {list(self.values)}.")

    @property
    def key(self) -> str:
        """`"layer"` for a forward layer, `"layer/backward"` for a backward one."""
        return self.layer if self.direction == "forward" else f"{self.layer}/backward"

    @property
    def batch_size(self) -> int:
        return int(self.mask.shape[0])

    @property
    def timesteps(self) -> int:
        return int(self.mask.shape[1])

    def status(self, gate: str) -> str:
        """`"learned"`, `"computed"` (derived from another gate), `"absent"` or `"state"`."""
        if gate in ("c", "h"):
            return "state"
        if gate in self.absent:
            return "absent"
        if gate in self.computed:
            return "computed"
        return "learned"

    def valid(self, gate: str) -> np.ndarray:
        """The values of `gate` at the processed (unmasked) steps, `(n, units)`."""
        return self[gate][self.mask]

    @property
    def has_forget_gate(self) -> bool:
        """Whether the cell has a forget gate (Greff's NFG has none: f = 1)."""
        return "f" in self.values

    def stuck_units(self, tolerance: float = CONSTANT_TOLERANCE) -> dict[int, list[str]]:
        """Units stuck over the whole trace: a gate always saturated, or a constant output.

        A unit is reported when one of its sigmoid gates (i, f, o; a
        computed gate such as the coupled cell's i = 1 - f included) stays
        on one side of the saturation thresholds (`SATURATION`: below 0.1 or
        above 0.9) at every processed step of every sample, or when its
        output h varies by less than `tolerance` over them (a dead unit).
        Note that a forget gate always above 0.9 is also what a unit with a
        long memory shows (e.g. after chrono initialisation). For the sLSTM
        and mLSTM only o and h are checked: their stabilised gates i' and f'
        are 1 by construction at every step where their own term sets the
        stabiliser m, so their saturation says nothing about the unit. The
        minLSTM's normalised gates f' and i' and the minGRU's z and 1 - z
        are checked (a unit with f' > 0.9 throughout barely takes input).

        Args:
            tolerance: Largest spread (max - min) of h that counts as
                constant. Default: `CONSTANT_TOLERANCE` (1e-3).

        Returns:
            `{unit: [reasons]}` for the stuck units only, in unit order; a
            reason is `"f > 0.9"`, `"o < 0.1"` (and so on) or `"h constant"`.
            Empty when no step was processed.

        Example:

        >>> import numpy as np, keras, lstm_apps
        >>> model = keras.Sequential([keras.Input((5, 3)), lstm_apps.LSTM(2, name="rnn",
        ...     bias_initializer=keras.initializers.Constant(8.0), unit_forget_bias=False)])
        >>> lstm_apps.trace_gates(model, np.random.rand(4, 5, 3))["rnn"].stuck_units()
        {0: ['i > 0.9', 'f > 0.9', 'o > 0.9'], 1: ['i > 0.9', 'f > 0.9', 'o > 0.9']}
        """
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (
            tolerance >= 0
        ):
            raise ValueError(
                "Received an invalid value for argument `tolerance`, expected a number >= 0, "
                f"got {tolerance!r}."
            )
        if not self.mask.any():
            return {}
        reasons: dict[int, list[str]] = {}
        checked = ("o", "h") if self.cell in _STABILISED else ("i", "f", "o", "h")
        for gate in checked:
            if gate not in self.values:
                continue
            data = np.asarray(self.valid(gate), dtype=np.float64)  # (n, units)
            low, high = data.min(axis=0), data.max(axis=0)
            if gate == "h":
                flags = [((high - low) < tolerance, "h constant")]
            else:
                lower, upper = SATURATION[gate]
                flags = [
                    (high < lower, f"{gate} < {lower:g}"),
                    (low > upper, f"{gate} > {upper:g}"),
                ]
            for flag, text in flags:
                for unit in np.flatnonzero(flag):
                    reasons.setdefault(int(unit), []).append(text)
        return dict(sorted(reasons.items()))

    def timescales(self) -> dict[str, np.ndarray]:
        """Per-unit memory: mean forget activation, timescale and half-life.

        The mean is over every processed step of every sample of the trace;
        see `memory_timescales` for the formulas. For a cell without a forget
        gate (f = 1 by construction, no learned memory decay) the arrays are
        NaN. For the sLSTM and mLSTM, f is the stabilised forget gate f' (for
        the mLSTM one per head, so the units of a head share a timescale);
        for the minLSTM the normalised forget gate f' and for the minGRU the
        keep gate 1 - z: exactly the factor by which their state h decays at
        each step.

        Returns:
            `{"forget_mean", "timescale", "half_life"}` -> float64 arrays
            `(units,)`.
        """
        if not self.has_forget_gate:
            nan = np.full((self.units,), np.nan)
            return {"forget_mean": nan, "timescale": nan.copy(), "half_life": nan.copy()}
        valid = self.valid("f")
        if valid.shape[0] == 0:
            forget = np.full((self.units,), np.nan)
        else:
            forget = np.asarray(valid, dtype=np.float64).mean(axis=0)
        timescale, half_life = memory_timescales(forget)
        return {"forget_mean": forget, "timescale": timescale, "half_life": half_life}


def gate_statistics(values: Any, gate: str) -> dict[str, float]:
    """Summary statistics of the values of one gate or state.

    Args:
        values: The values (any shape; NaN are not expected: pass the
            unmasked ones, `LayerTrace.valid(gate)`).
        gate: `"i"`, `"f"`, `"o"`, `"g"`, `"c"` or `"h"`: chooses the
            saturation thresholds (`SATURATION`; none for `"c"`).

    Returns:
        A dict with `mean`, `std`, `saturated_low` (fraction below the low
        threshold: 0.1 for the sigmoid gates, -0.9 for g and h),
        `saturated_high` (above 0.9), `mean_abs` and `count`; NaN statistics
        and count 0 for no values.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.gates import gate_statistics
    >>> stats = gate_statistics(np.array([0.05, 0.5, 0.95, 0.97]), "f")
    >>> stats["saturated_low"], stats["saturated_high"], stats["count"]
    (0.25, 0.5, 4)
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    count = int(flat.size)
    if count == 0:
        nan = float("nan")
        return dict(mean=nan, std=nan, saturated_low=nan, saturated_high=nan, mean_abs=nan, count=0)
    low, high = SATURATION.get(gate, (None, None))
    return dict(
        mean=float(flat.mean()),
        std=float(flat.std()),
        saturated_low=float(np.mean(flat < low)) if low is not None else float("nan"),
        saturated_high=float(np.mean(flat > high)) if high is not None else float("nan"),
        mean_abs=float(np.abs(flat).mean()),
        count=count,
    )


_gate_stats = gate_statistics


def memory_timescales(forget_mean: Any) -> tuple[np.ndarray, np.ndarray]:
    """Memory timescale and half-life of units with mean forget activation f.

    A unit whose cell state is multiplied by f at every step keeps a
    fraction f**k of it after k steps: its characteristic timescale is
    1 / (1 - f) steps (the mean of that geometric decay) and its half-life
    ln 0.5 / ln f steps. f = 1 gives `inf` for both, f = 0 a timescale of 1
    and a half-life of 0; NaN stays NaN (a unit or layer without a forget
    gate).

    Args:
        forget_mean: Mean forget-gate activation(s), in [0, 1].

    Returns:
        `(timescale, half_life)`, float64 arrays of the shape of `forget_mean`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.gates import memory_timescales
    >>> timescale, half_life = memory_timescales([0.0, 0.5, 0.9, 1.0])
    >>> timescale.round(3).tolist(), half_life.round(3).tolist()
    ([1.0, 2.0, 10.0, inf], [0.0, 1.0, 6.579, inf])
    """
    f = np.asarray(forget_mean, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        timescale = 1.0 / (1.0 - f)
        half_life = np.log(0.5) / np.log(f)
    timescale = np.where(f >= 1.0, np.inf, timescale)
    half_life = np.where(f >= 1.0, np.inf, np.where(f <= 0.0, 0.0, half_life))
    return timescale, half_life


class GateTrace:
    """Gate activations of the LSTM layers of a model over time.

    Made by `trace_gates`. Index it with a layer name (forward direction) or
    a `(layer, direction)` pair to get a `LayerTrace`; iterate it to get every
    `LayerTrace`.

    Attributes:
        layers: The `LayerTrace`s, in model order (forward before backward).
        tokens: For text inputs, one list of token strings per sample (the
            labels of the time axis; dates for a probe given with dates),
            else `None`.
    """

    def __init__(
        self, layers: Sequence[LayerTrace], tokens: Sequence[Sequence[str]] | None = None
    ) -> None:
        self.layers: tuple[LayerTrace, ...] = tuple(layers)
        self.tokens: list[list[str]] | None = None if tokens is None else [list(t) for t in tokens]

    @property
    def time_label(self) -> str:
        """What labels the time axis: "date" (every label a date), "token" or "time step"."""
        if not self.tokens:
            return "time step"
        import re

        filled = [t for row in self.tokens for t in row if t]
        date = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")
        if filled and all(date.match(t) for t in filled):
            return "date"
        return "token"

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{t.key}: {t.cell} {t.batch_size}x{t.timesteps}x{t.units}" for t in self.layers
        )
        return f"<GateTrace {parts}>"

    def __iter__(self) -> Iterator[LayerTrace]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def names(self) -> list[str]:
        """Layer names, each once, in model order."""
        return list(dict.fromkeys(t.layer for t in self.layers))

    @property
    def keys(self) -> list[str]:
        """`LayerTrace.key` of every trace (`"rnn"`, `"bi/backward"`, ...)."""
        return [t.key for t in self.layers]

    def get(self, layer: str | None = None, direction: str | None = None) -> LayerTrace:
        """The trace of one layer and direction.

        Args:
            layer: A layer name, or a key such as `"bi/backward"`; `None` for
                the first traced layer.
            direction: `"forward"` or `"backward"`; default: forward if the
                layer has it, else backward.

        Returns:
            The `LayerTrace`.
        """
        if layer is None:
            layer = self.layers[0].layer
        if not isinstance(layer, str):
            raise TypeError(
                "Received an invalid value for argument `layer`, expected a "
                f"layer name (str) among {self.names}, got {layer!r}."
            )
        if direction is None and layer not in self.names and layer.endswith("/backward"):
            layer, direction = layer[: -len("/backward")], "backward"
        if direction not in (None, "forward", "backward"):
            raise ValueError(
                "Received an invalid value for argument `direction`, expected "
                f"'forward', 'backward' or None, got {direction!r}."
            )
        matches = [t for t in self.layers if t.layer == layer]
        if not matches:
            raise ValueError(
                "Received an invalid value for argument `layer`, expected one "
                f"of the traced layers {self.names}, got {layer!r}."
            )
        if direction is None:
            return matches[0]
        for t in matches:
            if t.direction == direction:
                return t
        raise ValueError(
            f"Layer {layer!r} has no {direction} direction; it has "
            f"{[t.direction for t in matches]}."
        )

    def __getitem__(self, key: str | tuple[str, str]) -> LayerTrace:
        if isinstance(key, tuple):
            return self.get(*key)
        return self.get(key)

    def to_dataframe(self, include_masked: bool = False, timescales: bool = False) -> Any:
        """All values as one long table.

        Args:
            include_masked: Also give the rows of steps that the mask skipped
                (their `value` is NaN). Default: `False`.
            timescales: Also give each row its unit's memory timescale and
                half-life (columns `timescale` and `half_life`, from the
                unit's mean forget activation over the trace; NaN for a cell
                without a forget gate; see `GateTrace.timescales`).
                Default: `False`.

        Returns:
            A pandas DataFrame with columns `layer`, `direction`, `gate`
            ("i", "f", "o", "g", "c", "h"), `sample`, `time`, `unit`, `value`
            (plus `masked` when `include_masked=True`, `timescale` and
            `half_life` when `timescales=True`). `time` is the index of
            the step in the input sequence.

        Example:

        >>> import numpy as np, keras, lstm_apps
        >>> model = keras.Sequential([keras.Input((5, 3)), lstm_apps.LSTM(2, name="rnn")])
        >>> table = lstm_apps.trace_gates(model, np.ones((1, 5, 3))).to_dataframe()
        >>> list(table.columns)
        ['layer', 'direction', 'gate', 'sample', 'time', 'unit', 'value']
        >>> len(table)  # 6 quantities x 1 sample x 5 steps x 2 units
        60
        """
        import pandas as pd

        frames = []
        for t in self.layers:
            b, steps, units = t.batch_size, t.timesteps, t.units
            memory = t.timescales() if timescales else None
            sample, time, unit = np.meshgrid(
                np.arange(b), np.arange(steps), np.arange(units), indexing="ij"
            )
            keep = np.broadcast_to(t.mask[:, :, None], (b, steps, units))
            if include_masked:
                keep = np.ones_like(keep)
            keep = keep.ravel()
            for gate, values in t.values.items():
                frame = {
                    "layer": t.layer,
                    "direction": t.direction,
                    "gate": gate,
                    "sample": sample.ravel()[keep],
                    "time": time.ravel()[keep],
                    "unit": unit.ravel()[keep],
                    "value": values.ravel()[keep],
                }
                if include_masked:
                    frame["masked"] = ~np.broadcast_to(
                        t.mask[:, :, None], (b, steps, units)
                    ).ravel()
                if memory is not None:
                    for key in ("timescale", "half_life"):
                        frame[key] = memory[key][frame["unit"]]
                frames.append(pd.DataFrame(frame))
        columns = ["layer", "direction", "gate", "sample", "time", "unit", "value"]
        if include_masked:
            columns.append("masked")
        if timescales:
            columns += ["timescale", "half_life"]
        if not frames:
            return pd.DataFrame(columns=columns)
        table = pd.concat(frames, ignore_index=True)[columns]
        for column in ("layer", "direction", "gate"):
            table[column] = table[column].astype("category")
        return table

    def summary(self) -> Any:
        """Statistics per layer, direction and gate, over processed steps only.

        Returns:
            A pandas DataFrame, one row per layer, direction and quantity
            (i, f, o, g, c, h), with columns `layer`, `direction`, `gate`,
            `status` ("learned", "computed" for the coupled cell's i = 1 - f
            and the minGRU's f = 1 - i, "absent" for a gate the cell does not
            have, "state" for c and h),
            `mean`, `std`, `saturated_low`, `saturated_high` (fraction of
            values below 0.1 and above 0.9 for the sigmoid gates i, f, o;
            below -0.9 and above 0.9 for g and h; NaN for c), `mean_abs`,
            `count` (number of values), and `timescale` and `half_life`:
            on the forget-gate row, the median over units of each unit's
            memory timescale 1 / (1 - f) and half-life ln 0.5 / ln f, f the
            unit's mean forget activation (see `GateTrace.timescales`); NaN
            on the other rows and for a cell without a forget gate. Absent
            gates have NaN statistics and count 0. Masked steps are left out.

        Example:

        >>> import numpy as np, keras, lstm_apps
        >>> model = keras.Sequential([keras.Input((5, 3)),
        ...                           lstm_apps.LSTM(2, variant="nig", name="rnn")])
        >>> table = lstm_apps.trace_gates(model, np.ones((4, 5, 3))).summary()
        >>> table.set_index("gate")["status"].to_dict()
        {'i': 'absent', 'f': 'learned', 'o': 'learned', 'g': 'learned', 'c': 'state', 'h': 'state'}
        >>> table.set_index("gate")["count"].to_dict()["f"]  # 4 samples x 5 steps x 2 units
        40
        >>> bool(table.set_index("gate").loc["f", "timescale"] >= 1.0)
        True
        """
        import pandas as pd

        rows = []
        for t in self.layers:
            memory = t.timescales()
            for gate in ("i", "f", "o", "g", "c", "h"):
                row = {
                    "layer": t.layer,
                    "direction": t.direction,
                    "gate": gate,
                    "status": t.status(gate),
                }
                if gate in t.values:
                    row.update(_gate_stats(t.valid(gate), gate))
                else:
                    row.update(_gate_stats(np.zeros((0,)), gate))
                nan = float("nan")
                row["timescale"] = row["half_life"] = nan
                if gate == "f" and t.has_forget_gate:
                    row["timescale"] = _nan_median(memory["timescale"])
                    row["half_life"] = _nan_median(memory["half_life"])
                rows.append(row)
        return pd.DataFrame(rows)

    def timescales(self) -> Any:
        """The memory of every unit: mean forget activation, timescale, half-life.

        With a unit's mean forget activation f over the trace (every
        processed step of every sample), its cell state decays by about f
        per step: it keeps information about 1 / (1 - f) steps (timescale),
        and half of it after ln 0.5 / ln f steps (half-life); see
        `memory_timescales`. The coupled cell's timescales follow from its f
        alike, the sLSTM's and mLSTM's from their stabilised f', the
        minLSTM's from its normalised f' and the minGRU's from 1 - z (see
        `LayerTrace.timescales`). A cell without a forget gate (Greff's NFG, f = 1 by
        construction) has no learned decay: its rows hold NaN and
        `has_forget_gate` is False, and a log message says so.

        Returns:
            A pandas DataFrame, one row per layer, direction and unit, with
            columns `layer`, `direction`, `unit`, `has_forget_gate`,
            `forget_mean`, `timescale` and `half_life` (steps).

        Example:

        >>> import numpy as np, keras, lstm_apps
        >>> model = keras.Sequential([keras.Input((5, 3)), lstm_apps.LSTM(2, name="rnn")])
        >>> table = lstm_apps.trace_gates(model, np.ones((4, 5, 3))).timescales()
        >>> list(table.columns)
        ['layer', 'direction', 'unit', 'has_forget_gate', 'forget_mean', 'timescale', 'half_life']
        >>> bool(np.allclose(table.timescale, 1 / (1 - table.forget_mean)))
        True
        """
        import pandas as pd

        frames = []
        for t in self.layers:
            memory = t.timescales()
            if not t.has_forget_gate:
                logger.info(
                    "Layer %r (%s cell) has no forget gate (f = 1): no memory timescale, NaN.",
                    t.key,
                    t.cell,
                )
            frames.append(
                pd.DataFrame(
                    {
                        "layer": t.layer,
                        "direction": t.direction,
                        "unit": np.arange(t.units),
                        "has_forget_gate": t.has_forget_gate,
                        **memory,
                    }
                )
            )
        columns = [
            "layer",
            "direction",
            "unit",
            "has_forget_gate",
            "forget_mean",
            "timescale",
            "half_life",
        ]
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)[columns]


def _nan_median(values: np.ndarray) -> float:
    """Median of the non-NaN values (inf counts), NaN for none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    return float(np.median(values)) if values.size else float("nan")


# ------------------------------------------------------------------ discovery
@dataclasses.dataclass(eq=False)
class _Direction:
    direction: str
    rnn: Any  # the keras.layers.RNN that runs the cell
    cell_name: str


@dataclasses.dataclass(eq=False)
class _Site:
    """A layer whose `call` gets wrapped: an RNN or a Bidirectional."""

    name: str
    layer: Any
    directions: list[_Direction]
    bidirectional: bool = False


#: The cells beyond the LSTM family that tracing covers, by class, with their
#: names in `lstm_apps.cells.names()`.
_OTHER_CELLS: dict[type, str] = {
    SLSTMCell: "slstm",
    MLSTMCell: "mlstm",
    MinLSTMCell: "minlstm",
    MinGRUCell: "mingru",
}
#: Cells whose input and forget gates are stabilised exponential gates (i', f'):
#: 1 by construction wherever their own term sets the stabiliser m.
_STABILISED = ("slstm", "mlstm")


def _cell_name(cell: Any) -> str | None:
    for klass, name in _OTHER_CELLS.items():
        if isinstance(cell, klass):
            return name
    if isinstance(cell, LSTMCellBase):
        variant = getattr(cell, "variant", None)
        if variant:
            return variant
        return {
            "StandardLSTMCell": "standard",
            "PeepholeLSTMCell": "peephole",
            "CoupledLSTMCell": "coupled",
        }.get(type(cell).__name__, type(cell).__name__)
    if isinstance(cell, keras.layers.LSTMCell):
        return "keras_lstm"
    return None


def is_traceable(cell: Any) -> bool:
    """Whether gate tracing (`trace_gates`, `GateMonitor`, `GateProbe`) covers a cell.

    True for every cell of `lstm_apps.cells` (the LSTM cells and variants,
    the sLSTM and mLSTM, the minLSTM and minGRU; see `LayerTrace` for what
    each trace holds) and for `keras.layers.LSTMCell`; False for any other
    cell (a GRU's, which tracing skips).

    Args:
        cell: A recurrent cell instance.

    Returns:
        Whether `trace_gates` traces a recurrent layer over `cell`.

    Example:

    >>> import keras, lstm_apps
    >>> from lstm_apps.gates import is_traceable
    >>> [is_traceable(lstm_apps.cells.create(n, 2)) for n in ("peephole", "slstm", "mingru")]
    [True, True, True]
    >>> is_traceable(keras.layers.GRUCell(2))
    False
    """
    return _cell_name(cell) is not None


def _walk(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for layer in getattr(model, "layers", []):
        name = prefix + layer.name
        yield name, layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer, name + "/")


def _discover(model: Any) -> tuple[list[_Site], dict[str, str], list[str]]:
    """(traceable sites, untraceable recurrent layers -> why, all layer types)."""
    sites: list[_Site] = []
    skipped: dict[str, str] = {}
    types: list[str] = []
    for name, layer in _walk(model):
        types.append(type(layer).__name__)
        if isinstance(layer, keras.layers.Bidirectional):
            fwd, bwd = layer.forward_layer, layer.backward_layer
            names = (_cell_name(getattr(fwd, "cell", None)), _cell_name(getattr(bwd, "cell", None)))
            if None in names:
                inner = fwd if names[0] is None else bwd
                skipped[name] = f"a Bidirectional over a {type(inner).__name__}"
                continue
            sites.append(
                _Site(
                    name,
                    layer,
                    [_Direction("forward", fwd, names[0]), _Direction("backward", bwd, names[1])],
                    bidirectional=True,
                )
            )
        elif isinstance(layer, keras.layers.RNN):
            cell_name = _cell_name(layer.cell)
            if cell_name is None:
                skipped[name] = f"a {type(layer).__name__} over a {type(layer.cell).__name__}"
                continue
            direction = "backward" if layer.go_backwards else "forward"
            sites.append(_Site(name, layer, [_Direction(direction, layer, cell_name)]))
    return sites, skipped, types


def _select(
    sites: list[_Site], skipped: dict[str, str], types: list[str], layers: Any, model: Any
) -> list[_Site]:
    if not sites:
        found = ", ".join(dict.fromkeys(types)) or "none"
        extra = ""
        if skipped:
            extra = (
                " Recurrent layers without LSTM gates: "
                + ", ".join(f"{n!r} ({why})" for n, why in skipped.items())
                + "."
            )
        raise ValueError(
            f"Received a model ({model.name!r}) with no LSTM layer to trace: "
            "expected a keras.layers.LSTM or a recurrent layer with an "
            "lstm_apps cell (possibly inside Bidirectional or a nested model); "
            f"found layers of types: {found}.{extra}"
        )
    if layers is None:
        return sites
    if isinstance(layers, str):
        layers = [layers]
    if not isinstance(layers, (list, tuple)) or not all(isinstance(x, str) for x in layers):
        raise TypeError(
            "Received an invalid value for argument `layers`, expected None, a "
            f"layer name or a list of layer names, got {layers!r}."
        )
    if not layers:
        raise ValueError(
            "Received an invalid value for argument `layers`, expected at least "
            f"one name among {[s.name for s in sites]}, got an empty list."
        )
    by_name: dict[str, _Site] = {}
    for site in sites:
        by_name[site.name] = site
        for d in site.directions:  # inner names of a Bidirectional
            by_name.setdefault(d.rnn.name, site)
    chosen: list[_Site] = []
    for name in layers:
        if name in skipped:
            raise ValueError(
                f"Received an invalid value for argument `layers`: layer {name!r} "
                f"is {skipped[name]}, which has no LSTM gates. Traceable layers: "
                f"{[s.name for s in sites]}."
            )
        if name not in by_name:
            raise ValueError(
                "Received an invalid value for argument `layers`, expected names "
                f"among the model's LSTM layers {[s.name for s in sites]}, got "
                f"{name!r}."
            )
        if by_name[name] not in chosen:
            chosen.append(by_name[name])
    return [s for s in sites if s in chosen]


# ---------------------------------------------------------------- input checks
def _np_kind(array: np.ndarray) -> str:
    return "string" if array.dtype.kind in "USO" else "number"


def _to_array(value: Any, argument: str) -> np.ndarray:
    if isinstance(value, str):
        raise TypeError(
            f"Received an invalid value for argument `{argument}`, expected a "
            "batch of inputs (an array, or a list of strings for a text model), "
            f"got a single string {value!r}; wrap it in a list."
        )
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return np.asarray(value, dtype=str)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise TypeError(
            f"Received an invalid value for argument `{argument}`, expected an "
            f"array-like batch of inputs, got {type(value).__name__} ({error})."
        ) from None
    if array.dtype.kind == "O":
        if all(isinstance(v, str) for v in array.ravel()):
            return array.astype(str)
        raise TypeError(
            f"Received an invalid value for argument `{argument}`, expected a "
            f"numeric array or strings, got an object array of {type(array.ravel()[0]).__name__}."
        )
    return array


def _check_inputs(model: Any, inputs: Any, argument: str = "inputs") -> Any:
    """The inputs as NumPy arrays, checked against the model's inputs."""
    try:
        model_inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model has no graph inputs
        model_inputs = None
    model_inputs = list(model_inputs) if model_inputs else None
    if isinstance(inputs, dict):
        arrays: Any = {k: _to_array(v, argument) for k, v in inputs.items()}
        flat = list(arrays.values())
    elif model_inputs is not None and len(model_inputs) > 1:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != len(model_inputs):
            raise ValueError(
                f"Received an invalid value for argument `{argument}`, expected a "
                f"list of {len(model_inputs)} arrays (one per model input), got "
                f"{type(inputs).__name__}."
            )
        arrays = [_to_array(v, argument) for v in inputs]
        flat = arrays
    else:
        arrays = _to_array(inputs, argument)
        flat = [arrays]
    sizes = {a.shape[0] if a.ndim else None for a in flat}
    if None in sizes or len(sizes) != 1 or 0 in sizes:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected a "
            "non-empty batch (first axis = samples), got arrays of shapes "
            f"{[a.shape for a in flat]}."
        )
    if model_inputs is None or isinstance(arrays, dict):
        return arrays
    checked = []
    for array, spec in zip(flat, model_inputs):
        expected = tuple(spec.shape)
        want_string = str(spec.dtype) == "string"
        kind = _np_kind(array)
        if want_string and array.ndim == len(expected) - 1 and expected[-1] == 1:
            array = array[..., None]  # ["text", ...] for an input of shape (None, 1)
        shape_ok = array.ndim == len(expected) and all(
            e is None or e == a for e, a in zip(expected[1:], array.shape[1:])
        )
        dtype_ok = (kind == "string") == want_string
        if dtype_ok and kind == "number" and "int" in str(spec.dtype):
            dtype_ok = array.dtype.kind in "iub" or (
                array.dtype.kind == "f" and bool(np.all(np.mod(array, 1) == 0))
            )
        if not (shape_ok and dtype_ok):
            wanted = "strings" if want_string else f"dtype {spec.dtype}"
            raise ValueError(
                f"Received an invalid value for argument `{argument}`, expected a "
                f"batch matching the model input {spec.name!r}: shape "
                f"{expected} with {wanted}; got shape {array.shape} and dtype "
                f"{array.dtype}."
            )
        checked.append(array)
    return checked if len(checked) > 1 else checked[0]


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Received an invalid value for argument `model`, expected a "
            f"keras.Model, got {type(model).__name__}."
        )
    if not model.built:
        raise ValueError(
            f"Received an unbuilt model ({model.name!r}) for argument `model`: "
            "its weights do not exist yet. Build it first (give it a "
            "keras.Input, call it on data or train it)."
        )


# --------------------------------------------------------------------- tracer
class _Holder:
    """Keeps objects out of Keras's tracking (so no weights are counted twice)."""

    def __init__(self, **items: Any) -> None:
        self.__dict__.update(items)


#: Cells with `project_inputs` and `step`, traced as they are.
_STEPPED = (LSTMCellBase, SLSTMCell, MLSTMCell, MinLSTMCell, MinGRUCell)


def _source_cell(rnn: Any) -> Any:
    """A cell with `project_inputs`/`step`: the layer's own, or a twin on its weights."""
    cell = rnn.cell
    if isinstance(cell, _STEPPED):
        return cell
    # keras.layers.LSTMCell: same weight layout as StandardLSTMCell; point the
    # twin at the very same variables (nothing is copied).
    # A fixed seed: the twin never drops anything, and `SeedGenerator(seed=None)`
    # would draw its seed from Python's global `random` state.
    twin = StandardLSTMCell(
        cell.units,
        activation=cell.activation,
        recurrent_activation=cell.recurrent_activation,
        use_bias=cell.use_bias,
        seed=0,
        dtype=cell.dtype_policy,
        name=f"{cell.name}_gate_twin",
    )
    twin.kernel = cell.kernel
    twin.recurrent_kernel = cell.recurrent_kernel
    twin.bias = cell.bias if cell.use_bias else None
    twin.built = True
    return twin


def _layout(cell: Any) -> tuple[tuple[str, ...], dict[str, float], dict[str, str]]:
    """`(keys emitted, absent gates, computed gates)` of a cell's trace.

    The LSTM cells follow their `GateSpec`; the sLSTM and mLSTM have i, f and
    o and add the normaliser n and the stabiliser m; the minLSTM and minGRU
    have no output gate (their output is their state: o = 1, c = h), and the
    minGRU's forget gate is 1 - z, z its update gate "i".
    """
    if isinstance(cell, (MinLSTMCell, MinGRUCell)):
        computed = {"f": "1 - i"} if isinstance(cell, MinGRUCell) else {}
        return ("i", "f", "g", "c", "h"), {"o": _ABSENT_VALUE["o"]}, computed
    if isinstance(cell, (SLSTMCell, MLSTMCell)):
        return ("i", "f", "o", "g", "n", "m", "c", "h"), {}, {}
    spec = cell.spec if isinstance(cell, LSTMCellBase) else GateSpec()
    gates = tuple(g for g in ("i", "f", "o") if spec.has_gate(g))
    absent = {g: _ABSENT_VALUE[g] for g in ("i", "f", "o") if not spec.has_gate(g)}
    computed = {"i": "1 - f"} if spec.coupled else {}
    return gates + ("g", "c", "h"), absent, computed


def _step_values(source: Any, z: Any, states: Any) -> tuple[dict[str, Any], list[Any]]:
    """One step of `source`: `({key: (batch, units)}, new states)`."""
    h, new_states, gates = source.step(z, states, training=False)
    if isinstance(source, MLSTMCell):
        # i', f', the normaliser and the stabiliser are one per head: each
        # head's value goes to its units (head k: units k*d .. (k+1)*d - 1).
        per_head = ("i", "f", "n", "m")
        named = {
            k: ops.repeat(v, source.head_dim, axis=-1) if k in per_head else v
            for k, v in gates.items()
        }
        return {**named, "h": h}, new_states
    if isinstance(source, (MinLSTMCell, MinGRUCell)):
        return {**gates, "c": h, "h": h}, new_states  # the state is h
    return {**gates, "c": new_states[1], "h": h}, new_states


class _GateCell(keras.layers.Layer):
    """Runs a cell's step and emits `[gates..., c, h]` as its output."""

    def __init__(self, source: Any) -> None:
        super().__init__(dtype=source.dtype_policy, name=f"{source.name}_gates")
        self._ref = _Holder(source=source)
        self.keys = _layout(source)[0]
        self.state_size = list(source.state_size)
        self.output_size = len(self.keys) * source.units

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, states: Any, training: bool = False) -> Any:
        named, new_states = _step_values(self._ref.source, inputs, states)
        parts = [named[k] for k in self.keys]
        return ops.concatenate(parts, axis=-1), new_states

    def get_initial_state(self, batch_size: Any = None) -> list[Any]:
        return self._ref.source.get_initial_state(batch_size)


class _Twin:
    """The twin loop of one direction of one site."""

    def __init__(self, direction: _Direction) -> None:
        self.direction = direction
        self.source = _source_cell(direction.rnn)
        self.cell = _GateCell(self.source)
        # Masked steps are overwritten with NaN afterwards; zero outputs there
        # keep every backend's masked loop simple (JAX's otherwise assumes the
        # output has the shape of the first state).
        self.rnn = keras.layers.RNN(
            self.cell,
            return_sequences=True,
            go_backwards=bool(direction.rnn.go_backwards),
            zero_output_for_mask=True,
            name=f"{direction.rnn.name}_gate_trace",
        )

    def __call__(self, sequences: Any, mask: Any, initial_state: Any) -> Any:
        rnn = self.direction.rnn
        if initial_state is None and getattr(rnn, "stateful", False) and rnn.states:
            initial_state = [ops.convert_to_tensor(s) for s in rnn.states]
        sequences = ops.cast(sequences, self.source.compute_dtype)
        z = self.source.project_inputs(sequences, training=False)
        kwargs: dict[str, Any] = {"mask": mask}
        if initial_state is not None:
            kwargs["initial_state"] = list(initial_state)
        out = self.rnn(z, training=False, **kwargs)
        if mask is None:
            mask = ops.ones(ops.shape(z)[:2], dtype="bool")
        return out, ops.cast(mask, "bool")


def _copy_value(variable: Any) -> np.ndarray:
    """The value of a variable as a NumPy array that does not share its memory."""
    return np.array(ops.convert_to_numpy(variable), copy=True)


def _is_seed_state(variable: Any) -> bool:
    path = getattr(variable, "path", None) or getattr(variable, "name", "") or ""
    return "seed_generator" in str(path)


def _seed_states(model: Any) -> list[Any]:
    """The `state` variables of every `keras.random.SeedGenerator` of `model`.

    Keras RNN layers draw dropout masks from their cells' seed generators on
    every call, even with `training=False`; a trace must put them back. Found
    two ways, merged: the model's variables named as seed generator states
    (Keras tracks every generator a layer owns), and a walk over the layers
    (recursively: nested models, RNN cells, stacked cells, the layers that
    `Bidirectional` and `TimeDistributed` wrap) and their attributes, which
    also finds generators that Keras does not track.
    """
    found: dict[int, Any] = {}
    try:
        variables = list(model.variables)
    except Exception:  # an odd subclassed model: rely on the walk alone
        variables = []
    for variable in variables:
        if _is_seed_state(variable):
            found.setdefault(id(variable), variable)
    seen: set[int] = set()
    stack: list[Any] = [model]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, keras.random.SeedGenerator):
            state = getattr(item, "state", None)
            if state is not None:
                found.setdefault(id(state), state)
        elif isinstance(item, keras.layers.Layer):
            stack.extend(vars(item).values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return list(found.values())


def _backend_rng_state() -> Any:
    """The backend's own global random state, where Keras draws from it.

    On PyTorch, Keras's `keras.random.dropout` with a seed generator created
    without a seed (`seed=None`, the default of every Keras layer) does not
    use the generator: it calls `torch.nn.functional.dropout`, which draws
    from torch's global random state. The TensorFlow and JAX backends draw
    only from `SeedGenerator` states (none of their own global state).
    """
    if keras.backend.backend() != "torch":
        return None
    import torch

    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    return torch.get_rng_state(), cuda


def _restore_backend_rng_state(saved: Any) -> None:
    if saved is None:
        return
    import torch

    cpu, cuda = saved
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


class _Tracer:
    """Traces fixed sites of one model; reusable (GateMonitor keeps one)."""

    def __init__(self, model: Any, sites: list[_Site]) -> None:
        self.model = model
        self.sites = sites
        self.twins = {id(s): [_Twin(d) for d in s.directions] for s in sites}
        self._compiled: Any = None

    # The wrapped `call`: runs the twin(s) on the arguments, then the layer.
    def _wrap(self, site: _Site, original: Any, results: dict[str, Any]) -> Any:
        signature = inspect.signature(original)

        def call(*args: Any, **kwargs: Any) -> Any:
            if site.name in results:
                logger.warning(
                    "Layer %r is called more than once per forward pass; the "
                    "gate trace shows its first call.",
                    site.name,
                )
                return original(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            arguments = bound.arguments
            sequences = next(iter(arguments.values()))
            mask = arguments.get("mask")
            if isinstance(mask, (list, tuple)):
                mask = mask[0]
            initial_state = arguments.get("initial_state")
            twins = self.twins[id(site)]
            outs = []
            for index, twin in enumerate(twins):
                state = initial_state
                if state is not None and site.bidirectional:
                    half = len(state) // 2
                    state = state[:half] if index == 0 else state[half:]
                outs.append(twin(sequences, mask, state))
            results[site.name] = outs
            return original(*args, **kwargs)

        return call

    def forward(self, inputs: Any) -> dict[str, Any]:
        """One forward pass of the model; returns `{key: tensor}` of the twins."""
        results: dict[str, Any] = {}
        saved = []
        for site in self.sites:
            layer = site.layer
            saved.append((layer, layer.__dict__.get("call", _MISSING)))
            object.__setattr__(layer, "call", self._wrap(site, layer.call, results))
        try:
            self.model(inputs, training=False)
        finally:
            for layer, previous in saved:
                if previous is _MISSING:
                    object.__delattr__(layer, "call")
                else:
                    object.__setattr__(layer, "call", previous)
        missing = [s.name for s in self.sites if s.name not in results]
        if missing:
            raise ValueError(
                f"Layers {missing} were not called when the model ran on the "
                "inputs, so they cannot be traced."
            )
        flat = {}
        for i, site in enumerate(self.sites):
            for j, (out, mask) in enumerate(results[site.name]):
                flat[f"{i}_{j}"] = ops.stop_gradient(out)
                flat[f"{i}_{j}_mask"] = mask
        return flat

    def _stateful_layers(self) -> list[Any]:
        return [
            layer
            for _, layer in _walk(self.model)
            if isinstance(layer, keras.layers.RNN) and layer.stateful and layer.states
        ] + [
            inner
            for _, layer in _walk(self.model)
            if isinstance(layer, keras.layers.Bidirectional) and layer.stateful
            for inner in (layer.forward_layer, layer.backward_layer)
            if inner.states
        ]

    def run(self, inputs: Any, compiled: bool = False) -> dict[str, np.ndarray]:
        stateful = self._stateful_layers()
        snapshot = [[_copy_value(s) for s in layer.states] for layer in stateful]
        seeds = _seed_states(self.model)
        seed_snapshot = [_copy_value(v) for v in seeds]
        backend_rng = _backend_rng_state()
        try:
            if compiled:
                out = self._compiled_model().predict_on_batch(inputs)
            else:
                out = self.forward(inputs)
        finally:
            for layer, values in zip(stateful, snapshot):
                for variable, value in zip(layer.states, values):
                    variable.assign(value)
            for variable, value in zip(seeds, seed_snapshot):
                variable.assign(value)
            _restore_backend_rng_state(backend_rng)
        return {k: np.asarray(ops.convert_to_numpy(v)) for k, v in out.items()}

    def _compiled_model(self) -> Any:
        if self._compiled is None:
            self._compiled = _TracerModel(self)
            # Graph mode on TensorFlow (XLA cannot take string inputs and
            # compiles slowly); jit on JAX; eager on PyTorch.
            if keras.backend.backend() == "tensorflow":
                self._compiled.jit_compile = False
        return self._compiled

    def to_trace(self, raw: dict[str, np.ndarray], tokens: Any = None) -> GateTrace:
        traces = []
        for i, site in enumerate(self.sites):
            for j, twin in enumerate(self.twins[id(site)]):
                values = raw[f"{i}_{j}"].astype(np.float32)
                mask = raw[f"{i}_{j}_mask"].astype(bool)
                if twin.rnn.go_backwards:
                    values = values[:, ::-1]  # back to the input's time order
                values = np.where(mask[:, :, None], values, np.nan).astype(np.float32)
                units = twin.source.units
                arrays = {
                    key: np.ascontiguousarray(values[:, :, k * units : (k + 1) * units])
                    for k, key in enumerate(twin.cell.keys)
                }
                _, absent, computed = _layout(twin.source)
                traces.append(
                    LayerTrace(
                        layer=site.name,
                        direction=twin.direction.direction,
                        cell=twin.direction.cell_name,
                        units=units,
                        values=arrays,
                        mask=mask,
                        absent=absent,
                        computed=computed,
                        go_backwards=bool(twin.rnn.go_backwards),
                    )
                )
        return GateTrace(traces, tokens=tokens)


class _TracerModel(keras.Model):
    """The tracer as a Keras model, so `predict_on_batch` compiles it."""

    def __init__(self, tracer: _Tracer) -> None:
        super().__init__(name=f"{tracer.model.name}_gate_tracer")
        self.traced = tracer.model  # tracked: its variables are ours
        self._ref = _Holder(tracer=tracer)

    def build(self, input_shape: Any = None) -> None:
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self._ref.tracer.forward(inputs)


# ---------------------------------------------------------------------- tokens
def _text_vectorizer(model: Any) -> Any:
    for _, layer in _walk(model):
        if isinstance(layer, keras.layers.TextVectorization):
            return layer
    return None


def _tokens_from_text(model: Any, inputs: Any) -> list[list[str]] | None:
    """Token strings per sample when the model starts with a TextVectorization."""
    if not isinstance(inputs, np.ndarray) or inputs.dtype.kind not in "USO":
        return None
    vectorizer = _text_vectorizer(model)
    if vectorizer is None:
        return None
    try:
        vocabulary = vectorizer.get_vocabulary()
        ids = np.asarray(ops.convert_to_numpy(vectorizer(inputs.reshape(-1))))
    except Exception as error:  # tokens are labels only: never fail a trace
        logger.info("Could not read tokens from %r: %s", vectorizer.name, error)
        return None
    if ids.ndim != 2:
        return None
    return [[str(vocabulary[k]) if 0 <= k < len(vocabulary) else "" for k in row] for row in ids]


def _date_text(value: Any) -> str | None:
    """A date or time stamp as text ("2024-01-05", or "2024-01-05 13:00"); None if not one."""
    import datetime

    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return ""
        value = value.astype("datetime64[s]").astype(datetime.datetime)
    if isinstance(value, datetime.datetime):  # pandas Timestamps too
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return None


def _label_row(row: Any) -> list[str] | None:
    """A sample's labels as strings (dates written as dates); None if not labels."""
    if isinstance(row, np.ndarray):
        row = list(row) if row.dtype.kind == "M" else row.tolist()
    if not isinstance(row, (list, tuple)) and not hasattr(row, "tolist"):
        return None  # a string, a number...
    texts = []
    for item in list(row):
        text = item if isinstance(item, str) else _date_text(item)
        if text is None:
            return None
        texts.append(text)
    return texts


def _check_tokens(tokens: Any, batch: int) -> list[list[str]]:
    """One list of labels per sample: strings, or dates / time stamps written as dates."""
    rows = list(tokens) if isinstance(tokens, (list, tuple, np.ndarray)) else []
    labels = [_label_row(row) for row in rows]
    if len(rows) != batch or any(row is None for row in labels):
        raise ValueError(
            "Received an invalid value for argument `tokens`, expected one list "
            f"of token strings (or dates) per sample ({batch} lists), got {tokens!r:.200}."
        )
    return labels  # type: ignore[return-value]


def _batch_size(arrays: Any) -> int:
    if isinstance(arrays, dict):
        return int(next(iter(arrays.values())).shape[0])
    if isinstance(arrays, list):
        return int(arrays[0].shape[0])
    return int(arrays.shape[0])


def _prepare(model: Any, inputs: Any, layers: Any, argument: str = "inputs") -> tuple:
    """Checks everything; returns (tracer, checked inputs). No model call."""
    _check_model(model)
    sites, skipped, types = _discover(model)
    chosen = _select(sites, skipped, types, layers, model)
    arrays = _check_inputs(model, inputs, argument)
    return _Tracer(model, chosen), arrays


# ------------------------------------------------------------------ public API
def trace_gates(
    model: keras.Model,
    inputs: Any,
    layers: str | Sequence[str] | None = None,
    tokens: Sequence[Sequence[str]] | None = None,
) -> GateTrace:
    """Gate activations, cell state and hidden state of every LSTM layer, per step.

    Traces every recurrent layer whose cell is an lstm_apps cell (any variant;
    the sLSTM, mLSTM, minLSTM and minGRU too, with the values `LayerTrace`
    describes) and every `keras.layers.LSTM` (or
    `keras.layers.RNN(keras.layers.LSTMCell)`), also inside `Bidirectional`
    (both directions) and nested models. Layers that run a cell's parallel
    form (`lstm_apps.cells.ScanRNN`, `lstm_apps.LSTM` with the mLSTM,
    minLSTM or minGRU) are traced step by step, with the same outputs. The model
    runs once in inference mode (`training=False`, no dropout); its weights
    and states do not change, and neither do the states of its random seed
    generators (which Keras RNN layers advance on every call), so tracing
    does not change the dropout masks of later training steps.

    Time order: every array is in the time order of the layer's *input*, also
    for a layer with `go_backwards=True` (whose own output sequence Keras
    returns reversed) and for the backward half of a `Bidirectional`.

    Masks: steps that a mask skips (`Embedding(mask_zero=True)`, `Masking`)
    are `False` in `LayerTrace.mask` and NaN in the arrays, and are left out
    of `summary()` and `to_dataframe()`.

    Args:
        model: A built `keras.Model` (functional, Sequential or subclassed).
        inputs: A batch of model inputs: an array (for several inputs, a list
            or dict of arrays), or a list of strings for a model that starts
            with a `TextVectorization` layer.
        layers: Names of the layers to trace (a `Bidirectional` by its own
            name or the name of either inner layer); default: all.
        tokens: Optional labels of the time axis, one list per sample of
            strings, or of dates (`datetime64`, pandas Timestamps,
            `datetime`: written as dates, "2024-01-05"), used by the plots.
            For string inputs they are read from
            the model's `TextVectorization` vocabulary when not given.

    Returns:
        A `GateTrace`.

    Raises:
        TypeError: `model` is not a Keras model, or `inputs`/`layers` have the
            wrong type.
        ValueError: the model has no LSTM layer (the message lists the layer
            types it has), a name in `layers` is unknown (the message lists
            the traceable ones), or `inputs` do not match the model's input
            shape or dtype.

    Example:

    >>> import numpy as np, keras, lstm_apps
    >>> model = keras.Sequential([
    ...     keras.Input((7, 3)),
    ...     lstm_apps.LSTM(4, variant="coupled", return_sequences=True, name="rnn"),
    ...     keras.layers.Bidirectional(keras.layers.LSTM(2), name="bi"),
    ... ])
    >>> trace = lstm_apps.trace_gates(model, np.random.rand(5, 7, 3))
    >>> trace.keys
    ['rnn', 'bi', 'bi/backward']
    >>> trace["rnn"]["f"].shape
    (5, 7, 4)
    >>> trace["rnn"].computed
    {'i': '1 - f'}
    >>> rnn = keras.Model(model.inputs[0], model.get_layer("rnn").output)
    >>> h = rnn.predict_on_batch(np.ones((1, 7, 3)))
    >>> bool(np.allclose(lstm_apps.trace_gates(model, np.ones((1, 7, 3)))["rnn"]["h"], h,
    ...                  atol=1e-5))
    True
    """
    tracer, arrays = _prepare(model, inputs, layers)
    batch = _batch_size(arrays)
    if tokens is not None:
        tokens = _check_tokens(tokens, batch)
    else:
        tokens = _tokens_from_text(model, arrays)
    raw = tracer.run(arrays, compiled=False)
    return tracer.to_trace(raw, tokens=tokens)


# ------------------------------------------------------------------ the probe
class GateProbe:
    """A fixed batch of model inputs, checked once and traced again and again.

    What `lstm_apps.GateMonitor` traces at every epoch: the inputs are
    checked when the probe is made (type, non-empty batch, tokens) and
    against a model at the first `prepare` or `trace` for it, before any
    model call; the tracer built then is reused for that model and `layers`.
    A deep copy (Keras Tuner copies callbacks per trial) keeps the inputs and
    tokens and drops the tracer.

    Args:
        inputs: A batch of model inputs: a NumPy array (for several inputs, a
            list of arrays or a dict), or a list or array of strings for a
            model that starts with a `TextVectorization` layer.
        tokens: Optional labels of the time axis, one list per sample of
            strings, or of dates (`datetime64`, pandas Timestamps,
            `datetime`: written as dates, "2024-01-05"); default: read from
            the model's `TextVectorization`.
        argument: The argument named in error messages. Default: `"probe"`.

    Raises:
        TypeError: `inputs` is `None` or not array-like.
        ValueError: an empty batch, or `tokens` not one list per sample.

    Example:

    >>> import numpy as np, keras, lstm_apps
    >>> from lstm_apps.gates import GateProbe
    >>> model = keras.Sequential([keras.Input((5, 3)), lstm_apps.LSTM(2, name="rnn")])
    >>> probe = GateProbe(np.ones((4, 5, 3)))
    >>> probe.batch_size
    4
    >>> probe.trace(model)["rnn"]["f"].shape
    (4, 5, 2)
    """

    def __init__(
        self,
        inputs: Any,
        tokens: Sequence[Sequence[str]] | None = None,
        argument: str = "probe",
    ) -> None:
        if inputs is None:
            raise TypeError(
                f"Received an invalid value for argument `{argument}`, expected a batch "
                "of model inputs, got None."
            )
        if isinstance(inputs, dict):
            arrays: Any = {k: _to_array(v, argument) for k, v in inputs.items()}
            flat = list(arrays.values())
        elif (
            isinstance(inputs, (list, tuple))
            and inputs
            and all(isinstance(v, np.ndarray) for v in inputs)
        ):  # one array per model input
            arrays = [_to_array(v, argument) for v in inputs]
            flat = arrays
        else:
            arrays = _to_array(inputs, argument)
            flat = [arrays]
        for array in flat:
            if array.ndim == 0 or array.shape[0] == 0:
                raise ValueError(
                    f"Received an invalid value for argument `{argument}`, expected a "
                    f"non-empty batch of model inputs, got an array of shape {array.shape}."
                )
        self.inputs = arrays
        self.argument = argument
        self.tokens = None if tokens is None else _check_tokens(tokens, self.batch_size)
        self._bound: tuple | None = None  # (model, layers, tracer, checked, tokens)

    def __deepcopy__(self, memo: dict[int, Any]) -> GateProbe:
        import copy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.inputs = copy.deepcopy(self.inputs, memo)
        new.argument = self.argument
        new.tokens = copy.deepcopy(self.tokens, memo)
        new._bound = None
        return new

    @property
    def batch_size(self) -> int:
        """Number of samples in the probe."""
        return _batch_size(self.inputs)

    def prepare(self, model: keras.Model, layers: str | Sequence[str] | None = None) -> None:
        """Checks the model, the layer names and the probe against the model.

        Builds the tracer (no model call); does nothing when it is already
        built for this model and `layers`.

        Raises:
            TypeError, ValueError: as `trace_gates`.
        """
        key = tuple(layers) if isinstance(layers, (list, tuple)) else layers
        if self._bound is not None and self._bound[0] is model and self._bound[1] == key:
            return
        tracer, checked = _prepare(model, self.inputs, layers, argument=self.argument)
        tokens = self.tokens or _tokens_from_text(model, checked)
        self._bound = (model, key, tracer, checked, tokens)

    def trace(
        self,
        model: keras.Model,
        layers: str | Sequence[str] | None = None,
        compiled: bool = False,
    ) -> GateTrace:
        """Traces the probe through `model` with its current weights.

        Args:
            model: The model (see `trace_gates`).
            layers: Names of the layers to trace; default: all.
            compiled: Run a compiled tracer (a graph on TensorFlow, `jax.jit`
                on JAX; eager on PyTorch): faster from the second call on.
                Default: `False`.

        Returns:
            A `GateTrace`.
        """
        self.prepare(model, layers)
        _, _, tracer, checked, tokens = self._bound
        raw = tracer.run(checked, compiled=compiled)
        return tracer.to_trace(raw, tokens=tokens)


# ------------------------------------------------------------------- clamping
def _clamp_units(units: Any, sizes: Mapping[str, int]) -> list[int] | None:
    if units is None:
        return None
    smallest = min(sizes.values())
    items = [units] if isinstance(units, (int, np.integer)) else units
    if (
        isinstance(units, bool)
        or not isinstance(items, (list, tuple, np.ndarray))
        or len(items) == 0
        or not all(
            isinstance(u, (int, np.integer)) and not isinstance(u, bool) and 0 <= u < smallest
            for u in items
        )
    ):
        raise ValueError(
            "Received an invalid value for argument `units`, expected None or a "
            f"non-empty list of unit indices in [0, {smallest - 1}] (units of the "
            f"chosen layers: {dict(sizes)}), got {units!r}."
        )
    return sorted({int(u) for u in items})


def _clamp_cell_config(layer: Any, clamp: dict[str, float], units: list[int] | None) -> Any:
    """A fresh, unbuilt copy of the RNN `layer` whose cell holds the clamp."""
    from lstm_apps import cells as cells_module
    from lstm_apps.cells import StandardLSTMCell
    from lstm_apps.layers import LSTM

    extra = {"gate_clamp": dict(clamp), "gate_clamp_units": units}
    if isinstance(layer, LSTM):
        return LSTM.from_config({**layer.get_config(), **extra})
    if isinstance(layer.cell, LSTMCellBase):
        config = layer.get_config()
        cell_config = {**layer.cell.get_config(), **extra}
        cell = type(layer.cell).from_config(cell_config)
        config.pop("cell", None)
        return type(layer)(cell, **config)
    # keras.layers.LSTM / RNN(LSTMCell): the standard cell has its weights' layout.
    allowed = cells_module.arguments("standard") | {"name", "dtype", "trainable"}
    cell_config = {
        k: v for k, v in layer.cell.get_config().items() if k in allowed and k != "units"
    }
    if isinstance(layer, keras.layers.LSTM):
        config = {k: v for k, v in layer.get_config().items() if k != "use_cudnn"}
        return LSTM(variant="standard", **{**config, **extra})
    cell = StandardLSTMCell(layer.cell.units, **{**cell_config, **extra})
    config = layer.get_config()
    config.pop("cell", None)
    return keras.layers.RNN(cell, **config)


#: The traced cells that `clamp_gates` does not cover, with the reason.
_NO_CLAMP = {
    "slstm": "its stabilised gates i' and f' are rescaled by the stabiliser m at every step, "
    "so a constant there is no constant gate",
    "mlstm": "its stabilised gates i' and f' (one per head) are rescaled by the stabiliser m "
    "at every step, so a constant there is no constant gate",
    "minlstm": "its gates are normalised (f' + i' = 1) and it has no output gate",
    "mingru": "its one update gate z sets both i = z and f = 1 - z, and it has no output gate",
}


def clamp_gates(
    model: keras.Model,
    gates: Mapping[str, float],
    layers: str | Sequence[str] | None = None,
    units: int | Sequence[int] | None = None,
) -> keras.Model:
    """A twin of a trained model with some gates held at constants.

    Ablating a gate of a *trained* model measures what it contributes: hold
    the forget gate at 1 (never forget) or 0 (no memory from one step to the
    next), the input gate at 0 (no writing), the output gate at 1, and
    `evaluate` the twin. The twin is a clone (`keras.models.clone_model`,
    nested models included) with the same weights, copied; in the chosen
    layers every cell gets `gate_clamp` (see `lstm_apps.cells.LSTMCellBase`).
    The original model is not touched. A `keras.layers.LSTM` becomes an
    `lstm_apps.LSTM` (standard cell, same weights); both directions of a
    `Bidirectional` are clamped. If the model is compiled, the twin is
    compiled from its compile config (a fresh optimizer). The LSTM cells
    take `gate_clamp`; the sLSTM, mLSTM, minLSTM and minGRU do not (their
    stabilised or normalised gates are not free gates a constant can stand
    for): a chosen layer over one of them is an error that names the layer,
    the cell and why.

    Args:
        model: A built Functional or Sequential `keras.Model`.
        gates: Gate name -> value in [0, 1]: names `"input"`, `"forget"`,
            `"output"` (or `"i"`, `"f"`, `"o"`, `"input_gate"`, ...). For the
            coupled cells (i = 1 - f) clamp the forget gate.
        layers: Names of the LSTM layers to clamp (as for `trace_gates`);
            default: all.
        units: Unit indices to clamp in each chosen layer; default: all.

    Returns:
        The twin `keras.Model`.

    Raises:
        TypeError: `model` is not a Keras model.
        ValueError: an unknown gate name, a gate a chosen cell does not have,
            a value outside [0, 1], an unknown layer, a chosen layer over a
            cell without `gate_clamp` (sLSTM, mLSTM, minLSTM, minGRU), a unit
            index out of range, or a subclassed model (which cannot be
            cloned); all before any cloning.

    Example:

    >>> import numpy as np, keras, lstm_apps
    >>> model = keras.Sequential([keras.Input((6, 2)), lstm_apps.LSTM(3, name="rnn")])
    >>> twin = lstm_apps.gates.clamp_gates(model, {"forget": 0.0})
    >>> x = np.random.rand(2, 6, 2)
    >>> f = lstm_apps.trace_gates(twin, x)["rnn"]["f"]
    >>> float(f.max()), model.get_layer("rnn").gate_clamp is None
    (0.0, True)
    """
    _check_model(model)
    clamp = check_gate_clamp(gates, argument="gates")
    if clamp is None:
        raise ValueError(
            "Received an invalid value for argument `gates`, expected at least one "
            f"gate to clamp, e.g. {{'forget': 1.0}}, got {gates!r}."
        )
    sites, skipped, types = _discover(model)
    chosen = _select(sites, skipped, types, layers, model)
    sizes: dict[str, int] = {}
    for site in chosen:
        for direction in site.directions:
            cell = direction.rnn.cell
            if direction.cell_name in _NO_CLAMP:
                raise ValueError(
                    f"Received layer {site.name!r} (a {type(cell).__name__}, "
                    f"{direction.cell_name!r}) for clamping: `clamp_gates` covers the LSTM "
                    "cells (the lstm_apps LSTM cells and variants, keras.layers.LSTM), whose "
                    f"cells take `gate_clamp`; the {type(cell).__name__} does not: "
                    f"{_NO_CLAMP[direction.cell_name]}. Choose other layers with `layers`."
                )
            spec = cell.spec if isinstance(cell, LSTMCellBase) else GateSpec()
            try:
                check_gate_clamp(clamp, spec=spec, argument="gates")
            except ValueError as error:
                raise ValueError(
                    f"{error} (layer {site.name!r}, {direction.cell_name} cell)"
                ) from None
            sizes[site.name] = int(cell.units)
    unit_list = _clamp_units(units, sizes)
    if not isinstance(model, (keras.Sequential,)) and not _is_functional(model):
        raise ValueError(
            f"Received a subclassed model ({type(model).__name__}) for argument `model`: "
            "`clamp_gates` clones the model, which needs a Functional or Sequential one."
        )
    targets = {id(site.layer) for site in chosen}

    def clone(layer: Any) -> Any:
        if id(layer) not in targets:
            return _copy_layer(layer)
        if isinstance(layer, keras.layers.Bidirectional):
            forward = _clamp_cell_config(layer.forward_layer, clamp, unit_list)
            backward = _clamp_cell_config(layer.backward_layer, clamp, unit_list)
            return keras.layers.Bidirectional(
                forward, merge_mode=layer.merge_mode, backward_layer=backward, name=layer.name
            )
        return _clamp_cell_config(layer, clamp, unit_list)

    twin = keras.models.clone_model(model, clone_function=clone, recursive=True)
    twin.set_weights(model.get_weights())
    if getattr(model, "compiled", False):
        try:
            twin.compile_from_config(model.get_compile_config())
        except Exception as error:  # a custom loss or metric Keras cannot rebuild
            logger.warning("The clamped twin could not be compiled like the model: %s", error)
    logger.info(
        "Clamped %s in layers %s (units: %s).",
        clamp,
        [s.name for s in chosen],
        "all" if unit_list is None else unit_list,
    )
    return twin


def _copy_layer(layer: Any) -> Any:
    """A fresh layer from `layer`'s config, with its assets (lookup tables).

    `TextVectorization` and the lookup layers keep their vocabulary in a
    table that the config does not hold; Keras saves it as an asset, and so
    the copy loads it the same way. Weights are set by the caller.
    """
    copy = layer.__class__.from_config(layer.get_config())
    if hasattr(layer, "save_assets"):
        with tempfile.TemporaryDirectory() as folder:
            layer.save_assets(folder)
            copy.load_assets(folder)
    return copy


def _is_functional(model: Any) -> bool:
    try:
        return bool(model.inputs) and hasattr(model, "operations")
    except (AttributeError, ValueError):
        return False
