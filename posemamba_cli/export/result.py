"""A result folder's pose3d.npz -> one .bvh / .glb per person, named by track id and listed in the manifest."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.export.bvh import write_bvh
from posemamba_cli.export.formats import parse_formats, person_file
from posemamba_cli.export.gltf import write_glb
from posemamba_cli.export.rig import fit_rig

Warn = Callable[[str], None]


@dataclass(frozen=True)
class PersonMotion:
    """One person's frames: their track span only."""

    track_id: int
    joints_mm: np.ndarray  # (T, 17, 3) world frame, z up, finite
    times_s: np.ndarray  # (T,) the frames' timestamps


def _default_warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def read_people(pose3d: Path, warn: Warn) -> tuple[list[PersonMotion], float]:
    """Every person of a pose3d.npz restricted to their track span, and the video's nominal fps.

    The world-frame joints (`joints_world_mm`) are taken; a file written before they existed gives
    `pose3d_world_mm` (poses that stay in place), said in a warning. Unknown frames inside a span (none in
    files this tool writes) are bridged linearly; a person with no known frame is left out, with a warning.
    """
    with np.load(pose3d, allow_pickle=False) as data:
        key = "joints_world_mm" if "joints_world_mm" in data.files else "pose3d_world_mm"
        joints = data[key].astype(np.float64)  # (P, T, 17, 3)
        track_ids, times, fps = data["track_ids"], data["time_s"].astype(np.float64), float(data["fps"])
        within = data["within_track"] if "within_track" in data.files else np.ones(joints.shape[:2], bool)
    if key != "joints_world_mm":
        warn(f"{pose3d.name} has no joints_world_mm (a result written before the world motion); exporting "
             "pose3d_world_mm: each pose standing in place over the origin, without its path")  # fmt: skip
    people = []
    for p, track_id in enumerate(track_ids):
        known = within[p] & np.isfinite(joints[p]).all(axis=(1, 2))
        if not known.any():
            warn(f"person {int(track_id)} has no frame with known joints; nothing exported for them")
            continue
        first, last = np.flatnonzero(known)[[0, -1]]
        span, ok = joints[p, first:last + 1], known[first:last + 1]
        if not ok.all():
            t = np.arange(len(span))
            span = np.stack([np.interp(t, t[ok], c[ok]) for c in span.reshape(len(span), -1).T], -1)
            span = span.reshape(-1, 17, 3)
        if np.any(np.diff(times[first:last + 1]) <= 0):
            raise PoseMambaError(f"{pose3d}: the frame times (time_s) do not increase; cannot export person "
                                 f"{int(track_id)}")  # fmt: skip
        people.append(PersonMotion(int(track_id), span, times[first:last + 1]))
    return people, fps


def constant_rate(times: np.ndarray, joints: np.ndarray, fps: float) -> tuple[np.ndarray, float, bool]:
    """(joints at a constant rate, that rate, whether they were resampled).

    Evenly spaced frame times (within a tenth of a frame) keep their frames, at the video's nominal `fps` when
    it agrees with their mean rate, else at that mean rate; otherwise (a variable frame rate) the joints are
    linearly resampled to the mean rate over the same span, with as many frames.
    """
    if len(times) < 2:
        return joints, fps, False
    step = (times[-1] - times[0]) / (len(times) - 1)
    grid = times[0] + step * np.arange(len(times))
    if np.max(np.abs(times - grid)) <= 0.1 * step:
        return joints, fps if abs(fps * step - 1.0) < 1e-3 else 1.0 / step, False
    flat = joints.reshape(len(joints), -1)
    resampled = np.stack([np.interp(grid, times, c) for c in flat.T], -1).reshape(joints.shape)
    return resampled, 1.0 / step, True


def export_pose3d(folder: str | os.PathLike, formats: Sequence[str], warn: Warn | None = None) -> list[str]:
    """Write `folder`/person_<id>.<fmt> for every person of `folder`/pose3d.npz and format; returns the names.

    Each file is written under a temporary name and renamed. No manifest handling (see `export_result`);
    warnings name the files, not the folder.
    """
    folder, warn = Path(folder), warn or _default_warn
    people, fps = read_people(folder / "pose3d.npz", warn)
    names = []
    for person in people:
        rig = fit_rig(person.joints_mm)  # one skeleton for both files
        for fmt in formats:
            name = person_file(person.track_id, fmt)
            if fmt == "bvh":
                joints, rate, resampled = constant_rate(person.times_s, person.joints_mm, fps)
                if resampled:
                    warn(f"{name}: the video's frame times are not evenly spaced (a variable frame "
                         f"rate); the BVH is resampled to their mean rate, {rate:.3f} fps (the .glb keeps "
                         "every frame at its own time)")  # fmt: skip
                write_bvh(folder / name, joints, rate, rig=rig)
            elif fmt == "glb":
                write_glb(folder / name, person.joints_mm, person.times_s, rig=rig)
            else:
                raise ValueError(f"unknown export format {fmt!r}")
            names.append(name)
    return names


def check_exportable(result_folder: str | os.PathLike, formats: Sequence[str]) -> None:
    """PoseMambaError (one line) unless `result_folder` is a finished result of this tool whose exports
    `formats` would replace no file this tool did not write there."""
    from posemamba_cli.io.manifest import read_manifest

    folder = Path(result_folder)
    manifest = read_manifest(folder)
    if manifest is None or "pose3d.npz" not in manifest["files"] or not (folder / "pose3d.npz").is_file():
        raise PoseMambaError(f"{folder}: not a finished posemamba result (no manifest listing pose3d.npz)")
    ours = set(manifest["files"])
    with np.load(folder / "pose3d.npz", allow_pickle=False) as data:
        track_ids = data["track_ids"]
    for name in (person_file(t, fmt) for t in track_ids for fmt in formats):
        target = folder / name
        if (target.exists() or target.is_symlink()) and (name not in ours or not target.is_file()):
            raise PoseMambaError(f"{target}: exists and was not written by posemamba; it is left untouched")


def export_result(
    result_folder: str | os.PathLike, formats: str | Sequence[str], warn: Warn | None = None
) -> list[str]:
    """Export every person of a finished result folder (BVH and/or glTF binary) and list the files in its
    manifest; returns the names written. Refuses folders that are not finished results of this tool, and
    never replaces a file this tool did not write (`check_exportable`). Warnings name the folder."""
    from posemamba_cli.io.manifest import add_manifest_files

    folder, warn = Path(result_folder), warn or _default_warn
    formats = parse_formats(formats)
    check_exportable(folder, formats)
    names = export_pose3d(folder, formats, lambda message: warn(f"{folder}: {message}"))
    add_manifest_files(folder, names)
    return names
