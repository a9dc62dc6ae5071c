"""Forecasting a monthly series: windows, scaling, baselines, recursive and direct RNN
forecasters, rolling-origin evaluation and errors in the series' own units.

Conventions. ``y`` is a 1-D float array, ``y[t]`` the value of month ``t``. A *forecast origin*
``o`` is the last month whose value is known; a forecast for horizon ``h`` (``1 <= h <= H``)
is a guess of ``y[o + h]`` made from ``y[:o + 1]`` only. Every forecaster here is a function
``forecast(y, origins, horizon) -> (len(origins), horizon)`` whose row ``i`` uses nothing after
``origins[i]``; :func:`rolling_origin` scores any of them on the same targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import numpy as np
import torch
from torch import Tensor, nn

from ..config import seed_everything
from ..models.regressor import SequenceRegressor
from ..train import History, eval_mode, model_device, train
from .regress import regression_loss

Forecaster = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def _series(y: np.ndarray, name: str = "y") -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D series, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"{name} holds {int((~np.isfinite(y)).sum())} NaN/inf values: fill "
                         "or drop the missing months before forecasting")
    return y


def _origins(y: np.ndarray, origins: np.ndarray, need: int) -> np.ndarray:
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
    the origin of row ``i`` is ``i + length - 1``. Direct multi-step training uses all the
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


# ---------------------------------------------------------------- classical baselines

def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int,
                   period: int = 12) -> np.ndarray:
    """The value one season earlier: ``y_hat[o + h] = y[o + h - period * k]``, ``k = ceil(h /
    period)``, the latest value of the same month known at the origin."""
    y = _series(y)
    origins = _origins(y, origins, period - 1)
    h = np.arange(1, horizon + 1)
    k = -(-h // period)
    return y[origins[:, None] + h - period * k]


def seasonal_naive_drift(y: np.ndarray, origins: np.ndarray, horizon: int,
                         period: int = 12) -> np.ndarray:
    """Seasonal naive plus the last season's drift: ``y_hat[o + h] = y[o + h - period k] +
    k (y[o] - y[o - period])``, ``k = ceil(h / period)``. Exact on a periodic series plus a
    straight line."""
    y = _series(y)
    origins = _origins(y, origins, period)
    k = -(-np.arange(1, horizon + 1) // period)
    drift = (y[origins] - y[origins - period])[:, None]
    return seasonal_naive(y, origins, horizon, period) + k * drift


def harmonic_design(t: np.ndarray, degree: int = 2, harmonics: int = 2,
                    period: float = 12.0) -> np.ndarray:
    """Columns ``1, s, ..., s^degree, sin(2 pi j t / period), cos(2 pi j t / period)`` for ``j =
    1..harmonics``, with ``s = t / period`` (time in years): a polynomial trend plus a yearly
    cycle."""
    t = np.asarray(t, dtype=np.float64)
    s = t / period
    cols = [s ** d for d in range(degree + 1)]
    for j in range(1, harmonics + 1):
        cols += [np.sin(2 * np.pi * j * t / period), np.cos(2 * np.pi * j * t / period)]
    return np.stack(cols, axis=-1)


def harmonic_regression(y: np.ndarray, origins: np.ndarray, horizon: int, degree: int = 2,
                        harmonics: int = 2, period: float = 12.0,
                        history: Optional[int] = None) -> np.ndarray:
    """Least squares on :func:`harmonic_design`, refitted at every origin on ``y[:o + 1]`` (the
    last ``history`` months only, if given), then extrapolated ``horizon`` months. Time is
    measured from the origin, which keeps the powers of ``s`` small."""
    y = _series(y)
    p = degree + 1 + 2 * harmonics
    origins = _origins(y, origins, p - 1)
    out = np.empty((len(origins), horizon))
    for i, o in enumerate(origins):
        start = 0 if history is None else max(0, o + 1 - history)
        t = np.arange(start, o + 1 + horizon) - o
        design = harmonic_design(t, degree, harmonics, period)
        coef = np.linalg.lstsq(design[: o + 1 - start], y[start: o + 1], rcond=None)[0]
        out[i] = design[o + 1 - start:] @ coef
    return out


# ---------------------------------------------------------------- recurrent forecasters

def changes(y: np.ndarray) -> np.ndarray:
    """Month-to-month changes ``d[t] = y[t] - y[t - 1]`` (``d[0]`` is NaN): the recurrent
    forecasters read and predict changes, which do not drift out of the training range as the
    level of the series does."""
    y = np.asarray(y, dtype=np.float64)
    return np.concatenate([[np.nan], np.diff(y)])


def change_windows(y: np.ndarray, length: int, horizon: int, end: int,
                   base: Optional[Forecaster] = None, start: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs from ``y[:end]`` only: inputs ``d[o - length + 1 : o + 1]`` (the last
    ``length`` changes at origin ``o``) and targets ``y[o + h] - y[o]``, ``h = 1..horizon``
    (or, with ``base``, the residual ``y[o + h] - base(y, o)[h]``), for every origin ``o >=
    start`` whose window and targets lie inside ``y[:end]``. Shapes ``(N, length)`` and
    ``(N, horizon)``."""
    y = _series(y)[:end]
    need = max(length, 12 if base is not None else 0)
    origins = np.arange(max(need, start), end - horizon)
    if len(origins) == 0:
        raise ValueError(f"no training window of {length} changes and {horizon} targets fits "
                         f"in the first {end} months")
    x = changes(y)[origins[:, None] + np.arange(1 - length, 1)]
    future = y[origins[:, None] + np.arange(1, horizon + 1)]
    ref = y[origins][:, None] if base is None else base(y, origins, horizon)
    return x, future - ref


class ShuffledBatches:
    """Mini-batches ``(x, y)`` of tensors, reshuffled at every pass with a seeded generator, so
    a run repeats exactly. ``x`` is ``(N, T)`` or ``(N, T, F)`` (a feature axis of 1 is added
    to 2-D inputs); ``y`` is ``(N,)`` or ``(N, K)``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0):
        self.x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        if self.x.dim() == 2:
            self.x = self.x.unsqueeze(-1)
        self.y = torch.as_tensor(np.asarray(y), dtype=torch.float32)
        if len(self.x) != len(self.y) or len(self.x) == 0 or batch_size < 1:
            raise ValueError(f"need as many inputs as targets (got {len(self.x)} and "
                             f"{len(self.y)}), at least one, and a batch size >= 1")
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = torch.randperm(len(self.x), generator=self.generator)
        for i in range(0, len(order), self.batch_size):
            j = order[i: i + self.batch_size]
            yield self.x[j], self.y[j]


def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Run ``model`` on inputs ``(N, T)`` in eval mode; outputs as a float64 array ``(N, K)``."""
    dev = model_device(model)
    with eval_mode(model):
        out = model(torch.as_tensor(x, dtype=torch.float32, device=dev).unsqueeze(-1))
    out = out.double().cpu().numpy()
    return out[:, None] if out.ndim == 1 else out


@dataclass
class RecursiveForecaster:
    """A one-step model used ``horizon`` times: it predicts the next change from the last
    ``length`` (scaled) changes, the prediction is appended to the window, and so on.
    ``y_hat[o + h] = y[o] + sum of the first h predicted changes``. Errors compound."""

    model: nn.Module
    x_scaler: Scaler
    y_scaler: Scaler
    length: int

    def __call__(self, y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        y = _series(y)
        origins = _origins(y, origins, self.length)
        window = self.x_scaler.transform(
            changes(y)[origins[:, None] + np.arange(1 - self.length, 1)])
        steps = []
        for _ in range(horizon):
            step = self.y_scaler.inverse(_predict(self.model, window))[:, 0]
            steps.append(step)
            window = np.concatenate([window[:, 1:],
                                     self.x_scaler.transform(step)[:, None]], axis=1)
        return y[origins][:, None] + np.cumsum(np.stack(steps, axis=1), axis=1)


@dataclass
class DirectForecaster:
    """One model, one output per horizon (multi-output direct): from the last ``length``
    (scaled) changes it predicts ``y[o + h] - y[o]`` for ``h = 1..H`` at once, or, with
    ``base``, the residual of the classical forecast ``base`` (a hybrid: the network corrects
    the baseline). No prediction is fed back, so errors do not compound."""

    model: nn.Module
    x_scaler: Scaler
    y_scaler: Scaler
    length: int
    base: Optional[Forecaster] = None

    def __call__(self, y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        y = _series(y)
        origins = _origins(y, origins, self.length)
        width = len(np.atleast_1d(self.y_scaler.mean))
        if horizon > width:
            raise ValueError(f"this direct model predicts {width} horizons; asked for "
                             f"{horizon}: train it with a longer horizon")
        x = self.x_scaler.transform(changes(y)[origins[:, None] + np.arange(1 - self.length, 1)])
        out = self.y_scaler.inverse(_predict(self.model, x))[:, :horizon]
        ref = y[origins][:, None] if self.base is None else self.base(y, origins, horizon)
        return ref + out


def fit_forecaster(y: np.ndarray, end: int, kind: str = "direct", *, horizon: int = 24,
                   length: int = 24, hidden: int = 32, cell: str = "lstm", epochs: int = 100,
                   lr: float = 3e-3, batch_size: int = 32, base: Optional[Forecaster] = None,
                   start: int = 0, seed: int = 0,
                   log: Optional[Callable[[str], None]] = None
                   ) -> tuple[RecursiveForecaster | DirectForecaster, History]:
    """Train a :class:`~rnnbook.models.regressor.SequenceRegressor` on ``y[:end]`` only (its
    windows from :func:`change_windows`, both scalers fitted on them) and wrap it as a
    forecaster: ``kind="recursive"`` learns the next change (one output), ``"direct"`` the
    ``horizon`` cumulative changes (or residuals of ``base``) at once. Fixed epochs and seed."""
    if kind not in ("recursive", "direct"):
        raise ValueError(f"kind must be 'recursive' or 'direct', not {kind!r}")
    if kind == "recursive" and base is not None:
        raise ValueError("a base forecaster goes with kind='direct'")
    seed_everything(seed)
    outputs = 1 if kind == "recursive" else horizon
    x, t = change_windows(y, length, outputs, end, base=base, start=start)
    x_scaler, y_scaler = Scaler.fit(changes(np.asarray(y)[:end])[1:]), Scaler.fit(t)
    z = y_scaler.transform(t)
    batches = ShuffledBatches(x_scaler.transform(x), z[:, 0] if outputs == 1 else z,
                              batch_size, seed=seed)
    model = SequenceRegressor(1, hidden, cell=cell, out_features=outputs)
    history = train(model, batches, regression_loss, epochs=epochs, lr=lr, log=log)
    if kind == "recursive":
        return RecursiveForecaster(model, x_scaler, y_scaler, length), history
    return DirectForecaster(model, x_scaler, y_scaler, length, base), history


# ---------------------------------------------------------------- rolling-origin evaluation

@dataclass(frozen=True)
class Scores:
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
                   horizons: tuple[int, ...]) -> dict[int, Scores]:
    """Score ``forecaster`` on every month of ``targets`` at every horizon ``h``: the forecast
    of ``y[t]`` is made at origin ``t - h`` from ``y[:t - h + 1]`` only (the forecaster
    promises that). Every method scored with the same ``targets`` and ``horizons`` is
    compared on exactly the same (origin, target) pairs."""
    y = _series(y)
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0 or targets.max() >= len(y) or targets.min() - max(horizons) < 0:
        raise ValueError(f"targets must be non-empty months in [{max(horizons)}, {len(y) - 1}]")
    out = {}
    for h in horizons:
        pred = np.asarray(forecaster(y, targets - h, h))
        if pred.shape != (len(targets), h):
            raise ValueError(f"the forecaster returned shape {pred.shape}, expected "
                             f"{(len(targets), h)}")
        out[h] = Scores(pred[:, h - 1], y[targets])
    return out


__all__ = ["Forecaster", "windows", "Scaler", "mae", "rmse", "seasonal_naive",
           "seasonal_naive_drift", "harmonic_design", "harmonic_regression", "changes",
           "change_windows", "ShuffledBatches", "RecursiveForecaster", "DirectForecaster",
           "fit_forecaster",
           "Scores", "rolling_origin"]
