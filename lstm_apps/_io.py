"""Atomic file writes with normal file modes, and strict JSON.

Every file is written to a hidden temporary file beside the target
(`.NAME.XXXXXXXX.SUFFIX`), given the mode a plain `open()` would give it
(0644 under umask 022) and renamed onto the target: a crash or an error never
leaves a half-written file under the target's name. A process killed with
SIGKILL can leave the temporary file behind; `lstm_apps._runs` removes such
leftovers when a run folder is next used.

An `OSError` while writing (a full disk, a read-only folder) is raised again
as an `OSError` whose message names the file: ``cannot write
runs/x/model.keras: [Errno 28] No space left on device``.

JSON is strict (RFC 8259): NaN and infinities, which `json.dumps` writes as
bare `NaN` / `Infinity` tokens that other parsers reject, are written as
`null`, with a warning naming their keys.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import numbers
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "file_mode",
    "is_temp_name",
    "os_error",
    "strict_json",
    "write_json",
    "write_text",
    "write_csv",
    "save_model",
    "save_weights",
    "save_figure",
]

logger = logging.getLogger(__name__)

# Names of the temporary files `atomic_path` creates: `.NAME.XXXXXXXX.SUFFIX`
# (`tempfile.mkstemp` draws 8 characters of `[a-z0-9_]`; SUFFIX ends NAME).
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]+)?$")


def is_temp_name(name: str) -> bool:
    """Whether a file name is that of a temporary file left by `atomic_path`.

    Example:

    >>> from lstm_apps._io import is_temp_name
    >>> is_temp_name(".model.keras.k2x_9q0a.keras"), is_temp_name("model.keras")
    (True, False)
    """
    match = _TEMP_NAME.match(name)
    return bool(match) and match["name"].endswith(match["suffix"] or "")


_UMASK_LOCK = threading.Lock()


def file_mode() -> int:
    """The mode `open(path, "w")` gives a new file: 0o666 less the process umask.

    Example:

    >>> import os
    >>> from lstm_apps._io import file_mode
    >>> old = os.umask(0o022)
    >>> oct(file_mode())
    '0o644'
    >>> _ = os.umask(old)
    """
    with _UMASK_LOCK:  # reading the umask means setting it: keep threads out
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def os_error(message: str, cause: OSError) -> OSError:
    """An `OSError` whose text is `message` and the cause's reason, on one line.

    `str()` of it is ``MESSAGE: [Errno N] REASON`` (no repeated errno, no file
    name appended); its `errno` is the cause's.
    """
    code = f"[Errno {cause.errno}] " if cause.errno else ""
    error = OSError(f"{message}: {code}{cause.strerror or cause}")
    error.errno = cause.errno
    return error


def _cannot_write(path: Path, error: OSError) -> OSError:
    return os_error(f"cannot write {path}", error)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yields a temporary path beside `path`; renames it onto `path` on success.

    Args:
        path: The final file path. Its folder is created if missing.
        suffix: Suffix of the temporary file (default: that of `path`; Keras
            needs `.keras` to save a model).

    Raises:
        OSError: The folder or the file cannot be written; the message names
            the path.

    Example:

    >>> import tempfile, pathlib
    >>> from lstm_apps._io import atomic_path
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('hello', ['notes.txt'])
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=suffix or target.suffix
        )
        os.close(fd)
    except OSError as error:
        raise _cannot_write(target, error) from error
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as error:
            raise _cannot_write(target, error) from error
        try:
            # mkstemp creates the file 0600; give it the mode open() would.
            os.chmod(tmp_path, file_mode())
            os.replace(tmp_path, target)
        except OSError as error:
            raise _cannot_write(target, error) from error
    finally:
        with contextlib.suppress(OSError):
            if tmp_path.exists():
                tmp_path.unlink()


def _write(path: str | os.PathLike, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Writes `text` to `path` atomically (UTF-8)."""
    return _write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _finite(value: Any, key: str, bad: list[str]) -> Any:
    """`value` with every non-finite number replaced by None; their keys go to `bad`."""
    if isinstance(value, dict):
        return {k: _finite(v, f"{key}.{k}" if key else str(k), bad) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, f"{key}[{i}]", bad) for i, v in enumerate(value)]
    if isinstance(value, bool) or (
        type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
    ):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            bad.append(key or "(top level)")
            return None
        return number
    return value


def strict_json(data: Any, what: str = "JSON") -> str:
    """`data` as indented, strict JSON: NaN and infinities become `null` (with a warning).

    Args:
        data: JSON-ready data (dicts, lists, numbers, strings; NumPy scalars
            and other objects are converted, the latter with `str`).
        what: What is written, for the warning (e.g. the file name).

    Example:

    >>> from lstm_apps._io import strict_json
    >>> strict_json({"auc": float("nan"), "n": 3})
    '{\\n  "auc": null,\\n  "n": 3\\n}\\n'
    """
    bad: list[str] = []
    clean = _finite(data, "", bad)
    if bad:
        shown = ", ".join(bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        logger.warning(
            "%s: %d value(s) are NaN or infinite, written as null: %s", what, len(bad), shown
        )
    return json.dumps(clean, indent=2, sort_keys=True, default=str, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Writes `data` as indented, strict JSON to `path` atomically (see `strict_json`)."""
    return write_text(path, strict_json(data, what=Path(path).name))


def write_csv(path: str | os.PathLike, frame: Any, index: bool = False) -> Path:
    """Writes a pandas DataFrame to CSV atomically."""
    return _write(path, lambda p: frame.to_csv(p, index=index))


def save_model(path: str | os.PathLike, model: Any) -> Path:
    """Saves a Keras model (`.keras`) atomically."""
    return _write(path, lambda p: model.save(p))


def save_weights(path: str | os.PathLike, model: Any) -> Path:
    """Saves a Keras model's weights (`.weights.h5`) atomically."""
    with atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    return Path(path)


def save_figure(path: str | os.PathLike, figure: Any, **kwargs: Any) -> Path:
    """Saves a matplotlib figure atomically (format from the suffix)."""
    kwargs.setdefault("dpi", 100)
    kwargs.setdefault("bbox_inches", "tight")
    return _write(path, lambda p: figure.savefig(p, format=Path(path).suffix[1:], **kwargs))
