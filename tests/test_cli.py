"""Tests of `lstm-apps` as a whole: every documented command line, options, exit codes."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

import lstm_apps.tuning
from lstm_apps import cli
from lstm_apps.recipes import forecast, memory, sentiment

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_lines() -> list[str]:
    """Every `lstm-apps ...` command line of README.md, in code blocks and inline code."""
    text = README.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            lines += [part.strip() for part in line.split("&&")]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    lines += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    return [line for line in lines if line.startswith("lstm-apps ")]


def _help_lines() -> list[str]:
    """Every command line in the `examples:` epilogs and descriptions of the subcommands."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = []
    for command in sub.choices.values():
        epilog = (command.epilog or "").split("examples:", 1)
        if len(epilog) == 2:
            lines += [line.strip() for line in epilog[1].splitlines() if line.strip()]
        text = " ".join((command.description or "").split())
        lines += re.findall(r"`(lstm-apps [^`]+)`", text)
    return lines


def _runnable(line: str) -> bool:
    # Placeholders (RECIPE, <run folder>, forecast|sentiment), quoted messages
    # ("lstm-apps forecast: error: ...") and the bare names of commands that need
    # arguments (a heading's `lstm-apps tune`) are not command lines.
    return (not re.search(r"[|<>]|\b[A-Z]{3,}\b", line)
            and re.match(r"lstm-apps [a-z-]+(\s|$)", line) is not None
            and line not in ("lstm-apps tune", "lstm-apps gates"))


LINES = sorted({line for line in _readme_lines() + _help_lines() if _runnable(line)})


class Reached(Exception):
    """Raised by the recipe stubs: the command line got as far as starting the work."""


def _make_inputs(argv: list[str], root: Path) -> None:
    """Creates the data files that a command line names (tiny stand-ins)."""
    for flag, value in zip(argv, argv[1:]):
        if flag not in ("--data", "--test-data", "--csv"):
            continue
        path = root / value
        if Path(value).suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("date,text,label\n2020-01-01,a,1\n")
        else:  # a folder with train and test tables
            path.mkdir(parents=True, exist_ok=True)
            for split in ("train", "test"):
                (path / f"{split}.csv").write_text("text,label\na,1\n")


def test_the_readme_and_help_show_command_lines():
    # Guards the test below against finding nothing to run.
    commands = {shlex.split(line)[1] for line in LINES}
    assert {"forecast", "sentiment", "memory", "tune"} <= commands
    assert "lstm-apps sentiment --data train.csv.gz --test-data test.csv.gz" in LINES


@pytest.mark.parametrize("line", LINES)
def test_every_documented_command_line_works_as_written(line, tmp_path, monkeypatch):
    """Each line parses and builds its recipe's config: it fails only for want of data."""
    configs = []

    def stub(*args, **kwargs):
        configs.append(next(a for a in args if a is not None))  # backtest(None, config)
        raise Reached

    for module, name in ((forecast, "run"), (forecast, "backtest"), (sentiment, "run"),
                         (memory, "run"), (lstm_apps.tuning, "tune")):
        monkeypatch.setattr(module, name, stub)
    # "..." stands for more options: `lstm-apps tune forecast ... --chief HOST:PORT`.
    argv = shlex.split(re.sub(r"\s\.\.\.(?=\s|$)", "", line))[1:]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _make_inputs(argv, work)
    if argv[0] == "cells":  # quick: runs as it is
        assert cli.main(argv) == 0
        return
    if argv[0] == "gates":  # needs a saved model: parsing only
        args = cli.build_parser().parse_args(argv)
        assert args.func is not None
        return
    with pytest.raises(Reached):
        cli.main(argv)
    assert configs and type(configs[0]).__name__.endswith("Config")


def test_sentiment_readme_line_keeps_the_default_training_output(tmp_path, monkeypatch):
    # The top-level -v/--verbose (logging) used to overwrite sentiment's --verbose N.
    configs = []
    monkeypatch.setattr(sentiment, "run", lambda c: configs.append(c) or (_ for _ in ()).throw(
        Reached()))
    monkeypatch.chdir(tmp_path)
    _make_inputs(["--data", "train.csv.gz", "--test-data", "test.csv.gz"], tmp_path)
    for argv, verbose in ((["sentiment"], 1), (["-v", "sentiment"], 1),
                          (["sentiment", "--verbose", "2"], 2)):
        with pytest.raises(Reached):
            cli.main([*argv, "--data", "train.csv.gz", "--test-data", "test.csv.gz"])
        assert configs.pop().verbose == verbose


@pytest.mark.parametrize("command", ["forecast", "sentiment", "memory", "gates", "tune", "cells"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: lstm-apps {command}" in capsys.readouterr().out


def test_sentiment_output_dir_is_the_parent_of_run_folders(tmp_path, monkeypatch):
    configs = []
    monkeypatch.setattr(sentiment, "run", lambda c: configs.append(c) or (_ for _ in ()).throw(
        Reached()))
    monkeypatch.chdir(tmp_path)
    _make_inputs(["--data", "reviews.csv"], tmp_path)
    with pytest.raises(Reached):
        cli.main(["sentiment", "--data", "reviews.csv", "--output-dir", "out"])
    assert re.fullmatch(r"out/\d{8}-\d{6}-sentiment-standard", configs[0].output_dir.as_posix())
    with pytest.raises(Reached):
        cli.main(["sentiment", "--data", "reviews.csv", "--run-name", "a", "--cell", "gru"])
    assert configs[1].output_dir.as_posix() == "runs/sentiment/a"


def test_tune_help_warns_that_the_chief_is_unauthenticated(capsys):
    with pytest.raises(SystemExit):
        cli.main(["tune", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "unauthenticated and unencrypted" in text and "127.0.0.1" in text
    assert "0.0.0.0" not in text
    assert "--chief 0.0.0.0" not in README.read_text(encoding="utf-8")


# ------------------------------------------------------------------ gates
@pytest.fixture(scope="module")
def numeric_model(tmp_path_factory):
    import keras

    path = tmp_path_factory.mktemp("gates") / "numeric.keras"
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    model.save(path)
    return path


def test_gates_names_the_option_that_does_not_fit_the_model(numeric_model, capsys):
    assert cli.main(["gates", str(numeric_model), "--text", "a fine film"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "lstm-apps gates: error: Received --text, but the model takes numbers (input shape "
        "(None, 6, 2), float32), not text; give a sequence with --csv FILE (one row per time "
        "step)."
    )


def test_gates_rejects_a_file_that_is_no_model_and_an_unwritable_out(tmp_path, numeric_model,
                                                                      capsys):
    fake = tmp_path / "notes.keras"
    fake.write_text("not a model")
    assert cli.main(["gates", str(fake), "--text", "hi"]) == 2
    assert "notes.keras is not a saved Keras model: a .keras file is a zip archive" in \
        capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n" + "1,2\n" * 6)
    code = cli.main(["gates", str(numeric_model), "--csv", str(csv), "--out", str(blocker / "g")])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"lstm-apps gates: error: cannot create the folder {blocker}/g: {blocker} is a file")


# ------------------------------------------------------------ forecast CSVs
def test_forecast_names_the_file_of_an_empty_or_header_only_csv(tmp_path, capsys):
    empty, header = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("")
    header.write_text("date,sales\n")
    argv = ["forecast", "--date-col", "date", "--target", "sales", "--output-dir", "none"]
    assert cli.main([*argv, "--csv", str(empty)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"lstm-apps forecast: error: Received `csv` path {str(empty)!r} (--csv), an empty file; "
        "expected a header line with the date and target columns, then one row per time step.")
    assert cli.main([*argv, "--csv", str(header)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"lstm-apps forecast: error: Received `csv` path {str(header)!r} (--csv) with a header "
        "(['date', 'sales']) but no rows; expected one row per time step.")


def test_forecast_points_missing_days_to_freq_and_fill(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    days = pd.date_range("2024-01-01", periods=300, freq="D")
    kept = np.sort(np.random.default_rng(0).choice(300, 240, replace=False))
    path = tmp_path / "daily.csv"
    pd.DataFrame({"date": days[kept].strftime("%Y-%m-%d"), "sales": kept % 7}).to_csv(
        path, index=False)
    argv = ["forecast", "--csv", str(path), "--date-col", "date", "--target", "sales",
            "--output-dir", "none"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "regular grid of one step 'D' (1 days 00:00:00) with 60 of 300 timestamps " \
           "missing" in err
    assert "(--freq D) to insert the missing timestamps, and `fill` (--fill ffill or --fill " \
           "interpolate)" in err
