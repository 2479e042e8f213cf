"""`rhpnet train`: the paper's training recipe (section 4.1) from a YAML config.

    rhpnet train --config training/configs/coco/rhpnet_w32_256x192.yaml [--work-dir DIR]
    torchrun --nproc_per_node 4 -m training.cli train --config ...          # DDP, one process per GPU

Single process or torchrun/DistributedDataParallel (DistributedSampler semantics, losses and
metrics reduced across ranks, only rank 0 writes), AMP on CUDA, pinned-memory loaders.

Exact resume: `last.pth` is written every `train.checkpoint_interval_steps` optimiser steps and at
each epoch end with model, optimiser, scheduler, grad-scaler, epoch, step-in-epoch and RNG states.
The batch order of an epoch depends only on (seed, epoch) and each sample's augmentation only on
(seed, epoch, index) (rhpnet_core.data.base), so `--resume` skips the epoch's finished batches and
continues with exactly the batches an uninterrupted run would have seen.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from rhpnet_core.checkpoint import load_checkpoint, load_model_weights, load_pretrained_backbone, save_checkpoint
from rhpnet_core.codec import UDPHeatmapCodec
from rhpnet_core.config import load_config
from rhpnet_core.data import build_train_dataset
from rhpnet_core.device import select_device_name
from rhpnet_core.eval.evaluator import evaluation_samples, predict_samples, score
from rhpnet_core.eval.pck import heatmap_pck
from rhpnet_core.model import build_model, model_name
from rhpnet_core.runtime import TorchRuntime
from rhpnet_core.topdown import TopDownEstimator
from training.evaluate import format_table, public_metrics

OPTIMIZERS = ("adam", "adamw", "sgd", "adadelta")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="YAML config")
    parser.add_argument("--work-dir", type=Path, help="checkpoints, TensorBoard, metrics (default work_dirs/<config>)")
    parser.add_argument("--resume", help="checkpoint to resume exactly from, or 'auto' for <work-dir>/last.pth")
    parser.add_argument("--load-from", help="fine-tune from this checkpoint's weights (overrides train.load_from)")
    parser.add_argument("--pretrained-backbone", help="backbone weights (overrides train.pretrained_backbone)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (torchrun: cuda:LOCAL_RANK)")
    parser.add_argument("--max-steps", type=int,
                        help="stop after this many optimiser steps with a resumable checkpoint (time-boxed jobs)")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bars (log files)")


def loss_fn(predicted: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Paper eq. 2 with per-joint target weights: mean over (N, K, h, w) of w_k (pred - gt)^2."""
    return ((predicted.float() - target) ** 2 * weights[:, :, None, None]).mean()


def build_optimizer(params: Iterator[nn.Parameter], cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """Adam (the paper), AdamW, SGD or Adadelta (Table 9) from `train.optimizer`."""
    kind, lr, decay = cfg.get("type", "adam"), float(cfg["lr"]), float(cfg.get("weight_decay", 0.0))
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=decay)
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=decay)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=float(cfg.get("momentum", 0.9)), weight_decay=decay,
                               nesterov=bool(cfg.get("nesterov", False)))
    if kind == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=decay)
    raise ValueError(f"train.optimizer.type {kind!r} not supported; expected one of {', '.join(OPTIMIZERS)}")


class ResumableSampler(DistributedSampler):
    """DistributedSampler (order = f(seed, epoch), rank-strided) that can start mid-epoch."""

    def __init__(self, dataset: Any, num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.start = 0

    def __iter__(self) -> Iterator[int]:
        return iter(list(super().__iter__())[self.start:])

    def __len__(self) -> int:
        return self.num_samples - self.start


class Distributed:
    """torchrun environment: rank, world size, device; single process when WORLD_SIZE is unset."""

    def __init__(self, device: str) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        name = select_device_name(device)
        if self.world_size > 1 and name.startswith("cuda"):
            name = f"cuda:{local_rank}"
            torch.cuda.set_device(local_rank)
        self.device = torch.device(name)
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def mean(self, values: list[float]) -> list[float]:
        """Element-wise mean over ranks."""
        if self.world_size == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return (tensor / self.world_size).tolist()

    def gather(self, obj: Any) -> list[Any]:
        if self.world_size == 1:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        if self.world_size == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def rng_state() -> dict[str, Any]:
    """Global RNG states as weights_only-loadable values (tensors, lists, numbers)."""
    np_state = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": [list(random.getstate()[1]), random.getstate()[0]],
             "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((state["python"][1], tuple(state["python"][0]), None))
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainer:
    """One training run; `fit()` returns the final metrics."""

    def __init__(self, config: dict[str, Any], work_dir: Path, device: str = "auto", progress: bool = True) -> None:
        self.config, self.work_dir, self.progress = config, work_dir, progress
        self.train_cfg = config["train"]
        self.dist = Distributed(device)
        self.seed = int(self.train_cfg.get("seed", 0))
        seed_everything(self.seed)  # same initial weights on every rank
        self.amp = bool(self.train_cfg.get("amp", True)) and self.dist.device.type == "cuda"
        self.codec = UDPHeatmapCodec.from_config(config["codec"])
        self.model = build_model(config["model"]).to(self.dist.device)
        self.num_joints = int(config["model"].get("num_joints", 17))
        self.dataset = build_train_dataset(config, self.codec, self.seed)
        batch_size = int(self.train_cfg["batch_size"])
        if batch_size % self.dist.world_size:
            raise ValueError(f"train.batch_size {batch_size} is not divisible by the {self.dist.world_size} ranks")
        self.rank_batch = batch_size // self.dist.world_size
        self.sampler = ResumableSampler(self.dataset, self.dist.world_size, self.dist.rank, self.seed)
        self.steps_per_epoch = self.sampler.num_samples // self.rank_batch
        if self.steps_per_epoch == 0:
            raise ValueError(f"{len(self.dataset)} training samples give no full batch of {batch_size}")
        self.optimizer = build_optimizer(self.model.parameters(), self.train_cfg["optimizer"])
        schedule = self.train_cfg.get("lr_schedule", {})
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=list(schedule.get("milestones", [170, 200])),
            gamma=float(schedule.get("gamma", 0.1)))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best: float | None = None
        self.last_metrics: dict[str, Any] = {}
        # Per-epoch mean train loss / PCK; the running sums of the current epoch survive a resume.
        self.history: list[dict[str, float]] = []
        self.epoch_sums = [0.0, 0.0, 0.0]  # loss, pck, batches
        self.net: nn.Module = self.model
        if self.dist.world_size > 1:
            self.net = DistributedDataParallel(
                self.model, device_ids=[self.dist.device.index] if self.dist.device.type == "cuda" else None)
        self.writer = SummaryWriter(str(work_dir / "tensorboard")) if self.dist.main else None
        self._val_samples: list | None = None

    # -- initialisation -------------------------------------------------------------------------
    def init_weights(self, load_from: str | None, pretrained_backbone: str | None) -> None:
        """Backbone from public HRNet weights and/or all weights from an rhpnet checkpoint."""
        if pretrained_backbone:
            report = load_pretrained_backbone(self.model, pretrained_backbone)
            self.log(f"backbone initialised from {pretrained_backbone}: {report}")
        if load_from:
            load_model_weights(self.model, load_checkpoint(load_from)["state_dict"])
            self.log(f"weights loaded from {load_from} (fine-tuning)")

    def resume(self, path: str | Path) -> None:
        """Restore the complete training state written by `save()`."""
        checkpoint = load_checkpoint(path)
        extra = checkpoint["extra"]
        load_model_weights(self.model, checkpoint["state_dict"])
        self.optimizer.load_state_dict(extra["optimizer"])
        self.scheduler.load_state_dict(extra["scheduler"])
        self.scaler.load_state_dict(extra["scaler"])
        self.epoch, self.step_in_epoch, self.global_step = extra["epoch"], extra["step_in_epoch"], extra["global_step"]
        self.best = extra.get("best")
        self.history, self.epoch_sums = extra["history"], extra["epoch_sums"]
        self.last_metrics = extra["metrics"]
        set_rng_state(extra["rng"])
        self.log(f"resumed from {path}: epoch {self.epoch}, step {self.step_in_epoch}/{self.steps_per_epoch}")

    def save(self, name: str) -> None:
        if not self.dist.main:
            return
        extra = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "scaler": self.scaler.state_dict(), "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
                 "global_step": self.global_step, "rng": rng_state(), "metrics": self.last_metrics,
                 "history": self.history, "epoch_sums": self.epoch_sums}
        if self.best is not None:
            extra["best"] = self.best
        save_checkpoint(self.work_dir / name, self.model.state_dict(), self.config, extra=extra)

    def log(self, message: str) -> None:
        if self.dist.main:
            tqdm.write(message)

    # -- loops ------------------------------------------------------------------------------------
    def loader(self) -> DataLoader:
        """This epoch's loader, starting after the batches already done (exact resume)."""
        self.dataset.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        self.sampler.start = self.step_in_epoch * self.rank_batch
        workers = int(self.config["data"].get("workers", 0))
        # Workers are re-created each epoch so they see the dataset's new epoch (augmentation seed).
        return DataLoader(self.dataset, batch_size=self.rank_batch, sampler=self.sampler, num_workers=workers,
                          pin_memory=self.dist.device.type == "cuda", drop_last=True)

    def train_step(self, batch: dict[str, torch.Tensor]) -> tuple[float, float, int]:
        device = self.dist.device
        images = batch["image"].to(device, non_blocking=True)
        targets = batch["heatmaps"].to(device, non_blocking=True)
        weights = batch["target_weight"].to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=self.amp):
            predicted = self.net(images)
        loss = loss_fn(predicted, targets, weights)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        pck, counted = heatmap_pck(predicted.detach().float().cpu().numpy(), targets.cpu().numpy(),
                                   weights.cpu().numpy())
        return float(loss.detach()), pck, counted

    def fit(self, max_steps: int | None = None) -> dict[str, Any]:
        epochs = int(self.train_cfg["epochs"])
        interval = int(self.train_cfg.get("checkpoint_interval_steps", 500))
        log_every = int(self.train_cfg.get("log_interval_steps", 50))
        val_every = int(self.train_cfg.get("val_interval_epochs", 10))
        while self.epoch < epochs:
            self.net.train()
            bar = tqdm(self.loader(), total=self.steps_per_epoch, initial=self.step_in_epoch,
                       desc=f"epoch {self.epoch + 1}/{epochs}", unit="batch",
                       disable=not (self.progress and self.dist.main), dynamic_ncols=True)
            started = time.perf_counter()
            for done, batch in enumerate(bar, start=1):
                loss, pck, _ = self.train_step(batch)
                self.step_in_epoch += 1
                self.global_step += 1
                self.epoch_sums = [self.epoch_sums[0] + loss, self.epoch_sums[1] + pck, self.epoch_sums[2] + 1]
                images_per_s = done * self.rank_batch * self.dist.world_size / (time.perf_counter() - started)
                bar.set_postfix(loss=f"{loss:.3e}", pck=f"{pck:.2f}", img_s=f"{images_per_s:.1f}")
                if self.global_step % log_every == 0:
                    loss, pck = self.dist.mean([loss, pck])
                    if self.writer:
                        self.writer.add_scalar("train/loss", loss, self.global_step)
                        self.writer.add_scalar("train/pck", pck, self.global_step)
                        self.writer.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], self.global_step)
                        self.writer.add_scalar("train/images_per_s", images_per_s, self.global_step)
                if max_steps is not None and self.global_step >= max_steps:
                    self.save("last.pth")
                    bar.close()
                    self.log(f"stopped after {self.global_step} steps (--max-steps); resume with --resume")
                    return {"stopped": True, "steps": self.global_step, "epoch": self.epoch,
                            "step_in_epoch": self.step_in_epoch}
                if self.global_step % interval == 0 and self.step_in_epoch < self.steps_per_epoch:
                    self.save("last.pth")
            bar.close()
            loss_mean, pck_mean = self.dist.mean([self.epoch_sums[0] / self.epoch_sums[2],
                                                  self.epoch_sums[1] / self.epoch_sums[2]])
            self.history.append({"epoch": self.epoch + 1, "loss": loss_mean, "pck": pck_mean,
                                 "lr": self.optimizer.param_groups[0]["lr"]})
            self.epoch_sums = [0.0, 0.0, 0.0]
            self.scheduler.step()
            self.epoch += 1
            self.step_in_epoch = 0
            if self.epoch % val_every == 0 or self.epoch == epochs:
                self.validate()
            self.save("last.pth")
        return self.finish()

    def validate(self) -> dict[str, Any]:
        """Val-split metrics through TopDownEstimator (sharded over ranks), TensorBoard, best.pth."""
        if self._val_samples is None:
            self._val_samples = evaluation_samples(self.config)
        # TorchRuntime puts the model in eval mode (fp16 autocast on CUDA); train mode is restored below.
        runtime = TorchRuntime(self.model, model_name(self.config["model"]), self.codec.input_size,
                               self.num_joints, self.dist.device)
        estimator = TopDownEstimator(runtime, self.codec,
                                     flip_test=bool(self.config.get("test", {}).get("flip_test", True)),
                                     bbox_padding=float(self.config["data"].get("bbox_padding", 1.25)))
        shard = predict_samples(estimator, self._val_samples, workers=int(self.config["data"].get("workers", 0)),
                                shard=(self.dist.rank, self.dist.world_size), progress=self.progress and self.dist.main)
        self.model.train()
        metrics: dict[str, Any] = {}
        if self.dist.main:
            predictions = {k: v for part in self.dist.gather(shard) for k, v in part.items()}
            metrics = public_metrics(score(self.config, self._val_samples, predictions)[0])
        else:
            self.dist.gather(shard)
        metrics = self.dist.broadcast(metrics)
        self.last_metrics = metrics
        key = self.config.get("test", {}).get("best_metric", "AP")
        if self.writer:
            for name, value in metrics.items():
                if isinstance(value, float):
                    self.writer.add_scalar(f"val/{name}", value, self.global_step)
        if self.best is None or metrics[key] > self.best:
            self.best = float(metrics[key])
            self.save("best.pth")
            self.log(f"epoch {self.epoch}: new best {key} {self.best:.4f} -> best.pth")
        return metrics

    def finish(self) -> dict[str, Any]:
        """Print the final metrics in the paper's table layout and write metrics.json (rank 0)."""
        summary = {"model": model_name(self.config["model"]), "epochs": self.epoch,
                   "steps": self.global_step, "final": self.last_metrics, "best": self.best,
                   "best_metric": self.config.get("test", {}).get("best_metric", "AP"), "history": self.history}
        if self.dist.main:
            width, height = self.codec.input_size
            print(format_table(self.last_metrics, summary["model"],
                               f"HRNet-W{int(self.config['model'].get('width', 32))}", f"{height} × {width}"))
            (self.work_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
        if self.writer:
            self.writer.close()
        return summary


def train(config: dict[str, Any], work_dir: Path, device: str = "auto", resume: str | None = None,
          load_from: str | None = None, pretrained_backbone: str | None = None, max_steps: int | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a config; returns the metrics summary (final val metrics, best, steps)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(config, work_dir, device, progress)
    if resume:
        trainer.resume(work_dir / "last.pth" if resume == "auto" else resume)
    else:
        trainer.init_weights(load_from or config["train"].get("load_from"),
                             pretrained_backbone or config["train"].get("pretrained_backbone"))
        trainer.log(f"{model_name(config['model'])}: {len(trainer.dataset)} samples, "
                    f"{trainer.steps_per_epoch} steps/epoch x {config['train']['epochs']} epochs, "
                    f"batch {config['train']['batch_size']} on {trainer.dist.world_size} x {trainer.dist.device}, "
                    f"amp={trainer.amp}")
    return trainer.fit(max_steps)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    work_dir = args.work_dir or Path("work_dirs") / args.config.stem
    train(config, work_dir, args.device, args.resume, args.load_from, args.pretrained_backbone,
          args.max_steps, progress=not args.no_progress)
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0
