"""Metrics: OKS keypoint AP (COCO, Running Human) and PCKh (MPII)."""
