"""Real time on a CPU: RHPNet-W32 through each engine, one runner through the ROS processes, three people.

    .venv/bin/python bench/bench_realtime.py [--quick] [--json]

1. Per-crop latency (batch 1) of HRNet-W32 and RHPNet-W32 256x192 in every engine: torch eager,
   onnxruntime fp32 / int8 (QDQ U8S8), OpenVINO fp32 / bf16 (where the CPU has it) / int8 (NNCF).
   Engines are called in rotating rounds on real sports2d crops; ratios are medians of per-round
   ratios (to onnxruntime fp32 in the same round, RHPNet to HRNet in the same round), so load from
   other processes hits all alike. Throughput in GMAC/s against peaks measured in the same run:
   fp32 torch SGEMM and int8 onnxruntime MatMulInteger (n = 2048).
2. One runner: the sports2d demo (a person moving side-on among distractors) replayed at 640x480
   and 30 Hz by camera_replay -> pose_node (RHPNet-W32 int8, target `longest`: one crop per frame)
   -> a subscriber in this process; processed frames/s = Keypoints messages/s over a steady window.
   In the same run, a plain ultralytics YOLO11n-pose predict loop on the same 640x480 frames.
3. Three people: vtest.avi frames through the pipeline in-process (RHPNet-W32 int8, target all),
   with/without `detect_every` and the flip test.

Weights are random at trained-network scale (rhpnet_core/model/calibration.py): timing does not
depend on their values. Random weights have no heatmap peaks, so the int8 exports are forced past the
agreement check (its figures are meaningless here; tests/test_quantize.py checks a trained model).
With --json, the last line is one json object (rhpnet_int8_fps_1person, ultralytics_predict_fps,
int8_vs_ort_fp32_per_crop, ...).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="rhpnet-bench-yolo-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")

from footage import SPORTS2D_DEMO, VTEST  # noqa: E402
from rhpnet_core.calibration_crops import collect_person_crops  # noqa: E402
from rhpnet_core.checkpoint import save_checkpoint  # noqa: E402
from rhpnet_core.codec import UDPHeatmapCodec  # noqa: E402
from rhpnet_core.config import load_config  # noqa: E402
from rhpnet_core.model import build_model  # noqa: E402
from rhpnet_core.model.calibration import calibrate_trained_scale  # noqa: E402
from rhpnet_core.pipeline import build_pipeline  # noqa: E402
from rhpnet_core.runtime import create_runtime  # noqa: E402
from rhpnet_core.runtime.exports import cached_int8  # noqa: E402
from rhpnet_core.runtime.openvino_engine import cpu_has_bf16  # noqa: E402
from training.flops import count_params_and_gmacs  # noqa: E402

CONFIGS = {"HRNet-W32": ROOT / "training/configs/coco/hrnet_w32_256x192.yaml",
           "RHPNet-W32": ROOT / "training/configs/coco/rhpnet_w32_256x192.yaml"}
FRAME_WH = (640, 480)


def engines_of(quick: bool) -> list[tuple[str, str, str]]:
    """(label, backend, precision) of every engine timed."""
    rows = [("torch fp32", "torch", "fp32"), ("onnxruntime fp32", "onnxruntime", "fp32"),
            ("onnxruntime int8", "onnxruntime", "int8"), ("openvino fp32", "openvino", "fp32")]
    if cpu_has_bf16():
        rows.append(("openvino bf16", "openvino", "bf16"))
    rows.append(("openvino int8", "openvino", "int8"))
    return [r for r in rows if not quick or r[0] in ("onnxruntime fp32", "openvino fp32", "openvino int8")]


def _int8_matmul(size: int):
    """onnxruntime MatMulInteger (uint8 x int8, MLAS's u8s8 kernels, VNNI where the CPU has it):
    torch's CPU `_int_mm` is not vectorised and measured < 1 GMAC/s here."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "mm",
                              [helper.make_tensor_value_info("a", TensorProto.UINT8, [size, size]),
                               helper.make_tensor_value_info("b", TensorProto.INT8, [size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [size, size])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {"a": rng.integers(0, 255, (size, size), dtype=np.uint8),
             "b": rng.integers(-127, 127, (size, size), dtype=np.int8)}
    return lambda: session.run(None, feeds)


def measured_peaks(size: int = 2048, repeats: int = 5) -> dict[str, float]:
    """GMAC/s of a large fp32 matmul (torch SGEMM) and int8 matmul (onnxruntime MatMulInteger), 2 threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = {}
    for name, call in (("fp32", lambda: a @ b), ("int8", _int8_matmul(size))):
        call()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
        out[name] = size ** 3 / statistics.median(samples) / 1e9
    return out


def make_checkpoints(work: Path) -> dict[str, tuple[Path, dict, float]]:
    """name -> (checkpoint with trained-scale random weights, config, GMACs per crop)."""
    out = {}
    for name, path in CONFIGS.items():
        config = load_config(path)
        input_size = tuple(config["codec"]["input_size"])
        model = calibrate_trained_scale(build_model(config["model"]), input_size)
        gmacs = count_params_and_gmacs(model, input_size)[1]
        checkpoint = work / f"{name}.pth"
        save_checkpoint(checkpoint, model.state_dict(), config)
        out[name] = (checkpoint, config, gmacs)
    return out


def time_engines(runtimes: dict, crop: np.ndarray, rounds: int) -> dict:
    """Seconds per call of every runtime, in rotating rounds with a short pause between calls."""
    keys = list(runtimes)
    for key in keys:
        runtimes[key](crop)
        runtimes[key](crop)
    samples = {key: [] for key in keys}
    for index in range(rounds):
        for key in keys[index % len(keys):] + keys[:index % len(keys)]:
            time.sleep(0.02)
            start = time.perf_counter()
            runtimes[key](crop)
            samples[key].append(time.perf_counter() - start)
    return samples


def per_crop_section(models: dict, quick: bool, rounds: int, peaks: dict) -> tuple[list[str], dict]:
    engines = engines_of(quick)
    config = models["RHPNet-W32"][1]
    crops = collect_person_crops(SPORTS2D_DEMO, UDPHeatmapCodec.from_config(config["codec"]), 8, 4).heldout
    runtimes = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # forced int8 of random weights: expected
        for name, (checkpoint, cfg, _) in models.items():
            for label, backend, precision in engines:
                if precision == "int8":
                    cached_int8(cfg, checkpoint, backend, SPORTS2D_DEMO, force=True)
                runtimes[name, label] = create_runtime(cfg, str(checkpoint), backend=backend, device="cpu",
                                                       precision=precision,
                                                       calibration=SPORTS2D_DEMO if precision == "int8" else None)
    samples = time_engines(runtimes, crops[:1], rounds)
    lines = [f"Per-crop latency, batch 1, {rounds} rotating rounds; peaks measured now: fp32 SGEMM "
             f"{peaks['fp32']:.0f} GMAC/s, int8 onnxruntime MatMulInteger {peaks['int8']:.0f} GMAC/s.", "",
             "| engine | HRNet-W32 ms/crop | RHPNet-W32 ms/crop | RHPNet / HRNet | RHPNet vs onnxruntime fp32 "
             "| RHPNet GMAC/s (% of fp32 / int8 peak) |", "|---|---|---|---|---|---|"]
    result = {"ratio_to_ort_fp32": {}, "rhpnet_over_hrnet": {}, "ms_per_crop": {}}
    for label, _, precision in engines:
        rh = samples["RHPNet-W32", label]
        ratio_ort = statistics.median(a / b for a, b in zip(rh, samples["RHPNet-W32", "onnxruntime fp32"]))
        hr_ms, pair = "-", "-"
        if ("HRNet-W32", label) in samples:
            hr = samples["HRNet-W32", label]
            hr_ms = f"{1e3 * statistics.median(hr):.1f}"
            pair_value = statistics.median(r / h for r, h in zip(rh, hr))
            pair = f"{pair_value:.3f}"
            result["rhpnet_over_hrnet"][label] = pair_value
        rate = models["RHPNet-W32"][2] / statistics.median(rh)
        peak = peaks["int8"] if precision == "int8" else peaks["fp32"]
        result["ratio_to_ort_fp32"][label] = ratio_ort
        result["ms_per_crop"][label] = 1e3 * statistics.median(rh)
        lines.append(f"| {label} | {hr_ms} | {1e3 * statistics.median(rh):.1f} | {pair} | {ratio_ort:.3f} "
                     f"| {rate:.0f} ({100 * rate / peak:.0f}% of {'int8' if precision == 'int8' else 'fp32'}) |")
    return lines, result


def read_frames(path: Path, count: int, size_wh: tuple[int, int] | None = None) -> list[np.ndarray]:
    """The first `count` RGB frames of a clip, resized to `size_wh` as camera_replay does when given."""
    capture, frames = cv2.VideoCapture(str(path)), []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if size_wh:
            frame = cv2.resize(frame, size_wh, interpolation=cv2.INTER_AREA)
        frames.append(np.ascontiguousarray(frame[..., ::-1]))
    capture.release()
    return frames


def ultralytics_predict_fps(frames: list[np.ndarray]) -> float:
    """Frames/s of a plain YOLO11n-pose `.pt` predict loop (ultralytics defaults, CPU)."""
    from ultralytics import YOLO

    from rhpnet_core.detector import default_detector_weights

    model = YOLO(str(default_detector_weights()))
    model.predict(frames[0][..., ::-1], device="cpu", verbose=False)
    start = time.perf_counter()
    for frame in frames:
        model.predict(frame[..., ::-1], device="cpu", verbose=False)
    return len(frames) / (time.perf_counter() - start)


def ros_one_runner_fps(checkpoint: Path, window_s: float, work: Path, node_params: dict) -> dict:
    """camera_replay -> pose_node -> subscriber here: processed frames/s and latency over `window_s`."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    from rhpnet.msg import Keypoints

    os.environ["ROS_DOMAIN_ID"] = str(150 + os.getpid() % 50)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    lib = Path(sys.prefix) / "lib" / "rhpnet"
    params = {"checkpoint": str(checkpoint), "target": "longest", "queue_size": 1, **node_params}
    pose_cmd = [str(lib / "pose_node"), "--ros-args"] + sum((["-p", f"{k}:={v}"] for k, v in params.items()), [])
    replay_cmd = [str(lib / "camera_replay"), "--ros-args", "-p", f"source:={SPORTS2D_DEMO}", "-p", "loop:=true",
                  "-p", f"width:={FRAME_WH[0]}", "-p", f"height:={FRAME_WH[1]}", "-p", "rate:=30.0"]
    arrivals: list[tuple[float, float, int]] = []
    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("bench_realtime_subscriber", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)

    def on_keypoints(msg: Keypoints) -> None:
        stamp_s = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        arrivals.append((time.time(), stamp_s, len(msg.persons)))

    node.create_subscription(Keypoints, "keypoints", on_keypoints, 50)
    logs = [open(work / "pose_node.log", "w"), open(work / "camera_replay.log", "w")]
    pose = subprocess.Popen(pose_cmd, stdout=logs[0], stderr=subprocess.STDOUT)
    replay = None
    try:
        deadline = time.time() + 600
        while not node.count_publishers("keypoints") and time.time() < deadline and pose.poll() is None:
            executor.spin_once(timeout_sec=0.2)
        time.sleep(1.0)
        replay = subprocess.Popen(replay_cmd, stdout=logs[1], stderr=subprocess.STDOUT)
        while len(arrivals) < 5 and time.time() < deadline and pose.poll() is None:
            executor.spin_once(timeout_sec=0.2)
        if pose.poll() is not None or len(arrivals) < 5:
            logs[0].flush()
            raise RuntimeError("pose_node produced no keypoints; its log:\n" + (work / "pose_node.log").read_text()[-3000:])
        start = time.time() + 2.0  # steady state: tracker confirmed, shapes compiled
        while time.time() < start + window_s:
            executor.spin_once(timeout_sec=0.1)
    finally:
        for process in (replay, pose):
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
        for log in logs:
            log.close()
    steady = [a for a in arrivals if start <= a[0] <= start + window_s]
    latency_ms = [1e3 * (received - stamp) for received, stamp, _ in steady]
    return {"fps": len(steady) / window_s, "latency_ms_median": statistics.median(latency_ms),
            "latency_ms_p90": float(np.percentile(latency_ms, 90)),
            "persons_per_frame": statistics.mean(n for _, _, n in steady), "frames": len(steady)}


def three_people_section(checkpoint: Path, frames: list[np.ndarray], detector_backend: str) -> tuple[list[str], dict]:
    lines = [f"{len(frames)} vtest.avi frames (768x576), RHPNet-W32 openvino int8, target all, detector "
             f"{detector_backend} at imgsz 960 (640 misses most of vtest's small pedestrians):", "",
             "| detect_every | flip test | persons/frame | detect ms | pose ms | frame ms | frames/s |",
             "|---|---|---|---|---|---|---|"]
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline = build_pipeline("rhpnet", str(checkpoint), backend="openvino", precision="int8",
                                  calibration=str(SPORTS2D_DEMO), device="cpu", detector_imgsz=960,
                                  detector_backend=detector_backend)
    for every in (1, 5):
        for flip in (False, True):
            pipeline.reset()
            pipeline.update_options(detect_every=every, flip_test=flip)
            pipeline(frames[0], 0.0)
            totals, detect, pose, persons = [], [], [], []
            for index, frame in enumerate(frames):
                start = time.perf_counter()
                result = pipeline(frame, (index + 1) / 10.0)
                totals.append(time.perf_counter() - start)
                detect.append(result.latency_ms["detect"])
                pose.append(result.latency_ms["pose"])
                persons.append(len(result))
            fps = len(frames) / sum(totals)
            out[f"detect_every_{every}_flip_{int(flip)}"] = fps
            lines.append(f"| {every} | {'on' if flip else 'off'} | {statistics.mean(persons):.1f} "
                         f"| {statistics.mean(detect):.0f} | {statistics.mean(pose):.0f} "
                         f"| {1e3 * statistics.mean(totals):.0f} | {fps:.2f} |")
    return lines, out


def overlap_section(checkpoint: Path, frames: list[np.ndarray], detector_backend: str) -> tuple[list[str], dict]:
    """Detector of frame i+1 concurrently with the keypoint network of frame i (two threads) against
    one after the other: frames/s and per-frame latency (detector start -> keypoints)."""
    import queue
    import threading

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline = build_pipeline("rhpnet", str(checkpoint), backend="openvino", precision="int8",
                                  calibration=str(SPORTS2D_DEMO), device="cpu", flip_test=False,
                                  detector_backend=detector_backend)
    detector, estimator = pipeline.detector, pipeline.estimator

    def largest(found) -> np.ndarray:
        if not len(found):
            return np.zeros((0, 4), np.float32)
        area = (found.boxes_xyxy[:, 2] - found.boxes_xyxy[:, 0]) * (found.boxes_xyxy[:, 3] - found.boxes_xyxy[:, 1])
        return found.boxes_xyxy[[int(area.argmax())]]

    estimator.estimate(frames[0], largest(detector(frames[0])))
    start = time.perf_counter()
    sequential_latency = []
    for frame in frames:
        t0 = time.perf_counter()
        estimator.estimate(frame, largest(detector(frame)))
        sequential_latency.append(time.perf_counter() - t0)
    sequential_fps = len(frames) / (time.perf_counter() - start)

    handoff: queue.Queue = queue.Queue(maxsize=1)
    overlap_latency = []

    def pose_worker() -> None:
        while (item := handoff.get()) is not None:
            t0, frame, boxes = item
            estimator.estimate(frame, boxes)
            overlap_latency.append(time.perf_counter() - t0)

    worker = threading.Thread(target=pose_worker)
    start = time.perf_counter()
    worker.start()
    for frame in frames:
        t0 = time.perf_counter()
        handoff.put((t0, frame, largest(detector(frame))))
    handoff.put(None)
    worker.join()
    overlap_fps = len(frames) / (time.perf_counter() - start)
    lines = [f"Overlap on {os.cpu_count()} cores ({len(frames)} sports2d frames 640x480, largest person, "
             f"detector {detector_backend}, RHPNet-W32 openvino int8, no flip):", "",
             "| schedule | frames/s | latency median ms |", "|---|---|---|",
             f"| detector then keypoints (one thread) | {sequential_fps:.1f} | "
             f"{1e3 * statistics.median(sequential_latency):.0f} |",
             f"| detector of frame i+1 concurrent with keypoints of frame i (two threads) | {overlap_fps:.1f} | "
             f"{1e3 * statistics.median(overlap_latency):.0f} |"]
    return lines, {"sequential_fps": sequential_fps, "overlap_fps": overlap_fps,
                   "sequential_latency_ms": 1e3 * statistics.median(sequential_latency),
                   "overlap_latency_ms": 1e3 * statistics.median(overlap_latency)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="three engines, fewer rounds and frames")
    parser.add_argument("--per-crop-only", action="store_true", help="only the per-crop engine table")
    parser.add_argument("--json", action="store_true", help="print one json object last")
    parser.add_argument("--detector-backend", default="auto", choices=("auto", "torch", "openvino"),
                        help="in-process sections; the node uses build_pipeline's default (auto)")
    parser.add_argument("--flip-test", action="store_true", help="one-runner case with the flip test")
    parser.add_argument("--detect-every", type=int, default=1, help="one-runner case: the node's detect_every")
    args = parser.parse_args()
    rounds, window_s, vtest_count = (5, 10.0, 10) if args.quick else (15, 30.0, 30)
    work_dir = tempfile.TemporaryDirectory(prefix="rhpnet-bench-realtime-")
    work = Path(work_dir.name)
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")  # exports stay out of the user cache; the node shares it
    load_before = os.getloadavg()
    started = time.perf_counter()
    models = make_checkpoints(work)
    peaks = measured_peaks()
    lines, per_crop = per_crop_section(models, args.quick, rounds, peaks)
    if args.per_crop_only:
        print("\n".join(lines), flush=True)
        if args.json:
            print(json.dumps({"int8_vs_ort_fp32_per_crop": per_crop["ratio_to_ort_fp32"]["openvino int8"],
                              **per_crop, "peaks_gmac_s": peaks, "quick": args.quick}))
        return 0
    frames = read_frames(SPORTS2D_DEMO, 90 if args.quick else 230, FRAME_WH)
    yolo_fps = ultralytics_predict_fps(frames)
    node_params = {"backend": "openvino", "precision": "int8", "calibration": str(SPORTS2D_DEMO),
                   "flip_test": "always" if args.flip_test else "never", "detect_every": args.detect_every}
    ros = ros_one_runner_fps(models["RHPNet-W32"][0], window_s, work, node_params)
    yolo_fps_after = ultralytics_predict_fps(frames)
    people_lines, people = three_people_section(models["RHPNet-W32"][0], read_frames(VTEST, vtest_count),
                                                args.detector_backend)
    overlap_lines, overlap = overlap_section(models["RHPNet-W32"][0], frames[:60], args.detector_backend)
    load_after = os.getloadavg()
    report = [f"Machine: {os.cpu_count()} logical CPUs; load average (1 min) before / after "
              f"{load_before[0]:.2f} / {load_after[0]:.2f}; total {time.perf_counter() - started:.0f} s.", ""]
    report += lines + ["", f"One runner (sports2d demo at 640x480, 30 Hz replay, target longest, RHPNet-W32 "
                           f"openvino int8, flip test {'on' if args.flip_test else 'off'}, detector "
                           f"{args.detector_backend}, detect_every {args.detect_every}) through camera_replay -> pose_node -> subscriber, "
                           f"{window_s:.0f} s window:", "",
                           "| processed frames/s | latency median / p90 ms | persons/frame | ultralytics predict "
                           "loop frames/s (before / after) | ratio |", "|---|---|---|---|---|",
                           f"| {ros['fps']:.1f} | {ros['latency_ms_median']:.0f} / {ros['latency_ms_p90']:.0f} "
                           f"| {ros['persons_per_frame']:.2f} | {yolo_fps:.1f} / {yolo_fps_after:.1f} "
                           f"| {ros['fps'] / statistics.mean([yolo_fps, yolo_fps_after]):.2f} |", ""]
    report += people_lines + [""] + overlap_lines
    print("\n".join(report), flush=True)
    if args.json:
        print(json.dumps({"rhpnet_int8_fps_1person": ros["fps"],
                          "ultralytics_predict_fps": statistics.mean([yolo_fps, yolo_fps_after]),
                          "int8_vs_ort_fp32_per_crop": per_crop["ratio_to_ort_fp32"]["openvino int8"],
                          "one_runner_latency_ms_median": ros["latency_ms_median"],
                          "ratio_to_ort_fp32_per_crop": per_crop["ratio_to_ort_fp32"],
                          "rhpnet_over_hrnet_per_crop": per_crop["rhpnet_over_hrnet"],
                          "ms_per_crop": per_crop["ms_per_crop"], "peaks_gmac_s": peaks,
                          "three_people_fps": people, "overlap": overlap, "quick": args.quick}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
