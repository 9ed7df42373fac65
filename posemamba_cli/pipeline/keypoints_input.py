"""`--keypoints FILE`: ready-made 2D keypoints (COCO results, AlphaPose/Halpe JSON, our npz) as Tracks2D."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.pipeline.tracks2d import Tracks2D


def load_keypoints(
    path: str | Path, n_frames: int, people: str = "main", video_size: tuple[int, int] | None = None
) -> Tracks2D:
    """Read a keypoint file into one row per video frame (frames the file lacks are undetected).

    Every array is checked (`Tracks2D.checked`) before anyone is chosen; PoseMambaError names the file.
    """
    from posemamba_cli.pose2d.keypoint_files import read_keypoint_file, read_people_npz

    path = Path(path)
    ours = read_people_npz(path) if path.suffix.lower() == ".npz" and path.is_file() else None
    if ours is not None:
        arrays, size = ours
        _check_size(path, size, video_size)
        return _choose(Tracks2D(*arrays).checked(str(path)), people).fit_frames(n_frames)
    data = read_keypoint_file(path)
    _check_size(path, data.image_size, video_size)
    ids = data.track_ids or [None]  # without track ids: the most confident person of each frame
    series = [data.select(i) for i in ids]
    last = max(int(s.frame_indices.max()) for s in series)
    if last >= n_frames:
        raise PoseMambaError(f"{path}: keypoints reach frame {last} but the video has {n_frames} decoded frames")
    kp, sc = np.zeros((len(series), n_frames, 17, 2)), np.zeros((len(series), n_frames, 17))
    detected = np.zeros((len(series), n_frames), bool)
    for p, s in enumerate(series):
        keep = s.frame_indices < n_frames
        f = s.frame_indices[keep]
        kp[p, f], sc[p, f], detected[p, f] = s.keypoints[keep], s.scores[keep], True
    track_ids = np.array([s.track_id if s.track_id is not None else p for p, s in enumerate(series)])
    return _choose(Tracks2D(kp, sc, detected, track_ids).checked(str(path)), people)


def _check_size(path: Path, size: tuple[int, int] | None, video_size: tuple[int, int] | None) -> None:
    if video_size is not None and size is not None and tuple(size) != tuple(video_size):
        raise PoseMambaError(
            f"{path}: keypoints are for a {size[0]}x{size[1]} image but the video is {video_size[0]}x{video_size[1]}"
        )


def _choose(tracks: Tracks2D, people: str) -> Tracks2D:
    """`people="main"`: the main person by the one rule (`Tracks2D.main_index`); "all": everyone, main first."""
    main = tracks.main_index()
    if people == "main":
        return tracks.subset([main])
    return tracks.subset([main] + [p for p in range(tracks.n_people) if p != main])
