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
    # Fresh Keras state (layer names, the global graph) without the full
    # `gc.collect()` of `free_memory=True`: with TensorFlow or JAX loaded, a
    # collection costs ~0.3 s of CPU, which was most of the time of the short
    # tests; Python's own collector still frees the cycles as it goes.
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def imdb_dir() -> Path:
    """The real IMDB CSVs; skips with the reason when they are not there."""
    if not (IMDB_DIR / "train.csv.gz").exists():
        pytest.skip(f"real IMDB data not found at {IMDB_DIR}")
    return IMDB_DIR
