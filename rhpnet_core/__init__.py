"""rhpnet_core: the ROS-free RHPNet library (model, codec, data, evaluation, inference pipeline)."""

__version__ = "0.1.0"
