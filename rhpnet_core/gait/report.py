"""The gait report: metrics.json, events.csv, PNG plots and one self-contained report.html.

report.html has no external reference (no CDN, no network): the plots are embedded as PNG data URIs
and the style is inline, so the file can be mailed or opened offline. The same inputs give the same
files (no timestamps), so replaying a bag reproduces its report.
"""
from __future__ import annotations

import base64
import csv
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from rhpnet_core.gait.findings import NOT_ASSESSABLE, OBSERVATION, Finding, FindingSettings, make_findings
from rhpnet_core.gait.plots import FrameLookup, plot_gait_cycle, plot_snapshots, plot_trends
from rhpnet_core.gait.types import METRICS, GaitAnalysis, Metric

PLOTS = (("gait_cycle.png", "Joint angles over the gait cycle",
          "Mean ± 1 SD over accepted strides, contact (0 %) to the next contact of the same leg; dotted: mean "
          "toe-off. Solid: the camera-side leg."),
         ("trends.png", "Over time", "Per stride of the camera-side leg; dashed: the reported median."),
         ("snapshots.png", "Contact, mid-stance, toe-off",
          "Filtered keypoints of the stride with the median contact time."))
HEADLINE = (("cadence_spm", "Cadence", 0), ("ground_contact_time_ms", "Contact time", 0),
            ("peak_knee_flexion_stance_deg", "Peak knee flexion, stance", 0), ("trunk_lean_deg", "Trunk lean", 1),
            ("vertical_oscillation_cm", "Vertical oscillation", 1), ("duty_factor", "Duty factor", 2))


@dataclass
class ReportContext:
    """What the report says about where the data came from (all optional but `source`).

    frame_size_wh: image size in px (runner-size check); n_frames: frames with the runner;
    model: the pose estimator; notes: lines shown under "Input" (e.g. frames skipped)."""

    source: str
    frame_size_wh: tuple[int, int] | None = None
    n_frames: int | None = None
    model: str = ""
    notes: list[str] = field(default_factory=list)


def write_report(analysis: GaitAnalysis, output_dir: str | Path, context: ReportContext,
                 frame_at: FrameLookup | None = None,
                 finding_settings: FindingSettings | None = None) -> dict[str, Path]:
    """Write every report file into `output_dir`; returns name -> path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame_height = context.frame_size_wh[1] if context.frame_size_wh else None
    findings = make_findings(analysis, finding_settings, frame_height, context.n_frames)
    paths = {"metrics.json": write_metrics_json(analysis, findings, context, out / "metrics.json"),
             "events.csv": write_events_csv(analysis, out / "events.csv"),
             "gait_cycle.png": plot_gait_cycle(analysis, out / "gait_cycle.png"),
             "trends.png": plot_trends(analysis, out / "trends.png"),
             "snapshots.png": plot_snapshots(analysis, out / "snapshots.png", frame_at)}
    paths["report.html"] = out / "report.html"
    paths["report.html"].write_text(render_html(analysis, findings, context, paths), encoding="utf-8")
    return paths


def write_metrics_json(analysis: GaitAnalysis, findings: list[Finding], context: ReportContext, path: Path) -> Path:
    """`analyze`'s metrics (each metric under its spec name with its quality fields, the window flags)
    plus the findings and the input description. Strict JSON (no NaN)."""
    content = analysis.to_json()
    content["input"] = {"source": context.source, "model": context.model, "n_frames": context.n_frames,
                        "frame_size_wh": list(context.frame_size_wh) if context.frame_size_wh else None,
                        "notes": context.notes}
    content["findings"] = [f.to_json() for f in findings]
    path.write_text(json.dumps(content, indent=2, allow_nan=False), encoding="utf-8")
    return path


def write_events_csv(analysis: GaitAnalysis, path: Path) -> Path:
    """One row per event: time_s, side, kind, confidence, accepted, near_side."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", "side", "kind", "confidence", "accepted", "near_side"])
        for event in analysis.events:
            writer.writerow([f"{event.time_s:.4f}", event.side, event.kind, f"{event.confidence:.3f}",
                             int(event.accepted), int(event.side == analysis.near_side)])
    return path


def render_html(analysis: GaitAnalysis, findings: list[Finding], context: ReportContext,
                paths: dict[str, Path]) -> str:
    """The report page: status, headline numbers, findings, plots, every metric, quality, caveats."""
    e = html.escape
    duration = analysis.end_s - analysis.start_s if math.isfinite(analysis.end_s - analysis.start_s) else 0.0
    if analysis.walking_detected:
        status_class, status = "warn", "Walking detected: no running findings are given."
    elif not analysis.valid:
        status_class, status = "bad", f"Not assessable: {analysis.reason}."
    else:
        status_class, status = "ok", "Running analysed."
    cards = "".join(
        f'<div class="card"><div class="label">{e(label)}</div>'
        f'<div class="value" id="{name.replace("_", "-")}">{e(_number(analysis.metrics[name], digits))}</div>'
        f'<div class="sub">{e(_spread(analysis.metrics[name], digits))}</div></div>'
        for name, label, digits in HEADLINE)
    finding_rows = "".join(_finding_html(f) for f in findings)
    plots = "".join(
        f'<figure><figcaption><b>{e(title)}</b> — {e(caption)}</figcaption>'
        f'<img class="plot" alt="{e(title)}" src="{_data_uri(paths[name])}"></figure>'
        for name, title, caption in PLOTS)
    metric_rows = "".join(_metric_row(name, analysis.metrics[name]) for name in METRICS if name in analysis.metrics)
    quality = {
        "mode": analysis.mode, "facing": f"{analysis.facing or '?'} ({analysis.facing_quality or '?'})",
        "camera-side leg": analysis.near_side or "?", "mirrored stream": analysis.mirrored,
        "frame rate": f"{analysis.fps:.1f} fps (event resolution {1000 / analysis.fps:.0f} ms)" if analysis.fps else "?",
        "scale": (f"{analysis.scale_px_per_m:.0f} px/m from {analysis.scale_source}"
                  if analysis.scale_px_per_m else "none (lengths in leg lengths)"),
        "scale consistency (belt/height)": _plain(analysis.scale_consistency, 2),
        "leg length": f"{_plain(analysis.leg_length_px, 0)} px", "camera roll": f"{_plain(analysis.roll_deg, 1)}°",
        "strides accepted (left/right)": "/".join(
            str(sum(s.accepted and s.side == side for s in analysis.strides)) for side in ("left", "right")),
        "strides rejected": analysis.rejected_strides, "L/R relabelled frames": analysis.swap_corrections,
        "gap-filled leg keypoints": f"{100 * analysis.interp_fraction:.1f} %",
    }
    quality_rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in quality.items())
    inputs = [f"source: {context.source}", f"analysed: {analysis.start_s:.2f}-{analysis.end_s:.2f} s ({duration:.1f} s)",
              f"runner track id: {analysis.track_id}"]
    if context.model:
        inputs.append(f"pose model: {context.model}")
    if context.n_frames is not None:
        inputs.append(f"frames with the runner: {context.n_frames}")
    inputs += context.notes
    input_rows = "".join(f"<li>{e(line)}</li>" for line in inputs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Running gait report</title>
<style>{STYLE}</style></head>
<body>
<h1>Running gait report</h1>
<p class="disclaimer">Screening information from a single side-view video, not a diagnosis. Findings
compare your numbers with published reference values; discuss them with a coach or clinician. Modifying an
uninjured runner's form is not evidence based, and kinematic findings matter only when they agree with how
you feel and perform (Souza 2016).</p>
<div class="status {status_class}" id="status">{e(status)}</div>
<div class="cards">{cards}</div>
<h2>Findings</h2>
<div class="findings">{finding_rows}</div>
<h2>Plots</h2>
{plots}
<h2>All metrics</h2>
<p class="small">Median over accepted strides; IQR across strides; per-side values for the legs; SI =
100·(R−L)/(0.5·(R+L)). A dash means not assessable (reason in the last column).</p>
<table class="metrics"><tr><th>metric</th><th>value</th><th>IQR</th><th>n</th><th>left</th><th>right</th>
<th>SI %</th><th>valid</th><th>reason</th></tr>{metric_rows}</table>
<h2>Recording quality</h2>
<table class="quality">{quality_rows}</table>
<h2>Input</h2><ul class="small">{input_rows}</ul>
<p class="small">Definitions, units and sources: docs/gait.md of the rhpnet project. 2D video accuracy (literature):
knee angle RMSE ≈ 7.5°, hip ≈ 5°, step timing 0.01-0.02 s (Van Hooren 2023; Stenum 2021; Young 2023).</p>
</body></html>
"""


STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 28px; }
.disclaimer { background: #f6f6f6; border-left: 4px solid #888; padding: 8px 12px; font-size: 14px; }
.status { padding: 10px 14px; border-radius: 6px; font-weight: bold; margin: 12px 0; }
.status.ok { background: #e3f4e3; } .status.warn { background: #fff3cd; } .status.bad { background: #f8d7da; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ccc; border-radius: 8px; padding: 10px 16px; min-width: 150px; background: #fbfbfb; }
.card .label { font-size: 13px; color: #555; } .card .value { font-size: 28px; font-weight: bold; }
.card .sub { font-size: 12px; color: #777; }
.finding { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.finding.observation { border-left: 6px solid #e69f00; } .finding.information { border-left: 6px solid #56b4e9; }
.finding.not-assessable { border-left: 6px solid #aaa; color: #555; }
.finding .badge { font-size: 12px; text-transform: uppercase; color: #666; margin-left: 8px; }
.finding dl { display: grid; grid-template-columns: 110px 1fr; margin: 6px 0 0; font-size: 13px; }
.finding dt { color: #666; } .finding dd { margin: 0 0 2px; }
figure { margin: 12px 0; } img.plot { max-width: 100%; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.small { font-size: 13px; color: #555; }
"""


def _finding_html(f: Finding) -> str:
    e = html.escape
    css = {OBSERVATION: "observation", NOT_ASSESSABLE: "not-assessable"}.get(f.status, "information")
    details = [("value", f.value), ("uncertainty", f.uncertainty), ("reference", f.reference),
               ("source", f.source), ("rule", f.rule)]
    rows = "".join(f"<dt>{k}</dt><dd>{e(v)}</dd>" for k, v in details if v)
    return (f'<div class="finding {css}" id="finding-{e(f.key)}"><b>{e(f.title)}</b>'
            f'<span class="badge">{e(f.status)}</span><p>{e(f.text)}</p><dl>{rows}</dl></div>')


def _metric_row(name: str, m: Metric) -> str:
    e = html.escape
    digits = 3 if m.unit in ("s", "1", "leg lengths") else 1
    left, right = (m.sides.get(side) for side in ("left", "right"))
    cells = [name + (f" ({m.side})" if m.side else ""), _number(m, digits), _plain(m.iqr, digits), str(m.n_strides),
             _plain(left.value if left else None, digits), _plain(right.value if right else None, digits),
             _plain(m.symmetry_index_pct, 1), "yes" if m.valid else "no", m.reason]
    return "<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>"


def _number(m: Metric, digits: int) -> str:
    """'172 steps/min' or '—'."""
    if m.value is None or not math.isfinite(m.value):
        return "—"
    unit = {"deg": "°", "1": "", "steps/min": " spm"}.get(m.unit, f" {m.unit}")
    return f"{m.value:.{digits}f}{unit}"


def _spread(m: Metric, digits: int) -> str:
    if m.value is None:
        return m.reason or "not assessable"
    iqr = f"IQR {m.iqr:.{digits}f}, " if m.iqr is not None and math.isfinite(m.iqr) else ""
    return f"{iqr}n = {m.n_strides}{'' if m.valid else ' (not valid)'}"


def _plain(value: float | None, digits: int) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
