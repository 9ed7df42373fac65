"""Choose whom to lift and make every person's rows line up with the video's frames."""

from __future__ import annotations

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.people.tracker import Track

MIN_FRAGMENT_SECONDS = 1.0  # `--people all` drops tracks seen in fewer frames than this (crowd flicker)


def fragment_frames(fps: float) -> int:
    """The frame count below which a track is a fragment: MIN_FRAGMENT_SECONDS at `fps` (at least 1)."""
    return max(1, int(round(MIN_FRAGMENT_SECONDS * fps)))


def summed_box_area(boxes_xyxy: np.ndarray) -> float:
    """THE main-person weight: the sum, over the frames a person is seen, of their box area (pixels^2).

    The box is the detector's box for video detection and the box enclosing the keypoints for keypoint
    files. Being large and being seen long both count, so the main person is the one the camera follows.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    return float(np.sum(np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)))


def keypoint_boxes(keypoints: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """(F, 4) boxes enclosing each frame's keypoints (F, J, 2); joints with a zero score are left out."""
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, np.shape(keypoints)[-2], 2)
    if scores is None:
        valid = np.ones(keypoints.shape[:2], bool)
    else:
        valid = np.asarray(scores).reshape(keypoints.shape[:2]) > 0
    out = np.zeros((len(keypoints), 4))
    for f, (k, v) in enumerate(zip(keypoints, valid)):
        pts = k[v] if v.any() else k
        out[f] = [*pts.min(0), *pts.max(0)]
    return out


def main_person(weights: list[float] | np.ndarray) -> int:
    """Index of the main person given each person's `summed_box_area` (ties: the first, i.e. lowest id)."""
    if len(weights) == 0:
        raise PoseMambaError("nobody was found (no person to choose from)")
    return int(np.argmax(np.asarray(weights, dtype=np.float64)))


def track_weight(track: Track) -> float:
    """`summed_box_area` of a tracked person's detector boxes."""
    return summed_box_area(np.array(list(track.boxes.values()))) if track.boxes else 0.0


def select_tracks(
    tracks: dict[int, Track] | list[Track], people: str = "main", min_frames: int = 1,
    min_fragment_frames: int | None = None, source: str = "the video",
) -> list[Track]:
    """`people="main"`: the one track with the largest `summed_box_area`; `"all"`: every track seen in at
    least `min_frames` frames (and `min_fragment_frames` when given, except the main one), main first
    then by weight. Raises PoseMambaError naming `source` (the video) when nobody was found."""
    items = list(tracks.values()) if isinstance(tracks, dict) else list(tracks)
    items.sort(key=lambda t: t.track_id)  # ties in weight go to the lowest id, as in `main_person`
    items = [t for t in items if len(t.boxes) >= max(1, min_frames)] or [t for t in items if t.boxes]
    if not items:
        raise PoseMambaError(f"{source}: nobody was found (no person detected in any frame)")
    items.sort(key=track_weight, reverse=True)  # stable: equal weights keep the id order
    if people == "main":
        return items[:1]
    if people == "all":
        if min_fragment_frames:
            items = items[:1] + [t for t in items[1:] if len(t.boxes) >= min_fragment_frames]
        return items
    raise PoseMambaError(f"--people must be 'main' or 'all', not {people!r}")


def fill_gaps(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Linearly interpolate rows of `values` (T, ...) where `present` is False; hold the ends.

    Needs at least one present row.
    """
    present = np.asarray(present, dtype=bool)
    if not present.any():
        raise ValueError("nothing to interpolate from")
    out = np.array(values, dtype=np.float64)
    t = np.arange(len(present))
    known = t[present]
    flat = out.reshape(len(present), -1)
    for c in range(flat.shape[1]):
        flat[~present, c] = np.interp(t[~present], known, flat[present, c])
    return flat.reshape(out.shape)


def boxes_by_frame(tracks: list[Track], n_frames: int) -> list[list[tuple[int, np.ndarray]]]:
    """For each frame, the (person index, box) pairs of the selected tracks seen in that frame."""
    per_frame: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(n_frames)]
    for p, track in enumerate(tracks):
        for f, box in track.boxes.items():
            if f < n_frames:
                per_frame[f].append((p, box))
    return per_frame
