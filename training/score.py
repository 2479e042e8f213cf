"""`rhpnet score BAG --output DIR`: re-run the pose pipeline over a bag's camera topic.

Writes DIR/scored/ (a bag of Keypoints with the source frames' headers and log times; with
--include-source every source topic too), compares with the bag's recorded Keypoints (or --compare
TOPIC): DIR/comparison.json + a table, and with --ground-truth (COCO json whose images carry
`stamp_ns`) DIR/ground_truth.json (OKS AP, PCK).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bag", help="bag folder, .mcap/.db3 file, or DIR of split bags")
    parser.add_argument("--output", required=True, help="folder for the scored bag and the reports")
    parser.add_argument("--topic", default=None, help="camera topic (Image or CompressedImage); default: the only one")
    parser.add_argument("--keypoints-topic", default=None, help="output topic (default: <camera namespace>/keypoints)")
    parser.add_argument("--compare", default=None,
                        help="Keypoints topic of BAG to compare with (default: the only one, if any)")
    parser.add_argument("--ground-truth", default=None, help="COCO keypoint json whose images carry stamp_ns")
    parser.add_argument("--include-source", action="store_true", help="copy every other topic of BAG too")
    parser.add_argument("--pck-threshold", type=float, default=0.05, help="PCK threshold x max(box w, h)")
    parser.add_argument("--estimator", default="auto", help="auto | rhpnet | yolo-pose")
    parser.add_argument("--checkpoint", default=None, help="RHPNet checkpoint (from `rhpnet train`)")
    parser.add_argument("--backend", default="torch", help="inference backend (see `rhpnet predict`)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--detector-imgsz", type=int, default=640)
    parser.add_argument("--detector-conf", type=float, default=0.25)
    parser.add_argument("--max-persons", type=int, default=20)
    parser.add_argument("--target", default="all", help="all | largest | central | longest")
    parser.add_argument("--detect-every", type=int, default=1)
    parser.add_argument("--no-flip-test", action="store_true", help="RHPNet without flip test")


def run(args: argparse.Namespace) -> int:
    from rhpnet_core.bags.images import IMAGE_TYPES
    from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE
    from rhpnet_core.bags.reader import BagReader
    from rhpnet_core.bags.scoring import (choose_topic, compare_poses, default_keypoints_topic, file_sha256,
                                          format_comparison, ground_truth_metrics, recorded_poses, score_bag,
                                          write_json)
    from rhpnet_core.pipeline import build_pipeline

    reader = BagReader(args.bag)
    image_topic = choose_topic(reader, IMAGE_TYPES, "camera", args.topic)
    keypoints_topic = args.keypoints_topic or default_keypoints_topic(image_topic)
    compare_topic = args.compare
    if compare_topic is None and reader.topics_of_type(KEYPOINTS_TYPE):
        compare_topic = choose_topic(reader, (KEYPOINTS_TYPE,), "keypoints", None)
    gt = json.loads(Path(args.ground_truth).read_text()) if args.ground_truth else None
    output = Path(args.output)
    if (output / "scored").exists():
        raise ValueError(f"{output / 'scored'} exists already; choose another --output")
    output.mkdir(parents=True, exist_ok=True)
    pipeline = build_pipeline(args.estimator, args.checkpoint, args.backend, args.device,
                              detector_conf=args.detector_conf, detector_imgsz=args.detector_imgsz,
                              max_persons=args.max_persons, flip_test=not args.no_flip_test,
                              target=args.target, detect_every=args.detect_every)
    custom = {"estimator": args.estimator, "backend": args.backend, "target": args.target,
              "detect_every": str(args.detect_every), "detector_imgsz": str(args.detector_imgsz)}
    if args.checkpoint:
        custom["checkpoint_sha256"] = file_sha256(args.checkpoint)
    frames = reader.topics[image_topic].count
    with tqdm(total=frames, desc=f"score {image_topic}", unit="frame") as bar:
        poses = score_bag(reader, pipeline, output, image_topic, keypoints_topic, args.include_source,
                          custom, progress=bar.update)
    print(f"wrote {output / 'scored'}: {len(poses)} Keypoints on {keypoints_topic} ({pipeline.model_name})")
    names = list(pipeline.keypoint_names)
    if compare_topic:
        comparison = compare_poses(recorded_poses(reader, compare_topic), poses, names, args.pck_threshold)
        comparison.update(reference=f"{args.bag}:{compare_topic}", candidate=pipeline.model_name)
        write_json(output / "comparison.json", comparison)
        print(format_comparison(comparison, f"{compare_topic} (recorded)", pipeline.model_name))
    if gt is not None:
        metrics = ground_truth_metrics(gt, poses, names, args.pck_threshold)
        write_json(output / "ground_truth.json", metrics)
        oks = metrics["oks"]
        print(f"ground truth ({metrics['scored_annotated_frames']}/{metrics['annotated_frames']} frames): "
              f"OKS AP {oks['AP']:.3f} AP50 {oks['AP50']:.3f}; PCK@{args.pck_threshold} "
              f"{metrics['pck'][f'pck@{args.pck_threshold}']}")
    return 0
