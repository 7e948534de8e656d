"""Splits and windows: what a forecaster trains, validates and is tested on.

- `split_by_time` / `TimeSplit`: train, validation and test parts of a
  series, in time order, and the windows whose targets fall into each part.
- `fit_scaling`: centre and scale fitted on the training part only.
- `window_dataset` (through `keras.utils.timeseries_dataset_from_array`) and
  `window_arrays`: `(lookback, features)` input windows, each with the next
  `horizon` values of the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from lstm_apps._validation import check_choice, check_int

__all__ = [
    "TimeSplit",
    "fit_scaling",
    "split_by_time",
    "window_arrays",
    "window_dataset",
]


# ------------------------------------------------------------------- splitting
@dataclasses.dataclass(frozen=True)
class TimeSplit:
    """Train / validation / test parts of a series of `length` points, in time order.

    A window's "origin" is the position of its last input value; its targets
    are the `horizon` values after it. The windows of a part are those whose
    targets all fall inside that part (their inputs may reach back into the
    earlier parts, as they would in production).

    Attributes:
        length: Number of points.
        lookback: Input window length.
        horizon: Number of steps forecast.
        n_train, n_val, n_test: Sizes of the three parts (points).
    """

    length: int
    lookback: int
    horizon: int
    n_train: int
    n_val: int
    n_test: int

    @property
    def train_end(self) -> int:
        """Position one past the last training point."""
        return self.n_train

    @property
    def val_end(self) -> int:
        """Position one past the last validation point."""
        return self.n_train + self.n_val

    def origins(self, part: str) -> np.ndarray:
        """Origins (positions of the last input value) of the windows of `part`.

        Args:
            part: "train", "val" or "test".
        """
        bounds = {
            "train": (0, self.train_end),
            "val": (self.train_end, self.val_end),
            "test": (self.val_end, self.length),
        }
        check_choice("part", part, list(bounds))
        lo, hi = bounds[part]
        first = max(lo - 1, self.lookback - 1) if part != "train" else self.lookback - 1
        last = hi - self.horizon - 1
        return np.arange(first, last + 1) if last >= first else np.arange(0)


def _part_size(name: str, value: Any, length: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(
            f"Received an invalid value for argument `{name}`, expected a number of "
            f"points (int) or a fraction in [0, 1) (float), got {value!r}."
        )
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value < 1.0:
            raise ValueError(
                f"Received an invalid value for argument `{name}`, expected a fraction "
                f"in [0, 1) or a number of points, got {value!r}."
            )
        return int(round(value * length))
    if value < 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected a non-negative "
            f"number of points, got {value!r}."
        )
    return int(value)


def split_by_time(
    length: int,
    lookback: int,
    horizon: int,
    val_size: int | float = 0.1,
    test_size: int | float = 0.2,
) -> TimeSplit:
    """Splits `length` points into train, validation and test parts, in time order.

    Args:
        length: Number of points of the series.
        lookback: Input window length (>= 1).
        horizon: Number of steps forecast (>= 1).
        val_size: Points in the validation part (int) or a fraction of
            `length` (float); 0 for none. A non-empty part holds at least
            `horizon` points.
        test_size: The same, for the test part.

    Returns:
        A `TimeSplit`.

    Raises:
        ValueError: the series is too short: the message gives the numbers.

    Example:

    >>> from lstm_apps.data.windows import split_by_time
    >>> split = split_by_time(1000, lookback=50, horizon=10)
    >>> split.n_train, split.n_val, split.n_test, len(split.origins("test"))
    (700, 100, 200, 191)
    """
    length = check_int("length", length, 1)
    lookback = check_int("lookback", lookback, 1)
    horizon = check_int("horizon", horizon, 1)
    n_val = _part_size("val_size", val_size, length)
    n_test = _part_size("test_size", test_size, length)
    if n_test:
        n_test = max(n_test, horizon)
    if n_val:
        n_val = max(n_val, horizon)
    needed = lookback + horizon + n_val + n_test
    if length < needed:
        raise ValueError(
            f"The series is too short: it has {length} points, but lookback ({lookback}) "
            f"+ horizon ({horizon}) + validation part ({n_val}) + test part ({n_test}) "
            f"= {needed} points are needed for one training window. Use a longer "
            "series or a smaller `lookback`, `horizon`, `val_size` or `test_size`."
        )
    return TimeSplit(
        length=length,
        lookback=lookback,
        horizon=horizon,
        n_train=length - n_val - n_test,
        n_val=n_val,
        n_test=n_test,
    )


# --------------------------------------------------------------------- scaling
def fit_scaling(
    train: np.ndarray, lookback: int, normalization: str = "last", target_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of each column, fitted on the training part only.

    The covariates get their mean and standard deviation. The target gets
    its mean and a scale that matches what the model sees: with per-window
    level normalisation ("last" or "mean") it is the standard deviation of
    the training windows (inputs and targets) minus their level, otherwise
    the plain standard deviation. A zero scale becomes 1.

    Args:
        train: Training values, shape `(time, features)`.
        lookback: Input window length.
        normalization: "last", "mean" or "none".
        target_index: Column of the target.

    Returns:
        `(center, scale)`, two float arrays of shape `(features,)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.data.windows import fit_scaling
    >>> center, scale = fit_scaling(np.arange(20.0)[:, None], 5, "none")
    >>> float(center[0]), round(float(scale[0]), 3)
    (9.5, 5.766)
    """
    train = np.asarray(train, dtype="float64")
    if train.ndim != 2:
        raise ValueError(
            "Received an invalid value for argument `train`, expected a 2-D array "
            f"(time, features), got shape {train.shape}."
        )
    center = train.mean(axis=0)
    scale = train.std(axis=0)
    if normalization in ("last", "mean") and len(train) > lookback:
        y = train[:, target_index]
        windows = np.lib.stride_tricks.sliding_window_view(y, min(len(y), 2 * lookback))
        level = (
            windows[:, lookback - 1 : lookback]
            if normalization == "last"
            else windows[:, :lookback].mean(axis=1, keepdims=True)
        )
        scale[target_index] = float((windows - level).std())
    scale = np.where(scale > 1e-12, scale, 1.0)
    return center, scale


# --------------------------------------------------------------------- windows
def window_arrays(
    values: np.ndarray,
    lookback: int,
    horizon: int,
    origins: Sequence[int] | np.ndarray | None = None,
    target_index: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Input windows and their targets as NumPy arrays.

    Args:
        values: Array `(time, features)` (or `(time,)` for one feature).
        lookback: Input window length.
        horizon: Number of target steps after each window.
        origins: Positions of the last input value of each window (default:
            every window that fits).
        target_index: Column of the target.

    Returns:
        `(x, y)`: float32 arrays `(windows, lookback, features)` and
        `(windows, horizon)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.data.windows import window_arrays
    >>> x, y = window_arrays(np.arange(10.0), lookback=3, horizon=2)
    >>> x.shape, y.shape, x[0, :, 0].tolist(), y[0].tolist()
    ((6, 3, 1), (6, 2), [0.0, 1.0, 2.0], [3.0, 4.0])
    """
    lookback = check_int("lookback", lookback, 1)
    horizon = check_int("horizon", horizon, 1)
    values = np.asarray(values, dtype="float32")
    if values.ndim == 1:
        values = values[:, None]
    if origins is None:
        origins = np.arange(lookback - 1, len(values) - horizon)
    origins = np.asarray(origins, dtype=int)
    if origins.size and (origins.min() < lookback - 1 or origins.max() + horizon >= len(values)):
        raise ValueError(
            f"Received origins outside [{lookback - 1}, {len(values) - horizon - 1}] for "
            f"lookback {lookback}, horizon {horizon} and {len(values)} points."
        )
    offsets = np.arange(-lookback + 1, 1)
    x = values[origins[:, None] + offsets[None, :]]
    y = values[origins[:, None] + np.arange(1, horizon + 1)[None, :], target_index]
    return x.reshape(len(origins), lookback, values.shape[1]), y.reshape(len(origins), horizon)


def window_dataset(
    values: np.ndarray,
    lookback: int,
    horizon: int,
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int | None = None,
    target_index: int = 0,
    target_shape: str = "2d",
) -> Any:
    """Windows as a batched `tf.data.Dataset`, via `keras.utils.timeseries_dataset_from_array`.

    Every window of `lookback` consecutive rows of `values` whose `horizon`
    next target values exist becomes one `(x, y)` example.

    Args:
        values: Array `(time, features)` (or `(time,)`).
        lookback: Input window length.
        horizon: Number of target steps.
        batch_size: Windows per batch.
        shuffle: Shuffle the windows (reproducibly with `seed`).
        seed: Shuffle seed.
        target_index: Column of the target.
        target_shape: "2d" for targets `(batch, horizon)`, "3d" for
            `(batch, horizon, 1)`.

    Returns:
        A dataset of `(x, y)` with `x` float32 `(batch, lookback, features)`.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.data.windows import window_dataset
    >>> ds = window_dataset(np.arange(10.0), lookback=3, horizon=2, batch_size=4)
    >>> x, y = next(iter(ds))
    >>> tuple(x.shape), tuple(y.shape), y.numpy()[0].tolist()
    ((4, 3, 1), (4, 2), [3.0, 4.0])
    """
    import keras

    lookback = check_int("lookback", lookback, 1)
    horizon = check_int("horizon", horizon, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    values = np.asarray(values, dtype="float32")
    if values.ndim == 1:
        values = values[:, None]
    n_windows = len(values) - lookback - horizon + 1
    if n_windows < 1:
        raise ValueError(
            f"Received {len(values)} points, fewer than lookback ({lookback}) + horizon "
            f"({horizon}) = {lookback + horizon}: no window fits."
        )
    targets = np.lib.stride_tricks.sliding_window_view(values[lookback:, target_index], horizon)
    targets = np.ascontiguousarray(targets[:n_windows])
    if target_shape == "3d":
        targets = targets[..., None]
    return keras.utils.timeseries_dataset_from_array(
        values[: n_windows + lookback - 1],
        targets,
        sequence_length=lookback,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
    )
