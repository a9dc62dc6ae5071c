"""Forecasting a monthly series with recurrent networks: recursive and MIMO forecasters over
month-to-month changes, fitted on a training period and refitted at rolling origins.

The conventions (origins, horizons, the forecaster's signature) and the rolling-origin
evaluation are those of :mod:`rnnbook.tasks.series`; the classical baselines are in
:mod:`rnnbook.tasks.forecast_baselines`; both are importable from here.

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
from ..evaluation import outputs
from ..history import History
from ..models.regressor import SequenceRegressor
from ..train import train
from .forecast_baselines import (
    harmonic_design,
    harmonic_regression,
    seasonal_naive,
    seasonal_naive_drift,
)
from .regress import regression_loss
from .series import (
    Forecaster,
    HorizonErrors,
    Scaler,
    check_end,
    check_horizon,
    check_origins,
    check_series,
    mae,
    rmse,
    rolling_origin,
    windows,
)

__all__ = ["changes", "change_windows", "ShuffledBatches", "RecursiveForecaster",
           "MIMOForecaster", "NetForecaster", "new_forecaster", "fit_forecaster",
           "RollingForecaster", "roll",
           # from series
           "Forecaster", "windows", "Scaler", "mae", "rmse", "HorizonErrors", "rolling_origin",
           # from forecast_baselines
           "seasonal_naive", "seasonal_naive_drift", "harmonic_design", "harmonic_regression"]


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
    y = check_series(y)
    y = y[:check_end(y, end)]
    horizon = check_horizon(horizon)
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


def forecast_step(model: nn.Module, x: Tensor) -> Tensor:
    """The step of :func:`_predict`: the model's outputs on inputs ``x`` ``(N, T, 1)``."""
    return model(x)


def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Run ``model`` on inputs ``(N, T)`` (one batch, :func:`rnnbook.outputs`); outputs as a
    float64 array ``(N, K)``."""
    batch = torch.as_tensor(x, dtype=torch.float32).unsqueeze(-1)
    out = outputs(model, [batch], forecast_step).double().numpy()
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
        y = check_series(y)
        horizon = check_horizon(horizon)
        origins = check_origins(y, origins, self.length)
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
        y = check_series(y)
        horizon = check_horizon(horizon)
        origins = check_origins(y, origins, self.length)
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


def new_forecaster(y: np.ndarray, end: int, kind: str = "mimo", *, horizon: int = 24,
                   length: int = 24, hidden: int = 32, cell: str = "lstm",
                   base: Optional[Forecaster] = None, start: int = 0, seed: int = 0
                   ) -> NetForecaster:
    """An untrained forecaster for the training period ``y[:end]``: both scalers fitted on that
    period only (the changes, and the targets of :func:`change_windows`) and a fresh
    :class:`~rnnbook.models.regressor.SequenceRegressor`, initialised after
    ``seed_everything(seed)``. ``kind="recursive"`` learns the next change (one output),
    ``"mimo"`` the ``horizon`` cumulative changes (or residuals of ``base``) at once.
    :func:`fit_forecaster` trains it."""
    if kind not in ("recursive", "mimo"):
        hint = (" ('direct' is one model per horizon, which this package does not build; one "
                "model with an output per horizon is 'mimo')" if kind == "direct" else "")
        raise ValueError(f"kind must be 'recursive' or 'mimo', not {kind!r}{hint}")
    if kind == "recursive" and base is not None:
        raise ValueError("a base forecaster goes with kind='mimo'")
    y = check_series(y)
    end = check_end(y, end)
    horizon = check_horizon(horizon)
    seed_everything(seed)
    outputs = 1 if kind == "recursive" else horizon
    _, t = change_windows(y, length, outputs, end, base=base, start=start)
    x_scaler, y_scaler = Scaler.fit(changes(y[:end])[1:]), Scaler.fit(t)
    model = SequenceRegressor(1, hidden, cell=cell, out_features=outputs)
    if kind == "recursive":
        return RecursiveForecaster(model, x_scaler, y_scaler, length)
    return MIMOForecaster(model, x_scaler, y_scaler, length, base)


def fit_forecaster(fc: NetForecaster, y: np.ndarray, end: int, *, epochs: int,
                   lr: float = 3e-3, batch_size: int = 32, start: int = 0, seed: int = 0,
                   log: Optional[Callable[[str], None]] = None) -> History:
    """Train ``fc``'s model in place, ``epochs`` passes over the windows of ``y[:end]`` whose
    origin is ``>= start`` (its scalers stay those of its first training period), with
    :func:`rnnbook.train` and the squared error of
    :func:`~rnnbook.tasks.regress.regression_loss`; the batches are shuffled from ``seed``.
    A first fit (:func:`new_forecaster`) and a refit from earlier weights are the same
    call."""
    y = check_series(y)
    end = check_end(y, end)
    seed_everything(seed)
    batches = _train_windows(fc, y, end, start, batch_size, seed)
    return train(fc.model, batches, regression_loss, epochs=epochs, lr=lr, log=log)


@dataclass
class RollingForecaster:
    """Forecasters refitted as the origin rolls on: ``forecasters[k]`` was trained on
    ``y[:ends[k]]`` and forecasts from the origins ``o`` with ``ends[k] - 1 <= o <
    ends[k + 1] - 1``, the latest fit whose data were all known at ``o``. ``histories``
    holds the refits' training histories (none for a frozen fit)."""

    ends: tuple[int, ...]
    forecasters: tuple[Forecaster, ...]
    histories: tuple[History, ...] = ()

    def __post_init__(self) -> None:
        if len(self.ends) != len(self.forecasters) or not self.ends or any(
                b <= a for a, b in zip(self.ends, self.ends[1:])):
            raise ValueError("need one forecaster per end, and ends strictly increasing")

    def __call__(self, y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        y = check_series(y)
        horizon = check_horizon(horizon)
        origins = check_origins(y, origins, 0)
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
         ) -> RollingForecaster:
    """Refit ``fc`` (trained on ``y[:ends[0]]``) as the origin rolls on: at each later end
    ``ends[k]`` a copy of the previous fit trained ``tune_epochs`` more passes
    (:func:`fit_forecaster`, seed ``seed + k``) on the windows of ``y[:end]`` (with
    ``tune_months``, only those whose origin lies in the last ``tune_months`` months before
    ``end``; else all from ``start``). ``tune_epochs=0`` keeps ``fc`` frozen; ``fc`` itself is
    never changed."""
    y = check_series(y)
    ends = [check_end(y, e) for e in ends]
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
            fc = copy.deepcopy(fc)
            histories.append(fit_forecaster(fc, y, e, epochs=tune_epochs, lr=lr,
                                            batch_size=batch_size, start=first, seed=seed + k,
                                            log=log))
        fits.append(fc)
    return RollingForecaster(tuple(ends), tuple(fits), tuple(histories))
