"""`LSTMForecaster`: one LSTM model trained across many series, with calibrated intervals.

How it forecasts (the choices measured in `benchmarks/bench_forecast.py`):

- Each series is log-transformed when positive, deseasonalised with classical
  seasonal indices when it passes the M4 seasonality test, and scaled by its
  mean absolute step (`lstm_apps.forecasting.transforms.SeriesTransform`), all
  fitted on its own history, as Smyl's ES-RNN normalises its windows.
- One network reads windows of `lookback` such values minus the window's
  last value (and, as a second channel, the same window with its season
  left in, so a season that drifts away from the indices is still seen) and
  forecasts the next `horizon` changes at once (direct multi-output). It is
  trained on the windows of every series together (a global model), for a
  fixed number of optimisation steps with a cosine learning-rate decay,
  whatever the number of windows (an epoch over 100 windows is 2 batches:
  epochs are the wrong unit on short series).
- Dropout (0.3 by default) before the output layer: a global model on one
  short series sees tens of windows, and 600 steps over them overfit (the
  LSTM alone overshot the trend of short quarterly series). Of dropout 0.3,
  8 units, 150 steps and 5 ensemble members, tried on ten short quarterly
  series, dropout did best (the LSTM alone's geometric-mean MASE relative
  to AutoETS 1.95 -> 1.47); on the real panels it took the LSTM alone from
  1.229 to 1.156 (21 series) and from 1.607 to 1.351 (17 held out).
- `log="both"` (default) and 8 units: a positive series is also read, and
  trained on, in its original units (twice the windows, the same steps),
  and the LSTM's forecast is the mean of the two views; the intervals stay
  in the log units. On the 38 real series of `benchmarks/bench_forecast.py`
  (both panels), seeds 0 and 1, this took the LSTM alone from 1.246 / 1.242
  (32 units, log only) to 1.143 / 1.123 relative to AutoETS, the combined
  forecast from 0.973 / 0.980 to 0.967 / 0.971 (each of the two alone: 8
  units 1.177, no log 1.208, both views with 32 units 1.253; a log that
  turns the early growth of a short trending series into a trend the
  network extrapolates, as on the arrivals series, is what the second view
  corrects).
- `ensemble` members with their own initialisation can sit side by side in
  the one Keras model (one trace, one training loop); the forecast is their
  median.
- `combine` (default: AutoETS, AutoARIMA and Theta) combines the LSTM's
  forecast with automatic classical forecasts refitted on each series, as
  forecast combinations do; `combine=None` is the LSTM alone. By default
  (`combine_weights="median"`) the forecast is the members' median at each
  step (of four members, the mean of the middle two): one member far off,
  as the LSTM is on a short series it overfits, or Theta on a season it
  mis-reads, does not move it. Measured side by side on the real series of
  `benchmarks/bench_forecast.py` (geometric-mean MASE relative to AutoETS),
  the median took the 21-series panel from 0.968 (the plain mean) to 0.956
  and the 17 held-out series, never used to choose a default, from 1.131
  to 1.019 (quarterly 1.296 -> 1.102). "equal" is the plain mean;
  "calibrated" weighs the members by their inverse mean squared errors on
  the calibration forecasts below (Bates & Granger, 1969), pooled over the
  series, shrunk halfway towards equal weights (0.965 on the panel, but the
  80% intervals, calibrated on the same forecasts the weights were fitted
  to, covered 72.3% instead of 74.7%).
- Intervals are split-conformal: the model is first trained without the last
  `horizon + calibration_origins - 1` points of each series, forecasts those
  from `calibration_origins` origins, and the absolute errors there (in the
  log or original units, divided by the series' scale) give, per horizon
  step, the half-width of the interval at each level. Then the same network
  goes on training on everything, for a quarter of the steps, at the decayed
  learning rate.

Future-known covariates (calendar, planned prices) enter twice: as window
columns (their past values) and beside the LSTM's summary of the window (the
next `horizon` values); static covariates (one row per series) beside it too;
past covariates as window columns. All are standardised with the means and
deviations seen by `fit`.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstm_apps._validation import check_choice, check_int, check_real
from lstm_apps.data.series import infer_season
from lstm_apps.forecasting import baselines as _baselines
from lstm_apps.forecasting import metrics as _metrics
from lstm_apps.forecasting._panel import Item, Panel, to_panel
from lstm_apps.forecasting.transforms import (
    SeriesTransform,
    is_seasonal,
    season_from_freq,
    seasonal_strength,
)

__all__ = ["COMBINE_WEIGHTS", "LSTMForecaster", "interval_columns"]

logger = logging.getLogger(__name__)

_FORMAT = 1  # version of the saved folder layout

#: How `LSTMForecaster` combines its members (`combine_weights`).
COMBINE_WEIGHTS = ("calibrated", "equal", "median")

#: Of the calibrated weights, the share given to equal weights (the shrinkage).
_SHRINK = 0.5


class LSTMForecaster:
    """A global LSTM forecaster with classical combination and conformal intervals.

    Args:
        horizon: Steps forecast at once (>= 1).
        cell: An lstm_apps cell or variant name ("standard", "peephole",
            "coupled", ...), "keras_lstm" or "gru".
        lookback: Input window length (default: chosen from the horizon, the
            season and the length of the shortest series: `max(2 horizon,
            2 season)`, shortened so every series gives at least
            `horizon + 1` training windows).
        season: Seasonal period (default: from the frequency of the index,
            monthly 12, quarterly 4, weekly 52, daily 7, hourly 24; else
            found from the data; 1 for none).
        units: Units of each recurrent layer.
        layers: Stacked recurrent layers per ensemble member.
        ensemble: Ensemble members (independently initialised networks in
            one model); the forecast is their median.
        steps: Optimisation steps (batches) of the training (rounded up to a
            multiple of `epochs`).
        epochs: Keras epochs the steps are split into: they change nothing
            in the result (the batches are the same), only how often
            callbacks see an epoch end (progress, checkpoints, TensorBoard).
        batch_size: Windows per batch.
        learning_rate: Initial Adam learning rate (cosine decay to a tenth).
        dropout: Dropout before each member's output layer (default 0.3: on
            short series, tens of windows, the network overfits without it;
            see the module docstring).
        combine: Classical models combined with the LSTM's forecast (names
            from `lstm_apps.forecasting.baselines.CLASSICAL`); None or () for
            the LSTM alone.
        combine_weights: How the members are combined: "median" (default:
            their median at each step), "equal" (their plain mean) or
            "calibrated" (a mean, each member's weight from its errors on
            the calibration forecasts, shrunk halfway to equal).
        levels: Nominal coverages of the prediction intervals (each in
            (0, 1)); empty for none.
        calibration_origins: Forecast origins per series at the end of the
            training data used to calibrate the intervals (default: two
            horizons, or a tenth of the shortest series when that is more,
            at most half of what four horizons leave).
        log: True, False, "auto" (log when the series is positive) or
            "both": as "auto", and the network also reads (and is trained
            on) each positive series in its original units; the LSTM's
            forecast is the mean of the two (see the module docstring).
        deseasonalize: True, False, or "auto" (when the seasonality test
            passes).
        seed: Seed of the initialisation and the batches.
        verbose: Keras progress output of training (0, 1 or 2).

    Example:

    >>> import numpy as np, pandas as pd
    >>> from lstm_apps.forecasting import LSTMForecaster
    >>> index = pd.date_range("2000-01-01", periods=96, freq="MS")
    >>> y = pd.Series(100 + 10 * np.sin(2 * np.pi * np.arange(96) / 12), index)
    >>> model = LSTMForecaster(horizon=6, units=8, ensemble=2, steps=20, combine=None)
    >>> model = model.fit(y)
    >>> future = model.predict(6)
    >>> list(future.columns), str(future.index[0].date())
    (['forecast', 'lower_80', 'upper_80'], '2008-01-01')
    """

    def __init__(
        self,
        horizon: int,
        cell: str = "standard",
        lookback: int | None = None,
        season: int | None = None,
        units: int = 8,
        layers: int = 1,
        ensemble: int = 1,
        steps: int = 600,
        epochs: int = 1,
        batch_size: int = 64,
        learning_rate: float = 1e-2,
        dropout: float = 0.3,
        combine: Sequence[str] | None = _baselines.CLASSICAL,
        combine_weights: str = "median",
        levels: Sequence[float] = (0.8,),
        calibration_origins: int | None = None,
        log: bool | str = "both",
        deseasonalize: bool | str = "auto",
        seed: int = 0,
        verbose: int = 0,
    ) -> None:
        from lstm_apps.recipes._common import check_cell

        self.horizon = check_int("horizon", horizon, 1)
        self.cell = check_cell(cell)
        self.lookback = check_int("lookback", lookback, 1, optional=True)
        self.season = check_int("season", season, 1, optional=True)
        self.units = check_int("units", units, 1)
        self.layers = check_int("layers", layers, 1)
        self.ensemble = check_int("ensemble", ensemble, 1)
        self.steps = check_int("steps", steps, 1)
        self.epochs = check_int("epochs", epochs, 1)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.learning_rate = check_real("learning_rate", learning_rate, 0.0, 1.0, low_open=True)
        self.dropout = check_real("dropout", dropout, 0.0, 1.0, high_open=True)
        combine = () if combine is None else combine
        if isinstance(combine, str) or not all(c in _baselines.CLASSICAL for c in combine):
            raise ValueError(
                "Received an invalid value for argument `combine`, expected a sequence of "
                f"names from {list(_baselines.CLASSICAL)} or None, got {combine!r}."
            )
        self.combine = tuple(combine)
        self.combine_weights = check_choice("combine_weights", combine_weights, COMBINE_WEIGHTS)
        if isinstance(levels, (int, float)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1 for v in levels
        ):
            raise ValueError(
                "Received an invalid value for argument `levels`, expected a sequence of "
                f"coverages in (0, 1), got {levels!r}."
            )
        self.levels = tuple(sorted(float(v) for v in levels))
        self.calibration_origins = check_int("calibration_origins", calibration_origins, 1,
                                        optional=True)
        self.log = check_choice("log", log, (True, False, "auto", "both"))
        self.deseasonalize = check_choice("deseasonalize", deseasonalize, (True, False, "auto"))
        self.seed = check_int("seed", seed, 0)
        self.verbose = check_int("verbose", verbose, 0)
        # fitted state
        self.network_: Any = None
        self.panel_: Panel | None = None
        self.lookback_: int | None = None
        self.season_: int | None = None
        self.scalers_: dict[str, list[list[float]]] = {}
        self.conformal_: dict[str, list[float]] = {}
        self.weights_: dict[str, float] = {}
        self.fit_seconds_: float | None = None
        self.season_source_: str | None = None
        self.history_: pd.DataFrame | None = None
        self.validation_: dict[str, float] = {}

    # ------------------------------------------------------------------ config
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (as given)."""
        keys = ("horizon", "cell", "lookback", "season", "units", "layers", "ensemble", "steps",
                "epochs", "batch_size", "learning_rate", "dropout", "combine", "combine_weights",
                "levels", "calibration_origins", "log", "deseasonalize", "seed", "verbose")
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in
                ((k, getattr(self, k)) for k in keys)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"LSTMForecaster({args})"

    @property
    def fitted(self) -> bool:
        """Whether `fit` (or `load`) has run."""
        return self.network_ is not None

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise RuntimeError("This LSTMForecaster is not fitted yet: call `fit(series)` first.")

    # ------------------------------------------------------------------ shapes
    def _choose_season(self, panel: Panel) -> tuple[int, str]:
        """The season and where it came from ("argument", "frequency", "data", "none").

        Candidates: the frequency's season (monthly 12, quarterly 4, ...) and
        the period found in the data (`infer_season`), each kept when the
        series are long enough for it and the longest passes the M4
        seasonality test at that lag; of two, the one of stronger seasonality
        (`transforms.seasonal_strength`: a daily series with a 50-day cycle
        gets 50, not 7; a monthly series keeps 12).
        """
        if self.season is not None:
            return self.season, "argument"
        shortest = min(len(item.y) for item in panel.items)
        longest = max(panel.items, key=lambda item: len(item.y)).y
        calendar = season_from_freq(panel.freq)
        fits = [m for m in (calendar, infer_season(longest, max_lag=len(longest) // 3))
                if m and m > 1 and shortest >= 2 * m + self.horizon and is_seasonal(longest, m)]
        if not fits:
            return 1, "none"
        # Where the frequency's period and the data's differ (a daily series with a
        # 50-day cycle), the stronger seasonality (a trend does not count); the
        # frequency's on a tie.
        best = max(fits, key=lambda m: seasonal_strength(longest, m))
        return int(best), "frequency" if best == calendar else "data"

    def _choose_lookback(self, shortest: int, season: int, holdout: int) -> int:
        usable = shortest - holdout
        need = self.horizon + 1  # training windows per series at least
        if self.lookback is not None:
            if usable - self.lookback - self.horizon + 1 < need:
                raise ValueError(
                    f"Received `lookback`={self.lookback}, but the shortest series has "
                    f"{shortest} points, and {self.lookback + 2 * self.horizon + holdout} are "
                    f"needed (lookback + horizon + {self.horizon + 1} windows"
                    f"{f' + {holdout} for calibration' if holdout else ''}): lower `lookback` "
                    f"(at most {max(usable - 2 * self.horizon, 0)}) or `calibration_origins`."
                )
            return self.lookback
        wanted = max(2 * self.horizon, 2 * season if season > 1 else 0, 4)
        fits = usable - 2 * self.horizon
        if fits < 2:
            raise ValueError(
                f"Received a series of {shortest} points, but `horizon`={self.horizon} needs at "
                f"least {2 * self.horizon + 2 + holdout} (two horizons + 2"
                f"{f' + {holdout} for calibration' if holdout else ''}): lower `horizon`"
                f"{' or `calibration_origins`' if holdout else ''}, or drop the short series."
            )
        return int(min(wanted, fits))

    def _calibration_origins(self, shortest: int) -> int:
        if not self.levels and not (self.combine and self.combine_weights == "calibrated"):
            return 0
        if self.calibration_origins is not None:
            return self.calibration_origins
        # Two horizons of origins, more on long series (a tenth of the shortest), at
        # most half of what is left after four horizons. One horizon (or a twentieth)
        # gave too few, too alike errors: the 80% intervals covered 72.6% of the
        # real panel of benchmarks/bench_forecast.py and 73.1% of its held-out
        # series, 76.2% and 77.9% with two.
        wanted = max(2 * self.horizon, shortest // 10)
        return int(max(1, min(wanted, (shortest - 4 * self.horizon) // 2)))

    # ------------------------------------------------------------------ windows
    def _scale_columns(self, name: str, values: np.ndarray) -> np.ndarray:
        mean, std = (np.asarray(v) for v in self.scalers_[name])
        return (values - mean) / std

    def _fit_scalers(self, panel: Panel) -> None:
        self.scalers_ = {}
        for name, blocks in (
            ("past", [item.past for item in panel.items if item.past is not None]),
            ("future", [item.future.reindex(item.index).to_numpy() for item in panel.items
                        if item.future is not None]),
            ("static", [item.static[None] for item in panel.items if item.static is not None]),
        ):
            if blocks:
                stacked = np.concatenate(blocks)
                std = np.nanstd(stacked, axis=0)
                self.scalers_[name] = [np.nanmean(stacked, axis=0).tolist(),
                                       np.where(std > 0, std, 1.0).tolist()]

    def _transform(self, y: np.ndarray) -> SeriesTransform:
        """The transform of `y`'s history: the units of its errors and intervals."""
        return SeriesTransform.fit(y, self.season_, log="auto" if self.log == "both" else self.log,
                                   deseasonalize=self.deseasonalize)

    def _views(self, y: np.ndarray, primary: SeriesTransform | None = None
               ) -> list[SeriesTransform]:
        """The transforms the network reads `y` in: `log="both"` and a log, also without."""
        primary = self._transform(y) if primary is None else primary
        if self.log != "both" or not primary.log:
            return [primary]
        return [primary, SeriesTransform.fit(y, self.season_, log=False,
                                             deseasonalize=self.deseasonalize)]

    def _future_block(self, item: Item, origin: int) -> np.ndarray:
        """Standardised future covariates of the window and the `horizon` steps after it.

        Known-ahead values are known for the past too: the window's rows go
        beside the target in the window, the next `horizon` rows to the
        network's "future" input.
        """
        first = origin - self.lookback_ + 1
        stamps = pd.date_range(item.index[0], periods=origin + 1 + self.horizon,
                               freq=self.panel_.freq)[first:]
        block = item.future.reindex(stamps)
        if block.isna().to_numpy().any():
            missing = stamps[block.isna().any(axis=1).to_numpy()]
            where = ("do not reach the forecast horizon" if missing[0] > item.index[origin]
                     else "do not cover the history")
            raise ValueError(
                f"Received `future_covariates` for series {item.id!r} that {where}: values are "
                f"missing from {missing[0]} (needed from {stamps[0]} to {stamps[-1]}, "
                f"`horizon`={self.horizon} steps after {item.index[origin]})."
            )
        return self._scale_columns("future", block.to_numpy(dtype="float64"))

    def _inputs(
        self, item: Item, origins: np.ndarray, transforms: Sequence[SeriesTransform],
        with_target: bool,
    ) -> tuple[list[np.ndarray], np.ndarray | None]:
        """Network inputs for windows ending at `origins`, and targets if asked."""
        lookback, horizon = self.lookback_, self.horizon
        windows, targets, futures = [], [], []
        past = None if item.past is None else self._scale_columns("past", item.past)
        for origin, tf in zip(origins, transforms):
            positions = np.arange(origin - lookback + 1, origin + 1)
            z = tf.forward(item.y[positions], positions)
            level = z[-1]
            # Two channels: the deseasonalised window and the window with its season
            # (log or original units), both minus their last value, in the series'
            # scale: where the seasonal indices miss a drifting season, the network
            # still sees the season itself.
            seasonal = tf.forward(item.y[positions], positions, deseasonalize=False)
            x = np.stack([(z - level) / tf.scale, (seasonal - seasonal[-1]) / tf.scale], axis=1)
            if past is not None:
                x = np.concatenate([x, past[positions]], axis=1)
            if self.panel_.future_columns:
                block = self._future_block(item, origin)
                x = np.concatenate([x, block[:lookback]], axis=1)
                futures.append(block[lookback:])
            windows.append(x)
            if with_target:
                ahead = np.arange(origin + 1, origin + 1 + horizon)
                targets.append((tf.forward(item.y[ahead], ahead) - level) / tf.scale)
        inputs = [np.asarray(windows, dtype="float32")]
        if self.panel_.future_columns:
            inputs.append(np.asarray(futures, dtype="float32"))
        if self.panel_.static_columns:
            static = self._scale_columns("static", item.static)
            inputs.append(np.repeat(static[None], len(origins), axis=0).astype("float32"))
        return inputs, (np.asarray(targets, dtype="float32") if with_target else None)

    # ------------------------------------------------------------------ network
    def _build_network(self, n_inputs: int) -> Any:
        import keras

        from lstm_apps.recipes._common import recurrent_stack

        window = keras.Input((self.lookback_, n_inputs), name="window")
        inputs, extras = [window], []
        if self.panel_.future_columns:
            future = keras.Input((self.horizon, len(self.panel_.future_columns)), name="future")
            inputs.append(future)
            extras.append(keras.layers.Flatten(name="future_flat")(future))
        if self.panel_.static_columns:
            static = keras.Input((len(self.panel_.static_columns),), name="static")
            inputs.append(static)
            extras.append(static)
        members = []
        for k in range(self.ensemble):
            x = window
            for layer in recurrent_stack(self.cell, self.units, layers=self.layers,
                                         seed=self.seed + 97 * k, name=f"member{k}_rnn"):
                x = layer(x)
            if extras:
                x = keras.layers.Concatenate(name=f"member{k}_concat")([x, *extras])
            if self.dropout:
                x = keras.layers.Dropout(self.dropout, seed=self.seed + k,
                                         name=f"member{k}_dropout")(x)
            x = keras.layers.Dense(self.horizon, name=f"member{k}_dense")(x)
            members.append(keras.layers.Reshape((1, self.horizon), name=f"member{k}")(x))
        outputs = members[0] if len(members) == 1 else keras.layers.Concatenate(
            axis=1, name="members")(members)
        return keras.Model(inputs if len(inputs) > 1 else window, outputs,
                           name=f"lstm_forecaster_{self.cell}")

    def _windows(self, panel: Panel, end: dict[Any, int]) -> tuple[list[np.ndarray], np.ndarray]:
        """Training windows of every series up to position `end[id]`, stacked."""
        blocks_x: list[list[np.ndarray]] = []
        blocks_y = []
        for item in panel.items:
            stop = end[item.id]
            origins = np.arange(self.lookback_ - 1, stop - self.horizon)
            if not len(origins):
                continue
            for tf in self._views(item.y[:stop]):
                inputs, targets = self._inputs(item, origins, [tf] * len(origins), True)
                blocks_x.append(inputs)
                blocks_y.append(targets)
        x = [np.concatenate([b[k] for b in blocks_x]) for k in range(len(blocks_x[0]))]
        return x, np.concatenate(blocks_y)

    def _per_epoch(self, steps: int) -> int:
        return -(-steps // min(self.epochs, steps))

    def _compiled_network(self, n_inputs: int) -> Any:
        import keras

        keras.utils.set_random_seed(self.seed)
        network = self._build_network(n_inputs)
        total = self._per_epoch(self.steps) * min(self.epochs, self.steps)
        schedule = keras.optimizers.schedules.CosineDecay(
            self.learning_rate, decay_steps=total, alpha=0.1)
        network.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0), loss="mae")
        return network

    def _fit_steps(self, network: Any, x: list[np.ndarray], y: np.ndarray, steps: int,
                   callbacks: list[Any]) -> pd.DataFrame:
        """`steps` batches drawn as shuffled passes over the windows, in `epochs` epochs.

        The batches are fixed in advance (global step `k` is batch `k`,
        whatever the epoch it falls in), so the epochs only decide how often
        the callbacks see an epoch end: on a series of 100 windows an epoch
        of the data is 2 batches, and Keras's per-epoch work would cost more
        than the training itself. A resumed fit (`BackupAndRestore`) goes on
        with the batches where it stopped.
        """
        import keras

        epochs = min(self.epochs, steps)
        per_epoch = self._per_epoch(steps)
        batch = min(self.batch_size, len(y))
        rng = np.random.default_rng(self.seed + len(y))
        need = per_epoch * epochs * batch
        order = np.concatenate([rng.permutation(len(y)) for _ in range(need // len(y) + 1)])
        order = order[:need]
        members = self.ensemble

        class Batches(keras.utils.PyDataset):
            epoch = 0

            def __len__(self) -> int:
                return per_epoch

            def __getitem__(self, index: int) -> Any:
                rows = order[((self.epoch * per_epoch + index) * batch) % need:][:batch]
                inputs = [block[rows] for block in x]
                targets = np.repeat(y[rows][:, None, :], members, axis=1)
                return (tuple(inputs) if len(inputs) > 1 else inputs[0]), targets

        data = Batches()

        class Epoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
                data.epoch = epoch

        logger.info("training on %d windows: %d steps of %d in %d epochs", len(y),
                    per_epoch * epochs, batch, epochs)
        # A BackupAndRestore of an earlier, resumed fit leaves its epoch on the model
        # (Keras's trainers start at `model._initial_epoch or initial_epoch` and never
        # clear it): without this, the fine-tuning after a resumed training would
        # start at that epoch too.
        if getattr(network, "_initial_epoch", None):
            network._initial_epoch = None
        fit = network.fit(data, epochs=epochs, verbose=self.verbose,
                          callbacks=[Epoch(), *callbacks])
        return pd.DataFrame(dict(fit.history))

    # ------------------------------------------------------------------ forecasts
    def _forecast_at(
        self, network: Any, panel: Panel, origins: dict[Any, np.ndarray],
        refit: bool | None = None,
    ) -> dict[Any, dict[str, Any]]:
        """LSTM and combined forecasts from each origin, with the transforms used.

        `refit`: of the classical models, as in `baselines.classical_forecasts`.
        """
        out: dict[Any, dict[str, Any]] = {}
        batches, slices = [], []
        for item in panel.items:
            o = np.asarray(origins.get(item.id, []), dtype=int)
            tfs = [self._transform(item.y[: origin + 1]) for origin in o]
            views = [self._views(item.y[: origin + 1], tf) for origin, tf in zip(o, tfs)]
            out[item.id] = {"origins": o, "transforms": tfs}
            if len(o):
                # One block of inputs per view: the LSTM's forecast is their mean.
                for v in range(max(len(w) for w in views)):
                    view = [w[v % len(w)] for w in views]
                    batches.append(self._inputs(item, o, view, False)[0])
                    slices.append((item.id, view))
        if batches:
            x = [np.concatenate([b[k] for b in batches]) for k in range(len(batches[0]))]
            raw = np.concatenate([
                np.asarray(network([b[i : i + 1024] for b in x] if len(x) > 1
                                   else x[0][i : i + 1024], training=False))
                for i in range(0, len(x[0]), 1024)
            ])
            change = np.median(raw, axis=1)
            start = 0
            for key, view in slices:
                entry = out[key]
                n = len(entry["origins"])
                item = next(i for i in panel.items if i.id == key)
                lstm = np.empty((n, self.horizon))
                for r, (origin, tf) in enumerate(zip(entry["origins"], view)):
                    level = tf.forward(item.y[origin : origin + 1], np.array([origin]))[0]
                    ahead = np.arange(origin + 1, origin + 1 + self.horizon)
                    lstm[r] = (item.y[origin] if tf.constant else
                               tf.inverse(level + tf.scale * change[start + r], ahead))
                start += n
                entry.setdefault("views", []).append(lstm)
            for entry in out.values():
                if "views" in entry:
                    entry["lstm"] = np.mean(entry.pop("views"), axis=0)
        for item in panel.items:
            entry = out[item.id]
            if "lstm" not in entry:
                entry["lstm"] = np.zeros((0, self.horizon))
            if self.combine and len(entry["origins"]):
                classical = _baselines.classical_forecasts(
                    item.y, entry["origins"], self.horizon, self.season_, models=self.combine,
                    refit=refit)
                entry["classical"] = classical
            entry["forecast"] = self._combined(entry)
        return out

    def _members(self, entry: dict[str, Any]) -> dict[str, np.ndarray]:
        """The forecasts combined: the LSTM's, then each classical model's."""
        classical = entry.get("classical", {})
        return {"lstm": entry["lstm"], **{name: classical[name] for name in self.combine
                                          if name in classical}}

    def _combined(self, entry: dict[str, Any]) -> np.ndarray:
        """The members' median ("median"), else their mean weighted by `weights_`."""
        members = self._members(entry)
        if self.combine_weights == "median" and len(members) > 1:
            return np.median(np.stack(list(members.values())), axis=0)
        weights = np.array([self.weights_.get(name, 1.0) for name in members])
        return np.tensordot(weights / weights.sum(), np.stack(list(members.values())), axes=1)

    @staticmethod
    def _scaled_errors(entry: dict[str, Any], forecast: np.ndarray, actual: np.ndarray
                       ) -> np.ndarray:
        """Errors `(origins, horizon)` of `forecast` in transformed, scaled units."""
        rows = []
        for tf, pred, true in zip(entry["transforms"], forecast, actual):
            g = (lambda v: np.log(np.maximum(v, 1e-300))) if tf.log else (lambda v: v)
            rows.append((g(true) - g(pred)) / tf.scale)
        return np.asarray(rows).reshape(-1, forecast.shape[-1])

    def _calibrate_weights(self, entries: dict[Any, dict[str, Any]],
                           actual: dict[Any, np.ndarray]) -> None:
        """`weights_` from the members' calibration errors (see the module docstring)."""
        if not self.combine or self.combine_weights != "calibrated":
            return
        squared: dict[str, list[np.ndarray]] = {}
        for key, entry in entries.items():
            for name, forecast in self._members(entry).items():
                squared.setdefault(name, []).append(
                    self._scaled_errors(entry, forecast, actual[key]).ravel() ** 2)
        names = list(squared)
        mse = np.array([np.mean(np.concatenate(squared[name])) for name in names])
        if len(names) < 2 or not np.all(np.isfinite(mse)) or not np.all(mse > 0):
            return  # a perfect or broken member: equal weights
        inverse = (1.0 / mse) / np.sum(1.0 / mse)
        weights = _SHRINK / len(names) + (1.0 - _SHRINK) * inverse
        self.weights_ = {name: float(w) for name, w in zip(names, weights)}
        for entry in entries.values():
            entry["forecast"] = self._combined(entry)
        logger.info("combination weights %s", {k: round(v, 3) for k, v in self.weights_.items()})

    def _intervals(self, entry: dict[str, Any], level: float) -> tuple[np.ndarray, np.ndarray]:
        half = np.asarray(self.conformal_[f"{level:g}"])[: self.horizon]
        lower, upper = [], []
        for tf, pred in zip(entry["transforms"], entry["forecast"]):
            if tf.log:
                g = np.log(np.maximum(pred, 1e-300))
                lower.append(np.exp(g - tf.scale * half))
                upper.append(np.exp(g + tf.scale * half))
            else:
                lower.append(pred - tf.scale * half)
                upper.append(pred + tf.scale * half)
        return np.asarray(lower).reshape(-1, self.horizon), np.asarray(upper).reshape(
            -1, self.horizon)

    def _setup(self, panel: Panel) -> tuple[int, int]:
        """Chooses the season, lookback and scalers for `panel`; (origins, holdout)."""
        self.panel_ = panel
        self.network_ = None
        members = ("lstm", *self.combine) if self.combine else ()
        # A median has no weights: `weights_` is empty then, as for the LSTM alone.
        self.weights_ = ({} if self.combine_weights == "median" else
                         {name: 1.0 / len(members) for name in members})
        flat = [item.id for item in panel.items if np.ptp(item.y) == 0]
        if flat:
            logger.warning(
                "series %s are constant: they are forecast as that constant, and their "
                "MASE is undefined (null in JSON)", flat[:5])
        self.season_, self.season_source_ = self._choose_season(panel)
        shortest = min(len(item.y) for item in panel.items)
        k = self._calibration_origins(shortest)
        holdout = k + self.horizon - 1 if k else 0
        self.lookback_ = self._choose_lookback(shortest, self.season_, holdout)
        self._fit_scalers(panel)
        logger.info("season %d, lookback %d, %d series, %d calibration origins", self.season_,
                    self.lookback_, len(panel.items), k)
        return k, holdout

    def _n_inputs(self) -> int:
        return 2 + len(self.panel_.past_columns) + len(self.panel_.future_columns)

    def build(
        self,
        series: Any,
        future_covariates: Any = None,
        static_covariates: Any = None,
        past_covariates: Any = None,
        *,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
    ) -> Any:
        """The compiled Keras network that `fit` would train on these series.

        The season, lookback and covariate scalers are chosen as `fit`
        chooses them (and kept on the forecaster); nothing is trained. A
        Keras Tuner hypermodel returns this from `build(hp)`.

        Example:

        >>> import numpy as np, pandas as pd
        >>> from lstm_apps.forecasting import LSTMForecaster
        >>> y = pd.Series(np.arange(120.0), pd.date_range("2000-01", periods=120, freq="MS"))
        >>> LSTMForecaster(horizon=6, units=8).build(y).input_shape
        (None, 24, 2)
        """
        panel = to_panel(series, past_covariates, future_covariates, static_covariates,
                         id_col=id_col, time_col=time_col, target_col=target_col)
        self._setup(panel)
        return self._compiled_network(self._n_inputs())

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        series: Any,
        future_covariates: Any = None,
        static_covariates: Any = None,
        past_covariates: Any = None,
        *,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        callbacks: Sequence[Any] | Callable[[str], Sequence[Any]] | None = None,
    ) -> LSTMForecaster:
        """Trains the forecaster on one or many series.

        Args:
            series: A pandas Series (or one-column DataFrame) with a
                `DatetimeIndex`, a list of them, or a long DataFrame with
                columns `id_col`, `time_col` and `target_col`: one model is
                trained across all of them.
            future_covariates: Values known ahead for each timestamp
                (calendar, planned prices), DataFrames shaped like `series`
                (one per series, or long), covering the history; to
                predict they must reach `horizon` steps past its end.
            static_covariates: One row of numbers per series (a DataFrame
                indexed by the series ids: the names of a dict's keys, the
                positions of a list, the ids of a long frame; a dict for one
                series).
            past_covariates: Values observed with the target (DataFrames
                on the same timestamps), fed as extra window columns.
            id_col, time_col, target_col: Columns of a long DataFrame.
            callbacks: Keras callbacks of the training, or a function from
                the training phase ("train", then "finetune" after the
                calibration) to the callbacks of that phase (for callbacks
                that must not span both, such as `BackupAndRestore`). The
                function is called once the lookback is chosen, so it may
                use `network_inputs`.

        Returns:
            The forecaster itself, fitted; `history_` holds the loss of each
            epoch, with a "phase" column.
        """
        started = time.perf_counter()
        panel = to_panel(series, past_covariates, future_covariates, static_covariates,
                         id_col=id_col, time_col=time_col, target_col=target_col)
        k, holdout = self._setup(panel)
        full = {item.id: len(item.y) for item in panel.items}
        phases = callbacks if callable(callbacks) else (lambda phase: list(callbacks or ()))
        histories = []
        if k:
            # Train without the last `holdout` points, forecast them from `k` origins:
            # the errors there calibrate the intervals. Then go on training on
            # everything, at the decayed learning rate, for a quarter of the steps.
            x, y = self._windows(panel, {key: n - holdout for key, n in full.items()})
            network = self._compiled_network(x[0].shape[-1])
            self.network_ = network  # for `network_inputs` in the callbacks
            histories.append(self._fit_steps(network, x, y, self.steps, list(phases("train")))
                             .assign(phase="train"))
            origins = {item.id: np.arange(len(item.y) - holdout - 1, len(item.y) - self.horizon)
                       for item in panel.items}
            # The calibration origins are consecutive: the classical models are fitted
            # at the first and run forward (gas, 476 points: 342 s of fit with a
            # refit of AutoARIMA at each origin).
            self._calibrate(self._forecast_at(network, panel, origins, refit=False), panel)
            x, y = self._windows(panel, full)
            histories.append(self._fit_steps(network, x, y, max(1, self.steps // 4),
                                             list(phases("finetune"))).assign(phase="finetune"))
        else:
            x, y = self._windows(panel, full)
            network = self._compiled_network(x[0].shape[-1])
            self.network_ = network
            histories.append(self._fit_steps(network, x, y, self.steps, list(phases("train")))
                             .assign(phase="train"))
        self.history_ = pd.concat(histories, ignore_index=True)
        self.network_ = network
        self.fit_seconds_ = time.perf_counter() - started
        logger.info("fitted in %.1f s", self.fit_seconds_)
        return self

    def _calibrate(self, entries: dict[Any, dict[str, Any]], panel: Panel) -> None:
        """Combination weights, then per-step conformal half-widths, from the
        calibration forecasts."""
        actual = {}
        for item in panel.items:
            ahead = entries[item.id]["origins"][:, None] + np.arange(1, self.horizon + 1)[None, :]
            actual[item.id] = item.y[ahead]
        self._calibrate_weights(entries, actual)
        residuals, raw = [], []
        for item in panel.items:
            entry = entries[item.id]
            residuals.append(self._scaled_errors(entry, entry["forecast"], actual[item.id]))
            raw.append(np.abs(actual[item.id] - entry["forecast"]).ravel())
        errors = np.abs(np.concatenate(residuals))
        self.validation_ = {
            "mae": float(np.mean(np.concatenate(raw))),
            "scaled_mae": float(errors.mean()),
            "forecasts": int(len(errors)),
        }
        # The shape of the interval over the steps is a power law c h^p (0 <= p <= 1)
        # fitted to the per-step RMS of the errors: each step has only k errors, so
        # its own RMS is noisy, and a running maximum of them narrowed the early
        # steps (72% coverage at 80% on the real panel, 77% late). Its width is one
        # conformal quantile of all the errors divided by that shape, pooled over
        # the steps: k errors are too few for a quantile per step (their 9th of 10
        # swings between 1.3 and 2.5 standard deviations).
        shape = _power_law(np.sqrt(np.mean(errors ** 2, axis=0)))
        shape = np.where(shape > 0, shape, 1.0)
        pooled = (errors / shape).ravel()
        m = len(pooled)
        self.conformal_ = {}
        for level in self.levels:
            # The finite-sample split-conformal quantile: the ceil((m + 1) level)-th
            # smallest of m scores (Vovk et al.; Angelopoulos & Bates, 2021).
            q = np.quantile(pooled, min(1.0, math.ceil((m + 1) * level) / m), method="higher")
            self.conformal_[f"{level:g}"] = (q * shape).tolist()
        logger.info("intervals calibrated on %d forecasts", len(errors))

    # ------------------------------------------------------------------ predict
    def _panel_for(self, series: Any, past: Any, future: Any, static: Any) -> Panel:
        self._check_fitted()
        if series is None:
            if past is not None or static is not None:
                raise ValueError(
                    "Received covariates without `series`: pass the series they belong to."
                )
            panel = copy.copy(self.panel_)
            if future is not None:
                fresh = to_panel(self._series_arg(panel), None, future, None,
                                 id_col=panel.id_col, time_col=panel.time_col,
                                 target_col=panel.target_col)
                panel.items = [copy.copy(item) for item in panel.items]
                for item, new in zip(panel.items, fresh.items):
                    item.future = new.future
            return panel
        p = self.panel_
        panel = to_panel(series, past, future, static, id_col=p.id_col, time_col=p.time_col,
                         target_col=p.target_col)
        if panel.freq != p.freq:
            raise ValueError(
                f"Received series of frequency {panel.freq!r}, but the model was fitted on "
                f"{p.freq!r} data."
            )
        for name in ("past_columns", "future_columns", "static_columns"):
            if getattr(panel, name) != getattr(p, name):
                raise ValueError(
                    f"Received {name.split('_')[0]} covariates {list(getattr(panel, name))}, "
                    f"but the model was fitted with {list(getattr(p, name))}."
                )
        short = [item.id for item in panel.items if len(item.y) < self.lookback_]
        if short:
            raise ValueError(
                f"Received series {short[:5]} shorter than the model's `lookback` "
                f"({self.lookback_} points)."
            )
        return panel

    @staticmethod
    def _series_arg(panel: Panel) -> Any:
        frames = [pd.Series(item.y, item.index, name=panel.target_col) for item in panel.items]
        if panel.kind == "single":
            return frames[0]
        if panel.kind == "list":
            return frames
        return pd.concat(
            [f.rename_axis(panel.time_col).reset_index().assign(**{panel.id_col: item.id})
             for f, item in zip(frames, panel.items)], ignore_index=True)

    def predict(
        self,
        n: int | None = None,
        series: Any = None,
        future_covariates: Any = None,
        static_covariates: Any = None,
        past_covariates: Any = None,
        *,
        long: bool | None = None,
    ) -> pd.DataFrame | list[pd.DataFrame]:
        """Forecasts the `n` steps after the end of each series.

        Args:
            n: Steps to forecast, at most `horizon` (default: `horizon`).
            series: The series to forecast (default: those given to `fit`),
                in any form `fit` takes; a global model forecasts new series
                too.
            future_covariates, static_covariates, past_covariates: As for
                `fit`, for `series`.
            long: Return one long DataFrame (columns id, timestamp, forecast,
                bounds) instead of one frame per series. Default: long when
                the series came as a long frame.

        Returns:
            For one series, a DataFrame indexed by the future timestamps with
            the column "forecast" and, per interval level `p`, "lower_p" and
            "upper_p" (e.g. "lower_80"); for a list, a list of them; else a
            long DataFrame.
        """
        self._check_fitted()
        n = self.horizon if n is None else n
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(
                f"Received an invalid value for argument `n`, expected an integer >= 1, got {n!r}."
            )
        if n > self.horizon:
            raise ValueError(
                f"Received `n`={n}, but the model forecasts `horizon`={self.horizon} steps at "
                "once: fit a forecaster with a longer horizon."
            )
        panel = self._panel_for(series, past_covariates, future_covariates, static_covariates)
        origins = {item.id: np.array([len(item.y) - 1]) for item in panel.items}
        entries = self._forecast_at(self.network_, panel, origins)
        frames = []
        for item in panel.items:
            entry = entries[item.id]
            stamps = pd.date_range(item.index[-1], periods=n + 1, freq=panel.freq)[1:]
            frame = pd.DataFrame({"forecast": entry["forecast"][0, :n]},
                                 index=stamps.rename(item.index.name or panel.time_col))
            for level in self.levels:
                if f"{level:g}" in self.conformal_:
                    lower, upper = self._intervals(entry, level)
                    lo, hi = interval_columns(level)
                    frame[lo], frame[hi] = lower[0, :n], upper[0, :n]
            frame.attrs["id"] = item.id
            frames.append(frame)
        long = panel.kind == "long" if long is None else long
        if long:
            return pd.concat(
                [f.rename_axis(panel.time_col).reset_index().assign(**{panel.id_col: item.id})
                 for f, item in zip(frames, panel.items)], ignore_index=True,
            )[[panel.id_col, panel.time_col, *frames[0].columns]]
        return frames[0] if panel.kind == "single" else frames

    def network_inputs(
        self,
        samples: int = 8,
        series: Any = None,
        *,
        past_covariates: Any = None,
        future_covariates: Any = None,
        static_covariates: Any = None,
        timestamps: bool = False,
    ) -> Any:
        """Inputs of the network for the last `samples` windows of the first series.

        What a `lstm_apps.callbacks.GateMonitor` probe or `lstm_apps.trace_gates`
        needs, preprocessed as `fit` chose (transform, scaling, season channel).

        Args:
            samples: Windows, the last ones of the series.
            series: The series (default: the first one given to `fit`), in any
                form `fit` takes; with its covariates as for `predict`.
            timestamps: Also return the timestamps of each window's steps.

        Returns:
            An array `(samples, lookback, channels)`, or a tuple of arrays for
            a network with covariate inputs; with `timestamps`, the pair
            `(inputs, [DatetimeIndex per window])`.

        Example:

        >>> import numpy as np, pandas as pd
        >>> from lstm_apps.forecasting import LSTMForecaster
        >>> index = pd.date_range("2020-01-01", periods=200, freq="D")
        >>> y = pd.Series(np.sin(np.arange(200) / 5) + 2, index=index)
        >>> model = LSTMForecaster(horizon=3, lookback=14, units=4, steps=5, combine=())
        >>> x, stamps = model.fit(y).network_inputs(2, timestamps=True)
        >>> x.shape, str(stamps[-1][-1].date())
        ((2, 14, 2), '2020-07-18')
        """
        if self.network_ is None or self.panel_ is None:
            raise RuntimeError("This LSTMForecaster has no network yet: call `fit(series)` first.")
        samples = check_int("samples", samples, 1)
        panel = (self.panel_ if series is None else
                 self._panel_for(series, past_covariates, future_covariates, static_covariates))
        item = panel.items[0]
        last = len(item.y) - 1 - (self.horizon if panel.future_columns else 0)
        origins = np.arange(max(self.lookback_ - 1, last - samples + 1), last + 1)
        inputs, _ = self._inputs(item, origins,
                                 [self._transform(item.y[: o + 1]) for o in origins], False)
        inputs = inputs[0] if len(inputs) == 1 else tuple(inputs)
        if not timestamps:
            return inputs
        return inputs, [item.index[o - self.lookback_ + 1: o + 1] for o in origins]

    # ------------------------------------------------------------------ evaluation
    def historical_forecasts(
        self,
        series: Any = None,
        start: float | int | pd.Timestamp = 0.8,
        stride: int | None = None,
        retrain: bool = False,
        future_covariates: Any = None,
        static_covariates: Any = None,
        past_covariates: Any = None,
        baselines: bool = False,
    ) -> pd.DataFrame:
        """Rolling-origin forecasts: from each origin, only the data up to it.

        Args:
            series: The series (default: those given to `fit`).
            start: Where the first forecast starts: a fraction of each
                series (0.8: its last 20% is forecast), a position, or a
                timestamp (the first forecast step).
            stride: Steps between origins (default: 1).
            retrain: False: the fitted network forecasts from every origin
                (per-series transforms and classical models are still fitted
                on the data up to each origin only). True: a copy of the
                forecaster is fitted anew on the data up to each origin
                (slow; use a larger `stride`).
            future_covariates, static_covariates, past_covariates: As for
                `fit`.
            baselines: Also give the naive, seasonal-naive, drift and
                automatic classical forecasts ("auto_ets", ...) as columns.

        Returns:
            A long DataFrame, one row per (series, origin, step): "id",
            "origin" (the last timestamp seen), "timestamp", "step",
            "actual", "forecast", "lstm" (the LSTM alone), the interval
            bounds, and the baselines when asked.
        """
        stride = 1 if stride is None else check_int("stride", stride, 1)
        if retrain:
            template = copy.copy(self)
            template.network_ = None
            panel = to_panel(self._series_arg(self.panel_) if series is None else series,
                             past_covariates, future_covariates, static_covariates)
        else:
            panel = self._panel_for(series, past_covariates, future_covariates,
                                    static_covariates)
        origins = {item.id: self._origins(item, start, stride) for item in panel.items}
        if retrain:
            entries = self._retrained_entries(panel, origins, past_covariates,
                                              future_covariates, static_covariates)
        else:
            entries = self._forecast_at(self.network_, panel, origins)
        return self._table(panel, entries, baselines)

    def _origins(self, item: Item, start: Any, stride: int) -> np.ndarray:
        n = len(item.y)
        if isinstance(start, pd.Timestamp) or isinstance(start, str):
            first = int(item.index.searchsorted(pd.Timestamp(start))) - 1
        elif isinstance(start, float) and not isinstance(start, bool) and 0 < start < 1:
            first = int(math.floor(start * n)) - 1
        elif isinstance(start, (int, np.integer)) and not isinstance(start, bool):
            first = int(start) - 1 if start >= 0 else n + int(start) - 1
        else:
            raise ValueError(
                "Received an invalid value for argument `start`, expected a fraction in (0, 1), "
                f"a position or a timestamp, got {start!r}."
            )
        lowest = (self.lookback_ or 1) - 1
        if first < lowest:
            raise ValueError(
                f"Received `start`={start!r}, which leaves series {item.id!r} "
                f"{first + 1} points before the first forecast; the model needs `lookback`="
                f"{self.lookback_}."
            )
        last = n - self.horizon - 1
        if last < first:
            raise ValueError(
                f"Received `start`={start!r}: series {item.id!r} ({n} points) has no room for a "
                f"forecast of `horizon`={self.horizon} steps after position {first}."
            )
        return np.arange(first, last + 1, stride)

    def _retrained_entries(self, panel, origins, past, future, static):
        entries: dict[Any, dict[str, Any]] = {}
        for item in panel.items:
            collected: list[dict[str, Any]] = []
            for origin in origins[item.id]:
                one = pd.Series(item.y[: origin + 1], item.index[: origin + 1])
                model = LSTMForecaster(**self.get_params())
                model.fit(one, future_covariates=None if item.future is None else item.future,
                          static_covariates=None if item.static is None else dict(
                              zip(panel.static_columns, item.static)),
                          past_covariates=None if item.past is None else pd.DataFrame(
                              item.past[: origin + 1], item.index[: origin + 1],
                              columns=list(panel.past_columns)))
                sub = model._panel_for(None, None, None, None)
                collected.append(model._forecast_at(
                    model.network_, sub, {sub.items[0].id: np.array([origin])}
                )[sub.items[0].id] | {"model": model})
            entries[item.id] = _merge(collected, self.horizon)
        return entries

    def _table(self, panel: Panel, entries: dict[Any, dict[str, Any]], baselines: bool
               ) -> pd.DataFrame:
        frames = []
        for item in panel.items:
            entry = entries[item.id]
            o = entry["origins"]
            if not len(o):
                continue
            steps = np.arange(1, self.horizon + 1)
            ahead = o[:, None] + steps[None, :]
            frame = pd.DataFrame({
                "id": item.id,
                "origin": np.repeat(item.index[o], self.horizon),
                "timestamp": item.index[ahead.ravel()],
                "step": np.tile(steps, len(o)),
                "actual": item.y[ahead].ravel(),
                "forecast": entry["forecast"].ravel(),
                "lstm": entry["lstm"].ravel(),
            })
            for level in self.levels:
                models = entry.get("models")
                if models is not None:
                    bounds = [m._intervals(e, level) for m, e in models]
                    lower = np.concatenate([b[0] for b in bounds])
                    upper = np.concatenate([b[1] for b in bounds])
                elif f"{level:g}" in self.conformal_:
                    lower, upper = self._intervals(entry, level)
                else:
                    continue
                lo, hi = interval_columns(level)
                frame[lo], frame[hi] = lower.ravel(), upper.ravel()
            if baselines:
                simple = _baselines.simple_forecasts(item.y, o, self.horizon, self.season_)
                classical = entry.get("classical") or {}
                missing = [m for m in _baselines.CLASSICAL if m not in classical]
                if missing:
                    classical = {**classical, **_baselines.classical_forecasts(
                        item.y, o, self.horizon, self.season_, models=missing)}
                for name, values in {**simple, **classical}.items():
                    frame[name] = np.asarray(values).ravel()
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def backtest(
        self,
        series: Any = None,
        start: float | int | pd.Timestamp = 0.8,
        stride: int | None = None,
        retrain: bool = False,
        future_covariates: Any = None,
        static_covariates: Any = None,
        past_covariates: Any = None,
    ) -> pd.DataFrame:
        """Scores `historical_forecasts` and every baseline on the same windows.

        Returns:
            A DataFrame with one row per (series id, forecaster) and the
            columns "mae", "rmse", "mase", "smape" (MASE scaled by the
            seasonal-naive error of the history before the first origin),
            and for "forecast" the coverage, Winkler score and pinball loss
            of each interval level; then, under id "mean", the mean over
            series (MASE's geometric mean relative to AutoETS in
            `attrs["relative_mase"]`). A coverage more than 10 points from
            its level is logged as a warning.
        """
        stride = max(1, self.horizon // 2) if stride is None else stride
        forecasts = self.historical_forecasts(
            series, start=start, stride=stride, retrain=retrain,
            future_covariates=future_covariates, static_covariates=static_covariates,
            past_covariates=past_covariates, baselines=True)
        return score(forecasts, self.levels, self.season_, self._series_for_scale(series))

    def _series_for_scale(self, series: Any) -> dict[Any, pd.Series]:
        panel = self.panel_ if series is None else to_panel(series)
        return {item.id: pd.Series(item.y, item.index) for item in panel.items}

    # ------------------------------------------------------------------ saving
    def save(self, path: str | os.PathLike) -> Path:
        """Saves the fitted forecaster to the folder `path` (made atomically).

        The folder holds `model.keras` (the network), `forecaster.json` (the
        arguments, the season and lookback chosen, the covariate scalers,
        the conformal half-widths) and `series.csv` (the training series,
        so that `predict()` after `load` needs no argument).
        """
        self._check_fitted()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            self.network_.save(tmp / "model.keras")
            p = self.panel_
            spec = {
                "format": _FORMAT,
                "params": self.get_params(),
                "season": self.season_,
                "lookback": self.lookback_,
                "scalers": self.scalers_,
                "conformal": self.conformal_,
                "weights": self.weights_,
                "panel": {"freq": p.freq, "kind": p.kind, "id_col": p.id_col,
                          "time_col": p.time_col, "target_col": p.target_col,
                          "past_columns": list(p.past_columns),
                          "future_columns": list(p.future_columns),
                          "static_columns": list(p.static_columns),
                          "index_names": [item.index.name for item in p.items]},
                "fit_seconds": self.fit_seconds_,
            }
            (tmp / "forecaster.json").write_text(json.dumps(spec, indent=2) + "\n")
            rows = []
            for item in p.items:
                frame = pd.DataFrame({"id": json.dumps(item.id, default=str),
                                      "timestamp": item.index, "y": item.y})
                if item.past is not None:
                    for c, name in enumerate(p.past_columns):
                        frame[f"past:{name}"] = item.past[:, c]
                if item.static is not None:
                    for c, name in enumerate(p.static_columns):
                        frame[f"static:{name}"] = item.static[c]
                rows.append(frame)
                if item.future is not None:
                    fut = item.future.reset_index(names="timestamp").add_prefix("future:")
                    fut = fut.rename(columns={"future:timestamp": "timestamp"})
                    fut.insert(0, "id", json.dumps(item.id, default=str))
                    rows.append(fut)
            pd.concat(rows, ignore_index=True).to_csv(tmp / "series.csv", index=False)
            for child in tmp.iterdir():
                os.chmod(child, 0o644 & ~_umask())
            os.chmod(tmp, 0o755 & ~_umask())
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike) -> LSTMForecaster:
        """Loads a forecaster saved by `save` (needs only `import lstm_apps`)."""
        import keras

        import lstm_apps  # noqa: F401  (registers the cells)

        folder = Path(path)
        if not (folder / "forecaster.json").is_file() or not (folder / "model.keras").is_file():
            raise FileNotFoundError(
                f"Received `path`={os.fspath(path)!r}, which is not a folder written by "
                "`LSTMForecaster.save` (expected forecaster.json and model.keras in it)."
            )
        spec = json.loads((folder / "forecaster.json").read_text())
        # Saved before the median became the default, a forecaster combined by the mean.
        model = cls(**{"combine_weights": "equal", **spec["params"]})
        model.network_ = keras.saving.load_model(folder / "model.keras")
        model.season_, model.lookback_ = spec["season"], spec["lookback"]
        model.scalers_, model.conformal_ = spec["scalers"], spec["conformal"]
        model.weights_ = spec.get("weights", {})
        model.fit_seconds_ = spec.get("fit_seconds")
        info = spec["panel"]
        table = pd.read_csv(folder / "series.csv", parse_dates=["timestamp"], dtype={"id": str})
        items = []
        for key, part in table.groupby("id", sort=False):
            observed = part[part["y"].notna()]
            index = pd.DatetimeIndex(observed["timestamp"]).rename(
                info["index_names"][len(items)])
            past_cols = [f"past:{c}" for c in info["past_columns"]]
            static_cols = [f"static:{c}" for c in info["static_columns"]]
            future_cols = [f"future:{c}" for c in info["future_columns"]]
            future = None
            if future_cols:
                rows = part[part["y"].isna()]
                future = rows.set_index(pd.DatetimeIndex(rows["timestamp"]))[future_cols]
                future.columns = info["future_columns"]
                future.index.freq = None
            items.append(Item(
                id=json.loads(key), index=index, y=observed["y"].to_numpy("float64"),
                past=observed[past_cols].to_numpy("float64") if past_cols else None,
                future=future,
                static=observed[static_cols].iloc[0].to_numpy("float64") if static_cols else None,
            ))
        model.panel_ = Panel(items=items, freq=info["freq"], kind=info["kind"],
                             id_col=info["id_col"], time_col=info["time_col"],
                             target_col=info["target_col"],
                             past_columns=tuple(info["past_columns"]),
                             future_columns=tuple(info["future_columns"]),
                             static_columns=tuple(info["static_columns"]))
        return model


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _power_law(rms: np.ndarray) -> np.ndarray:
    """`c h^p` fitted to `rms[h - 1]` in log space (least squares), `p` in [0, 1].

    Steps with a zero RMS are left out of the fit; all zero gives zeros.
    """
    steps = np.arange(1, len(rms) + 1, dtype="float64")
    keep = rms > 0
    if not keep.any():
        return np.zeros_like(rms, dtype="float64")
    x, y = np.log(steps[keep]), np.log(rms[keep])
    p = float(np.polyfit(x, y, 1)[0]) if keep.sum() > 1 and np.ptp(x) > 0 else 0.0
    p = min(max(p, 0.0), 1.0)
    c = float(np.exp(np.mean(y - p * x)))
    return c * steps ** p


def _pct(level: float) -> str:
    return f"{100 * level:g}"


def interval_columns(level: float) -> tuple[str, str]:
    """The names of the lower and upper bound columns of the `level` interval.

    `LSTMForecaster.predict` and `historical_forecasts` name them after the
    level in percent.

    Example:

    >>> from lstm_apps.forecasting import interval_columns
    >>> interval_columns(0.8), interval_columns(0.975)
    (('lower_80', 'upper_80'), ('lower_97.5', 'upper_97.5'))
    """
    return f"lower_{_pct(level)}", f"upper_{_pct(level)}"


def _merge(entries: list[dict[str, Any]], horizon: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "origins": np.concatenate([e["origins"] for e in entries]),
        "transforms": [t for e in entries for t in e["transforms"]],
        "forecast": np.concatenate([e["forecast"] for e in entries]).reshape(-1, horizon),
        "lstm": np.concatenate([e["lstm"] for e in entries]).reshape(-1, horizon),
        "models": [(e["model"], e) for e in entries],
    }
    if all("classical" in e for e in entries):
        out["classical"] = {name: np.concatenate([e["classical"][name] for e in entries])
                            for name in entries[0]["classical"]}
    return out


def score(
    forecasts: pd.DataFrame,
    levels: Sequence[float],
    season: int | None,
    histories: dict[Any, pd.Series],
) -> pd.DataFrame:
    """The metrics table of `LSTMForecaster.backtest` from its historical forecasts."""
    point = [c for c in ("forecast", "lstm", *_baselines.SIMPLE, *_baselines.CLASSICAL)
             if c in forecasts.columns]
    rows = []
    for key, part in forecasts.groupby("id", sort=False):
        horizon = int(part["step"].max())
        actual = part["actual"].to_numpy().reshape(-1, horizon)
        history = histories[key]
        first_pos = int(history.index.get_loc(part["origin"].iloc[0]))
        table = _metrics.metrics_table(
            actual, {c: part[c].to_numpy().reshape(-1, horizon) for c in point},
            history.to_numpy()[: first_pos + 1], season)
        overall = table.xs("all", level="step")
        for name in point:
            row = {"id": key, "forecaster": name,
                   **{m: float(overall.loc[m, name]) for m in _metrics.METRICS}}
            if name == "forecast":
                for level in levels:
                    lo, hi = interval_columns(level)
                    if lo not in part:
                        continue
                    y, lower, upper = part["actual"], part[lo], part[hi]
                    row[f"coverage_{_pct(level)}"] = _metrics.coverage(y, lower, upper)
                    row[f"winkler_{_pct(level)}"] = _metrics.winkler_score(y, lower, upper, level)
                    row[f"pinball_{_pct(level)}"] = 0.5 * (
                        _metrics.pinball_loss(y, lower, (1 - level) / 2)
                        + _metrics.pinball_loss(y, upper, (1 + level) / 2))
            rows.append(row)
    table = pd.DataFrame(rows)
    mean = table.drop(columns="id").groupby("forecaster", sort=False).mean(
        numeric_only=True).reset_index()
    mean.insert(0, "id", "mean")
    out = pd.concat([table, mean], ignore_index=True).set_index(["id", "forecaster"])
    relative = {}
    if "auto_ets" in point:
        per = table.pivot(index="id", columns="forecaster", values="mase")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = per.div(per["auto_ets"], axis=0)
            relative = {c: float(np.exp(np.nanmean(np.log(ratio[c])))) for c in ratio.columns}
    out.attrs["relative_mase"] = relative
    for level in levels:
        column = f"coverage_{_pct(level)}"
        if column in out.columns:
            value = out.loc[("mean", "forecast"), column]
            if abs(value - level) > 0.10:
                logger.warning("the %s%% intervals covered %.1f%% of the values",
                               _pct(level), 100 * value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return out

