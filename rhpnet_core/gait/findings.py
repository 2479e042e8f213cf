"""Report findings: a gait analysis worded as screening information (research spec §5).

Each finding shows the value, its uncertainty (stride spread and the literature accuracy of 2D video,
spec §2/§6), the reference values and their source. Wording rule: observation + reference + a
suggestion to discuss with a coach or clinician; never a diagnosis or an injury-risk verdict. A rule
only raises an "observation" when the window is valid and the value clears the threshold by more than
the measurement uncertainty; otherwise the value is shown as "information". Walking suppresses every
running finding. Thresholds are configurable; defaults say where they come from.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rhpnet_core.gait.types import GaitAnalysis, Metric

OBSERVATION, INFORMATION, NOT_ASSESSABLE = "observation", "information", "not assessable"

# Literature accuracy of 2D video against marker/force references (spec §2, §6); none is RHPNet.
ACCURACY = {
    "cadence_spm": ("about ±1 spm over 10 or more steps (step-time error 0.01-0.02 s)",
                    "Stenum 2021 (walking); Young 2023 (running)"),
    "knee": ("knee angle RMSE 7.5-7.8° (OpenPose, treadmill running)", "Van Hooren 2023"),
    "shank": ("not validated for pose models; manual 2D video SDD 2.2-4.8°", "Dingenen 2018"),
    "trunk": ("trunk angle RMSE 3.9-7.0° after post-processing (sprints)", "arXiv 2505.04713 (2025)"),
    "overstride": ("no validation found; treat as ±0.03 leg lengths", "spec §2"),
    "vertical": ("no validation of pelvis-keypoint oscillation found (pelvis is not the centre of mass)",
                 "spec §2"),
    "timing": ("±1 frame per event; ankle-only toe-off is early, so contact time is biased low",
               "spec §3; Young 2023 (0.010-0.014 s with heel/toe points)"),
}


@dataclass
class FindingSettings:
    """Thresholds of the findings (spec §5). 'engineering default' = no published cut-off exists."""

    low_cadence_spm: float = 156.0  # engineering default: 2 SD below Lieberman 2015's ≈170 ± 7 spm
    cadence_uncertainty_spm: float = 1.0  # spec §2 accuracy of event-based cadence
    angle_margin_deg: float = 5.0  # spec §6: angle findings need ≥ 5° margins
    stiff_knee_deg: float = 40.0  # Souza 2016
    overstride_knee_ic_deg: float = 10.0  # engineering default (composite landing rule)
    overstride_shank_ic_deg: float = 10.0  # engineering default (composite landing rule)
    trunk_upright_deg: float = 4.0  # Teng & Powers 2015 low-flexion group 3.6 ± 2.8°
    trunk_marked_deg: float = 15.0  # informational band (spec §5)
    symmetry_min_pct: float = 10.0  # left/right difference shown only above this ...
    symmetry_floor_pct: float = 3.0  # ... and above 2x the measurement floor (spec §7.2: |SI| < 3 %)
    min_fps: float = 60.0  # S2D README: below 60 Hz accuracy drops
    min_runner_frame_fraction: float = 0.4  # ZZ quality.py
    max_floor_slope: float = 0.06  # ZZ quality.py
    min_strides: int = 7  # Dingenen 2018
    max_interp_fraction: float = 0.10
    max_swap_fraction: float = 0.02


@dataclass
class Finding:
    """One finding. status: "observation" (a rule met, worth discussing), "information" (value against
    a reference, no verdict) or "not assessable" (the data cannot support it; text says why)."""

    key: str
    title: str
    status: str
    text: str
    value: str
    uncertainty: str
    reference: str
    source: str
    rule: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def make_findings(analysis: GaitAnalysis, settings: FindingSettings | None = None,
                  frame_height_px: float | None = None, n_frames: int | None = None) -> list[Finding]:
    """The findings of one analysis, capture problems first.

    frame_height_px: image height, for the runner-size check; n_frames: frames analysed, for the
    L/R-swap rate. Both optional (the checks are skipped when unknown).
    """
    settings = settings or FindingSettings()
    findings = [_capture(analysis, settings, frame_height_px, n_frames)]
    if analysis.walking_detected:
        findings.append(Finding(
            "walking", "Walking detected", INFORMATION,
            "The runner was walking (no flight phase, or feet on the ground for half of each stride or "
            "more), so no running findings are given. Running numbers need a recording of running.",
            _fmt(analysis.metrics["duty_factor"], 2), "", "running has a flight phase (double float); "
            "walking has double support", "Novacheck 1998", "duty factor ≥ 0.5 or no flight in most strides"))
        return findings
    if not analysis.valid:
        findings.append(Finding(
            "not_assessable", "Too little usable running to assess", NOT_ASSESSABLE,
            f"The recording could not be assessed: {analysis.reason}. Numbers below are shown for "
            "orientation only; no findings are given.", "", "",
            f"a stable 2D mean needs at least {settings.min_strides} strides", "Dingenen 2018"))
        return findings
    findings += [_cadence(analysis, settings), _landing(analysis, settings), _stance_knee(analysis, settings),
                 _trunk(analysis, settings), _bounce(analysis), _contact(analysis),
                 _symmetry(analysis, settings)]
    return findings


def _capture(a: GaitAnalysis, s: FindingSettings, frame_height_px: float | None,
             n_frames: int | None) -> Finding:
    problems = []
    if a.fps and a.fps < s.min_fps:
        problems.append(f"the camera ran at {a.fps:.0f} fps (≥ {s.min_fps:.0f} fps recommended, "
                        "≥ 120 fps for contact times)")
    if frame_height_px and a.leg_length_px:
        runner_fraction = a.leg_length_px / 0.491 / frame_height_px  # leg = 0.491 of stature (Winter)
        if runner_fraction < s.min_runner_frame_fraction:
            problems.append(f"the runner filled about {100 * runner_fraction:.0f} % of the frame height "
                            f"(≥ {100 * s.min_runner_frame_fraction:.0f} % recommended)")
    if abs(math.tan(math.radians(a.roll_deg or 0.0))) > s.max_floor_slope:
        problems.append(f"the floor line is tilted {a.roll_deg:.1f}° in the image")
    strides = {side: sum(st.accepted and st.side == side for st in a.strides) for side in ("left", "right")}
    near = strides.get(a.near_side, 0) if a.near_side else max(strides.values())
    if near < s.min_strides:
        problems.append(f"only {near} usable strides of the camera-side leg (≥ {s.min_strides} needed)")
    if a.interp_fraction > s.max_interp_fraction:
        problems.append(f"{100 * a.interp_fraction:.0f} % of the leg keypoints were filled in gaps")
    if n_frames and a.swap_corrections / n_frames > s.max_swap_fraction:
        problems.append(f"left/right legs were relabelled in {100 * a.swap_corrections / n_frames:.0f} % of frames")
    rule = (f"fps < {s.min_fps:.0f}; runner < {100 * s.min_runner_frame_fraction:.0f} % of frame height; "
            f"floor slope > {s.max_floor_slope}; < {s.min_strides} strides; > "
            f"{100 * s.max_interp_fraction:.0f} % interpolated; > {100 * s.max_swap_fraction:.0f} % swaps")
    source = "ZZ quality.py; Sports2D README; Dingenen 2018"
    reference = ("≥ 60 fps (≥ 120 fps for contact times), runner ≥ 40 % of the frame height, level floor, "
                 f"≥ {s.min_strides} strides per side for a stable 2D mean")
    if not problems:
        return Finding("capture", "Recording quality", INFORMATION,
                       "No capture problems were found by the automatic checks.", "", "", reference, source, rule)
    return Finding("capture", "Recording quality", OBSERVATION,
                   "Results may be unreliable because " + "; ".join(problems) + ".", "", "", reference, source,
                   rule)


def _cadence(a: GaitAnalysis, s: FindingSettings) -> Finding:
    m = a.metrics["cadence_spm"]
    reference = ("metabolic optimum ≈ 170 spm at 3 m/s (84.8 ± 3.6 strides/min); +5-10 % step rate lowers "
                 "knee energy absorption, vertical excursion and braking; cadence rises with speed and falls "
                 "with stature")
    source = "Lieberman 2015; Heiderscheit 2011; Van Hooren 2024"
    rule = f"cadence < {s.low_cadence_spm:.0f} spm (engineering default: 2 SD below Lieberman 2015's optimum)"
    if not _usable(m):
        return _not_assessable("cadence", "Step rate", m, reference, source, rule)
    speed = _value(a.metrics["speed_mps"])
    at = f" at {3.6 * speed:.1f} km/h" if speed is not None else ""
    value = _fmt(m, 0)
    if m.value + s.cadence_uncertainty_spm < s.low_cadence_spm:
        text = (f"Your step rate was {value}{at}. Lab studies found a 5-10 % higher step rate lowers knee "
                "loading. Consider discussing step rate with a coach.")
        status = OBSERVATION
    else:
        text = f"Your step rate was {value}{at}."
        status = INFORMATION
    return Finding("cadence", "Step rate", status, text, value, _uncertainty(m, "cadence_spm", 1),
                   reference, source, rule)


def _landing(a: GaitAnalysis, s: FindingSettings) -> Finding:
    over_norm, over_cm = a.metrics["overstride_norm"], a.metrics["overstride_cm"]
    knee, shank = a.metrics["knee_flexion_at_ic_deg"], a.metrics["shank_angle_at_ic_deg"]
    reference = ("foot position ahead of the hip at landing is associated with braking force; heel-COM "
                 "distance, foot inclination and knee flexion at contact predict kinetics (R² 0.43-0.58); "
                 "no cut-off exists (a sliding scale, judged with the tibia angle: a vertical shin at "
                 "loading is desirable)")
    source = "Lieberman 2015; Wille 2014; Souza 2016"
    rule = (f"knee flexion at contact < {s.overstride_knee_ic_deg:.0f}° and shank angle at contact > "
            f"{s.overstride_shank_ic_deg:.0f}°, each beyond a {s.angle_margin_deg:.0f}° margin "
            "(engineering defaults, not cut-offs)")
    if not (_usable(over_norm) and _usable(shank)):
        return _not_assessable("landing", "Landing position", over_norm if not _usable(over_norm) else shank,
                               reference, source, rule)
    distance = (f"{over_cm.value:.0f} cm ({over_norm.value:.2f} leg lengths)" if _usable(over_cm)
                else f"{over_norm.value:.2f} leg lengths")
    tilt = (f"tilted {shank.value:.0f}° forward" if shank.value >= 0.5 else
            f"tilted {-shank.value:.0f}° backward" if shank.value <= -0.5 else "vertical")
    text = (f"Your foot landed on average {distance} ahead of your hips (ankle ahead of pelvis) with the "
            f"shin {tilt}.")
    composite = (_usable(knee) and knee.value + s.angle_margin_deg < s.overstride_knee_ic_deg
                 and shank.value - s.angle_margin_deg > s.overstride_shank_ic_deg)
    if composite:
        text += (f" The knee was nearly straight at landing ({knee.value:.0f}°). Consider discussing landing "
                 "position with a coach.")
    uncertainty = (f"overstride {_uncertainty(over_norm, 'overstride', 2)}; shank {_uncertainty(shank, 'shank', 0)}")
    return Finding("landing", "Landing position", OBSERVATION if composite else INFORMATION, text,
                   f"{distance}; shin {_fmt(shank, 0)}", uncertainty, reference, source, rule)


def _stance_knee(a: GaitAnalysis, s: FindingSettings) -> Finding:
    m = a.metrics["peak_knee_flexion_stance_deg"]
    reference = ("≈ 45° typical at mid-stance; considerably less may suggest reduced shock absorption; < 40° "
                 "seen in some patellofemoral-pain subgroups; 41-43° by strike type")
    source = "Souza 2016; JSSM 24:747 (2025) Table 1"
    rule = f"peak stance knee flexion + {s.angle_margin_deg:.0f}° < {s.stiff_knee_deg:.0f}°"
    if not _usable(m):
        return _not_assessable("stance_knee", "Knee bend during ground contact", m, reference, source, rule)
    flagged = m.value + s.angle_margin_deg < s.stiff_knee_deg
    text = f"Peak knee bend during ground contact was {_fmt(m, 0)} (typical ≈ 45°)."
    if flagged:
        text += " Consider discussing knee bend on landing with a coach or clinician."
    return Finding("stance_knee", "Knee bend during ground contact", OBSERVATION if flagged else INFORMATION,
                   text, _fmt(m, 0), _uncertainty(m, "knee", 0), reference, source, rule)


def _trunk(a: GaitAnalysis, s: FindingSettings) -> Finding:
    m = a.metrics["trunk_lean_deg"]
    reference = ("3.6 ± 2.8° (low trunk flexion) vs 10.8 ± 2.2° (high) at 3.4 m/s; more forward lean "
                 "shifts work from knee to hip extensors; self-selected −2° to ≈25°")
    source = "Teng & Powers 2015; Teng & Powers 2014; Warrener 2021"
    rule = f"bands: < {s.trunk_upright_deg:.0f}° upright, > {s.trunk_marked_deg:.0f}° marked lean (informational)"
    if not _usable(m):
        return _not_assessable("trunk", "Trunk posture", m, reference, source, rule)
    band = ("upright" if m.value < s.trunk_upright_deg else "a marked forward lean"
            if m.value > s.trunk_marked_deg else "a moderate forward lean")
    text = (f"You leaned {_fmt(m, 0)} forward ({band}). More lean shifts effort from knee to hip muscles.")
    return Finding("trunk", "Trunk posture", INFORMATION, text, _fmt(m, 0), _uncertainty(m, "trunk", 0),
                   reference, source, rule)


def _bounce(a: GaitAnalysis) -> Finding:
    vo_cm, vo_norm, ratio = (a.metrics[k] for k in ("vertical_oscillation_cm", "vertical_oscillation_norm",
                                                     "vertical_ratio_pct"))
    reference = ("lower vertical displacement is moderately associated with better economy; Garmin vertical "
                 "ratio bands: < 6.1 %, 6.1-7.4 %, 7.5-8.6 % (middle 40 % of users) — a torso accelerometer, "
                 "not pelvis keypoints")
    source = "Van Hooren 2024; Moore 2016; Garmin via the5krunner"
    if not (_usable(vo_cm) or _usable(vo_norm)):
        return _not_assessable("bounce", "Vertical oscillation", vo_norm, reference, source, "")
    amount = f"{vo_cm.value:.1f} cm" if _usable(vo_cm) else f"{vo_norm.value:.3f} leg lengths"
    text = f"Your body rose and fell {amount} per step"
    text += f" ({ratio.value:.1f} % of step length)." if _usable(ratio) else "."
    value = amount + (f"; vertical ratio {_fmt(ratio, 1)}" if _usable(ratio) else "")
    return Finding("bounce", "Vertical oscillation", INFORMATION, text, value,
                   _uncertainty(vo_cm if _usable(vo_cm) else vo_norm, "vertical", 1), reference, source,
                   "none by default (no good/bad verdict)")


def _contact(a: GaitAnalysis) -> Finding:
    gct, df = a.metrics["ground_contact_time_ms"], a.metrics["duty_factor"]
    reference = ("most runners 160-300 ms, elite < 200 ms; duty factor classes at 12 km/h: aerial < 27.6 %, "
                 "terrestrial > 28.8 %; contact time is trivially related to economy (r = −0.02)")
    source = "Garmin (via thewiredrunner); Patoz 2019; Van Hooren 2024"
    if not _usable(gct):
        return _not_assessable("contact", "Ground contact", gct, reference, source, "")
    text = f"Your feet were on the ground for {_fmt(gct, 0)} per step"
    value = _fmt(gct, 0)
    if _usable(df):
        pct = 100 * df.value
        style = "aerial" if pct < 27.6 else "terrestrial" if pct > 28.8 else "between aerial and terrestrial"
        text += f"; your running style is on the '{style}' side (duty factor {pct:.0f} %)."
        value += f"; duty factor {pct:.0f} %"
    else:
        text += "."
    return Finding("contact", "Ground contact", INFORMATION, text, value, _uncertainty(gct, "timing", 0),
                   reference, source, "none (no good/bad verdict)")


SYMMETRY_METRICS = {"ground_contact_time_ms": "ground contact time", "step_time_s": "step time",
                    "knee_flexion_at_ic_deg": "knee flexion at contact",
                    "peak_knee_flexion_stance_deg": "peak knee flexion in stance"}


def _symmetry(a: GaitAnalysis, s: FindingSettings) -> Finding:
    threshold = max(s.symmetry_min_pct, 2 * s.symmetry_floor_pct)
    reference = ("trained runners differ by < 2 % between legs (symmetry angle: contact time 0.6 %, step "
                 "length/frequency 0.7 %, aerial time 1.7 %); single side-view video floors are far higher "
                 "(occlusion of the far leg)")
    source = "Girard 2019; Young 2023"
    rule = f"|SI| > max({s.symmetry_min_pct:.0f} %, 2 × measurement floor {s.symmetry_floor_pct:.0f} %), both sides valid"
    assessable = {name: a.metrics[name] for name in SYMMETRY_METRICS
                  if a.metrics[name].symmetry_index_pct is not None
                  and all(side.valid for side in a.metrics[name].sides.values())}
    if not assessable:
        return Finding("symmetry", "Left/right difference", NOT_ASSESSABLE,
                       "Left and right could not both be measured well enough (the far leg is often hidden "
                       "in a side view), so no left/right comparison is given.", "", "", reference, source, rule)
    name, metric = max(assessable.items(), key=lambda item: abs(item[1].symmetry_index_pct))
    si = metric.symmetry_index_pct
    label = SYMMETRY_METRICS[name]
    value = f"SI {si:+.1f} % ({label})"
    if abs(si) > threshold:
        text = (f"Left and right differed by {abs(si):.0f} % in {label}. Video side views exaggerate "
                "differences; confirm with a second camera or sensors.")
        status = OBSERVATION
    else:
        text = f"Left and right differed by at most {abs(si):.0f} % ({label}), within what side-view video can tell apart."
        status = INFORMATION
    return Finding("symmetry", "Left/right difference", status, text, value,
                   f"video measurement floor ≈ {s.symmetry_floor_pct:.0f} % (synthetic, spec §7.2)",
                   reference, source, rule)


def _usable(m: Metric) -> bool:
    return m.value is not None and math.isfinite(m.value)


def _value(m: Metric) -> float | None:
    return m.value if _usable(m) else None


def _fmt(m: Metric, digits: int) -> str:
    """'172 spm', '38°', '0.32' — the value with its unit, or 'n/a'."""
    if not _usable(m):
        return "n/a"
    unit = {"deg": "°", "steps/min": " spm", "1": "", "leg lengths": " leg lengths"}.get(m.unit, f" {m.unit}")
    return f"{m.value:.{digits}f}{unit}"


def _uncertainty(m: Metric, accuracy_key: str, digits: int) -> str:
    """Stride spread (IQR over n strides) and the literature accuracy of 2D video for this quantity."""
    spread = (f"IQR {m.iqr:.{digits}f} over {m.n_strides} strides" if m.iqr is not None and math.isfinite(m.iqr)
              else f"{m.n_strides} strides")
    accuracy, source = ACCURACY[accuracy_key]
    return f"{spread}; 2D video: {accuracy} ({source})"


def _not_assessable(key: str, title: str, m: Metric, reference: str, source: str, rule: str) -> Finding:
    reason = m.reason or "not measured"
    return Finding(key, title, NOT_ASSESSABLE, f"Not assessable in this recording: {reason}.", "n/a", "",
                   reference, source, rule)
