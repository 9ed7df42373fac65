"""What the viewer shows: people's 3D joints over the frames, in the shared world frame when the result has it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.render.colors import person_color

SIDE_BY_SIDE_MM = 1200.0  # spacing of root-relative people placed side by side on the floor
FALLBACK_NOTE = "root-relative poses side by side on a floor (this result has no joints_world_mm)"


@dataclass
class ViewerScene:
    """P people over T frames, millimetres, z up, floor at z = 0; NaN where a person is not in the frame."""

    joints_mm: np.ndarray  # (P, T, 17, 3)
    times_s: np.ndarray  # (T,) each frame's timestamp
    fps: float
    track_ids: np.ndarray  # (P,)
    world: bool = True  # False: root-relative poses placed side by side (no shared world frame)
    note: str = ""  # one line shown above the 3D view

    def __post_init__(self) -> None:
        self.joints_mm = np.asarray(self.joints_mm, dtype=np.float32).reshape(-1, len(self.times_s), 17, 3)
        self.times_s = np.asarray(self.times_s, dtype=np.float64)
        self.track_ids = np.asarray(self.track_ids, dtype=np.int64).reshape(-1)
        if len(self.track_ids) != self.n_people:
            raise ValueError(f"{len(self.track_ids)} track ids for {self.n_people} people")

    @property
    def n_people(self) -> int:
        return int(self.joints_mm.shape[0])

    @property
    def n_frames(self) -> int:
        return int(self.joints_mm.shape[1])

    def colors_hex(self) -> list[str]:
        """Each person's overlay colour (`render.colors.person_color`, BGR) as '#rrggbb'."""
        return ["#{2:02x}{1:02x}{0:02x}".format(*person_color(p)) for p in range(self.n_people)]

    def labels(self) -> list[str]:
        """Each person's overlay label."""
        return [f"id {int(i)}" for i in self.track_ids]


def side_by_side(world_mm: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Root-relative poses (P, T, 17, 3) placed next to each other along x, NaN outside each track (P, T)."""
    out = np.array(world_mm, dtype=np.float32, copy=True)
    out[~np.asarray(within, bool)] = np.nan
    offsets = (np.arange(len(out)) - (len(out) - 1) / 2) * SIDE_BY_SIDE_MM
    out[..., 0] += offsets[:, None, None].astype(np.float32)
    return out


def scene_from_result(folder: str | Path) -> ViewerScene:
    """The scene of a result folder's pose3d.npz: `joints_world_mm` when present, else the root-relative
    `pose3d_world_mm` side by side (with a note saying so)."""
    path = Path(folder) / "pose3d.npz"
    if not path.is_file():
        raise PoseMambaError(f"{folder}: no pose3d.npz here (not a posemamba result folder)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k not in ("units", "joint_names")}
    except (OSError, ValueError) as exc:
        raise PoseMambaError(f"{path}: not a readable pose3d.npz ({exc})") from exc
    times = arrays["time_s"]
    if "joints_world_mm" in arrays:
        joints, world, note = arrays["joints_world_mm"], True, "people in the shared world frame (z up, floor at z = 0)"
    else:
        joints, world, note = side_by_side(arrays["pose3d_world_mm"], arrays["within_track"]), False, FALLBACK_NOTE
    return ViewerScene(joints, times, float(arrays["fps"]), arrays["track_ids"], world=world, note=note)
