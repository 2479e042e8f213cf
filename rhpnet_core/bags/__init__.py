"""Bags without rclpy: read any rosbag2 recording (folder, .mcap, .db3, split DIR, footer-less MCAP),
record crash-bounded splits, recover killed recordings, inspect, export and score them."""
from rhpnet_core.bags.keypoints import KEYPOINTS_TYPE, keypoints_arrays, keypoints_fields, keypoints_message
from rhpnet_core.bags.reader import BagError, BagMessage, BagPart, BagReader, TopicInfo, find_parts
from rhpnet_core.bags.types import ensure_type, project_typestore

__all__ = ["KEYPOINTS_TYPE", "BagError", "BagMessage", "BagPart", "BagReader", "TopicInfo", "ensure_type",
           "find_parts", "keypoints_arrays", "keypoints_fields", "keypoints_message", "project_typestore"]
