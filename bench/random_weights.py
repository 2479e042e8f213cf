"""The benchmarks' RHPNet-W32 checkpoint: random weights at trained scale (latency depends only on
avoiding denormals, not on the values; see rhpnet_core.model.calibration)."""
from __future__ import annotations

from pathlib import Path

from rhpnet_core.checkpoint import save_checkpoint
from rhpnet_core.config import load_config
from rhpnet_core.model import build_model
from rhpnet_core.model.calibration import calibrate_trained_scale

W32_CONFIG = Path(__file__).resolve().parents[1] / "training/configs/coco/rhpnet_w32_256x192.yaml"


def random_w32_checkpoint(directory: Path) -> Path:
    """Write `directory/rhpnet_w32_random.pt` (config embedded) and return its path."""
    config = load_config(W32_CONFIG)
    model = calibrate_trained_scale(build_model(config["model"]), tuple(config["codec"]["input_size"]))
    path = Path(directory) / "rhpnet_w32_random.pt"
    save_checkpoint(path, model.state_dict(), config)
    return path
