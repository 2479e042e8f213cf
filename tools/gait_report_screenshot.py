"""Open a gait report in headless Chromium (Debian's `chromium`) as a person would: screenshot and DOM.

    .venv/bin/python tools/gait_report_screenshot.py            # regenerates docs/gait_report.png

The README's screenshot is a report of the synthetic treadmill runner (rhpnet_core/gait/synthetic.py defaults,
30 fps, 1 px keypoint noise; its belt speed and height given) written by `rhpnet gait-report` from a
`rhpnet predict`-style keypoints.json; tests/test_gait_report.py uses the Chromium helpers on its reports.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium not found (Debian package `chromium`, installed by make setup)")
    with tempfile.TemporaryDirectory(prefix="rhpnet-chromium-") as profile:
        # --no-sandbox: root in containers has no user namespaces; the page is our own local file.
        return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=timeout_s, check=True)


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 4200, timeout_s: float = 120.0) -> np.ndarray:
    """Render `html` at width x height CSS px into `png`; returns the BGR image (H, W, 3)."""
    _run([f"--screenshot={png}", f"--window-size={width},{height}", Path(html).resolve().as_uri()], timeout_s)
    image = cv2.imread(str(png), cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeError(f"chromium wrote no readable screenshot {png}")
    return image


def dump_dom(html: Path, timeout_s: float = 120.0) -> str:
    """The DOM Chromium built from `html` (after parsing and layout)."""
    return _run(["--dump-dom", Path(html).resolve().as_uri()], timeout_s).stdout


def write_predictions(path: Path, times_s: np.ndarray, keypoints: np.ndarray,
                      passer_by: np.ndarray | None = None) -> Path:
    """What `rhpnet predict` writes for a video (image_id, timestamp_s, untracked ids) for a runner's
    keypoints (T, 17, 3), plus a standing person (17, 3) in every frame when `passer_by` is given."""
    entries = []
    for index, (time_s, runner) in enumerate(zip(times_s, keypoints)):
        for person in [runner] if passer_by is None else [runner, passer_by]:
            (x0, y0), (x1, y1) = np.nanmin(person[:, :2], axis=0), np.nanmax(person[:, :2], axis=0)
            entries.append({"image_id": index, "category_id": 1, "score": 0.9, "track_id": -1,
                            "timestamp_s": float(time_s), "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                            "keypoints": np.nan_to_num(person).round(3).reshape(-1).tolist()})
    path.write_text(json.dumps(entries))
    return path


def main() -> int:
    from training.cli import main as rhpnet

    with tempfile.TemporaryDirectory(prefix="rhpnet-gait-shot-") as tmp:
        tmp = Path(tmp)
        from rhpnet_core.gait.synthetic import Corruption, RunnerParams, make_run

        params = RunnerParams(fps=30.0, duration_s=14.0)
        run = make_run(params, Corruption(noise_px=1.0, seed=3))
        predictions = write_predictions(tmp / "keypoints.json", run.times_s, run.keypoints)
        code = rhpnet(["gait-report", str(predictions), "--output", str(tmp / "report"),
                       "--belt-speed", str(params.belt_speed_mps), "--runner-height", str(params.height_m)])
        if code:
            return code
        image = screenshot(tmp / "report" / "report.html", tmp / "shot.png", width=1200, height=1500)
    # The top of the report (status, headline numbers, first findings) at half size, 64 colours: a
    # small README image.
    from PIL import Image

    small = cv2.resize(image[:1500], (600, 750), interpolation=cv2.INTER_AREA)
    out = REPO / "docs" / "gait_report.png"
    Image.fromarray(small[..., ::-1]).quantize(64).save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
