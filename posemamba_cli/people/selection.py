"""Choose whom to lift and make every person's rows line up with the video's frames."""

from __future__ import annotations

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.people.tracker import Track


def track_weight(track: Track) -> float:
    """Largest and longest: the summed box area over all frames where the track was seen."""
    return float(sum((b[2] - b[0]) * (b[3] - b[1]) for b in track.boxes.values()))


def select_tracks(tracks: dict[int, Track] | list[Track], people: str = "main", min_frames: int = 1) -> list[Track]:
    """`people="main"`: the one track with the largest summed area; `"all"`: every track seen in
    at least `min_frames` frames, heaviest first. Raises PoseMambaError when nobody was found."""
    items = list(tracks.values()) if isinstance(tracks, dict) else list(tracks)
    items = [t for t in items if len(t.boxes) >= max(1, min_frames)] or [t for t in items if t.boxes]
    if not items:
        raise PoseMambaError("nobody was found in the video (no person detected in any frame)")
    items.sort(key=track_weight, reverse=True)
    if people == "main":
        return items[:1]
    if people == "all":
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
