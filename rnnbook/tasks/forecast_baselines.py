"""Classical forecasters of a monthly series, each ``forecast(y, origins, horizon) ->
(len(origins), horizon)`` as :mod:`rnnbook.tasks.series` defines it: seasonal naive, seasonal
naive with drift, and least squares on a polynomial trend plus yearly harmonics, refitted at
every origin.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .series import check_horizon, check_origins, check_period, check_series

__all__ = ["seasonal_naive", "seasonal_naive_drift", "harmonic_design", "harmonic_regression"]


def seasonal_naive(y: np.ndarray, origins: np.ndarray, horizon: int,
                   period: int = 12) -> np.ndarray:
    """The value one season earlier: ``y_hat[o + h] = y[o + h - period * k]``, ``k = ceil(h /
    period)``, the latest value of the same month known at the origin."""
    y = check_series(y)
    check_period(period)
    horizon = check_horizon(horizon)
    origins = check_origins(y, origins, period - 1)
    h = np.arange(1, horizon + 1)
    k = -(-h // period)
    return y[origins[:, None] + h - period * k]


def seasonal_naive_drift(y: np.ndarray, origins: np.ndarray, horizon: int,
                         period: int = 12) -> np.ndarray:
    """Seasonal naive plus the last season's drift: ``y_hat[o + h] = y[o + h - period k] +
    k (y[o] - y[o - period])``, ``k = ceil(h / period)``. Exact on a periodic series plus a
    straight line."""
    y = check_series(y)
    check_period(period)
    horizon = check_horizon(horizon)
    origins = check_origins(y, origins, period)
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
    y = check_series(y)
    check_period(period, integer=False)
    horizon = check_horizon(horizon)
    p = degree + 1 + 2 * harmonics
    if history is not None and history < p:
        raise ValueError(f"history={history} months cannot fit {p} coefficients: give more "
                         "months (or None for all)")
    origins = check_origins(y, origins, p - 1)
    out = np.empty((len(origins), horizon))
    for i, o in enumerate(origins):
        start = 0 if history is None else max(0, o + 1 - history)
        t = np.arange(start, o + 1 + horizon) - o
        design = harmonic_design(t, degree, harmonics, period)
        coef = np.linalg.lstsq(design[: o + 1 - start], y[start: o + 1], rcond=None)[0]
        out[i] = design[o + 1 - start:] @ coef
    return out
