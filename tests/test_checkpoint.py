"""rhpnet_core.checkpoint: round trip, untrusted/corrupt files, strict loading, public key mapping."""
from __future__ import annotations

import pytest
import torch

from rhpnet_core.checkpoint import (CheckpointError, load_checkpoint, load_model_weights, load_pretrained_backbone,
                                    map_pretrained_key, save_checkpoint)
from rhpnet_core.model import build_model

SMALL_CFG = {"model": {"arch": "rhpnet", "width": 8, "num_joints": 5},
             "codec": {"input_size": [64, 64], "heatmap_size": [16, 16], "sigma": 2.0}}
HRNET_SMALL = {"arch": "hrnet", "width": 8, "num_joints": 5}

# Key names as published in official pose_hrnet_w32 checkpoints, with their W32 / K=17 shapes.
OFFICIAL_W32_KEYS = {
    "conv1.weight": (64, 3, 3, 3),
    "bn2.running_var": (64,),
    "layer1.0.conv3.weight": (256, 64, 1, 1),
    "layer1.0.downsample.0.weight": (256, 64, 1, 1),
    "transition1.0.0.weight": (32, 256, 3, 3),
    "transition1.1.0.0.weight": (64, 256, 3, 3),
    "stage2.0.branches.1.3.conv2.weight": (64, 64, 3, 3),
    "stage2.0.fuse_layers.0.1.0.weight": (32, 64, 1, 1),
    "stage2.0.fuse_layers.1.0.0.0.weight": (64, 32, 3, 3),
    "transition2.2.0.0.weight": (128, 64, 3, 3),
    "stage3.3.fuse_layers.2.0.0.0.weight": (32, 32, 3, 3),
    "stage3.3.fuse_layers.2.0.1.0.weight": (128, 32, 3, 3),
    "transition3.3.0.0.weight": (256, 128, 3, 3),
    "stage4.2.fuse_layers.0.3.0.weight": (32, 256, 1, 1),
    "stage4.2.fuse_layers.0.3.1.running_mean": (32,),
    "final_layer.weight": (17, 32, 1, 1),
    "final_layer.bias": (17,),
}


def small_model(cfg: dict = SMALL_CFG["model"]) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(cfg)


def official_style(model_cfg: dict, seed: int = 1) -> dict[str, torch.Tensor]:
    """A random state dict under the official names (ours minus the `backbone.` prefix)."""
    generator = torch.Generator().manual_seed(seed)
    return {k.removeprefix("backbone."): torch.randn(v.shape, generator=generator) if v.is_floating_point() else v
            for k, v in build_model(model_cfg).state_dict().items()}


def test_round_trip_restores_weights_config_and_trainer_state(tmp_path):
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(1, 3, 64, 64)).sum().backward()
    optimizer.step()
    extra = {"epoch": 7, "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(), "note": "ok"}
    path = tmp_path / "ckpt" / "last.pth"
    save_checkpoint(path, model.state_dict(), SMALL_CFG, extra)
    assert [p.name for p in path.parent.iterdir()] == ["last.pth"]  # no temp file left behind

    data = load_checkpoint(path)
    assert data["format_version"] == 1 and data["config"] == SMALL_CFG
    restored = build_model(data["config"]["model"])
    load_model_weights(restored, data["state_dict"], source=str(path))
    model.eval(), restored.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), restored(x))
    assert data["extra"]["epoch"] == 7 and torch.equal(data["extra"]["torch_rng"], extra["torch_rng"])
    torch.optim.Adam(restored.parameters(), lr=1e-3).load_state_dict(data["extra"]["optimizer"])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pth: no such file"):
        load_checkpoint(tmp_path / "nope.pth")


def test_truncated_and_corrupt_files_are_named(tmp_path):
    path = tmp_path / "model.pth"
    save_checkpoint(path, small_model().state_dict(), SMALL_CFG)
    blob = path.read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match="truncated.pth: cannot be read"):
        load_checkpoint(truncated)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x80\x04 this is not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="garbage.pth: cannot be read"):
        load_checkpoint(garbage)


class Payload:
    """An arbitrary class: unpickling it is exactly what weights_only refuses."""


def test_arbitrary_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"format_version": 1, "config": {}, "state_dict": {}, "extra": Payload()}, path)
    with pytest.raises(CheckpointError, match="evil.pth: cannot be read"):
        load_checkpoint(path)


def test_other_formats_are_rejected(tmp_path):
    bare = tmp_path / "bare.pth"
    torch.save(small_model().state_dict(), bare)
    with pytest.raises(CheckpointError, match="bare.pth: not an rhpnet checkpoint"):
        load_checkpoint(bare)
    future = tmp_path / "future.pth"
    torch.save({"format_version": 2, "config": {}, "state_dict": {}}, future)
    with pytest.raises(CheckpointError, match="future.pth: format_version 2 not supported"):
        load_checkpoint(future)


def test_mismatched_weights_name_file_and_first_keys():
    state = small_model().state_dict()
    other_k = build_model({**SMALL_CFG["model"], "num_joints": 4})
    with pytest.raises(CheckpointError, match=r"run1.pth .*shape mismatches: rfsp.final_layer.weight \(5, 16, 1, 1\)"):
        load_model_weights(other_k, state, source="run1.pth")
    with pytest.raises(CheckpointError, match="missing keys: backbone.conv1.weight"):
        load_model_weights(small_model(), {k: v for k, v in state.items() if k != "backbone.conv1.weight"})
    with pytest.raises(CheckpointError, match="unexpected keys: extra.weight"):
        load_model_weights(small_model(), {**state, "extra.weight": torch.zeros(1)})


def test_published_official_names_map_onto_our_hrnet_w32():
    own = build_model({"arch": "hrnet", "width": 32, "num_joints": 17}).state_dict()
    for key, shape in OFFICIAL_W32_KEYS.items():
        ours = map_pretrained_key(key, head_prefix="final_layer.")
        assert ours in own, key
        assert tuple(own[ours].shape) == shape, key
    assert map_pretrained_key("module.stage3.0.branches.2.0.bn1.weight", "final_layer.") == \
        "backbone.stage3.0.branches.2.0.bn1.weight"


def test_mmpose_names_map_like_the_official_ones():
    assert map_pretrained_key("backbone.transition1.1.0.0.weight", "rfsp.final_layer.") == \
        "backbone.transition1.1.0.0.weight"
    assert map_pretrained_key("keypoint_head.final_layer.weight", "final_layer.") == "final_layer.weight"
    assert map_pretrained_key("head.final_layer.bias", "rfsp.final_layer.") == "rfsp.final_layer.bias"
    assert map_pretrained_key("data_preprocessor.mean", "final_layer.") is None


def test_official_checkpoint_initialises_rhpnet_backbone():
    theirs = official_style(HRNET_SMALL)
    model = small_model()
    report = load_pretrained_backbone(model, theirs)
    own = model.state_dict()
    assert torch.equal(own["backbone.stage3.2.branches.1.0.conv1.weight"], theirs["stage3.2.branches.1.0.conv1.weight"])
    assert set(report.loaded) == {"backbone." + k for k in theirs if not k.startswith("final_layer")}
    # Our head is wider than HRNet's 1x1 on W channels, so their final layer cannot be reused.
    assert report.skipped["final_layer.weight"] == "shape (5, 8, 1, 1) vs ours (5, 16, 1, 1)"
    assert "final_layer.bias" in report.skipped  # never half a layer
    new_roots = {k.split(".")[0] for k in report.new}
    assert new_roots == {"backbone", "refine", "shallow", "hybrid", "rfsp"}
    # The only new backbone tensors are the multi-scale outputs of stage 4's last fusion.
    assert all(k.startswith("backbone.stage4.2.fuse_layers.") for k in report.new if k.startswith("backbone."))
    assert "loaded" in report.summary() and "rfsp.*" in report.summary()


def test_mmpose_checkpoint_file_initialises_plain_hrnet(tmp_path):
    theirs = {("keypoint_head." + k if k.startswith("final_layer") else "backbone." + k): v
              for k, v in official_style(HRNET_SMALL, seed=2).items()}
    path = tmp_path / "hrnet_w8_mmpose.pth"
    torch.save({"meta": {"epoch": 210, "mmpose_version": "0.29.0"}, "state_dict": theirs}, path)
    model = build_model(HRNET_SMALL)
    report = load_pretrained_backbone(model, path)
    assert report.new == [] and report.skipped == {} and report.source == str(path)
    assert torch.equal(model.state_dict()["final_layer.weight"], theirs["keypoint_head.final_layer.weight"])


def test_joint_count_mismatch_skips_only_the_head():
    theirs = official_style(HRNET_SMALL)
    model = build_model({**HRNET_SMALL, "num_joints": 4})
    report = load_pretrained_backbone(model, theirs)
    assert set(report.skipped) == {"final_layer.weight", "final_layer.bias"}
    assert report.new == ["final_layer.weight", "final_layer.bias"]


def test_unrelated_state_dict_is_an_error():
    with pytest.raises(CheckpointError, match="no tensor matches"):
        load_pretrained_backbone(small_model(), {"fc.weight": torch.zeros(3, 3)})
