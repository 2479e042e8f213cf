"""Stick-figure frames and videos of a COCO-17 keypoint track (no camera image behind them).

The synthetic-runner demo draws its generated track with the same `draw_poses` as the pose node's
annotated video, on a plain background with the belt line, the clock and the gait events found by
the analysis (each label shown for `EVENT_LABEL_S` after the event).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from rhpnet_core.gait.types import GaitEvent
from rhpnet_core.visualize import draw_poses

BACKGROUND_BGR = (245, 240, 235)
BELT_BGR = (90, 90, 90)
EVENT_BGR = {"initial_contact": (0, 0, 200), "toe_off": (200, 120, 0)}
EVENT_LABEL_S = 0.2
ANKLES = {"left": 15, "right": 16}


def belt_line_y(keypoints: np.ndarray) -> float:
    """Image row of the belt: the 95th percentile of both ankles' y over the track (T, 17, 3)."""
    ankles_y = keypoints[:, [ANKLES["left"], ANKLES["right"]], 1]
    return float(np.nanpercentile(ankles_y, 95))


def stick_frame(person: np.ndarray, image_size: tuple[int, int], time_s: float, belt_y: float | None = None,
                events: Sequence[GaitEvent] = (), title: str = "") -> np.ndarray:
    """One BGR frame (H, W, 3) of size `image_size` = (W, H): the person's keypoints (17, 3) as a
    stick figure, the belt line at `belt_y`, the time, and a label for each event in `events`."""
    width, height = image_size
    canvas = np.full((height, width, 3), BACKGROUND_BGR, np.uint8)
    scale = max(1, round(max(width, height) / 640))
    if belt_y is not None:
        cv2.line(canvas, (0, round(belt_y)), (width, round(belt_y)), BELT_BGR, 2 * scale)
    seen = person[np.isfinite(person[:, :2]).all(axis=1)]
    if len(seen):
        box = np.array([[*seen[:, :2].min(axis=0), *seen[:, :2].max(axis=0)]], np.float32)
        canvas = draw_poses(canvas, box, np.nan_to_num(person[None]), min_score=0.0)
    for row, event in enumerate(events):
        x, y = person[ANKLES[event.side], :2]
        color = EVENT_BGR[event.kind]
        if np.isfinite([x, y]).all():
            cv2.circle(canvas, (round(x), round(y)), 9 * scale, color, 2 * scale, cv2.LINE_AA)
        cv2.putText(canvas, f"{event.kind.replace('_', ' ')} {event.side}", (12 * scale, (60 + 26 * row) * scale),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.7 * scale, color, scale + 1, cv2.LINE_AA)
    cv2.putText(canvas, f"{title}  t={time_s:5.2f} s".strip(), (12 * scale, 30 * scale), cv2.FONT_HERSHEY_SIMPLEX,
                0.7 * scale, (40, 40, 40), scale + 1, cv2.LINE_AA)
    return canvas


def write_stick_video(path: str | Path, times_s: np.ndarray, keypoints: np.ndarray, image_size: tuple[int, int],
                      fps: float, events: Sequence[GaitEvent] = (), title: str = "") -> int:
    """Write the track (times_s (T,), keypoints (T, 17, 3) image px + score) as an mp4 at `fps`,
    one frame per track sample; returns the number of frames written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, image_size)
    if not writer.isOpened():
        raise ValueError(f"cannot write video {path}; expected a writable .mp4 path")
    belt_y = belt_line_y(keypoints)
    try:
        for time_s, person in zip(times_s, keypoints):
            recent = [e for e in events if 0.0 <= time_s - e.time_s < EVENT_LABEL_S]
            writer.write(stick_frame(person, image_size, float(time_s), belt_y, recent, title))
    finally:
        writer.release()
    return len(times_s)
