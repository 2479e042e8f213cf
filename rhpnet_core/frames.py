"""Frames from a video file, an image folder or a single image (camera_replay, rhpnet predict)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class FrameSource:
    """Iterates BGR uint8 frames (H, W, 3) of `source`; `fps` is the source's own rate (None for images)."""

    def __init__(self, source: str | Path) -> None:
        self.path = Path(source).expanduser()
        if not self.path.exists():
            raise FileNotFoundError(f"camera source '{self.path}' does not exist")
        self.fps: float | None = None
        self.unreadable: list[Path] = []  # images that failed to decode, skipped
        if self.path.is_dir():
            self.images = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.images:
                raise ValueError(f"camera source folder '{self.path}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        elif self.path.suffix.lower() in IMAGE_SUFFIXES:
            self.images = [self.path]
        else:
            self.images = []
            capture = cv2.VideoCapture(str(self.path))
            if not capture.isOpened():
                raise ValueError(f"camera source '{self.path}' is neither an image, a folder nor a readable video")
            fps = capture.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps and fps > 0 else None
            capture.release()

    def frames(self) -> Iterator[np.ndarray]:
        """One pass over the source; images that fail to decode are skipped and listed in `unreadable`."""
        if self.images:
            for image_path in self.images:
                frame = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
                if frame is None:
                    self.unreadable.append(image_path)
                    continue
                yield frame
            return
        capture = cv2.VideoCapture(str(self.path))
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    return
                yield frame
        finally:
            capture.release()
