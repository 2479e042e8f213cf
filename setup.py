"""pip-installable, ROS-free part of rhpnet: the `rhpnet_core` library, `training` and the `rhpnet` CLI.

The ROS 2 package (messages, nodes, launch files) is built by CMakeLists.txt (colcon or `make setup`).
"""
from setuptools import find_packages, setup

setup(
    name="rhpnet-core",
    version="0.1.0",
    description="RHPNet running-posture estimation (HRNet-W32 + RFSP head)",
    license="AGPL-3.0-only",
    python_requires=">=3.10",
    packages=find_packages(include=["rhpnet_core", "rhpnet_core.*", "training", "training.*"]),
    package_data={"training": ["configs/**/*.yaml"]},
    install_requires=[
        "numpy",
        "opencv-python-headless",
        "pyyaml",
        "torch",
        "torchvision",
        "tqdm",
        "tensorboard",
        "pycocotools",
        "scipy",
        "albumentations",
        "onnx",
        "onnxscript",
        "onnxruntime",
        "ultralytics",
    ],
    entry_points={"console_scripts": ["rhpnet = training.cli:main"]},
)
