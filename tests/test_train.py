"""`rhpnet train`: exact resume, optimiser choice, the loss, the full W32 configs for one step."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from rhpnet_core.checkpoint import load_checkpoint
from rhpnet_core.config import deep_merge, load_config
from synthetic import make_coco_dataset, make_mpii_dataset
from training.cli import main
from training.train import OPTIMIZERS, Trainer, build_optimizer, loss_fn, train

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # 2 intra-op threads per process oversubscribe the shared 2-core test machine (10x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(data_root: Path, **train: object) -> dict:
    config = load_config(CONFIGS / "tiny" / "coco.yaml")
    return deep_merge(config, {"data": {"root": str(data_root)}, "train": dict(train)})


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """An uninterrupted 3-epoch tiny run: (config, work dir, summary)."""
    tmp_path = tmp_path_factory.mktemp("full_run")
    make_coco_dataset(tmp_path / "data", num_images=8)
    config = tiny_config(tmp_path / "data", epochs=3, checkpoint_interval_steps=2)
    return config, tmp_path / "full", train(config, tmp_path / "full", device="cpu", progress=False)


def test_resume_after_a_mid_epoch_stop_matches_an_uninterrupted_run(tmp_path, full_run):
    config, full_dir, full = full_run
    stopped = train(config, tmp_path / "cut", device="cpu", max_steps=3, progress=False)
    assert stopped == {"stopped": True, "steps": 3, "epoch": 1, "step_in_epoch": 1}  # mid-epoch 2
    resumed = train(config, tmp_path / "cut", device="cpu", resume="auto", progress=False)
    a = load_checkpoint(full_dir / "last.pth")
    b = load_checkpoint(tmp_path / "cut" / "last.pth")
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for name, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][name]), name
    assert resumed["history"] == full["history"] and resumed["steps"] == full["steps"] == 6
    assert (full_dir / "best.pth").is_file() and (full_dir / "metrics.json").is_file()
    assert any((full_dir / "tensorboard").iterdir())


def test_evaluate_checkpoint_reproduces_the_trainers_validation(tmp_path, full_run, capsys):
    config, full_dir, full = full_run
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    assert main(["evaluate", "--config", str(config_file), "--checkpoint", str(full_dir / "last.pth"),
                 "--device", "cpu", "--json", "--out", str(tmp_path / "eval")]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics == pytest.approx(full["final"])
    results = json.loads((tmp_path / "eval" / "predictions.json").read_text())
    assert len(results) == 8 and len(results[0]["keypoints"]) == 51


def test_loss_is_eq2_with_target_weights():
    predicted = torch.zeros(1, 2, 3, 4)
    target = torch.ones(1, 2, 3, 4)
    assert loss_fn(predicted, target, torch.tensor([[1.0, 1.0]])).item() == pytest.approx(1.0)
    assert loss_fn(predicted, target, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(0.5)


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_optimizers_of_table_9(kind):
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build_optimizer(params, {"type": kind, "lr": 0.01})
    assert optimizer.param_groups[0]["lr"] == 0.01


def test_unknown_optimizer_is_rejected():
    with pytest.raises(ValueError, match="train.optimizer.type 'rmsprop' not supported"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], {"type": "rmsprop", "lr": 0.1})


@pytest.mark.parametrize("config_path, dataset", [
    ("coco/rhpnet_w32_256x192.yaml", "coco"),
    ("mpii/rhpnet_w32_256x256.yaml", "mpii"),
    ("running_human/rhpnet_w32_256x192.yaml", "running_human"),
])
def test_full_w32_config_runs_one_training_step(tmp_path, config_path, dataset):
    if dataset == "mpii":
        make_mpii_dataset(tmp_path, num_images=2)
        split = {"ann_file": "mpii.json", "image_dir": "."}
    else:
        make_coco_dataset(tmp_path, num_images=2, occlusion=dataset == "running_human")
        split = {"ann_file": "annotations.json", "image_dir": "."}
    config = deep_merge(load_config(CONFIGS / config_path),
                        {"data": {"root": str(tmp_path), "workers": 0, "train": split},
                         "train": {"batch_size": 2}})
    assert config["model"]["width"] == 32 and config["train"]["optimizer"]["lr"] == 1e-3
    trainer = Trainer(config, tmp_path / "work", device="cpu", progress=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    batch = next(iter(trainer.loader()))
    loss, _, counted = trainer.train_step(batch)
    assert torch.isfinite(torch.tensor(loss)) and counted > 0
    changed = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) > len(before) // 2
