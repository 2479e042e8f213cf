"""`torchrun` + DistributedDataParallel on CPU (gloo): 2 ranks share the global batch and the
validation images; only rank 0 writes the work dir."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from rhpnet_core.config import deep_merge, load_config
from synthetic import make_coco_dataset

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_rank_training_runs_and_rank0_writes(tmp_path):
    make_coco_dataset(tmp_path / "data", num_images=8)
    config = deep_merge(load_config(REPO / "training" / "configs" / "tiny" / "coco.yaml"),
                        {"data": {"root": str(tmp_path / "data")}, "train": {"epochs": 1}})
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(free_port()), "-m", "training.cli", "train", "--config", str(config_file),
               "--work-dir", str(tmp_path / "work"), "--device", "cpu", "--no-progress"]
    # own process group, so a hung run's worker processes are ended with it
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    assert process.returncode == 0, output[-3000:]
    assert "batch 4 on 2 x cpu" in output
    summary = json.loads((tmp_path / "work" / "metrics.json").read_text())
    # 8 samples, global batch 4 (2 per rank) -> 2 steps; the val metrics cover all 8 persons.
    assert summary["steps"] == 2 and len(summary["history"]) == 1
    assert set(summary["final"]) >= {"AP", "AP50", "AP75", "APM", "APL", "AR"}
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["best.pth", "last.pth", "metrics.json",
                                                                       "tensorboard"]
