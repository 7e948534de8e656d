"""Executes `notebooks/02_imdb_sentiment.ipynb` with tiny settings (nbclient)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_imdb_sentiment.ipynb"


def _reviews(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = ["the", "film", "plot", "cast", "was", "a", "and", "scene", "story", "music"]
    rows = []
    for i in range(n):
        tone = ["great", "wonderful", "loved"] if i % 2 else ["awful", "dull", "boring"]
        text = " ".join(rng.choice(words + tone, rng.integers(8, 30)))
        rows.append((f"{text.capitalize()}.<br /><br />{rng.choice(tone)}!", i % 2))
    return pd.DataFrame(rows, columns=["text", "label"])


def test_notebook_starts_with_parameters_and_is_stored_executed_from_a_full_run():
    # Stored executed (figures show on the web), from a full run, not a quick one.
    import re

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "QUICK" in code[0].source and "DATA" in code[0].source
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 2  # curves, gates
    text = "".join(out.get("text", "") for out in outputs)
    (accuracy,) = re.findall(r"\{'test_accuracy': (0\.\d+)", text)[:1]
    assert float(accuracy) >= 0.9
    assert "TextSplits(train=22500, val=2500, test=25000" in text  # all the reviews


def test_notebook_runs_quick(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    _reviews(240, seed=0).to_csv(data / "train.csv", index=False)
    _reviews(80, seed=1).to_csv(data / "test.csv", index=False)
    monkeypatch.setenv("LSTM_APPS_QUICK", "1")
    monkeypatch.setenv("LSTM_APPS_IMDB", str(data))
    monkeypatch.setenv("LSTM_APPS_OUTPUT", str(tmp_path / "run"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    default_run = NOTEBOOK.parent / "runs" / "02_imdb_sentiment"
    existed = default_run.exists()
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, if a cell fails

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    text = "\n".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", "")) for out in outputs
    )
    assert "TextSplits(train=216, val=24, test=80" in text
    assert "'test_accuracy'" in text and "SentimentResult(cell='standard'" in text
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 2  # curves, gate
    assert (tmp_path / "run" / "model.keras").is_file()
    assert default_run.exists() == existed  # wrote only under tmp_path
