"""Tests of the forecasting recipe: config checks, layers, baselines, metrics, runs, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from lstm_apps.cli import main
from lstm_apps.data import timeseries as ts
from lstm_apps.recipes import forecast as fc

#: A run of a few seconds: few steps, the LSTM with one classical model, 10 test origins.
TINY = dict(length=500, horizon=5, units=8, steps=60, epochs=3, combine=("auto_ets",),
            stride=10)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One small run with a run folder, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("runs")
    return fc.run(fc.ForecastConfig(**TINY, output_dir=str(out), run_name="tiny"))


# ------------------------------------------------------------------ config
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(horizon=0), ValueError, r"`horizon`, expected an integer >= 1, got 0"),
        (dict(lookback=-5), ValueError, r"`lookback`, expected an integer >= 1, got -5"),
        (dict(lookback=2.5), TypeError, r"`lookback`, expected an integer >= 1 or None, got 2.5"),
        (dict(cell="lstm9"), ValueError, r"`cell`, expected one of \['standard', .*'gru'\], "
                                         r"got 'lstm9'"),
        (dict(dropout=1.0), ValueError, r"`dropout`, expected a number in \[0.0, 1.0\), got 1.0"),
        (dict(interval_level=1.5), ValueError, r"`interval_level`.*got 1.5"),
        (dict(csv="x.csv"), ValueError, r"without `date_col` and `target`"),
        (dict(test_size=0), ValueError, r"`test_size`, expected a fraction in \(0, 1\) or a "
                                        r"number of points >= 1 .*got 0"),
        (dict(test_size=1.5), ValueError, r"`test_size`, expected a fraction in \(0, 1\)"),
        (dict(combine=("ets",)), ValueError, r"`combine`, expected names from \['auto_ets', "
                                             r"'auto_arima', 'theta'\] \(or none\), got \['ets'\]"),
        (dict(steps=0), ValueError, r"`steps`, expected an integer >= 1, got 0"),
        (dict(gate_monitor=True, cell="gru"), ValueError, r"`gate_monitor`=True with `cell`="),
        (dict(covariates="price"), TypeError, r"`covariates`, expected a sequence"),
        (dict(synthetic="nope"), ValueError, r"`synthetic`, expected one of \['default'"),
    ],
)
def test_config_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        fc.ForecastConfig(**kwargs)


def test_config_normalises_values():
    config = fc.ForecastConfig(cell="PEEPHOLE", covariates=["a", "b"], combine=["none"])
    assert config.cell == "peephole" and config.covariates == ("a", "b")
    assert config.combine == () and fc.make_forecaster(config).combine == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.horizon = 3
    forecaster = fc.make_forecaster(fc.ForecastConfig(units=12, horizon=7, interval_level=0.9))
    assert (forecaster.units, forecaster.horizon, forecaster.levels) == (12, 7, (0.9,))
    assert fc.make_forecaster(fc.ForecastConfig(intervals=False)).levels == ()


# ------------------------------------------------------------------ bad data, before training
def _no_training(monkeypatch):
    """Makes any call to fit fail, to prove that errors come before training."""

    def fail(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(keras.Model, "fit", fail)


def test_short_series_error_gives_the_numbers(monkeypatch):
    _no_training(monkeypatch)
    series = ts.synthetic(120)
    config = fc.ForecastConfig(lookback=100, horizon=10, output_dir=None)
    # 120 points, 24 of them the test part: 96 to fit on.
    with pytest.raises(ValueError, match=r"`lookback`=100, but the shortest series has 96 "
                                         r"points, and \d+ are needed .*lower `lookback`"):
        fc.run(config, series)
    with pytest.raises(ValueError, match=r"`test_size`=100: 100 test points of a series of "
                                         r"120 leave 20 to fit on, and `horizon`=10 needs "
                                         r"at least 22"):
        fc.run(fc.ForecastConfig(test_size=100, output_dir=None), series)


def test_nan_target_raises_or_is_filled(monkeypatch):
    series = ts.synthetic(400)
    series.iloc[[10, 11]] = np.nan
    series.iloc[20] = np.inf
    config = fc.ForecastConfig(**{**TINY, "length": None}, output_dir=None)
    with monkeypatch.context() as patch:
        _no_training(patch)
        with pytest.raises(ValueError, match=r"NaN or inf values \{'y': 3\} at 2000-01-11"):
            fc.run(config, series)
    config = fc.ForecastConfig(**{**TINY, "length": None}, fill="interpolate", output_dir=None)
    data = fc.load_data(config, series)  # what `run` trains on
    assert np.isfinite(data["y"]).all()
    assert data["y"].iloc[10] == pytest.approx(
        series.iloc[9] + (series.iloc[12] - series.iloc[9]) / 3
    )


def test_bad_user_data_is_rejected_before_training(monkeypatch):
    _no_training(monkeypatch)
    frame = ts.synthetic(400).to_frame("sales")
    frame["store"] = "north"
    config = fc.ForecastConfig(horizon=5, target="sales", covariates=("store",),
                               output_dir=None)
    with pytest.raises(ValueError, match=r"non-numeric columns \['store'\]"):
        fc.run(config, frame)
    plain = fc.ForecastConfig(horizon=5, output_dir=None)
    with pytest.raises(ValueError, match=r"not sorted"):
        fc.run(plain, frame["sales"].iloc[::-1])
    with pytest.raises(ValueError, match=r"duplicate timestamps"):
        fc.run(plain, pd.concat([frame["sales"].iloc[:5], frame["sales"].iloc[4:]]))
    with pytest.raises(TypeError, match=r"not a pandas DatetimeIndex"):
        fc.run(plain, frame["sales"].reset_index(drop=True))


# ------------------------------------------------------------------ metrics
def test_metrics_table_by_hand():
    actual = np.array([[2.0, 4.0], [4.0, 8.0]])
    pred = np.array([[1.0, 4.0], [4.0, 4.0]])
    train = np.array([0.0, 1.0, 3.0, 6.0])  # lag-2 differences: 3, 5 -> MASE scale 4
    table = fc.metrics_table(actual, {"m": pred, "same": actual}, train, season=2)
    m = table["m"]
    assert m[("mae", "all")] == pytest.approx(1.25)
    assert m[("mae", 1)] == pytest.approx(0.5) and m[("mae", 2)] == pytest.approx(2.0)
    assert m[("rmse", "all")] == pytest.approx(math.sqrt(17 / 4))
    assert m[("mase", "all")] == pytest.approx(1.25 / 4)
    assert m[("smape", 1)] == pytest.approx(100 * (2 / 3) / 2)
    assert (table["same"] == 0).all()
    assert list(table.index.get_level_values("step").unique()) == ["all", 1, 2]


# ------------------------------------------------------------------ a run
def test_run_writes_the_run_folder(tiny_run):
    run_dir = tiny_run.run_dir
    for name in ("forecaster/model.keras", "forecaster/forecaster.json", "metrics.json",
                 "history.csv", "config.json", "metrics.csv", "predictions.csv",
                 "forecast.csv"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "tb").rglob("events.out.tfevents.*"))
    plots = {p.name for p in (run_dir / "plots").glob("*.png")}
    assert {"forecast.png", "error_by_horizon.png", "learning_curves.png",
            "test_predictions.png", "future.png"} <= plots
    metrics = strict_load(run_dir / "metrics.json")
    assert metrics["mae"] == pytest.approx(tiny_run.metrics["mae"])
    # A daily series: the weekly season fails the seasonality test, the data's 50 passes.
    assert metrics["season"] == 50 and metrics["season_source"] == "data"
    assert metrics["lookback"] == tiny_run.model.lookback_
    config = json.loads((run_dir / "config.json").read_text())
    assert fc.ForecastConfig(**config) == tiny_run.config
    history = pd.read_csv(run_dir / "history.csv")
    # 3 epochs of training, then 3 of fine-tuning after the calibration.
    assert list(history["epoch"]) == [1, 2, 3, 4, 5, 6]
    assert list(history["phase"]) == ["train"] * 3 + ["finetune"] * 3
    assert not list(run_dir.parent.glob(".*"))  # no temporary file left behind
    assert not (run_dir / ".backup").exists()


def strict_load(path: Path) -> object:
    """`json.loads` that rejects NaN and Infinity, as JSON parsers outside Python do."""
    def reject(token: str) -> None:
        raise ValueError(f"{path} holds the non-JSON token {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


def test_run_compares_model_and_baselines_on_the_same_windows(tiny_run):
    table = tiny_run.table
    assert list(table.columns) == ["model", "lstm", "naive", "seasonal_naive", "drift",
                                   "auto_ets", "auto_arima", "theta", "oracle"]
    assert table.index.names == ["metric", "step"] and len(table) == 4 * 6
    pred = tiny_run.predictions
    y = tiny_run.data["y"]
    start = tiny_run.test_start
    assert start == 400
    # Origins from the last point before the test part, every `stride` steps.
    origins = pred["origin"].drop_duplicates()
    assert list(origins) == list(y.index[np.arange(start - 1, 500 - 5, TINY["stride"])])
    # Every row's actual value is the series at that timestamp, and the naive
    # forecast the value at its origin.
    np.testing.assert_allclose(pred["actual"], y.loc[pred["timestamp"]].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(pred["naive"], y.loc[pred["origin"]].to_numpy())
    assert (pred["timestamp"] > pred["origin"]).all()
    assert pred["timestamp"].min() == y.index[start]
    mae = np.abs(pred["actual"] - pred["model"]).mean()
    assert tiny_run.metrics["mae"] == pytest.approx(mae, rel=1e-6)
    assert tiny_run.metrics["baselines"]["naive"]["mae"] == pytest.approx(
        np.abs(pred["actual"] - pred["naive"]).mean(), rel=1e-9)
    # The model is the median of the LSTM and the classical model: of two, their mean.
    assert tiny_run.metrics["combination"] == "median"
    assert tiny_run.metrics["combination_weights"] == {}
    np.testing.assert_allclose(pred["model"], (pred["lstm"] + pred["auto_ets"]) / 2, rtol=1e-6)
    assert 0 <= tiny_run.metrics["coverage"] <= 1
    assert tiny_run.intervals.loc["all", "coverage"] == pytest.approx(
        ((pred["actual"] >= pred["lower"]) & (pred["actual"] <= pred["upper"])).mean())
    assert tiny_run.metrics["winkler"] >= tiny_run.metrics["interval_width"]
    assert len(tiny_run.metrics["noise_floor_mae"]) == 5


def test_forecast_future_frame(tiny_run):
    future = fc.forecast(tiny_run.model, tiny_run.data)
    last = tiny_run.data.index[-1]
    assert list(future.index) == list(pd.date_range(last, periods=6, freq="D")[1:])
    assert list(future.columns) == ["forecast", "lower", "upper"]
    assert future.attrs["interval_level"] == 0.8
    assert (future["lower"] <= future["forecast"]).all()
    saved = pd.read_csv(tiny_run.run_dir / "forecast.csv", index_col=0, parse_dates=True)
    np.testing.assert_allclose(saved["forecast"], future["forecast"], rtol=1e-5)
    # Forecasting from the raw Series, from a path, and fewer steps.
    series = tiny_run.data["y"]
    np.testing.assert_allclose(fc.forecast(tiny_run.model, series, horizon=2)["forecast"],
                               future["forecast"].iloc[:2], rtol=1e-5)
    np.testing.assert_allclose(fc.forecast(tiny_run.run_dir, series)["forecast"],
                               future["forecast"], rtol=1e-5)
    with pytest.raises(ValueError, match=r"`n`=9, but the model forecasts `horizon`=5 steps"):
        fc.forecast(tiny_run.model, series, horizon=9)
    lookback = tiny_run.model.lookback_
    with pytest.raises(ValueError, match=rf"Received 30 points in `data`, but the forecaster "
                                         rf"needs the last `lookback`={lookback} values"):
        fc.forecast(tiny_run.model, series.iloc[:30])
    with pytest.raises(TypeError, match=r"expected an LSTMForecaster from `run`"):
        fc.forecast(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), series)


def test_saved_forecaster_forecasts_the_same_in_a_fresh_process(tiny_run, tmp_path):
    data_path = tmp_path / "series.csv"
    tiny_run.data["y"].to_csv(data_path)
    code = (
        "import sys, pandas as pd\n"
        "from lstm_apps.recipes import forecast as fc\n"
        "series = pd.read_csv(sys.argv[2], index_col=0, parse_dates=True)['y']\n"
        "print(fc.forecast(sys.argv[1], series)['forecast'].to_json(orient='values'))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tiny_run.run_dir), str(data_path)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    fresh = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(fresh, fc.forecast(tiny_run.model, tiny_run.data)["forecast"],
                               rtol=1e-5)


def test_runs_are_reproducible(tiny_run):
    config = dataclasses.replace(tiny_run.config, output_dir=None)
    again = fc.run(config)
    pd.testing.assert_frame_equal(again.table, tiny_run.table, rtol=1e-5)


def test_user_dataframe_with_a_covariate(tmp_path):
    series = ts.synthetic(500, seed=3)
    frame = pd.DataFrame({"sales": series, "promo": np.sin(np.arange(500) / 7.0)})
    config = fc.ForecastConfig(**{**TINY, "length": None}, target="sales",
                               covariates=("promo",), output_dir=None)
    result = fc.run(config, frame)
    # Two target channels (deseasonalised, with its season) and the covariate.
    assert result.model.network_.input_shape == (None, result.model.lookback_, 3)
    assert "oracle" not in result.table.columns
    pred = result.predictions
    assert (pred["lower"] <= pred["model"]).all() and (pred["model"] <= pred["upper"]).all()
    future = fc.forecast(result.model, frame)
    assert list(future.columns) == ["forecast", "lower", "upper"]
    with pytest.raises(ValueError, match=r"\['promo'\] that are not in the data"):
        fc.forecast(result.model, frame[["sales"]])


def test_backtest_folds_and_their_mean(tmp_path):
    config = fc.ForecastConfig(**TINY, test_size=50, output_dir=str(tmp_path),
                               run_name="bt", plots=False)
    frame = fc.backtest(config, folds=2)
    assert list(frame.index.names) == ["fold", "metric", "step"]
    assert frame.index.get_level_values("fold").unique().tolist() == [0, 1, "mean"]
    pd.testing.assert_frame_equal(
        frame.loc["mean"], (frame.loc[0] + frame.loc[1]) / 2, check_names=False)
    cutoffs = pd.to_datetime(frame.attrs["cutoffs"])
    assert cutoffs[1] - cutoffs[0] == pd.Timedelta(days=50)
    assert not np.allclose(frame.loc[0]["naive"], frame.loc[1]["naive"])
    assert (tmp_path / "bt" / "backtest.csv").is_file()
    assert (tmp_path / "bt" / "fold_1" / "forecaster" / "model.keras").is_file()
    with pytest.raises(ValueError, match=r"`folds`, expected an integer >= 1, got 0"):
        fc.backtest(config, folds=0)
    with pytest.raises(ValueError, match=r"`folds`=10 with 50 test points each: the first "
                                         r"fold would fit on 0 of 500 points"):
        fc.backtest(dataclasses.replace(config, output_dir=None), folds=10)
    # The old argument order still works, with a warning.
    with pytest.warns(DeprecationWarning, match=r"backtest\(data, config\) is deprecated"):
        with pytest.raises(ValueError, match=r"`folds`, expected an integer >= 1"):
            fc.backtest(None, config, folds=0)


def test_an_interrupted_backtest_resumes_and_keeps_its_finished_folds(tmp_path, monkeypatch):
    from lstm_apps import _runs
    from lstm_apps.recipes._common import config_to_dict

    config = fc.ForecastConfig(**{**TINY, "epochs": 1}, test_size=50,
                               output_dir=str(tmp_path), run_name="bt", plots=False)
    real, calls, tables = fc.run, [], {}

    def interrupted_in_fold_1(fold_config, part):
        calls.append(fold_config.run_name)
        if calls == ["fold_0", "fold_1"]:  # Ctrl-C once fold 1 has its folder
            _runs.start(tmp_path / "bt" / "fold_1", config_to_dict(fold_config))
            raise KeyboardInterrupt
        result = real(fold_config, part)
        tables[fold_config.run_name] = result.table
        return result

    monkeypatch.setattr(fc, "run", interrupted_in_fold_1)
    with pytest.raises(KeyboardInterrupt):
        fc.backtest(config, folds=2)
    assert _runs.is_complete(tmp_path / "bt" / "fold_0")
    assert not _runs.is_complete(tmp_path / "bt")
    with pytest.raises(FileExistsError, match=r"unfinished run; pass --resume"):
        fc.backtest(config, folds=2)
    with _runs.policy("resume"):
        with pytest.raises(ValueError, match=r"settings other than the run's: folds 3 "
                                             r"\(the run's: 2\)"):
            fc.backtest(config, folds=3)
        frame = fc.backtest(config, folds=2)
    assert calls == ["fold_0", "fold_1", "fold_1"]  # fold 0 was not trained again
    pd.testing.assert_frame_equal(frame.loc[0], tables["fold_0"], check_names=False)
    pd.testing.assert_frame_equal(frame.loc[1], tables["fold_1"], check_names=False)
    marker = json.loads((tmp_path / "bt" / _runs.MARKER).read_text())
    assert marker["folds"] == 2 and marker["cutoffs"] == frame.attrs["cutoffs"]
    with _runs.policy("resume"), pytest.raises(FileExistsError, match="nothing to resume"):
        fc.backtest(config, folds=2)


def test_gate_monitor_writes_gate_logs(tmp_path):
    config = fc.ForecastConfig(**{**TINY, "length": 300, "epochs": 1}, gate_monitor=True,
                               output_dir=str(tmp_path), run_name="g", plots=False)
    fc.run(config)
    assert any((tmp_path / "g" / "tb" / "train" / "gates").rglob("events.out.tfevents.*"))


# ------------------------------------------------------------------ CLI
#: `lstm-apps forecast` options of a run of a few seconds.
CLI_TINY = ["--length", "400", "--horizon", "4", "--units", "4", "--steps", "30",
            "--epochs", "1", "--combine", "auto_ets", "--stride", "4", "--verbose", "0"]


def test_cli_forecast_prints_the_table_and_run_folder(tmp_path, capsys):
    code = main(["forecast", *CLI_TINY, "--output-dir", str(tmp_path), "--run-name", "cli",
                 "--no-plots"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"model\s+lstm\s+naive\s+seasonal_naive\s+drift\s+auto_ets\s+auto_arima"
                     r"\s+theta\s+oracle", out)
    assert "MAE per horizon step" in out and "coverage" in out
    assert out.strip().endswith(f"Run folder: {tmp_path / 'cli'}")


def test_cli_forecast_csv_and_errors(tmp_path, capsys):
    path = tmp_path / "sales.csv"
    frame = ts.synthetic(300, seed=2).rename("sales").to_frame()
    frame.index.name = "date"
    frame.to_csv(path)
    code = main(["forecast", "--csv", str(path), "--date-col", "date", "--target", "sales",
                 "--season", "25", "--lookback", "20", *CLI_TINY[2:], "--combine", "none",
                 "--output-dir", "none"])
    out = capsys.readouterr().out
    assert code == 0 and f"data csv:{path} (300 points" in out
    assert "season 25 (argument)" in out and "oracle" not in out and "Run folder" not in out
    assert not re.search(r"\blstm\b", out.split("Test metrics")[1].splitlines()[1])
    assert main(["forecast", "--horizon", "0"]) == 2
    err = capsys.readouterr().err
    assert "--horizon, expected an integer >= 1, got 0" in err
    assert main(["forecast", "--csv", str(path), "--date-col", "day", "--target", "sales"]) == 2
    assert "`date_col`='day', which is not a column" in capsys.readouterr().err


def test_cli_gates_on_a_forecast_run_and_its_csv(tmp_path, capsys):
    from lstm_apps.gates import trace_gates

    path = tmp_path / "sales.csv"
    frame = ts.synthetic(300, seed=2).rename("sales").to_frame()
    frame.index.name = "day"
    frame.to_csv(path)
    assert main(["forecast", "--csv", str(path), "--date-col", "day", "--target", "sales",
                 "--season", "25", "--lookback", "20", *CLI_TINY[2:], "--combine", "none",
                 "--no-plots", "--output-dir", str(tmp_path / "runs"), "--run-name", "r"]) == 0
    capsys.readouterr()
    # The run folder, as the user has it: the forecaster rebuilds its own input
    # channels from the CSV's one column, and the dates label the time axis.
    assert main(["gates", str(tmp_path / "runs" / "r"), "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    last = str(frame.index[-1].date())
    first = str(frame.index[-20].date())
    assert f"on the last 20-step window of sales.csv (sales, {first} .. {last})" in out
    forecaster = fc.load_forecaster(tmp_path / "runs" / "r")
    expected = trace_gates(forecaster.network_,
                           forecaster.network_inputs(1, frame["sales"])).to_dataframe()
    table = pd.read_csv(tmp_path / "runs" / "r" / "gates" / "trace.csv")
    np.testing.assert_allclose(table["value"], expected["value"], atol=1e-5)
    assert main(["gates", str(tmp_path / "runs" / "r"), "--text", "a film"]) == 2
    assert "is a forecaster, which takes numbers; give its series with --csv" in \
        capsys.readouterr().err


def test_recipe_script_runs_with_quick_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LSTM_APPS_QUICK", "1")
    monkeypatch.setenv("LSTM_APPS_OUTPUT", str(tmp_path))
    script = Path(__file__).resolve().parents[1] / "recipes" / "synthetic_forecasting.py"
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "noise floor (MAE of the best possible forecast): 1.5958" in out
    assert "interval coverage" in out
    run_dir = next(tmp_path.iterdir())
    assert out.strip().endswith(f"Run folder: {run_dir}")
    assert (run_dir / "forecaster" / "model.keras").is_file()


@pytest.mark.slow
def test_default_cli_job_reaches_the_noise_floor(tmp_path, monkeypatch, capsys):
    # Its wall time (budget: 2 minutes) is measured by benchmarks/bench_forecast.py,
    # not asserted here: timings depend on the machine's load.
    monkeypatch.chdir(tmp_path)
    assert main(["forecast", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    run_dir = next((tmp_path / "runs" / "forecast").iterdir())
    assert out.strip().endswith(f"Run folder: {run_dir.relative_to(tmp_path)}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    table = metrics["table"]
    steps = [str(h) for h in range(1, 11)]
    # Within 3% of the best possible forecast at every step. Measured with seeds 0-3
    # (the defaults: median combination, dropout 0.3): the worst step at 1.010-1.012
    # of the oracle, the mean over steps 1.008-1.010, coverage 80.4-81.0% (before,
    # with the mean combination: 1.015-1.017 and 1.013-1.015), so the bound sits
    # well outside the run-to-run spread.
    for h in steps:
        assert table["model"]["mae"][h] <= 1.03 * table["oracle"]["mae"][h]
        assert table["model"]["mae"][h] <= 1.03 * metrics["noise_floor_mae"][int(h) - 1]
    # Below the baselines that are clearly worse on this series (3x the floor). ETS sits
    # within noise of the oracle here (1.568-1.581 against the model's 1.572 on two
    # machines), so the model-vs-ETS comparison lives in benchmarks/bench_forecast.py.
    for baseline in ("naive", "seasonal_naive", "drift"):
        assert metrics["mae"] < 0.5 * metrics["baselines"][baseline]["mae"], baseline
    assert abs(metrics["coverage"] - 0.8) < 0.05
