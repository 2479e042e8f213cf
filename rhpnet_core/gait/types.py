"""The gait library's data: what goes into `analyze` and what comes out.

Conventions (docs/gait.md has the full table): image x right, y down, pixels; times in seconds on the
stream's clock (ROS header stamps live, video/bag time offline); sides are the strings "left"/"right"
(the runner's anatomical side as the pose model labels it); angles in degrees; every name carries
its unit. A value that cannot be measured is `None` (never NaN), with the reason in `reason`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Side = Literal["left", "right"]
EventKind = Literal["initial_contact", "toe_off"]
SIDES: tuple[str, str] = ("left", "right")

# Every metric analyze() reports: spec name -> (unit, per_side). Per-side metrics carry a headline
# value (the near side, see docs/gait.md "near side first") plus one Metric per side in `sides`.
METRICS: dict[str, tuple[str, bool]] = {
    "cadence_spm": ("steps/min", False),
    "step_time_s": ("s", True),
    "stride_time_s": ("s", True),
    "ground_contact_time_ms": ("ms", True),
    "flight_time_ms": ("ms", True),
    "duty_factor": ("1", True),
    "step_length_m": ("m", False),
    "speed_mps": ("m/s", False),
    "knee_flexion_at_ic_deg": ("deg", True),
    "peak_knee_flexion_stance_deg": ("deg", True),
    "peak_knee_flexion_swing_deg": ("deg", True),
    "shank_angle_at_ic_deg": ("deg", True),
    "thigh_angle_at_ic_deg": ("deg", True),
    "thigh_angle_at_to_deg": ("deg", True),
    "hip_flexion_at_ic_deg": ("deg", True),
    "overstride_norm": ("leg lengths", True),
    "overstride_cm": ("cm", True),
    "trunk_lean_deg": ("deg", False),
    "vertical_oscillation_cm": ("cm", False),
    "vertical_oscillation_norm": ("leg lengths", False),
    "vertical_oscillation_pct_height": ("%", False),
    "vertical_ratio_pct": ("%", False),
}

# Per-frame angle series in GaitSeries.angles_deg: "trunk_lean_deg" plus "<angle>_<side>" for these.
SIDE_ANGLES: tuple[str, ...] = ("knee_flexion_deg", "thigh_angle_deg", "shank_angle_deg", "hip_flexion_deg")


@dataclass
class KeypointTrack:
    """One person's COCO-17 keypoints over time, as the pose pipeline produced them.

    times_s: (T,) non-decreasing timestamps in seconds (any origin; gaps where frames were dropped are
        expected and become NaN gaps after resampling; of frames sharing a stamp the later is used).
    keypoints: (T, 17, 3) x, y in image pixels and score in [0, 1]; NaN x/y allowed (missing).
    track_id: the tracker id of this person (-1 unknown); carried through to the output.
    """

    times_s: np.ndarray
    keypoints: np.ndarray
    track_id: int = -1

    def __post_init__(self) -> None:
        self.times_s = np.asarray(self.times_s, dtype=np.float64).reshape(-1)
        self.keypoints = np.asarray(self.keypoints, dtype=np.float64)
        if self.keypoints.ndim != 3 or self.keypoints.shape[1:] != (17, 3):
            raise ValueError(f"keypoints shape {self.keypoints.shape}; expected (T, 17, 3) COCO-17 x, y, score")
        if not np.all(np.isfinite(self.times_s)):
            raise ValueError("KeypointTrack.times_s has NaN/inf stamps; expected finite seconds")
        if len(self.times_s) != len(self.keypoints):
            raise ValueError(f"{len(self.times_s)} timestamps for {len(self.keypoints)} keypoint frames; "
                             "expected one timestamp per frame")

    def __len__(self) -> int:
        return len(self.times_s)


@dataclass
class GaitSettings:
    """What is known about the rig and the runner, and the algorithm's thresholds (spec defaults).

    Rig knowledge (None / "auto" = estimate from the track and report how well it was estimated):
    fps: nominal camera rate in Hz; the resampling grid. None = from the median timestamp step.
    belt_speed_mps: treadmill belt speed; gives speed, step length and the px/m scale (best source).
    runner_height_m: gives the px/m scale from leg length (0.491 H, Winter) when no belt speed.
    facing: "right" (runner faces image +x), "left", or "auto" (decided once per window).
    near_side: the camera-facing leg, "left"/"right"/"auto" (auto: from facing, checked by scores).
    roll_deg: camera roll (floor-line slope) in degrees, positive = floor line rising to image right
        (counter-clockwise as seen); None = fit from stance ankles.
    mode: "treadmill", "overground" or "auto" (auto: pelvis image speed decides).
    """

    fps: float | None = None
    belt_speed_mps: float | None = None
    runner_height_m: float | None = None
    facing: Literal["auto", "left", "right"] = "auto"
    near_side: Literal["auto", "left", "right"] = "auto"
    roll_deg: float | None = None
    mode: Literal["auto", "treadmill", "overground"] = "auto"
    # Signal chain (spec §4).
    min_keypoint_score: float = 0.3
    min_frame_valid_fraction: float = 0.3
    min_frame_mean_score: float = 0.5
    swap_cost_leg_lengths: float = 1.0  # spec: 0.5; see docs/gait.md
    hampel_window_s: float = 0.1
    hampel_sigmas: float = 3.0
    max_gap_limb_s: float = 0.10
    max_gap_trunk_s: float = 0.20
    cutoff_angles_hz: float = 10.0  # spec: 6 Hz; see docs/gait.md
    cutoff_events_hz: float = 10.0
    # Events and quality (spec §2, §3).
    ic_offset_ms: float = 0.0
    to_offset_ms: float = 0.0
    far_side_min_valid_fraction: float = 0.8
    min_strides_valid: int = 7

    def __post_init__(self) -> None:
        for name, allowed in (("facing", ("auto", "left", "right")), ("near_side", ("auto", "left", "right")),
                              ("mode", ("auto", "treadmill", "overground"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"GaitSettings.{name}={getattr(self, name)!r}; expected one of {allowed}")
        for name in ("fps", "belt_speed_mps", "runner_height_m"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"GaitSettings.{name}={value!r}; expected a positive number or None")


@dataclass
class GaitEvent:
    """One detected gait event.

    time_s: sub-frame event time on the track's clock (threshold crossing interpolated between frames),
        per-rig offsets (ic_offset_ms / to_offset_ms) applied.
    side: the leg ("left"/"right"). kind: "initial_contact" or "toe_off".
    confidence: 0..1, min keypoint score of the leg at the event times the fraction of non-interpolated
        frames around it.
    accepted: False when its stride failed the alternation check or touched a gap (still reported, so
        event streams stay complete; metrics use accepted strides only).
    """

    time_s: float
    side: Side
    kind: EventKind
    confidence: float
    accepted: bool = True


@dataclass
class Stride:
    """One stride of one leg: initial contact, toe-off, next initial contact of the same leg (s)."""

    side: Side
    ic_s: float
    to_s: float
    next_ic_s: float
    accepted: bool
    reason: str = ""


@dataclass
class Metric:
    """One metric: the median over accepted strides in the window, with its spread and quality record.

    value: the number in `unit`, or None when not assessable (reason says why).
    iqr: interquartile range across strides/steps (same unit), None with fewer than 2.
    side: which leg the headline value is from (per-side metrics), None for whole-body metrics.
    sides: per-side Metrics ("left"/"right") for per-side metrics, empty otherwise.
    symmetry_index_pct: 100·(R−L)/(0.5·(R+L)) (Robinson 1987), only when both sides are valid.
    symmetry_angle_pct: 100·(45° − atan(L/R))/90° (Zifchock 2008), only when both sides are valid.
    Quality record (spec §2): n_strides (accepted strides or steps used), fps, event_resolution_ms
    (= 1000/fps), min_kp_score (lowest score of the keypoints the metric uses, at its events),
    interp_fraction (fraction of the used frames that were gap-filled), swap_corrections (L/R label
    changes applied in the window), scale_source ("belt", "height", "none", or "" if no scale is
    needed), facing_quality ("rig", "high", "low"), valid (enough strides and all gates passed),
    reason (why not valid; "" when valid).
    """

    name: str
    unit: str
    value: float | None
    iqr: float | None = None
    side: Side | None = None
    sides: dict[str, "Metric"] = field(default_factory=dict)
    symmetry_index_pct: float | None = None
    symmetry_angle_pct: float | None = None
    n_strides: int = 0
    fps: float = 0.0
    event_resolution_ms: float = 0.0
    min_kp_score: float | None = None
    interp_fraction: float = 0.0
    swap_corrections: int = 0
    scale_source: str = ""
    facing_quality: str = ""
    valid: bool = False
    reason: str = ""

    def to_json(self) -> dict:
        """A strict-JSON dict (no NaN/inf: non-finite numbers become null) of every field."""
        out = {
            "value": _finite(self.value), "unit": self.unit, "iqr": _finite(self.iqr), "side": self.side,
            "n_strides": self.n_strides, "fps": _finite(self.fps),
            "event_resolution_ms": _finite(self.event_resolution_ms),
            "min_kp_score": _finite(self.min_kp_score), "interp_fraction": _finite(self.interp_fraction),
            "swap_corrections": self.swap_corrections, "scale_source": self.scale_source,
            "facing_quality": self.facing_quality, "valid": self.valid, "reason": self.reason,
        }
        if self.sides:
            out["symmetry_index_pct"] = _finite(self.symmetry_index_pct)
            out["symmetry_angle_pct"] = _finite(self.symmetry_angle_pct)
            for side, metric in self.sides.items():
                out[side] = metric.to_json()
        return out


@dataclass
class GaitSeries:
    """Per-frame signals on the uniform resampled grid, for plots and the stick-figure video.

    times_s: (N,) uniform grid (1/fps spacing) covering the track.
    keypoints_px: (N, 17, 2) positions after gating, un-swapping, outlier removal, gap filling and the
        6 Hz low-pass (the positions every angle is computed from); NaN where a gap stays open.
    angles_deg: (N,) arrays: "trunk_lean_deg" and "<angle>_<side>" for angle in SIDE_ANGLES,
        side in ("left", "right"); NaN where not computable.
    swapped: (N,) bool, frames whose L/R labels the un-swapper exchanged.
    interpolated: (N, 17) bool, keypoint samples filled by gap filling.
    """

    times_s: np.ndarray
    keypoints_px: np.ndarray
    angles_deg: dict[str, np.ndarray]
    swapped: np.ndarray
    interpolated: np.ndarray


@dataclass
class GaitAnalysis:
    """Everything `analyze` found in one window of one runner.

    metrics: spec name -> Metric for every name in METRICS (value None when not assessable).
    events: every IC/TO detected, time-ordered (accepted and rejected; see GaitEvent.accepted).
    strides: per-leg strides (IC -> TO -> next IC), accepted and rejected.
    rejected_strides: candidate strides that failed the alternation/gap checks.
    walking_detected: duty factor >= 0.5 in most strides, or with fewer than 3 strides both feet often
        down together (double_support_ratio > 0.3) (not running: running metrics are still computed
        but findings must be suppressed).
    valid: the window as a whole is usable (enough accepted strides on the near side, a runner
        found, facing decided); reason says why not.
    facing: "left"/"right"/"" (undecided); facing_quality: "rig" (from settings), "high" (two cues
        agree), "low". near_side: "left"/"right"/"". mirrored: near-side scores contradict facing
        (a mirrored stream; labels swapped in the analysis). mode: "treadmill"/"overground".
    fps: the resampling rate (Hz). scale_px_per_m / scale_source ("belt", "height", "none");
        scale_consistency: k_belt / k_height when both exist. leg_length_px: near-side p90 thigh+shank.
    roll_deg: camera roll used. swap_corrections: frames relabelled L/R. interp_fraction: fraction
        of leg keypoint samples gap-filled. start_s / end_s: the analysed window on the track clock.
    track_id: from the input track. series: per-frame signals (None when no frame survived gating).
    cadence_spectral_spm: 120 / stride period from the spectrum of the ankle reach (0.6-1.9 Hz), the
        spec's cross-check of the event cadence (independent of events; None without a rhythm).
    double_support_ratio: P(both ankles low) / P(one ankle low), pelvis-relative: ~0 running (flight),
        ~0.6 walking; decides walking_detected when fewer than 3 strides have events.
    """

    metrics: dict[str, Metric]
    events: list[GaitEvent]
    strides: list[Stride]
    rejected_strides: int
    walking_detected: bool
    valid: bool
    reason: str
    facing: str
    facing_quality: str
    near_side: str
    mirrored: bool
    mode: str
    fps: float
    scale_px_per_m: float | None
    scale_source: str
    scale_consistency: float | None
    leg_length_px: float | None
    roll_deg: float
    swap_corrections: int
    interp_fraction: float
    start_s: float
    end_s: float
    track_id: int = -1
    series: GaitSeries | None = None
    cadence_spectral_spm: float | None = None
    double_support_ratio: float | None = None

    def final_events(self, margin_s: float = 0.5) -> list[GaitEvent]:
        """Events at least `margin_s` before the window end: final in a sliding-window live analysis
        (the zero-lag filter and the event lookahead cannot move them any more)."""
        return [e for e in self.events if e.time_s <= self.end_s - margin_s]

    def to_json(self) -> dict:
        """The metrics.json content: strict JSON (no NaN), each metric under its spec name as an object
        with `value` and its quality fields, plus the window-level flags and rig estimates."""
        out: dict = {
            "valid": self.valid, "reason": self.reason, "walking_detected": self.walking_detected,
            "track_id": self.track_id, "start_s": _finite(self.start_s), "end_s": _finite(self.end_s),
            "fps": _finite(self.fps), "mode": self.mode, "facing": self.facing,
            "facing_quality": self.facing_quality, "near_side": self.near_side, "mirrored": self.mirrored,
            "scale_px_per_m": _finite(self.scale_px_per_m), "scale_source": self.scale_source,
            "scale_consistency": _finite(self.scale_consistency), "leg_length_px": _finite(self.leg_length_px),
            "roll_deg": _finite(self.roll_deg), "swap_corrections": self.swap_corrections,
            "interp_fraction": _finite(self.interp_fraction), "rejected_strides": self.rejected_strides,
            "accepted_strides": {side: sum(s.accepted and s.side == side for s in self.strides) for side in SIDES},
            "n_events": len(self.events), "cadence_spectral_spm": _finite(self.cadence_spectral_spm),
            "double_support_ratio": _finite(self.double_support_ratio),
        }
        for name, metric in self.metrics.items():
            out[name] = metric.to_json()
        return out


def _finite(value: float | None) -> float | None:
    """A JSON-safe float: None for None/NaN/inf."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
