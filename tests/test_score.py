"""`rhpnet score` on camera-only bags of real footage (raw and JPEG, mcap and sqlite3): deterministic
output, Keypoints aligned to the source stamps with the header copied, comparison with keypoints
recorded by the same pipeline (identical), and ground truth through rhpnet_core.eval."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from footage import SPORTS2D_DEMO
from rhpnet_core.bags.export import export_topic, stamp_ns
from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE, keypoints_arrays, keypoints_fields, keypoints_message
from rhpnet_core.bags.reader import BagReader
from rhpnet_core.bags.types import project_typestore
from rhpnet_core.frames import FrameSource
from rhpnet_core.pipeline import build_pipeline
from training.cli import main as rhpnet

STORE = project_typestore()
FRAMES = 6
STAMP0_NS = 1_700_000_000_123_456_789
PERIOD_NS = 33_333_333
PIPELINE = {"estimator": "yolo-pose", "device": "cpu", "detector_imgsz": 640, "target": "all"}


def header(index: int):
    t = STORE.types
    stamp = STAMP0_NS + index * PERIOD_NS
    return t["std_msgs/msg/Header"](stamp=t["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9),
                                    frame_id="rig1_camera")


@pytest.fixture(scope="module")
def frames_rgb():
    if not SPORTS2D_DEMO.is_file():
        pytest.skip(f"{SPORTS2D_DEMO} missing (make setup extracts it)")
    frames = []
    for bgr in FrameSource(str(SPORTS2D_DEMO)).frames():
        frames.append(np.ascontiguousarray(cv2.resize(bgr, (640, 360))[..., ::-1]))
        if len(frames) == FRAMES:
            break
    return frames


@pytest.fixture(scope="module")
def bags(frames_rgb, tmp_path_factory):
    """raw.mcap bag with live-style Keypoints (the pipeline through keypoints_fields, as the node
    does), jpeg sqlite3 bag (CompressedImage only)."""
    root = tmp_path_factory.mktemp("score_bags")
    pipeline = build_pipeline(**PIPELINE)
    t = STORE.types
    with Writer(root / "raw", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        image_conn = writer.add_connection("/rig1/camera/image_raw", "sensor_msgs/msg/Image", typestore=STORE)
        kp_conn = writer.add_connection("/rig1/camera/keypoints", KEYPOINTS_TYPE, typestore=STORE)
        for i, rgb in enumerate(frames_rgb):
            image = t["sensor_msgs/msg/Image"](header=header(i), height=rgb.shape[0], width=rgb.shape[1],
                                               encoding="bgr8", is_bigendian=0, step=rgb.shape[1] * 3,
                                               data=np.ascontiguousarray(rgb[..., ::-1]).reshape(-1))
            writer.write(image_conn, 5_000 + i * PERIOD_NS, STORE.serialize_cdr(image, "sensor_msgs/msg/Image"))
            result = pipeline(rgb, (STAMP0_NS + i * PERIOD_NS) * 1e-9)
            live = keypoints_message(STORE, keypoints_fields(result, rgb.shape[1], rgb.shape[0]), header(i))
            writer.write(kp_conn, 6_000 + i * PERIOD_NS, STORE.serialize_cdr(live, KEYPOINTS_TYPE))
    with Writer(root / "jpeg", version=9, storage_plugin=StoragePlugin.SQLITE3) as writer:
        conn = writer.add_connection("/cam/image_raw/compressed", "sensor_msgs/msg/CompressedImage", typestore=STORE)
        for i, rgb in enumerate(frames_rgb):
            jpeg = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])[1].reshape(-1)
            msg = t["sensor_msgs/msg/CompressedImage"](header=header(i), format="rgb8; jpeg compressed bgr8", data=jpeg)
            writer.write(conn, 7_000 + i, STORE.serialize_cdr(msg, "sensor_msgs/msg/CompressedImage"))
    return root


def score_args(*extra: str) -> list[str]:
    return ["--estimator", "yolo-pose", "--device", "cpu", "--detector-imgsz", "640", *extra]


def test_score_reproduces_recorded_keypoints_and_is_deterministic(bags, tmp_path, capsys):
    for run in ("a", "b"):
        assert rhpnet(["score", str(bags / "raw"), "--output", str(tmp_path / run), *score_args()]) == 0
    table = capsys.readouterr().out
    first, second = (tmp_path / run / "scored" / "scored.mcap" for run in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()  # deterministic, byte for byte
    assert (tmp_path / "a/scored/metadata.yaml").read_text() == (tmp_path / "b/scored/metadata.yaml").read_text()
    comparison = json.loads((tmp_path / "a" / "comparison.json").read_text())
    assert comparison["frames"] == FRAMES and comparison["identical_frames"] == FRAMES
    assert comparison["differing_frames"] == 0 and comparison["matched_persons"] >= FRAMES
    assert comparison["mean_distance_px"] == 0.0 and comparison["pck@0.05"] == 1.0
    assert "left_ankle" in table and "identical 6" in table
    scored, source = BagReader(tmp_path / "a" / "scored"), BagReader(bags / "raw")
    assert set(scored.topics) == {"/rig1/camera/keypoints"}
    # Aligned: each Keypoints carries its frame's header and log time; same bytes as recorded live.
    frames = {stamp_ns(source.decode(m).header): m.log_time_ns for m in source.messages(["/rig1/camera/image_raw"])}
    recorded = [m.data for m in source.messages(["/rig1/camera/keypoints"])]
    for message, live in zip(scored.messages(), recorded, strict=True):
        msg = scored.decode(message)
        assert message.log_time_ns == frames[stamp_ns(msg.header)] and msg.header.frame_id == "rig1_camera"
        assert message.data == live


def test_score_compressed_sqlite3_with_source_and_ground_truth(bags, tmp_path):
    assert rhpnet(["score", str(bags / "jpeg" / "jpeg.db3"), "--output", str(tmp_path / "s"), "--include-source",
                   *score_args()]) == 0
    scored = BagReader(tmp_path / "s" / "scored")
    assert scored.topics["/cam/keypoints"].count == FRAMES
    assert scored.topics["/cam/image_raw/compressed"].count == FRAMES  # --include-source
    assert scored.type_hash("/cam/image_raw/compressed") == STORE.hash_rihs01("sensor_msgs/msg/CompressedImage")
    persons = [len(keypoints_arrays(scored.decode(m))[0]) for m in scored.messages(["/cam/keypoints"])]
    assert min(persons) >= 1  # the runner is found in JPEG frames
    # Ground truth: the exported keypoints of the raw frames (COCO json with stamp_ns) -> OKS AP, PCK.
    gt_path = export_topic(bags / "raw", "/rig1/camera/keypoints", tmp_path / "gt")[0]
    assert rhpnet(["score", str(bags / "raw"), "--output", str(tmp_path / "g"), "--ground-truth", str(gt_path),
                   *score_args()]) == 0
    metrics = json.loads((tmp_path / "g" / "ground_truth.json").read_text())
    assert metrics["scored_annotated_frames"] == FRAMES
    assert metrics["oks"]["AP"] > 0.99 and metrics["pck"]["pck@0.05"] == 1.0


def test_score_names_the_problem(bags, tmp_path, capsys):
    assert rhpnet(["score", str(bags / "raw"), "--output", str(tmp_path), "--topic", "/nope", *score_args()]) == 2
    assert "no topic /nope" in capsys.readouterr().err
