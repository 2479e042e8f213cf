"""The content of an `rhpnet/msg/Keypoints` message, in one place for the live node and offline scoring.

`keypoints_fields(result, ...)` turns a PoseResult into plain Python values (the message minus its
header); the pose node builds its rclpy message from them (`rhpnet_ros.messages.result_to_msg`) and
`rhpnet score` builds a rosbags message from them (`keypoints_message`), so live and offline bytes
agree. `keypoints_arrays` reads either kind of message back into arrays.
"""
from __future__ import annotations

from typing import Any

import numpy as np

KEYPOINTS_TYPE = "rhpnet/msg/Keypoints"


def keypoints_fields(result, image_width: int, image_height: int) -> dict[str, Any]:
    """Fields of a Keypoints message (all but `header`) for a PoseResult: every person and every
    keypoint (never filtered), boxes as top-left + size in px, keypoint scores clipped to [0, 1]."""
    persons = []
    for box, score, person, track_id in zip(result.boxes_xyxy, result.scores, result.keypoints, result.track_ids):
        x0, y0, x1, y1 = (float(v) for v in box)
        persons.append({
            "track_id": int(track_id), "score": float(score),
            "box_x": x0, "box_y": y0, "box_width": x1 - x0, "box_height": y1 - y0,
            "keypoints": [{"x": float(x), "y": float(y), "score": float(np.clip(s, 0.0, 1.0))} for x, y, s in person],
        })
    return {"image_width": int(image_width), "image_height": int(image_height),
            "keypoint_names": list(result.keypoint_names), "model": result.model, "persons": persons}


def keypoints_message(store, fields: dict[str, Any], header):
    """A rosbags `rhpnet/msg/Keypoints` from `keypoints_fields(...)` and a (rosbags) std_msgs Header."""
    keypoint_cls = store.types["rhpnet/msg/Keypoint"]
    person_cls = store.types["rhpnet/msg/PersonKeypoints"]
    persons = [person_cls(**{**person, "keypoints": [keypoint_cls(**kp) for kp in person["keypoints"]]})
               for person in fields["persons"]]
    return store.types[KEYPOINTS_TYPE](header=header, **{**fields, "persons": persons})


def keypoints_arrays(msg) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(boxes_xywh (N, 4), scores (N,), keypoints (N, K, 3) [x, y, score], track_ids (N,)) of a
    Keypoints message (rclpy or rosbags)."""
    k = len(msg.keypoint_names)
    n = len(msg.persons)
    boxes = np.array([[p.box_x, p.box_y, p.box_width, p.box_height] for p in msg.persons],
                     dtype=np.float32).reshape(n, 4)
    scores = np.array([p.score for p in msg.persons], dtype=np.float32).reshape(n)
    keypoints = np.array([[[kp.x, kp.y, kp.score] for kp in p.keypoints] for p in msg.persons],
                         dtype=np.float32).reshape(n, k, 3)
    track_ids = np.array([p.track_id for p in msg.persons], dtype=np.int32).reshape(n)
    return boxes, scores, keypoints, track_ids
