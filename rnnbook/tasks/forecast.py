"""Forecasting a monthly series: windows, scaling, baselines, recursive and MIMO RNN
forecasters (refitted at rolling origins), rolling-origin evaluation and errors in the
series' own units.

Conventions. ``y`` is a 1-D float array, ``y[t]`` the value of month ``t``. A *forecast origin*
``o`` is the last month whose value is known; a forecast for horizon ``h`` (``1 <= h <= H``)
is a guess of ``y[o + h]`` made from ``y[:o + 1]`` only. Every forecaster here is a function
``forecast(y, origins, horizon) -> (len(origins), horizon)`` whose row ``i`` uses nothing after
``origins[i]``; :func:`rolling_origin` scores any of them on the same targets.

The multi-step strategies are named as in Ben Taieb et al. (2012): *recursive* (one one-step
model, iterated) and *MIMO* (one model with one output per horizon). Their *direct* strategy,
one model per horizon, is not implemented here.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from ..batching import ReplayablePasses
from ..config import seed_everything
from ..history import History
from ..models.regressor import SequenceRegressor
from ..runtime import eval_mode, model_device
from ..train import train
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


def _horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon is the number of months to forecast, an integer >= 1, "
                         f"not {horizon!r}")
    return int(horizon)


def _period(period: float, integer: bool = True) -> None:
    ok = isinstance(period, (int, np.integer)) if integer else isinstance(
        period, (int, float, np.integer, np.floating))
    if isinstance(period, bool) or not ok or not period >= 1:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"period is the length of the season in months, {kind} >= 1 (12 for "
                         f"a yearly cycle), not {period!r}")


def _end(y: np.ndarray, end: int) -> int:
    if isinstance(end, bool) or not isinstance(end, (int, np.integer)) or not 1 <= end <= len(y):
        raise ValueError(f"end={end!r}: the model trains on y[:end], so end must be an integer "
                         f"in [1, {len(y)}] (the length of the series)")
    return int(end)


def _origins(y: np.ndarray, origins: np.ndarray, need: int) -> np.ndarray:
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


# ---------------------------------------------------------------- classical baselines

def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int,
                   period: int = 12) -> np.ndarray:
    """The value one season earlier: ``y_hat[o + h] = y[o + h - period * k]``, ``k = ceil(h /
    period)``, the latest value of the same month known at the origin."""
    y = _series(y)
    _period(period)
    horizon = _horizon(horizon)
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
    _period(period)
    horizon = _horizon(horizon)
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
    _period(period, integer=False)
    horizon = _horizon(horizon)
    p = degree + 1 + 2 * harmonics
    if history is not None and history < p:
        raise ValueError(f"history={history} months cannot fit {p} coefficients: give more "
                         "months (or None for all)")
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
    y = _series(y)
    y = y[:_end(y, end)]
    horizon = _horizon(horizon)
    need = max(length, 12 if base is not None else 0)
    origins = np.arange(max(need, start), end - horizon)
    if len(origins) == 0:
        raise ValueError(f"no training window of {length} changes and {horizon} targets fits "
                         f"in the first {end} months")
    x = changes(y)[origins[:, None] + np.arange(1 - length, 1)]
    future = y[origins[:, None] + np.arange(1, horizon + 1)]
    ref = y[origins][:, None] if base is None else base(y, origins, horizon)
    return x, future - ref


class ShuffledBatches(ReplayablePasses):
    """Mini-batches ``(x, y)`` of tensors, reshuffled at every pass with a seeded generator, so
    a run repeats exactly. ``x`` is ``(N, T)`` or ``(N, T, F)`` (a feature axis of 1 is added
    to 2-D inputs); ``y`` is ``(N,)`` or ``(N, K)``.

    :meth:`state_dict` / :meth:`load_state_dict` follow the contract of
    :class:`rnnbook.batching.PaddedBatches`: the state is the generator's state at the start of
    the pass in progress (which the next iteration replays) and ``position``, the batches of
    that pass already handed out; :func:`rnnbook.train` skips those on resume.
    """

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
        start = self.generator.get_state()
        order = torch.randperm(len(self.x), generator=self.generator)
        self._begin_pass(start, len(self))
        for i in range(0, len(order), self.batch_size):
            j = order[i: i + self.batch_size]
            self._handed_out()
            yield self.x[j], self.y[j]

    def state_dict(self) -> dict[str, Any]:
        """``{"generator": ByteTensor, "position": int}``: the generator state from which the
        next iteration draws the order of the pass in progress (or of the next pass, when none
        is in progress), and how many batches of that pass were already handed out."""
        return self._pass_state(self.generator.get_state())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`: the next iteration replays the saved pass from its
        start (skipping its first ``position`` batches is the caller's job, as
        :func:`rnnbook.train` does)."""
        if not isinstance(state, dict) or not isinstance(state.get("generator"), Tensor) \
                or not isinstance(state.get("position"), int):
            raise ValueError("not a ShuffledBatches state: expected {'generator': ByteTensor, "
                             "'position': int} as state_dict() returns it")
        if not 0 <= state["position"] <= len(self):
            raise ValueError(f"the state's position {state['position']} does not fit these "
                             f"{len(self)} batches per pass: it was saved for other data")
        self.generator.set_state(state["generator"])
        self._forget_pass()


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
        horizon = _horizon(horizon)
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
class MIMOForecaster:
    """One model, one output per horizon (the *MIMO* strategy, multiple input multiple
    output): from the last ``length`` (scaled) changes it predicts ``y[o + h] - y[o]`` for
    ``h = 1..H`` at once, or, with ``base``, the residual of the classical forecast ``base``
    (a hybrid: the network corrects the baseline). No prediction is fed back, so errors do
    not compound."""

    model: nn.Module
    x_scaler: Scaler
    y_scaler: Scaler
    length: int
    base: Optional[Forecaster] = None

    def __call__(self, y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        y = _series(y)
        horizon = _horizon(horizon)
        origins = _origins(y, origins, self.length)
        width = len(np.atleast_1d(self.y_scaler.mean))
        if horizon > width:
            raise ValueError(f"this MIMO model predicts {width} horizons; asked for "
                             f"{horizon}: train it with a longer horizon")
        x = self.x_scaler.transform(changes(y)[origins[:, None] + np.arange(1 - self.length, 1)])
        out = self.y_scaler.inverse(_predict(self.model, x))[:, :horizon]
        ref = y[origins][:, None] if self.base is None else self.base(y, origins, horizon)
        return ref + out


NetForecaster = Union[RecursiveForecaster, MIMOForecaster]


def _train_windows(fc: NetForecaster, y: np.ndarray, end: int, start: int, batch_size: int,
                   seed: int) -> ShuffledBatches:
    """The scaled training windows of ``y[:end]`` for ``fc``'s kind, with its scalers."""
    outputs = len(np.atleast_1d(fc.y_scaler.mean))
    base = fc.base if isinstance(fc, MIMOForecaster) else None
    x, t = change_windows(y, fc.length, outputs, end, base=base, start=start)
    z = fc.y_scaler.transform(t)
    return ShuffledBatches(fc.x_scaler.transform(x), z[:, 0] if outputs == 1 else z,
                           batch_size, seed=seed)


def fit_forecaster(y: np.ndarray, end: int, kind: str = "mimo", *, horizon: int = 24,
                   length: int = 24, hidden: int = 32, cell: str = "lstm", epochs: int = 100,
                   lr: float = 3e-3, batch_size: int = 32, base: Optional[Forecaster] = None,
                   start: int = 0, seed: int = 0,
                   log: Optional[Callable[[str], None]] = None
                   ) -> tuple[NetForecaster, History]:
    """Train a :class:`~rnnbook.models.regressor.SequenceRegressor` on ``y[:end]`` only (its
    windows from :func:`change_windows`, both scalers fitted on them) and wrap it as a
    forecaster: ``kind="recursive"`` learns the next change (one output), ``"mimo"`` the
    ``horizon`` cumulative changes (or residuals of ``base``) at once. Fixed epochs and seed."""
    if kind not in ("recursive", "mimo"):
        hint = (" ('direct' is one model per horizon, which this package does not build; one "
                "model with an output per horizon is 'mimo')" if kind == "direct" else "")
        raise ValueError(f"kind must be 'recursive' or 'mimo', not {kind!r}{hint}")
    if kind == "recursive" and base is not None:
        raise ValueError("a base forecaster goes with kind='mimo'")
    y = _series(y)
    end = _end(y, end)
    horizon = _horizon(horizon)
    seed_everything(seed)
    outputs = 1 if kind == "recursive" else horizon
    _, t = change_windows(y, length, outputs, end, base=base, start=start)
    x_scaler, y_scaler = Scaler.fit(changes(y[:end])[1:]), Scaler.fit(t)
    model = SequenceRegressor(1, hidden, cell=cell, out_features=outputs)
    fc: NetForecaster = (RecursiveForecaster(model, x_scaler, y_scaler, length)
                         if kind == "recursive"
                         else MIMOForecaster(model, x_scaler, y_scaler, length, base))
    batches = _train_windows(fc, y, end, start, batch_size, seed)
    history = train(model, batches, regression_loss, epochs=epochs, lr=lr, log=log)
    return fc, history


def fine_tune(fc: NetForecaster, y: np.ndarray, end: int, *, epochs: int, lr: float = 1e-3,
              batch_size: int = 32, start: int = 0, seed: int = 0,
              log: Optional[Callable[[str], None]] = None) -> tuple[NetForecaster, History]:
    """A copy of ``fc`` trained ``epochs`` more passes on the windows of ``y[:end]`` whose
    origin is ``>= start``, with ``fc``'s scalers (fitted on its own training period, which
    lies before ``end``); ``fc`` itself is left as it was."""
    y = _series(y)
    end = _end(y, end)
    seed_everything(seed)
    new = copy.deepcopy(fc)
    batches = _train_windows(new, y, end, start, batch_size, seed)
    history = train(new.model, batches, regression_loss, epochs=epochs, lr=lr, log=log)
    return new, history


@dataclass
class RollingForecaster:
    """Forecasters refitted as the origin rolls on: ``forecasters[k]`` was trained on
    ``y[:ends[k]]`` and forecasts from the origins ``o`` with ``ends[k] - 1 <= o <
    ends[k + 1] - 1``, the latest fit whose data were all known at ``o``."""

    ends: tuple[int, ...]
    forecasters: tuple[Forecaster, ...]

    def __post_init__(self) -> None:
        if len(self.ends) != len(self.forecasters) or not self.ends or any(
                b <= a for a, b in zip(self.ends, self.ends[1:])):
            raise ValueError("need one forecaster per end, and ends strictly increasing")

    def __call__(self, y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        y = _series(y)
        horizon = _horizon(horizon)
        origins = _origins(y, origins, 0)
        which = np.searchsorted(np.asarray(self.ends), origins + 1, side="right") - 1
        if len(origins) and which.min() < 0:
            raise ValueError(f"origin {origins.min()} lies before the first fit's data end "
                             f"(y[:{self.ends[0]}]): no model had been trained by then")
        out = np.empty((len(origins), horizon))
        for k in np.unique(which):
            rows = which == k
            out[rows] = self.forecasters[k](y, origins[rows], horizon)
        return out


def roll(fc: NetForecaster, y: np.ndarray, ends: Sequence[int], *, tune_epochs: int = 10,
         lr: float = 3e-3, batch_size: int = 32, tune_months: Optional[int] = None,
         start: int = 0, seed: int = 0, log: Optional[Callable[[str], None]] = None
         ) -> tuple[RollingForecaster, list[History]]:
    """Refit ``fc`` (trained on ``y[:ends[0]]``) as the origin rolls on: at each later end a
    :func:`fine_tune` of the previous fit for ``tune_epochs`` passes on the windows of
    ``y[:end]`` (with ``tune_months``, only those whose origin lies in the last
    ``tune_months`` months before ``end``; else all from ``start``). ``tune_epochs=0`` keeps
    ``fc`` frozen. Returns the :class:`RollingForecaster` and the fine-tunes' histories."""
    y = _series(y)
    ends = [_end(y, e) for e in ends]
    if not ends:
        raise ValueError("ends is empty: give at least the end of the first training period")
    if isinstance(tune_epochs, bool) or not isinstance(tune_epochs, (int, np.integer)) \
            or tune_epochs < 0 or (tune_months is not None and tune_months < 1):
        raise ValueError(f"tune_epochs must be an integer >= 0 and tune_months >= 1 or None, "
                         f"got {tune_epochs!r} and {tune_months!r}")
    fits: list[Forecaster] = [fc]
    histories = []
    for k, e in enumerate(ends[1:], 1):
        if tune_epochs:
            first = start if tune_months is None else max(start, e - tune_months)
            fc, history = fine_tune(fc, y, e, epochs=tune_epochs, lr=lr,
                                    batch_size=batch_size, start=first, seed=seed + k, log=log)
            histories.append(history)
        fits.append(fc)
    return RollingForecaster(tuple(ends), tuple(fits)), histories


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
    if len(horizons) == 0:
        raise ValueError("horizons is empty: give the horizons to score, e.g. (1, 12, 24)")
    horizons = tuple(_horizon(h) for h in horizons)
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
           "change_windows", "ShuffledBatches", "RecursiveForecaster", "MIMOForecaster",
           "fit_forecaster", "fine_tune", "RollingForecaster", "roll",
           "Scores", "rolling_origin"]
