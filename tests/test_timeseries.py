"""Tests of lstm_apps.data.timeseries: synthetic series, user data, splits, windows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lstm_apps.data import timeseries as ts


# ------------------------------------------------------------------ synthetic
def test_synthetic_default_is_the_seed_example():
    parts = ts.synthetic_components()
    t = np.arange(3000)
    np.testing.assert_allclose(parts["trend"], 0.1 * t)
    np.testing.assert_allclose(parts["seasonal"], 10 * np.sin(2 * np.pi * t / 50), atol=1e-9)
    np.testing.assert_allclose(parts[["trend", "seasonal", "ar", "noise"]].sum(axis=1), parts["y"])
    assert parts["ar"].abs().max() == 0
    assert parts["noise"].std() == pytest.approx(2.0, rel=0.05)
    y = ts.synthetic()
    np.testing.assert_array_equal(y.to_numpy(), parts["y"].to_numpy())
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.freqstr == "D"
    assert y.index[0] == pd.Timestamp("2000-01-01")
    assert y.attrs["noise_sigma"] == 2.0
    pd.testing.assert_series_equal(ts.synthetic_preset("default"), y, check_flags=False)


def test_synthetic_is_seeded_and_configurable():
    a = ts.synthetic(300, seed=5)
    np.testing.assert_array_equal(a, ts.synthetic(300, seed=5))
    assert not np.allclose(a, ts.synthetic(300, seed=6))
    b = ts.synthetic(
        200, trend=0.0, seasonalities=[(7, 3.0), (30, 1.0, 0.5)], noise_sigma=0.0,
        intercept=4.0, freq="h", start="2024-03-01",
    )
    t = np.arange(200)
    expected = 4.0 + 3 * np.sin(2 * np.pi * t / 7) + np.sin(2 * np.pi * t / 30 + 0.5)
    np.testing.assert_allclose(b.to_numpy(), expected, atol=1e-9)
    assert b.index.freqstr == "h" and b.index[1] - b.index[0] == pd.Timedelta("1h")


def test_synthetic_ar_part_has_the_given_autocorrelation():
    parts = ts.synthetic_components(20000, trend=0, seasonalities=[], noise_sigma=1.0, ar=[0.6])
    a = (parts["ar"] + parts["noise"]).to_numpy()
    assert np.corrcoef(a[1:], a[:-1])[0, 1] == pytest.approx(0.6, abs=0.02)
    np.testing.assert_allclose(parts["ar"].to_numpy()[1:], 0.6 * a[:-1])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(length=0), ValueError, r"`length`, expected an integer >= 2, got 0"),
        (dict(noise_sigma=-1.0), ValueError, r"`noise_sigma`, expected a finite number >= 0"),
        (dict(seasonalities=[(1, 2.0)]), ValueError, r"`seasonalities`.*period > 1"),
        (dict(seasonalities="50"), TypeError, r"`seasonalities`"),
        (dict(ar=[1.2]), ValueError, r"`ar`, expected .*stationary.*\(1.2,\)"),
        (dict(freq="bogus"), ValueError, r"`freq` or `start`.*'bogus'"),
    ],
)
def test_synthetic_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ts.synthetic(**kwargs)


def test_synthetic_preset_unknown_name():
    with pytest.raises(ValueError, match=r"expected one of \['default', .*got 'nope'"):
        ts.synthetic_preset("nope")


def test_noise_floor_and_optimal_forecasts_agree():
    floor = ts.noise_floor_mae(2.0, 4)
    np.testing.assert_allclose(floor, 2.0 * math.sqrt(2 / math.pi))
    ar_floor = ts.noise_floor_mae(1.0, 3, ar=[0.5])
    np.testing.assert_allclose(
        ar_floor, np.sqrt([1, 1.25, 1.3125]) * math.sqrt(2 / math.pi)
    )
    # The oracle's empirical error is the floor (only the noise is left).
    for ar in ([], [0.5]):
        parts = ts.synthetic_components(20000, noise_sigma=1.0, ar=ar, seed=1)
        origins = np.arange(100, 19000, 3)
        best = ts.optimal_forecasts(parts, origins, 3, ar=ar)
        actual = parts["y"].to_numpy()[origins[:, None] + np.arange(1, 4)]
        mae = np.abs(actual - best).mean(axis=0)
        np.testing.assert_allclose(mae, ts.noise_floor_mae(1.0, 3, ar=ar), rtol=0.03)


# ------------------------------------------------------------------ user data
def _frame(n=10, **columns):
    idx = pd.date_range("2024-01-01", periods=n, freq="D")
    data = {"y": np.arange(n, dtype=float), **columns}
    return pd.DataFrame(data, index=idx)


def test_from_dataframe_orders_columns_and_keeps_frequency():
    frame = _frame(temp=np.ones(10), other=np.zeros(10))
    out = ts.from_dataframe(frame, target="y", covariates=["temp"])
    assert list(out.columns) == ["y", "temp"]
    assert out.attrs["freq"] == "D" and out.attrs["target"] == "y"
    series = ts.from_dataframe(frame["y"])
    assert list(series.columns) == ["y"]


def test_from_dataframe_rejects_a_plain_index():
    with pytest.raises(TypeError, match=r"not a pandas DatetimeIndex \(got RangeIndex\)"):
        ts.from_dataframe(pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match=r"expected a pandas Series or DataFrame.*got list"):
        ts.from_dataframe([1.0, 2.0])


def test_from_dataframe_names_non_numeric_columns():
    frame = _frame(city=["a"] * 10, temp=np.ones(10))
    with pytest.raises(ValueError, match=r"non-numeric columns \['city'\]"):
        ts.from_dataframe(frame, target="y", covariates=["temp", "city"])


def test_from_dataframe_names_missing_columns():
    with pytest.raises(ValueError, match=r"\['price'\] that are not in the data"):
        ts.from_dataframe(_frame(), target="y", covariates=["price"])
    with pytest.raises(ValueError, match=r"no `target`"):
        ts.from_dataframe(_frame(temp=np.ones(10)))


def test_from_dataframe_rejects_unsorted_and_duplicate_timestamps():
    frame = _frame()
    shuffled = frame.iloc[[0, 1, 3, 2, 4]]
    with pytest.raises(ValueError, match=r"not sorted: 2024-01-03 00:00:00 comes after "
                                         r"2024-01-04 00:00:00 \(position 3\)"):
        ts.from_dataframe(shuffled)
    duplicated = frame.iloc[[0, 1, 1, 2]]
    with pytest.raises(ValueError, match=r"1 duplicate timestamps: 2024-01-02"):
        ts.from_dataframe(duplicated)


def test_from_dataframe_nan_and_inf_raise_or_fill():
    frame = _frame()
    frame.iloc[3, 0] = np.nan
    frame.iloc[6, 0] = np.inf
    with pytest.raises(ValueError, match=r"NaN or inf values \{'y': 2\} at 2024-01-04 00:00:00"
                                         r", 2024-01-07 00:00:00; pass `fill="):
        ts.from_dataframe(frame)
    filled = ts.from_dataframe(frame, fill="interpolate")
    np.testing.assert_allclose(filled["y"], np.arange(10.0))
    forward = ts.from_dataframe(frame, fill="ffill")
    assert forward["y"].iloc[3] == 2.0 and forward["y"].iloc[6] == 5.0
    with pytest.raises(ValueError, match=r"`fill`, expected one of \['raise', 'ffill', "):
        ts.from_dataframe(frame, fill="zero")


def test_from_dataframe_freq_inserts_missing_timestamps():
    frame = _frame().drop(pd.Timestamp("2024-01-05"))
    with pytest.raises(ValueError, match=r"NaN or inf values \{'y': 1\} at 2024-01-05"):
        ts.from_dataframe(frame, freq="D")
    out = ts.from_dataframe(frame, freq="D", fill="interpolate")
    assert len(out) == 10 and out["y"].iloc[4] == 4.0


def test_read_csv(tmp_path):
    path = tmp_path / "sales.csv"
    pd.DataFrame(
        {"day": pd.date_range("2024-01-01", periods=5).strftime("%Y-%m-%d"),
         "sales": [1, 2, 3, 4, 5], "price": [9.0, 9, 8, 8, 7]}
    ).to_csv(path, index=False)
    out = ts.read_csv(path, date_col="day", target="sales", covariates=["price"])
    assert list(out.columns) == ["sales", "price"] and out.index.name == "day"
    assert out.attrs["freq"] == "D"
    with pytest.raises(ValueError, match=r"`date_col`='date', which is not a column.*"
                                         r"\['day', 'sales', 'price'\]"):
        ts.read_csv(path, date_col="date", target="sales")
    with pytest.raises(FileNotFoundError, match=r"missing.csv"):
        ts.read_csv(tmp_path / "missing.csv", date_col="day", target="sales")
    bad = tmp_path / "bad.csv"
    bad.write_text("day,sales\n2024-01-01,1\nnot a date,2\n")
    with pytest.raises(ValueError, match=r"Could not parse the `date_col` column 'day'"):
        ts.read_csv(bad, date_col="day", target="sales")


# ------------------------------------------------------------------ splits, scaling, windows
def test_split_by_time_parts_and_windows():
    split = ts.split_by_time(1000, lookback=50, horizon=10, val_size=0.1, test_size=150)
    assert (split.n_train, split.n_val, split.n_test) == (750, 100, 150)
    for part, (lo, hi) in {"train": (0, 750), "val": (750, 850), "test": (850, 1000)}.items():
        origins = split.origins(part)
        targets = origins[:, None] + np.arange(1, 11)
        # Every target inside the part (the first training target follows a full window).
        assert targets.min() == max(lo, 50) and targets.max() == hi - 1
        assert origins.min() >= 49
    assert len(split.origins("test")) == 150 - 10 + 1


def test_split_by_time_too_short_gives_the_numbers():
    with pytest.raises(ValueError, match=r"it has 100 points, but lookback \(80\) \+ horizon "
                                         r"\(10\) \+ validation part \(10\) \+ test part \(20\) "
                                         r"= 120 points are needed"):
        ts.split_by_time(100, lookback=80, horizon=10, val_size=0.1, test_size=0.2)
    with pytest.raises(ValueError, match=r"`horizon`, expected an integer >= 1, got 0"):
        ts.split_by_time(100, lookback=10, horizon=0)
    with pytest.raises(ValueError, match=r"`lookback`, expected an integer >= 1, got -3"):
        ts.split_by_time(100, lookback=-3, horizon=2)


def test_fit_scaling_uses_the_windows_level_normalised():
    rng = np.random.default_rng(0)
    train = np.stack([np.arange(200.0) + rng.normal(size=200), rng.normal(5, 3, 200)], axis=1)
    center, scale = ts.fit_scaling(train, lookback=10, normalization="none")
    np.testing.assert_allclose(center, train.mean(axis=0))
    np.testing.assert_allclose(scale, train.std(axis=0))
    _, scale_last = ts.fit_scaling(train, lookback=10, normalization="last")
    windows = np.lib.stride_tricks.sliding_window_view(train[:, 0], 20)
    expected = (windows - windows[:, 9:10]).std()
    assert scale_last[0] == pytest.approx(expected)
    assert scale_last[0] < scale[0] / 5  # the trend no longer inflates the scale
    assert scale_last[1] == pytest.approx(scale[1])


def test_window_dataset_matches_window_arrays():
    values = np.stack([np.arange(40.0), -np.arange(40.0)], axis=1)
    x, y = ts.window_arrays(values, lookback=6, horizon=3)
    ds = ts.window_dataset(values, lookback=6, horizon=3, batch_size=8)
    xs, ys = zip(*[(np.asarray(a), np.asarray(b)) for a, b in ds])
    np.testing.assert_array_equal(np.concatenate(xs), x)
    np.testing.assert_array_equal(np.concatenate(ys), y)
    assert x.shape == (32, 6, 2) and y[0].tolist() == [6.0, 7.0, 8.0]
    shuffled = ts.window_dataset(values, 6, 3, batch_size=8, shuffle=True, seed=1,
                                 target_shape="3d")
    xb, yb = next(iter(shuffled))
    assert tuple(yb.shape) == (8, 3, 1)
    np.testing.assert_array_equal(np.asarray(xb)[:, -1, 0] + 1, np.asarray(yb)[:, 0, 0])
    with pytest.raises(ValueError, match=r"fewer than lookback \(6\) \+ horizon \(3\) = 9"):
        ts.window_dataset(values[:8], lookback=6, horizon=3)


def test_infer_season():
    assert ts.infer_season(ts.synthetic(2000)) == 50
    weekly = ts.synthetic(700, trend=0.0, seasonalities=[(7, 2.0)], noise_sigma=1.0)
    assert ts.infer_season(weekly) == 7
    assert ts.infer_season(ts.synthetic_preset("hourly_ar")) == 24
    rng = np.random.default_rng(0)
    assert ts.infer_season(rng.normal(size=1000)) is None
