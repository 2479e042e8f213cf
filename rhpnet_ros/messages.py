"""rhpnet_core.PoseResult <-> rhpnet/msg/Keypoints; the static PoseModelInfo."""
from __future__ import annotations

import numpy as np
from std_msgs.msg import Header

from rhpnet.msg import Keypoint, Keypoints, PersonKeypoints, PoseModelInfo
from rhpnet_core.bags.keypoints import keypoints_fields
from rhpnet_core.pipeline import PoseResult


def result_to_msg(result: PoseResult, header: Header, image_width: int, image_height: int) -> Keypoints:
    """A Keypoints message with the source image's header (stamp, frame_id untouched). Its content
    comes from `keypoints_fields`, the function `rhpnet score` uses too (live == offline bytes)."""
    fields = keypoints_fields(result, image_width, image_height)
    persons = [PersonKeypoints(**{**person, "keypoints": [Keypoint(**kp) for kp in person["keypoints"]]})
               for person in fields.pop("persons")]
    return Keypoints(header=header, persons=persons, **fields)


def msg_to_arrays(msg: Keypoints) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes_xywh (N, 4), scores (N,), keypoints (N, K, 3)) of a Keypoints message."""
    k = len(msg.keypoint_names)
    boxes = np.array([[p.box_x, p.box_y, p.box_width, p.box_height] for p in msg.persons],
                     dtype=np.float32).reshape(-1, 4)
    scores = np.array([p.score for p in msg.persons], dtype=np.float32)
    keypoints = np.array([[[kp.x, kp.y, kp.score] for kp in p.keypoints] for p in msg.persons],
                         dtype=np.float32).reshape(len(msg.persons), k, 3)
    return boxes, scores, keypoints


def model_info_msg(header: Header, model: str, estimator: str, keypoint_names: tuple[str, ...],
                   skeleton: tuple[tuple[int, int], ...], input_size_wh: tuple[int, int], detector_imgsz: int,
                   backend: str, precision: str, device: str) -> PoseModelInfo:
    """The static PoseModelInfo of a node (published once, transient local)."""
    return PoseModelInfo(header=header, model=model, estimator=estimator, keypoint_names=list(keypoint_names),
                         skeleton_from=[int(a) for a, _ in skeleton], skeleton_to=[int(b) for _, b in skeleton],
                         input_width=int(input_size_wh[0]), input_height=int(input_size_wh[1]),
                         detector_imgsz=int(detector_imgsz), backend=backend, precision=precision, device=device)
