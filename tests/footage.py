"""Real footage installed by registries (never committed): ultralytics' assets, Debian's opencv-doc,
the sports2d wheel's demo video (extracted by `make setup`)."""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np


def ultralytics_asset(name: str) -> Path:
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets" / name


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"cannot read {path}"
    return np.ascontiguousarray(image[..., ::-1])


VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
# A person moving side-on among distractors, 30 fps (sports2d wheel, extracted by tools/setup_env.sh).
SPORTS2D_DEMO = Path(sys.prefix) / "share" / "rhpnet-footage" / "sports2d_demo.mp4"
