"""The RHPNet estimator path of the pipeline: checkpoint -> runtime -> top-down crops -> image pixels.

No trained RHPNet weights exist, so a randomly initialised tiny checkpoint drives the real code;
what is asserted is geometry and plumbing (shapes, back-projection into each person's crop,
torch/onnxruntime agreement), not accuracy.
"""
from pathlib import Path

import numpy as np
import pytest

from footage import read_rgb, ultralytics_asset
from rhpnet_core.checkpoint import save_checkpoint
from rhpnet_core.config import load_config
from rhpnet_core.model import build_model
from rhpnet_core.pipeline import build_pipeline

TINY = Path(__file__).resolve().parents[1] / "training" / "configs" / "tiny" / "coco.yaml"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> str:
    config = load_config(TINY)
    path = tmp_path_factory.mktemp("ckpt") / "tiny_rhpnet.pt"
    save_checkpoint(path, build_model(config["model"]).state_dict(), config)
    return str(path)


def crop_region(box: np.ndarray, aspect: float, padding: float = 1.25) -> tuple[float, float, float, float]:
    """The image region a top-down crop of `box` covers (box centre, padded, widened to `aspect` = w/h)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w * padding / 2, cy - h * padding / 2, cx + w * padding / 2, cy + h * padding / 2


def test_rhpnet_pipeline_keypoints_land_in_each_persons_crop(checkpoint):
    pipeline = build_pipeline(checkpoint=checkpoint, backend="torch", device="cpu")  # auto -> rhpnet
    assert pipeline.model_name.startswith("tiny_rhpnet:") and "@torch-cpu" in pipeline.model_name
    result = pipeline(read_rgb(ultralytics_asset("bus.jpg")))
    assert len(result) >= 3 and result.keypoints.shape == (len(result), 17, 3)
    aspect = 64 / 96
    for box, person in zip(result.boxes_xyxy, result.keypoints):
        rx0, ry0, rx1, ry1 = crop_region(box, aspect)
        tol = (rx1 - rx0) / 16  # one heatmap pixel of the 16-px-wide tiny heatmap
        assert (person[:, 0] >= rx0 - tol).all() and (person[:, 0] <= rx1 + tol).all()
        assert (person[:, 1] >= ry0 - tol).all() and (person[:, 1] <= ry1 + tol).all()


def test_onnxruntime_backend_agrees_with_torch(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the ONNX export cache stays in the temp dir
    image = read_rgb(ultralytics_asset("zidane.jpg"))
    torch_result = build_pipeline(checkpoint=checkpoint, backend="torch", device="cpu")(image)
    ort_pipeline = build_pipeline(checkpoint=checkpoint, backend="onnxruntime", device="cpu")
    ort_result = ort_pipeline(image)
    assert "@onnxruntime-cpu" in ort_pipeline.model_name
    np.testing.assert_allclose(ort_result.boxes_xyxy, torch_result.boxes_xyxy)
    np.testing.assert_allclose(ort_result.keypoints[..., 2], torch_result.keypoints[..., 2], atol=1e-3)
    # Positions are argmax-based: equal unless two heatmap peaks tie within float noise.
    close = np.abs(ort_result.keypoints[..., :2] - torch_result.keypoints[..., :2]).max(axis=-1) < 0.5
    assert close.mean() > 0.95
