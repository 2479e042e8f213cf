"""`rhpnet predict` over a folder of real photos: annotated frames + COCO-format keypoints json."""
import json
import shutil

from footage import ultralytics_asset
from training.cli import main


def test_predict_folder_writes_annotations_and_json(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(ultralytics_asset("zidane.jpg"), frames / "a.jpg")
    (frames / "b.jpg").write_bytes(b"broken")
    out = tmp_path / "out"
    assert main(["predict", "--source", str(frames), "--output", str(out), "--device", "cpu"]) == 0
    results = json.loads((out / "keypoints.json").read_text())
    assert len(results) >= 2 and {r["image_id"] for r in results} == {0}
    assert all(len(r["keypoints"]) == 17 * 3 and r["category_id"] == 1 for r in results)
    assert (out / "000000.jpg").is_file()
    assert "skipped unreadable image" in capsys.readouterr().out


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    assert main(["predict", "--source", str(tmp_path / "missing.mp4"), "--output", str(tmp_path)]) == 2
    assert "rhpnet predict: error: camera source" in capsys.readouterr().err
    assert main(["flops", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "rhpnet flops: error: config" in capsys.readouterr().err
