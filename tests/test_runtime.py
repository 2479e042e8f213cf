"""rhpnet_core.runtime and `rhpnet export`: backends, checkpoint loading, ONNX agreement, errors."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
import yaml

from rhpnet_core.checkpoint import save_checkpoint
from rhpnet_core.model import build_model
from rhpnet_core.model.calibration import calibrate_trained_scale
from rhpnet_core.runtime import create_runtime, select_device
from training.cli import main

CONFIG = {"model": {"arch": "rhpnet", "width": 8, "num_joints": 5, "attention": {"type": "psa", "position": "C"}},
          "codec": {"input_size": [64, 96], "heatmap_size": [16, 24], "sigma": 2.0}}


def trained_like(model: torch.nn.Module) -> torch.nn.Module:
    """Weights at trained-network scale: HRNet's init gives ~1e-20 heatmaps, too small for an
    agreement test to mean anything."""
    return calibrate_trained_scale(model, (64, 96))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(path, model) of a checkpoint with trained-scale weights."""
    path = tmp_path_factory.mktemp("ckpt") / "small.pth"
    model = trained_like(build_model(CONFIG["model"]))
    save_checkpoint(path, model.state_dict(), CONFIG)
    return path, model


def batch(n: int) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, 3, 96, 64)).astype(np.float32)


def test_select_device_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected
    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="not understood"):
        select_device("tpu")


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'tensorflow' not supported; expected one of auto, torch, onnxruntime, openvino"):
        create_runtime(CONFIG, backend="tensorflow")


def test_torch_runtime_without_checkpoint_warns_and_keeps_shapes():
    with pytest.warns(UserWarning, match="random weights"):
        runtime = create_runtime(CONFIG, backend="torch", device="cpu")
    assert (runtime.name, runtime.input_size, runtime.num_joints, runtime.backend, runtime.device) == \
        ("rhpnet_w8@torch-cpu", (64, 96), 5, "torch", "cpu")
    out = runtime(batch(2))
    assert out.shape == (2, 5, 24, 16) and out.dtype == np.float32
    with pytest.raises(ValueError, match=r"expected a numpy batch \(N, 3, 96, 64\)"):
        runtime(batch(1)[:, :, :64])


def test_torch_runtime_loads_the_checkpoint(checkpoint):
    path, model = checkpoint
    runtime = create_runtime(CONFIG, checkpoint=str(path), backend="torch", device="cpu")
    with torch.no_grad():
        expected = model(torch.from_numpy(batch(2))).numpy()
    np.testing.assert_array_equal(runtime(batch(2)), expected)


def test_onnxruntime_agrees_with_eager_and_caches_the_export(checkpoint, tmp_path, monkeypatch):
    checkpoint, _ = checkpoint
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    eager = create_runtime(CONFIG, checkpoint=str(checkpoint), backend="torch", device="cpu")
    onnx = create_runtime(CONFIG, checkpoint=str(checkpoint), backend="onnxruntime", device="cpu")
    assert onnx.name == "rhpnet_w8@onnxruntime-cpu" and onnx.backend == "onnxruntime"
    for n in (1, 3):  # the batch axis is dynamic
        expected, got = eager(batch(n)), onnx(batch(n))
        assert got.shape == expected.shape == (n, 5, 24, 16)
        assert 1e-2 < expected.std() < 1e3  # the comparison is between real O(1) signals
        assert np.abs(got - expected).max() < 5e-4  # fp32 summation order differs across ~100 layers
    cached = list((tmp_path / "rhpnet" / "onnx").glob("rhpnet_w8_*.onnx"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = create_runtime(CONFIG, checkpoint=str(checkpoint), backend="onnxruntime", device="cpu")
    assert again.onnx_path == cached[0] and cached[0].stat().st_mtime_ns == mtime


def test_missing_onnx_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        create_runtime(CONFIG, backend="onnxruntime", onnx_path=str(tmp_path / "missing.onnx"))


def test_export_cli_random_init_warns_and_reports_agreement(tmp_path, capsys):
    cfg_path = tmp_path / "small.yaml"
    cfg_path.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "out" / "model.onnx"
    with pytest.warns(UserWarning, match="random weights"):
        assert main(["export", "--config", str(cfg_path), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "max abs diff" in printed
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 3, 96, 64]
    assert session.run(None, {"input": batch(2)})[0].shape == (2, 5, 24, 16)
    runtime = create_runtime(CONFIG, backend="onnxruntime", onnx_path=str(out))
    assert runtime(batch(3)).shape == (3, 5, 24, 16)
    other_size = {**CONFIG, "codec": {**CONFIG["codec"], "input_size": [64, 64]}}
    with pytest.raises(ValueError, match="does not match input_size"):
        create_runtime(other_size, backend="onnxruntime", onnx_path=str(out))
