"""Executes notebooks 01 (gates and memory) and 03 (forecasting) with tiny settings.

Each notebook reads `LSTM_APPS_QUICK=1` in its parameters cell (short series,
few epochs) and writes its run folders under `LSTM_APPS_OUTPUT`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("LSTM_APPS_QUICK", "1")
    monkeypatch.setenv("LSTM_APPS_OUTPUT", str(tmp_path / "runs"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend shows figures
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert "parameters" in book.cells[1].metadata.get("tags", []), "parameters cell first"
    client = nbclient.NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    return book


def _outputs(book: nbformat.NotebookNode, kind: str) -> list:
    return [
        out for cell in book.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if kind in out.get("data", {})
    ]


def test_forecasting_notebook_runs(tmp_path, monkeypatch):
    book = _execute("03_forecasting.ipynb", tmp_path, monkeypatch)
    run_dir = tmp_path / "runs" / "forecast"
    for name in ("forecaster/model.keras", "metrics.json", "history.csv", "config.json"):
        assert (run_dir / name).is_file(), name
    assert len(_outputs(book, "image/png")) >= 5
    text = "".join(
        out.get("text", "") for cell in book.cells for out in cell.get("outputs", [])
    )
    assert "ValueError: Received NaN or inf values {'sales': 1}" in text


def test_gates_and_memory_notebook_runs(tmp_path, monkeypatch):
    book = _execute("01_gates_and_memory.ipynb", tmp_path, monkeypatch)
    run_dir = tmp_path / "runs" / "memory"
    assert (run_dir / "results.csv").is_file() and (run_dir / "model.keras").is_file()
    assert len(_outputs(book, "image/png")) >= 5
    html = "".join(str(out["data"]["text/html"]) for out in _outputs(book, "text/html"))
    assert "retention" in html and "simple_rnn" in html
