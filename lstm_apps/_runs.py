"""Run folders: one rule for every recipe.

A run writes into one folder of its own:

- **Fresh.** A run starts in a new folder (a time stamp, the recipe and the
  cell, unless a name is given). An existing folder that holds anything is
  never silently reused: `start` refuses it and names `--overwrite` (delete
  it and start again) and `--resume` (continue an unfinished run). An empty
  folder is used as it is.
- **Complete.** A run is complete only when its marker, `metrics.json`, exists;
  recipes write it last, so a run that crashed or was killed (a full disk,
  SIGKILL) never looks complete.
- **Checked first.** `start` creates the folder and writes a probe file in it
  before any work, so an unwritable place (a read-only folder, a path under a
  regular file) fails at once with one clear message naming the path.
- **Clean.** Temporary files that a killed process left behind
  (`.model.keras.XXXXXXXX.keras`, see `lstm_apps._io`) are removed when the
  folder is next started.
- **Resumable.** `training_callbacks` gives `keras.callbacks.BackupAndRestore`
  (in `.backup/`) and an epoch log, so a run interrupted by Ctrl-C or
  `kill -9` continues from its last finished epoch when started again with
  the `"resume"` policy, and `history` gives back every epoch, those before
  the interruption included.

The policy of the next `start` (`"new"`, `"overwrite"` or `"resume"`) is set
with the `policy` context manager; the command line sets it from
`--overwrite` and `--resume`.

Example:

>>> import tempfile, pathlib
>>> from lstm_apps import _runs
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> run_dir = _runs.start(root / "demo", {"units": 8})
>>> _runs.is_complete(run_dir)
False
>>> _runs.start(root / "demo")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
FileExistsError: The run folder ... already holds an unfinished run; pass --resume ...
>>> with _runs.policy("resume"):
...     _runs.start(root / "demo", {"units": 8}) == run_dir
True
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lstm_apps import _io

__all__ = [
    "BACKUP_DIR",
    "CONFIG_FILE",
    "MARKER",
    "POLICIES",
    "check",
    "check_writable",
    "clean_leftovers",
    "clear_backup",
    "current",
    "default_name",
    "ensure_writable",
    "finished",
    "finished_path",
    "fresh_path",
    "history",
    "is_complete",
    "mark_finished",
    "policy",
    "start",
    "training_callbacks",
]

logger = logging.getLogger(__name__)

#: The file that marks a run as complete; every recipe writes it last.
MARKER = "metrics.json"
#: The settings of the run, written when it starts (and again at the end).
CONFIG_FILE = "config.json"
#: Where the training state of an unfinished run is kept (removed when done).
BACKUP_DIR = ".backup"
#: What `start` does with an existing folder.
POLICIES = ("new", "overwrite", "resume")
#: Settings that may differ between a run and its resumption.
_FREE_SETTINGS = frozenset({"verbose", "output_dir", "run_name"})

_POLICY: contextvars.ContextVar[str] = contextvars.ContextVar("lstm_apps_run_policy",
                                                              default="new")
_CURRENT: list[Path] = []


@contextlib.contextmanager
def policy(mode: str) -> Iterator[None]:
    """Sets what `start` does with an existing run folder inside the `with` block.

    Args:
        mode: `"new"` (the default: refuse a folder that holds anything),
            `"overwrite"` (delete its contents and start again) or `"resume"`
            (continue the unfinished run in it; refuse a complete one).
    """
    if mode not in POLICIES:
        raise ValueError(
            f"Received an invalid value for argument `mode`, expected one of "
            f"{list(POLICIES)}, got {mode!r}."
        )
    token = _POLICY.set(mode)
    try:
        yield
    finally:
        _POLICY.reset(token)


def current() -> Path | None:
    """The run folder most recently started in this process (None before any)."""
    return _CURRENT[-1] if _CURRENT else None


def is_complete(path: str | os.PathLike) -> bool:
    """Whether the run in `path` finished: its marker (`metrics.json`) exists."""
    return (Path(path) / MARKER).is_file()


def default_name(kind: str, detail: str) -> str:
    """A run folder name: the time stamp, the recipe and a detail (the cell, the task)."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{detail}"


def fresh_path(root: str | os.PathLike, name: str | None, kind: str, detail: str) -> Path:
    """`root / name`, or a new time-stamped folder under `root` when `name` is None.

    A time-stamped name that exists already gets `-2`, `-3`, ... added.
    """
    root = Path(root)
    if name:
        return root / name
    base = default_name(kind, detail)
    path, n = root / base, 1
    while path.exists():
        n += 1
        path = root / f"{base}-{n}"
    return path


def clean_leftovers(path: str | os.PathLike) -> list[Path]:
    """Removes the temporary files of interrupted writes in `path` and its subfolders.

    Returns:
        The removed files.
    """
    removed = []
    for folder, _, files in os.walk(path):
        for name in files:
            if _io.is_temp_name(name):
                leftover = Path(folder) / name
                with contextlib.suppress(OSError):
                    leftover.unlink()
                    removed.append(leftover)
    if removed:
        logger.info("removed %d temporary file(s) of interrupted writes in %s",
                    len(removed), path)
    return removed


def ensure_writable(path: str | os.PathLike) -> Path:
    """Creates the folder `path` if needed and checks that files can be written in it.

    Raises:
        OSError: With one line that names the path and the reason.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OSError(f"cannot create the folder {path}: a file of that name exists") from None
    except OSError as error:
        raise _io.os_error(f"cannot create the folder {path}", error) from None
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise _io.os_error(f"cannot write in the folder {path}", error) from None
    return path


def _differences(saved: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    def norm(value: Any) -> Any:  # JSON gives lists for tuples
        return list(value) if isinstance(value, (list, tuple)) else value

    def same(a: Any, b: Any) -> bool:
        return norm(a) == norm(b)

    return [
        f"{key} {config[key]!r} (the run's: {saved[key]!r})"
        for key in sorted(set(saved) & set(config))
        if key not in _FREE_SETTINGS and not same(saved[key], config[key])
    ]


def _existing_ancestor(path: Path) -> Path:
    for folder in [path, *path.parents]:
        if folder.exists():
            return folder
    return Path(".")


def check(
    path: str | os.PathLike,
    config: Mapping[str, Any] | None = None,
    *,
    mode: str | None = None,
) -> Path:
    """Checks, without writing anything, that `start(path, config)` would succeed.

    For recipes that check their input first and create the folder only
    then: an unwritable place or a refused folder still fails at once. A probe
    file is created and removed in the closest existing folder on the way.

    Raises:
        As `start`.
    """
    mode = _POLICY.get() if mode is None else mode
    if mode not in POLICIES:
        raise ValueError(
            f"Received an invalid value for argument `mode`, expected one of "
            f"{list(POLICIES)}, got {mode!r}."
        )
    path = Path(path)
    if path.is_dir():
        complete = is_complete(path)
        holds = any(not _io.is_temp_name(p.name) for p in path.iterdir())
        if mode == "resume" and complete:
            raise FileExistsError(
                f"The run in {path} is complete ({MARKER} exists): nothing to resume. "
                "Pass --overwrite to run it again."
            )
        if mode == "new" and holds:
            what = "a complete run" if complete else "an unfinished run"
            hint = ("--overwrite to delete it and start again" if complete else
                    f"--resume {path} to continue it, --overwrite to delete it and "
                    "start again")
            raise FileExistsError(
                f"The run folder {path} already holds {what}; pass {hint}, or choose "
                "another --run-name."
            )
    elif mode == "resume":
        raise FileNotFoundError(f"Received --resume {path}, but there is no such run folder.")
    saved_file = path / CONFIG_FILE
    if mode == "resume" and config is not None and saved_file.is_file():
        try:
            saved = json.loads(saved_file.read_text(encoding="utf-8"))
        except ValueError:
            saved = {}
        changed = _differences(saved, config)
        if changed:
            raise ValueError(
                f"Received --resume {path} with settings other than the run's: "
                f"{'; '.join(changed)}. Resume with the run's settings, or start a new run."
            )
    return check_writable(path, "run folder")


def check_writable(path: str | os.PathLike, what: str = "folder") -> Path:
    """Checks, without creating it, that the folder `path` can be created and written.

    A probe file is created and removed in the closest existing folder on the way.

    Raises:
        OSError: With one line that names the path and the reason.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OSError(f"cannot create the {what} {path}: a file of that name exists")
    ancestor = _existing_ancestor(path)
    if not ancestor.is_dir():
        raise OSError(f"cannot create the {what} {path}: {ancestor} is a file")
    try:
        fd, probe = tempfile.mkstemp(dir=ancestor, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise _io.os_error(
            f"cannot create the {what} {path}: cannot write in {ancestor}", error
        ) from None
    return path


def start(
    path: str | os.PathLike,
    config: Mapping[str, Any] | None = None,
    *,
    mode: str | None = None,
) -> Path:
    """Prepares the folder of one run under the current `policy`, before any work.

    Args:
        path: The run folder.
        config: The run's settings (JSON-ready); written to `config.json`. On
            resuming they must equal the saved ones (except `verbose`,
            `output_dir` and `run_name`).
        mode: Overrides the current `policy` (`"new"`, `"overwrite"`, `"resume"`).

    Returns:
        The run folder, created, checked writable and cleaned of leftovers.

    Raises:
        FileExistsError: The folder holds a run and the policy is `"new"`, or
            a complete run and the policy is `"resume"`.
        FileNotFoundError: Resuming a folder that does not exist.
        ValueError: Resuming with settings other than the run's.
        OSError: The folder cannot be created or written.
    """
    mode = _POLICY.get() if mode is None else mode
    path = check(path, config, mode=mode)
    if path.is_dir():
        clean_leftovers(path)
        if mode == "overwrite" and any(path.iterdir()):
            logger.warning("overwrite: deleting the previous run in %s", path)
            for entry in path.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    ensure_writable(path)
    if config is not None:
        _io.write_json(path / CONFIG_FILE, dict(config))
    if mode == "resume":
        logger.info("resuming the run in %s", path)
    _CURRENT.append(path)
    return path


def training_callbacks(path: str | os.PathLike, tag: str | None = None) -> list[Any]:
    """The callbacks that make one `fit` of the run in `path` resumable.

    An epoch log (`.backup/[TAG/]epochs.jsonl`, read back by `history`) and
    `keras.callbacks.BackupAndRestore` (in `.backup/[TAG/]state/`, two
    checkpoints so that one cut off mid-write is not the only one). Keras
    removes its state when `fit` ends normally, `history` the log; an
    interrupted `fit` leaves both for its resumption.

    Args:
        path: The run folder.
        tag: A subfolder of `.backup/` for runs that call `fit` several times.
    """
    import keras

    backup = Path(path) / BACKUP_DIR
    if tag:
        backup = backup / tag
    log = backup / "epochs.jsonl"

    class EpochLog(keras.callbacks.Callback):
        """Appends each finished epoch's logs to `log` (one JSON object a line)."""

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            backup.mkdir(parents=True, exist_ok=True)
            row = {"epoch": int(epoch), **{k: float(v) for k, v in (logs or {}).items()}}
            with open(log, "a", encoding="utf-8") as f:
                f.write(_io.strict_json(row, what=str(log)).replace("\n", "") + "\n")

    return [
        EpochLog(),
        keras.callbacks.BackupAndRestore(str(backup / "state"), double_checkpoint=True),
    ]


def history(path: str | os.PathLike, fit_history: Mapping[str, list[Any]],
            tag: str | None = None) -> Any:
    """Every epoch of a run's `fit` as a DataFrame with an `epoch` column (1, 2, ...).

    After a resumption, `fit` reports only the epochs it ran itself; the
    earlier ones come from the epoch log of `training_callbacks`, which is
    removed here once read.

    Args:
        path: The run folder (None: just `fit_history`).
        fit_history: `model.fit(...).history`.
        tag: As given to `training_callbacks`.
    """
    import pandas as pd

    frame = pd.DataFrame(dict(fit_history))
    n_fit = len(frame)
    if path is None:
        frame.insert(0, "epoch", range(1, n_fit + 1))
        return frame
    backup = Path(path) / BACKUP_DIR
    if tag:
        backup = backup / tag
    log = backup / "epochs.jsonl"
    rows = []
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                rows.append(json.loads(line))
    if rows:
        logged = pd.DataFrame(rows).drop_duplicates("epoch", keep="last").sort_values("epoch")
        total = int(logged["epoch"].max()) + 1
        earlier = logged[logged["epoch"] < total - n_fit].drop(columns="epoch")
        columns = list(frame.columns) or list(earlier.columns)
        frame = pd.concat([earlier.reindex(columns=columns), frame], ignore_index=True)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    if not (backup / "state").exists():  # fit ended: Keras removed its state
        shutil.rmtree(backup, ignore_errors=True)
    parent = Path(path) / BACKUP_DIR
    with contextlib.suppress(OSError):
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
    return frame


def finished_path(path: str | os.PathLike, name: str) -> Path:
    """Where a run keeps what one finished part left for a resumption.

    A recipe that trains several models in one run keeps each finished one
    (its weights or model, and a record from `mark_finished`) under
    `.backup/finished/`, so that a resumed run skips what was done;
    `clear_backup` removes them once the run is complete.

    Args:
        path: The run folder.
        name: File name below `.backup/finished/`.
    """
    return Path(path) / BACKUP_DIR / "finished" / name


def mark_finished(path: str | os.PathLike, tag: str, record: Mapping[str, Any]) -> Path:
    """Records that the part `tag` of the run in `path` finished (JSON, written last).

    Write the part's own files (`finished_path`) first: the record is what
    `finished` looks for, so a part cut off while saving is trained again.
    """
    return _io.write_json(finished_path(path, f"{tag}.json"), dict(record))


def finished(path: str | os.PathLike | None, tag: str) -> dict[str, Any] | None:
    """The record of `mark_finished` for `tag` (None: not finished, or no run folder)."""
    if path is None:
        return None
    record = finished_path(path, f"{tag}.json")
    if not record.is_file():
        return None
    return json.loads(record.read_text(encoding="utf-8"))


def clear_backup(path: str | os.PathLike) -> None:
    """Removes `.backup/` of a run that is about to be marked complete."""
    shutil.rmtree(Path(path) / BACKUP_DIR, ignore_errors=True)
