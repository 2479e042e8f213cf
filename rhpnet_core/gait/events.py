"""Initial contact and toe-off per leg (research spec §3), on the event copy of the positions
(10 Hz low-pass), in a roll-corrected frame, facing sign applied.

Two stages: pelvis-relative ankle reach peaks segment the strides (Zeni/Stenum style); an ankle
height + horizontal velocity stance mask places contact and toe-off near each reach peak. The
event time inside the frame comes from the height profile next to the plateau (see `_touchdown_time`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import find_peaks, periodogram

from rhpnet_core.gait.signal import _runs

STRIDE_BAND_HZ = (0.6, 1.9)
# Sub-frame event fit (_touchdown_time): frames beside the plateau up to this fraction of the swing
# lift, and at least this many of them (up to 0.6 of the lift) when few frames fall below it (30 fps).
FIT_MAX_LIFT = 0.35
FIT_MIN_OUTSIDE_FRAMES = 3


@dataclass
class SideEvents:
    """Events of one leg: sub-frame times (s) of matched IC/TO pairs (one per stance), and the
    stance mask used. ic_s[i] and to_s[i] belong to the same stance. reach_peaks_s: times of the
    pelvis-relative reach maxima (the Zeni-style stride segmentation, frame resolution)."""

    ic_s: np.ndarray
    to_s: np.ndarray
    stance: np.ndarray
    reach_peaks_s: np.ndarray = field(default_factory=lambda: np.zeros(0))


def stride_period_s(signals: list[np.ndarray], fps: float) -> float | None:
    """Stride period from the PSD peak of the pelvis-relative ankle reach, 0.6-1.9 Hz (spec §3.2).
    signals: (N,) series with NaN; gaps are bridged linearly for the spectrum only."""
    power, freqs = None, None
    for x in signals:
        ok = np.isfinite(x)
        if ok.sum() < 2 * fps:
            continue
        idx = np.arange(len(x))
        filled = np.interp(idx, idx[ok], x[ok])[ok.argmax():len(x) - ok[::-1].argmax()]
        nfft = max(8 * len(x), 4096)  # same for every signal: the spectra add
        f, p = periodogram(filled, fs=fps, nfft=nfft, detrend="linear")
        power, freqs = (p if power is None else power + p), f
    if power is None:
        return None
    band = (freqs >= STRIDE_BAND_HZ[0]) & (freqs <= STRIDE_BAND_HZ[1])
    if not band.any() or power[band].max() <= 0:
        return None
    return float(1.0 / freqs[band][np.argmax(power[band])])


def detect_side(times_s: np.ndarray, ankle: np.ndarray, pelvis: np.ndarray, facing: int, leg_px: float,
                fps: float, stride_s: float, overground: bool, filled: np.ndarray | None = None) -> SideEvents:
    """IC/TO of one leg. ankle, pelvis: (N, 2) levelled image px, low-passed (NaN allowed); stride_s:
    period T0; filled: (N,) bool, ankle samples made up by gap filling (kept out of the sub-frame fit)."""
    n = len(times_s)
    reach = facing * (ankle[:, 0] - pelvis[:, 0]) / leg_px
    y = ankle[:, 1]
    ok = np.isfinite(y) & np.isfinite(reach)
    empty = SideEvents(np.zeros(0), np.zeros(0), np.zeros(n, dtype=bool))
    if ok.sum() < 2 * fps:
        return empty
    w = facing * np.gradient(ankle[:, 0]) * fps / leg_px  # forward ankle velocity, leg lengths/s
    floor = np.percentile(y[ok], 95)
    stance = np.zeros(n, dtype=bool)
    for _ in range(2):  # the second pass levels the floor on the first pass's stance frames
        h = (floor - y) / leg_px
        amp = np.percentile(h[ok], 95) - np.percentile(h[ok], 5)
        low = ok & (h <= 0.2 * amp)
        if overground:
            pelvis_w = np.abs(np.nanmedian(np.gradient(pelvis[:, 0]))) * fps / leg_px
            moving = np.abs(w) <= 0.25 * pelvis_w
        else:
            belt_w = -np.nanmedian(w[low]) if low.any() else 0.0
            # A belt too slow to see (walking in place, a stopped belt): height alone.
            moving = w <= -0.5 * belt_w if belt_w > 0.05 else np.ones(n, dtype=bool)
        stance = low & np.nan_to_num(moving, nan=0).astype(bool)
        stance = _close_single_holes(stance, ok)
        if stance.sum() >= 3:
            floor = float(np.median(y[stance]))
    h = (floor - y) / leg_px
    h_fit = h if filled is None else np.where(filled, np.nan, h)
    runs = [(a, b) for a, b in _runs(stance) if 0.08 * fps <= b - a <= 0.8 * stride_s * fps]
    filled = np.where(ok, reach, np.interp(np.arange(n), np.flatnonzero(ok), reach[ok]))
    spread = np.percentile(reach[ok], 95) - np.percentile(reach[ok], 5)
    peaks, _ = find_peaks(filled, distance=max(1.0, 0.6 * stride_s * fps), prominence=0.3 * spread)
    ics, tos, used = [], [], set()
    for p in peaks:
        if not ok[p]:
            continue
        lo_t, hi_t = p - 0.1 * stride_s * fps, p + 0.5 * stride_s * fps
        for i, (a, b) in enumerate(runs):
            if i not in used and lo_t <= a <= hi_t:
                used.add(i)
                ic = _event_time(times_s, h_fit, h, a, -1, b - a, amp, fps)
                to = _event_time(times_s, h_fit, h, b - 1, +1, b - a, amp, fps)
                if ic is not None and to is not None and to > ic:
                    ics.append(ic)
                    tos.append(to)
                break
    return SideEvents(np.array(ics), np.array(tos), stance, times_s[peaks[ok[peaks]]])


def _event_time(times_s: np.ndarray, h_measured: np.ndarray, h_filled: np.ndarray, edge: int, direction: int,
                run_len: int, amp: float, fps: float) -> float | None:
    """The hinge fit on measured samples; on gap-filled ones too when a gap hides the lift-off or
    touchdown (the stride is still checked for unfilled gaps later)."""
    t = _touchdown_time(times_s, h_measured, edge, direction, run_len, amp, fps)
    return t if t is not None else _touchdown_time(times_s, h_filled, edge, direction, run_len, amp, fps)


def _touchdown_time(times_s: np.ndarray, h: np.ndarray, edge: int, direction: int, run_len: int, amp: float,
                    fps: float) -> float | None:
    """Sub-frame time where the ankle height profile beside a stance plateau meets the floor.

    edge: the first (IC, direction -1) or last (TO, direction +1) frame of a stance run of `run_len`
    frames. Near touchdown and lift-off the height grows about quadratically with time (zero vertical
    velocity at the event, as in the spec's synthetic runner), so we fit the hinge
    h = b + c·max(0, ±(t − t_e))² by least squares to the whole plateau and the frames beside it up to
    FIT_MAX_LIFT of the lift (at least FIT_MIN_OUTSIDE_FRAMES of them), with t_e on a 1/20-frame grid
    within 2 frames of the edge. All those frames vote, so pixel noise moves the event far less than a
    threshold crossing; the spec's 0.2·amp crossing lands ~3 frames off at 60 fps for this profile.
    """
    n = len(h)
    idx = [k for k in range(edge - (run_len - 1) * direction, edge + direction, direction) if 0 <= k < n]
    k, outside = edge + direction, 0
    while 0 <= k < n and abs(k - edge) <= 0.3 * fps:
        if np.isfinite(h[k]):  # missing or gap-filled frames are skipped, not fitted
            if not (h[k] <= FIT_MAX_LIFT * amp or (outside < FIT_MIN_OUTSIDE_FRAMES and h[k] <= 0.6 * amp)):
                break
            idx.append(k)
            outside += 1
        k += direction
    idx = np.array(sorted(i for i in idx if np.isfinite(h[i])))
    if len(idx) < 4 or outside < 1:  # a plateau ending in a gap: no event
        return None
    t, y = times_s[idx], h[idx]
    t_e = times_s[edge] + np.arange(-2.0, 2.0001, 0.05) / fps  # (C,) candidate event times
    x = np.maximum(0.0, direction * (t[None, :] - t_e[:, None])) ** 2  # (C, n)
    xc, yc = x - x.mean(axis=1, keepdims=True), y - y.mean()
    sxx, sxy = (xc**2).sum(axis=1), (xc * yc).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
        sse = (yc**2).sum() - slope * sxy  # residual of the least-squares line y = b + slope·x
    sse = np.where((sxx > 0) & (slope > 0), sse, np.inf)
    return float(t_e[np.argmin(sse)]) if np.isfinite(sse).any() else None


def _close_single_holes(mask: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Fill 1-frame False holes between True frames (spec §3.4), where data exists."""
    out = mask.copy()
    hole = ~mask[1:-1] & mask[:-2] & mask[2:] & ok[1:-1]
    out[1:-1] |= hole
    return out
