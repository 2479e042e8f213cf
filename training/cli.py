"""The `rhpnet` command: one sub-command per module of `training/`.

Each sub-command module exposes `add_arguments(parser)` and `run(args) -> int`; modules are
imported only when their sub-command runs, so `rhpnet flops` does not pay for pycocotools.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "train": ("training.train", "train a model from a YAML config (torchrun for multi-GPU)"),
    "evaluate": ("training.evaluate", "score a checkpoint or a predictions file (OKS AP, PCKh)"),
    "export": ("training.export", "export a model to ONNX"),
    "flops": ("training.flops", "print parameters and GMACs of a config"),
    "augment": ("training.augment", "offline RandomErasing/GridMask dataset augmentation"),
    "predict": ("training.predict", "run the detector + pose pipeline on images or a video"),
    "gait-report": ("training.gait_report", "gait events, metrics and an HTML report (bag, video, keypoints json)"),
    "record": ("training.record", "record topics into crash-bounded split bags (the pose_recorder node)"),
    "bag": ("training.bag", "bag info | recover | export (any rosbag2 bag, split DIR, killed recording)"),
    "score": ("training.score", "re-run the pose pipeline over a bag's camera topic, compare, evaluate"),
}


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, object]:
    parser = argparse.ArgumentParser(prog="rhpnet", description="RHPNet running-posture estimation")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = argv[0] if argv else None
    module = None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
    return parser, module


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(module.run(args) or 0)
    except Exception as exc:
        from rhpnet_core.checkpoint import CheckpointError  # torch is loaded by now; keeps --help fast

        if not isinstance(exc, (FileNotFoundError, ValueError, CheckpointError)):
            raise
        # Bad input (missing file, malformed config/data/checkpoint): one line naming it, no traceback.
        print(f"rhpnet {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
