"""What the track says about the rig (research spec §1): camera roll, facing, near side, mode, leg
length. Inputs are (N, 17, 2) image-pixel positions (NaN = missing), y down."""
from __future__ import annotations

import math
import warnings

import numpy as np

NOSE, L_EAR, R_EAR = 0, 3, 4
LEG = {"left": (11, 13, 15), "right": (12, 14, 16)}


def pelvis(xy: np.ndarray) -> np.ndarray:
    """(N, 2) mid-hip point (one hip when the other is missing)."""
    return _nanmean2(xy[:, 11], xy[:, 12])


def shoulders(xy: np.ndarray) -> np.ndarray:
    """(N, 2) mid-shoulder point."""
    return _nanmean2(xy[:, 5], xy[:, 6])


def rotate(xy: np.ndarray, roll_deg: float) -> np.ndarray:
    """Undo a camera roll of `roll_deg` (+ = floor rising to image right): rotate points about the
    image origin so the floor line becomes horizontal. (..., 2) -> (..., 2)."""
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    x, y = xy[..., 0], xy[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def fit_roll_deg(xy: np.ndarray, iterations: int = 3) -> float | None:
    """Floor-line roll from the lowest ankle samples (the stance feet; cf. Sports2D compute_floor_line).
    None when too few low ankle samples or too little horizontal spread to fit a line."""
    ankles = np.concatenate([xy[:, 15], xy[:, 16]])
    ankles = ankles[np.all(np.isfinite(ankles), axis=1)]
    if len(ankles) < 20:
        return None
    roll = 0.0
    for _ in range(iterations):
        level = rotate(ankles, roll)
        low = level[:, 1] >= np.percentile(level[:, 1], 80)
        x, y = level[low, 0], level[low, 1]
        if len(x) < 10 or np.ptp(x) < 1e-6 or np.ptp(x) < 4 * np.std(y):
            return None
        slope = np.polyfit(x, y, 1)[0]
        roll += -math.degrees(math.atan(slope))
    return roll


def leg_length_px(xy: np.ndarray, side: str) -> float | None:
    """p90 over frames of thigh + shank length in px (p90: foreshortening only ever shortens)."""
    hip, knee, ankle = (xy[:, i] for i in LEG[side])
    length = np.linalg.norm(hip - knee, axis=-1) + np.linalg.norm(knee - ankle, axis=-1)
    length = length[np.isfinite(length)]
    return float(np.percentile(length, 90)) if len(length) >= 10 else None


def pelvis_speed_legs_per_s(xy: np.ndarray, fps: float, leg_px: float) -> float:
    """Median horizontal pelvis image speed (signed, leg lengths/s): ~0 on a treadmill."""
    vx = np.gradient(pelvis(xy)[:, 0]) * fps / leg_px
    vx = vx[np.isfinite(vx)]
    return float(np.median(vx)) if len(vx) else 0.0


def facing_cues(xy: np.ndarray, fps: float, leg_px: float, overground: bool) -> dict[str, int]:
    """The three facing votes of spec §1, each +1 (faces image +x), -1, or 0 (no evidence):
    nose ahead of the ears; stance-foot (treadmill) or pelvis (overground) motion; knees bending
    forward of the hip-ankle line."""
    cues = {}
    ears = _nanmean2(xy[:, L_EAR], xy[:, R_EAR])
    dx = xy[:, NOSE, 0] - ears[:, 0]
    dx = dx[np.isfinite(dx)]
    cues["nose_ears"] = int(np.sign(np.median(dx))) if len(dx) >= 5 else 0
    if overground:
        cues["motion"] = int(np.sign(pelvis_speed_legs_per_s(xy, fps, leg_px)))
    else:
        votes = []
        for side in LEG:
            ank = xy[:, LEG[side][2]]
            vx = np.gradient(ank[:, 0]) * fps
            y = ank[:, 1]
            ok = np.isfinite(vx) & np.isfinite(y)
            if ok.sum() >= 10:
                low = ok & (y >= np.percentile(y[ok], 80))
                votes.append(np.median(vx[low]))
        # The stance foot travels backwards with the belt.
        cues["motion"] = int(-np.sign(np.median(votes))) if votes else 0
    offsets = []
    for side in LEG:
        hip, knee, ankle = (xy[:, i] for i in LEG[side])
        with np.errstate(all="ignore"):
            frac = (knee[:, 1] - hip[:, 1]) / (ankle[:, 1] - hip[:, 1])
        offsets.append(knee[:, 0] - (hip[:, 0] + frac * (ankle[:, 0] - hip[:, 0])))
    off = np.concatenate(offsets)
    off = off[np.isfinite(off) & (np.abs(off) > 0.02 * leg_px)]
    cues["knee_forward"] = int(np.sign(np.median(off))) if len(off) >= 10 else 0
    return cues


def decide_facing(cues: dict[str, int]) -> tuple[int, str]:
    """(sign, quality): majority of the non-zero cues; "high" when at least two agree and none
    disagrees, else "low"; (0, "low") when the cues cancel or none exists."""
    votes = [v for v in cues.values() if v]
    total = sum(votes)
    if total == 0:
        return 0, "low"
    sign = 1 if total > 0 else -1
    agree = sum(v == sign for v in votes)
    return sign, "high" if agree >= 2 and agree == len(votes) else "low"


def side_score(scores: np.ndarray, side: str) -> float:
    """Mean score of a side's hip, knee, ankle over the frames where the person was seen."""
    seen = scores.max(axis=1) > 0
    if not seen.any():
        return 0.0
    return float(scores[seen][:, list(LEG[side])].mean())


def _nanmean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # both missing: NaN is the answer
        return np.nanmean(np.stack([a, b]), axis=0)
