"""rhpnet_core.bags without ROS: crash-bounded split recording (real kill -9 of a child process),
recovery, disk full, the output lock, bag shapes of other recorders, info and export, and both
independent readers (rosbags AnyReader with an empty typestore; mcap + mcap_ros2)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from footage import read_rgb, ultralytics_asset
from rhpnet_core.bags.export import export_topic
from rhpnet_core.bags.info import bag_info
from rhpnet_core.bags.reader import BagError, BagReader
from rhpnet_core.bags.recording import RecordingError, SplitRecorder, StampGapCounter
from rhpnet_core.bags.recover import recover
from rhpnet_core.bags.types import project_typestore

KP = "rhpnet/msg/Keypoints"
IMG = "sensor_msgs/msg/Image"
STORE = project_typestore()


def keypoints_cdr(index: int) -> bytes:
    t = STORE.types
    person = t["rhpnet/msg/PersonKeypoints"](track_id=index % 3, score=0.9, box_x=1.0, box_y=2.0, box_width=30.0,
                                             box_height=60.0, keypoints=[t["rhpnet/msg/Keypoint"](x=float(index),
                                                                                                 y=2.0, score=0.5)])
    header = t["std_msgs/msg/Header"](stamp=t["builtin_interfaces/msg/Time"](sec=index, nanosec=7), frame_id="cam")
    msg = t[KP](header=header, image_width=640, image_height=480, keypoint_names=["nose"], model="m", persons=[person])
    return STORE.serialize_cdr(msg, KP)


def image_cdr(rgb: np.ndarray, index: int) -> bytes:
    t = STORE.types
    header = t["std_msgs/msg/Header"](stamp=t["builtin_interfaces/msg/Time"](sec=100 + index, nanosec=0),
                                      frame_id="camera")
    msg = t[IMG](header=header, height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8", is_bigendian=0,
                 step=rgb.shape[1] * 3, data=np.ascontiguousarray(rgb).reshape(-1))
    return STORE.serialize_cdr(msg, IMG)


def add_topic(recorder: SplitRecorder, name: str, msgtype: str) -> None:
    recorder.add_topic(name, msgtype, STORE.generate_msgdef(msgtype, ros_version=2)[0], STORE.hash_rihs01(msgtype))


# A recorder child at 20 Hz of keypoints only (the worst case for rosbags' 1 MiB chunks): prints
# every index once written, so the parent knows exactly what was handed to the recorder.
CHILD = textwrap.dedent("""
    import sys, time
    sys.path[:0] = {paths!r}
    from test_bags import SplitRecorder, add_topic, keypoints_cdr
    recorder = SplitRecorder(sys.argv[1], sys.argv[2], split_duration_s=2.0, flush_period_s=0.5, min_free_mb=1)
    add_topic(recorder, "/rig/keypoints", "rhpnet/msg/Keypoints")
    for i in range(100000):
        now = time.time_ns()
        recorder.write("/rig/keypoints", now, keypoints_cdr(i))
        recorder.tick(now)
        print(i, flush=True)
        time.sleep(0.05)
""")


def kill_recording_child(out: Path, storage: str) -> int:
    """Run CHILD into `out`, SIGKILL it ~3.3 s after its first message (one closed split, one open);
    the number of messages it had handed over."""
    code = CHILD.format(paths=[str(Path(__file__).parent), str(Path(__file__).parents[1])])
    child = subprocess.Popen([sys.executable, "-c", code, str(out), storage], stdout=subprocess.PIPE, text=True)
    child.stdout.readline()
    time.sleep(3.3)
    child.send_signal(signal.SIGKILL)
    written = 1 + len(child.stdout.read().split())
    child.wait()
    return written


@pytest.fixture(scope="module")
def killed_recording(tmp_path_factory):
    """An MCAP split recording whose writer got SIGKILL: (DIR, messages handed to it)."""
    out = tmp_path_factory.mktemp("killed") / "session"
    return out, kill_recording_child(out, "mcap")


def test_kill_9_loses_at_most_one_flush_period(killed_recording, tmp_path):
    out, written = killed_recording
    reader = BagReader(out)
    assert [p.complete for p in reader.parts][:-1] == [True] * (len(reader.parts) - 1)  # closed splits intact
    assert not reader.parts[-1].complete  # the split open at the kill has no footer
    readable = sum(1 for _ in reader.messages())
    # Bound: flush_period 0.5 s at 20 Hz = 10 messages (+1 for the one being written at the kill).
    assert written - 11 <= readable <= written
    recovered = recover(out, tmp_path / "rec")
    assert [r.rebuilt for r in recovered] == [False] * (len(recovered) - 1) + [True]
    again = BagReader(tmp_path / "rec")
    assert again.complete and len(again.parts) == len(reader.parts)
    assert [m.data for m in again.messages()] == [m.data for m in reader.messages()]  # identical bytes
    assert [m.log_time_ns for m in again.messages()] == [m.log_time_ns for m in reader.messages()]
    assert again.type_hash("/rig/keypoints") == STORE.hash_rihs01(KP) == reader.parts[0].topics[
        "/rig/keypoints"].type_hash
    assert again.decode(next(again.messages())).persons[0].keypoints[0].x == 0.0


def test_recovered_bag_opens_in_independent_readers(killed_recording, tmp_path):
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    out, _ = killed_recording
    recover(out, tmp_path / "rec")
    splits = sorted((tmp_path / "rec").iterdir())
    with AnyReader(splits, default_typestore=get_typestore(Stores.EMPTY)) as anyreader:
        xs = [anyreader.deserialize(raw, c.msgtype).persons[0].keypoints[0].x
              for c, _, raw in anyreader.messages()]
    assert xs == sorted(xs) and xs[0] == 0.0 and len(xs) == sum(1 for _ in BagReader(out).messages())
    decoded = []
    for split in splits:
        with open(next(split.glob("*.mcap")), "rb") as fh:
            decoded += [m.header.stamp.sec for _, _, _, m in
                        make_reader(fh, decoder_factories=[DecoderFactory()]).iter_decoded_messages()]
    assert decoded == [int(x) for x in xs]


def test_kill_9_of_a_sqlite3_recording_recovers_to_the_last_commit(tmp_path):
    out = tmp_path / "session"
    written = kill_recording_child(out, "sqlite3")
    recovered = recover(out, tmp_path / "rec")
    assert recovered[-1].rebuilt and not any(r.rebuilt for r in recovered[:-1])
    reader = BagReader(tmp_path / "rec")
    xs = [reader.decode(m).persons[0].keypoints[0].x for m in reader.messages()]
    assert xs == [float(i) for i in range(len(xs))]  # in order, none missing before the loss
    assert written - 11 <= len(xs) <= written  # one commit period (0.5 s at 20 Hz) + the one in flight


def test_lock_refuses_a_second_recorder_and_is_released(tmp_path):
    first = SplitRecorder(tmp_path / "out", min_free_mb=1)
    with pytest.raises(RecordingError, match="another recorder"):
        SplitRecorder(tmp_path / "out", min_free_mb=1)
    first.close()
    SplitRecorder(tmp_path / "out", min_free_mb=1).close()
    with pytest.raises(RecordingError, match="cannot write"):
        SplitRecorder("/proc/rhpnet-not-writable", min_free_mb=1)


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 3 MB tmpfs (root can mount one here); skipped where mounting is not permitted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a size-limited tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_stops_with_a_clear_error_and_earlier_splits_stay_readable(tiny_filesystem):
    with pytest.raises(RecordingError, match="MB free"):
        SplitRecorder(tiny_filesystem / "refused", min_free_mb=64)
    rgb = read_rgb(ultralytics_asset("bus.jpg"))[:240, :320]  # 230 kB per frame
    recorder = SplitRecorder(tiny_filesystem / "session", compression="none", split_size_mb=1.0, min_free_mb=1)
    add_topic(recorder, "/image", IMG)
    written = 0
    for i in range(40):
        if not recorder.write("/image", 1_000_000_000 + i * 33_000_000, image_cdr(rgb, i)):
            break
        written += 1
    assert "disk full" in recorder.failed and "bag_" in recorder.failed
    recorder.close()
    reader = BagReader(tiny_filesystem / "session")
    assert all(p.complete for p in reader.parts[:-1]) and len(reader.parts) >= 2
    frames = [reader.decode(m) for m in reader.messages()]
    assert 4 <= len(frames) <= written
    assert np.array_equal(np.asarray(frames[0].data).reshape(rgb.shape), rgb)


def test_stamp_gap_counter_counts_missing_frames():
    counter = StampGapCounter()
    stamps = [i * 33_333_333 for i in range(10)] + [i * 33_333_333 for i in range(13, 20)]
    assert sum(counter.update(s) for s in stamps) == 3


@pytest.fixture(scope="module")
def other_shapes(tmp_path_factory):
    """Camera-only sensor_msgs bags as other recorders leave them, plus one of Keypoints."""
    root = tmp_path_factory.mktemp("shapes")
    frames = [read_rgb(ultralytics_asset(name)) for name in ("bus.jpg", "zidane.jpg")]
    frames = [cv2.resize(f, (320, 240)) for f in frames]
    for name, plugin in (("mcap_bag", StoragePlugin.MCAP), ("sqlite_bag", StoragePlugin.SQLITE3)):
        with Writer(root / name, version=9, storage_plugin=plugin) as writer:
            conn = writer.add_connection("/camera/image_raw", IMG, typestore=STORE)
            kp = writer.add_connection("/camera/keypoints", KP, typestore=STORE)
            for i in range(6):
                writer.write(conn, 10_000 + i, image_cdr(frames[i % 2], i))
                writer.write(kp, 10_001 + i, keypoints_cdr(i))
    standalone = root / "standalone.mcap"
    (root / "mcap_bag" / "mcap_bag.mcap").rename(standalone)  # a lone .mcap (no metadata.yaml)
    no_meta = root / "no_metadata"
    no_meta.mkdir()
    (root / "sqlite_bag" / "sqlite_bag.db3").rename(no_meta / "recording.db3")  # folder without metadata.yaml
    return {"standalone": standalone, "no_metadata": no_meta}


@pytest.mark.parametrize("shape", ["standalone", "no_metadata"])
def test_other_recorder_shapes_info_and_export(other_shapes, shape, tmp_path):
    bag = other_shapes[shape]
    info = bag_info(bag)
    assert info["topics"]["/camera/image_raw"]["count"] == 6
    assert info["topics"]["/camera/image_raw"]["type_hash"] == STORE.hash_rihs01(IMG)
    files = export_topic(bag, "/camera/image_raw", tmp_path)
    capture = cv2.VideoCapture(str(files[0]))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 6
    json_path, csv_path = export_topic(bag, "/camera/keypoints", tmp_path)
    coco = json.loads(json_path.read_text())
    assert [im["stamp_ns"] for im in coco["images"]] == [i * 1_000_000_000 + 7 for i in range(6)]
    assert coco["annotations"][3]["keypoints"][:2] == [3.0, 2.0] and coco["annotations"][3]["track_id"] == 0
    assert len(csv_path.read_text().splitlines()) == 7
    with pytest.raises(BagError, match="no topic"):
        export_topic(bag, "/nope", tmp_path)


def test_not_a_bag_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BagError, match="no bag"):
        BagReader(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        BagReader(tmp_path / "missing")


def test_pause_closes_the_split_and_resume_opens_the_next(tmp_path):
    recorder = SplitRecorder(tmp_path / "out", min_free_mb=1)
    recorder.paused = True  # start_paused
    add_topic(recorder, "/kp", KP)
    assert not recorder.write("/kp", 1, keypoints_cdr(0)) and recorder.split_paths == []
    recorder.resume()
    assert recorder.write("/kp", 2, keypoints_cdr(1))
    recorder.pause()  # ~/stop: the split is complete at once
    assert not recorder.write("/kp", 3, keypoints_cdr(2))
    assert BagReader(tmp_path / "out").complete
    recorder.resume()
    recorder.write("/kp", 4, keypoints_cdr(3))
    recorder.close()
    reader = BagReader(tmp_path / "out")
    assert [p.path.parent.name for p in reader.parts] == ["bag_0000", "bag_0001"]
    assert [reader.decode(m).header.stamp.sec for m in reader.messages()] == [1, 3]
