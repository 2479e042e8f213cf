"""Pose overlays for viewers: visualization_msgs/ImageMarker (Foxglove's Image panel) per frame.

Foxglove keeps one annotation message per topic and pairs it with the image of the identical stamp,
so each frame gets exactly two markers on two topics: every bone of every person in one LINE_LIST,
every joint in one POINTS, both with the image's header. An empty frame gets empty markers (clears
the previous overlay). Colours follow the track id, so a person keeps its colour.
"""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import ImageMarker

from rhpnet_core.pipeline import PoseResult

# Distinct colours (RGB in [0, 1]) cycled by track id; untracked persons (-1) are grey.
PALETTE = np.array([(0.12, 0.47, 0.71), (1.0, 0.5, 0.05), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16),
                    (0.58, 0.4, 0.74), (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.74, 0.74, 0.13),
                    (0.09, 0.75, 0.81)], np.float32)
UNTRACKED = (0.6, 0.6, 0.6)


def person_colour(track_id: int) -> ColorRGBA:
    r, g, b = UNTRACKED if track_id < 0 else PALETTE[track_id % len(PALETTE)]
    return ColorRGBA(r=float(r), g=float(g), b=float(b), a=1.0)


def _marker(header: Header, ns: str, kind: int, scale_px: float) -> ImageMarker:
    return ImageMarker(header=header, ns=ns, id=0, type=kind, action=ImageMarker.ADD, scale=float(scale_px),
                       lifetime=Duration(), filled=0)


def pose_markers(result: PoseResult, header: Header, skeleton: tuple[tuple[int, int], ...],
                 min_score: float, scale_px: float = 2.0) -> tuple[ImageMarker, ImageMarker]:
    """(bones LINE_LIST, joints POINTS) of every person in `result`; keypoints scoring below
    `min_score` and bones touching them are left out. Per-point colours in `outline_colors`."""
    bones = _marker(header, "rhpnet/bones", ImageMarker.LINE_LIST, scale_px)
    joints = _marker(header, "rhpnet/joints", ImageMarker.POINTS, 2.0 * scale_px)
    for person, track_id in zip(result.keypoints, result.track_ids):
        colour = person_colour(int(track_id))
        visible = person[:, 2] >= min_score
        for a, b in skeleton:
            if visible[a] and visible[b]:
                bones.points += [Point(x=float(person[a, 0]), y=float(person[a, 1])),
                                 Point(x=float(person[b, 0]), y=float(person[b, 1]))]
                bones.outline_colors += [colour, colour]
        for x, y, _ in person[visible]:
            joints.points.append(Point(x=float(x), y=float(y)))
            joints.outline_colors.append(colour)
    return bones, joints
