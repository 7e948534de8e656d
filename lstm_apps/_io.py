"""Atomic file writes: write to a temporary file beside the target, then rename.

A crash or an error never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_json", "write_text", "write_csv", "save_model", "save_figure"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renames it onto `path` on success.

    Args:
        path: The final file path. Its folder is created if missing.
        suffix: Suffix of the temporary file (default: that of `path`; Keras
            needs `.keras` to save a model).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=suffix or target.suffix
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _write(path: str | os.PathLike, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes `text` to `path` atomically (UTF-8)."""
    return _write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Writes `data` as indented JSON to `path` atomically."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: str | os.PathLike, frame: Any, index: bool = False) -> Path:
    """Writes a pandas DataFrame to CSV atomically."""
    return _write(path, lambda p: frame.to_csv(p, index=index))


def save_model(path: str | os.PathLike, model: Any) -> Path:
    """Saves a Keras model (`.keras`) atomically."""
    return _write(path, lambda p: model.save(p))


def save_figure(path: str | os.PathLike, figure: Any, **kwargs: Any) -> Path:
    """Saves a matplotlib figure atomically (format from the suffix)."""
    kwargs.setdefault("dpi", 100)
    kwargs.setdefault("bbox_inches", "tight")
    return _write(path, lambda p: figure.savefig(p, format=Path(path).suffix[1:], **kwargs))
