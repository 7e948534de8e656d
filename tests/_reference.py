"""An independent NumPy implementation of every cell of the family.

Written from the equations in Greff et al. (2017), Table/Section 2, one variant
at a time, without using lstm_apps code: the tests compare the Keras cells
against it. Also `on_tensorflow_else`, which the cell test modules share.
"""

from __future__ import annotations

import keras
import numpy as np

# variant -> (gates with their own weights in kernel order, peepholes, flags)
STRUCTURE = {
    "standard": ("ifco", "", {}),
    "np": ("ifco", "", {}),
    "peephole": ("ifco", "ifo", {}),
    "vanilla": ("ifco", "ifo", {}),
    "coupled": ("fco", "", {"cifg": True}),
    "coupled_peephole": ("fco", "fo", {"cifg": True}),
    "cifg": ("fco", "fo", {"cifg": True}),
    "nig": ("fco", "fo", {}),
    "nfg": ("ico", "io", {}),
    "nog": ("ifc", "if", {}),
    "niaf": ("ifco", "ifo", {"niaf": True}),
    "noaf": ("ifco", "ifo", {"noaf": True}),
    "fgr": ("ifco", "ifo", {"fgr": True}),
}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def on_tensorflow_else(cases, elsewhere):
    """Every case on TensorFlow, a few on the other backends (same code)."""
    return list(cases) if keras.backend.backend() == "tensorflow" else list(elsewhere)


def run_reference(variant, weights, x, mask=None, go_backwards=False, h0=None, c0=None):
    """Runs the NumPy cell over `x` (batch, time, features).

    Args:
        variant: key of STRUCTURE.
        weights: dict with "kernel", "recurrent_kernel", "bias" and, as the
            variant has them, "p_i", "p_f", "p_o", "gate_recurrent_kernel".
        mask: optional (batch, time) booleans; masked steps keep the state
            and repeat the previous output, as Keras does.

    Returns:
        (outputs (batch, time, units) in processing order, h, c).
    """
    blocks, peeps, flags = STRUCTURE[variant]
    W, R = weights["kernel"], weights["recurrent_kernel"]
    b = weights.get("bias")
    u = R.shape[0]
    batch, steps, _ = x.shape
    h = np.zeros((batch, u)) if h0 is None else h0.copy()
    c = np.zeros((batch, u)) if c0 is None else c0.copy()
    prev = np.zeros((batch, 3 * u))
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outs = []
    out = np.zeros((batch, u))
    for t in order:
        z = x[:, t] @ W + h @ R + (b if b is not None else 0.0)
        zs = {g: z[:, k * u : (k + 1) * u] for k, g in enumerate(blocks)}
        if flags.get("fgr"):
            a = prev @ weights["gate_recurrent_kernel"]
            for k, g in enumerate("ifo"):
                zs[g] = zs[g] + a[:, k * u : (k + 1) * u]
        f = sigmoid(zs["f"] + (weights["p_f"] * c if "f" in peeps else 0)) if "f" in zs else 1.0
        if flags.get("cifg"):
            i = 1.0 - f
        elif "i" in zs:
            i = sigmoid(zs["i"] + (weights["p_i"] * c if "i" in peeps else 0))
        else:
            i = 1.0
        g = zs["c"] if flags.get("niaf") else np.tanh(zs["c"])
        c_new = f * c + i * g
        o = sigmoid(zs["o"] + (weights["p_o"] * c_new if "o" in peeps else 0)) if "o" in zs else 1.0
        h_new = o * (c_new if flags.get("noaf") else np.tanh(c_new))
        if flags.get("fgr"):
            prev_new = np.concatenate([np.broadcast_to(v, (batch, u)) for v in (i, f, o)], -1)
        if mask is not None:
            m = mask[:, t][:, None]
            h_new = np.where(m, h_new, h)
            c_new = np.where(m, c_new, c)
            out = np.where(m, h_new, out)
            if flags.get("fgr"):
                prev_new = np.where(m, prev_new, prev)
        else:
            out = h_new
        h, c = h_new, c_new
        if flags.get("fgr"):
            prev = prev_new
        outs.append(out)
    return np.stack(outs, 1), h, c


_NAMES = {
    "input_gate_peephole_weights": "p_i",
    "forget_gate_peephole_weights": "p_f",
    "output_gate_peephole_weights": "p_o",
}


def reference_name(variable) -> str:
    """The key of `run_reference`'s `weights` that holds the cell weight `variable`."""
    key = variable.path.split("/")[-1]
    return _NAMES.get(key, key)


def weights_of(cell) -> dict:
    """The cell's weights as a dict of float64 arrays under the reference's names."""
    return {reference_name(w): np.asarray(w.numpy(), dtype="float64") for w in cell.weights}
