"""`rhpnet gait-report SOURCE --output DIR`: a runner's gait events, metrics and findings as a report.

SOURCE is a bag (folder, split DIR, .mcap or .db3) with a Keypoints topic — or only camera images,
then the pose pipeline runs first —, a video file (pose pipeline first), or a `keypoints.json` written
by `rhpnet predict`. The runner is the tracked person whose gait analysis finds the most strides
(`choose_runner`), unless --track-id names one. The runner's keypoint track goes
through `rhpnet_core.gait.analyze` (the code the live gait_node runs) and `write_report` writes
DIR/metrics.json, DIR/events.csv, the PNG plots and a self-contained DIR/report.html.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from rhpnet_core.gait import GaitAnalysis, GaitSettings, KeypointTrack, analyze
from rhpnet_core.gait.plots import FrameLookup
from rhpnet_core.gait.report import ReportContext, write_report
from rhpnet_core.pipeline import ESTIMATORS
from rhpnet_core.tracking import PersonTracker

BAG_SUFFIXES = {".mcap", ".db3"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="bag (folder, .mcap, .db3), video file, or keypoints.json of `rhpnet predict`")
    parser.add_argument("--output", default="output/gait-report", help="folder for the report files")
    parser.add_argument("--runner-height", type=float, default=None, metavar="M",
                        help="runner height in m (scale from leg length when no belt speed)")
    parser.add_argument("--belt-speed", type=float, default=None, metavar="MPS",
                        help="treadmill belt speed in m/s (speed, step length and the best scale)")
    parser.add_argument("--fps", type=float, default=None,
                        help="camera frame rate; needed for a keypoints.json without timestamps")
    parser.add_argument("--topic", default=None, help="bag topic (Keypoints, or camera images) to read")
    parser.add_argument("--track-id", type=int, default=None,
                        help="follow this tracker id (default: the tracked person with the most strides)")
    parser.add_argument("--min-track-s", type=float, default=2.0,
                        help="fail when no person is tracked for longer than this (s)")
    pose = parser.add_argument_group("pose pipeline (videos and image-only bags)")
    pose.add_argument("--estimator", default="auto", choices=ESTIMATORS)
    pose.add_argument("--checkpoint", default=None, help="RHPNet checkpoint (from `rhpnet train`)")
    pose.add_argument("--backend", default="torch")
    pose.add_argument("--device", default="auto")
    pose.add_argument("--detector-imgsz", type=int, default=640)
    pose.add_argument("--frame-step", type=int, default=1, help="process every N-th frame (faster, lower fps)")
    pose.add_argument("--max-seconds", type=float, default=0.0, help="stop after this much footage (0: all)")


@dataclass
class PersonObservations:
    """Every person seen in every frame, grouped by track: track key -> (stamps, keypoints (17, 3))."""

    tracks: dict[int, list[tuple[float, np.ndarray]]] = field(default_factory=lambda: defaultdict(list))
    frames: int = 0
    frame_size_wh: tuple[int, int] | None = None
    model: str = ""

    def add(self, stamp_s: float, track_keys: Iterable[int], keypoints: np.ndarray) -> None:
        self.frames += 1
        for key, person in zip(track_keys, keypoints):
            self.tracks[int(key)].append((stamp_s, np.asarray(person, dtype=np.float64)))

    def track(self, key: int) -> KeypointTrack:
        samples = sorted(self.tracks[key], key=lambda s: s[0])
        return KeypointTrack(np.array([s[0] for s in samples]), np.stack([s[1] for s in samples]), int(key))


def choose_runner(observations: PersonObservations, track_id: int | None, min_track_s: float, source: str,
                  settings: GaitSettings) -> tuple[GaitAnalysis, KeypointTrack, str]:
    """The runner: `track_id` if given, else — among persons tracked for more than `min_track_s` — the
    one whose analysis finds the most accepted strides (then the longest tracked): the person who
    runs, not the one seen first (a bystander can be tracked before a runner crossing the frame).
    Returns their analysis, track and a note naming the candidates."""
    def span(key: int) -> float:
        samples = observations.tracks[key]
        return max(s[0] for s in samples) - min(s[0] for s in samples)

    if track_id is not None:
        if track_id not in observations.tracks:
            raise ValueError(f"track id {track_id} not in {source}; tracked ids: "
                             f"{', '.join(map(str, sorted(observations.tracks))) or 'none'}")
        candidates = [track_id]
    else:
        candidates = [key for key in observations.tracks if span(key) > min_track_s]
    if not candidates or span(candidates[0]) <= min_track_s:
        longest = max((span(k) for k in observations.tracks), default=0.0)
        raise ValueError(f"no person tracked for more than {min_track_s:g} s in {source} "
                         f"(longest track {longest:.1f} s over {observations.frames} frames)")
    results = {key: analyze(observations.track(key), settings) for key in candidates}

    def evidence(key: int) -> tuple[int, float]:
        return sum(s.accepted for s in results[key].strides), span(key)

    best = max(candidates, key=evidence)
    note = "; ".join(f"track {key}: {span(key):.1f} s, {evidence(key)[0]} accepted strides" for key in sorted(candidates))
    return results[best], observations.track(best), f"persons tracked > {min_track_s:g} s: {note}"


def add_frames(observations: PersonObservations,
               frames: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """Add (stamp_s, boxes_xyxy (N, 4), keypoints (N, 17, 3), track_ids (N,)) frames. With tracker ids
    (a tracking pose pipeline) unconfirmed persons (-1) are left out; without any, the project's tracker
    assigns them offline (keyed by its internal serials, so a track's unconfirmed first frames count)."""
    if any((ids >= 0).any() for *_, ids in frames):
        for stamp_s, _, keypoints, ids in frames:
            observations.add(stamp_s, ids[ids >= 0], keypoints[ids >= 0])
        return
    tracker = PersonTracker()
    for stamp_s, boxes, keypoints, _ in frames:
        tracks = tracker.update(boxes, keypoints, stamp_s)
        observations.add(stamp_s, [t.key for t in tracks], keypoints)


# ---------------------------------------------------------------- sources

def from_predictions_json(path: Path, fps: float | None) -> PersonObservations:
    """`rhpnet predict`'s keypoints.json: COCO results, image_id = frame index, optional track_id and
    timestamp_s (video sources); --fps overrides the timestamps."""
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not JSON ({exc}); expected the keypoints.json of `rhpnet predict`") from exc
    if not isinstance(entries, list) or any("keypoints" not in e or "image_id" not in e for e in entries):
        raise ValueError(f"{path}: expected a list of COCO keypoint results (image_id, keypoints) as written "
                         "by `rhpnet predict`")
    if fps is None and any(e.get("timestamp_s") is None for e in entries):
        raise ValueError(f"{path} has entries without timestamp_s (image-folder predictions); pass --fps")
    by_frame: dict[int, list[dict]] = defaultdict(list)
    for entry in entries:
        by_frame[int(entry["image_id"])].append(entry)
    frames = []
    for index in sorted(by_frame):
        people = by_frame[index]
        stamp = index / fps if fps else float(people[0]["timestamp_s"])
        keypoints = np.array([e["keypoints"] for e in people], dtype=np.float64).reshape(len(people), -1, 3)
        if keypoints.shape[1] != 17:
            raise ValueError(f"{path}: {keypoints.shape[1]} keypoints per person; the gait analysis needs COCO-17")
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (e["bbox"] for e in people)])
        frames.append((stamp, boxes, keypoints, np.array([e.get("track_id", -1) for e in people])))
    observations = PersonObservations()
    add_frames(observations, frames)
    return observations


def pose_frames(frames: Iterable[tuple[float, np.ndarray]], args: argparse.Namespace,
                observations: PersonObservations, total: int | None) -> None:
    """Run the pose pipeline over (stamp_s, RGB frame) pairs. Every person is kept (target "all"):
    `choose_runner` picks the runner from their gait afterwards."""
    from rhpnet_core.pipeline import build_pipeline

    pipeline = build_pipeline(args.estimator, args.checkpoint, args.backend, args.device,
                              detector_imgsz=args.detector_imgsz, target="all")
    observations.model = pipeline.model_name
    for stamp_s, rgb in tqdm(frames, desc="pose", unit="frame", total=total):
        observations.frame_size_wh = (rgb.shape[1], rgb.shape[0])
        result = pipeline(rgb, stamp_s=stamp_s)
        confirmed = result.track_ids >= 0  # unconfirmed persons have no identity to follow yet
        observations.add(stamp_s, result.track_ids[confirmed], result.keypoints[confirmed])


def from_video(path: Path, args: argparse.Namespace) -> tuple[PersonObservations, FrameLookup]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError(f"cannot open '{path}' as a video; expected a bag, a video or a keypoints.json")
    fps = args.fps or capture.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    if fps <= 0:
        raise ValueError(f"video '{path}' reports no frame rate; pass --fps")
    last = count if not args.max_seconds else min(count, int(round(args.max_seconds * fps)))

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        capture = cv2.VideoCapture(str(path))
        try:
            for index in range(last):
                ok, frame = capture.read()
                if not ok:
                    return
                if index % args.frame_step == 0:
                    yield index / fps, np.ascontiguousarray(frame[..., ::-1])
        finally:
            capture.release()

    observations = PersonObservations()
    pose_frames(frames(), args, observations, total=(last + args.frame_step - 1) // args.frame_step)

    def frame_at(time_s: float) -> np.ndarray | None:
        capture = cv2.VideoCapture(str(path))
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(round(time_s * fps)))
        ok, frame = capture.read()
        capture.release()
        return np.ascontiguousarray(frame[..., ::-1]) if ok else None

    return observations, frame_at


def from_bag(path: Path, args: argparse.Namespace) -> tuple[PersonObservations, FrameLookup | None]:
    from rhpnet_core.bags import KEYPOINTS_TYPE, BagReader, keypoints_arrays
    from rhpnet_core.bags.images import IMAGE_TYPES, frame_to_rgb

    reader = BagReader(path)
    topics = reader.topics
    if args.topic and args.topic not in topics:
        raise ValueError(f"bag {path} has no topic {args.topic}; topics: {', '.join(sorted(topics))}")
    keypoint_topics = [args.topic] if args.topic and topics[args.topic].msgtype == KEYPOINTS_TYPE else \
        [] if args.topic else reader.topics_of_type(KEYPOINTS_TYPE)
    image_topics = [args.topic] if args.topic and topics[args.topic].msgtype in IMAGE_TYPES else \
        reader.topics_of_type(*IMAGE_TYPES)
    if len(keypoint_topics) > 1 or (not keypoint_topics and len(image_topics) > 1):
        raise ValueError(f"bag {path} has several candidate topics ({', '.join(keypoint_topics or image_topics)}); "
                         "name one with --topic")
    observations = PersonObservations()
    if keypoint_topics:
        topic = keypoint_topics[0]
        frames = []
        for raw in tqdm(reader.messages([topic]), desc="keypoints", unit="msg", total=topics[topic].count):
            msg = reader.decode(raw)
            boxes_xywh, _, keypoints, track_ids = keypoints_arrays(msg)
            if len(keypoints) and keypoints.shape[1] != 17:
                raise ValueError(f"{topic}: {keypoints.shape[1]} keypoints per person; the gait analysis needs COCO-17")
            observations.frame_size_wh, observations.model = (msg.image_width, msg.image_height), msg.model
            boxes = np.concatenate([boxes_xywh[:, :2], boxes_xywh[:, :2] + boxes_xywh[:, 2:]], axis=1)
            frames.append((msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec, boxes,
                           keypoints.reshape(len(boxes), 17, 3), track_ids))
        add_frames(observations, frames)
    elif image_topics:
        topic = image_topics[0]

        def frames() -> Iterator[tuple[float, np.ndarray]]:
            for index, raw in enumerate(reader.messages([topic])):
                if index % args.frame_step:
                    continue
                msg = reader.decode(raw)
                stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
                if args.max_seconds and first.setdefault("t", stamp) + args.max_seconds < stamp:
                    return
                yield stamp, frame_to_rgb(msg, raw.msgtype)

        first: dict[str, float] = {}
        pose_frames(frames(), args, observations, total=topics[topic].count // args.frame_step)
    else:
        raise ValueError(f"bag {path} has neither a Keypoints ({KEYPOINTS_TYPE}) nor a camera image topic; "
                         f"topics: {', '.join(sorted(topics)) or 'none'}")
    if not image_topics:
        return observations, None
    image_topic = image_topics[0]

    def frame_at(time_s: float) -> np.ndarray | None:
        """The camera frame whose header stamp is nearest to `time_s` (one pass over the image topic)."""
        best, best_dt = None, None
        for raw in reader.messages([image_topic]):
            msg = reader.decode(raw)
            dt = abs(msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec - time_s)
            if best_dt is None or dt < best_dt:
                best, best_dt = (msg, raw.msgtype), dt
        return frame_to_rgb(*best) if best is not None and best_dt < 0.1 else None

    return observations, frame_at


def is_bag(path: Path) -> bool:
    return path.suffix in BAG_SUFFIXES or (path.is_dir() and (
        (path / "metadata.yaml").exists() or any(p.suffix in BAG_SUFFIXES for p in path.rglob("*"))))


def load(args: argparse.Namespace) -> tuple[PersonObservations, FrameLookup | None]:
    """Every tracked person of SOURCE and a frame lookup (None without images)."""
    source = Path(args.source)
    if not source.exists():
        raise FileNotFoundError(f"gait-report source '{source}' does not exist")
    if args.frame_step < 1:
        raise ValueError(f"--frame-step must be >= 1, got {args.frame_step}")
    frame_at = None
    if source.suffix.lower() == ".json":
        observations = from_predictions_json(source, args.fps)
    elif is_bag(source):
        observations, frame_at = from_bag(source, args)
    else:
        observations, frame_at = from_video(source, args)
    return observations, frame_at


def summary(analysis: GaitAnalysis) -> str:
    cadence = analysis.metrics["cadence_spm"].value
    state = ("walking detected" if analysis.walking_detected else "running" if analysis.valid
             else f"not assessable ({analysis.reason})")
    strides = sum(s.accepted for s in analysis.strides)
    cadence_text = f"{cadence:.1f} spm" if cadence is not None else "n/a"
    return f"{state}; cadence {cadence_text}; {strides} accepted strides, {len(analysis.events)} events"


def run(args: argparse.Namespace) -> int:
    observations, frame_at = load(args)
    settings = GaitSettings(fps=None if args.frame_step > 1 else args.fps, belt_speed_mps=args.belt_speed,
                            runner_height_m=args.runner_height)
    analysis, track, note = choose_runner(observations, args.track_id, args.min_track_s, str(args.source), settings)
    notes = [note] + ([f"every {args.frame_step}-th frame processed"] if args.frame_step > 1 else [])
    context = ReportContext(source=str(args.source), frame_size_wh=observations.frame_size_wh,
                            n_frames=len(track), model=observations.model, notes=notes)
    paths = write_report(analysis, args.output, context, frame_at)
    print(f"runner: track {track.track_id}, {len(track)} frames over {track.times_s[-1] - track.times_s[0]:.1f} s; "
          f"{summary(analysis)}")
    print(f"report: {paths['report.html']}")
    return 0
