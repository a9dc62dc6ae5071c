"""Speech features in plain PyTorch: the log-mel spectrogram, and the augmentations of training.

    X[t, k]  = sum_{n=0}^{N-1} x~[tH + n] w~[n] e^{-2 pi i k n / N}   (T, N/2+1)  STFT
    P[t, k]  = |X[t, k]|^2                                              power spectrum
    S[t, m]  = sum_k P[t, k] M[m, k]                        (T, n_mels) mel filterbank
    F[t, m]  = log(S[t, m] + eps)                                       log-mel features

the convention of ``torch.stft(center=True)``: a periodic Hann window
``w[n] = 0.5 - 0.5 cos(2 pi n / W)`` of ``W`` samples (25 ms: 200 at 8 kHz) is zero-padded
to ``N``, the FFT size (the next power of two: 256), with ``floor((N - W) / 2)`` zeros
before it and the rest after (``w~``); the waveform is zero-padded with ``N / 2`` samples
at each end (``x~[m] = x[m - N/2]``), and frames come every ``H`` samples (10 ms: 80).
Frame ``t`` thus reads the ``W`` samples ``x[tH - W/2] .. x[tH + W/2 - 1]``, centred on
sample ``tH``. Triangular filters ``M`` have centres equally spaced on the mel scale
``mel(f) = 2595 log10(1 + f / 700)`` (the HTK formula). torchaudio computes the same, but
its wheels pin their own torch version, so the book builds the features from ``torch.stft``
and a filterbank made here.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

Wave = Union[Tensor, np.ndarray]


def hz_to_mel(f: Union[float, Tensor]) -> Union[float, Tensor]:
    """``mel(f) = 2595 log10(1 + f / 700)``: about linear below 1 kHz, logarithmic above."""
    if isinstance(f, Tensor):
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_to_hz(m: Union[float, Tensor]) -> Union[float, Tensor]:
    """The inverse of :func:`hz_to_mel`: ``f = 700 (10^(m / 2595) - 1)``."""
    if isinstance(m, Tensor):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_centres(n_mels: int, f_min: float, f_max: float) -> Tensor:
    """The ``n_mels + 2`` edge and centre frequencies (Hz) of the filters, equally spaced in
    mel from ``f_min`` to ``f_max``: filter ``m`` rises from ``c[m]``, peaks at ``c[m+1]`` and
    falls to zero at ``c[m+2]``."""
    mels = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=torch.float64)
    return mel_to_hz(mels)


def mel_filterbank(n_mels: int, n_fft: int, rate: int, f_min: float = 0.0,
                   f_max: Optional[float] = None) -> Tensor:
    """Triangular mel filters ``M`` ``(n_mels, n_fft // 2 + 1)``, float32, peak height 1.

    ``M[m, k] = max(0, min((f_k - c_m) / (c_{m+1} - c_m), (c_{m+2} - f_k) / (c_{m+2} -
    c_{m+1})))`` at the bin frequencies ``f_k = k rate / n_fft``, with ``c`` from
    :func:`mel_centres`. Between the first and the last centre two neighbouring triangles sum
    to 1 (the filters split the spectrum, nothing is counted twice).
    """
    f_max = rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= rate / 2:
        raise ValueError(f"need 0 <= f_min < f_max <= rate / 2 = {rate / 2}, got f_min="
                         f"{f_min}, f_max={f_max}")
    if n_mels < 1 or n_fft < 2:
        raise ValueError(f"need n_mels >= 1 and n_fft >= 2, got {n_mels} and {n_fft}")
    c = mel_centres(n_mels, f_min, f_max)
    f = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * rate / n_fft  # (K,)
    lo, mid, hi = c[:-2, None], c[1:-1, None], c[2:, None]  # (n_mels, 1) each
    rise, fall = (f - lo) / (mid - lo), (hi - f) / (hi - mid)
    fb = torch.clamp(torch.minimum(rise, fall), min=0.0)
    empty = torch.nonzero(fb.amax(1) == 0).flatten().tolist()
    if empty:
        raise ValueError(
            f"{len(empty)} of the n_mels={n_mels} mel filters contain no frequency bin "
            f"(filters {empty[:5]}{'...' if len(empty) > 5 else ''}): an FFT of n_fft={n_fft} "
            f"points at rate={rate} Hz has bins {rate / n_fft:g} Hz apart, wider than the "
            f"narrowest filters between f_min={f_min} and f_max={f_max} Hz; their features "
            "would be constant. Use fewer mel bands (n_mels), a longer window (log_mel's "
            "win_ms, hence a larger n_fft) or a wider frequency range")
    return fb.float()


_cached_filterbank = lru_cache(maxsize=16)(mel_filterbank)  # log_mel's: one per setting


def _check_wave(wave: Wave) -> Tensor:
    x = torch.as_tensor(wave)
    if x.dim() != 1 or not x.is_floating_point():
        raise ValueError(f"expected a mono waveform: a 1-D float array, got shape "
                         f"{tuple(x.shape)} and dtype {x.dtype}")
    return x.float()


def log_mel(wave: Wave, rate: int, n_mels: int = 40, win_ms: float = 25.0,
            hop_ms: float = 10.0, f_min: float = 0.0, f_max: Optional[float] = None,
            eps: float = 1e-6) -> Tensor:
    """Log-mel spectrogram ``(T, n_mels)`` of a mono waveform (see the module's equations).

    A Hann window of ``W = round(rate * win_ms / 1000)`` samples, zero-padded to an FFT of
    ``N`` points, the next power of two (``W = 200``, ``N = 256`` at 8 kHz), one frame every
    ``H = round(rate * hop_ms / 1000)`` samples. The waveform is zero-padded with ``N / 2``
    samples at each end (``torch.stft(center=True)``), so frame ``t`` is centred on time
    ``t * hop_ms / 1000`` s and there are ``1 + len // H`` frames. A setting whose FFT bins
    are too coarse for ``n_mels`` filters (some filter would hold no bin) is a ValueError.
    """
    x = _check_wave(wave)
    win, hop = round(rate * win_ms / 1000), round(rate * hop_ms / 1000)
    if x.numel() < 2:
        raise ValueError("the waveform is empty: give at least two samples")
    if win < 2 or hop < 1:
        raise ValueError(f"at rate={rate} Hz, win_ms={win_ms} gives a window of {win} samples "
                         f"and hop_ms={hop_ms} a hop of {hop}: need a window of at least 2 "
                         "samples and a hop of at least 1; give longer win_ms / hop_ms")
    n_fft = 1 << (win - 1).bit_length()
    spec = torch.stft(x, n_fft, hop_length=hop, win_length=win,
                      window=torch.hann_window(win), center=True, pad_mode="constant",
                      return_complex=True)  # (K, T)
    power = spec.abs().pow(2)
    mel = _cached_filterbank(n_mels, n_fft, rate, f_min, f_max) @ power  # (n_mels, T)
    return torch.log(mel + eps).T.contiguous()


def frame_times(n_frames: int, hop_ms: float = 10.0) -> Tensor:
    """The centre time (s) of each frame of :func:`log_mel`: ``t * hop_ms / 1000``."""
    return torch.arange(n_frames) * hop_ms / 1000


def normalise(features: Tensor) -> Tensor:
    """Per-utterance mean and variance normalisation: every band of a ``(T, F)`` utterance gets
    mean 0 and standard deviation 1 over its frames (a loud or bright voice, a far
    microphone shift a band's log energy by a constant, which this removes)."""
    if features.dim() != 2:
        raise ValueError(f"expected (time, bands), got shape {tuple(features.shape)}")
    mean = features.mean(0, keepdim=True)
    std = features.std(0, unbiased=False, keepdim=True)
    return (features - mean) / (std + 1e-5)


def spec_augment(x: Tensor, lengths: Tensor, freq_width: int = 8, time_width: int = 10,
                 n_freq: int = 1, n_time: int = 1,
                 generator: Optional[torch.Generator] = None) -> Tensor:
    """SpecAugment's masks (Park et al., 2019) on a padded batch ``(B, T, F)``: ``n_freq``
    bands of up to ``freq_width`` channels and ``n_time`` spans of up to ``time_width`` frames
    (at most a fifth of each utterance's ``lengths``) set to 0, the mean of normalised
    features. A copy is returned; the input is unchanged."""
    b, t, f = x.shape
    out = x.clone()
    steps = torch.arange(t)[None, :]
    bands = torch.arange(f)[None, :]
    for _ in range(n_freq):
        w = torch.randint(0, freq_width + 1, (b, 1), generator=generator)
        s = (torch.rand(b, 1, generator=generator) * (f - w + 1)).long()
        out.masked_fill_(((bands >= s) & (bands < s + w))[:, None, :], 0.0)
    for _ in range(n_time):
        cap = torch.minimum(torch.full((b,), time_width), lengths.cpu() // 5)[:, None]
        w = (torch.rand(b, 1, generator=generator) * (cap + 1)).long()
        s = (torch.rand(b, 1, generator=generator) * (lengths.cpu()[:, None] - w + 1)).long()
        out.masked_fill_(((steps >= s) & (steps < s + w))[:, :, None], 0.0)
    return out


def change_speed(wave: Wave, factor: float) -> Tensor:
    """The waveform played ``factor`` times faster (``factor > 1``: shorter and higher), by
    linear interpolation: ``y[n] = x(n * factor)``, ``floor((len - 1) / factor) + 1`` samples.
    Tempo, pitch and formants all scale by ``factor``, as with a tape run at another speed
    (the speed perturbation of Ko et al., 2015)."""
    x = _check_wave(wave)
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    pos = torch.arange(int((x.numel() - 1) / factor) + 1, dtype=torch.float64) * factor
    lo = pos.floor().long().clamp(max=x.numel() - 1)
    hi = (lo + 1).clamp(max=x.numel() - 1)
    frac = (pos - lo).float()
    return x[lo] * (1 - frac) + x[hi] * frac
