"""int8 export on a briefly trained tiny RHPNet (clear heatmap peaks) and real rig footage:
calibration from the project's detector and crops, the agreement report next to the model, the
export cache reused by build_pipeline, the refusal (a deliberately strict limit) and --force."""
from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from footage import read_rgb
from rhpnet_core.checkpoint import load_checkpoint
from rhpnet_core.pipeline import build_pipeline
from training.cli import main


@pytest.fixture(scope="module")
def config_file(trained_tiny_checkpoint, tmp_path_factory):
    import yaml

    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text(yaml.safe_dump(load_checkpoint(trained_tiny_checkpoint)["config"]))
    return path


def test_openvino_int8_export_reports_agreement_and_the_pipeline_reuses_it(
        trained_tiny_checkpoint, rig_footage_dir, config_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "export" / "tiny_int8.xml"
    assert main(["export", "--config", str(config_file), "--checkpoint", str(trained_tiny_checkpoint),
                 "--format", "openvino", "--precision", "int8", "--calibration", str(rig_footage_dir),
                 "--output", str(out)]) == 0
    assert "int8 vs fp32 on" in capsys.readouterr().out
    report = json.loads(out.with_suffix(".json").read_text())
    agreement = report["agreement_vs_fp32"]
    print(json.dumps(report))
    assert out.with_suffix(".bin").is_file() and report["engine"] == "openvino" and not report["forced"]
    assert report["calibration_crops"] >= 8 and report["heldout_crops"] >= 4
    # Trained peaks: int8 moves joints by a fraction of a heatmap pixel, a few of them by more.
    assert agreement["passed"] and 0 < agreement["shift_median_hm_px"] < 0.5
    assert agreement["shift_p95_hm_px"] <= agreement["max_shift_p95_hm_px"]
    cached = list((tmp_path / "cache" / "rhpnet" / "openvino").glob("*.xml"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns

    image = read_rgb(next(iter(sorted(rig_footage_dir.glob("*.jpg")))))
    # The same (torch) detector boxes for both: the keypoint engines alone are compared.
    int8 = build_pipeline(checkpoint=str(trained_tiny_checkpoint), backend="openvino", precision="int8",
                          calibration=str(rig_footage_dir), device="cpu", flip_test=False, detector_backend="torch")
    fp32 = build_pipeline(checkpoint=str(trained_tiny_checkpoint), backend="openvino", precision="fp32",
                          device="cpu", flip_test=False, detector_backend="torch")
    assert cached[0].stat().st_mtime_ns == mtime  # the cached export, not a new calibration
    assert "@openvino-int8-cpu" in int8.model_name
    got, expected = int8(image), fp32(image)
    assert len(got) == len(expected) >= 1
    confident = expected.keypoints[..., 2] > 0.3
    shift_px = np.linalg.norm(got.keypoints[..., :2] - expected.keypoints[..., :2], axis=-1)[confident]
    box_px = float((expected.boxes_xyxy[:, 2:] - expected.boxes_xyxy[:, :2]).max())
    assert np.median(shift_px) < box_px / 16  # within a heatmap pixel of the 16-px-wide heatmap

    # A stricter limit refuses the cached model (no recalibration) and leaves the output untouched.
    written = out.stat().st_mtime_ns
    assert main(["export", "--config", str(config_file), "--checkpoint", str(trained_tiny_checkpoint),
                 "--format", "openvino", "--precision", "int8", "--calibration", str(rig_footage_dir),
                 "--max-shift-p95", "0.01", "--output", str(out)]) == 2
    assert "refused: keypoint shift vs fp32" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == written


def test_onnxruntime_int8_forced_past_a_strict_limit_is_written_with_a_warning(
        trained_tiny_checkpoint, rig_footage_dir, config_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "export" / "tiny_int8.onnx"
    with pytest.warns(UserWarning, match="beyond the agreement limits"):
        assert main(["export", "--config", str(config_file), "--checkpoint", str(trained_tiny_checkpoint),
                     "--precision", "int8", "--calibration", str(rig_footage_dir), "--max-shift-p95", "0",
                     "--force", "--output", str(out)]) == 0
    assert "FORCED" in capsys.readouterr().out
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["engine"] == "onnxruntime" and report["forced"] and not report["agreement_vs_fp32"]["passed"]
    model = onnx.load(str(out))
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in model.graph.node}  # static QDQ
    zero_points = {init.name: init.data_type for init in model.graph.initializer}
    activation_q = next(node for node in model.graph.node if node.op_type == "QuantizeLinear")
    assert zero_points[activation_q.input[2]] == onnx.TensorProto.UINT8  # uint8 activations (VNNI/AVX2 u8s8)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.run(None, {"input": np.zeros((1, 3, 96, 64), np.float32)})[0].shape == (1, 17, 24, 16)
