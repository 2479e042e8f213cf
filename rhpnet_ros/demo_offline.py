"""The demo's offline steps and checks (no rclpy): the `rhpnet` commands a user would type, the
live-vs-offline keypoint comparison, frames of the written video and headless-Chromium screenshots.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE
from rhpnet_core.bags.reader import BagReader
from rhpnet_core.bags.scoring import compare_poses, recorded_poses

CHROMIUM_TIMEOUT_S = 60.0


def run_rhpnet(arguments: list[str], log_path: Path) -> float:
    """Run `rhpnet ARGS` (the venv's command, as a user would), stdout to `log_path`, stderr (progress
    bars, errors) to this terminal. Returns its wall time in s; raises RuntimeError when it fails."""
    command = [str(Path(sys.prefix) / "bin" / "rhpnet"), *arguments]
    print(f"demo: $ rhpnet {shlex.join(arguments)}", flush=True)
    started = time.monotonic()
    with open(log_path, "w") as log:
        code = subprocess.run(command, stdout=log, stderr=None).returncode
    if code != 0:
        raise RuntimeError(f"`rhpnet {arguments[0]}` exited with {code}; its output: {log_path}")
    return time.monotonic() - started


def keypoints_topic(bag: Path) -> str:
    """The only Keypoints topic of a bag."""
    topics = BagReader(bag).topics_of_type(KEYPOINTS_TYPE)
    if len(topics) != 1:
        raise ValueError(f"bag {bag} has {len(topics)} Keypoints topics ({', '.join(topics) or 'none'}); expected one")
    return topics[0]


def compare_live_offline(live_bag: Path, offline_bag: Path, pck_threshold: float = 0.05) -> dict[str, Any]:
    """Live Keypoints (recorded from the pose node) against `rhpnet score`'s on the frames the node
    processed: the score bag has every camera frame, the live topic only those the node did not drop."""
    live_reader, live_topic = BagReader(live_bag), keypoints_topic(live_bag)
    live = recorded_poses(live_reader, live_topic)
    offline = recorded_poses(BagReader(offline_bag), keypoints_topic(offline_bag))
    first = next(live_reader.messages([live_topic]), None)
    names = list(live_reader.decode(first).keypoint_names) if first is not None else []
    comparison = compare_poses(live, {key: pose for key, pose in offline.items() if key in live}, names, pck_threshold)
    comparison["offline_frames"] = len(offline)
    comparison["live_frames_missing_offline"] = sum(key not in offline for key in live)
    return comparison


def video_frames(path: Path) -> tuple[int, np.ndarray | None]:
    """(number of frames cv2 decodes from `path`, the middle frame (H, W, 3) BGR or None)."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return len(frames), (frames[len(frames) // 2] if frames else None)


def chromium() -> str | None:
    """The headless browser the report checks use (Debian's `chromium`), None when absent."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium_run(arguments: list[str]) -> subprocess.CompletedProcess:
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium not found; expected Debian's `chromium` package (make setup installs it)")
    # --no-sandbox: the sandbox refuses to start as root (containers, CI).
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S)


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 1500) -> Path:
    """A PNG of `html` as headless Chromium renders it at `width` x `height` CSS px."""
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    result = _chromium_run([f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
                            html.resolve().as_uri()])
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot of {html}: {result.stderr.strip()[-500:]}")
    return png


def rendered_dom(html: Path) -> str:
    """The DOM of `html` after Chromium ran it (scripts, inline SVG), as serialised HTML."""
    return _chromium_run(["--dump-dom", html.resolve().as_uri()]).stdout


def save_small_png(image_bgr: np.ndarray, path: Path, width: int = 800, colors: int = 128) -> Path:
    """`image_bgr` scaled to `width` px and reduced to a `colors` palette (README images stay small:
    ~70 KB for a report page instead of ~200 KB), written as PNG."""
    scale = width / image_bgr.shape[1]
    small = cv2.resize(image_bgr, (width, round(image_bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(small[..., ::-1])).quantize(colors=colors).save(path, optimize=True)
    return path
