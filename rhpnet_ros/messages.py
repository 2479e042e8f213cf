"""rhpnet_core.PoseResult <-> rhpnet/msg/Keypoints."""
from __future__ import annotations

import numpy as np
from std_msgs.msg import Header

from rhpnet.msg import Keypoint, Keypoints, PersonKeypoints
from rhpnet_core.pipeline import PoseResult


def result_to_msg(result: PoseResult, header: Header, image_width: int, image_height: int) -> Keypoints:
    """A Keypoints message with the source image's header (stamp, frame_id untouched)."""
    msg = Keypoints()
    msg.header = header
    msg.image_width, msg.image_height = int(image_width), int(image_height)
    msg.keypoint_names = list(result.keypoint_names)
    msg.model = result.model
    for box, score, person in zip(result.boxes_xyxy, result.scores, result.keypoints):
        x0, y0, x1, y1 = (float(v) for v in box)
        msg.persons.append(PersonKeypoints(
            track_id=-1, score=float(score), box_x=x0, box_y=y0, box_width=x1 - x0, box_height=y1 - y0,
            keypoints=[Keypoint(x=float(x), y=float(y), score=float(np.clip(s, 0.0, 1.0))) for x, y, s in person]))
    return msg


def msg_to_arrays(msg: Keypoints) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes_xywh (N, 4), scores (N,), keypoints (N, K, 3)) of a Keypoints message."""
    k = len(msg.keypoint_names)
    boxes = np.array([[p.box_x, p.box_y, p.box_width, p.box_height] for p in msg.persons],
                     dtype=np.float32).reshape(-1, 4)
    scores = np.array([p.score for p in msg.persons], dtype=np.float32)
    keypoints = np.array([[[kp.x, kp.y, kp.score] for kp in p.keypoints] for p in msg.persons],
                         dtype=np.float32).reshape(len(msg.persons), k, 3)
    return boxes, scores, keypoints
