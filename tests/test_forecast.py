"""Forecasting: windows line up, scalers see the training period only, baselines are exact
where they should be, forecasters never look past their origin, recursive and MIMO give the
right horizons, refits at rolling origins use the latest fit known at each origin, MAE/RMSE by
hand, bad arguments are refused."""

import copy

import numpy as np
import pytest
import torch

from rnnbook.history import History
from rnnbook.models.regressor import SequenceRegressor
from rnnbook.tasks import forecast as F


def cycle_and_trend(n=240, slope=0.2, curve=0.0):
    t = np.arange(n, dtype=float)
    return (10 + slope * t + curve * (t / 12) ** 2 + 3 * np.sin(2 * np.pi * t / 12)
            - 1.5 * np.cos(4 * np.pi * t / 12))


def test_windows_align_inputs_and_targets():
    x, y = F.windows(np.arange(10.0), length=3, horizon=2)
    assert x.shape == (6, 3) and y.shape == (6, 2)
    np.testing.assert_array_equal(x[0], [0, 1, 2])
    np.testing.assert_array_equal(y[0], [3, 4])
    np.testing.assert_array_equal(x[-1], [5, 6, 7])
    np.testing.assert_array_equal(y[-1], [8, 9])
    with pytest.raises(ValueError, match="no window"):
        F.windows(np.arange(4.0), length=3, horizon=2)


def test_change_windows_align_and_stay_before_end():
    y = np.arange(20.0) ** 2
    x, t = F.change_windows(y, length=3, horizon=2, end=12)
    # first origin o = 3: changes d[1..3] = 1, 3, 5; targets y[4] - y[3], y[5] - y[3]
    np.testing.assert_array_equal(x[0], [1, 3, 5])
    np.testing.assert_array_equal(t[0], [7, 16])
    # last origin o = 9: its targets reach y[11], the last month before end = 12
    assert len(x) == 7
    np.testing.assert_array_equal(t[-1], [y[10] - y[9], y[11] - y[9]])
    x2, _ = F.change_windows(np.concatenate([y[:12], y[12:] * 1e6]), 3, 2, end=12)
    np.testing.assert_array_equal(x, x2)
    x3, t3 = F.change_windows(y, length=3, horizon=2, end=12, start=5)
    np.testing.assert_array_equal(x3, x[2:])
    np.testing.assert_array_equal(t3, t[2:])


def test_change_windows_residual_targets_of_a_base():
    """With a base forecaster the targets are its residuals: zero where the base is exact."""
    y = cycle_and_trend(120, slope=0.3)
    x, t = F.change_windows(y, 24, 6, end=100, base=F.seasonal_naive_drift)
    assert t.shape == (100 - 6 - 24, 6)
    np.testing.assert_allclose(t, 0, atol=1e-9)
    _, plain = F.change_windows(y, 24, 6, end=100)
    assert np.abs(plain).max() > 1


def test_scaler_uses_its_data_only_and_inverts():
    train, test = np.array([1.0, 2.0, 3.0]), np.array([100.0, 200.0])
    s = F.Scaler.fit(train)
    assert s.mean == pytest.approx(2.0) and s.std == pytest.approx(np.std(train))
    np.testing.assert_allclose(s.inverse(s.transform(test)), test)
    leaky = F.Scaler.fit(np.concatenate([train, test]))
    assert leaky.mean != pytest.approx(s.mean)  # a scaler fitted on test data would differ


def test_fit_forecaster_ignores_data_after_end():
    """The scaler and the model see y[:end] only: changing every later month changes neither."""
    y = cycle_and_trend(120)
    other = y.copy()
    other[80:] += np.linspace(0, 50, 40)
    kw = dict(kind="mimo", horizon=3, length=12, hidden=4)

    def fitted(series, end):
        fc = F.new_forecaster(series, end, **kw)
        history = F.fit_forecaster(fc, series, end, epochs=1, batch_size=16)
        assert isinstance(history, History) and history.step  # one shape: a History
        return fc

    a, b = fitted(y, 80), fitted(other, 80)
    np.testing.assert_array_equal(a.x_scaler.mean, b.x_scaler.mean)
    np.testing.assert_array_equal(a.y_scaler.std, b.y_scaler.std)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        torch.testing.assert_close(p, q)
    c = fitted(other, 81)
    assert not np.allclose(c.y_scaler.mean, a.y_scaler.mean)


def test_fit_forecaster_trains_the_forecaster_in_place_from_its_seed():
    y = cycle_and_trend(120)
    fc = F.new_forecaster(y, 80, "recursive", length=12, hidden=4, seed=3)
    before = [p.detach().clone() for p in fc.model.parameters()]
    same = F.new_forecaster(y, 80, "recursive", length=12, hidden=4, seed=3)
    for p, q in zip(same.model.parameters(), before):
        torch.testing.assert_close(p, q)              # the seed fixes the initial weights
    F.fit_forecaster(fc, y, 80, epochs=2, batch_size=16, seed=3)
    assert any(not torch.equal(p, q) for p, q in zip(fc.model.parameters(), before))
    F.fit_forecaster(same, y, 80, epochs=2, batch_size=16, seed=3)
    for p, q in zip(same.model.parameters(), fc.model.parameters()):
        torch.testing.assert_close(p, q)              # and the seed the shuffles


def test_seasonal_naive_exact_on_a_periodic_series():
    y = cycle_and_trend(120, slope=0.0)
    origins = np.arange(30, 90)
    pred = F.seasonal_naive(y, origins, 24)
    np.testing.assert_allclose(pred, y[origins[:, None] + np.arange(1, 25)], atol=1e-12)
    # h = 13 uses the value 24 months before the target, the latest of that month known
    np.testing.assert_array_equal(pred[:, 12], y[origins + 13 - 24])


def test_seasonal_naive_drift_exact_on_cycle_plus_line():
    y = cycle_and_trend(120, slope=0.37)
    origins = np.arange(30, 90)
    pred = F.seasonal_naive_drift(y, origins, 24)
    np.testing.assert_allclose(pred, y[origins[:, None] + np.arange(1, 25)], atol=1e-9)
    assert not np.allclose(F.seasonal_naive(y, origins, 24), pred)


def test_harmonic_regression_exact_on_quadratic_trend_plus_two_harmonics():
    y = cycle_and_trend(200, slope=0.1, curve=0.05)
    origins = np.array([40, 100, 170])
    for history in (None, 30):
        pred = F.harmonic_regression(y, origins, 24, history=history)
        np.testing.assert_allclose(pred, y[origins[:, None] + np.arange(1, 25)], atol=1e-6)
    assert not np.allclose(F.harmonic_regression(y, origins, 24, degree=1), pred, atol=1e-3)


@pytest.mark.parametrize("method", [F.seasonal_naive, F.seasonal_naive_drift,
                                    F.harmonic_regression])
def test_baselines_never_look_past_the_origin(method):
    rng = np.random.default_rng(0)
    y = cycle_and_trend(150) + rng.normal(size=150)
    o = np.array([60, 100])
    changed = y.copy()
    changed[101:] = 1e6
    np.testing.assert_array_equal(method(y, o, 24), method(changed, o, 24))


def _forecasters():
    torch.manual_seed(0)
    one = SequenceRegressor(1, 5, cell="gru", out_features=1)
    many = SequenceRegressor(1, 5, cell="lstm", out_features=24)
    s1, s24 = F.Scaler(np.array(0.5), np.array(2.0)), F.Scaler(np.zeros(24), np.ones(24))
    return (F.RecursiveForecaster(one, s1, s1, 12),
            F.MIMOForecaster(many, s1, s24, 12),
            F.MIMOForecaster(many, s1, s24, 12, base=F.seasonal_naive_drift))


@pytest.mark.parametrize("which", [0, 1, 2], ids=["recursive", "mimo", "hybrid"])
def test_rnn_forecasters_shapes_and_no_look_ahead(which):
    fc = _forecasters()[which]
    y = cycle_and_trend(150)
    o = np.array([40, 70, 100])
    for h in (1, 12, 24):
        assert fc(y, o, h).shape == (3, h)
    changed = y.copy()
    changed[101:] = -1e6
    np.testing.assert_allclose(fc(y, o, 24), fc(changed, o, 24))


def test_recursive_feeds_its_own_predictions_back():
    """Horizon h of the recursive forecaster is the origin plus h one-step predictions, each
    made from a window that holds the earlier predictions (checked step by step by hand)."""
    rec = _forecasters()[0]
    y = cycle_and_trend(80)
    o = 60
    window = list(F.changes(y)[o - 11: o + 1])
    level, expected = y[o], []
    for _ in range(3):
        z = torch.tensor((np.array(window[-12:]) - 0.5) / 2.0, dtype=torch.float32)
        with torch.no_grad():
            step = float(rec.model(z.view(1, 12, 1))) * 2.0 + 0.5
        window.append(step)
        level += step
        expected.append(level)
    np.testing.assert_allclose(rec(y, np.array([o]), 3)[0], expected, rtol=1e-5)
    # a longer horizon extends the shorter one
    np.testing.assert_allclose(rec(y, np.array([o]), 12)[0, :3], expected, rtol=1e-5)


def test_mimo_forecast_is_origin_plus_one_output_per_horizon():
    direct = _forecasters()[1]
    y = cycle_and_trend(80)
    o = 60
    z = torch.tensor((F.changes(y)[o - 11: o + 1] - 0.5) / 2.0, dtype=torch.float32)
    with torch.no_grad():
        out = direct.model(z.view(1, 12, 1)).numpy()[0]
    np.testing.assert_allclose(direct(y, np.array([o]), 24)[0], y[o] + out, rtol=1e-5)
    with pytest.raises(ValueError, match="predicts 24 horizons"):
        direct(y, np.array([o]), 25)


def test_mae_rmse_by_hand():
    pred, truth = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 1.0])
    assert F.mae(pred, truth) == pytest.approx(4 / 3)
    assert F.rmse(pred, truth) == pytest.approx(np.sqrt(10 / 3))
    with pytest.raises(ValueError, match="same non-empty shape"):
        F.mae(pred, truth[:2])


def test_rolling_origin_scores_the_same_targets_from_origins_t_minus_h():
    y = np.arange(50.0)
    seen = {}

    def last_value(series, origins, horizon):
        seen[horizon] = origins
        return np.repeat(series[origins][:, None], horizon, axis=1)

    targets = np.arange(40, 50)
    scores = F.rolling_origin(y, last_value, targets, (1, 12))
    np.testing.assert_array_equal(seen[12], targets - 12)
    np.testing.assert_array_equal(scores[12].truth, y[targets])
    assert scores[1].mae == pytest.approx(1.0) and scores[12].rmse == pytest.approx(12.0)


def test_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        F.seasonal_naive(np.array([1.0, np.nan] * 12), np.array([20]), 1)
    with pytest.raises(ValueError, match="origins must lie"):
        F.seasonal_naive_drift(np.arange(30.0), np.array([5]), 1)
    with pytest.raises(ValueError, match="kind must be"):
        F.new_forecaster(np.arange(100.0), 80, kind="seq2seq")
    with pytest.raises(ValueError, match="one model per horizon.*'mimo'"):
        F.new_forecaster(np.arange(100.0), 80, kind="direct")
    with pytest.raises(ValueError, match="base forecaster goes with kind='mimo'"):
        F.new_forecaster(np.arange(100.0), 80, kind="recursive", base=F.seasonal_naive)


@pytest.mark.parametrize("period", [0, -12, 1.5, True])
def test_seasonal_methods_refuse_a_period_that_is_not_a_season(period):
    """period=0 used to return y[o + 1 : o + 1 + horizon], the future itself."""
    y = cycle_and_trend(120)
    for method in (F.seasonal_naive, F.seasonal_naive_drift):
        with pytest.raises(ValueError, match="period is the length of the season"):
            method(y, np.array([60]), 3, period=period)
    if not isinstance(period, float):
        with pytest.raises(ValueError, match="period is the length of the season"):
            F.harmonic_regression(y, np.array([60]), 3, period=period)


def _needs():
    """Each forecaster and the months of history it needs before its first origin."""
    rec, mimo, hyb = _forecasters()
    return [(F.seasonal_naive, 11), (F.seasonal_naive_drift, 12), (F.harmonic_regression, 6),
            (rec, 12), (mimo, 12), (hyb, 12)]


@pytest.mark.parametrize("which", range(6), ids=["naive", "drift", "lsq", "rec", "mimo", "hyb"])
def test_an_origin_without_enough_history_is_refused_not_wrapped(which):
    """Origin need - 1 would index y[-1], the last month of the series (NumPy wraps): refused.
    Origin need is the earliest allowed, and its forecast ignores the end of the series."""
    method, need = _needs()[which]
    y = cycle_and_trend(120)
    with pytest.raises(ValueError, match="origins must lie"):
        method(y, np.array([need - 1]), 3)
    changed = y.copy()
    changed[-30:] = 1e6  # months a wrapped index would read
    np.testing.assert_allclose(method(y, np.array([need]), 3),
                               method(changed, np.array([need]), 3))


@pytest.mark.parametrize("which", range(6), ids=["naive", "drift", "lsq", "rec", "mimo", "hyb"])
@pytest.mark.parametrize("horizon", [0, -1, 2.0])
def test_a_horizon_below_one_month_is_refused(which, horizon):
    method, _ = _needs()[which]
    with pytest.raises(ValueError, match="horizon is the number of months"):
        method(cycle_and_trend(120), np.array([60]), horizon)


def test_rolling_origin_refuses_empty_or_zero_horizons():
    y = cycle_and_trend(120)
    with pytest.raises(ValueError, match="horizon is the number of months"):
        F.rolling_origin(y, F.seasonal_naive, np.arange(100, 110), (0, 12))
    with pytest.raises(ValueError, match="horizons is empty"):
        F.rolling_origin(y, F.seasonal_naive, np.arange(100, 110), ())


@pytest.mark.parametrize("end", [121, 500, 0, -5])
def test_fit_forecaster_refuses_an_end_outside_the_series(end):
    y = cycle_and_trend(120)
    with pytest.raises(ValueError, match=r"end must be an integer in \[1, 120\]"):
        F.new_forecaster(y, end, horizon=3, length=12, hidden=4)
    fc = F.new_forecaster(y, 80, horizon=3, length=12, hidden=4)
    with pytest.raises(ValueError, match=r"end must be an integer in \[1, 120\]"):
        F.fit_forecaster(fc, y, end, epochs=1)
    with pytest.raises(ValueError, match=r"end must be an integer in \[1, 120\]"):
        F.change_windows(y, 12, 3, end)


def test_harmonic_regression_refuses_a_history_too_short_for_its_coefficients():
    with pytest.raises(ValueError, match="cannot fit 7 coefficients"):
        F.harmonic_regression(cycle_and_trend(120), np.array([60]), 3, history=6)


# ---------------------------------------------------------------- refits at rolling origins

class Constant:
    """A forecaster that forecasts its own label, to see which fit served which origin."""

    def __init__(self, value):
        self.value = value

    def __call__(self, y, origins, horizon):
        return np.full((len(origins), horizon), self.value)


def test_rolling_forecaster_uses_the_latest_fit_known_at_each_origin():
    """The fit on y[:e] serves origins o >= e - 1 (y[e - 1] is then known), until the next."""
    fc = F.RollingForecaster((50, 62, 74), (Constant(0.0), Constant(1.0), Constant(2.0)))
    origins = np.array([49, 60, 61, 72, 73, 100])
    np.testing.assert_array_equal(fc(np.zeros(120), origins, 2)[:, 0], [0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="before the first fit"):
        fc(np.zeros(120), np.array([48]), 2)
    with pytest.raises(ValueError, match="strictly increasing"):
        F.RollingForecaster((50, 50), (Constant(0.0), Constant(1.0)))


def test_a_refit_keeps_the_scalers_and_sees_only_y_before_end():
    y = cycle_and_trend(120)
    fc = F.new_forecaster(y, 80, "mimo", horizon=3, length=12, hidden=4)
    F.fit_forecaster(fc, y, 80, epochs=1, batch_size=16)
    scalers = (fc.x_scaler, fc.y_scaler)
    a, b = copy.deepcopy(fc), copy.deepcopy(fc)
    F.fit_forecaster(a, y, 92, epochs=2, lr=1e-2, batch_size=16)
    np.testing.assert_array_equal(a.x_scaler.mean, scalers[0].mean)  # a refit keeps the
    np.testing.assert_array_equal(a.y_scaler.std, scalers[1].std)    # first period's scalers
    assert any(not torch.equal(p, q) for p, q in zip(a.model.parameters(),
                                                     fc.model.parameters()))
    other = y.copy()
    other[92:] += 100.0
    F.fit_forecaster(b, other, 92, epochs=2, lr=1e-2, batch_size=16)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        torch.testing.assert_close(p, q)


def test_roll_refits_once_per_later_end_and_never_looks_ahead():
    y = cycle_and_trend(150)
    fc = F.new_forecaster(y, 80, "mimo", horizon=3, length=12, hidden=4)
    F.fit_forecaster(fc, y, 80, epochs=1, batch_size=16)
    before = [p.detach().clone() for p in fc.model.parameters()]
    rolled = F.roll(fc, y, [80, 92, 104], tune_epochs=1, lr=1e-2, batch_size=16)
    assert len(rolled.histories) == 2 and rolled.forecasters[0] is fc
    assert all(isinstance(h, History) for h in rolled.histories)
    assert rolled.forecasters[1] is not fc and rolled.forecasters[2] is not rolled.forecasters[1]
    for p, q in zip(fc.model.parameters(), before):
        torch.testing.assert_close(p, q)  # the first fit is left as it was
    frozen = F.roll(fc, y, [80, 92, 104], tune_epochs=0)
    assert frozen.histories == () and all(f is fc for f in frozen.forecasters)
    o = np.array([79, 95, 110])
    changed = y.copy()
    changed[111:] = -1e6
    np.testing.assert_allclose(rolled(y, o, 3), rolled(changed, o, 3))
    np.testing.assert_allclose(rolled(y, o[:1], 3), fc(y, o[:1], 3))
    assert not np.allclose(rolled(y, o[2:], 3), fc(y, o[2:], 3))
    with pytest.raises(ValueError, match="tune_epochs must be an integer >= 0"):
        F.roll(fc, y, [80, 92], tune_epochs=-1)
