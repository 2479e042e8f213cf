"""Real footage installed by registries (never committed): ultralytics' assets, Debian's opencv-doc."""
from __future__ import annotations

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
