"""Forecasting: windows line up, scalers see the training period only, baselines are exact
where they should be, forecasters never look past their origin, recursive and direct give the
right horizons, MAE/RMSE by hand."""

import numpy as np
import pytest
import torch

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
    kw = dict(kind="direct", horizon=3, length=12, hidden=4, epochs=1, batch_size=16)
    a, _ = F.fit_forecaster(y, 80, **kw)
    b, _ = F.fit_forecaster(other, 80, **kw)
    np.testing.assert_array_equal(a.x_scaler.mean, b.x_scaler.mean)
    np.testing.assert_array_equal(a.y_scaler.std, b.y_scaler.std)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        torch.testing.assert_close(p, q)
    c, _ = F.fit_forecaster(other, 81, **kw)
    assert not np.allclose(c.y_scaler.mean, a.y_scaler.mean)


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
            F.DirectForecaster(many, s1, s24, 12),
            F.DirectForecaster(many, s1, s24, 12, base=F.seasonal_naive_drift))


@pytest.mark.parametrize("which", [0, 1, 2], ids=["recursive", "direct", "hybrid"])
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


def test_direct_forecast_is_origin_plus_one_output_per_horizon():
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
        F.fit_forecaster(np.arange(100.0), 80, kind="mimo")
