"""`analyze`: one window of one runner's keypoint track -> events, strides and metrics with quality.

Order (research spec §3-4): gate -> resample -> camera roll -> L/R un-swap -> facing, near side ->
collapsed far leg -> Hampel -> gap fill -> 6 Hz (angles) and 10 Hz (events) zero-lag copies ->
events -> strides (alternation check) -> scale -> metrics. The node runs this same function on a
sliding window; reports run it on the whole recording.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from rhpnet_core.gait import angles as ang
from rhpnet_core.gait import rig
from rhpnet_core.gait.events import SideEvents, detect_side, stride_period_s
from rhpnet_core.gait.metrics import SideQuality, Summarizer
from rhpnet_core.gait.signal import (
    LIMB_KEYPOINTS, apply_swap, collapsed_frames, fill_gaps, gate, hampel, lowpass, resample, unswap_legs,
)
from rhpnet_core.gait.strides import (
    Step, candidate_strides, check_alternation, double_support_ratio, is_walking, steps_from,
)
from rhpnet_core.gait.types import (
    METRICS, SIDE_ANGLES, SIDES, GaitAnalysis, GaitEvent, GaitSeries, GaitSettings, KeypointTrack, Metric, Stride,
)

WINTER_LEG_RATIO = 0.491  # thigh 0.245 H + shank 0.246 H
MIN_TRACK_S = 2.0


def analyze(track: KeypointTrack, settings: GaitSettings | None = None) -> GaitAnalysis:
    """Analyse one runner's track (offline: the whole recording; live: the node's sliding window).

    Never raises on bad data (too short, no runner, all NaN): returns `valid=False` with a reason and
    None values. Raises ValueError only for malformed inputs (shapes, settings, decreasing times);
    frames sharing a stamp keep the later one.
    """
    settings = settings or GaitSettings()
    times = track.times_s
    start = float(times[0]) if len(times) else 0.0
    end = float(times[-1]) if len(times) else 0.0
    if np.any(np.diff(times) < 0):
        raise ValueError("KeypointTrack.times_s must not decrease (sort the frames by stamp)")
    if len(times) < 3 or end - start < MIN_TRACK_S:
        return _invalid(track, settings, f"track spans {end - start:.2f} s; need >= {MIN_TRACK_S} s", 0.0)
    steps = np.diff(times)
    fps = settings.fps or 1.0 / float(np.median(steps[steps > 0]))

    gated = gate(track.keypoints, settings.min_keypoint_score, settings.min_frame_valid_fraction,
                 settings.min_frame_mean_score)
    grid, res = resample(times, gated, fps)
    xy_img, scores = res[..., :2], res[..., 2]
    seen = np.isfinite(xy_img).all(-1).any(-1)
    if seen.sum() < MIN_TRACK_S * fps / 2:
        return _invalid(track, settings, f"runner seen in {int(seen.sum())} of {len(grid)} frames after the "
                        f"score gate ({settings.min_keypoint_score})", fps, grid)

    roll = settings.roll_deg if settings.roll_deg is not None else (rig.fit_roll_deg(xy_img) or 0.0)
    xy = rig.rotate(xy_img, roll)
    leg_px = _pooled_leg_px(xy)
    if leg_px is None or leg_px <= 0:
        return _invalid(track, settings, "legs (hip, knee, ankle) not visible in enough frames", fps, grid)

    swapped = unswap_legs(xy, leg_px, settings.swap_cost_leg_lengths)
    xy, scores = apply_swap(xy, swapped), apply_swap(scores, swapped)

    overground = _is_overground(settings, xy, fps, leg_px)
    facing, facing_quality = _facing(settings, xy, fps, leg_px, overground)
    if facing == 0:
        return _invalid(track, settings, "facing undecided (nose/ears, foot motion and knee cues disagree or are "
                        "missing); set GaitSettings.facing", fps, grid, roll=roll)
    near, mirrored = _near_side(settings, facing, scores)
    far = "left" if near == "right" else "right"

    collapse = collapsed_frames(xy, leg_px, max(4, round(0.1 * fps)))
    for j in rig.LEG[far][1:]:
        xy[collapse, j] = np.nan

    # Far leg assessable only if its knee and its ankle each pass gating in >= 80 % of the frames the runner is seen.
    far_ok = np.isfinite(xy[:, list(rig.LEG[far][1:])]).all(-1)  # (N, 2): knee, ankle
    far_fraction = float(far_ok[seen].mean(axis=0).min())

    window = 2 * round(settings.hampel_window_s * fps) + 1
    xy = hampel(xy, window, settings.hampel_sigmas, sigma_floor=0.005 * leg_px)
    missing = ~np.isfinite(xy).all(-1)  # (N, 17) before filling: unfilled gaps reject strides
    interp = np.zeros(missing.shape, dtype=bool)
    for j in range(17):
        max_gap = round((settings.max_gap_limb_s if j in LIMB_KEYPOINTS else settings.max_gap_trunk_s) * fps)
        for c in range(2):
            xy[:, j, c], filled = fill_gaps(xy[:, j, c], max_gap)
            interp[:, j] |= filled
    still_missing = ~np.isfinite(xy).all(-1)

    fc_events = min(settings.cutoff_events_hz, 0.4 * fps)
    xy_a = lowpass(xy, fps, settings.cutoff_angles_hz)
    xy_e = lowpass(xy, fps, fc_events)

    series = _series(grid, xy_a, facing, roll, swapped, interp)
    leg_near = rig.leg_length_px(xy_a, near) or leg_px
    pelvis_e = rig.pelvis(xy_e)
    reach = [facing * (xy_e[:, rig.LEG[s][2], 0] - pelvis_e[:, 0]) / leg_near for s in SIDES]
    stride_s = stride_period_s(reach, fps)
    base = dict(track=track, settings=settings, fps=fps, grid=grid, roll=roll, facing=facing,
                facing_quality=facing_quality, near=near, mirrored=mirrored, overground=overground,
                swapped=swapped, interp=interp, series=series, leg_px=leg_near)
    if stride_s is None:
        return _finish(**base, events={}, strides=[], walking=False,
                       reason="no stride rhythm (0.6-1.9 Hz) in the ankle motion", xy_a=xy_a, xy_e=xy_e,
                       scores=scores, far_fraction=far_fraction, missing=still_missing)

    events = {s: detect_side(grid, xy_e[:, rig.LEG[s][2]], pelvis_e, facing, leg_near, fps, stride_s, overground,
                             filled=interp[:, rig.LEG[s][2]])
              for s in SIDES}
    offset = {"ic": settings.ic_offset_ms / 1000.0, "to": settings.to_offset_ms / 1000.0}
    for ev in events.values():
        ev.ic_s += offset["ic"]
        ev.to_s += offset["to"]

    def gap_at(side: str, t: float) -> bool:
        """The ankle is missing (an unfilled gap) in a frame bracketing time t."""
        k = int(np.floor((t - grid[0]) * fps))
        return bool(still_missing[max(k, 0):min(k + 2, len(grid)), rig.LEG[side][2]].any())

    far_assessable = far_fraction >= settings.far_side_min_valid_fraction
    strides = {s: candidate_strides(s, events[s], stride_s, gap_at) for s in SIDES}
    pel_a = rig.pelvis(xy_a)
    double_support = double_support_ratio(tuple(xy_a[:, rig.LEG[s][2], 1] - pel_a[:, 1] for s in SIDES), leg_near)
    walking = is_walking(strides[near], double_support)
    if far_assessable:
        for s in SIDES:
            check_alternation(strides[s], events["left" if s == "right" else "right"], walking)
    else:
        strides[far] = []
        events[far] = SideEvents(np.zeros(0), np.zeros(0), events[far].stance)
    return _finish(**base, events=events, strides=strides[near] + strides[far], walking=walking, reason="",
                   xy_a=xy_a, xy_e=xy_e, scores=scores, far_fraction=far_fraction, missing=still_missing,
                   stride_s=stride_s, double_support=double_support)


def _finish(*, track, settings, fps, grid, roll, facing, facing_quality, near, mirrored, overground, swapped,
            interp, series, leg_px, events, strides, walking, reason, xy_a, xy_e, scores, far_fraction, missing,
            stride_s=None, double_support=None) -> GaitAnalysis:
    far = "left" if near == "right" else "right"
    far_assessable = far_fraction >= settings.far_side_min_valid_fraction
    accepted = {s: [st for st in strides if st.side == s and st.accepted] for s in SIDES}
    steps = steps_from(accepted[near], events.get(far, SideEvents(np.zeros(0), np.zeros(0), np.zeros(0, bool))),
                       far, walking) if far_assessable else []

    scale, scale_source, consistency = _scale(settings, xy_e, fps, near, accepted[near], grid, leg_px)
    swap_corrections = int(swapped.sum())
    window_reason = reason
    if not window_reason and len(accepted[near]) < settings.min_strides_valid:
        window_reason = (f"{len(accepted[near])} accepted strides on the near ({near}) leg; need >= "
                         f"{settings.min_strides_valid}")
    qualities = {}
    for s in SIDES:
        legs = list(rig.LEG[s])
        frames = _stride_frames(accepted[s], grid, fps)
        q = SideQuality(
            assessable=(s == near) or far_assessable,
            reason="" if (s == near or far_assessable) else
            f"far ({s}) leg visible in {100 * far_fraction:.1f} % of frames; need >= "
            f"{100 * settings.far_side_min_valid_fraction:.0f} %",
            interp_fraction=float(interp[frames][:, legs].mean()) if frames.any() else 0.0,
            min_kp_score=_min_score_at(scores, legs, [st.ic_s for st in accepted[s]], grid, fps))
        qualities[s] = q
    summ = Summarizer(fps=fps, near_side=near, facing_quality=facing_quality, swap_corrections=swap_corrections,
                      scale_source=scale_source, min_strides=settings.min_strides_valid, sides=qualities,
                      window_reason=reason)
    near_ev = events.get(near)
    reach_strides = _reach_stride_times(near_ev.reach_peaks_s, stride_s) if near_ev is not None and stride_s else []
    metrics = _metrics(summ, settings, accepted, steps, xy_a, xy_e, series, grid, fps, facing, leg_px, scale,
                       near, far_assessable, overground, reach_strides)

    ev_list = []
    stride_of = {(st.side, round(st.ic_s, 9)): st.accepted for st in strides}
    for s, ev in events.items():
        for ic, to in zip(ev.ic_s, ev.to_s):
            ok = stride_of.get((s, round(float(ic), 9)), False)
            conf = _event_confidence(scores, interp, rig.LEG[s], ic, grid, fps)
            ev_list.append(GaitEvent(float(ic), s, "initial_contact", conf, ok))
            ev_list.append(GaitEvent(float(to), s, "toe_off", _event_confidence(scores, interp, rig.LEG[s], to, grid,
                                                                                fps), ok))
    ev_list.sort(key=lambda e: e.time_s)
    leg_samples = interp[:, [j for s in SIDES for j in rig.LEG[s]]]
    return GaitAnalysis(
        metrics=metrics, events=ev_list, strides=sorted(strides, key=lambda s: s.ic_s),
        rejected_strides=sum(not s.accepted for s in strides), walking_detected=walking,
        valid=not window_reason, reason=window_reason, facing="right" if facing > 0 else "left",
        facing_quality=facing_quality, near_side=near, mirrored=mirrored,
        mode="overground" if overground else "treadmill", fps=fps, scale_px_per_m=scale, scale_source=scale_source,
        scale_consistency=consistency, leg_length_px=leg_px, roll_deg=roll, swap_corrections=swap_corrections,
        interp_fraction=float(leg_samples.mean()), start_s=float(track.times_s[0]), end_s=float(track.times_s[-1]),
        track_id=track.track_id, series=series, cadence_spectral_spm=120.0 / stride_s if stride_s else None,
        double_support_ratio=double_support)


def _metrics(summ: Summarizer, settings: GaitSettings, accepted: dict[str, list[Stride]], steps: list[Step],
             xy_a: np.ndarray, xy_e: np.ndarray, series: GaitSeries, grid: np.ndarray, fps: float, facing: int,
             leg_px: float, scale: float | None, near: str, far_ok: bool, overground: bool,
             reach_strides: list[float]) -> dict[str, Metric]:
    at = lambda key, t: float(np.interp(t, grid, series.angles_deg[key], left=np.nan, right=np.nan))  # noqa: E731
    out: dict[str, Metric] = {}
    per = {name: {s: [] for s in SIDES} for name, (_, sided) in METRICS.items() if sided}
    pel_a = rig.pelvis(xy_a)
    for s, strides in accepted.items():
        ank = xy_a[:, rig.LEG[s][2], 0]
        knee = series.angles_deg[f"knee_flexion_deg_{s}"]
        for st in strides:
            stride_t = st.next_ic_s - st.ic_s
            per["stride_time_s"][s].append(stride_t)
            per["ground_contact_time_ms"][s].append(1000.0 * (st.to_s - st.ic_s))
            per["duty_factor"][s].append((st.to_s - st.ic_s) / stride_t)
            per["knee_flexion_at_ic_deg"][s].append(at(f"knee_flexion_deg_{s}", st.ic_s))
            per["peak_knee_flexion_stance_deg"][s].append(_peak(knee, grid, st.ic_s, st.to_s))
            per["peak_knee_flexion_swing_deg"][s].append(_peak(knee, grid, st.to_s, st.next_ic_s))
            per["shank_angle_at_ic_deg"][s].append(at(f"shank_angle_deg_{s}", st.ic_s))
            per["thigh_angle_at_ic_deg"][s].append(at(f"thigh_angle_deg_{s}", st.ic_s))
            per["thigh_angle_at_to_deg"][s].append(at(f"thigh_angle_deg_{s}", st.to_s))
            per["hip_flexion_at_ic_deg"][s].append(at(f"hip_flexion_deg_{s}", st.ic_s))
            reach_px = facing * float(np.interp(st.ic_s, grid, ank - pel_a[:, 0]))
            per["overstride_norm"][s].append(reach_px / leg_px)
            if scale:
                per["overstride_cm"][s].append(100.0 * reach_px / scale)
    for st in steps:
        per["step_time_s"][st.side].append(st.ic_s - st.start_s)
        per["flight_time_ms"][st.side].append(1000.0 * st.flight_s)
    no_scale = "" if scale else "needs a scale (belt speed or runner height)"
    for name, (_, sided) in METRICS.items():
        if sided:
            needs = no_scale if name == "overstride_cm" else ""
            if name in ("step_time_s", "flight_time_ms") and not far_ok:
                needs = "needs both legs (far leg not assessable)"
            out[name] = summ.per_side(name, per[name], needs)

    # Cadence from the mean step (or stride) time: contiguous events telescope, so the frame jitter of
    # each event cancels inside a run of steps, where a median of per-step times keeps it.
    step_times = [st.ic_s - st.start_s for st in steps]
    near_strides = [st.next_ic_s - st.ic_s for st in accepted[near]]
    if step_times:
        out["cadence_spm"] = summ.whole_body("cadence_spm", [60.0 / t for t in step_times],
                                             n_override=len(step_times) // 2)
        out["cadence_spm"].value = 60.0 / float(np.mean(step_times))
    elif near_strides:  # near leg only: OC compute_cadence, 120 / stride time
        out["cadence_spm"] = summ.whole_body("cadence_spm", [120.0 / t for t in near_strides])
        out["cadence_spm"].value = 120.0 / float(np.mean(near_strides))
    else:  # no stance phases (walking ankles barely lift; a panning camera): Zeni-style reach peaks
        out["cadence_spm"] = summ.whole_body("cadence_spm", [120.0 / t for t in reach_strides])
        if reach_strides:
            out["cadence_spm"].value = 120.0 / float(np.mean(reach_strides))
            out["cadence_spm"].valid = False
            out["cadence_spm"].reason = ("from pelvis-relative ankle reach peaks (Zeni 2008), no stance phases "
                                         "found; " + (out["cadence_spm"].reason or "not validated for running"))

    belt = settings.belt_speed_mps
    if overground:
        speeds = _overground_speeds(xy_e, accepted[near], grid, fps, scale)
        out["speed_mps"] = summ.whole_body("speed_mps", speeds, needs="" if scale else no_scale)
        lengths = _overground_step_px(xy_a, steps, grid, facing)
        out["step_length_m"] = summ.whole_body("step_length_m", [v / scale for v in lengths] if scale else [],
                                               needs="" if scale else no_scale, n_override=len(lengths) // 2)
    else:
        need_belt = "" if belt else "needs the belt speed (treadmill)"
        out["speed_mps"] = summ.whole_body("speed_mps", [belt] * len(accepted[near]) if belt else [],
                                           needs=need_belt, n_override=len(accepted[near]))
        lengths_m = [belt * t for t in step_times] if belt else []
        out["step_length_m"] = summ.whole_body("step_length_m", lengths_m,
                                               needs=need_belt or ("" if step_times else "needs both legs"),
                                               n_override=len(step_times) // 2)

    trunk = series.angles_deg["trunk_lean_deg"]
    lean = [_mean_between(trunk, grid, st.ic_s, st.next_ic_s) for st in accepted[near]]
    out["trunk_lean_deg"] = summ.whole_body("trunk_lean_deg", lean)

    # Vertical oscillation: peak-to-peak of the pelvis height's periodic part at the step period
    # (3 harmonics fitted over the accepted steps, or near-leg strides when the far leg is unusable).
    # Per-step max - min (the spec's) is biased up by pixel noise; averaging event-aligned steps is
    # biased down by event jitter; the fit is neither. Per-step ranges still give the IQR.
    pel_y = rig.pelvis(xy_e)[:, 1]
    spans = [(st.start_s, st.ic_s) for st in steps] or [(st.ic_s, st.next_ic_s) for st in accepted[near]]
    vo_px = [_range_between(pel_y, grid, a, b) for a, b in spans]
    n_vo = len(steps) // 2 if steps else len(accepted[near])
    step_period = float(np.mean(step_times)) if step_times else (float(np.mean(near_strides)) / 2 if near_strides
                                                                   else None)
    measured = np.where(series.interpolated[:, [11, 12]].any(axis=1), np.nan, pel_y)  # PCHIP flattens peaks
    vo_mean_px = _periodic_range(measured, grid, spans, step_period) if step_period else None
    vo_summary = {"vertical_oscillation_norm": (1.0 / leg_px, ""),
                  "vertical_oscillation_cm": ((100.0 / scale, "") if scale else (0.0, no_scale))}
    for name, (factor, needs) in vo_summary.items():
        out[name] = summ.whole_body(name, [v * factor for v in vo_px], needs=needs, n_override=n_vo)
        if not needs and vo_mean_px is not None:
            out[name].value = vo_mean_px * factor
    height = settings.runner_height_m
    vo_cm, length_m = out["vertical_oscillation_cm"].value, out["step_length_m"].value
    out["vertical_oscillation_pct_height"] = summ.whole_body(
        "vertical_oscillation_pct_height", [], needs="" if vo_cm is not None and height else
        "needs the runner height and a scale", n_override=n_vo)
    if vo_cm is not None and height:
        out["vertical_oscillation_pct_height"].value = vo_cm / height
    out["vertical_ratio_pct"] = summ.whole_body(
        "vertical_ratio_pct", [], needs="" if vo_cm is not None and length_m else
        "needs step length (belt speed or overground, both legs) and a scale", n_override=n_vo)
    if vo_cm is not None and length_m:
        out["vertical_ratio_pct"].value = vo_cm / length_m
    return {name: out[name] for name in METRICS}


def _invalid(track: KeypointTrack, settings: GaitSettings, reason: str, fps: float,
             grid: np.ndarray | None = None, roll: float = 0.0) -> GaitAnalysis:
    """A window without analysis: every metric None, valid=False, the reason."""
    summ = Summarizer(fps=fps, near_side="right", facing_quality="", swap_corrections=0, scale_source="",
                      min_strides=settings.min_strides_valid, window_reason=reason)
    metrics = {}
    for name, (_, sided) in METRICS.items():
        metrics[name] = summ.per_side(name, {}) if sided else summ.whole_body(name, [])
        metrics[name].side = None
    times = track.times_s
    return GaitAnalysis(
        metrics=metrics, events=[], strides=[], rejected_strides=0, walking_detected=False, valid=False,
        reason=reason, facing="", facing_quality="", near_side="", mirrored=False, mode=settings.mode
        if settings.mode != "auto" else "", fps=fps, scale_px_per_m=None, scale_source="none",
        scale_consistency=None, leg_length_px=None, roll_deg=roll, swap_corrections=0, interp_fraction=0.0,
        start_s=float(times[0]) if len(times) else 0.0, end_s=float(times[-1]) if len(times) else 0.0,
        track_id=track.track_id, series=None)


def _pooled_leg_px(xy: np.ndarray) -> float | None:
    lengths = [v for v in (rig.leg_length_px(xy, s) for s in SIDES) if v]
    return max(lengths) if lengths else None


def _is_overground(settings: GaitSettings, xy: np.ndarray, fps: float, leg_px: float) -> bool:
    if settings.mode != "auto":
        return settings.mode == "overground"
    return abs(rig.pelvis_speed_legs_per_s(xy, fps, leg_px)) > 0.3


def _facing(settings: GaitSettings, xy: np.ndarray, fps: float, leg_px: float, overground: bool) -> tuple[int, str]:
    if settings.facing != "auto":
        return (1 if settings.facing == "right" else -1), "rig"
    return rig.decide_facing(rig.facing_cues(xy, fps, leg_px, overground))


def _near_side(settings: GaitSettings, facing: int, scores: np.ndarray) -> tuple[str, bool]:
    """Near leg: from settings, else the leg a non-mirrored camera sees for this facing; when the other
    leg scores clearly higher the stream is mirrored and the better-scored leg is the near one."""
    if settings.near_side != "auto":
        return settings.near_side, False
    expected = "right" if facing > 0 else "left"
    other = "left" if expected == "right" else "right"
    if rig.side_score(scores, other) > rig.side_score(scores, expected) + 0.05:
        return other, True
    return expected, False


def _series(grid: np.ndarray, xy_a: np.ndarray, facing: int, roll: float, swapped: np.ndarray,
            interp: np.ndarray) -> GaitSeries:
    pel, sho = rig.pelvis(xy_a), rig.shoulders(xy_a)
    trunk = ang.trunk_lean_deg(pel, sho, facing)
    angles = {"trunk_lean_deg": trunk}
    for s in SIDES:
        hip, knee, ankle = (xy_a[:, j] for j in rig.LEG[s])
        thigh = ang.thigh_angle_deg(hip, knee, facing)
        angles[f"knee_flexion_deg_{s}"] = ang.knee_flexion_deg(hip, knee, ankle)
        angles[f"thigh_angle_deg_{s}"] = thigh
        angles[f"shank_angle_deg_{s}"] = ang.shank_angle_deg(knee, ankle, facing)
        angles[f"hip_flexion_deg_{s}"] = ang.hip_flexion_deg(thigh, trunk)
    assert set(angles) == {"trunk_lean_deg"} | {f"{a}_{s}" for a in SIDE_ANGLES for s in SIDES}
    return GaitSeries(times_s=grid, keypoints_px=rig.rotate(xy_a, -roll), angles_deg=angles, swapped=swapped,
                      interpolated=interp)


def _scale(settings: GaitSettings, xy_e: np.ndarray, fps: float, near: str, strides: list[Stride],
           grid: np.ndarray, leg_px: float) -> tuple[float | None, str, float | None]:
    """px per metre: belt speed over mid-stance ankle speed (10-70 % of stance), else leg length / 0.491 H."""
    k_belt = k_height = None
    if settings.belt_speed_mps and strides:
        vx = np.gradient(xy_e[:, rig.LEG[near][2], 0]) * fps
        picks = []
        for st in strides:
            a, b = st.ic_s + 0.1 * (st.to_s - st.ic_s), st.ic_s + 0.7 * (st.to_s - st.ic_s)
            picks.append(vx[(grid >= a) & (grid <= b)])
        v = np.concatenate(picks) if picks else np.zeros(0)
        v = v[np.isfinite(v)]
        if len(v):
            k_belt = abs(float(np.median(v))) / settings.belt_speed_mps
    if settings.runner_height_m and leg_px:
        k_height = leg_px / (WINTER_LEG_RATIO * settings.runner_height_m)
    consistency = k_belt / k_height if k_belt and k_height else None
    if k_belt:
        return k_belt, "belt", consistency
    if k_height:
        return k_height, "height", consistency
    return None, "none", None


def _reach_stride_times(peaks_s: np.ndarray, stride_s: float) -> list[float]:
    """Intervals between consecutive reach peaks that look like one stride (0.6-1.5 T0)."""
    gaps = np.diff(peaks_s)
    return [float(g) for g in gaps if 0.6 * stride_s <= g <= 1.5 * stride_s]


def _overground_speeds(xy_e, strides, grid, fps, scale) -> list[float]:
    if not scale:
        return []
    vx = np.abs(np.gradient(rig.pelvis(xy_e)[:, 0]) * fps) / scale
    return [_mean_between(vx, grid, st.ic_s, st.next_ic_s) for st in strides]


def _overground_step_px(xy_a, steps: list[Step], grid, facing) -> list[float]:
    out = []
    for st in steps:
        other = "left" if st.side == "right" else "right"
        a = np.interp(st.ic_s, grid, xy_a[:, rig.LEG[st.side][2], 0])
        b = np.interp(st.start_s, grid, xy_a[:, rig.LEG[other][2], 0])
        out.append(abs(float(a - b)))
    return out


def _stride_frames(strides: list[Stride], grid: np.ndarray, fps: float) -> np.ndarray:
    mask = np.zeros(len(grid), dtype=bool)
    for st in strides:
        mask |= (grid >= st.ic_s) & (grid <= st.next_ic_s)
    return mask


def _min_score_at(scores: np.ndarray, joints: list[int], times: list[float], grid: np.ndarray,
                  fps: float) -> float | None:
    if not times:
        return None
    k = np.clip(np.round((np.array(times) - grid[0]) * fps).astype(int), 0, len(grid) - 1)
    return float(scores[k][:, joints].min())


def _event_confidence(scores, interp, joints, t, grid, fps) -> float:
    k = int(np.clip(round((t - grid[0]) * fps), 0, len(grid) - 1))
    lo, hi = max(k - 2, 0), min(k + 3, len(grid))
    return float(scores[k, list(joints)].min() * (1.0 - interp[lo:hi, list(joints)].mean()))


def _peak(x: np.ndarray, grid: np.ndarray, a: float, b: float) -> float:
    inside = x[(grid >= a) & (grid <= b)]
    ends = np.interp([a, b], grid, x)
    vals = np.concatenate([inside, ends])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmax(vals)) if np.isfinite(vals).any() else math.nan


def _mean_between(x: np.ndarray, grid: np.ndarray, a: float, b: float) -> float:
    inside = x[(grid >= a) & (grid < b)]
    inside = inside[np.isfinite(inside)]
    return float(inside.mean()) if len(inside) else math.nan


def _periodic_range(x: np.ndarray, grid: np.ndarray, spans: list[tuple[float, float]], period_s: float) -> float | None:
    """max - min of x's periodic part near `period_s`: least-squares fit of 3 harmonics plus a linear
    drift over the frames inside the spans, at the period (within ±3 % of the event estimate, whose
    small error would otherwise dephase a long window) that leaves the least residual."""
    inside = np.zeros(len(grid), dtype=bool)
    for a, b in spans:
        inside |= (grid >= a) & (grid <= b)
    inside &= np.isfinite(x)
    if inside.sum() < 10:
        return None
    t, y = grid[inside] - grid[inside][0], x[inside]
    drift = np.stack([np.ones_like(t), t - t.mean()], axis=1)
    best = (np.inf, None, period_s)
    for period in period_s * np.linspace(0.97, 1.03, 61):
        design = _harmonics(t, period)
        coef, res, *_ = np.linalg.lstsq(np.concatenate([design, drift], axis=1), y, rcond=None)
        sse = float(res[0]) if len(res) else float(np.sum((np.concatenate([design, drift], axis=1) @ coef - y) ** 2))
        if sse < best[0]:
            best = (sse, coef[:6], period)
    _, coef, period = best
    return float(np.ptp(_harmonics(np.linspace(0.0, period, 200), period) @ coef))


def _harmonics(t: np.ndarray, period: float) -> np.ndarray:
    w = 2 * np.pi * t / period
    return np.stack([np.cos(k * w) for k in (1, 2, 3)] + [np.sin(k * w) for k in (1, 2, 3)], axis=1)


def _range_between(x: np.ndarray, grid: np.ndarray, a: float, b: float) -> float:
    inside = x[(grid >= a) & (grid <= b)]
    inside = inside[np.isfinite(inside)]
    return float(np.ptp(inside)) if len(inside) >= 2 else math.nan
