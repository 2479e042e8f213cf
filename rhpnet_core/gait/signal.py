"""The keypoint signal chain (research spec §4): gate -> resample -> L/R un-swap -> Hampel -> gap fill
-> zero-lag Butterworth. Arrays are (N, 17, 2) image-pixel positions with NaN for missing samples,
plus (N, 17) scores; every step keeps NaN where it has no evidence (gaps are never carried over).
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.interpolate import PchipInterpolator
from scipy.signal import butter, sosfiltfilt

LEG_PAIRS: tuple[tuple[int, int], ...] = ((11, 12), (13, 14), (15, 16))  # hip, knee, ankle (L, R)
LIMB_KEYPOINTS: tuple[int, ...] = (7, 8, 9, 10, 13, 14, 15, 16)  # elbows, wrists, knees, ankles
BUTTERWORTH_DOUBLE_PASS = 0.802  # Winter: cut-off correction for a 2nd-order filter run twice
EXCHANGED_FRAMES_PER_SWITCH = 25  # 25 exchanged frames cost as much as one label change; see unswap_legs


def gate(keypoints: np.ndarray, min_score: float, min_valid_fraction: float, min_mean_score: float) -> np.ndarray:
    """(T, 17, 3) -> (T, 17, 3) with x, y = NaN where score < min_score or x/y is not finite; whole
    frames blanked when fewer than `min_valid_fraction` keypoints pass or their mean score is below
    `min_mean_score` (spec §4.1, Sports2D defaults)."""
    out = np.array(keypoints, dtype=np.float64, copy=True)
    scores = np.nan_to_num(out[..., 2], nan=0.0)
    ok = (scores >= min_score) & np.all(np.isfinite(out[..., :2]), axis=-1)
    n_ok = ok.sum(axis=1)
    mean_score = np.where(n_ok > 0, (scores * ok).sum(axis=1) / np.maximum(n_ok, 1), 0.0)
    frame_ok = (n_ok >= min_valid_fraction * 17) & (mean_score >= min_mean_score)
    ok &= frame_ok[:, None]
    out[~ok, :2] = np.nan
    out[..., 2] = np.where(ok, scores, 0.0)
    return out


def resample(times_s: np.ndarray, keypoints: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Place frames on a uniform grid at `fps` from the first timestamp (nearest slot; a frame the stream
    dropped becomes an all-NaN slot). Returns grid times (N,) and (N, 17, 3) keypoints (score 0 where
    missing). Two frames in one slot (or with one stamp): the later wins. Times must not decrease."""
    if len(times_s) and np.any(np.diff(times_s) < 0):
        raise ValueError("KeypointTrack.times_s must not decrease (sort the frames by stamp)")
    slot = np.round((times_s - times_s[0]) * fps).astype(np.int64)
    n = int(slot[-1]) + 1
    grid = times_s[0] + np.arange(n) / fps
    out = np.full((n, 17, 3), np.nan)
    out[..., 2] = 0.0
    out[slot] = keypoints
    return grid, out


def unswap_legs(xy: np.ndarray, leg_px: float, cost_per_switch: float) -> np.ndarray:
    """(N,) bool: frames whose left/right leg labels should be exchanged (spec §3).

    Viterbi over the label state (kept / exchanged) with a constant-velocity prediction from the two
    previous frames (second-order chain: the state is the pair of consecutive labels). Emission cost =
    summed distance, in leg lengths, of hip, knee and ankle from their prediction; `cost_per_switch`
    (leg lengths) per label change, 1/EXCHANGED_FRAMES_PER_SWITCH of that per exchanged frame.
    """
    n = len(xy)
    if n < 3:
        return np.zeros(n, dtype=bool)
    left = xy[:, [p[0] for p in LEG_PAIRS]]
    right = xy[:, [p[1] for p in LEG_PAIRS]]
    labelled = np.stack([np.stack([left, right], 1), np.stack([right, left], 1)], 0)  # (2, N, 2 sides, 3, 2)
    # cost[t, c, a, b]: labels c at t-2, a at t-1, b at t.
    cost = np.zeros((n, 2, 2, 2))
    for c in range(2):
        for a in range(2):
            pred = 2 * labelled[a, 1:-1] - labelled[c, :-2]
            pred = np.where(np.isfinite(pred), pred, labelled[a, 1:-1])  # no t-2: zero velocity
            for b in range(2):
                d = np.linalg.norm(labelled[b, 2:] - pred, axis=-1)
                cost[2:, c, a, b] = np.nansum(d, axis=(1, 2)) / leg_px
    # The chain sees label *changes* only (a consistently exchanged track costs the same), so a return
    # to the model's labels hidden in a gap would leave the rest exchanged: a small per-frame cost for
    # the exchanged state pulls it back without evidence, and is outweighed by any real jump.
    cost[:, :, :, 1] += cost_per_switch / EXCHANGED_FRAMES_PER_SWITCH
    switch = cost_per_switch * np.array([[0.0, 1.0], [1.0, 0.0]])
    # best[a, b]: cheapest path ending with labels a (t-1), b (t).
    best = switch.copy()
    back = np.zeros((n, 2, 2), dtype=np.int8)
    for t in range(2, n):
        total = best[:, :, None] + cost[t] + switch[None, :, :]  # (c, a, b)
        back[t] = np.argmin(total, axis=0)
        best = np.min(total, axis=0)
    a, b = np.unravel_index(np.argmin(best), best.shape)
    states = np.zeros(n, dtype=bool)
    states[-1], states[-2] = b, a
    for t in range(n - 1, 1, -1):
        c = back[t, a, b]
        states[t - 2] = c
        a, b = c, a
    return states


def apply_swap(keypoints: np.ndarray, swapped: np.ndarray, pairs: tuple[tuple[int, int], ...] = LEG_PAIRS) -> np.ndarray:
    """(N, 17, C) with the L/R keypoints of `pairs` exchanged on `swapped` frames (a copy)."""
    out = keypoints.copy()
    for a, b in pairs:
        out[swapped, a], out[swapped, b] = keypoints[swapped, b], keypoints[swapped, a]
    return out


def collapsed_frames(xy: np.ndarray, leg_px: float, min_frames: int) -> np.ndarray:
    """(N,) bool: frames inside runs of >= `min_frames` where both knees and both ankles coincide
    (< 0.05 leg lengths): the model put the far leg on the near one (spec §3: set far side NaN)."""
    close = np.ones(len(xy), dtype=bool)
    for a, b in LEG_PAIRS[1:]:
        close &= np.linalg.norm(xy[:, a] - xy[:, b], axis=-1) < 0.05 * leg_px
    return _long_runs(close, min_frames)


def hampel(x: np.ndarray, window: int, n_sigmas: float, sigma_floor: float) -> np.ndarray:
    """(N, ...) -> (N, ...) with outliers set NaN: |x − rolling median| > n_sigmas·1.4826·MAD over a
    centred `window` (odd), σ at least `sigma_floor` (noise-free plateaus have MAD 0).

    The window is first detrended by its median frame-to-frame step: a swinging ankle moves tens of
    pixels per frame, and the plain Hampel's MAD of such a ramp (2 steps) would hide any outlier
    smaller than ~9 steps."""
    half = window // 2
    if len(x) < window:
        return x.copy()
    pad = [(half, half)] + [(0, 0)] * (x.ndim - 1)
    win = sliding_window_view(np.pad(x, pad, constant_values=np.nan), window, axis=0)  # (N, ..., window)
    steps = np.diff(np.pad(x, pad, constant_values=np.nan), axis=0)
    step_win = sliding_window_view(steps, window - 1, axis=0)  # (N, ..., window - 1)
    offsets = np.arange(-half, half + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: NaN is the answer
        slope = np.nan_to_num(np.nanmedian(step_win, axis=-1), nan=0.0)
        detrended = win - slope[..., None] * offsets
        med = np.nanmedian(detrended, axis=-1)
        mad = np.nanmedian(np.abs(detrended - med[..., None]), axis=-1)
        resid = np.abs(x - med)
        # A 7-sample MAD is itself noisy (it flags ~2 % of pure Gaussian noise at 3σ): σ is at least the
        # series' typical residual.
        typical = np.nan_to_num(1.4826 * np.nanmedian(resid, axis=0), nan=0.0)
    sigma = np.maximum(np.maximum(1.4826 * np.nan_to_num(mad, nan=0.0), typical), sigma_floor)
    out = x.copy()
    out[resid > n_sigmas * sigma] = np.nan
    return out


def fill_gaps(x: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Fill interior NaN runs of <= `max_gap` samples in a 1-D series: linear for 1-2 samples, PCHIP
    for longer (spec §4.5); end gaps and longer gaps stay NaN. Returns (filled, was_filled mask)."""
    out = x.copy()
    filled = np.zeros(len(x), dtype=bool)
    valid = np.isfinite(x)
    if valid.sum() < 2 or valid.all():
        return out, filled
    idx = np.flatnonzero(valid)
    runs = _runs(~valid)
    pchip = None
    for start, stop in runs:
        length = stop - start
        if start == 0 or stop == len(x) or length > max_gap:
            continue
        where = np.arange(start, stop)
        if length <= 2:
            out[where] = np.interp(where, idx, x[idx])
        else:
            if pchip is None:
                pchip = PchipInterpolator(idx, x[idx])
            out[where] = pchip(where)
        filled[where] = True
    return out, filled


def lowpass(x: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Zero-lag 2nd-order Butterworth run forward and back (sosfiltfilt), cut-off corrected for the
    double pass (/0.802), along axis 0 of x (N, ...), on each NaN-free run longer than the filter's
    pad length; shorter runs stay raw."""
    wn = min(cutoff_hz / (fps / 2) / BUTTERWORTH_DOUBLE_PASS, 0.99)
    sos = butter(2, wn, output="sos")
    pad = 3 * (2 * len(sos) + 1)
    flat = x.reshape(len(x), -1)
    out = flat.copy()
    whole = np.isfinite(flat).all(axis=0)
    if len(x) > pad and whole.any():  # the common case, all columns at once
        out[:, whole] = sosfiltfilt(sos, flat[:, whole], axis=0)
    by_run: dict[tuple[int, int], list[int]] = {}  # x and y of a keypoint share their gaps: filter together
    for col in np.flatnonzero(~whole):
        for start, stop in _runs(np.isfinite(flat[:, col])):
            if stop - start > pad:
                by_run.setdefault((start, stop), []).append(col)
    for (start, stop), cols in by_run.items():
        out[start:stop, cols] = sosfiltfilt(sos, flat[start:stop, cols], axis=0)
    return out.reshape(x.shape)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a 1-D bool mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _long_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    out = np.zeros_like(mask)
    for start, stop in _runs(mask):
        if stop - start >= min_len:
            out[start:stop] = True
    return out

