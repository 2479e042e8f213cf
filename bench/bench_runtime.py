"""Per-crop latency of HRNet-W32 and RHPNet-W32 (256x192) in each runtime backend (torch, onnxruntime,
OpenVINO, all fp32), batch 1 and 8. Reduced precisions (bf16, int8) and the real-time path: bench_realtime.py.

    .venv/bin/python bench/bench_runtime.py [--repeats 15] [--output docs/benchmarks-run.md]

Weights are random at trained-network scale (Kaiming convs, BN statistics calibrated on random
batches): with HRNet's N(0, 0.001) init the activations underflow to denormal floats, which made
eager torch ~30x slower here (13 s per crop) and would measure the CPU's denormal path, not the
network. The two models are called alternately, HRNet then RHPNet, `--repeats` times per cell
after warm-up: latency is the median call divided by the batch size, and the RHPNet/HRNet ratio is
the median of the per-pair ratios, so load from other processes hits both alike. Throughput is
put against the CPU's float32 peak, measured in the same run as a large torch matmul (SGEMM).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from rhpnet_core.checkpoint import save_checkpoint
from rhpnet_core.model import build_model
from rhpnet_core.model.calibration import calibrate_trained_scale
from rhpnet_core.runtime import BACKENDS, create_runtime
from training.flops import count_params_and_gmacs

INPUT_SIZE = (192, 256)  # (W, H)
MODELS = {"HRNet-W32": {"arch": "hrnet", "width": 32, "num_joints": 17},
          "RHPNet-W32": {"arch": "rhpnet", "width": 32, "num_joints": 17}}
BATCH_SIZES = (1, 8)


def time_pairs(runtimes: list, batch: np.ndarray, repeats: int) -> list[list[float]]:
    """Seconds of `repeats` calls of each runtime, called alternately after one warm-up call each."""
    for runtime in runtimes:
        runtime(batch)  # warm-up: allocator, onnxruntime graph optimisation, oneDNN primitive caches
    samples: list[list[float]] = [[] for _ in runtimes]
    for _ in range(repeats):
        for runtime, times in zip(runtimes, samples):
            start = time.perf_counter()
            runtime(batch)
            times.append(time.perf_counter() - start)
    return samples


def sgemm_gmacs_per_s(size: int = 2048, repeats: int = 5) -> float:
    """Float32 multiply-accumulates per second of a large torch matmul: the CPU's practical peak."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        samples.append(time.perf_counter() - start)
    return size ** 3 / statistics.median(samples) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    args = parser.parse_args()

    load_before = os.getloadavg()
    runtimes = {}
    gmacs = {}
    workdir = tempfile.TemporaryDirectory(prefix="rhpnet-bench-")
    os.environ["XDG_CACHE_HOME"] = workdir.name  # keep the benchmark's ONNX exports out of the user cache
    for name, model_cfg in MODELS.items():
        config = {"model": model_cfg, "codec": {"input_size": list(INPUT_SIZE)}}
        # Trained-scale random weights (see rhpnet_core.model.calibration), saved for the runtimes to load.
        model = calibrate_trained_scale(build_model(model_cfg), INPUT_SIZE)
        gmacs[name] = count_params_and_gmacs(model, INPUT_SIZE)[1]
        checkpoint = Path(workdir.name) / f"{name}.pth"
        save_checkpoint(checkpoint, model.state_dict(), config)
        for backend in BACKENDS:
            runtimes[name, backend] = create_runtime(config, checkpoint=str(checkpoint), backend=backend,
                                                     device=args.device)
    peak = sgemm_gmacs_per_s()
    rng = np.random.default_rng(0)
    latency_ms, ratio = {}, {}
    for batch_size in BATCH_SIZES:
        batch = rng.standard_normal((batch_size, 3, INPUT_SIZE[1], INPUT_SIZE[0])).astype(np.float32)
        for backend in BACKENDS:
            hrnet, rhpnet = time_pairs([runtimes[name, backend] for name in MODELS], batch, args.repeats)
            latency_ms["HRNet-W32", backend, batch_size] = 1e3 * statistics.median(hrnet) / batch_size
            latency_ms["RHPNet-W32", backend, batch_size] = 1e3 * statistics.median(rhpnet) / batch_size
            ratio[backend, batch_size] = statistics.median(r / h for h, r in zip(hrnet, rhpnet))
    load_after = os.getloadavg()

    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
             f"torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {ort.__version__}; "
             f"devices: " + ", ".join(sorted({f'{b}: {r.device}' for (_, b), r in runtimes.items()})) + ".",
             f"Load average (1 min) before / after: {load_before[0]:.2f} / {load_after[0]:.2f}; "
             f"{args.repeats} alternating call pairs per cell; float32 peak (SGEMM 2048): {peak:.1f} GMAC/s.",
             f"Compute (torch.utils.flop_counter): HRNet-W32 {gmacs['HRNet-W32']:.3f}, "
             f"RHPNet-W32 {gmacs['RHPNet-W32']:.3f} GMACs per crop "
             f"(ratio {gmacs['RHPNet-W32'] / gmacs['HRNet-W32']:.3f}).", "",
             "| backend | batch | HRNet-W32 ms/crop | RHPNet-W32 ms/crop | RHPNet / HRNet (median of pairs) "
             "| HRNet GMAC/s (% of SGEMM peak) |",
             "|---|---|---|---|---|---|"]
    for backend in BACKENDS:
        for batch_size in BATCH_SIZES:
            hrnet = latency_ms["HRNet-W32", backend, batch_size]
            rhpnet = latency_ms["RHPNet-W32", backend, batch_size]
            rate = gmacs["HRNet-W32"] / hrnet * 1e3
            lines.append(f"| {backend} | {batch_size} | {hrnet:.1f} | {rhpnet:.1f} | {ratio[backend, batch_size]:.3f} "
                         f"| {rate:.1f} ({100 * rate / peak:.0f}%) |")
    lines += ["", "| model | batch | onnxruntime speed-up over torch eager |", "|---|---|---|"]
    for name in MODELS:
        for batch_size in BATCH_SIZES:
            speedup = latency_ms[name, "torch", batch_size] / latency_ms[name, "onnxruntime", batch_size]
            lines.append(f"| {name} | {batch_size} | {speedup:.2f}x |")
    report = "\n".join(lines)
    print(report)
    if args.output:
        args.output.write_text(report + "\n")


if __name__ == "__main__":
    main()
