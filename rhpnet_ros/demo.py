"""`make demo [DEMO=sideview|synthetic] [DEMO_ARGS=...]`: what a treadmill rig does, start to end.

  sideview   (default) real side-view footage (the sports2d wheel's demo clip: a person walking
             among distractors) through treadmill.launch.py: camera_replay -> pose node following
             the runner -> recorder -> live gait node; then `rhpnet score` on the recorded bag
             (offline vs live keypoints) and `rhpnet gait-report` from it. See rhpnet_ros/demo_rig.py.
  synthetic  a generated runner with known cadence and contact times (rhpnet_core/gait/synthetic.py) drawn as
             a stick-figure video and played as Keypoints through the live gait node, then the
             report from its bag. No pose network: the detector does not see a stick figure as a
             person. See rhpnet_ros/demo_synthetic.py.

Both end by themselves and print the files to open. `--readme-images DIR` also writes the README's
pictures: sideview annotated_frame.png (the annotated video's middle frame), synthetic report.png
(report.html as headless Chromium renders it).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2

from rhpnet_core.tracking import TARGETS
from rhpnet_ros.demo_offline import save_small_png, screenshot, video_frames

SPORTS2D_DEMO = Path(sys.prefix) / "share" / "rhpnet-footage" / "sports2d_demo.mp4"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rhpnet_ros.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("demo", nargs="?", default="sideview", choices=("sideview", "synthetic"))
    parser.add_argument("--output", type=Path, default=Path("output/demo"), help="folder of everything written")
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="sideview: replay only the first SECONDS of the clip (0: all of it); "
                             "synthetic: length of the generated run (default 16)")
    parser.add_argument("--gait-window", type=float, default=None,
                        help="live gait window in s of message time (default: sideview 5, the clip is 7.7 s; "
                             "synthetic 8)")
    parser.add_argument("--readme-images", type=Path, default=None, help="also write the README's PNGs here")
    rig = parser.add_argument_group("sideview")
    rig.add_argument("--source", type=Path, default=SPORTS2D_DEMO, help="video replayed as the rig camera")
    rig.add_argument("--rate", type=float, default=3.0,
                     help="replay rate in Hz (frames keep the clip's timeline; 3 Hz: about what the pose node "
                          "processes on 2 CPU cores at the clip's 1768x994, recorder and video included)")
    rig.add_argument("--estimator", default="auto", help="auto | rhpnet | yolo-pose (auto: rhpnet with a checkpoint)")
    rig.add_argument("--checkpoint", default="", help="RHPNet checkpoint from `rhpnet train` (none: yolo-pose)")
    rig.add_argument("--target", default="all", choices=TARGETS,
                     help="pose node target (default all: this clip's walker enters after a bystander, see "
                          "rhpnet_ros/demo_rig.py)")
    rig.add_argument("--detector-imgsz", type=int, default=640, help="person detector input size in px")
    rig.add_argument("--idle-timeout", type=float, default=30.0, help="give up when nothing moves for this long")
    synthetic = parser.add_argument_group("synthetic")
    synthetic.add_argument("--speed", type=float, default=2.0,
                           help="play the generated Keypoints this many times faster than real time "
                                "(the gait node works on message stamps)")
    return parser.parse_args(argv)


def print_sideview(result, seconds: float) -> None:
    s = result.summary
    runner = s["runner"]
    report = s["report"]
    cadence = report["cadence_spm"]
    cadence_value = cadence.get("value") if isinstance(cadence, dict) else cadence
    if report["walking_detected"]:
        gait = "walking detected" + (f" (cadence {cadence_value:.0f} steps/min)" if cadence_value else "") + \
               ": not running, so no running metrics or findings are reported"
    elif cadence_value is not None and report["valid"]:
        gait = f"cadence {cadence_value:.0f} steps/min"
    else:
        gait = f"no gait metrics: {report['reason']}"
    live = s["live"]
    print("\ndemo: open")
    print(f"  annotated video  {result.annotated_video}")
    print(f"  gait report      {result.report_html}")
    print(f"  recorded bag     {result.bag}   (rhpnet bag info {result.bag})")
    who = "nobody tracked long enough" if runner["track_id"] is None else \
        f"track {runner['track_id']}, in {runner['live_frames']} of {live['processed']} processed frames"
    print(f"runner: {who} (target {runner['target']}; live gait node followed track "
          f"{runner['live_gait_node_track_id']}: {live['gait_verdict']})")
    print(f"gait:   {gait}")
    print(f"frames: {s['frames_published']} published, {live['processed']} processed live at "
          f"{live['processed_fps']} fps ({live['dropped']} dropped), {s['offline']['frames']} scored offline in "
          f"{s['offline']['seconds']:.0f} s ({s['offline']['fps']} fps with start-up); demo {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    if args.demo == "synthetic":
        from rhpnet_ros import demo_synthetic

        result = demo_synthetic.run(demo_synthetic.SyntheticDemoSettings(
            output=args.output / "synthetic", seconds=args.seconds or 16.0, speed=args.speed,
            gait_window_s=args.gait_window or 8.0))
        demo_synthetic.print_result(result, time.monotonic() - started)
        if args.readme_images:
            shot = screenshot(result.report_html, result.report_html.with_suffix(".png"), 1000, 1100)
            print(f"demo: wrote {save_small_png(cv2.imread(str(shot)), args.readme_images / 'report.png')}")
        return 0

    from rhpnet_ros import demo_rig

    if not args.source.exists():
        print(f"demo: footage {args.source} not found; `make setup` extracts it (or pass --source)", file=sys.stderr)
        return 2
    try:
        result = demo_rig.run(demo_rig.RigDemoSettings(
            source=args.source, output=args.output, seconds=args.seconds, rate_hz=args.rate,
            gait_window_s=args.gait_window or 5.0, estimator=args.estimator, checkpoint=args.checkpoint,
            detector_imgsz=args.detector_imgsz, target=args.target, idle_timeout_s=args.idle_timeout))
    except RuntimeError as exc:  # a step that failed says which and where its log is
        print(f"demo: failed: {exc}", file=sys.stderr)
        return 1
    print_sideview(result, time.monotonic() - started)
    if args.readme_images:
        _, frame = video_frames(result.annotated_video)
        if frame is not None:
            print(f"demo: wrote {save_small_png(frame, args.readme_images / 'annotated_frame.png', width=720)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
