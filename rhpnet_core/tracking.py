"""Person tracking across frames and the choice of the runner: a deterministic stage after detection.

Detections are associated with live tracks by the Hungarian method (scipy `linear_sum_assignment`)
on a similarity that blends box IoU with the OKS of the two persons' keypoints (COCO sigmas), gated
by a minimum similarity. Each track's box and keypoints are first moved by its smoothed velocity
(constant-velocity prediction, as SORT's Kalman filter does): without it, a passer-by walking in
front of a runner on a treadmill overlaps the runner's still box better than their own lagging one.

Unlike ultralytics' `model.track()`, every detected person stays in the output: a new or unassigned
person has `track_id = -1` until its track has `min_hits` hits. Public ids are never reused, not
even after `reset()`. A detection lying mostly inside a matched detection of the same frame starts
no track: detectors emit such duplicate boxes of one person (arms spread, half a body), and a rival
track born from one took the person's id on the sports2d demo. Pure numpy/scipy: no frames, no ROS.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from rhpnet_core.keypoints import COCO_SIGMAS

# Which person a rig publishes: everyone, or one runner chosen by box size, centrality or track age.
TARGETS = ("all", "largest", "central", "longest")


@dataclass
class Track:
    """One person followed over frames; `track_id` is -1 until confirmed."""

    key: int  # internal serial of every track, confirmed or not
    track_id: int
    box_xyxy: np.ndarray  # (4,) box of the last detection, image pixels
    keypoints: np.ndarray | None  # (K, 3) keypoints [x, y, score] of the last detection, or None
    hits: int  # frames seen, detected or followed
    first_frame: int
    detected_frame: int  # last detection: prediction and velocity start from it
    detected_stamp_s: float | None
    seen_frame: int  # last frame seen, detected or followed: expiry counts from it
    seen_stamp_s: float | None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # box centre, px per second (stamps) or frame


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of every pair: (A, 4) x (B, 4) xyxy -> (A, B)."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-12), 0.0)


def keypoint_oks(keypoints_a: np.ndarray, keypoints_b: np.ndarray, area_px2: float, sigmas: np.ndarray,
                 min_score: float = 0.3, min_joints: int = 3) -> float | None:
    """COCO object keypoint similarity of two poses (K, 3), over joints confident in both.

    `area_px2` is the object scale s^2 (here the reference box area). Returns None when fewer than
    `min_joints` joints are confident in both poses (OKS would be noise).
    """
    both = (keypoints_a[:, 2] >= min_score) & (keypoints_b[:, 2] >= min_score)
    if both.sum() < min_joints or area_px2 <= 0:
        return None
    squared_distance = np.sum((keypoints_a[both, :2] - keypoints_b[both, :2]) ** 2, axis=1)
    variances = (2.0 * sigmas[both]) ** 2  # pycocotools: (2 sigma)^2
    return float(np.mean(np.exp(-squared_distance / (2.0 * variances * area_px2))))


class PersonTracker:
    """Assigns stable ids to detected persons; one tracker per input stream.

    Args:
        iou_weight: weight of IoU in the similarity; OKS gets the rest when both poses have enough
            confident joints, otherwise IoU counts alone.
        min_similarity: gate; a detection and a track below it are never associated.
        min_hits: frames a track must be seen before it gets a public id (confirmation).
        max_age_s: a track unseen this long is dropped (used when frames carry stamps).
        max_age_frames: a track missing from more frames in a row is dropped (used without stamps);
            every `update`/`refresh` call is a frame.
        keypoint_score: joints below this score are ignored by OKS.
        sigmas: per-joint OKS constants; OKS is skipped for poses of another joint count.
        switch_margin: hysteresis of `largest`/`central`: another person takes over the selection
            only when it is better by this fraction.
        velocity_smoothing: weight of the newest displacement in the smoothed velocity.
        duplicate_overlap: an unmatched detection with this fraction of its area inside a matched one
            is a duplicate: kept in the output (id -1) but starts no track.
    """

    def __init__(self, iou_weight: float = 0.5, min_similarity: float = 0.2, min_hits: int = 3,
                 max_age_s: float = 1.0, max_age_frames: int = 30, keypoint_score: float = 0.3,
                 sigmas: Sequence[float] = COCO_SIGMAS, switch_margin: float = 0.2,
                 velocity_smoothing: float = 0.5, duplicate_overlap: float = 0.8) -> None:
        if not 0.0 <= iou_weight <= 1.0:
            raise ValueError(f"iou_weight must be in [0, 1], got {iou_weight}")
        if min_hits < 1 or max_age_frames < 1 or max_age_s <= 0:
            raise ValueError(f"min_hits, max_age_frames and max_age_s must be positive, got "
                             f"{min_hits}, {max_age_frames}, {max_age_s}")
        self.iou_weight, self.min_similarity, self.min_hits = iou_weight, min_similarity, min_hits
        self.max_age_s, self.max_age_frames = max_age_s, max_age_frames
        self.keypoint_score, self.switch_margin = keypoint_score, switch_margin
        self.velocity_smoothing, self.duplicate_overlap = velocity_smoothing, duplicate_overlap
        self.sigmas = np.asarray(sigmas, dtype=np.float64)
        self.next_track_id = 1  # survives reset(): public ids are never reused
        self.next_key = 0
        self.reset()

    def reset(self) -> None:
        """Forget every track and the selection (new stream, replay restart)."""
        self.tracks: list[Track] = []
        self.frame = -1
        self.stamp_s: float | None = None
        self.selected_key: int | None = None

    def update(self, boxes_xyxy: np.ndarray, keypoints: np.ndarray | None = None,
               stamp_s: float | None = None) -> list[Track]:
        """Associate this frame's detections with the tracks.

        Args:
            boxes_xyxy: (N, 4) detected boxes, image pixels.
            keypoints: (N, K, 3) their keypoints [x, y, score] or None.
            stamp_s: frame time in seconds (ages in seconds), or None (ages in frames).
        Returns:
            The track of each detection, in detection order (new tracks for unmatched ones).
        """
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        poses = None if keypoints is None or not len(boxes) else np.asarray(keypoints, dtype=np.float64)
        if poses is not None and (poses.ndim != 3 or poses.shape[0] != len(boxes) or poses.shape[2] != 3):
            raise ValueError(f"expected keypoints ({len(boxes)}, K, 3) for {len(boxes)} boxes, got {poses.shape}")
        self._advance(stamp_s)
        rows, cols = self._associate(boxes, poses)
        assigned: list[Track | None] = [None] * len(boxes)
        for row, col in zip(rows, cols):
            assigned[col] = self.tracks[row]
            self._observe(self.tracks[row], boxes[col], None if poses is None else poses[col])
        duplicates = self._duplicates(boxes, cols)
        for index in range(len(boxes)):
            if assigned[index] is None:
                pose = None if poses is None else poses[index]
                track = Track(self.next_key, -1, boxes[index], pose, 0, self.frame, self.frame, self.stamp_s,
                              self.frame, self.stamp_s)
                self.next_key += 1
                if not duplicates[index]:
                    self.tracks.append(track)
                    self._observe(track, boxes[index], pose)
                assigned[index] = track
        return assigned

    def refresh(self, tracks: Sequence[Track], stamp_s: float | None = None) -> None:
        """A frame without detection on which `tracks` (from an earlier `update`) were followed by other
        means (their keypoints): they stay alive and count a hit. Their box, keypoints and velocity stay
        those of their last detection, so the next detection is matched detector to detector (a box
        made from another model's keypoints is narrower than a detector's box of spread arms).
        """
        self._advance(stamp_s)
        for track in tracks:
            if any(track is live for live in self.tracks):
                self._seen(track)

    def select(self, tracks: Sequence[Track], target: str, image_size_wh: tuple[int, int]) -> list[int]:
        """Indices into `tracks` (this frame's persons) of the target: all, or the runner (0 or 1).

        `longest` picks the confirmed track seen first; `largest` the largest box; `central` the box
        centre closest to the image centre. The selection sticks to its track while that track lives
        (hysteresis): for `longest` always, for `largest`/`central` unless another person is better by
        `switch_margin`. When the selected track is not in this frame, nobody is returned.
        """
        if target not in TARGETS:
            raise ValueError(f"target '{target}' not understood; expected one of {', '.join(TARGETS)}")
        if target == "all":
            return list(range(len(tracks)))
        live = {track.key: track for track in self.tracks}
        current = live.get(self.selected_key) if self.selected_key is not None else None
        candidates = [i for i, track in enumerate(tracks) if target != "longest" or track.track_id >= 0]
        if candidates:
            merit = self._merit(target, tracks, candidates, image_size_wh)
            best = candidates[int(np.argmax(merit))]
            if current is None:
                current = tracks[best]
            elif target != "longest" and tracks[best].key != current.key:
                current_merit = self._merit(target, [current], [0], image_size_wh)[0]
                if merit.max() > current_merit + self.switch_margin * abs(current_merit):
                    current = tracks[best]
        self.selected_key = None if current is None else current.key
        return [i for i, track in enumerate(tracks) if current is not None and track.key == current.key]

    def _merit(self, target: str, tracks: Sequence[Track], indices: Sequence[int],
               image_size_wh: tuple[int, int]) -> np.ndarray:
        """Larger is better: box area, minus distance to the image centre, or track age."""
        boxes = np.array([tracks[i].box_xyxy for i in indices], dtype=np.float64).reshape(-1, 4)
        if target == "largest":
            return np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None), axis=1)
        if target == "central":
            centre = np.asarray(image_size_wh, dtype=np.float64) / 2.0
            return -np.linalg.norm((boxes[:, :2] + boxes[:, 2:]) / 2.0 - centre, axis=1)
        # longest: earliest first frame (frames and stamps grow together within one stream); key breaks ties
        return np.array([-(tracks[i].first_frame + 1e-9 * tracks[i].key) for i in indices])

    def _advance(self, stamp_s: float | None) -> None:
        """Next frame: drop tracks older than the max age."""
        self.frame += 1
        self.stamp_s = None if stamp_s is None else float(stamp_s)
        self.tracks = [track for track in self.tracks if not self._expired(track)]

    def _expired(self, track: Track) -> bool:
        if self.stamp_s is not None and track.seen_stamp_s is not None:
            return self.stamp_s - track.seen_stamp_s > self.max_age_s
        return self.frame - track.seen_frame - 1 > self.max_age_frames  # frames missed in a row

    def _elapsed(self, track: Track) -> float:
        """Time since the track's last detection: seconds when both frames carry stamps, else frames."""
        if self.stamp_s is not None and track.detected_stamp_s is not None:
            return max(self.stamp_s - track.detected_stamp_s, 1e-3)
        return float(self.frame - track.detected_frame)

    def _predicted(self, track: Track) -> tuple[np.ndarray, np.ndarray | None]:
        """The track's box (4,) and keypoints (K, 3) moved to this frame by its velocity."""
        shift = track.velocity * self._elapsed(track)
        box = track.box_xyxy + np.tile(shift, 2)
        if track.keypoints is None:
            return box, None
        return box, track.keypoints + np.append(shift, 0.0)

    def _observe(self, track: Track, box: np.ndarray, pose: np.ndarray | None) -> None:
        box = np.asarray(box, dtype=np.float64)
        if track.hits:
            displacement = ((box[:2] + box[2:]) - (track.box_xyxy[:2] + track.box_xyxy[2:])) / 2.0
            measured = displacement / self._elapsed(track)
            weight = 1.0 if track.hits == 1 else self.velocity_smoothing
            track.velocity = (1.0 - weight) * track.velocity + weight * measured
        track.box_xyxy = box
        if pose is not None:
            track.keypoints = np.asarray(pose, dtype=np.float64)
        track.detected_frame, track.detected_stamp_s = self.frame, self.stamp_s
        self._seen(track)

    def _seen(self, track: Track) -> None:
        track.hits += 1
        track.seen_frame, track.seen_stamp_s = self.frame, self.stamp_s
        if track.track_id < 0 and track.hits >= self.min_hits:
            track.track_id = self.next_track_id
            self.next_track_id += 1

    def _associate(self, boxes: np.ndarray, poses: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(track rows, detection columns) of the gated optimal assignment."""
        if not self.tracks or not len(boxes):
            return np.zeros(0, int), np.zeros(0, int)
        predicted = [self._predicted(track) for track in self.tracks]
        similarity = box_iou(np.array([box for box, _ in predicted]), boxes)
        if poses is not None and poses.shape[1] == len(self.sigmas):
            for row, (box, track_pose) in enumerate(predicted):
                if track_pose is None or track_pose.shape != poses.shape[1:]:
                    continue
                area = float(np.prod(np.clip(box[2:] - box[:2], 0.0, None)))
                for col in range(len(boxes)):
                    oks = keypoint_oks(track_pose, poses[col], area, self.sigmas, self.keypoint_score)
                    if oks is not None:
                        similarity[row, col] = self.iou_weight * similarity[row, col] + (1 - self.iou_weight) * oks
        # Confirmed tracks first: a tie between a confirmed and a new track goes to the confirmed one.
        confirmed = np.array([track.track_id >= 0 for track in self.tracks])
        cost = 1.0 - similarity - 1e-6 * confirmed[:, None]
        rows, cols = linear_sum_assignment(cost)
        keep = similarity[rows, cols] >= self.min_similarity
        return rows[keep], cols[keep]

    def _duplicates(self, boxes: np.ndarray, matched: np.ndarray) -> np.ndarray:
        """(N,) bool: the detection lies mostly (`duplicate_overlap` of its area) inside a matched one."""
        if not len(matched):
            return np.zeros(len(boxes), dtype=bool)
        top_left = np.maximum(boxes[:, None, :2], boxes[None, matched, :2])
        bottom_right = np.minimum(boxes[:, None, 2:], boxes[None, matched, 2:])
        inside = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=2)
        area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None), axis=1)
        duplicate = inside.max(axis=1) >= self.duplicate_overlap * np.maximum(area, 1e-12)
        duplicate[matched] = False
        return duplicate
