"""rhpnet_core.model: shapes of every config, exact sizes, gradients, and each ablation switch."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from rhpnet_core.model import build_model
from rhpnet_core.model.attention import CBAM, CoordinateAttention, PolarizedSelfAttention
from rhpnet_core.model.blocks import BasicBlock
from rhpnet_core.model.rfsp import RFB, RFBS, SeparableMaxPool, SimSPPF
from rhpnet_core.model.rhpnet import HybridFusion
from training.flops import count_params_and_gmacs

CONFIG_ROOT = Path(__file__).resolve().parents[1] / "training" / "configs"
ROW_CONFIGS = sorted(p for d in ("coco", "mpii", "running_human") for p in (CONFIG_ROOT / d).glob("*.yaml"))
SMALL = {"arch": "rhpnet", "width": 8, "num_joints": 5}


def read_row(path: Path) -> dict:
    """model + codec of a row file without its `_base_` (data/train sections are not ours to need)."""
    return yaml.safe_load(path.read_text())


def count(model: nn.Module, module_type: type) -> int:
    return sum(isinstance(m, module_type) for m in model.modules())


def test_every_published_row_has_a_config():
    names = {f"{p.parent.name}/{p.stem}" for p in ROW_CONFIGS}
    assert {"coco/rhpnet_w32_256x192", "coco/hrnet_w32_256x192", "coco/hrnet_w48_384x288",
            "running_human/rhpnet_w32_256x192_simsppf_only", "running_human/rhpnet_w32_256x192_rfbs_rfbs",
            "running_human/rhpnet_w32_256x192_cbam_c", "mpii/rhpnet_w32_256x256_psa_b"} <= names
    assert len(ROW_CONFIGS) >= 25


@pytest.mark.parametrize("path", ROW_CONFIGS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_config_output_shape_is_input_over_four(path: Path):
    cfg = read_row(path)
    assert cfg["_base_"] == f"../_base_/{path.parent.name}.yaml"
    width, height = cfg["codec"]["input_size"]
    assert cfg["codec"]["heatmap_size"] == [width // 4, height // 4]
    model = build_model(cfg["model"]).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, height, width))
    expected_k = 16 if path.parent.name == "mpii" else 17
    assert tuple(out.shape) == (1, expected_k, height // 4, width // 4)


def test_hrnet_sizes_match_the_published_backbones():
    assert round(sum(p.numel() for p in build_model({"arch": "hrnet", "width": 32}).parameters()) / 1e6, 1) == 28.5
    assert round(sum(p.numel() for p in build_model({"arch": "hrnet", "width": 48}).parameters()) / 1e6, 1) == 63.6


def test_rhpnet_w32_size_and_cost_match_the_paper_ratios():
    hrnet_params, hrnet_gmacs = count_params_and_gmacs(build_model({"arch": "hrnet", "width": 32}), (192, 256))
    params, gmacs = count_params_and_gmacs(build_model({"arch": "rhpnet", "width": 32}), (192, 256))
    assert 7.0 < hrnet_gmacs < 8.0  # standard conv+linear MAC count of HRNet-W32 256x192 (~7.6)
    assert abs(params / 30.5 - 1) <= 0.05
    assert abs((gmacs / hrnet_gmacs) / (7.51 / 7.10) - 1) <= 0.05


@pytest.mark.parametrize("size_hw", [(64, 64), (96, 64), (128, 96)])
def test_small_model_heatmaps_are_quarter_resolution(size_hw):
    model = build_model(SMALL).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size_hw))
    assert tuple(out.shape) == (1, 5, size_hw[0] // 4, size_hw[1] // 4)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("model_cfg", [
    {"arch": "hrnet", "width": 8, "num_joints": 5},
    SMALL,
    {**SMALL, "attention": {"type": "psa", "position": "A"}},
    {**SMALL, "attention": {"type": "ca", "position": "B"}},
    {**SMALL, "attention": {"type": "cbam", "position": "C"}},
], ids=["hrnet", "rhpnet", "psa_a", "ca_b", "cbam_c"])
def test_gradient_reaches_every_parameter(model_cfg):
    torch.manual_seed(0)
    model = build_model(model_cfg).train()
    out = model(torch.randn(2, 3, 64, 64))
    torch.nn.functional.mse_loss(out, torch.rand_like(out)).backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert dead == []


def test_rfb_switches_add_and_remove_modules():
    full = build_model(SMALL)
    assert [type(b) for b in full.rfsp.blocks] == [RFBS, RFB]
    assert count(build_model({**SMALL, "rfsp": {"blocks": []}}), RFBS) == 0
    assert count(build_model({**SMALL, "rfsp": {"blocks": []}}), RFB) == 0
    only_rfb = build_model({**SMALL, "rfsp": {"blocks": ["rfb"]}})
    assert (count(only_rfb, RFB), count(only_rfb, RFBS)) == (1, 0)
    only_rfbs = build_model({**SMALL, "rfsp": {"blocks": ["rfb_s"]}})
    assert (count(only_rfbs, RFB), count(only_rfbs, RFBS)) == (0, 1)


def test_order_and_combination_switches():
    swapped = build_model({**SMALL, "rfsp": {"blocks": ["rfb", "rfb_s"]}})
    assert [type(b) for b in swapped.rfsp.blocks] == [RFB, RFBS]
    assert [type(b) for b in build_model({**SMALL, "rfsp": {"blocks": ["rfb", "rfb"]}}).rfsp.blocks] == [RFB, RFB]
    assert [type(b) for b in build_model({**SMALL, "rfsp": {"blocks": ["rfb_s", "rfb_s"]}}).rfsp.blocks] == [RFBS, RFBS]
    # Same parameters, different order: the swap changes the function, not the size.
    full = build_model(SMALL)
    assert sum(p.numel() for p in swapped.parameters()) == sum(p.numel() for p in full.parameters())


def test_simsppf_r_switch_removes_pooling_and_shallow_fusion():
    with_sppf = build_model(SMALL)
    without = build_model({**SMALL, "rfsp": {"simsppf": False}})
    assert count(with_sppf, SimSPPF) == 1 and count(without, SimSPPF) == 0
    # With SimSPPF-R, the head's output depends on the shallow features; without it, it does not.
    hybrid, shallow = torch.randn(1, 16, 8, 8), torch.randn(1, 16, 8, 8)
    for model, depends in ((with_sppf, True), (without, False)):
        model.eval()
        with torch.no_grad():
            changed = model.rfsp(hybrid, shallow) - model.rfsp(hybrid, shallow + 1.0)
        assert bool(changed.abs().max() > 0) == depends


def test_hybrid_fusion_equals_one_conv_over_the_upsampled_concatenation():
    # The cheap form (project, then upsample) must be the module it replaces: one 1x1 conv-BN-ReLU
    # over concat(branch 0, upsampled branches 1-3, shallow) with the same weights.
    torch.manual_seed(0)
    fusion = HybridFusion([8, 16, 32, 64, 16], 16)
    fusion[1].running_mean.uniform_(-1, 1)
    fusion[1].running_var.uniform_(0.5, 2)
    fusion.eval()
    deep = [torch.randn(2, c, 16 // 2 ** i, 12 // 2 ** i) for i, c in enumerate([8, 16, 32, 64])]
    shallow = torch.randn(2, 16, 16, 12)
    upsampled = [deep[0]] + [nn.functional.interpolate(d, size=(16, 12), mode="bilinear", align_corners=False)
                             for d in deep[1:]]
    with torch.no_grad():
        reference = nn.Sequential.forward(fusion, torch.cat(upsampled + [shallow], dim=1))
        assert torch.allclose(fusion(deep, shallow), reference, atol=1e-5)


def test_separable_max_pool_equals_the_square_pool():
    x = torch.randn(2, 4, 13, 9)
    for memory_format in (torch.contiguous_format, torch.channels_last):
        y = SeparableMaxPool(5)(x.contiguous(memory_format=memory_format))
        assert torch.equal(y, nn.MaxPool2d(5, stride=1, padding=2)(x))


def test_rhpnet_output_is_contiguous_nchw():
    model = build_model(SMALL).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out.is_contiguous()  # the channels_last head must not leak its memory format


@pytest.mark.parametrize("kind, module_type", [("psa", PolarizedSelfAttention), ("ca", CoordinateAttention),
                                               ("cbam", CBAM)])
def test_attention_positions_insert_the_module_there(kind, module_type):
    at_a = build_model({**SMALL, "attention": {"type": kind, "position": "A"}})
    basic_blocks = [m for m in at_a.backbone.modules() if isinstance(m, BasicBlock)]
    assert len(basic_blocks) == 4 * (2 * 1 + 3 * 4 + 4 * 3)  # blocks x (branches x modules) of stages 2-4
    assert all(isinstance(b.attn, module_type) for b in basic_blocks)
    assert count(at_a, module_type) == len(basic_blocks)
    at_b = build_model({**SMALL, "attention": {"type": kind, "position": "B"}})
    assert isinstance(at_b.shallow_attn, module_type) and count(at_b, module_type) == 1
    at_c = build_model({**SMALL, "attention": {"type": kind, "position": "C"}})
    assert isinstance(at_c.rfsp.attn, module_type) and count(at_c, module_type) == 1
    assert count(build_model(SMALL), module_type) == 0


@pytest.mark.parametrize("model_cfg, message", [
    ({"arch": "resnet"}, "model.arch"),
    ({**SMALL, "rfsp": {"blocks": ["rfb_x"]}}, "rfb_x"),
    ({**SMALL, "rfsp": {"order": ["rfb"]}}, "unknown key"),
    ({**SMALL, "attention": {"type": "se", "position": "A"}}, "'se'"),
    ({**SMALL, "attention": {"type": "psa", "position": "D"}}, "position"),
    ({**SMALL, "attention": {"type": "psa", "position": None}}, "both"),
    ({"arch": "hrnet", "width": 8, "rfsp": {"blocks": []}}, "unknown key"),
])
def test_invalid_configs_are_rejected_with_the_key_named(model_cfg, message):
    with pytest.raises(ValueError, match=message):
        build_model(model_cfg)
