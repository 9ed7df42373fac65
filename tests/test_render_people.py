"""The 3D view fits every person in the person's colour: in the world frame where they are, with a trail
(issue 19, item 5), or each in a fixed slot for poses without a world path (issue 10, item 6)."""

from __future__ import annotations

import numpy as np

from posemamba_cli.people.selection import MIN_FRAGMENT_SECONDS, fragment_frames, select_tracks
from posemamba_cli.people.tracker import Track
from posemamba_cli.render import SkeletonView3D
from posemamba_cli.render.colors import person_color
from posemamba_cli.video.synthetic import body_motion


def _standing_pose() -> np.ndarray:
    """(17, 3) world mm, z up, lowest joint on the floor."""
    h36m, _ = body_motion(1)
    world = h36m[0] * np.array([1.0, -1.0, -1.0])  # camera (y down, z away) -> body (y up, z toward)
    world = world[:, [0, 2, 1]]  # (x, z, y): z up
    return world - np.array([0, 0, world[:, 2].min()])


def test_every_person_fits_in_the_3d_view() -> None:
    pose = _standing_pose()
    for n in (1, 3, 5, 11):
        view = SkeletonView3D(240, n_slots=n)
        for slot in range(n):
            pts = view.project(pose - np.array([pose[0, 0], pose[0, 1], 0]) + view.slot_offset(slot))
            assert (pts >= 0).all() and (pts < 240).all(), (n, slot)
        slot_x = [view.project(view.slot_offset(s))[0] for s in range(n)]
        assert np.all(np.diff(slot_x) > 240 / (n + 2) * 0.5)  # separated, not drawn over each other


def test_fitted_view_holds_every_joint_of_every_frame() -> None:
    rng = np.random.default_rng(0)
    pose = _standing_pose()
    people = []
    for p in range(5):  # arms out to 1.8 m, walking about, one of them twice as wide as the others
        frames = pose[None].repeat(20, 0) + rng.normal(0, 80, (20, 17, 3)) + np.array([p * 300.0, 0, 0])
        frames[:, 13, 0] += 900 * (1 + (p == 3))
        people.append(frames)
    view = SkeletonView3D.fitted(200, people)
    for slot, frames in enumerate(people):
        centred = frames - np.concatenate([frames[:, :1, :2], np.zeros((20, 1, 1))], -1)
        pts = view.project(centred + view.slot_offset(slot))
        assert (pts >= 0).all() and (pts < 200).all(), slot


def test_a_person_keeps_slot_and_colour_when_others_appear() -> None:
    pose = _standing_pose()
    view = SkeletonView3D(240, n_slots=4)
    alone = view.render([pose], [False], slots=[2], labels=["id 7"])
    crowd = view.render([pose, pose, pose], [False] * 3, slots=[0, 2, 3], labels=["id 1", "id 7", "id 9"])
    colour = np.array(person_color(2))
    alone_px = np.argwhere((np.abs(alone.astype(int) - colour).sum(-1) < 30))
    crowd_px = np.argwhere((np.abs(crowd.astype(int) - colour).sum(-1) < 30))
    assert len(alone_px) > 10
    # person 2's colour is at the same place whether or not the others are drawn
    np.testing.assert_allclose(alone_px.mean(0), crowd_px.mean(0), atol=2.0)
    assert person_color(0) != person_color(1)


def _colour_centre(image: np.ndarray, person: int) -> np.ndarray:
    where = np.argwhere(np.abs(image.astype(int) - np.array(person_color(person))).sum(-1) < 30)
    assert len(where) > 10
    return where.mean(0)


def test_world_view_shows_people_where_they_are_with_a_trail() -> None:
    pose = _standing_pose()
    walk = np.stack([pose + np.array([x, 3000.0, 0.0]) for x in np.linspace(-1500, 1500, 30)])  # 3 m to the right
    still = np.repeat((pose + np.array([0.0, 6000.0, 0.0]))[None], 30, 0)
    view = SkeletonView3D.fitted_world(240, [walk, still])
    for frames in (walk, still):  # every joint of every frame is in the picture
        pts = view.project(frames)
        assert (pts >= 0).all() and (pts < 240).all()
    start = view.render_world([walk[0], still[0]], [False, False], [0, 1], ["id 1", "id 2"])
    end = view.render_world([walk[-1], still[-1]], [False, False], [0, 1], ["id 1", "id 2"])
    assert _colour_centre(end, 0)[1] > _colour_centre(start, 0)[1] + 60  # person 0 moved right across the picture
    np.testing.assert_allclose(_colour_centre(end, 1), _colour_centre(start, 1), atol=2.0)  # person 1 stayed
    trail = view.render_world([walk[-1]], [False], [0], None, [walk[-15:, 0]])
    alone = view.render_world([walk[-1]], [False], [0])
    added = np.argwhere(np.abs(trail.astype(int) - alone.astype(int)).sum(-1) > 0)  # what the trail drew
    assert len(added) > 20
    assert added[:, 0].mean() > view.project(walk[-1, 0])[1]  # on the floor, below the pelvis
    assert added[:, 1].min() < view.project(walk[-1, 0])[0] - 20  # behind the person: where they came from


def _track(tid: int, frames: range, size: float) -> Track:
    t = Track(tid)
    for f in frames:
        t.boxes[f] = np.array([0.0, 0.0, size, 2 * size])
        t.scores[f] = 0.9
    return t


def test_people_all_drops_short_fragments() -> None:
    fps = 25.0
    assert fragment_frames(fps) == round(MIN_FRAGMENT_SECONDS * fps)
    tracks = [_track(1, range(100), 50), _track(2, range(60), 40), _track(3, range(10), 100), _track(4, range(24), 30)]
    kept = select_tracks(tracks, "all", 3, min_fragment_frames=fragment_frames(fps))
    assert [t.track_id for t in kept] == [1, 2]  # 10- and 24-frame fragments (< 1 s) are dropped
    assert [t.track_id for t in select_tracks(tracks, "all", 3)] == [1, 3, 2, 4]  # --keep-fragments: by weight
    assert [t.track_id for t in select_tracks(tracks, "main")] == [1]  # largest summed area: 100 x 50 x 100


def test_overlay_marks_each_person_in_their_colour() -> None:
    from posemamba_cli.render import draw_skeleton_2d

    frame = np.zeros((120, 160, 3), np.uint8)
    keypoints = np.stack([np.linspace(40, 120, 17), np.linspace(30, 110, 17)], 1)
    draw_skeleton_2d(frame, keypoints, color=person_color(3), label="id 3")
    colour = np.array(person_color(3))
    assert (np.abs(frame.astype(int) - colour).sum(-1) < 10).sum() > 20  # joints and label in person 3's colour
