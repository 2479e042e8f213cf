"""`rhpnet evaluate --ann --predictions`: one JSON object, Table-layout text."""
from __future__ import annotations

import json

import pytest

from synthetic import make_coco_dataset, make_mpii_dataset
from training.cli import main


def write_gt_predictions(ann_file, path):
    gt = json.loads(ann_file.read_text())
    path.write_text(json.dumps([{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"],
                                 "score": 1.0} for a in gt["annotations"]]))
    return path


def test_oks_json_object(tmp_path, capsys):
    ann_file = make_coco_dataset(tmp_path)
    predictions = write_gt_predictions(ann_file, tmp_path / "pred.json")
    assert main(["evaluate", "--ann", str(ann_file), "--predictions", str(predictions), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"AP", "AP50", "AP75", "APM", "APL", "AR"}
    assert result["AP"] == pytest.approx(1.0)


def test_running_human_json_adds_occlusion_split(tmp_path, capsys):
    ann_file = make_coco_dataset(tmp_path, occlusion=True)
    predictions = write_gt_predictions(ann_file, tmp_path / "pred.json")
    main(["evaluate", "--ann", str(ann_file), "--predictions", str(predictions), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["occluded"]["AP"] == pytest.approx(1.0)


def test_oks_text_is_a_paper_table_row(tmp_path, capsys):
    ann_file = make_coco_dataset(tmp_path)
    predictions = write_gt_predictions(ann_file, tmp_path / "pred.json")
    main(["evaluate", "--ann", str(ann_file), "--predictions", str(predictions), "--name", "RHPNet"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "| Method | Backbone | Input Size | Params | GFLOPs | AP | AP50 | AP75 | APM | APL | AR |"
    assert lines[2].startswith("| RHPNet |") and "| 100.0 |" in lines[2]


def test_pckh_json_table(tmp_path, capsys):
    ann_file = make_mpii_dataset(tmp_path)
    predictions = tmp_path / "pred.json"
    predictions.write_text(json.dumps([e["joints"] for e in json.loads(ann_file.read_text())]))
    main(["evaluate", "--ann", str(ann_file), "--predictions", str(predictions), "--metric", "pckh", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert list(result)[:9] == ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1"]
    assert result["Mean"] == pytest.approx(100.0) and result["head_size"] == "head_segment_approximation"


def test_missing_partner_argument_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="--ann and --predictions go together"):
        main(["evaluate", "--ann", str(tmp_path / "a.json")])
