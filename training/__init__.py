"""Command-line entry points (train, evaluate, export, flops, augment) over rhpnet_core."""
