"""Offline scoring (`rhpnet score`): the live pipeline over a bag's camera topic, a new bag of Keypoints
aligned to the original stamps, comparisons between estimators and against ground truth.

Frames go through the same `PosePipeline` call as in the pose node (`pipeline(rgb, stamp_s)` with the
header stamp), and the message content comes from the same `keypoints_fields`, so scoring a bag with
the live settings reproduces the live Keypoints. Nothing depends on wall time: the same bag scored
twice gives byte-identical output.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Writer
from rosbags.rosbag2.metadata import parse_qos
from scipy.optimize import linear_sum_assignment

from rhpnet_core.bags.export import stamp_ns
from rhpnet_core.bags.images import FrameError, frame_to_rgb
from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE, keypoints_arrays, keypoints_fields, keypoints_message
from rhpnet_core.bags.reader import BagError, BagReader
from rhpnet_core.bags.recording import STORAGES
from rhpnet_core.bags.types import project_typestore

log = logging.getLogger(__name__)
SCORED_BAG = "scored"
FrameKey = tuple[int, str]  # (header stamp ns, frame_id)


@dataclass
class FramePoses:
    boxes_xywh: np.ndarray  # (N, 4)
    keypoints: np.ndarray  # (N, K, 3) [x, y, score or visibility]
    scores: np.ndarray  # (N,) person scores (1 for ground truth)


def choose_topic(reader: BagReader, msgtypes: tuple[str, ...], what: str, topic: str | None) -> str:
    """`topic` if given (checked), else the bag's only topic of `msgtypes`."""
    if topic:
        if topic not in reader.topics:
            raise BagError(f"bag {reader.path} has no topic {topic}; topics: {', '.join(sorted(reader.topics))}")
        return topic
    candidates = reader.topics_of_type(*msgtypes)
    if len(candidates) != 1:
        raise BagError(f"bag {reader.path} has {len(candidates)} {what} topics ({', '.join(candidates) or 'none'}); "
                       f"name one with --{'topic' if what == 'camera' else 'compare'}")
    return candidates[0]


def default_keypoints_topic(image_topic: str) -> str:
    """`/rig1/image` -> `/rig1/keypoints`; `/cam/image_raw/compressed` -> `/cam/keypoints`."""
    base = image_topic[: -len("/compressed")] if image_topic.endswith("/compressed") else image_topic
    parent = base.rsplit("/", 1)[0]
    return f"{parent}/keypoints"


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def score_bag(reader: BagReader, pipeline, output: Path, image_topic: str, keypoints_topic: str,
              include_source: bool = False, custom_data: dict[str, str] | None = None,
              progress: Callable[[int], Any] | None = None) -> dict[FrameKey, FramePoses]:
    """Run `pipeline` on every frame of `image_topic`; write `output/scored/` (Keypoints on
    `keypoints_topic`, log time and header of each source frame; with `include_source` every other
    topic too). Returns the new poses by (stamp, frame_id). `progress(n)` is called per frame."""
    store = project_typestore()
    writer = Writer(output / SCORED_BAG, version=Writer.VERSION_LATEST, storage_plugin=STORAGES["mcap"])
    for key, value in sorted({"source_bag": str(reader.path), "image_topic": image_topic,
                              "model": pipeline.model_name, **(custom_data or {})}.items()):
        writer.set_custom_data(key, value)
    poses: dict[FrameKey, FramePoses] = {}
    skipped = 0
    with writer:
        kp_conn = writer.add_connection(keypoints_topic, KEYPOINTS_TYPE, typestore=store)
        copied = {}
        if include_source:
            for name, topic in sorted(reader.topics.items()):
                if name != keypoints_topic:
                    copied[name] = writer.add_connection(
                        name, topic.msgtype, msgdef=topic.definition or None, rihs01=reader.type_hash(name),
                        typestore=reader.typestore_for(topic.msgtype),
                        offered_qos_profiles=parse_qos(topic.offered_qos))
        for message in reader.messages(None if include_source else [image_topic]):
            if message.topic in copied:
                writer.write(copied[message.topic], message.log_time_ns, message.data)
            if message.topic != image_topic:
                continue
            msg = reader.decode(message)
            try:
                rgb = frame_to_rgb(msg, message.msgtype)
            except FrameError as exc:
                skipped += 1
                log.warning("skipped frame %d of %s: %s", stamp_ns(msg.header), image_topic, exc)
                continue
            stamp = stamp_ns(msg.header)
            result = pipeline(rgb, stamp * 1e-9)
            fields = keypoints_fields(result, rgb.shape[1], rgb.shape[0])
            out = keypoints_message(store, fields, msg.header)
            writer.write(kp_conn, message.log_time_ns, store.serialize_cdr(out, KEYPOINTS_TYPE))
            poses[(stamp, msg.header.frame_id)] = _poses(out)
            if progress is not None:
                progress(1)
    if skipped:
        log.warning("%d frames of %s could not be decoded and were skipped", skipped, image_topic)
    return poses


def _poses(msg) -> FramePoses:
    boxes, scores, keypoints, _ = keypoints_arrays(msg)
    return FramePoses(boxes, keypoints, scores)


def recorded_poses(reader: BagReader, topic: str) -> dict[FrameKey, FramePoses]:
    """The poses of a Keypoints topic by (stamp, frame_id)."""
    poses = {}
    for message in reader.messages([topic]):
        msg = reader.decode(message)
        poses[(stamp_ns(msg.header), msg.header.frame_id)] = _poses(msg)
    return poses


def compare_poses(reference: dict[FrameKey, FramePoses], candidate: dict[FrameKey, FramePoses],
                  keypoint_names: list[str], pck_threshold: float = 0.05, tolerance_px: float = 1.0,
                  visible_only: bool = False) -> dict[str, Any]:
    """Per-joint mean distance (px), PCK (distance < `pck_threshold` x max(box w, h) of the reference
    person), and frames/persons that differ (unmatched, or a joint further than `tolerance_px`).
    Persons are matched per frame by minimum mean joint distance (Hungarian). `visible_only`: joints
    with reference visibility/score 0 are ignored (ground truth)."""
    k = len(keypoint_names)
    distance_sum, hits, counted = np.zeros(k), np.zeros(k), np.zeros(k)
    frames = sorted(set(reference) | set(candidate))
    differing_frames = identical_frames = differing_persons = matched_persons = 0
    for key in frames:
        ref, cand = reference.get(key), candidate.get(key)
        if ref is None or cand is None:
            differing_frames += 1
            differing_persons += len((ref or cand).keypoints)
            continue
        identical_frames += int(ref.keypoints.shape == cand.keypoints.shape and np.array_equal(
            ref.keypoints, cand.keypoints) and np.array_equal(ref.boxes_xywh, cand.boxes_xywh))
        masks = (ref.keypoints[..., 2] > 0) if visible_only else np.ones(ref.keypoints.shape[:2], bool)
        dist = np.linalg.norm(ref.keypoints[:, None, :, :2] - cand.keypoints[None, :, :, :2], axis=-1)  # (R, C, K)
        cost = np.where(masks[:, None, :], dist, 0.0).sum(-1) / np.maximum(masks.sum(-1), 1)[:, None]
        rows, cols = linear_sum_assignment(cost) if cost.size else (np.array([], int), np.array([], int))
        frame_differs = len(ref.keypoints) != len(cand.keypoints)
        differing_persons += abs(len(ref.keypoints) - len(cand.keypoints))
        for r, c in zip(rows, cols):
            mask, d = masks[r], dist[r, c]
            scale = max(float(ref.boxes_xywh[r, 2]), float(ref.boxes_xywh[r, 3]), 1e-6)
            distance_sum += np.where(mask, d, 0.0)
            hits += mask & (d < pck_threshold * scale)
            counted += mask
            matched_persons += 1
            if (d[mask] > tolerance_px).any():
                differing_persons += 1
                frame_differs = True
        differing_frames += int(frame_differs)
    per_joint = {name: {"mean_distance_px": round(float(distance_sum[j] / counted[j]), 4) if counted[j] else None,
                        f"pck@{pck_threshold}": round(float(hits[j] / counted[j]), 4) if counted[j] else None}
                 for j, name in enumerate(keypoint_names)}
    total = counted.sum()
    return {"frames": len(frames), "frames_in_reference": len(reference), "frames_in_candidate": len(candidate),
            "identical_frames": identical_frames, "differing_frames": differing_frames,
            "matched_persons": matched_persons, "differing_persons": differing_persons,
            "tolerance_px": tolerance_px, "pck_threshold": pck_threshold,
            "pck_normaliser": "max(box width, box height) of the reference person",
            "mean_distance_px": round(float(distance_sum.sum() / total), 4) if total else None,
            f"pck@{pck_threshold}": round(float(hits.sum() / total), 4) if total else None,
            "per_joint": per_joint}


def format_comparison(comparison: dict[str, Any], reference: str, candidate: str) -> str:
    """The comparison as a table: one row per joint, then the totals."""
    pck_key = f"pck@{comparison['pck_threshold']}"
    lines = [f"reference: {reference}", f"candidate: {candidate}",
             f"{'joint':<16} {'mean px':>9} {pck_key:>10}"]
    for name, row in comparison["per_joint"].items():
        mean = "-" if row["mean_distance_px"] is None else f"{row['mean_distance_px']:.3f}"
        pck = "-" if row[pck_key] is None else f"{row[pck_key]:.3f}"
        lines.append(f"{name:<16} {mean:>9} {pck:>10}")
    mean = "-" if comparison["mean_distance_px"] is None else f"{comparison['mean_distance_px']:.3f}"
    pck = "-" if comparison[pck_key] is None else f"{comparison[pck_key]:.3f}"
    lines.append(f"{'all':<16} {mean:>9} {pck:>10}")
    lines.append(f"frames {comparison['frames']}: identical {comparison['identical_frames']}, differing "
                 f"{comparison['differing_frames']} (> {comparison['tolerance_px']} px or persons differ); persons "
                 f"matched {comparison['matched_persons']}, differing {comparison['differing_persons']}")
    return "\n".join(lines)


def ground_truth_poses(gt: dict[str, Any]) -> tuple[dict[FrameKey, FramePoses], dict[int, int]]:
    """Poses of a COCO keypoint json whose images carry `stamp_ns` (and optionally `frame_id`), and the
    map stamp_ns -> image id."""
    image_ids, poses = {}, {}
    by_image: dict[int, list] = {}
    for ann in gt.get("annotations", []):
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image in gt.get("images", []):
        if "stamp_ns" not in image:
            raise ValueError(f"ground-truth image {image.get('id')} has no 'stamp_ns'; expected the bag's header "
                             f"stamp of its frame (as `rhpnet bag export` writes)")
        image_ids[int(image["stamp_ns"])] = image["id"]
        anns = [a for a in by_image.get(image["id"], []) if a.get("num_keypoints", 1) > 0]
        keypoints = np.array([a["keypoints"] for a in anns], dtype=np.float32).reshape(len(anns), -1, 3)
        boxes = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(len(anns), 4)
        poses[(int(image["stamp_ns"]), image.get("frame_id", ""))] = FramePoses(boxes, keypoints, np.ones(len(anns)))
    return poses, image_ids


def ground_truth_metrics(gt: dict[str, Any], predictions: dict[FrameKey, FramePoses], keypoint_names: list[str],
                         pck_threshold: float = 0.05) -> dict[str, Any]:
    """OKS AP (pycocotools through rhpnet_core.eval) and PCK of the predictions on the annotated frames."""
    from rhpnet_core.eval.coco_eval import keypoint_stats, load_coco_gt

    truth, image_ids = ground_truth_poses(gt)
    frame_ids = {stamp: frame_id for stamp, frame_id in truth}
    results, matched = [], {}
    for (stamp, frame_id), pose in predictions.items():
        if stamp not in image_ids:
            continue
        matched[(stamp, frame_ids[stamp])] = pose
        for person, score in zip(pose.keypoints, pose.scores):
            results.append({"image_id": image_ids[stamp], "category_id": 1,
                            "keypoints": [float(v) for v in person.reshape(-1)], "score": float(score)})
    if not matched:
        raise ValueError("no ground-truth image stamp matches a frame of the bag; images need the header "
                         "stamps of the scored camera topic in 'stamp_ns'")
    metrics = {"annotated_frames": len(truth), "scored_annotated_frames": len(matched),
               "oks": keypoint_stats(load_coco_gt(gt), results)}
    metrics["pck"] = compare_poses(truth, matched, keypoint_names, pck_threshold, visible_only=True)
    return metrics


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
