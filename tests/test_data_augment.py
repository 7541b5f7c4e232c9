"""Speech augmentation (``rnnkit.data.augment`` and VTLP in ``rnnkit.data.features``), each held to what it promises:
the SNR it is asked for, a tone moved by the speed factor or the warp factor, masks of the sizes SpecAugment draws —
measured on the signals with NumPy, not with the code under test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data.augment import add_noise, spec_augment, speed_perturb, synthetic_noise
from rnnkit.data.features import LogMel, mel_filterbank, vtlp_warp

RATE = 16000


def tone(f0: float, seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    return np.sin(2 * np.pi * f0 * np.arange(int(rate * seconds)) / rate).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("snr", [0.0, 5.0, 20.0])
def test_noise_is_added_at_the_signal_to_noise_ratio_asked_for(snr):
    x = tone(440.0)
    noise = np.random.default_rng(0).standard_normal(3000).astype(np.float32)  # shorter: tiled to the signal
    y = add_noise(x, noise, snr)
    added = y - x
    assert len(y) == len(x)
    assert 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(added.astype(np.float64) ** 2)) == \
        pytest.approx(snr, abs=1e-3)
    np.testing.assert_allclose(added[:3000] / added[3000:6000], 1.0, rtol=1e-3)  # the noise repeats, scaled once


def test_silence_is_left_as_it_is():
    silence = np.zeros(1000, np.float32)
    assert np.array_equal(add_noise(silence, np.ones(1000, np.float32), 10.0), silence)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturbation_moves_a_tone_and_the_length_by_the_factor(factor):
    x = tone(1000.0)
    y = speed_perturb(x, RATE, factor)
    assert len(y) == pytest.approx(len(x) / factor, abs=2)  # plays factor times faster
    assert peak_hz(y) == pytest.approx(1000.0 * factor, abs=2.0)  # pitch moves with it
    assert speed_perturb(x, RATE, 1.0) is x


def test_brown_noise_is_a_rumble_and_white_noise_is_flat():
    kinds = {}
    for seed in range(8):
        n = synthetic_noise(RATE, torch.Generator().manual_seed(seed))
        power = np.abs(np.fft.rfft(n)) ** 2
        low, high = power[1:len(power) // 16].mean(), power[len(power) // 2:].mean()
        kinds.setdefault("brown" if low > 100 * high else "white", []).append(low / high)
    assert set(kinds) == {"brown", "white"}  # both kinds are drawn
    assert all(0.5 < r < 2 for r in kinds["white"])


def test_spec_augment_zeroes_bands_and_spans_no_wider_than_asked_and_nothing_else():
    features = torch.randn(200, 80) + 5  # no zeros of its own
    kept = features.clone()
    g = torch.Generator().manual_seed(3)
    out = spec_augment(features, g, freq_masks=2, freq_width=15, time_masks=2, time_width=20)
    zero = out == 0
    assert torch.equal(out[~zero], features[~zero]) and torch.equal(features, kept)  # a copy: the input is kept
    bands = zero.all(0).nonzero().flatten().tolist()  # whole mel bands masked
    frames = zero.all(1).nonzero().flatten().tolist()  # whole frames masked
    assert torch.equal(zero, zero.all(0)[None, :] | zero.all(1)[:, None])  # every zero is in a masked band or frame
    assert len(bands) <= 2 * 15 and len(frames) <= 2 * 20
    again = spec_augment(features, torch.Generator().manual_seed(3), 2, 15, 2, 20)
    assert torch.equal(out, again)  # the same draws from the same seed


def test_the_vtlp_warp_is_linear_below_its_boundary_and_keeps_nyquist():
    f = torch.tensor([0.0, 1000.0, 4000.0, 8000.0], dtype=torch.float64)
    # α = 1.1: boundary 4,800 / 1.1 ≈ 4,364 Hz, so 1,000 → 1,100 and 4,000 → 4,400; Nyquist stays 8,000
    torch.testing.assert_close(vtlp_warp(f, 1.1, RATE), torch.tensor([0.0, 1100.0, 4400.0, 8000.0],
                                                                    dtype=torch.float64))
    # α = 0.9: boundary 4,800 Hz; 4,000 → 3,600
    torch.testing.assert_close(vtlp_warp(f, 0.9, RATE), torch.tensor([0.0, 900.0, 3600.0, 8000.0],
                                                                    dtype=torch.float64))
    # above the boundary: the line from (f_b, α f_b) to (8000, 8000); 6,000 Hz at α = 1.1 by hand
    fb = 4800 / 1.1
    assert float(vtlp_warp(torch.tensor([6000.0]), 1.1, RATE)) == pytest.approx(
        8000 - (8000 - 1.1 * fb) * (8000 - 6000) / (8000 - fb))
    for rate in (8000, 16000, 44100):  # increasing at any sample rate (4,800 Hz lies above 8 kHz audio's Nyquist)
        grid = torch.linspace(0, rate / 2, 2001, dtype=torch.float64)
        assert all(bool((vtlp_warp(grid, a, rate).diff() > 0).all()) for a in (0.8, 0.9, 1.1, 1.2))


@pytest.mark.parametrize("alpha", [0.9, 1.1])
@pytest.mark.parametrize("f0", [300.0, 1000.0, 2500.0])
def test_a_warped_filterbank_hears_a_tone_where_a_tone_alpha_times_higher_would_be(alpha, f0):
    logmel = LogMel(RATE, 80)
    warped, _ = logmel(torch.from_numpy(tone(f0))[None], None, [alpha])
    moved, _ = logmel(torch.from_numpy(tone(alpha * f0))[None])
    plain, _ = logmel(torch.from_numpy(tone(f0))[None])
    frame = 50
    assert int(warped[0, frame].argmax()) == int(moved[0, frame].argmax()) != int(plain[0, frame].argmax())


def test_vtlp_factors_apply_per_utterance_and_one_is_no_warp():
    logmel = LogMel(RATE, 40)
    batch = torch.from_numpy(np.stack([tone(700.0), tone(1500.0)]))
    both, _ = logmel(batch, None, [1.0, 1.1])
    plain, _ = logmel(batch)
    second, _ = logmel(batch[1:], None, [1.1])
    torch.testing.assert_close(both[0], plain[0])
    torch.testing.assert_close(both[1], second[0])
    torch.testing.assert_close(mel_filterbank(RATE, 512, 40, alpha=1.0), mel_filterbank(RATE, 512, 40))
    with pytest.raises(ValueError, match="2 waveforms"):
        logmel(batch, None, [1.1])
    with pytest.raises(ValueError, match="must be positive"):
        mel_filterbank(RATE, 512, 40, alpha=0.0)


def test_training_batches_draw_a_vtlp_factor_per_utterance_and_epoch_and_repeat_them():
    from rnnkit.tasks.speech import ASROptions, SpeechCollate, SpeechSet
    from rnnkit.tasks.transcriber import Featurizer

    waves = [tone(f) for f in (400.0, 900.0, 1800.0)]
    data = SpeechSet(waves, [[1], [2], [3]], ["a", "b", "c"], augment=True)
    featurizer = Featurizer(RATE, 40)
    plain = dict(data="unused", speed_perturb=False, noise=0.0, spec_augment=False)
    items = [data[i] for i in range(3)]
    off, _, _, _ = SpeechCollate(featurizer, ASROptions(**plain), data)(items)
    torch.testing.assert_close(off, featurizer(waves)[0])  # vtlp=0 (the default): the features as they were
    collate = SpeechCollate(featurizer, ASROptions(vtlp=0.1, **plain), data)
    first, _, _, _ = collate(items)
    assert all(not torch.allclose(first[b], off[b]) for b in range(3))
    torch.testing.assert_close(collate(items)[0], first)  # the same (seed, epoch, utterance): the same warps
    data.epoch = 1
    assert not torch.allclose(collate(items)[0], first)  # another epoch, other warps
    evaluation = SpeechSet(waves, [[1], [2], [3]], ["a", "b", "c"], augment=False)
    torch.testing.assert_close(collate([evaluation[i] for i in range(3)])[0], off)  # never outside training
    with pytest.raises(ValueError, match="vtlp"):
        ASROptions(data="unused", vtlp=0.5)
