"""From per-leg IC/TO times to checked strides and steps (research spec §3.6): the running (or
walking) alternation check, gap checks, walking detection."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rhpnet_core.gait.events import SideEvents
from rhpnet_core.gait.types import Stride


@dataclass
class Step:
    """One step: contralateral IC -> IC of `side` (the landing leg); flight = IC - contralateral TO."""

    side: str
    start_s: float
    ic_s: float
    flight_s: float


def candidate_strides(side: str, ev: SideEvents, stride_s: float, gap_at) -> list[Stride]:
    """Consecutive ICs of one leg as strides, rejected when the period is implausible (a missed or
    extra contact: outside 0.6-1.5 T0) or an event sits in an unfilled gap (`gap_at(side, t)`)."""
    out = []
    for i in range(len(ev.ic_s) - 1):
        ic, to, nxt = ev.ic_s[i], ev.to_s[i], ev.ic_s[i + 1]
        reason = ""
        if not 0.6 * stride_s <= nxt - ic <= 1.5 * stride_s:
            reason = f"stride time {nxt - ic:.3f} s outside 0.6-1.5 x {stride_s:.3f} s"
        elif not ic < to < nxt:
            reason = "toe-off not between contacts"
        elif gap_at(side, ic) or gap_at(side, to) or gap_at(side, nxt):
            reason = "event in a keypoint gap"
        out.append(Stride(side, float(ic), float(to), float(nxt), reason == "", reason))
    return out


# Walking from events needs this many candidate strides; below it the double-support cue decides.
MIN_STRIDES_FOR_EVENT_WALKING = 3
DOUBLE_SUPPORT_WALKING = 0.3


def is_walking(strides: list[Stride], double_support: float | None) -> bool:
    """Duty factor >= 0.5 (no flight phase possible) in most candidate strides (Novacheck 1998); with
    too few strides (noisy walking ankles rarely give clean stance runs), double support instead."""
    df = [(s.to_s - s.ic_s) / (s.next_ic_s - s.ic_s) for s in strides if s.accepted]
    if len(df) >= MIN_STRIDES_FOR_EVENT_WALKING:
        return float(np.median(df)) >= 0.5
    return double_support is not None and double_support > DOUBLE_SUPPORT_WALKING


def double_support_ratio(ankle_drop_px: tuple[np.ndarray, np.ndarray], leg_px: float) -> float | None:
    """How often both feet are down when one is: P(both low) / min(P(left low), P(right low)).

    ankle_drop_px: per leg, (N,) ankle height below the pelvis (y_ankle − y_pelvis, px). "Low" = within
    the lowest 15 % of that leg's p5-p95 range. Pelvis-relative, so a panning camera does not matter.
    Synthetic runners 0-0.04 (flight: never both down), synthetic walker 0.64, the real sports2d walker
    0.65. None when a leg barely moves (< 0.05 leg lengths) or is missing."""
    lows = []
    for d in ankle_drop_px:
        ok = np.isfinite(d)
        if ok.sum() < 10:
            return None
        lo, hi = np.percentile(d[ok], [5, 95])
        if hi - lo < 0.05 * leg_px:
            return None
        lows.append(ok & (d >= hi - 0.15 * (hi - lo)))
    single = min(lows[0].mean(), lows[1].mean())
    return float((lows[0] & lows[1]).mean() / single) if single > 0 else None


def check_alternation(strides: list[Stride], other: SideEvents, walking: bool) -> None:
    """Reject (in place) strides whose contralateral events are not exactly one IC and one TO in the
    running order IC < TO < IC' < TO' < next IC (walking: IC < TO' < IC' < TO < next IC)."""
    for s in strides:
        if not s.accepted:
            continue
        ic_o = other.ic_s[(other.ic_s > s.ic_s) & (other.ic_s < s.next_ic_s)]
        to_o = other.to_s[(other.to_s > s.ic_s) & (other.to_s < s.next_ic_s)]
        if len(ic_o) != 1 or len(to_o) != 1:
            s.accepted, s.reason = False, f"{len(ic_o)} contralateral contacts and {len(to_o)} toe-offs in the stride"
            continue
        ic2, to2 = ic_o[0], to_o[0]
        order = (s.ic_s < to2 < ic2 < s.to_s < s.next_ic_s) if walking else (s.ic_s < s.to_s < ic2 < to2 < s.next_ic_s)
        if not order:
            s.accepted, s.reason = False, "events out of the " + ("walking" if walking else "running") + " order"


def steps_from(strides: list[Stride], other: SideEvents, other_side: str, walking: bool) -> list[Step]:
    """Both steps inside each accepted stride of one leg (so every step is counted once)."""
    steps = []
    for s in strides:
        if not s.accepted:
            continue
        inside = (other.ic_s > s.ic_s) & (other.ic_s < s.next_ic_s)
        if inside.sum() != 1:
            continue
        j = int(np.flatnonzero(inside)[0])
        ic2, to2 = other.ic_s[j], other.to_s[j]
        steps.append(Step(other_side, s.ic_s, float(ic2), float(ic2 - s.to_s)))
        steps.append(Step(s.side, float(ic2), s.next_ic_s, float(s.next_ic_s - to2)))
    return steps
