"""`rhpnet gait-report`: from a `rhpnet predict`-style keypoints.json of the synthetic runner (with a
passer-by) every file is written and matches the library; too short, walking and empty inputs are
said so; the page renders in headless Chromium (plots and cadence visible); and the real sports2d
demo video goes through the pose pipeline to a walking report."""
from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from footage import SPORTS2D_DEMO
from rhpnet_core.gait.synthetic import Corruption, RunnerParams, make_run, walking_params
from rhpnet_core.gait import GaitSettings, KeypointTrack, analyze
from training.cli import main as rhpnet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import gait_report_screenshot as browser  # noqa: E402

PLOTS = ("gait_cycle.png", "trends.png", "snapshots.png")
BELT = str(RunnerParams().belt_speed_mps)  # the synthetic runner's belt speed, m/s


def predictions_json(path: Path, run, passer_by: bool = True) -> Path:
    """`rhpnet predict`'s json of the run, with a small standing passer-by in every frame."""
    standing = np.column_stack([80 + 3 * np.arange(17) % 7, 60 + 6 * np.arange(17), np.full(17, 0.8)])
    return browser.write_predictions(path, run.times_s, run.keypoints, standing if passer_by else None)


@pytest.fixture(scope="module")
def running_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gait_report")
    run = make_run(RunnerParams(fps=30.0, duration_s=14.0), Corruption(noise_px=1.0, seed=5))
    source = predictions_json(tmp / "keypoints.json", run)
    out = tmp / "report"
    assert rhpnet(["gait-report", str(source), "--output", str(out), "--belt-speed", BELT, "--runner-height", "1.75"]) == 0
    return run, out


def test_report_files_match_the_library(running_report):
    run, out = running_report
    for name in ("metrics.json", "events.csv", "report.html", *PLOTS):
        assert (out / name).stat().st_size > 0, name
    for name in PLOTS:
        image = cv2.imread(str(out / name))
        assert image is not None and image.std() > 10, name  # a drawn plot, not a blank canvas
    metrics = json.loads((out / "metrics.json").read_text())
    reference = analyze(KeypointTrack(run.times_s, run.keypoints),
                        GaitSettings(belt_speed_mps=float(BELT), runner_height_m=1.75))
    assert metrics["valid"] and not metrics["walking_detected"]
    # The json holds keypoints rounded to 1/1000 px (as `rhpnet predict` writes them): equal to 0.1 %.
    for name, metric in reference.metrics.items():
        expected = None if metric.value is None else pytest.approx(metric.value, rel=1e-3, abs=1e-3)
        assert metrics[name]["value"] == expected, name
        assert "n_strides" in metrics[name] and "valid" in metrics[name]
    with open(out / "events.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(reference.events)
    assert [float(r["time_s"]) for r in rows] == pytest.approx([e.time_s for e in reference.events], abs=1e-4)
    keys = {f["key"]: f for f in metrics["findings"]}
    assert {"capture", "cadence", "stance_knee", "trunk", "contact", "symmetry"} <= set(keys)
    for finding in metrics["findings"]:
        if finding["status"] != "not assessable" and finding["key"] != "capture":
            assert finding["value"] and finding["uncertainty"] and finding["reference"] and finding["source"], finding
    assert metrics["input"]["n_frames"] == len(run.times_s)  # the runner, never the passer-by


def test_report_is_self_contained(running_report):
    html = (running_report[1] / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "external reference in report.html"
    sources = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert len(sources) == len(PLOTS) and all(s.startswith("data:image/png;base64,") for s in sources)
    for word in ("injury risk", "abnormal", "you must"):
        assert word not in html.lower()  # screening wording (spec §5)


def test_too_few_strides_still_writes_a_report(tmp_path):
    run = make_run(RunnerParams(fps=30.0, duration_s=3.0))
    out = tmp_path / "report"
    assert rhpnet(["gait-report", str(predictions_json(tmp_path / "k.json", run)), "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert not metrics["valid"] and "need >= 7" in metrics["reason"]
    assert [f["key"] for f in metrics["findings"]] == ["capture", "not_assessable"]
    assert "Not assessable" in (out / "report.html").read_text()


def test_walking_gives_no_running_findings(tmp_path):
    run = make_run(walking_params(fps=30.0, duration_s=12.0))
    out = tmp_path / "report"
    assert rhpnet(["gait-report", str(predictions_json(tmp_path / "k.json", run)), "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["walking_detected"]
    assert [f["key"] for f in metrics["findings"]] == ["capture", "walking"]
    assert "Walking detected" in (out / "report.html").read_text()


def test_no_runner_is_a_clear_error(tmp_path, capsys):
    run = make_run(RunnerParams(fps=30.0, duration_s=1.5))
    code = rhpnet(["gait-report", str(predictions_json(tmp_path / "k.json", run, passer_by=False)),
                   "--output", str(tmp_path / "report")])
    assert code == 2
    assert "no person tracked for more than 2 s" in capsys.readouterr().err
    assert not (tmp_path / "report" / "report.html").exists()


def test_bag_with_keypoints_and_images(tmp_path):
    """A rig recording (MCAP): tracked Keypoints of the runner and a passer-by, JPEG camera frames."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    from rhpnet_core.bags import KEYPOINTS_TYPE, project_typestore
    from rhpnet_core.keypoints import COCO_KEYPOINT_NAMES

    store = project_typestore()
    t = store.types
    run = make_run(RunnerParams(fps=30.0, duration_s=12.0), Corruption(noise_px=1.0, seed=2))
    stamp0_ns = 1_700_000_000_000_000_000
    green = cv2.imencode(".jpg", np.full((720, 1280, 3), (40, 200, 40), np.uint8))[1].reshape(-1)
    passer_by = np.column_stack([np.full(17, 50.0), 40 + 5 * np.arange(17), np.full(17, 0.8)])
    with Writer(tmp_path / "bag", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        keypoints_conn = writer.add_connection("/rig1/keypoints", KEYPOINTS_TYPE, typestore=store)
        image_conn = writer.add_connection("/rig1/image/compressed", "sensor_msgs/msg/CompressedImage",
                                           typestore=store)
        for time_s, runner in zip(run.times_s, run.keypoints):
            ns = stamp0_ns + int(round(time_s * 1e9))
            stamp = t["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9)
            header = t["std_msgs/msg/Header"](stamp=stamp, frame_id="rig1_camera")
            persons = []
            for track_id, kp in ((3, runner), (8, passer_by)):
                (x0, y0), (x1, y1) = np.nanmin(kp[:, :2], axis=0), np.nanmax(kp[:, :2], axis=0)
                points = [t["rhpnet/msg/Keypoint"](x=float(x), y=float(y), score=float(c)) for x, y, c in np.nan_to_num(kp)]
                persons.append(t["rhpnet/msg/PersonKeypoints"](
                    track_id=track_id, score=0.9, box_x=float(x0), box_y=float(y0), box_width=float(x1 - x0),
                    box_height=float(y1 - y0), keypoints=points))
            msg = t[KEYPOINTS_TYPE](header=header, image_width=1280, image_height=720,
                                    keypoint_names=list(COCO_KEYPOINT_NAMES), model="synthetic", persons=persons)
            writer.write(keypoints_conn, ns, store.serialize_cdr(msg, KEYPOINTS_TYPE))
            image = t["sensor_msgs/msg/CompressedImage"](header=header, format="bgr8; jpeg compressed bgr8", data=green)
            writer.write(image_conn, ns, store.serialize_cdr(image, "sensor_msgs/msg/CompressedImage"))
    out = tmp_path / "report"
    assert rhpnet(["gait-report", str(tmp_path / "bag"), "--output", str(out), "--belt-speed", BELT]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    reference = analyze(KeypointTrack(stamp0_ns * 1e-9 + run.times_s, run.keypoints), GaitSettings(belt_speed_mps=float(BELT)))
    assert metrics["track_id"] == 3 and metrics["valid"]
    assert metrics["cadence_spm"]["value"] == pytest.approx(reference.metrics["cadence_spm"].value, rel=1e-4)
    assert metrics["input"]["frame_size_wh"] == [1280, 720]
    snapshots = cv2.imread(str(out / "snapshots.png"))
    assert colour_pixels(snapshots, (40, 200, 40), tolerance=25) > 10_000  # drawn on the camera frames


def render(out: Path) -> tuple[np.ndarray, str]:
    if browser.chromium() is None:
        pytest.skip("chromium not installed (Debian package `chromium`)")
    return browser.screenshot(out / "report.html", out / "screenshot.png"), browser.dump_dom(out / "report.html")


def colour_pixels(image_bgr: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    return int((np.abs(image_bgr[..., ::-1].astype(int) - rgb).max(axis=2) <= tolerance).sum())


def test_report_renders_in_chromium(running_report):
    run, out = running_report
    image, dom = render(out)
    metrics = json.loads((out / "metrics.json").read_text())
    cadence = re.search(r'id="cadence-spm">([^<]+)<', dom)
    assert cadence and cadence.group(1) == f"{metrics['cadence_spm']['value']:.0f} spm"
    assert dom.count('class="plot"') == len(PLOTS) and dom.count('class="finding ') == len(metrics["findings"])
    assert image.shape[0] > 2000 and image.std() > 20  # a tall, non-blank page
    # The plots' own colours on screen: side curves (red/blue) and the green median lines exist only
    # in the PNGs, so they prove the data-URI images decoded and were laid out.
    assert colour_pixels(image, (214, 39, 40)) > 2000  # right side (#d62728)
    assert colour_pixels(image, (31, 119, 180)) > 500  # left side (#1f77b4)
    assert colour_pixels(image, (44, 160, 44), tolerance=30) > 300  # medians (#2ca02c)
    rows_with_ink = (image.min(axis=2) < 128).any(axis=1)
    assert rows_with_ink.mean() > 0.3


@pytest.mark.skipif(not SPORTS2D_DEMO.exists(), reason="sports2d demo video not extracted (make setup)")
def test_sports2d_demo_video(tmp_path):
    """Real footage: a person walking side-on (camera panning with them) among distractors, 30 fps."""
    out = tmp_path / "report"
    assert rhpnet(["gait-report", str(SPORTS2D_DEMO), "--output", str(out), "--estimator", "yolo-pose",
                   "--device", "cpu", "--detector-imgsz", "480", "--frame-step", "3"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["input"]["model"].startswith("yolo11n-pose")
    # A runner was selected among the tracked persons, and is named with the other candidates.
    candidates = dict(re.findall(r"track (\d+): ([\d.]+) s", metrics["input"]["notes"][0]))
    assert len(candidates) >= 2 and str(metrics["track_id"]) in candidates
    # No running numbers are invented: walking is said and no running finding is given.
    assert [f["key"] for f in metrics["findings"]] == ["capture", "walking"]
    snapshots = cv2.imread(str(out / "snapshots.png"))
    assert snapshots.std() > 40  # stick figures on the real frames, not on a blank canvas
    _, dom = render(out)
    assert 'id="cadence-spm"' in dom and dom.count('class="plot"') == len(PLOTS)
    # Walking, with a plausible walking cadence (spec §7.3: ≈ 90-130 spm); the camera pans with the
    # walker, so the library falls back to reach-peak (Zeni-style) steps and marks the window invalid.
    assert metrics["walking_detected"]
    assert 80 <= metrics["cadence_spm"]["value"] <= 140
