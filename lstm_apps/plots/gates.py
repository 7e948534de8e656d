"""Figures of gate traces: heatmaps, lines over time, histograms, memory timescales.

Every function takes a `GateTrace` (from `lstm_apps.trace_gates`) and
returns a `matplotlib.figure.Figure`. The figures are made with matplotlib's
object-oriented API, not `pyplot`: they are not registered with pyplot (no
global state, nothing to close, safe in callbacks); a notebook shows one when
it is the last expression of a cell, and `lstm_apps._io.save_figure` writes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from lstm_apps.gates import GateTrace, LayerTrace

__all__ = ["plot_gate_heatmap", "plot_gate_histograms", "plot_gate_lines", "plot_timescales"]

_NAMES = {
    "i": "input gate",
    "f": "forget gate",
    "o": "output gate",
    "g": "candidate",
    "c": "cell state",
    "h": "hidden state",
}
_SIGMOID = ("i", "f", "o")


def _layer_trace(trace: Any, layer: str | None, direction: str | None) -> LayerTrace:
    from lstm_apps.gates import GateTrace

    if not isinstance(trace, GateTrace):
        raise TypeError(
            "Received an invalid value for argument `trace`, expected a GateTrace "
            f"(from lstm_apps.trace_gates), got {type(trace).__name__}."
        )
    return trace.get(layer, direction)


def _gates(t: LayerTrace, gate: str | Sequence[str], argument: str = "gate") -> list[str]:
    gates = [gate] if isinstance(gate, str) else list(gate)
    if not gates:
        raise ValueError(
            f"Received an invalid value for argument `{argument}`, expected at "
            f"least one of {list(t.values)}, got {gate!r}."
        )
    for g in gates:
        if g in t.absent:
            raise ValueError(
                f"Received an invalid value for argument `{argument}`: layer "
                f"{t.key!r} ({t.cell} cell) has no gate {g!r}, the cell uses "
                f"{g} = {t.absent[g]:g}. Its gates and states: {list(t.values)}."
            )
        if g not in t.values:
            raise ValueError(
                f"Received an invalid value for argument `{argument}`, expected "
                f"one of {list(t.values)}, got {g!r}."
            )
    return gates


def _sample(t: LayerTrace, sample: Any) -> int:
    if (
        isinstance(sample, bool)
        or not isinstance(sample, (int, np.integer))
        or not (0 <= sample < t.batch_size)
    ):
        raise ValueError(
            "Received an invalid value for argument `sample`, expected an integer "
            f"in [0, {t.batch_size - 1}] (the trace has {t.batch_size} samples), "
            f"got {sample!r}."
        )
    return int(sample)


def _units(t: LayerTrace, units: Any, default: Sequence[int]) -> list[int]:
    if units is None:
        return list(default)
    if isinstance(units, (int, np.integer)) and not isinstance(units, bool):
        if units <= 0:
            raise ValueError(
                "Received an invalid value for argument `units`, expected a "
                f"positive number of units or a list of unit indices, got {units!r}."
            )
        return list(default)[: int(units)]
    chosen = list(units)
    if not chosen or not all(
        isinstance(u, (int, np.integer)) and not isinstance(u, bool) and 0 <= u < t.units
        for u in chosen
    ):
        raise ValueError(
            "Received an invalid value for argument `units`, expected unit indices "
            f"in [0, {t.units - 1}], got {units!r}."
        )
    return [int(u) for u in chosen]


def _tokens(trace: GateTrace, t: LayerTrace, sample: int, tokens: Any) -> list[str] | None:
    if tokens is None and trace.tokens is not None:
        tokens = trace.tokens[sample]
        if len(tokens) != t.timesteps:
            return None  # the layer's time axis is not the token axis
    if tokens is None:
        return None
    tokens = [str(x) for x in tokens]
    if len(tokens) != t.timesteps:
        raise ValueError(
            "Received an invalid value for argument `tokens`, expected one label "
            f"per time step ({t.timesteps}), got {len(tokens)}."
        )
    return tokens


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")


def _time_axis(ax: Axes, t: LayerTrace, tokens: list[str] | None, max_labels: int) -> None:
    """Labels the time axis with the tokens (or dates) if any, else "time step"."""
    if tokens is None:
        ax.set_xlabel("time step")
        return
    step = max(1, int(np.ceil(len(tokens) / max_labels)))
    positions = np.arange(0, len(tokens), step)
    ax.set_xticks(positions)
    ax.set_xticklabels([tokens[p] or "·" for p in positions], rotation=90, fontsize=7)
    filled = [x for x in tokens if x]
    ax.set_xlabel("date" if filled and all(_DATE.match(x) for x in filled) else "token")


def _empty_panel(ax: Any, text: str) -> None:
    """A grey note in the middle of an axes that has nothing to draw."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9,
            color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def _limits(gate: str, values: np.ndarray) -> tuple[float, float, str]:
    if gate in _SIGMOID:
        return 0.0, 1.0, "viridis"
    finite = np.abs(values[np.isfinite(values)])
    if gate in ("g", "h") and (finite.size == 0 or float(finite.max()) <= 1.0):
        return -1.0, 1.0, "RdBu_r"  # tanh-bounded (the minLSTM's or mLSTM's may not be)
    top = float(finite.max()) if finite.size else 1.0
    top = top or 1.0
    return -top, top, "RdBu_r"


_LAYOUTS = ("constrained", "tight", None)


def _check_layout(layout: Any) -> None:
    if layout not in _LAYOUTS:
        raise ValueError(
            "Received an invalid value for argument `layout`, expected one of "
            f"{list(_LAYOUTS)}, got {layout!r}."
        )


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True values."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _new_figure(
    rows: int, figsize: tuple[float, float] | None, width: float, height: float, layout: str | None
) -> tuple[Figure, list[Axes]]:
    figure = Figure(figsize=figsize or (width, height * rows), layout=layout)
    axes = figure.subplots(rows, 1, squeeze=False, sharex=True)[:, 0]
    return figure, list(axes)


def _fixed_margins(figure: Figure, labels: bool, colorbar: bool = False) -> None:
    """Margins in inches for `layout=None` (much faster to draw than constrained)."""
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=0.7 / width,
        right=1 - (0.6 if colorbar else 0.2) / width,
        top=1 - 0.35 / height,
        bottom=(1.0 if labels else 0.5) / height,
        hspace=0.6,
    )


def _title(t: LayerTrace, gate: str, sample: int | None) -> str:
    direction = "" if t.direction == "forward" else f" ({t.direction})"
    extra = f", computed as {t.computed[gate]}" if gate in t.computed else ""
    where = "" if sample is None else f", sample {sample}"
    return f"{t.layer}{direction}: {_NAMES[gate]} {gate}{extra}{where}"


def plot_gate_heatmap(
    trace: GateTrace,
    layer: str | None = None,
    gate: str | Sequence[str] = "f",
    sample: int = 0,
    direction: str | None = None,
    units: int | Sequence[int] | None = None,
    tokens: Sequence[str] | None = None,
    max_labels: int = 60,
    figsize: tuple[float, float] | None = None,
    layout: str | None = "constrained",
) -> Figure:
    """Heatmap of a gate for one sample: units (rows) by time (columns).

    For text, the tokens label the time axis, so you can read which words
    make the forget gate close (dark) or stay open (bright). Steps that the
    mask skipped are blank (light grey). Sigmoid gates use a 0..1 scale,
    g and h a -1..1 scale, c a scale symmetric around 0.

    Args:
        trace: A `GateTrace`.
        layer: Layer name (default: the first traced layer); a key such as
            `"bi/backward"` also works.
        gate: "i", "f", "o", "g", "c" or "h", or a list of them (one panel
            each, sharing the time axis). Default: "f".
        sample: Index of the sample in the traced batch. Default: 0.
        direction: "forward" or "backward" for a Bidirectional layer.
        units: All units (default), the first `n`, or a list of indices.
        tokens: Labels of the time axis; default: the trace's tokens for this
            sample, if it has them and they match the layer's time steps.
        max_labels: At most this many time-axis labels are written.
        figsize: Matplotlib figure size in inches.
        layout: Matplotlib layout engine: "constrained" (default), "tight",
            or None for fixed margins (fastest to draw).

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> import numpy as np, keras, lstm_apps
    >>> from lstm_apps.plots import plot_gate_heatmap
    >>> model = keras.Sequential([keras.Input((6, 2)), lstm_apps.LSTM(3, name="rnn")])
    >>> trace = lstm_apps.trace_gates(model, np.ones((1, 6, 2)))
    >>> figure = plot_gate_heatmap(trace, gate=["i", "f"], tokens=list("abcdef"))
    >>> [ax.get_ylabel() for ax in figure.axes[:2]]
    ['unit', 'unit']
    """
    t = _layer_trace(trace, layer, direction)
    gates = _gates(t, gate)
    sample = _sample(t, sample)
    _check_layout(layout)
    chosen = _units(t, units, range(t.units))
    labels = _tokens(trace, t, sample, tokens)
    import matplotlib

    width = min(16.0, max(6.0, 0.12 * t.timesteps + 2.0))
    height = min(6.0, max(1.6, 0.08 * len(chosen) + 1.0))
    figure, axes = _new_figure(len(gates), figsize, width, height, layout)
    for ax, g in zip(axes, gates):
        values = t.values[g][sample][:, chosen].T  # (units, time)
        low, high, cmap_name = _limits(g, values)
        cmap = matplotlib.colormaps[cmap_name].with_extremes(bad="#dddddd")
        image = ax.imshow(
            np.ma.masked_invalid(values),
            aspect="auto",
            interpolation="nearest",
            cmap=cmap,
            vmin=low,
            vmax=high,
            origin="lower",
        )
        ax.set_ylabel("unit")
        ax.set_title(_title(t, g, sample), fontsize=9)
        figure.colorbar(image, ax=ax, pad=0.01, fraction=0.04)
    _time_axis(axes[-1], t, labels, max_labels)
    if layout is None:
        _fixed_margins(figure, labels is not None, colorbar=True)
    for ax in axes:  # every unit labelled where the rows are tall enough (9 pt each)
        rows_fit = ax.get_position().height * figure.get_size_inches()[1] * 72 / 9
        if len(chosen) <= min(16, rows_fit):
            ax.set_yticks(range(len(chosen)))
            ax.set_yticklabels([str(u) for u in chosen], fontsize=7)
    return figure


def plot_gate_lines(
    trace: GateTrace,
    layer: str | None = None,
    gate: str | Sequence[str] = "f",
    sample: int = 0,
    direction: str | None = None,
    units: int | Sequence[int] | None = 4,
    tokens: Sequence[str] | None = None,
    max_labels: int = 60,
    figsize: tuple[float, float] | None = None,
    layout: str | None = "constrained",
) -> Figure:
    """A gate of a few units over time, as lines ("forget gate outputs over time").

    Args:
        trace: A `GateTrace`.
        layer: Layer name (default: the first traced layer).
        gate: "i", "f", "o", "g", "c" or "h", or a list (one panel each).
            Default: "f".
        sample: Index of the sample. Default: 0.
        direction: "forward" or "backward" for a Bidirectional layer.
        units: How many units (default 4): the units whose value varies most
            over time in this sample (of the first gate); or a list of unit
            indices.
        tokens: Labels of the time axis (default: the trace's tokens).
        max_labels: At most this many time-axis labels are written.
        figsize: Matplotlib figure size in inches.
        layout: Matplotlib layout engine: "constrained" (default), "tight",
            or None for fixed margins (fastest to draw).

    Returns:
        A `matplotlib.figure.Figure`. Steps that the mask skipped are shaded.

    Example:

    >>> import numpy as np, keras, lstm_apps
    >>> from lstm_apps.plots import plot_gate_lines
    >>> model = keras.Sequential([keras.Input((6, 2)), lstm_apps.LSTM(5, name="rnn")])
    >>> trace = lstm_apps.trace_gates(model, np.random.rand(2, 6, 2))
    >>> figure = plot_gate_lines(trace, gate="f", units=[0, 3])
    >>> len(figure.axes[0].get_lines())
    2
    """
    t = _layer_trace(trace, layer, direction)
    gates = _gates(t, gate)
    sample = _sample(t, sample)
    _check_layout(layout)
    first = t.values[gates[0]][sample]  # (time, units)
    spread = (
        np.nan_to_num(np.nanstd(first, axis=0), nan=-1.0)
        if t.mask[sample].any()
        else (np.zeros(t.units))
    )
    by_spread = [int(u) for u in np.argsort(-spread, kind="stable")]
    chosen = _units(t, units, by_spread)
    labels = _tokens(trace, t, sample, tokens)
    width = min(16.0, max(6.0, 0.12 * t.timesteps + 2.0))
    figure, axes = _new_figure(len(gates), figsize, width, 2.4, layout)
    steps = np.arange(t.timesteps)
    skipped = ~t.mask[sample]
    for ax, g in zip(axes, gates):
        for u in chosen:
            ax.plot(steps, t.values[g][sample][:, u], label=f"unit {u}", linewidth=1.2)
        for first, last in _runs(skipped):
            ax.axvspan(first - 0.5, last + 0.5, color="#eeeeee", linewidth=0)
        if g in _SIGMOID:
            ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel(g)
        ax.set_title(_title(t, g, sample), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right", ncol=min(4, len(chosen)))
    _time_axis(axes[-1], t, labels, max_labels)
    if layout is None:
        _fixed_margins(figure, labels is not None)
    return figure


def plot_gate_histograms(
    trace: GateTrace,
    layer: str | None = None,
    direction: str | None = None,
    gates: Sequence[str] = ("i", "f", "o", "g"),
    bins: int = 50,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Histograms of gate values, one panel per gate, over every sample and step.

    Only the steps the layer processed are counted (masked steps are left
    out). A gate that the cell does not have gets a panel that says so, and
    the coupled cell's input gate is labelled as computed (1 - f). Dashed
    lines mark the saturation thresholds 0.1 and 0.9 of the sigmoid gates.

    Args:
        trace: A `GateTrace`.
        layer: Layer name (default: the first traced layer).
        direction: "forward" or "backward" for a Bidirectional layer.
        gates: The gates (and states "c", "h") to show.
        bins: Number of histogram bins.
        figsize: Matplotlib figure size in inches.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> import numpy as np, keras, lstm_apps
    >>> from lstm_apps.plots import plot_gate_histograms
    >>> model = keras.Sequential([keras.Input((6, 2)),
    ...                           lstm_apps.LSTM(3, variant="nfg", name="rnn")])
    >>> trace = lstm_apps.trace_gates(model, np.random.rand(4, 6, 2))
    >>> figure = plot_gate_histograms(trace)
    >>> [ax.get_title() for ax in figure.axes]
    ['input gate i', 'forget gate f: absent (f = 1)', 'output gate o', 'candidate g']
    """
    t = _layer_trace(trace, layer, direction)
    if isinstance(gates, str):
        gates = [gates]
    gates = list(gates)
    known = ("i", "f", "o", "g", "c", "h")
    if not gates or any(g not in known for g in gates):
        raise ValueError(
            f"Received an invalid value for argument `gates`, expected a list of "
            f"names among {list(known)}, got {gates!r}."
        )
    if isinstance(bins, bool) or not isinstance(bins, int) or bins <= 0:
        raise ValueError(
            f"Received an invalid value for argument `bins`, expected a positive "
            f"integer, got {bins!r}."
        )
    columns = min(4, len(gates))
    rows = int(np.ceil(len(gates) / columns))
    figure = Figure(figsize=figsize or (3.2 * columns, 2.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(gates) :]:
        ax.set_visible(False)
    for ax, g in zip(axes, gates):
        if g in t.absent:
            ax.set_title(f"{_NAMES[g]} {g}: absent ({g} = {t.absent[g]:g})", fontsize=9)
            _empty_panel(ax, f"the {t.cell} cell\nhas no {_NAMES[g]}")
            continue
        values = t.valid(g).ravel()
        low, high, _ = _limits(g, values)
        ax.hist(values, bins=bins, range=(low, high) if g != "c" else None, color="#4477aa")
        if g in _SIGMOID:
            for edge in (0.1, 0.9):
                ax.axvline(edge, color="#aa3377", linestyle="--", linewidth=0.8)
        extra = f" = {t.computed[g]}" if g in t.computed else ""
        ax.set_title(f"{_NAMES[g]} {g}{extra}", fontsize=9)
        ax.set_xlabel("value")
    direction_text = "" if t.direction == "forward" else f" ({t.direction})"
    figure.suptitle(f"{t.layer}{direction_text}: {t.cell} cell", fontsize=10)
    return figure


def plot_timescales(
    trace: GateTrace,
    layers: str | Sequence[str] | None = None,
    bins: int = 30,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Memory timescales of the units, one histogram panel per layer and direction.

    A unit's timescale is 1 / (1 - f) steps, f its mean forget activation
    over the trace (see `GateTrace.timescales`); the x axis is logarithmic,
    a dashed line marks the median, and units with f = 1 (infinite
    timescale) are counted in the panel's title. A layer whose cell has no
    forget gate gets a panel that says so.

    Args:
        trace: A `GateTrace`.
        layers: Layer names (every direction of the layer) or keys (one
            direction, `"bi/backward"`) to show; default: every traced layer
            and direction.
        bins: Number of histogram bins (log-spaced).
        figsize: Matplotlib figure size in inches.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    >>> import numpy as np, keras, lstm_apps
    >>> from lstm_apps.plots.gates import plot_timescales
    >>> model = keras.Sequential([keras.Input((6, 2)),
    ...                           lstm_apps.LSTM(8, return_sequences=True, name="rnn"),
    ...                           lstm_apps.LSTM(3, variant="nfg", name="nfg")])
    >>> trace = lstm_apps.trace_gates(model, np.random.rand(4, 6, 2))
    >>> figure = plot_timescales(trace)
    >>> [ax.get_title().split(":")[0] for ax in figure.axes]
    ['rnn', 'nfg']
    >>> figure.axes[1].get_title()
    'nfg: no forget gate (nfg cell)'
    """
    from lstm_apps.gates import GateTrace as _GateTrace

    if not isinstance(trace, _GateTrace):
        raise TypeError(
            "Received an invalid value for argument `trace`, expected a GateTrace "
            f"(from lstm_apps.trace_gates), got {type(trace).__name__}."
        )
    if isinstance(bins, bool) or not isinstance(bins, int) or bins <= 0:
        raise ValueError(
            f"Received an invalid value for argument `bins`, expected a positive "
            f"integer, got {bins!r}."
        )
    if layers is None:
        chosen = list(trace.layers)
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError(
                "Received an invalid value for argument `layers`, expected None, a layer "
                f"name or key, or a list of them among {trace.keys}, got {layers!r}."
            )
        chosen = []
        for name in names:
            if name in trace.names:  # a layer: every direction
                chosen.extend(t for t in trace.layers if t.layer == name)
            elif name in trace.keys:  # one direction, "bi/backward"
                chosen.append(next(t for t in trace.layers if t.key == name))
            else:
                raise ValueError(
                    "Received an invalid value for argument `layers`, expected names or "
                    f"keys among {trace.keys}, got {name!r}."
                )
    count = len(chosen)
    columns = min(3, count)
    rows = int(np.ceil(count / columns))
    figure = Figure(figsize=figsize or (3.6 * columns, 2.8 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    for ax, t in zip(axes, chosen):
        if not t.has_forget_gate:
            ax.set_title(f"{t.key}: no forget gate ({t.cell} cell)", fontsize=9)
            _empty_panel(ax, "f = 1: no learned\nmemory decay")
            continue
        timescale = t.timescales()["timescale"]
        finite = timescale[np.isfinite(timescale)]
        infinite = int(timescale.size - finite.size)
        extra = f", {infinite} infinite" if infinite else ""
        median = float(np.median(timescale)) if timescale.size else float("nan")
        ax.set_title(f"{t.key}: median {median:.3g} steps{extra}", fontsize=9)
        if finite.size:
            low, high = max(float(finite.min()), 1.0), float(finite.max())
            if high <= low:
                high = low * 1.1
            edges = np.geomspace(low, high, bins + 1)
            ax.hist(finite, bins=edges, color="#4477aa")
            ax.set_xscale("log")
            if np.isfinite(median):
                ax.axvline(median, color="#aa3377", linestyle="--", linewidth=0.8)
        ax.set_xlabel("timescale 1 / (1 - f), steps")
        ax.set_ylabel("units")
    figure.suptitle("memory timescales per unit", fontsize=10)
    return figure
