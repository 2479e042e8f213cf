"""PersonTracker on synthetic boxes and poses: stable ids, confirmation, expiry, no reuse, targets."""
import numpy as np
import pytest

from rhpnet_core.tracking import TARGETS, PersonTracker, box_iou, keypoint_oks
from rhpnet_core.keypoints import COCO_SIGMAS
from synthetic import COCO_TEMPLATE

SIGMAS = np.asarray(COCO_SIGMAS)


def person(x: float, y: float, w: float = 60.0, h: float = 160.0) -> tuple[np.ndarray, np.ndarray]:
    """(box (4,), keypoints (17, 3)) of a standing template person with its box at (x, y)."""
    keypoints = np.concatenate([COCO_TEMPLATE * [w, h] + [x, y], np.full((17, 1), 0.9)], axis=1)
    return np.array([x, y, x + w, y + h]), keypoints


def frame(*people: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) and keypoints (N, 17, 3) of persons at the given top-left corners."""
    pairs = [person(x, y) for x, y in people]
    return (np.array([b for b, _ in pairs]).reshape(-1, 4), np.array([k for _, k in pairs]).reshape(-1, 17, 3))


def ids(tracks) -> list[int]:
    return [t.track_id for t in tracks]


def test_box_iou_and_oks_basics():
    a = np.array([[0, 0, 10, 10]])
    np.testing.assert_allclose(box_iou(a, np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])),
                               [[1.0, 1 / 3, 0.0]])
    _, pose = person(0, 0)
    assert keypoint_oks(pose, pose, 60 * 160, SIGMAS) == pytest.approx(1.0)
    shifted = pose + [5, 0, 0]
    assert 0.0 < keypoint_oks(pose, shifted, 60 * 160, SIGMAS) < 1.0
    pose_hidden = pose.copy()
    pose_hidden[:, 2] = 0.1
    assert keypoint_oks(pose, pose_hidden, 60 * 160, SIGMAS) is None  # no confident joints in common


def test_ids_are_stable_confirmed_after_min_hits_and_new_person_gets_new_id():
    tracker = PersonTracker(min_hits=3)
    seen = []
    for t in range(6):
        boxes, poses = frame((100 + 3 * t, 50), (400 - 3 * t, 60))
        seen.append(ids(tracker.update(boxes, poses)))
    assert seen[:2] == [[-1, -1], [-1, -1]]  # every person kept, unassigned until confirmed
    assert seen[2] == [1, 2] and seen[5] == [1, 2]
    # Detection order changes: ids follow the persons, not the order.
    boxes, poses = frame((400 - 18, 60), (100 + 18, 50))
    assert ids(tracker.update(boxes, poses)) == [2, 1]
    # A third person appears: -1 for min_hits - 1 frames, then a new id.
    third = []
    for t in range(3):
        boxes, poses = frame((100 + 21 + 3 * t, 50), (400 - 21 - 3 * t, 60), (250, 200))
        third.append(ids(tracker.update(boxes, poses))[2])
    assert third == [-1, -1, 3]


def test_unmatched_tracks_expire_after_max_age_frames_and_ids_are_never_reused():
    tracker = PersonTracker(min_hits=1, max_age_frames=2)
    boxes, poses = frame((100, 50))
    assert ids(tracker.update(boxes, poses)) == [1]
    for _ in range(2):
        tracker.update(np.zeros((0, 4)))
    assert ids(tracker.update(boxes, poses)) == [1]  # missed 2 frames: still alive
    for _ in range(3):
        tracker.update(np.zeros((0, 4)))
    assert ids(tracker.update(boxes, poses)) == [2]  # missed 3 frames: expired, new id
    tracker.reset()
    assert ids(tracker.update(boxes, poses)) == [3]  # no reuse after reset either


def test_max_age_in_seconds_when_stamps_are_given():
    tracker = PersonTracker(min_hits=1, max_age_s=0.5, max_age_frames=1000)
    boxes, poses = frame((100, 50))
    assert ids(tracker.update(boxes, poses, stamp_s=10.0)) == [1]
    assert ids(tracker.update(boxes, poses, stamp_s=10.4)) == [1]
    assert ids(tracker.update(boxes, poses, stamp_s=11.0)) == [2]


def test_far_detection_is_gated_not_associated():
    tracker = PersonTracker(min_hits=1)
    boxes, poses = frame((100, 50))
    assert ids(tracker.update(boxes, poses)) == [1]
    boxes, poses = frame((300, 50))  # no overlap, poses far apart
    assert ids(tracker.update(boxes, poses)) == [2]


def test_oks_separates_overlapping_boxes():
    """Two persons whose boxes overlap strongly: keypoints decide who is who."""
    tracker = PersonTracker(min_hits=1)
    boxes, poses = frame((100, 50), (130, 50))
    assert ids(tracker.update(boxes, poses)) == [1, 2]
    boxes, poses = frame((104, 50), (126, 50))
    assert ids(tracker.update(boxes[::-1], poses[::-1])) == [2, 1]


def test_same_input_twice_gives_the_same_ids():
    rng = np.random.default_rng(0)
    sequence = []
    for t in range(30):
        people = [(100 + 2 * t + rng.normal(0, 2), 50.0), (500 - 8 * t, 70.0)]
        if t % 7 == 3:
            people = people[:1]  # a missed detection
        sequence.append(frame(*people))

    def run() -> list[list[int]]:
        tracker = PersonTracker()
        return [ids(tracker.update(boxes, poses, stamp_s=t / 30)) for t, (boxes, poses) in enumerate(sequence)]

    assert run() == run()


def test_passer_by_crossing_the_runner_never_steals_the_runners_id_or_selection():
    """A runner in place on a treadmill; a passer-by walks across the frame, passing in front."""
    tracker = PersonTracker()
    runner_ids, selected_ids, passer_ids = set(), set(), set()
    for t in range(60):
        runner = (300 + 4 * np.sin(t / 3), 100.0)  # bobbing in place
        people = [runner]
        if 10 <= t < 50:
            people.append((40 + 14 * (t - 10), 110.0))  # crosses x = 300 around t = 28
        boxes, poses = frame(*people)
        order = [1, 0] if len(people) == 2 and t % 2 else list(range(len(people)))  # detector order varies
        tracks = tracker.update(boxes[order], poses[order], stamp_s=t / 30)
        runner_track = tracks[order.index(0)]
        if runner_track.track_id >= 0:
            runner_ids.add(runner_track.track_id)
        if len(people) == 2 and tracks[order.index(1)].track_id >= 0:
            passer_ids.add(tracks[order.index(1)].track_id)
        chosen = tracker.select(tracks, "longest", (640, 480))
        if t >= 2:  # confirmed after min_hits = 3 frames
            assert [tracks[i] for i in chosen] == [runner_track]
        selected_ids.update(tracks[i].track_id for i in chosen)
    assert runner_ids == selected_ids == {1}
    assert len(passer_ids) == 1 and 1 not in passer_ids


def test_largest_and_central_targets_with_hysteresis():
    tracker = PersonTracker(min_hits=1, switch_margin=0.2)
    big, big_pose = person(100, 50, 100, 200)
    small, small_pose = person(290, 200, 60, 120)
    tracks = tracker.update(np.array([small, big]), np.array([small_pose, big_pose]))
    assert tracker.select(tracks, "largest", (640, 480)) == [1]
    assert tracker.select(tracks, "all", (640, 480)) == [0, 1]
    tracker.selected_key = None
    assert tracker.select(tracks, "central", (640, 480)) == [0]  # small box sits at the centre
    # Another person only slightly more central keeps the selection where it is (hysteresis).
    tracker = PersonTracker(min_hits=1)

    def step(ax: float, bx: float) -> list[int]:
        (a, pa), (b, pb) = person(ax, 160), person(bx, 160)  # box centres at x + 30, y = 240
        return tracker.select(tracker.update(np.array([a, b]), np.array([pa, pb])), "central", (640, 480))

    assert step(250, 340) == [0]  # 40 px vs 50 px from the centre
    assert step(245, 330) == [0]  # 45 px vs 40 px: better by less than 20%
    assert step(240, 310) == [1]  # 50 px vs 20 px: takes over


def test_unknown_target_is_rejected():
    assert TARGETS == ("all", "largest", "central", "longest")
    with pytest.raises(ValueError, match="expected one of all, largest, central, longest"):
        PersonTracker().select([], "tallest", (640, 480))


def test_duplicate_box_inside_a_tracked_person_starts_no_rival_track():
    """Detectors emit half-body boxes of one person (real case: the sports2d demo at 320 px)."""
    tracker = PersonTracker(min_hits=1)
    whole = np.array([[100.0, 50.0, 200.0, 250.0]])
    assert ids(tracker.update(whole)) == [1]
    upper_half = np.array([[110.0, 50.0, 190.0, 150.0]])
    assert ids(tracker.update(np.concatenate([whole, upper_half]))) == [1, -1]  # kept, unassigned
    assert len(tracker.tracks) == 1
    # Next frame the detector gives only the half box: it still belongs to the person's track.
    assert ids(tracker.update(upper_half)) == [1]


def test_followed_tracks_stay_alive_and_keep_their_detector_box():
    """Frames between detections (detect_every > 1): `refresh` keeps the followed tracks alive."""
    tracker = PersonTracker(min_hits=2, max_age_frames=2)
    boxes, poses = frame((100, 50))
    [track] = tracker.update(boxes, poses)
    for _ in range(5):
        tracker.refresh([track])
    assert track.track_id == 1 and track in tracker.tracks  # confirmed while followed, never expired
    np.testing.assert_allclose(track.box_xyxy, boxes[0])
    assert ids(tracker.update(*frame((104, 50)))) == [1]
