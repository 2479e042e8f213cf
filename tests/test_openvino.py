"""The OpenVINO engine: fp32 agrees with eager torch, the precision hint is always explicit, bf16
falls back (logged) on CPUs without bf16 units, IR export, and the auto backend/precision choice."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import yaml

from rhpnet_core.checkpoint import save_checkpoint
from rhpnet_core.model import build_model
from rhpnet_core.model.calibration import calibrate_trained_scale
from rhpnet_core.runtime import create_runtime, resolve_backend, resolve_precision
from rhpnet_core.runtime.openvino_engine import cpu_has_bf16
from training.cli import main

CONFIG = {"model": {"arch": "rhpnet", "width": 8, "num_joints": 5, "attention": {"type": "psa", "position": "C"}},
          "codec": {"input_size": [64, 96], "heatmap_size": [16, 24], "sigma": 2.0}}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(path, model) with trained-scale random weights (O(1) heatmaps; see model/calibration.py)."""
    path = tmp_path_factory.mktemp("ov") / "small.pth"
    model = calibrate_trained_scale(build_model(CONFIG["model"]), (64, 96))
    save_checkpoint(path, model.state_dict(), CONFIG)
    return path, model


def batch(n: int) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, 3, 96, 64)).astype(np.float32)


def test_openvino_fp32_agrees_with_eager_at_any_batch(checkpoint, tmp_path, monkeypatch):
    path, model = checkpoint
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runtime = create_runtime(CONFIG, checkpoint=str(path), backend="openvino", precision="fp32")
    assert (runtime.name, runtime.backend, runtime.precision) == ("rhpnet_w8@openvino-cpu", "openvino", "fp32")
    for n in (1, 3):  # one static shape compiled per batch size
        with torch.no_grad():
            expected = model(torch.from_numpy(batch(n))).numpy()
        got = runtime(batch(n))
        assert got.shape == expected.shape == (n, 5, 24, 16)
        assert np.abs(got - expected).max() < 5e-4  # f32 kernels: rounding only, never bf16's ~1e-2
    compiled = runtime._request(1).get_compiled_model()
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) == "<Type: 'float32'>"
    with pytest.raises(ValueError, match=r"expected a numpy batch \(N, 3, 96, 64\)"):
        runtime(batch(1)[:, :, :64])


def test_bf16_runs_bf16_or_falls_back_with_a_log(checkpoint, tmp_path, monkeypatch, caplog):
    path, model = checkpoint
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        runtime = create_runtime(CONFIG, checkpoint=str(path), backend="openvino", precision="bf16")
    with torch.no_grad():
        expected = model(torch.from_numpy(batch(2))).numpy()
    error = np.abs(runtime(batch(2)) - expected).mean() / (expected.max() - expected.min())
    if cpu_has_bf16():
        assert runtime.precision == "bf16" and 1e-5 < error < 0.02  # bf16 rounding is visible, and small
    else:
        assert runtime.precision == "fp32" and error < 1e-5
        assert "no bf16 units" in caplog.text


def test_auto_backend_and_precision():
    assert resolve_backend("auto", "cpu") == "openvino"
    assert resolve_precision("auto", "openvino", None) == ("bf16" if cpu_has_bf16() else "fp32")
    assert resolve_precision("auto", "openvino", "footage.mp4") == "int8"
    assert resolve_precision("auto", "torch", "footage.mp4") == "fp32"
    with pytest.raises(ValueError, match="precision 'int8' not supported by backend torch"):
        resolve_precision("int8", "torch", None)
    with pytest.raises(ValueError, match="needs a checkpoint and a calibration source"):
        create_runtime(CONFIG, backend="openvino", precision="int8")


def test_export_cli_writes_an_openvino_ir(checkpoint, tmp_path, capsys):
    path, model = checkpoint
    cfg_path = tmp_path / "small.yaml"
    cfg_path.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "ir" / "model.xml"
    assert main(["export", "--config", str(cfg_path), "--checkpoint", str(path), "--format", "openvino",
                 "--output", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out and out.with_suffix(".bin").is_file()
    runtime = create_runtime(CONFIG, backend="openvino", onnx_path=str(out))
    with torch.no_grad():
        expected = model(torch.from_numpy(batch(2))).numpy()
    assert np.abs(runtime(batch(2)) - expected).max() < 5e-4
    assert main(["export", "--config", str(cfg_path), "--format", "onnx", "--precision", "bf16",
                 "--output", str(tmp_path / "x.onnx")]) == 2
    assert "bf16 needs --format openvino" in capsys.readouterr().err
