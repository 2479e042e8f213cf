"""Per-stride values -> Metric summaries (median, IQR, n) with the quality record (research spec §2),
and left/right symmetry when both legs pass quality."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rhpnet_core.gait.types import METRICS, Metric


@dataclass
class SideQuality:
    """Quality of one leg in the window: assessable (far leg gating), interpolated fraction and the
    lowest leg keypoint score at its accepted events."""

    assessable: bool = True
    reason: str = ""
    interp_fraction: float = 0.0
    min_kp_score: float | None = None


@dataclass
class Summarizer:
    """Builds Metrics with the window's shared quality fields."""

    fps: float
    near_side: str
    facing_quality: str
    swap_corrections: int
    scale_source: str
    min_strides: int
    sides: dict[str, SideQuality] = field(default_factory=dict)
    window_reason: str = ""

    def whole_body(self, name: str, values: list[float], needs: str = "", n_override: int | None = None) -> Metric:
        """A metric of the whole runner. `needs` = why it cannot be computed (e.g. "needs belt speed")."""
        unit = METRICS[name][0]
        q = self.sides.get(self.near_side, SideQuality())
        metric = self._summary(name, unit, [] if needs else values, q, needs)
        if n_override is not None and not needs:
            metric.n_strides = n_override
            metric.valid, metric.reason = self._validity(n_override, needs, q)
        metric.scale_source = self.scale_source if _uses_scale(name) else ""
        return metric

    def per_side(self, name: str, values: dict[str, list[float]], needs: str = "") -> Metric:
        """Headline = the near leg; `sides` holds both legs; symmetry when both are valid."""
        unit = METRICS[name][0]
        sides = {}
        for side in ("left", "right"):
            q = self.sides.get(side, SideQuality(False, "no events"))
            why = needs or ("" if q.assessable else q.reason)
            sides[side] = self._summary(name, unit, [] if why else values.get(side, []), q, why)
            sides[side].side = side
        near = sides[self.near_side]
        head = Metric(**{**near.__dict__, "sides": sides})
        left, right = sides["left"], sides["right"]
        if left.valid and right.valid and left.value is not None and right.value is not None:
            head.symmetry_index_pct = symmetry_index_pct(left.value, right.value)
            head.symmetry_angle_pct = symmetry_angle_pct(left.value, right.value)
        return head

    def _summary(self, name: str, unit: str, values: list[float], q: SideQuality, needs: str) -> Metric:
        vals = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        value = float(np.median(vals)) if len(vals) else None
        iqr = float(np.subtract(*np.percentile(vals, [75, 25]))) if len(vals) >= 2 else None
        valid, reason = self._validity(len(vals), needs, q)
        return Metric(
            name=name, unit=unit, value=value, iqr=iqr, n_strides=len(vals), fps=self.fps,
            event_resolution_ms=1000.0 / self.fps if self.fps else 0.0, min_kp_score=q.min_kp_score,
            interp_fraction=q.interp_fraction, swap_corrections=self.swap_corrections,
            scale_source=self.scale_source if _uses_scale(name) else "", facing_quality=self.facing_quality,
            valid=valid, reason=reason,
        )

    def _validity(self, n: int, needs: str, q: SideQuality) -> tuple[bool, str]:
        if self.window_reason:
            return False, self.window_reason
        if needs:
            return False, needs
        if n < self.min_strides:
            return False, f"{n} strides; need >= {self.min_strides} for a stable mean (Dingenen 2018)"
        return True, ""


def symmetry_index_pct(left: float, right: float) -> float | None:
    """Robinson 1987: 100·(R − L)/(0.5·(R + L)); None when R + L is ~0 (signed angles near zero)."""
    mean = 0.5 * (left + right)
    return 100.0 * (right - left) / mean if abs(mean) > 1e-9 else None


def symmetry_angle_pct(left: float, right: float) -> float | None:
    """Zifchock 2008: 100·(45° − atan(L/R))/90°; None unless L and R share a sign."""
    if left * right <= 0:
        return None
    return 100.0 * (45.0 - math.degrees(math.atan(left / right))) / 90.0


def _uses_scale(name: str) -> bool:
    return name.endswith(("_cm", "_m", "_mps")) or name in ("vertical_oscillation_pct_height", "vertical_ratio_pct")
