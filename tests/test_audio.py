import math

import numpy as np
import pytest
import torch

from rnnbook.audio import (
    change_speed,
    frame_times,
    hz_to_mel,
    log_mel,
    mel_centres,
    mel_filterbank,
    mel_to_hz,
    normalise,
    spec_augment,
)

RATE = 8000


def tone(freq, seconds=0.5, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mel_scale_formula_and_inverse():
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.1)  # the scale's anchor
    assert hz_to_mel(700.0) == pytest.approx(2595 * math.log10(2))
    f = torch.tensor([0.0, 100.0, 1234.5, 4000.0], dtype=torch.float64)
    torch.testing.assert_close(mel_to_hz(hz_to_mel(f)), f)
    assert mel_to_hz(hz_to_mel(321.0)) == pytest.approx(321.0)


def test_filterbank_matches_the_triangle_formula_bin_by_bin():
    n_mels, n_fft = 10, 64
    fb = mel_filterbank(n_mels, n_fft, RATE, f_min=100.0, f_max=3800.0)
    assert fb.shape == (n_mels, n_fft // 2 + 1) and fb.dtype == torch.float32
    c = [mel_to_hz(hz_to_mel(100.0) + i * (hz_to_mel(3800.0) - hz_to_mel(100.0)) / (n_mels + 1))
         for i in range(n_mels + 2)]
    for m in range(n_mels):
        for k in range(n_fft // 2 + 1):
            f = k * RATE / n_fft
            want = max(0.0, min((f - c[m]) / (c[m + 1] - c[m]),
                                (c[m + 2] - f) / (c[m + 2] - c[m + 1])))
            assert fb[m, k].item() == pytest.approx(want, abs=1e-6), (m, k)


def test_filters_peak_at_the_mel_centres():
    n_fft = 1 << 15  # fine bins: the peak bin lies within one bin of the centre
    fb = mel_filterbank(40, n_fft, RATE)
    centres = mel_centres(40, 0.0, RATE / 2)[1:-1]
    peak_freq = fb.argmax(1).double() * RATE / n_fft
    assert (peak_freq - centres).abs().max() <= RATE / n_fft
    assert fb.max(1).values.min() > 0.99
    assert fb.max() <= 1.0


def test_filters_sum_to_one_between_the_first_and_last_centre():
    n_fft = 512
    fb = mel_filterbank(40, n_fft, RATE)
    c = mel_centres(40, 0.0, RATE / 2)
    f = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * RATE / n_fft
    inside = (f >= c[1]) & (f <= c[-2])
    torch.testing.assert_close(fb.sum(0)[inside], torch.ones(int(inside.sum())),
                               atol=1e-6, rtol=0)
    assert (fb.sum(0)[~inside] < 1).all()


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_a_pure_tone_lands_in_the_band_whose_centre_is_nearest(freq):
    feats = log_mel(tone(freq), RATE, n_mels=40)
    centres = mel_centres(40, 0.0, RATE / 2)[1:-1]
    assert int(feats.mean(0).argmax()) == int((centres - freq).abs().argmin())


def test_log_mel_matches_a_numpy_fft_of_one_frame():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, 3000).astype(np.float32)
    feats = log_mel(x, RATE, n_mels=20, win_ms=25, hop_ms=10)
    win, hop, n_fft = 200, 80, 256
    assert feats.shape == (1 + len(x) // hop, 20)
    padded = np.pad(x.astype(np.float64), n_fft // 2)  # center=True, zeros
    window = np.zeros(n_fft)
    window[(n_fft - win) // 2:(n_fft - win) // 2 + win] = 0.5 - 0.5 * np.cos(
        2 * np.pi * np.arange(win) / win)  # periodic Hann, centred in the FFT frame
    fb = mel_filterbank(20, n_fft, RATE).double().numpy()
    for t in (0, 7, 30):
        frame = padded[t * hop:t * hop + n_fft] * window
        want = np.log(fb @ np.abs(np.fft.rfft(frame)) ** 2 + 1e-6)
        np.testing.assert_allclose(feats[t].numpy(), want, rtol=1e-4, atol=1e-4)


def test_frame_times_and_errors():
    torch.testing.assert_close(frame_times(3, 10.0), torch.tensor([0.0, 0.01, 0.02]))
    with pytest.raises(ValueError, match="mono waveform"):
        log_mel(np.zeros((2, 100), np.float32), RATE)
    with pytest.raises(ValueError, match="float"):
        log_mel(np.zeros(100, np.int16), RATE)
    with pytest.raises(ValueError, match="empty"):
        log_mel(np.zeros(1, np.float32), RATE)
    with pytest.raises(ValueError, match="f_max"):
        mel_filterbank(40, 256, RATE, f_max=5000.0)


def test_normalise_gives_each_band_mean_zero_and_unit_std():
    x = torch.randn(50, 8) * torch.arange(1, 9) + 3.0
    y = normalise(x)
    torch.testing.assert_close(y.mean(0), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(0, unbiased=False), torch.ones(8), atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match="time, bands"):
        normalise(torch.zeros(3))


def test_spec_augment_masks_within_limits_and_leaves_the_input():
    g = torch.Generator().manual_seed(0)
    x = torch.ones(4, 50, 40)
    lengths = torch.tensor([50, 40, 20, 5])
    y = spec_augment(x, lengths, freq_width=8, time_width=10, generator=g)
    assert torch.equal(x, torch.ones(4, 50, 40))
    zero = y == 0
    bands = zero.all(1).sum(1)  # whole bands masked
    steps = zero.all(2).sum(1)  # whole frames masked
    assert (bands <= 8).all()
    assert (steps <= torch.clamp(lengths // 5, max=10)).all()
    masked = zero & ~zero.all(1, keepdim=True) & ~zero.all(2, keepdim=True)
    assert not masked.any()  # nothing but whole bands and whole frames
    assert zero.any()


def test_change_speed_resamples_by_interpolation():
    x = torch.arange(10, dtype=torch.float32)
    torch.testing.assert_close(change_speed(x, 1.0), x)
    torch.testing.assert_close(change_speed(x, 2.0), torch.tensor([0.0, 2, 4, 6, 8]))
    torch.testing.assert_close(change_speed(x, 0.5)[:4], torch.tensor([0.0, 0.5, 1, 1.5]))
    y = change_speed(tone(500.0, 1.0), 1.5)
    spectrum = np.abs(np.fft.rfft(y.numpy()))
    assert np.argmax(spectrum) * RATE / len(y) == pytest.approx(750.0, abs=3)
    with pytest.raises(ValueError, match="positive"):
        change_speed(x, 0.0)


@pytest.mark.parametrize("kwargs", [dict(n_mels=128), dict(n_mels=40, rate=1000),
                                    dict(n_mels=40, win_ms=5.0)])
def test_settings_that_leave_a_mel_filter_without_a_bin_are_refused(kwargs):
    """Too many bands for the FFT's bins (or too low a rate, too short a window) would leave
    some filters empty, and their features constant: refused, naming the setting."""
    rate = kwargs.pop("rate", RATE)
    with pytest.raises(ValueError, match="n_mels=40|n_mels=128") as err:
        log_mel(tone(300.0, rate=rate), rate, **kwargs)
    assert "contain no frequency bin" in str(err.value) and "win_ms" in str(err.value)
    with pytest.raises(ValueError, match="no frequency bin"):
        mel_filterbank(128, 256, RATE)
    assert (mel_filterbank(40, 256, RATE).amax(1) > 0).all()  # the book's setting is fine


def test_a_window_or_hop_under_one_sample_is_refused():
    with pytest.raises(ValueError, match="win_ms=0.1"):
        log_mel(tone(300.0), RATE, win_ms=0.1)
    with pytest.raises(ValueError, match="hop_ms=0.01"):
        log_mel(tone(300.0), RATE, hop_ms=0.01)


def test_log_mel_caches_the_filterbank_without_sharing_a_mutable_result():
    a = log_mel(tone(300.0), RATE, n_mels=20)
    fb = mel_filterbank(20, 256, RATE)
    fb.zero_()  # the caller's copy: log_mel's cached bank is another tensor
    torch.testing.assert_close(log_mel(tone(300.0), RATE, n_mels=20), a)
