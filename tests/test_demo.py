"""`make demo` shortened: the same `python -m rhpnet_ros.demo` on 3 s of the sports2d clip, and the
synthetic runner on 8 s; every artefact a person opens exists and opens with a tool of its own
(cv2 for the video, mcap + mcap_ros2 for the bag, headless Chromium for the report)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from footage import SPORTS2D_DEMO
from ros_probe import private_domain

from rhpnet_ros.demo_offline import chromium, rendered_dom, screenshot

DEMO_TIMEOUT_S = 600


def run_demo(arguments: list[str], key: str) -> subprocess.CompletedProcess:
    private_domain(key)  # the demo's launch and its monitor share a DDS domain of their own
    return subprocess.run([sys.executable, "-m", "rhpnet_ros.demo", *arguments], capture_output=True, text=True,
                          timeout=DEMO_TIMEOUT_S)


@pytest.fixture(scope="module")
def sideview(tmp_path_factory):
    if not SPORTS2D_DEMO.exists():
        pytest.skip(f"{SPORTS2D_DEMO} missing (make setup extracts it)")
    output = tmp_path_factory.mktemp("demo")
    run = run_demo(["sideview", "--seconds", "3", "--rate", "5", "--gait-window", "2", "--output", str(output)], __name__)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return output, run.stdout, json.loads((output / "summary.json").read_text())


def test_prints_status_lines_paths_and_summary(sideview):
    output, stdout, summary = sideview
    status_lines = [line for line in stdout.splitlines() if line.startswith("t=")]
    assert len(status_lines) >= 5 and "runner=" in status_lines[-1] and "latency_ms" in status_lines[-1]
    for path in (output / "annotated.mp4", output / "report" / "report.html", output / "bag" / "rig1" / "demo"):
        assert str(path) in stdout
    closing = stdout.splitlines()[-3:]
    assert [line.split(":")[0] for line in closing] == ["runner", "gait", "frames"]
    assert f"{summary['frames_published']} published" in closing[2]


def test_live_run_accounts_for_every_frame(sideview):
    _, _, summary = sideview
    live = summary["live"]
    assert summary["frames_published"] == 90  # 3 s at 30 fps
    assert 85 <= summary["camera_info_seen"] <= 90
    # Frames lost in transport are counted (`unseen`), except any before the first one received.
    assert live["received"] + live["unseen"] <= 90 and live["received"] >= 45
    assert live["processed"] > 0 and live["processed"] + live["dropped"] <= live["received"]
    assert live["model"].startswith("yolo11n-pose")  # no RHPNet weights: the yolo-pose estimator
    assert summary["tracks"]  # persons were tracked (ids >= 1) in the live Keypoints


def test_annotated_video_decodes_one_frame_per_processed_frame(sideview):
    output, _, summary = sideview
    capture = cv2.VideoCapture(str(output / "annotated.mp4"))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    assert len(frames) == summary["live"]["processed"]
    assert frames[0].shape == (994, 1768, 3)


def test_bag_reads_with_the_mcap_ros2_decoder(sideview):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    output, _, summary = sideview
    counts, sizes, keypoint_stamps = Counter(), set(), set()
    for path in sorted((output / "bag" / "rig1" / "demo").rglob("*.mcap")):
        with open(path, "rb") as fh:
            for _, channel, _, msg in make_reader(fh, decoder_factories=[DecoderFactory()]).iter_decoded_messages():
                counts[channel.topic] += 1
                if channel.topic == "/rig1/camera/image_raw":
                    sizes.add((msg.width, msg.height, msg.encoding))
                elif channel.topic == "/rig1/keypoints":
                    keypoint_stamps.add((msg.header.stamp.sec, msg.header.stamp.nanosec))
                    assert all(len(person.keypoints) == 17 for person in msg.persons)
    assert counts["/rig1/keypoints"] == summary["live"]["processed"] == len(keypoint_stamps)
    assert 0 < counts["/rig1/camera/image_raw"] <= summary["frames_published"]
    assert sizes == {(1768, 994, "bgr8")}


def test_offline_score_matches_live_on_processed_frames(sideview):
    _, _, summary = sideview
    comparison = summary["live_vs_offline"]
    assert summary["offline"]["frames"] == summary["frames_published"]
    assert comparison["frames_in_reference"] == summary["live"]["processed"]
    assert comparison["live_frames_missing_offline"] == 0
    # Same estimator, same frames: the keypoints agree; only the runner choice may differ on a frame
    # (the offline tracker saw every frame, the live one only those it processed).
    assert comparison["identical_frames"] >= 0.8 * comparison["frames_in_reference"]


def _check_report(html: Path, tmp_path: Path, words: tuple[str, ...]) -> None:
    if chromium() is None:
        pytest.skip("chromium not installed (make setup installs Debian's chromium)")
    png = screenshot(html, tmp_path / "report.png", 1000, 1400)
    image = cv2.imread(str(png))
    assert image is not None and image.shape[:2] == (1400, 1000)
    assert float(np.std(image)) > 10.0  # text and plots, not a blank page
    dom = rendered_dom(html).lower()
    for word in words:
        assert word in dom


def test_report_renders_in_headless_chromium(sideview, tmp_path):
    output, _, summary = sideview
    words = ("cadence", "walking") if summary["report"]["walking_detected"] else ("cadence",)
    _check_report(output / "report" / "report.html", tmp_path, words)


def test_synthetic_runner_demo(tmp_path):
    output = tmp_path / "demo"
    run = run_demo(["synthetic", "--seconds", "10", "--speed", "4", "--output", str(output)], __name__ + "-synthetic")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    folder = output / "synthetic"
    capture = cv2.VideoCapture(str(folder / "stick_figure.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 300  # 10 s at 30 fps
    metrics = json.loads((folder / "report" / "metrics.json").read_text())
    assert metrics["valid"] and not metrics["walking_detected"]
    assert metrics["cadence_spm"]["value"] == pytest.approx(176.0, abs=3.0)  # the generator's cadence
    assert "live gait node (last window): cadence 17" in run.stdout  # the live window found the cadence too
    _check_report(folder / "report" / "report.html", tmp_path, ("cadence", "spm", "running analysed"))
