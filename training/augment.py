"""`rhpnet augment`: the paper's offline Running Human augmentation (section 3.4.1, Figure 5).

For every training image it writes the original plus `--copies` RandomErasing and `--copies`
GridMask versions, and a COCO json listing all of them. Erasing uses torchvision's RandomErasing
(its parameter sampler and `erase`), drawn inside each person's box so that limbs get occluded;
GridMask uses albumentations' GridDropout. Keypoints under an erased pixel become "labelled but
occluded": COCO visibility 2 -> 1 and, when present, Running Human's `occluded` flag -> 1.

    rhpnet augment --ann train.json --images train/ --out data/running_human/train_aug
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import torch
from torchvision.transforms import RandomErasing
from torchvision.transforms import functional as TF

from rhpnet_core.data.base import DataError, read_json
from rhpnet_core.data.coco import parse_keypoints
from rhpnet_core.data.running_human import OCCLUSION_FIELD

METHODS = ("random_erasing", "gridmask")
SUFFIX = {"random_erasing": "re", "gridmask": "gm"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ann", type=Path, required=True, help="COCO-format training annotation json")
    parser.add_argument("--images", type=Path, required=True, help="directory of its images")
    parser.add_argument("--out", type=Path, required=True, help="output directory (images + annotations.json)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--copies", type=int, default=1, help="augmented copies per image and method")
    parser.add_argument("--erase-scale", type=float, nargs=2, default=(0.02, 0.33),
                        help="RandomErasing area fraction range of the person box")
    parser.add_argument("--grid-ratio", type=float, default=0.5, help="GridDropout fraction of each cell dropped")
    parser.add_argument("--seed", type=int, default=0)


def random_erasing_mask(image: np.ndarray, boxes_xywh: list[list[float]], scale: tuple[float, float],
                        generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Erase one random rectangle with noise inside each person box (torchvision RandomErasing).

    Returns the new (H, W, 3) uint8 image and the (H, W) bool mask of erased pixels.
    """
    tensor = torch.from_numpy(image).permute(2, 0, 1).float() / 255.0
    erased = np.zeros(image.shape[:2], dtype=bool)
    height, width = image.shape[:2]
    for x, y, w, h in boxes_xywh:
        x1, y1 = int(max(0, np.floor(x))), int(max(0, np.floor(y)))
        x2, y2 = int(min(width, np.ceil(x + w))), int(min(height, np.ceil(y + h)))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        region = tensor[:, y1:y2, x1:x2]
        # torchvision draws from the global torch RNG; fork it so our seed alone decides the result.
        with torch.random.fork_rng():
            torch.manual_seed(int(torch.randint(0, 2 ** 31 - 1, (1,), generator=generator)))
            i, j, h_e, w_e, value = RandomErasing.get_params(region, scale=scale, ratio=(0.3, 3.3), value=None)
        TF.erase(region, i, j, h_e, w_e, value.clamp(0, 1), inplace=True)
        erased[y1 + i:y1 + i + h_e, x1 + j:x1 + j + w_e] = True
    out = (tensor.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    return out, erased


def gridmask(image: np.ndarray, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """GridMask via albumentations GridDropout; returns the image and the (H, W) bool dropped mask."""
    side = min(image.shape[:2])
    # Grid cells from 1/10 to 1/4 of the short side, so a cell can cover a limb.
    units = (max(2, side // 10), max(3, side // 4))
    transform = A.Compose([A.GridDropout(ratio=ratio, unit_size_range=units, random_offset=True,
                                         fill=0, fill_mask=0, p=1.0)], seed=seed)
    out = transform(image=image, mask=np.ones(image.shape[:2], dtype=np.uint8))
    return out["image"], out["mask"] == 0


def mark_erased_joints(annotation: dict[str, Any], erased: np.ndarray, source: str) -> dict[str, Any]:
    """Copy of a COCO annotation with joints on erased pixels set to labelled-occluded."""
    ann = copy.deepcopy(annotation)
    num_joints = len(ann.get("keypoints", [])) // 3
    keypoints, visible = parse_keypoints(ann.get("keypoints"), num_joints, source, ann.get("id"))
    height, width = erased.shape
    for k, ((x, y), v) in enumerate(zip(keypoints, visible)):
        col, row = int(round(x)), int(round(y))
        if v > 0 and 0 <= col < width and 0 <= row < height and erased[row, col]:
            ann["keypoints"][3 * k + 2] = 1
            if OCCLUSION_FIELD in ann:
                ann[OCCLUSION_FIELD][k] = 1
    return ann


def augment_dataset(ann_file: Path, image_dir: Path, out_dir: Path, methods: list[str], copies: int,
                    erase_scale: tuple[float, float], grid_ratio: float, seed: int) -> dict[str, int]:
    """Write originals + augmented images and `annotations.json` into `out_dir`; returns counts."""
    data = read_json(ann_file)
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise DataError(f"{ann_file}: expected a COCO object with 'images' and 'annotations'")
    out_dir.mkdir(parents=True, exist_ok=True)
    by_image: dict[int, list[dict]] = {}
    for ann in data["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    next_image_id = max(int(i["id"]) for i in data["images"]) + 1
    next_ann_id = max([int(a["id"]) for a in data["annotations"]] + [0]) + 1
    images, annotations = list(data["images"]), list(data["annotations"])
    generator = torch.Generator().manual_seed(seed)
    for number, image_info in enumerate(data["images"]):
        path = image_dir / image_info["file_name"]
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DataError(f"{path}: missing or unreadable image (image {image_info['id']} in {ann_file})")
        shutil.copy2(path, out_dir / image_info["file_name"])
        persons = by_image.get(image_info["id"], [])
        for method in methods:
            for copy_index in range(copies):
                if method == "random_erasing":
                    new, erased = random_erasing_mask(bgr, [a["bbox"] for a in persons], erase_scale, generator)
                else:
                    new, erased = gridmask(bgr, grid_ratio, seed * 1_000_003 + number * 101 + copy_index)
                stem = Path(image_info["file_name"])
                name = f"{stem.stem}_{SUFFIX[method]}{copy_index}{stem.suffix}"
                (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
                if not cv2.imwrite(str(out_dir / name), new):
                    raise OSError(f"{out_dir / name}: could not write image")
                images.append({**image_info, "id": next_image_id, "file_name": name})
                for ann in persons:
                    annotations.append({**mark_erased_joints(ann, erased, str(ann_file)),
                                        "id": next_ann_id, "image_id": next_image_id})
                    next_ann_id += 1
                next_image_id += 1
    (out_dir / "annotations.json").write_text(json.dumps({**data, "images": images, "annotations": annotations}))
    return {"images": len(images), "instances": len(annotations),
            "source_images": len(data["images"]), "source_instances": len(data["annotations"])}


def run(args: argparse.Namespace) -> int:
    counts = augment_dataset(args.ann, args.images, args.out, list(args.methods), args.copies,
                             tuple(args.erase_scale), args.grid_ratio, args.seed)
    print(f"{counts['source_images']} images / {counts['source_instances']} instances -> "
          f"{counts['images']} images / {counts['instances']} instances in {args.out / 'annotations.json'}")
    return 0
