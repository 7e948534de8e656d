"""LSTMForecaster: fit / predict / save / load, covariates, intervals, no look-ahead."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from lstm_apps.forecasting import LSTMForecaster
from lstm_apps.forecasting.transforms import SeriesTransform

# Small, fast settings: Keras's own LSTM traces in a fraction of the time of the
# lstm_apps loops, and these tests are about the forecaster, not the cells.
FAST = dict(cell="keras_lstm", units=8, ensemble=1, steps=40, combine=None)


def _seasonal(n: int = 120, seed: int = 0, level: float = 100.0, freq: str = "MS",
              name: str | None = None) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = level + 0.2 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    return pd.Series(values, pd.date_range("2000-01-01", periods=n, freq=freq), name=name)


def test_one_series_fit_predict_save_load(tmp_path):
    y = _seasonal()
    model = LSTMForecaster(horizon=6, **FAST).fit(y)
    assert model.season_ == 12 and model.lookback_ == 24
    future = model.predict()
    assert list(future.columns) == ["forecast", "lower_80", "upper_80"]
    assert list(future.index) == list(pd.date_range("2010-01-01", periods=6, freq="MS"))
    assert np.all(future["lower_80"] < future["forecast"])
    assert np.all(future["forecast"] < future["upper_80"])
    # The season is forecast: the sine's peak months stay above its trough months.
    assert future["forecast"].max() - future["forecast"].min() > 5
    path = model.save(tmp_path / "forecaster")
    loaded = LSTMForecaster.load(path)
    pd.testing.assert_frame_equal(loaded.predict(), future)
    # A global model forecasts a series it has not seen, from its own history.
    other = loaded.predict(3, series=_seasonal(80, seed=3, level=50.0))
    assert len(other) == 3 and other.index[0] == pd.Timestamp("2006-09-01")


def test_list_and_long_frame(tmp_path):
    series = [_seasonal(100, seed=k, level=50.0 * (k + 1)) for k in range(3)]
    model = LSTMForecaster(horizon=4, **FAST).fit(series)
    out = model.predict()
    assert isinstance(out, list) and len(out) == 3
    # Each forecast sits at the level of its own series.
    for y, frame in zip(series, out):
        assert abs(frame["forecast"].mean() - y.iloc[-12:].mean()) < 0.2 * y.iloc[-12:].mean()
    long = pd.concat(
        [pd.DataFrame({"unique_id": f"s{k}", "ds": y.index, "y": y.to_numpy()})
         for k, y in enumerate(series)], ignore_index=True)
    model = LSTMForecaster(horizon=4, **FAST).fit(long)
    frame = model.predict()
    assert list(frame.columns) == ["unique_id", "ds", "forecast", "lower_80", "upper_80"]
    assert frame.groupby("unique_id").size().to_dict() == {"s0": 4, "s1": 4, "s2": 4}
    loaded = LSTMForecaster.load(model.save(tmp_path / "long"))
    pd.testing.assert_frame_equal(loaded.predict(), frame)


def test_future_covariates_change_the_forecast():
    rng = np.random.default_rng(0)
    n = 240
    index = pd.date_range("2000-01-01", periods=n + 6, freq="D")
    promo = pd.DataFrame({"promo": (rng.random(n + 6) < 0.3).astype(float)}, index)
    y = pd.Series(50 + 10 * promo["promo"].to_numpy()[:n] + rng.normal(0, 1, n), index[:n])
    model = LSTMForecaster(horizon=6, season=1, lookback=12, cell="keras_lstm", units=16,
                           ensemble=1, steps=600, learning_rate=1e-2, combine=None, levels=())
    model.fit(y, future_covariates=promo)
    on = promo.copy()
    on.iloc[n:] = 1.0
    off = promo.copy()
    off.iloc[n:] = 0.0
    lift = model.predict(future_covariates=on)["forecast"] - model.predict(
        future_covariates=off)["forecast"]
    # The promotion adds 10; noise sigma 1: the learned lift is clearly there.
    assert lift.min() > 5, lift.tolist()
    short = promo.iloc[: n + 3]
    with pytest.raises(ValueError, match="do not reach the forecast horizon"):
        model.predict(future_covariates=short)


def test_static_covariates_enter_the_model():
    series = [_seasonal(100, seed=k) for k in range(2)]
    static = pd.DataFrame({"size": [1.0, 2.0]}, index=[0, 1])
    model = LSTMForecaster(horizon=4, **FAST).fit(series, static_covariates=static)
    assert [inp.name for inp in model.network_.inputs] == ["window", "static"]
    assert len(model.predict()) == 2


def test_conformal_coverage_near_nominal():
    # Five noisy seasonal series: the intervals are calibrated on held-out origins
    # at the end of the training data, then scored on the last 30% of each series.
    series = [_seasonal(260, seed=10 + k, level=100.0) for k in range(5)]
    train = [y.iloc[:180] for y in series]
    model = LSTMForecaster(horizon=6, cell="keras_lstm", units=16, ensemble=1, steps=200,
                           combine=None, levels=(0.5, 0.8), seed=1).fit(train)
    table = model.backtest(series, start=180, stride=1)
    got = table.loc[("mean", "forecast")]
    assert 0.65 <= got["coverage_80"] <= 0.93, got["coverage_80"]
    assert 0.35 <= got["coverage_50"] <= 0.68, got["coverage_50"]
    assert got["coverage_50"] < got["coverage_80"]


def test_historical_forecasts_use_no_data_after_the_origin():
    y = _seasonal(120)
    model = LSTMForecaster(horizon=6, cell="keras_lstm", units=8, ensemble=1, steps=40,
                           combine=("theta",)).fit(y.iloc[:90])
    before = model.historical_forecasts(y, start=90, stride=3, baselines=True)
    jumped = y.copy()
    jumped.iloc[100:] += 1000.0
    after = model.historical_forecasts(jumped, start=90, stride=3, baselines=True)
    early = before["origin"] < y.index[100]
    assert early.sum() > 0 and (~early).sum() > 0
    columns = ["forecast", "lstm", "lower_80", "upper_80", "naive", "seasonal_naive",
               "drift", "auto_ets", "auto_arima", "theta"]
    pd.testing.assert_frame_equal(before.loc[early, columns], after.loc[early, columns])
    # ... while the forecasts from origins after the jump do see it.
    assert (after.loc[~early, "forecast"] - before.loc[~early, "forecast"]).abs().min() > 100


def test_backtest_table_and_baselines():
    y = _seasonal(120)
    model = LSTMForecaster(horizon=6, **FAST).fit(y.iloc[:96])
    table = model.backtest(y, start=0.8)
    forecasters = table.loc["mean"].index.tolist()
    assert forecasters == ["forecast", "lstm", "naive", "seasonal_naive", "drift", "auto_ets",
                           "auto_arima", "theta"]
    assert set(table.attrs["relative_mase"]) == set(forecasters)
    assert table.attrs["relative_mase"]["auto_ets"] == pytest.approx(1.0)
    # On a seasonal series the naive forecast is clearly worse than the seasonal one.
    assert table.loc[("mean", "naive"), "mase"] > 1.5 * table.loc[("mean", "seasonal_naive"),
                                                                   "mase"]


def test_equal_combination_is_the_mean_of_its_members():
    y = _seasonal(120)
    model = LSTMForecaster(horizon=6, cell="keras_lstm", units=8, ensemble=1, steps=20,
                           combine=("theta", "auto_ets"), combine_weights="equal",
                           levels=()).fit(y.iloc[:100])
    assert model.weights_ == {"lstm": 1 / 3, "theta": 1 / 3, "auto_ets": 1 / 3}
    frame = model.historical_forecasts(y, start=100, stride=6, baselines=True)
    expected = (frame["lstm"] + frame["theta"] + frame["auto_ets"]) / 3
    np.testing.assert_allclose(frame["forecast"], expected, rtol=1e-9)


def test_default_combination_is_the_median_of_its_members(tmp_path):
    # An LSTM trained for 2 steps is far off: the median of three members is one
    # of the two classical forecasts at every step, never the LSTM's (where it is
    # not the middle one), and the mean would differ.
    y = _seasonal(120)
    model = LSTMForecaster(horizon=6, cell="keras_lstm", units=8, ensemble=1, steps=2,
                           combine=("theta", "auto_ets"), deseasonalize=False,
                           levels=(0.8,)).fit(y.iloc[:100])
    assert model.combine_weights == "median" and model.weights_ == {}
    frame = model.historical_forecasts(y, start=100, stride=6, baselines=True)
    members = frame[["lstm", "theta", "auto_ets"]].to_numpy()
    np.testing.assert_allclose(frame["forecast"], np.median(members, axis=1), rtol=1e-9)
    assert np.abs(frame["forecast"] - members.mean(axis=1)).max() > 1e-3
    loaded = LSTMForecaster.load(model.save(tmp_path / "forecaster"))
    assert loaded.combine_weights == "median"
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())


def test_calibrated_weights_favour_the_member_that_forecasts_the_held_out_end(tmp_path):
    # An LSTM trained for one step, without the seasonal indices, forecasts a clean
    # season far worse than AutoETS and Theta: its inverse-MSE weight, shrunk halfway
    # to 1/3, is near 1/6.
    y = _seasonal(120)
    model = LSTMForecaster(horizon=6, cell="keras_lstm", units=8, ensemble=1, steps=1,
                           combine=("theta", "auto_ets"), combine_weights="calibrated",
                           deseasonalize=False, levels=()).fit(y.iloc[:100])
    weights = model.weights_
    assert list(weights) == ["lstm", "theta", "auto_ets"]
    assert sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) >= 0.5 / 3 - 1e-12  # the shrinkage's floor
    assert weights["lstm"] < 0.25 < weights["auto_ets"]
    frame = model.historical_forecasts(y, start=100, stride=6, baselines=True)
    expected = sum(w * frame[name] for name, w in weights.items())
    np.testing.assert_allclose(frame["forecast"], expected, rtol=1e-9)
    loaded = LSTMForecaster.load(model.save(tmp_path / "forecaster"))
    assert loaded.weights_ == weights
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())


def test_retrain_fits_a_model_per_origin():
    y = _seasonal(90)
    model = LSTMForecaster(horizon=3, cell="keras_lstm", units=4, ensemble=1, steps=5,
                           combine=None, levels=(), lookback=12).fit(y.iloc[:70])
    frame = model.historical_forecasts(y, start=80, stride=5, retrain=True)
    assert sorted(frame["origin"].unique()) == [y.index[79], y.index[84]]


def test_series_transform_recovers_a_multiplicative_season():
    t = np.arange(96)
    y = (100 + 2 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12))
    tf = SeriesTransform.fit(y, season=12)
    assert tf.log and tf.season == 12
    z = tf.forward(y, t)
    # What is left is a smooth trend: its steps are far smaller than the season's.
    assert np.abs(np.diff(z)).max() < 0.1 * (np.log(y).max() - np.log(y).min())


def test_constant_series_is_forecast_as_constant(caplog):
    y = pd.Series(5.0, pd.date_range("2020-01-01", periods=60, freq="MS"))
    with caplog.at_level(logging.WARNING, logger="lstm_apps.forecasting.model"):
        model = LSTMForecaster(horizon=3, **FAST).fit(y)
    assert "constant" in caplog.text
    np.testing.assert_allclose(model.predict()["forecast"], 5.0, rtol=1e-6)


def test_bad_input_is_named_before_training():
    with pytest.raises(ValueError, match=r"30 points.*`horizon`=12 needs at least 38"):
        LSTMForecaster(horizon=12, **FAST).fit(_seasonal(30))
    y = _seasonal(40)
    with pytest.raises(ValueError, match=r"`lookback`=30.*shortest series has 40 points"):
        LSTMForecaster(horizon=3, lookback=30, **FAST).fit(y)
    weekly = _seasonal(100, freq="W")
    with pytest.raises(ValueError, match="different frequencies"):
        LSTMForecaster(horizon=3, **FAST).fit([_seasonal(100), weekly])
    with pytest.raises(ValueError, match="argument `horizon`, expected an integer >= 1, got 0"):
        LSTMForecaster(horizon=0)
    with pytest.raises(ValueError, match="argument `combine`"):
        LSTMForecaster(horizon=3, combine=("prophet",))
    with pytest.raises(ValueError, match=r"argument `combine_weights`, expected one of "
                                         r"\['calibrated', 'equal', 'median'\], got 'best'"):
        LSTMForecaster(horizon=3, combine_weights="best")
    with pytest.raises(ValueError, match="argument `levels`"):
        LSTMForecaster(horizon=3, levels=(80,))
    with pytest.raises(TypeError, match="DatetimeIndex"):
        LSTMForecaster(horizon=3, **FAST).fit(pd.Series(np.arange(50.0)))
    gappy = _seasonal(100)
    gappy.iloc[10] = np.nan
    with pytest.raises(ValueError, match="1 NaN / inf values in series"):
        LSTMForecaster(horizon=3, **FAST).fit(gappy)
    with pytest.raises(RuntimeError, match="not fitted"):
        LSTMForecaster(horizon=3).predict()


def test_log_both_reads_positive_series_in_both_units(caplog):
    # A positive series: the network is trained on its windows twice, in log and in
    # original units (the log says how many windows), and still forecasts it.
    y = _seasonal(120)
    with caplog.at_level(logging.INFO, logger="lstm_apps.forecasting.model"):
        LSTMForecaster(horizon=6, log="auto", levels=(), **FAST).fit(y)
    windows_auto = [r.getMessage() for r in caplog.records if "training on" in r.getMessage()]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lstm_apps.forecasting.model"):
        both = LSTMForecaster(horizon=6, log="both", levels=(), **FAST).fit(y)
    windows_both = [r.getMessage() for r in caplog.records if "training on" in r.getMessage()]
    count = lambda message: int(message.split("training on ")[1].split()[0])  # noqa: E731
    assert count(windows_both[0]) == 2 * count(windows_auto[0])
    truth = 100 + 0.2 * np.arange(120, 126) + 10 * np.sin(2 * np.pi * np.arange(120, 126) / 12)
    assert np.abs(both.predict()["forecast"].to_numpy() - truth).mean() < 5.0
    # A series with values <= 0 has no log: "both" is then "auto", bit for bit.
    shifted = y - 100.0
    a = LSTMForecaster(horizon=6, log="auto", levels=(), **FAST).fit(shifted).predict()
    b = LSTMForecaster(horizon=6, log="both", levels=(), **FAST).fit(shifted).predict()
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match=r"argument `log`, expected one of \[True, False, "
                                         r"'auto', 'both'\], got 'yes'"):
        LSTMForecaster(horizon=3, log="yes")
