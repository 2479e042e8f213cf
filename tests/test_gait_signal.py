"""The signal chain pieces (research spec §4): gate, resample, un-swap, Hampel, gap fill, low-pass."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from rhpnet_core.gait.synthetic import Corruption, RunnerParams, make_run

from rhpnet_core.gait import GaitSettings
from rhpnet_core.gait.signal import apply_swap, fill_gaps, gate, hampel, lowpass, resample, unswap_legs

SWAP_COST = GaitSettings().swap_cost_leg_lengths


def test_gate_blanks_low_scores_and_weak_frames():
    kp = np.zeros((3, 17, 3))
    kp[..., 2] = 0.9
    kp[0, 5, 2] = 0.2  # one weak keypoint
    kp[1, :, 2] = 0.35  # a frame whose mean score is below 0.5
    kp[2, :12, 2] = 0.0  # a frame with < 30 % keypoints valid
    out = gate(kp, 0.3, 0.3, 0.5)
    assert np.isnan(out[0, 5, :2]).all() and np.isfinite(out[0, 6, :2]).all()
    assert np.isnan(out[1, :, :2]).all() and np.isnan(out[2, :, :2]).all()


def test_resample_turns_dropped_frames_into_gaps():
    times = np.array([0.0, 1 / 30, 2 / 30, 5 / 30, 6 / 30])  # frames 3 and 4 dropped
    kp = np.ones((5, 17, 3))
    grid, out = resample(times, kp, 30.0)
    assert len(grid) == 7
    assert np.isnan(out[3:5, :, :2]).all() and (out[3:5, :, 2] == 0).all()
    assert np.isfinite(out[[0, 1, 2, 5, 6], :, :2]).all()


def test_resample_rejects_decreasing_times_and_keeps_the_later_of_a_shared_stamp():
    with pytest.raises(ValueError, match="must not decrease"):
        resample(np.array([0.0, 0.1, 0.05]), np.ones((3, 17, 3)), 30.0)
    kp = np.stack([np.full((17, 3), v) for v in (1.0, 2.0, 3.0)])
    _, out = resample(np.array([0.0, 1 / 30, 1 / 30]), kp, 30.0)
    assert len(out) == 2 and out[1, 0, 0] == 3.0


def test_fill_gaps_only_short_interior_gaps():
    x = np.arange(20, dtype=float)
    x[[3]] = np.nan  # 1 sample: linear
    x[6:9] = np.nan  # 3 samples: PCHIP
    x[12:17] = np.nan  # 5 samples: too long for max_gap=3
    x[0] = np.nan  # end gap: never filled
    out, filled = fill_gaps(x, 3)
    assert out[3] == pytest.approx(3.0) and np.allclose(out[6:9], [6, 7, 8])
    assert np.isnan(out[12:17]).all() and np.isnan(out[0])
    assert filled.sum() == 4


def test_hampel_removes_a_spike_and_keeps_a_smooth_peak():
    t = np.linspace(0, 2, 61)
    x = 100 * np.sin(2 * np.pi * 0.5 * t)  # a stance-speed signal; swing-speed motion widens the MAD
    x[5] += 40
    out = hampel(x, 7, 3.0, sigma_floor=0.5)
    assert np.isnan(out[5])
    assert np.isfinite(np.delete(out, 5)).all()  # the sine's peaks at samples 15 and 45 stay


def test_lowpass_has_no_lag_and_passes_each_nan_free_run():
    fps = 60.0
    t = np.arange(300) / fps
    x = np.sin(2 * np.pi * 2.0 * t)
    x[150:153] = np.nan
    out = lowpass(x, fps, 10.0)
    assert np.isnan(out[150:153]).all()
    inner = np.r_[20:130, 170:280]  # away from the run ends
    assert np.max(np.abs(out[inner] - x[inner])) < 0.01  # 2 Hz passes a 10 Hz zero-lag filter unchanged
    assert np.argmax(out[20:80]) == np.argmax(x[20:80])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unswap_restores_swapped_frames(seed):
    params = RunnerParams(fps=30.0, duration_s=10.0)
    run = make_run(params, Corruption(noise_px=2.0, swap_rate=0.03, seed=seed))
    _, res = resample(run.times_s, gate(run.keypoints, 0.3, 0.3, 0.5), params.fps)
    found = unswap_legs(res[..., :2], params.leg_length_m * params.px_per_m, SWAP_COST)
    assert found[run.swapped].mean() >= 0.98
    assert (found & ~run.swapped).sum() <= 2


def test_unswap_introduces_no_swap_on_clean_data():
    params = RunnerParams(fps=60.0, duration_s=10.0)
    run = make_run(params)
    found = unswap_legs(run.keypoints[..., :2], params.leg_length_m * params.px_per_m, SWAP_COST)
    assert not found.any()
    swapped = apply_swap(run.keypoints, np.ones(len(run.keypoints), dtype=bool))
    assert np.array_equal(swapped[:, 15], run.keypoints[:, 16])


def test_unswap_survives_a_swap_ending_inside_a_gap():
    params = replace(RunnerParams(), fps=30.0, duration_s=6.0)
    run = make_run(params)
    kp = run.keypoints.copy()
    kp[60:70] = apply_swap(kp[60:70], np.ones(10, dtype=bool))
    kp[68:72, 11:17, :2] = np.nan  # the model's labels return while the legs are missing
    found = unswap_legs(kp[..., :2], params.leg_length_m * params.px_per_m, SWAP_COST)
    assert found[60:68].all() and not found[75:].any()
