"""Tests of `lstm_apps._runs` (run folders) and of the CLI under kill -9, Ctrl-C and bad folders."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lstm_apps import _runs
from lstm_apps.cli import main

#: A forecast that trains in about a second per epoch (10 steps), the LSTM alone.
TINY = ["--length", "400", "--horizon", "4", "--units", "4", "--combine", "none",
        "--stride", "4", "--verbose", "2", "--no-plots"]


def strict_load(path: Path) -> object:
    """`json.loads` that rejects NaN and Infinity, as JSON parsers outside Python do."""
    def reject(token: str) -> None:
        raise ValueError(f"{path} holds the non-JSON token {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


# ------------------------------------------------------------------ the rule
def test_a_folder_that_holds_a_run_is_refused_with_the_options_named(tmp_path):
    run_dir = _runs.start(tmp_path / "r", {"units": 8})
    assert strict_load(run_dir / "config.json") == {"units": 8}
    with pytest.raises(FileExistsError, match=r"unfinished run; pass --resume .*r to continue "
                       r"it, --overwrite to delete it"):
        _runs.start(tmp_path / "r", {"units": 8})
    (run_dir / _runs.MARKER).write_text("{}")
    with pytest.raises(FileExistsError, match="holds a complete run; pass --overwrite"):
        _runs.start(tmp_path / "r")
    with pytest.raises(FileExistsError, match="is complete .* nothing to resume"):
        _runs.start(tmp_path / "r", mode="resume")
    with _runs.policy("overwrite"):
        assert _runs.start(tmp_path / "r", {"units": 12}) == run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json"]
    assert strict_load(run_dir / "config.json") == {"units": 12}


def test_an_empty_folder_is_used_and_a_missing_one_cannot_be_resumed(tmp_path):
    assert _runs.start(tmp_path) == tmp_path
    with pytest.raises(FileNotFoundError, match="Received --resume .*missing, but there is no"):
        _runs.start(tmp_path / "missing", mode="resume")
    with pytest.raises(ValueError, match=r"`mode`, expected one of \['new', 'overwrite', "
                       r"'resume'\], got 'again'"):
        _runs.start(tmp_path, mode="again")


def test_resuming_with_other_settings_is_refused(tmp_path):
    _runs.start(tmp_path / "r", {"units": 8, "epochs": 5, "verbose": 0})
    with pytest.raises(ValueError, match=r"settings other than the run's: units 12 \(the "
                       r"run's: 8\)"):
        _runs.start(tmp_path / "r", {"units": 12, "epochs": 5}, mode="resume")
    # the training output is no setting of the run
    _runs.start(tmp_path / "r", {"units": 8, "epochs": 5, "verbose": 2}, mode="resume")


def test_leftovers_of_killed_writes_are_removed_at_the_next_start(tmp_path):
    run_dir = tmp_path / "r"
    (run_dir / "plots").mkdir(parents=True)
    leftovers = [run_dir / ".model.keras.k2x_9q0a.keras", run_dir / "plots" / ".a.png.abcd1234.png"]
    for path in leftovers:
        path.write_bytes(b"")
    kept = run_dir / ".notes.txt"
    kept.write_text("mine")
    with _runs.policy("resume"):
        _runs.start(run_dir)
    assert not any(p.exists() for p in leftovers) and kept.exists()


def test_a_folder_under_a_regular_file_fails_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match=r"cannot create the run folder .*file/run: .*file is a "
                       "file"):
        _runs.check(blocker / "run")
    code = main(["forecast", *TINY, "--steps", "10", "--epochs", "1", "--output-dir",
                 str(blocker / "sub")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("lstm-apps forecast: error: cannot create the run folder ")
    assert "file/sub" in err and len(err.splitlines()) == 1
    assert not any(tmp_path.glob("**/model.keras"))  # failed before any work


def test_a_read_only_folder_fails_before_any_work(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a read-only folder is writable here")
        code = main(["forecast", *TINY, "--steps", "10", "--epochs", "1", "--output-dir",
                     str(folder)])
        err = capsys.readouterr().err.strip()
        assert code == 1 and "cannot create the run folder" in err and str(folder) in err
    finally:
        folder.chmod(0o755)


@pytest.fixture
def full_disk(tmp_path):
    """A 160 KiB tmpfs: a run's outputs do not fit (needs the right to mount)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'mount failed'}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_full_disk_stops_with_one_line_and_leaves_no_complete_run(full_disk):
    run_dir = full_disk / "runs" / "f"
    proc = _start(["forecast", *TINY, "--steps", "10", "--epochs", "1", "--plots",
                   "--output-dir", str(full_disk / "runs"), "--run-name", "f"], full_disk)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"lstm-apps forecast: error: cannot write {run_dir}/\S+: "
                        r"\[Errno 28\] No space left on device", last), last
    assert not _runs.is_complete(run_dir)
    assert not [p for p in run_dir.rglob(".*") if p.is_file()]  # no temporary files


def test_cli_refuses_to_reuse_a_run_folder_and_writes_readable_files(tmp_path, capsys):
    argv = ["forecast", *TINY, "--steps", "10", "--epochs", "1", "--verbose", "0",
            "--output-dir", str(tmp_path), "--run-name", "r"]
    umask = os.umask(0o022)
    try:
        assert main(argv) == 0
    finally:
        os.umask(umask)
    modes = {p.relative_to(tmp_path).as_posix(): oct(p.stat().st_mode & 0o777)
             for p in tmp_path.rglob("*") if p.is_file()}
    assert "r/forecaster/model.keras" in modes and "r/metrics.json" in modes
    assert set(modes.values()) == {"0o644"}, modes  # like TensorBoard's own files
    strict_load(tmp_path / "r" / "metrics.json")
    capsys.readouterr()
    first = (tmp_path / "r" / "metrics.json").stat().st_mtime_ns
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already holds a complete run; pass --overwrite" in err
    assert (tmp_path / "r" / "metrics.json").stat().st_mtime_ns == first
    assert not (tmp_path / "r" / _runs.BACKUP_DIR).exists()


# ------------------------------------------------------- kill -9 and Ctrl-C
def _start(argv: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lstm_apps.cli", *argv], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _wait_for_epochs(proc: subprocess.Popen, run_dir: Path, epochs: int) -> None:
    """Waits until the run's backup holds `epochs` finished epochs."""
    metadata = run_dir / _runs.BACKUP_DIR / "train" / "state" / "training_metadata.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended early: {proc.communicate()}")
        try:
            if json.loads(metadata.read_text())["epoch"] >= epochs:
                return
        except (OSError, ValueError, KeyError):
            pass  # not written yet, or being written
        time.sleep(0.1)
    proc.kill()
    pytest.fail("no epoch finished in time")


def test_a_killed_run_resumes_and_ends_with_every_epoch(tmp_path):
    run_dir = tmp_path / "runs" / "k"
    argv = ["forecast", *TINY, "--steps", "40", "--epochs", "4", "--output-dir", "runs",
            "--run-name", "k"]
    proc = _start(argv, tmp_path)
    _wait_for_epochs(proc, run_dir, 1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert not _runs.is_complete(run_dir) and (run_dir / "config.json").is_file()

    resumed = _start(["forecast", "--resume", "runs/k"], tmp_path)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    # The training continued, not restarted: its first epoch is not run again (the
    # fine-tuning after the calibration, 10 steps in 4 epochs, has its own 1/4).
    epochs = [line.split()[1] for line in out.splitlines() if line.startswith("Epoch ")]
    assert epochs[0] != "1/4" and "4/4" in epochs, epochs
    assert epochs.count("1/4") == 1  # the fine-tuning's
    metrics = strict_load(run_dir / "metrics.json")
    assert metrics["epochs_run"] == 8
    history = pd.read_csv(run_dir / "history.csv")
    assert list(history["epoch"]) == list(range(1, 9))
    assert list(history["phase"]) == ["train"] * 4 + ["finetune"] * 4
    assert not (run_dir / _runs.BACKUP_DIR).exists()
    assert not [p for p in run_dir.rglob(".*") if p.is_file()]  # no temporary files


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    run_dir = tmp_path / "runs" / "c"
    proc = _start(["forecast", *TINY, "--steps", "2000", "--epochs", "200", "--output-dir", "runs",
                   "--run-name", "c"], tmp_path)
    _wait_for_epochs(proc, run_dir, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "lstm-apps forecast: interrupted (Ctrl-C); the partial run is in runs/c; resume it "
        "with: lstm-apps forecast --resume runs/c"
    )
    assert not _runs.is_complete(run_dir)
    assert (run_dir / _runs.BACKUP_DIR / "train" / "state").is_dir()  # what --resume reads


def test_a_backtest_cut_off_by_ctrl_c_resumes_from_its_fold(tmp_path):
    base = tmp_path / "runs" / "b"
    proc = _start(["forecast", *TINY, "--steps", "40", "--epochs", "4", "--test-size", "40",
                   "--folds", "2", "--output-dir", "runs", "--run-name", "b"], tmp_path)
    _wait_for_epochs(proc, base / "fold_1", 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "lstm-apps forecast: interrupted (Ctrl-C); the partial backtest is in runs/b; "
        "resume it with: lstm-apps forecast --resume runs/b"
    )
    assert _runs.is_complete(base / "fold_0") and not _runs.is_complete(base)
    fold_0 = (base / "fold_0" / "metrics.json").stat().st_mtime_ns

    resumed = _start(["forecast", "--resume", "runs/b"], tmp_path)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "Backtest, 2 folds" in out
    assert (base / "fold_0" / "metrics.json").stat().st_mtime_ns == fold_0  # kept
    epochs = [line.split()[1] for line in out.splitlines() if line.startswith("Epoch ")]
    assert epochs[0] != "1/4", epochs  # fold 1 went on after its finished epoch
    assert list(pd.read_csv(base / "fold_1" / "history.csv")["epoch"]) == list(range(1, 9))
    assert strict_load(base / _runs.MARKER)["folds"] == 2
    assert (base / "backtest.csv").is_file() and not list(base.rglob(_runs.BACKUP_DIR))


def test_memory_resumption_keeps_the_models_that_finished(tmp_path, monkeypatch):
    from lstm_apps.recipes import memory

    config = memory.MemoryConfig(task="recall", lengths=(12,), marker_window=4,
                                 train_samples=64, test_samples=32, epochs=1, units=4,
                                 chrono=False, output_dir=str(tmp_path), run_name="m",
                                 plots=False)
    real_train, trained = memory._train, []

    def interrupted_after_one(*args, **kwargs):
        if trained:
            raise KeyboardInterrupt  # Ctrl-C while the second model trains
        trained.append(args[1])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(memory, "_train", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        memory.run(config)
    assert not _runs.is_complete(tmp_path / "m")
    assert (tmp_path / "m" / "models" / "L12-standard.keras").is_file()

    def counted(*args, **kwargs):
        trained.append(args[1])
        return real_train(*args, **kwargs)

    monkeypatch.setattr(memory, "_train", counted)
    with pytest.raises(FileExistsError, match="unfinished run; pass --resume"):
        memory.run(config)
    with _runs.policy("resume"):
        result = memory.run(config)
    assert trained == ["standard", "standard", "simple_rnn"]  # the first one trained once
    assert result.results["model"].tolist() == ["standard", "standard/bias0", "simple_rnn"]
    assert _runs.is_complete(tmp_path / "m") and not (tmp_path / "m" / ".backup").exists()
    assert sorted(p.name for p in (tmp_path / "m" / "models").iterdir()) == [
        "L12-simple_rnn.keras", "L12-standard-bias0.keras", "L12-standard.keras"]


@pytest.mark.parametrize("fusion", ["joint", "ensemble", "residual"])
def test_an_interrupted_sentiment_run_resumes_with_every_epoch(tmp_path, monkeypatch, fusion):
    import keras
    import numpy as np
    import pandas as pd

    from lstm_apps.recipes import sentiment

    rng = np.random.default_rng(0)
    words = np.array(["good", "great", "bad", "awful", "film", "plot", "the", "a"])
    labels = rng.integers(0, 2, 160)
    texts = [" ".join(rng.choice(words[[0, 1] if y else [2, 3]], 2).tolist()
                      + rng.choice(words[4:], 4).tolist()) for y in labels]
    frame = pd.DataFrame({"text": texts, "label": labels})
    config = sentiment.SentimentConfig(
        data=frame, output_dir=tmp_path / "s", units=4, embedding_dim=8, vocab_size=20,
        max_len=8, batch_size=32, epochs=2, patience=None, gate_monitor=False, verbose=0,
        fusion=fusion)
    # joint: one fit (no tag); ensemble and residual: the n-gram branch, then the
    # LSTM's fit (cut).
    cut = None if fusion == "joint" else "lstm"

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # after the backup of the first epoch
                raise KeyboardInterrupt

    real = _runs.training_callbacks
    monkeypatch.setattr(_runs, "training_callbacks", lambda path, tag=None: [
        *real(path, tag), *([Interrupt()] if tag == cut else [])])
    with pytest.raises(KeyboardInterrupt):
        sentiment.run(config)
    backup = tmp_path / "s" / ".backup"
    assert (backup / (cut or "") / "state").is_dir()
    if fusion != "joint":  # the n-gram branch had finished: kept, not trained again
        kept = pd.DataFrame(json.loads((backup / "finished" / "ngram.json").read_text())[
            "history"])
    monkeypatch.setattr(_runs, "training_callbacks", real)
    with _runs.policy("resume"):
        result = sentiment.run(config)
    history = result.history
    if fusion != "joint":
        ngram = history[history["branch"] == "ngram"].drop(columns="branch")
        pd.testing.assert_frame_equal(ngram.reset_index(drop=True), kept, check_dtype=False)
        history = history[history["branch"] == "lstm"].reset_index(drop=True)
    assert history["epoch"].tolist() == [1, 2]
    assert np.isnan(history["seconds"][0]) and history["seconds"][1] > 0
    assert strict_load(tmp_path / "s" / "metrics.json")["epochs_run"] == 2
    assert not backup.exists()
