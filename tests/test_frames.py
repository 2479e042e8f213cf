"""camera_replay's frame sources: video, folder, single image, bad paths."""
import cv2
import numpy as np
import pytest

from rhpnet_core.frames import FrameSource


def write_video(path, frames=5, size=(64, 48), fps=12.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), i * 40, np.uint8))
    writer.release()


def test_video_frames_and_fps(tmp_path):
    write_video(tmp_path / "clip.avi")
    source = FrameSource(tmp_path / "clip.avi")
    frames = list(source.frames())
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    assert source.fps == pytest.approx(12.0)
    assert abs(int(frames[3].mean()) - 120) <= 3  # order preserved


def test_folder_sorted_and_unreadable_images_listed(tmp_path):
    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((8, 8, 3), i * 50, np.uint8))
    (tmp_path / "3.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    source = FrameSource(tmp_path)
    means = [int(f.mean()) for f in source.frames()]
    assert means == [0, 50, 100]
    assert [p.name for p in source.unreadable] == ["3.jpg"]
    assert source.fps is None


def test_single_image(tmp_path):
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((4, 6, 3), np.uint8))
    assert [f.shape for f in FrameSource(tmp_path / "one.png").frames()] == [(4, 6, 3)]


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FrameSource(tmp_path / "missing.mp4")
    with pytest.raises(ValueError, match="has no images"):
        FrameSource(tmp_path)
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match="readable video"):
        FrameSource(tmp_path / "junk.mp4")
