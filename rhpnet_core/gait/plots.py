"""Report plots of a gait analysis (matplotlib Agg, PNG): joint angles over the normalised gait cycle,
per-stride metrics over time, stick figures at contact / mid-stance / toe-off.

Each function draws from a `GaitAnalysis` (its strides, events and per-frame `series`) and writes one
PNG; nothing here computes a metric the report shows as a number (those come from `analyze`).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rhpnet_core.gait.types import SIDES, GaitAnalysis, Stride  # noqa: E402
from rhpnet_core.keypoints import COCO_SKELETON  # noqa: E402

SIDE_COLOURS = {"left": "#1f77b4", "right": "#d62728"}
CYCLE_ANGLES = (("knee_flexion_deg", "Knee flexion (°)"), ("hip_flexion_deg", "Hip flexion (°)"),
                ("thigh_angle_deg", "Thigh angle (°)"), ("shank_angle_deg", "Shank angle (°)"),
                ("trunk_lean_deg", "Trunk lean (°)"))
CYCLE_POINTS = 101  # 0..100 % of the stride
DPI = 90

# (H, W, 3) uint8 RGB frame nearest to a time on the track clock, or None when no image exists.
FrameLookup = Callable[[float], "np.ndarray | None"]


def accepted_strides(analysis: GaitAnalysis, side: str) -> list[Stride]:
    return [s for s in analysis.strides if s.accepted and s.side == side]


def cycle_curves(analysis: GaitAnalysis, angle: str, side: str) -> np.ndarray:
    """(S, 101) the angle over each accepted stride of `side`, time-normalised IC -> next IC.
    `angle` is a SIDE_ANGLES name (the side's series) or "trunk_lean_deg"."""
    series = analysis.series
    key = angle if angle == "trunk_lean_deg" else f"{angle}_{side}"
    if series is None or key not in series.angles_deg:
        return np.empty((0, CYCLE_POINTS))
    values = series.angles_deg[key]
    curves = []
    for stride in accepted_strides(analysis, side):
        t = np.linspace(stride.ic_s, stride.next_ic_s, CYCLE_POINTS)
        inside = (series.times_s >= stride.ic_s - 1e-9) & (series.times_s <= stride.next_ic_s + 1e-9)
        if inside.sum() < 4 or np.isnan(values[inside]).any():
            continue  # a stride with an open gap has no complete curve
        curves.append(np.interp(t, series.times_s, values))
    return np.array(curves).reshape(-1, CYCLE_POINTS)


def plot_gait_cycle(analysis: GaitAnalysis, path: Path) -> Path:
    """Mean ± SD of each angle over the normalised gait cycle, per side; dashed line = mean toe-off."""
    fig, axes = plt.subplots(1, len(CYCLE_ANGLES), figsize=(15, 3.2), dpi=DPI, constrained_layout=True)
    cycle = np.linspace(0, 100, CYCLE_POINTS)
    for ax, (angle, label) in zip(axes, CYCLE_ANGLES):
        for side in SIDES:
            curves = cycle_curves(analysis, angle, side)
            if not len(curves):
                continue
            mean, sd = curves.mean(axis=0), curves.std(axis=0)
            near = side == analysis.near_side
            ax.plot(cycle, mean, color=SIDE_COLOURS[side], lw=2.0 if near else 1.2,
                    ls="-" if near else "--", label=f"{side} (n={len(curves)}){' near' if near else ''}")
            ax.fill_between(cycle, mean - sd, mean + sd, color=SIDE_COLOURS[side], alpha=0.2, lw=0)
            strides = accepted_strides(analysis, side)
            toe_off_pct = np.mean([100 * (s.to_s - s.ic_s) / (s.next_ic_s - s.ic_s) for s in strides])
            ax.axvline(toe_off_pct, color=SIDE_COLOURS[side], ls=":", lw=1)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("% of stride (contact → contact)")
        ax.set_xlim(0, 100)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.5, 0.5, "no complete stride", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def stride_series(analysis: GaitAnalysis) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-stride values (and the per-frame trunk lean) over time for the trend plot: name -> (times_s, values)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    near = analysis.near_side or "right"
    strides = accepted_strides(analysis, near)
    if strides:
        # Per near-side stride (OC compute_cadence: 120 / stride time): the far leg is often occluded.
        ic = np.array([s.ic_s for s in strides])
        out["cadence_spm"] = (ic, np.array([120.0 / (s.next_ic_s - s.ic_s) for s in strides]))
        out["ground_contact_time_ms"] = (ic, np.array([1000 * (s.to_s - s.ic_s) for s in strides]))
    series = analysis.series
    if series is None:
        return out
    knee = series.angles_deg.get(f"knee_flexion_deg_{near}")
    if knee is not None and strides:
        out["knee_flexion_at_ic_deg"] = (ic, np.interp(ic, series.times_s, knee))
    trunk = series.angles_deg.get("trunk_lean_deg")
    if trunk is not None and np.isfinite(trunk).any():
        out["trunk_lean_deg"] = (series.times_s, trunk)
    return out


TREND_LABELS = {"cadence_spm": "Cadence (steps/min)", "ground_contact_time_ms": "Contact time (ms)",
                "knee_flexion_at_ic_deg": "Knee flexion at contact (°)", "trunk_lean_deg": "Trunk lean (°)"}


def plot_trends(analysis: GaitAnalysis, path: Path) -> Path:
    """Cadence per step, contact time per stride, knee flexion at contact and trunk lean over time;
    the dashed line is the median `analyze` reports."""
    data = stride_series(analysis)
    fig, axes = plt.subplots(len(TREND_LABELS), 1, figsize=(10, 7), dpi=DPI, sharex=True, constrained_layout=True)
    for ax, (name, label) in zip(axes, TREND_LABELS.items()):
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
        if name not in data or not len(data[name][0]):
            ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
            continue
        t, v = data[name]
        ax.plot(t, v, "-" if name == "trunk_lean_deg" else "o-", ms=3, lw=1, color="#333333")
        ax.ticklabel_format(axis="y", useOffset=False)
        centre = float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0
        half = max(float(np.nanmax(np.abs(v - centre))) if np.isfinite(v).any() else 0.0, 1.0, 0.05 * abs(centre))
        ax.set_ylim(centre - 1.2 * half, centre + 1.2 * half)  # constant data: a readable, not a 1e-10 axis
        metric = analysis.metrics.get(name)
        if metric is not None and metric.value is not None:
            ax.axhline(metric.value, color="#2ca02c", ls="--", lw=1.5, label=f"median {metric.value:.1f}")
            ax.legend(fontsize=8, loc="upper right")
    axes[-1].set_xlabel("time (s)")
    return _save(fig, path)


def representative_stride(analysis: GaitAnalysis) -> Stride | None:
    """The near-side accepted stride whose contact time is the median one (ties: earliest); else any
    accepted, else any detected stride; None without strides."""
    strides = accepted_strides(analysis, analysis.near_side) if analysis.near_side else []
    strides = strides or [s for s in analysis.strides if s.accepted] or list(analysis.strides)
    if not strides:
        return None
    contact = np.array([s.to_s - s.ic_s for s in strides])
    return strides[int(np.argmin(np.abs(contact - np.median(contact))))]


def plot_snapshots(analysis: GaitAnalysis, path: Path, frame_at: FrameLookup | None = None) -> Path:
    """Stick figures (filtered keypoints, the positions every angle comes from) at contact, mid-stance
    and toe-off of a representative stride, on the real frame when `frame_at` gives one."""
    stride = representative_stride(analysis)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.6), dpi=DPI, constrained_layout=True)
    series = analysis.series
    if series is None or not len(series.times_s):
        for ax in axes:
            ax.axis("off")
        axes[1].text(0.5, 0.5, "no usable keypoints", ha="center", va="center", transform=axes[1].transAxes)
        return _save(fig, path)
    if stride is not None:
        moments = (("contact", stride.ic_s), ("mid-stance", 0.5 * (stride.ic_s + stride.to_s)), ("toe-off", stride.to_s))
    else:  # no stride: show who was analysed, at a quarter, half and three quarters of the track
        moments = tuple(("no stride", float(np.quantile(series.times_s, q))) for q in (0.25, 0.5, 0.75))
    side = stride.side if stride is not None else analysis.near_side or "right"
    for ax, (label, time_s) in zip(axes, moments):
        index = int(np.argmin(np.abs(series.times_s - time_s)))
        points = series.keypoints_px[index]
        frame = frame_at(float(series.times_s[index])) if frame_at is not None else None
        x0, y0, x1, y1 = _person_box(points)
        if frame is not None:
            ax.imshow(frame)
        else:
            ax.set_facecolor("#f4f4f4")
        for a, b in COCO_SKELETON:
            if np.isfinite(points[[a, b]]).all():
                side = "left" if a % 2 == 1 and b % 2 == 1 else "right" if a % 2 == 0 and b % 2 == 0 and a else None
                ax.plot(points[[a, b], 0], points[[a, b], 1], "-", lw=3,
                        color=SIDE_COLOURS.get(side, "#ffbf00"))
        ax.plot(points[:, 0], points[:, 1], "o", ms=4, color="white", mec="black")
        knee = series.angles_deg.get(f"knee_flexion_deg_{side}")
        knee_text = f", {side} knee {knee[index]:.0f}°" if knee is not None and np.isfinite(knee[index]) else ""
        ax.set_title(f"{label} (t = {series.times_s[index]:.2f} s){knee_text}", fontsize=10)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y1, y0)  # image y down
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, path)


def _person_box(points: np.ndarray, margin: float = 0.25) -> tuple[float, float, float, float]:
    """A square-ish crop around the finite keypoints (N, 2), `margin` of the person's height around."""
    finite = points[np.isfinite(points).all(axis=1)]
    if not len(finite):
        return 0.0, 0.0, 1.0, 1.0
    (x0, y0), (x1, y1) = finite.min(axis=0), finite.max(axis=0)
    size = max(x1 - x0, y1 - y0, 1.0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
