"""Shared pytest fixtures: every test starts from the same seeds, quietly."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import pytest  # noqa: E402

#: The real IMDB data shipped beside the repository (see its README).
IMDB_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "imdb"


@pytest.fixture(autouse=True)
def _seed_everything():
    """Seeds Python, NumPy and the Keras backend before every test."""
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


@pytest.fixture
def imdb_dir() -> Path:
    """The real IMDB CSVs; skips with the reason when they are not there."""
    if not (IMDB_DIR / "train.csv.gz").exists():
        pytest.skip(f"real IMDB data not found at {IMDB_DIR}")
    return IMDB_DIR
