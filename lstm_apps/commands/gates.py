"""`lstm-apps gates`: trace the gates of a saved model, write plots and CSVs, ablate gates."""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gates",
        help="trace the LSTM gates of a saved model on text or a CSV sequence",
        description=(
            "Runs a saved Keras model (.keras) on the given input, traces the "
            "input, forget and output gates, candidate, cell and hidden state of "
            "every LSTM layer at every time step, and writes heatmaps, line plots "
            "and histograms (PNG) and the trace as CSV. With --clamp GATE=VALUE it also "
            "runs a twin of the model with that gate held constant (the original is not "
            "changed) and prints how the outputs, and with --label the loss and metrics, "
            "change."
        ),
    )
    parser.add_argument(
        "model", type=Path,
        help="the saved model (.keras), or a forecast run folder or forecaster folder (its "
        "network, with the CSV preprocessed as the forecaster does)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--text",
        action="append",
        metavar="TEXT",
        help="a text for a model that takes raw strings (sentiment); repeat for several",
    )
    source.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="a sequence for a model that takes numbers: one row per time step, "
        "one column per feature",
    )
    parser.add_argument(
        "--columns",
        nargs="+",
        metavar="COLUMN",
        help="CSV columns to use as features, in order (default: every numeric column)",
    )
    parser.add_argument(
        "--layers", nargs="+", metavar="LAYER", help="layers to trace (default: all LSTM layers)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="output folder (default: a 'gates' folder beside the model)",
    )
    parser.add_argument(
        "--units", type=int, default=4, help="units shown in the line plots (default: 4)"
    )
    parser.add_argument(
        "--clamp",
        action="append",
        metavar="GATE=VALUE",
        help="also run a twin of the model with a gate held at a constant (forget=1, "
        "forget=0, input=0, output=1; repeat for several gates) in the --layers (every LSTM "
        "layer unless given), and print how the outputs (and, with --label, the loss and "
        "metrics) change (default: none)",
    )
    parser.add_argument(
        "--clamp-units",
        nargs="+",
        type=int,
        metavar="UNIT",
        help="unit indices that --clamp holds (default: every unit)",
    )
    parser.add_argument(
        "--label",
        action="append",
        type=float,
        metavar="LABEL",
        help="the target of each input (one per --text, or one for --csv), to print the "
        "loss and metrics with and without --clamp (default: none)",
    )
    parser.set_defaults(func=run)


def _parse_clamp(items: list[str]) -> dict[str, float]:
    """`["forget=1", "output=0.5"]` -> `{"forget": 1.0, "output": 0.5}` (names checked later)."""
    clamp: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name.strip() or number is None:
            raise ValueError(
                f"Received --clamp {item!r}, expected GATE=VALUE with a gate among input, "
                "forget, output and a number in [0, 1], e.g. --clamp forget=1."
            )
        clamp[name.strip()] = number
    return clamp


def _outputs(model: Any, inputs: Any) -> Any:
    import numpy as np

    out = model.predict(inputs, verbose=0)
    if isinstance(out, (list, tuple)):
        out = np.concatenate([np.reshape(o, (len(o), -1)) for o in out], axis=1)
    elif isinstance(out, dict):
        out = np.concatenate([np.reshape(o, (len(o), -1)) for o in out.values()], axis=1)
    return np.reshape(np.asarray(out, dtype="float64"), (len(out), -1))


def _print_clamp_change(
    model: Any, twin: Any, inputs: Any, labels: list[float] | None, what: str,
    before: Any = None,
) -> None:
    """`before`: the model's `_outputs` on `inputs`, when the caller has them already."""
    import numpy as np

    before = _outputs(model, inputs) if before is None else before
    after = _outputs(twin, inputs)
    print(f"Clamped {what}:")
    if before.shape[1] <= 4:
        for sample, (b, a) in enumerate(zip(before, after)):
            shown = ", ".join(f"{x:.4g} -> {y:.4g}" for x, y in zip(b, a))
            print(f"  output[{sample}]: {shown}")
    print(f"  mean |output change|: {float(np.mean(np.abs(after - before))):.4g}")
    if labels is None:
        return
    if not getattr(model, "compiled", False):
        print("  (the saved model is not compiled: no loss or metrics to compare)")
        return
    y = np.asarray(labels, dtype="float32").reshape(len(labels), *([1] * (before.ndim - 1)))
    original = model.evaluate(inputs, y, verbose=0, return_dict=True)
    clamped = twin.evaluate(inputs, y, verbose=0, return_dict=True)
    for name, value in original.items():
        if name in clamped:
            change = float(clamped[name]) - float(value)
            print(f"  {name}: {float(value):.4g} -> {float(clamped[name]):.4g} ({change:+.4g})")


def _csv_inputs(model: Any, path: Path, columns: list[str] | None) -> tuple[Any, str]:
    import numpy as np
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"CSV file not found: {path}")
    frame = pd.read_csv(path)
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"Received --columns {missing} that {path.name} does not have; its "
                f"columns are {list(frame.columns)}."
            )
        frame = frame[columns]
    else:
        frame = frame.select_dtypes("number")
    if frame.empty:
        raise ValueError(f"{path.name} has no numeric columns to use as features.")
    values = frame.to_numpy(dtype="float32")
    names = ", ".join(map(str, frame.columns))
    note = f"{len(values)} steps x {values.shape[1]} features ({names})"
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, ValueError, IndexError):
        shape = None
    if shape is not None and len(shape) == 3:
        steps, features = shape[1], shape[2]
        if features is not None and values.shape[1] != features:
            raise ValueError(
                f"The model takes {features} features per step, {path.name} gives "
                f"{values.shape[1]} ({list(frame.columns)}); choose them with --columns."
            )
        if steps is not None and len(values) != steps:
            if len(values) < steps:
                raise ValueError(
                    f"The model takes sequences of {steps} steps, {path.name} has "
                    f"only {len(values)} rows."
                )
            values = values[-steps:]
            note += f"; the model takes {steps} steps, using the last {steps} rows"
    return np.asarray(values)[None], note


def _forecaster_folder(path: Path) -> Path | None:
    """The forecaster folder that `path` is, holds, or (a model.keras) sits in; else None."""
    for folder in ((path, path / "forecaster") if path.is_dir() else (path.parent,)):
        if (folder / "forecaster.json").is_file():
            return folder
    return None


def _forecaster_inputs(folder: Path, path: Path, columns: list[str] | None
                       ) -> tuple[Any, Any, list[list[str]], str]:
    """The network of a saved forecaster and its input window for the CSV `path`.

    The window is the last one of the series, built by the forecaster itself
    (transform, scaling, season channel), so its dates label the time axis.
    The date, target and covariate columns come from the run's `config.json`
    when the forecaster sits in a run folder, else the date column is the first
    one and the target the first of `--columns` (or the next column).
    """
    import pandas as pd

    from lstm_apps.data.series import read_csv
    from lstm_apps.recipes.forecast import load_forecaster

    forecaster = load_forecaster(folder)
    run_config = folder.parent / "config.json"
    settings: dict[str, Any] = {}
    if folder.name == "forecaster" and run_config.is_file():
        settings = json.loads(run_config.read_text(encoding="utf-8"))
    if not path.is_file():
        raise FileNotFoundError(f"Received --csv {path}, which is not a file.")
    header = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    covariates = [str(c) for c in forecaster.panel_.past_columns]
    date_col = settings.get("date_col") or (header[0] if header else "date")
    others = [c for c in header if c != date_col and c not in covariates]
    target = settings.get("target") or (columns[0] if columns else (others or [""])[0])
    frame = read_csv(path, date_col=date_col, target=target, covariates=covariates,
                     fill=settings.get("fill") or "raise", freq=settings.get("freq"))
    inputs, stamps = forecaster.network_inputs(
        1, frame[target], past_covariates=frame[covariates] if covariates else None,
        timestamps=True)
    daily = all(t == t.normalize() for t in stamps[0])
    tokens = [[str(t.date()) if daily else str(t) for t in window] for window in stamps]
    note = (f"the last {len(stamps[0])}-step window of {path.name} ({target}, "
            f"{tokens[0][0]} .. {tokens[0][-1]}), preprocessed by the forecaster")
    return forecaster.network_, inputs, tokens, note


def _check_source(model: Any, text: bool) -> None:
    """Raises unless the input option (--text or --csv) fits what the model takes."""
    try:
        spec = model.inputs[0]
        dtype, shape = str(spec.dtype), tuple(spec.shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        return  # a subclassed model: trace_gates checks the inputs itself
    takes_text = "string" in dtype
    if text and not takes_text:
        raise ValueError(
            f"Received --text, but the model takes numbers (input shape {shape}, {dtype}), "
            "not text; give a sequence with --csv FILE (one row per time step)."
        )
    if not text and takes_text:
        raise ValueError(
            "Received --csv, but the model takes raw text (a string input); give the "
            "texts with --text."
        )


def run(args: argparse.Namespace) -> int:
    import keras
    import numpy as np

    import lstm_apps  # noqa: F401  (registers the lstm_apps layers and cells)
    from lstm_apps import _io, _runs
    from lstm_apps.gates import trace_gates
    from lstm_apps.plots.gates import (
        plot_gate_heatmap,
        plot_gate_histograms,
        plot_gate_lines,
    )

    folder = _forecaster_folder(args.model)
    if folder is None and not args.model.is_file():
        raise FileNotFoundError(f"model file not found: {args.model}")
    if args.units <= 0:
        raise ValueError(f"--units must be a positive integer, got {args.units}.")
    clamp = _parse_clamp(args.clamp) if args.clamp else None
    if clamp is None and (args.clamp_units is not None or args.label is not None):
        raise ValueError("--clamp-units and --label go with --clamp GATE=VALUE.")
    out = args.out or (folder.parent if folder is not None else args.model.parent) / "gates"
    _runs.check_writable(out)  # before loading and tracing
    tokens = None
    if folder is not None:
        if args.text:
            raise ValueError(
                f"Received --text, but {args.model} is a forecaster, which takes numbers; "
                "give its series with --csv FILE."
            )
        model, inputs, tokens, note = _forecaster_inputs(folder, args.csv, args.columns)
    elif not zipfile.is_zipfile(args.model):
        raise ValueError(
            f"{args.model} is not a saved Keras model: a .keras file is a zip archive "
            "(keras.Model.save), this one is not."
        )
    else:
        try:
            model = keras.saving.load_model(args.model)
        except Exception as error:  # Keras raises many kinds for a broken archive
            raise ValueError(
                f"{args.model} cannot be loaded as a Keras model: {error}") from None
        _check_source(model, bool(args.text))
        if args.text:
            inputs = list(args.text)
            note = f"{len(inputs)} text(s)"
        else:
            inputs, note = _csv_inputs(model, args.csv, args.columns)
    twin = None
    if clamp is not None:
        from lstm_apps.gates import clamp_gates

        count = len(inputs) if args.text else 1
        if args.label is not None and len(args.label) != count:
            raise ValueError(
                f"Received {len(args.label)} --label value(s), expected one per input ({count})."
            )
        try:
            twin = clamp_gates(model, clamp, layers=args.layers, units=args.clamp_units)
        except ValueError as error:
            raise ValueError(f"--clamp: {error}") from None
    trace = trace_gates(model, inputs, layers=args.layers, tokens=tokens)
    written = []
    for layer in trace:
        shown = [g for g in ("i", "f", "o", "g") if g in layer.values]
        stem = layer.key.replace("/", "_")
        for sample in range(layer.batch_size):
            written.append(
                _io.save_figure(
                    out / f"{stem}_heatmap_{sample}.png",
                    plot_gate_heatmap(trace, layer.layer, shown, sample, layer.direction),
                )
            )
            written.append(
                _io.save_figure(
                    out / f"{stem}_lines_{sample}.png",
                    plot_gate_lines(
                        trace,
                        layer.layer,
                        shown,
                        sample,
                        layer.direction,
                        units=min(args.units, layer.units),
                    ),
                )
            )
        written.append(
            _io.save_figure(
                out / f"{stem}_histograms.png",
                plot_gate_histograms(trace, layer.layer, layer.direction),
            )
        )
    written.append(_io.write_csv(out / "trace.csv", trace.to_dataframe()))
    summary = trace.summary()
    written.append(_io.write_csv(out / "summary.csv", summary))
    print(f"Traced {', '.join(trace.keys)} on {note}.")
    # Texts go to predict as an object array (a unicode one is refused).
    array = np.asarray(inputs, dtype=object) if args.text else inputs
    predictions = _outputs(model, array) if args.text else None
    if args.text:
        for sample, words in enumerate(trace.tokens or [[]] * len(inputs)):
            shown = ", ".join(f"{v:.4g}" for v in predictions[sample])
            print(f"text[{sample}]: prediction {shown}; tokens: "
                  f"{' '.join(t for t in words if t)}")
    columns = [
        "layer",
        "direction",
        "gate",
        "status",
        "mean",
        "std",
        "saturated_low",
        "saturated_high",
    ]
    print(summary[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"Wrote {len(written)} files to {out}:")
    for path in written:
        print(f"  {path}")
    if twin is not None:
        held = ", ".join(f"{k}={v:g}" for k, v in clamp.items())
        units = "all units" if args.clamp_units is None else f"units {args.clamp_units}"
        _print_clamp_change(
            model, twin, array, args.label, f"{held} in {', '.join(trace.names)} ({units})",
            before=predictions,
        )
    return 0
