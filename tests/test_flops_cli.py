"""`rhpnet flops`: JSON and human output over a config file (model + codec sections only)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from training.cli import main

CONFIG_ROOT = Path(__file__).resolve().parents[1] / "training" / "configs"


def write_config(tmp_path: Path, row: str) -> Path:
    """A copy of a row config without `_base_`, so the test needs only the sections flops reads."""
    cfg = yaml.safe_load((CONFIG_ROOT / row).read_text())
    cfg.pop("_base_")
    path = tmp_path / Path(row).name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_flops_json_for_hrnet_w32(tmp_path, capsys):
    assert main(["flops", "--config", str(write_config(tmp_path, "coco/hrnet_w32_256x192.yaml")), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert round(result["params_m"], 1) == 28.5
    assert 7.0 < result["gflops"] < 8.0
    assert "FlopCounterMode" in result["counter"]
    assert "baseline" not in result


def test_flops_text_for_rhpnet_compares_with_the_paper(tmp_path, capsys):
    assert main(["flops", "--config", str(write_config(tmp_path, "coco/rhpnet_w32_256x192.yaml"))]) == 0
    out = capsys.readouterr().out
    assert "GMACs" in out and "torch.utils.flop_counter" in out
    assert "| RHPNet | HRNet-W32 | 256x192 | 30.5 | 7.51 | paper Table 1 |" in out
    ours = next(line for line in out.splitlines() if line.startswith("| rhpnet_w32 |"))
    params_m = float(ours.split("|")[4])
    assert abs(params_m / 30.5 - 1) <= 0.05
    ratio = float(next(line for line in out.splitlines() if line.startswith("compute vs")).split(": ")[1].split("x")[0])
    assert abs(ratio / (7.51 / 7.10) - 1) <= 0.05
