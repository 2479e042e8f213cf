"""rhpnet_core.gait results -> rhpnet/msg/GaitEvent and rhpnet/msg/RunningMetrics (and stamp helpers).

Missing numbers become NaN in the messages (a float field cannot be empty); `valid` and `reason`
say why. A RunningMetrics without an analysis (no keypoints, runner lost) has every metric NaN.
"""
from __future__ import annotations

import math

from builtin_interfaces.msg import Time
from std_msgs.msg import Header

from rhpnet.msg import GaitEvent, GaitMetric, RunningMetrics
from rhpnet_core.gait import METRICS, GaitAnalysis, Metric
from rhpnet_core.gait import GaitEvent as CoreGaitEvent

NAN = float("nan")
SIDE_CODES = {"left": GaitEvent.SIDE_LEFT, "right": GaitEvent.SIDE_RIGHT}
KIND_CODES = {"initial_contact": GaitEvent.TYPE_INITIAL_CONTACT, "toe_off": GaitEvent.TYPE_TOE_OFF}


def stamp_to_s(stamp: Time) -> float:
    return stamp.sec + 1e-9 * stamp.nanosec


def s_to_stamp(time_s: float) -> Time:
    sec = math.floor(time_s)
    nanosec = min(int(round((time_s - sec) * 1e9)), 999_999_999)
    return Time(sec=int(sec), nanosec=nanosec)


def _f(value: float | None) -> float:
    return NAN if value is None else float(value)


def metric_to_msg(metric: Metric) -> GaitMetric:
    msg = GaitMetric(value=_f(metric.value), iqr=_f(metric.iqr), n_strides=int(metric.n_strides),
                     min_kp_score=_f(metric.min_kp_score), interp_fraction=_f(metric.interp_fraction),
                     valid=bool(metric.valid), reason=metric.reason, per_side=bool(metric.sides),
                     symmetry_index_pct=_f(metric.symmetry_index_pct),
                     symmetry_angle_pct=_f(metric.symmetry_angle_pct))
    msg.side = SIDE_CODES.get(metric.side or "", GaitEvent.SIDE_LEFT)
    for side, side_metric in metric.sides.items():
        setattr(msg, f"{side}_value", _f(side_metric.value))
        setattr(msg, f"{side}_iqr", _f(side_metric.iqr))
        setattr(msg, f"{side}_n_strides", int(side_metric.n_strides))
        setattr(msg, f"{side}_valid", bool(side_metric.valid))
    if not metric.sides:
        for side in SIDE_CODES:
            setattr(msg, f"{side}_value", NAN)
            setattr(msg, f"{side}_iqr", NAN)
    return msg


def missing_metric(reason: str) -> GaitMetric:
    return GaitMetric(value=NAN, iqr=NAN, min_kp_score=NAN, interp_fraction=NAN, valid=False, reason=reason,
                      left_value=NAN, left_iqr=NAN, right_value=NAN, right_iqr=NAN,
                      symmetry_index_pct=NAN, symmetry_angle_pct=NAN)


def analysis_to_msg(analysis: GaitAnalysis, frame_id: str, belt_speed_mps: float | None,
                    valid: bool, reason: str) -> RunningMetrics:
    """The window's RunningMetrics; `valid`/`reason` are the node's verdict (the analysis's, plus
    walking and restarts)."""
    msg = RunningMetrics(
        header=Header(stamp=s_to_stamp(analysis.end_s), frame_id=frame_id), track_id=int(analysis.track_id),
        window_start=s_to_stamp(analysis.start_s), window_duration_s=float(analysis.end_s - analysis.start_s),
        valid=valid, reason=reason, walking_detected=bool(analysis.walking_detected), mode=analysis.mode,
        facing=analysis.facing, facing_quality=analysis.facing_quality, near_side=analysis.near_side,
        mirrored=bool(analysis.mirrored), fps=_f(analysis.fps),
        event_resolution_ms=1000.0 / analysis.fps if analysis.fps else NAN,
        scale_px_per_m=_f(analysis.scale_px_per_m), scale_source=analysis.scale_source,
        scale_consistency=_f(analysis.scale_consistency), leg_length_px=_f(analysis.leg_length_px),
        roll_deg=_f(analysis.roll_deg), belt_speed_mps=_f(belt_speed_mps),
        swap_corrections=int(analysis.swap_corrections), interp_fraction=_f(analysis.interp_fraction),
        accepted_strides_left=sum(s.accepted and s.side == "left" for s in analysis.strides),
        accepted_strides_right=sum(s.accepted and s.side == "right" for s in analysis.strides),
        rejected_strides=int(analysis.rejected_strides))
    for name in METRICS:
        setattr(msg, name, metric_to_msg(analysis.metrics[name]) if name in analysis.metrics
                else missing_metric("not computed"))
    return msg


def invalid_msg(stamp: Time, frame_id: str, track_id: int, reason: str, window_s: float,
                belt_speed_mps: float | None) -> RunningMetrics:
    """A RunningMetrics without numbers: nothing current to report (no keypoints, runner lost)."""
    msg = RunningMetrics(header=Header(stamp=stamp, frame_id=frame_id), track_id=track_id, window_start=stamp,
                         window_duration_s=0.0, valid=False, reason=reason, fps=NAN, event_resolution_ms=NAN,
                         scale_px_per_m=NAN, scale_consistency=NAN, leg_length_px=NAN, roll_deg=NAN,
                         belt_speed_mps=_f(belt_speed_mps), interp_fraction=NAN)
    for name in METRICS:
        setattr(msg, name, missing_metric(reason))
    return msg


def event_to_msg(event: CoreGaitEvent, frame_id: str, track_id: int, near_side: str) -> GaitEvent:
    return GaitEvent(header=Header(stamp=s_to_stamp(event.time_s), frame_id=frame_id), track_id=track_id,
                     side=SIDE_CODES[event.side], near_side=event.side == near_side,
                     type=KIND_CODES[event.kind], confidence=float(event.confidence),
                     accepted=bool(event.accepted))
