"""Shared test fixtures: the optional ../shared fixtures and a sandboxed ultralytics config dir."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"

# ultralytics writes settings on import; keep them out of $HOME (tests write only in temp dirs).
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="rhpnet-yolo-cfg-"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
# Model exports (ONNX, OpenVINO, int8) are cached under $XDG_CACHE_HOME/rhpnet: a temp dir, never $HOME.
os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="rhpnet-cache-"))


@pytest.fixture(scope="session")
def coco_fixture_dir() -> Path:
    """../shared/fixtures/coco (4 val2017 images + keypoint json); skips when absent."""
    path = SHARED_FIXTURES / "coco"
    if not (path / "test_coco.json").is_file():
        pytest.skip("../shared/fixtures/coco not present")
    return path


@pytest.fixture(scope="session")
def mpii_fixture_dir() -> Path:
    """../shared/fixtures/mpii (5 images + HRNet-format json); skips when absent."""
    path = SHARED_FIXTURES / "mpii"
    if not (path / "test_mpii.json").is_file():
        pytest.skip("../shared/fixtures/mpii not present")
    return path


@pytest.fixture(scope="session")
def trained_tiny_checkpoint(tmp_path_factory) -> Path:
    """Checkpoint of training/configs/tiny/coco.yaml trained ~120 steps on real crops pseudo-labelled by
    yolo11n-pose (tests/trained_tiny.py): its heatmaps have clear peaks, unlike random weights."""
    from trained_tiny import train_tiny

    checkpoint, _ = train_tiny(tmp_path_factory.mktemp("trained_tiny"))
    return checkpoint


@pytest.fixture(scope="session")
def rig_footage_dir(tmp_path_factory) -> Path:
    """16 frames of the sports2d runner from the part of the clip the trained tiny model never saw."""
    from trained_tiny import held_out_frames
    import cv2

    folder = tmp_path_factory.mktemp("rig_footage")
    frames = held_out_frames(16)
    if not frames:
        pytest.skip("sports2d demo video not extracted (make setup)")
    for index, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{index:03d}.jpg"), frame)
    return folder
