"""A monthly series and the rules of a forecasting test: input checks, windows, a scaler
fitted on the training period, errors in the series' own units, and rolling-origin evaluation.

Conventions. ``y`` is a 1-D float array, ``y[t]`` the value of month ``t``. A *forecast origin*
``o`` is the last month whose value is known; a forecast for horizon ``h`` (``1 <= h <= H``)
is a guess of ``y[o + h]`` made from ``y[:o + 1]`` only. Every forecaster is a function
``forecast(y, origins, horizon) -> (len(origins), horizon)`` whose row ``i`` uses nothing after
``origins[i]``; :func:`rolling_origin` scores any of them on the same targets, and gives
:class:`HorizonErrors` per horizon. The forecasters are in :mod:`rnnbook.tasks.forecast`
(recurrent) and :mod:`rnnbook.tasks.forecast_baselines` (classical).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Forecaster = Callable[[np.ndarray, np.ndarray, int], np.ndarray]

__all__ = ["Forecaster", "check_series", "check_horizon", "check_period", "check_end",
           "check_origins", "windows", "Scaler", "mae", "rmse", "HorizonErrors",
           "rolling_origin"]


def check_series(y: np.ndarray, name: str = "y") -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D series, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(y)).sum())} NaN/inf values: fill "
                         "or drop the missing months before forecasting")
    return y


def check_horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon is the number of months to forecast, an integer >= 1, "
                         f"not {horizon!r}")
    return int(horizon)


def check_period(period: float, integer: bool = True) -> None:
    ok = isinstance(period, (int, np.integer)) if integer else isinstance(
        period, (int, float, np.integer, np.floating))
    if isinstance(period, bool) or not ok or not period >= 1:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"period is the length of the season in months, {kind} >= 1 (12 for "
                         f"a yearly cycle), not {period!r}")


def check_end(y: np.ndarray, end: int) -> int:
    if isinstance(end, bool) or not isinstance(end, (int, np.integer)) or not 1 <= end <= len(y):
        raise ValueError(f"end={end!r}: the model trains on y[:end], so end must be an integer "
                         f"in [1, {len(y)}] (the length of the series)")
    return int(end)


def check_origins(y: np.ndarray, origins: np.ndarray, need: int) -> np.ndarray:
    """``origins`` as int64, each with ``need`` months before it (``o >= need``) and known
    (``o < len(y)``): no forecaster may index before month 0 (NumPy would wrap to the end)."""
    origins = np.asarray(origins, dtype=np.int64)
    if origins.ndim != 1:
        raise ValueError(f"origins must be a 1-D array of month indices, got {origins.shape}")
    if len(origins) and (origins.min() < need or origins.max() >= len(y)):
        raise ValueError(f"origins must lie in [{need}, {len(y) - 1}] (this forecaster needs "
                         f"{need} months of history), got {origins.min()}..{origins.max()}")
    return origins


def windows(y: np.ndarray, length: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``length`` values and the ``horizon`` values that follow it.

    ``X[i] = y[i : i + length]`` (shape ``(N, length)``) and ``Y[i] = y[i + length :
    i + length + horizon]`` (shape ``(N, horizon)``), ``N = len(y) - length - horizon + 1``:
    the origin of row ``i`` is ``i + length - 1``. MIMO multi-step training uses all the
    columns of ``Y``; one-step training uses ``Y[:, 0]``.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if length < 1 or horizon < 1:
        raise ValueError(f"length and horizon must be >= 1, got {length} and {horizon}")
    n = len(y) - length - horizon + 1
    if n < 1:
        raise ValueError(f"a series of {len(y)} values has no window of {length} inputs and "
                         f"{horizon} targets; use a longer series or shorter windows")
    idx = np.arange(n)[:, None]
    return y[idx + np.arange(length)], y[idx + length + np.arange(horizon)]


@dataclass(frozen=True)
class Scaler:
    """Standardisation ``z = (x - mean) / std``, per column, with the statistics of the data it
    was fitted on (the training period only: fitting it on test data leaks the future)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        """Mean and standard deviation over axis 0 of ``x`` (a series, or rows of columns)."""
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0 or not np.isfinite(x).all():
            raise ValueError("fit the scaler on a non-empty array of finite numbers")
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) * self.std + self.mean


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute error, ``mean |pred - truth|``, in the units of the series."""
    pred, truth = _pair(pred, truth)
    return float(np.mean(np.abs(pred - truth)))


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    """Root mean squared error, ``sqrt(mean (pred - truth)^2)``, in the units of the series."""
    pred, truth = _pair(pred, truth)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))


def _pair(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if pred.shape != truth.shape or pred.size == 0:
        raise ValueError(f"pred and truth need the same non-empty shape, got {pred.shape} "
                         f"and {truth.shape}")
    return pred, truth


# ---------------------------------------------------------------- rolling-origin evaluation

@dataclass(frozen=True)
class HorizonErrors:
    """Errors of one method at one horizon over the same targets: ``pred`` and ``truth`` in
    target order, with their MAE and RMSE."""

    pred: np.ndarray
    truth: np.ndarray

    @property
    def mae(self) -> float:
        return mae(self.pred, self.truth)

    @property
    def rmse(self) -> float:
        return rmse(self.pred, self.truth)


def rolling_origin(y: np.ndarray, forecaster: Forecaster, targets: np.ndarray,
                   horizons: tuple[int, ...]) -> dict[int, HorizonErrors]:
    """Score ``forecaster`` on every month of ``targets`` at every horizon ``h``: the forecast
    of ``y[t]`` is made at origin ``t - h`` from ``y[:t - h + 1]`` only (the forecaster
    promises that). Every method scored with the same ``targets`` and ``horizons`` is
    compared on exactly the same (origin, target) pairs."""
    y = check_series(y)
    if len(horizons) == 0:
        raise ValueError("horizons is empty: give the horizons to score, e.g. (1, 12, 24)")
    horizons = tuple(check_horizon(h) for h in horizons)
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0 or targets.max() >= len(y) or targets.min() - max(horizons) < 0:
        raise ValueError(f"targets must be non-empty months in [{max(horizons)}, {len(y) - 1}]")
    out = {}
    for h in horizons:
        pred = np.asarray(forecaster(y, targets - h, h))
        if pred.shape != (len(targets), h):
            raise ValueError(f"the forecaster returned shape {pred.shape}, expected "
                             f"{(len(targets), h)}")
        out[h] = HorizonErrors(pred[:, h - 1], y[targets])
    return out
