"""Distributed searches: a chief and two workers as separate processes on 127.0.0.1.

Each process is `lstm-apps tune forecast ...` with `--chief` or `--worker`,
sharing one folder; every process is killed at the end of its test, and
every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pandas as pd

from lstm_apps.recipes.forecast import ForecastConfig
from lstm_apps.tuning import results_dataframe
from tests.test_tuning import (
    FORECAST_SPACE,
    expected_columns,
    start_cli,
    stop,
    table_or_empty,
    tiny_argv,
    wait_for,
)

SPACE_COLUMNS = FORECAST_SPACE


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def logs(folder: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-25:])
        for path in sorted(folder.glob("*.log"))
    )


def wait_all(procs: dict[str, subprocess.Popen], timeout: float, folder: Path) -> None:
    for name, proc in procs.items():
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{name} did not finish in {timeout} s\n{logs(folder)}") from None


def start_cluster(tmp_path: Path, max_trials: int, *extra: str):
    port = free_port()
    directory = tmp_path / "shared"
    argv = tiny_argv(directory, max_trials, *extra)
    procs = {"chief": start_cli([*argv, "--chief", f"127.0.0.1:{port}"],
                                tmp_path / "chief.log")}
    for name in ("worker-a", "worker-b"):
        procs[name] = start_cli([*argv, "--worker", f"127.0.0.1:{port}", "--tuner-id", name],
                                tmp_path / f"{name}.log")
    return directory, procs


def check_outputs(directory: Path, table: pd.DataFrame, max_trials: int) -> None:
    """Every trial completed exactly once; the chief wrote the usual files."""
    assert table.columns.tolist() == expected_columns(SPACE_COLUMNS)
    assert table["trial_id"].tolist() == [str(i) for i in range(max_trials)]
    assert table["status"].tolist() == ["COMPLETED"] * max_trials
    assert table["score"].notna().all() and (table["duration_s"] > 0).all()
    project = directory / "forecast"
    csv = pd.read_csv(project / "trials.csv", dtype={"trial_id": str})
    assert csv["trial_id"].tolist() == table["trial_id"].tolist()
    assert csv["status"].tolist() == table["status"].tolist()
    for trial_id in table["trial_id"]:
        assert (project / f"trial_{trial_id}" / "run" / "forecaster" / "model.keras").is_file()
    config = ForecastConfig(**json.loads((project / "best_config.json").read_text()))
    best = table.loc[table["score"].idxmin()]
    assert (config.cell, config.units) == (best["cell"], best["units"])
    assert table["score"].tolist() == table["val_mae"].tolist()
    assert (project / "best_forecaster" / "forecaster.json").is_file()


def test_chief_and_two_workers_share_the_trials(tmp_path):
    max_trials = 4
    directory, procs = start_cluster(tmp_path, max_trials)
    try:
        wait_all(procs, 360, tmp_path)
    finally:
        for proc in procs.values():
            stop(proc)
    assert {n: p.returncode for n, p in procs.items()} == {
        "chief": 0, "worker-a": 0, "worker-b": 0}, logs(tmp_path)
    table = results_dataframe(directory)
    check_outputs(directory, table, max_trials)
    assert (table["attempts"] == 1).all()
    ran = table["tuner_id"].value_counts().to_dict()
    assert set(ran) == {"worker-a", "worker-b"}, ran  # both workers ran trials
    chief_out = (tmp_path / "chief.log").read_text()
    assert f"forecast search (chief) in {directory / 'forecast'}: {max_trials} trials, " \
        f"{max_trials} completed." in chief_out


def test_killed_worker_trial_is_finished_by_the_other_worker(tmp_path):
    max_trials = 4
    directory, procs = start_cluster(tmp_path, max_trials, "--worker-timeout", "8")
    project = directory / "forecast"
    try:
        def a_is_training() -> bool:
            table = table_or_empty(directory)
            mine = table[(table["status"] == "RUNNING") & (table.get("tuner_id") == "worker-a")]
            return any((project / f"trial_{t}" / "run" / "tb" / "train").is_dir()
                       for t in mine["trial_id"])

        wait_for(a_is_training, 240, "worker-a training a trial", tuple(procs.values()))
        table = table_or_empty(directory)
        (killed,) = table[(table["status"] == "RUNNING") & (table["tuner_id"] == "worker-a")][
            "trial_id"].tolist()
        procs["worker-a"].send_signal(signal.SIGKILL)
        procs["worker-a"].wait(timeout=30)
        wait_all({"chief": procs["chief"], "worker-b": procs["worker-b"]}, 360, tmp_path)
    finally:
        for proc in procs.values():
            stop(proc)
    assert procs["worker-a"].returncode == -signal.SIGKILL
    assert procs["chief"].returncode == 0 and procs["worker-b"].returncode == 0, logs(tmp_path)
    table = results_dataframe(directory)
    check_outputs(directory, table, max_trials)
    row = table.set_index("trial_id").loc[killed]
    assert row["attempts"] == 2 and row["tuner_id"] == "worker-b"
    info = json.loads((project / f"trial_{killed}" / "trial_info.json").read_text())
    assert [h["tuner_id"] for h in info["history"]] == ["worker-a", "worker-b"]
    assert info["history"][0]["outcome"].startswith("requeued: worker-a silent for")
    assert info["history"][1]["outcome"] == "completed"
    others = table[table["trial_id"] != killed]
    assert (others["attempts"] == 1).all()
    assert "trial_id" in table and len(set(table["trial_id"])) == max_trials
