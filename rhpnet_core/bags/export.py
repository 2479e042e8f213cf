"""`rhpnet bag export`: a camera topic to an mp4 (+ per-frame stamps csv), a Keypoints topic to
COCO-format json and a csv. Images in the COCO json carry `stamp_ns` (the header stamp), so the file
can be corrected by hand and given back to `rhpnet score --ground-truth`.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rhpnet_core.bags.images import IMAGE_TYPES, FrameError, frame_to_rgb
from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE, keypoints_arrays
from rhpnet_core.bags.reader import BagError, BagReader
from rhpnet_core.keypoints import LAYOUTS

log = logging.getLogger(__name__)
DEFAULT_FPS = 30.0


def stamp_ns(header) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def topic_slug(topic: str) -> str:
    return topic.strip("/").replace("/", "_") or "root"


def export_topic(bag: str | Path, topic: str, output: str | Path) -> list[Path]:
    """Export `topic` of BAG into the folder `output`; returns the files written."""
    reader = BagReader(bag)
    if topic not in reader.topics:
        raise BagError(f"bag {bag} has no topic {topic}; topics: {', '.join(sorted(reader.topics))}")
    msgtype = reader.topics[topic].msgtype
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    if msgtype in IMAGE_TYPES:
        return export_video(reader, topic, output)
    if msgtype == KEYPOINTS_TYPE:
        return export_keypoints(reader, topic, output)
    raise BagError(f"topic {topic} is {msgtype}; export handles {', '.join(IMAGE_TYPES)} (mp4) and "
                   f"{KEYPOINTS_TYPE} (COCO json, csv)")


def export_video(reader: BagReader, topic: str, output: Path) -> list[Path]:
    """Frames in recording order into `<topic>.mp4`; `<topic>_frames.csv` maps frame -> stamps.
    The fps is the median header-stamp interval's (30 when undeterminable)."""
    video_path, frames_path = output / f"{topic_slug(topic)}.mp4", output / f"{topic_slug(topic)}_frames.csv"
    stamps = [stamp_ns(reader.decode(m).header) for m in reader.messages([topic])]
    steps = np.diff(np.array(stamps, dtype=np.int64))
    steps = steps[steps > 0]
    fps = 1e9 / float(np.median(steps)) if steps.size else DEFAULT_FPS
    writer, size, written, skipped = None, None, 0, 0
    with frames_path.open("w", newline="") as fh:
        table = csv.writer(fh)
        table.writerow(["frame", "stamp_ns", "log_time_ns", "frame_id"])
        for message in reader.messages([topic]):
            msg = reader.decode(message)
            try:
                rgb = frame_to_rgb(msg, message.msgtype)
            except FrameError as exc:
                skipped += 1
                log.warning("skipped a frame of %s at %d: %s", topic, message.log_time_ns, exc)
                continue
            if writer is None:
                size = (rgb.shape[1], rgb.shape[0])
                writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
            bgr = np.ascontiguousarray(rgb[..., ::-1])
            writer.write(bgr if (bgr.shape[1], bgr.shape[0]) == size else cv2.resize(bgr, size))
            table.writerow([written, stamp_ns(msg.header), message.log_time_ns, msg.header.frame_id])
            written += 1
    if writer is not None:
        writer.release()
    if skipped:
        log.warning("%s: %d frames skipped (not decodable), %d written", topic, skipped, written)
    return [video_path, frames_path] if written else [frames_path]


def keypoints_coco(reader: BagReader, topic: str) -> dict[str, Any]:
    """COCO keypoint json of a Keypoints topic: one image per message (with `stamp_ns`, `frame_id`),
    one annotation per person (`keypoints` as x, y, v with v=2 where the score is > 0, the scores in
    `keypoint_scores`, `score`, `track_id`)."""
    images, annotations, names = [], [], None
    for index, message in enumerate(reader.messages([topic])):
        msg = reader.decode(message)
        names = names or list(msg.keypoint_names)
        stamp = stamp_ns(msg.header)
        images.append({"id": index + 1, "file_name": f"{topic_slug(topic)}_{index:06d}.jpg",
                       "width": int(msg.image_width), "height": int(msg.image_height),
                       "stamp_ns": stamp, "frame_id": msg.header.frame_id, "model": msg.model})
        boxes, scores, keypoints, track_ids = keypoints_arrays(msg)
        for box, score, person, track_id in zip(boxes, scores, keypoints, track_ids):
            visible = np.where(person[:, 2] > 0, 2, 0)
            annotations.append({
                "id": len(annotations) + 1, "image_id": index + 1, "category_id": 1, "iscrowd": 0,
                "bbox": [round(float(v), 3) for v in box], "area": round(float(box[2] * box[3]), 3),
                "keypoints": [round(float(v), 3) for x, y, v in zip(person[:, 0], person[:, 1], visible)
                              for v in (x, y, v)],
                "keypoint_scores": [round(float(s), 5) for s in person[:, 2]],
                "num_keypoints": int((visible > 0).sum()), "score": round(float(score), 5),
                "track_id": int(track_id)})
    names = names or []
    layouts = [layout for layout in LAYOUTS.values() if list(layout["names"]) == names]
    skeleton = [[a + 1, b + 1] for a, b in layouts[0]["skeleton"]] if layouts else []  # COCO is 1-based
    return {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": names,
                            "skeleton": skeleton}]}


def export_keypoints(reader: BagReader, topic: str, output: Path) -> list[Path]:
    """`<topic>.json` (COCO) and `<topic>.csv` (one row per person: stamp, track, box, x/y/score per joint)."""
    coco = keypoints_coco(reader, topic)
    json_path, csv_path = output / f"{topic_slug(topic)}.json", output / f"{topic_slug(topic)}.csv"
    json_path.write_text(json.dumps(coco, indent=1))
    names = coco["categories"][0]["keypoints"]
    images = {image["id"]: image for image in coco["images"]}
    with csv_path.open("w", newline="") as fh:
        table = csv.writer(fh)
        table.writerow(["stamp_ns", "frame_id", "person", "track_id", "score", "box_x", "box_y", "box_width",
                        "box_height"] + [f"{name}_{axis}" for name in names for axis in ("x", "y", "score")])
        person_index: dict[int, int] = {}
        for ann in coco["annotations"]:
            image = images[ann["image_id"]]
            person_index[ann["image_id"]] = person_index.get(ann["image_id"], -1) + 1
            xy = np.array(ann["keypoints"]).reshape(-1, 3)[:, :2]
            joints = [v for (x, y), s in zip(xy, ann["keypoint_scores"]) for v in (x, y, s)]
            table.writerow([image["stamp_ns"], image["frame_id"], person_index[ann["image_id"]], ann["track_id"],
                            ann["score"], *ann["bbox"], *joints])
    return [json_path, csv_path]
