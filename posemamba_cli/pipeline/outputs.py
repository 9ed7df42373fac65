"""The per-video output folder: staged beside its final place and renamed in only when complete."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import current_umask
from posemamba_cli.io.manifest import MANIFEST, read_manifest
from posemamba_cli.io.paths import check_writable  # noqa: F401  (its home before io.paths)
from posemamba_cli.lift.track import Pose3D
from posemamba_cli.pipeline.staging import ASIDE_SUFFIX, make_stage
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.skeleton import H36M_JOINTS

if TYPE_CHECKING:
    from posemamba_cli.world import WorldMotion
    from posemamba_cli.world.camera_motion import CameraMotion

# Units of each field of the JSON file (pose3d.json's "units").
JSON_UNITS = {
    "time_s": "seconds from the start of the video stream: the decoded frame's presentation timestamp",
    "keypoints_2d": "pixels of the source video (x right, y down), H36M-17 order",
    "scores_2d": "2D confidence in [0, 1] per joint",
    "pose3d_camera_mm": "root-relative camera space, approximate millimetres (x right, y down, z away)",
    "pose3d_world_mm": "approximate millimetres, published world rotation, z up, lowest joint at z=0",
    "root_camera_mm": "pelvis in camera space, mm (x right, y down, z away), filtered; null outside the track",
    "joints_camera_mm": "absolute joints in camera space, mm: root_camera_mm + pose3d_camera_mm",
    "joints_world_mm": "absolute joints in the world frame, mm: z up, floor (ankles at rest) at z=0, origin below "
                       "the camera, y along the camera's view, x to its right",
    "foot_contact": "(left ankle, right ankle) in contact with the floor",
}
# Units of pose3d.json's top-level world fields (also arrays of pose3d.npz).
WORLD_UNITS = {
    "focal_px": "pinhole focal length in pixels (principal point at the image centre); focal_source says from what",
    "world_from_camera": "4x4 rigid transform camera mm -> world mm",
    "foot_skate_mm": "per person: mean horizontal slide (mm) of a foot over one contact; null without contacts",
    "path_smoothing_s": "sigma (seconds) of the root path's Gaussian local-linear filter",
}
# Units of each array of pose3d.npz (its "units").
NPZ_UNITS = {
    **JSON_UNITS,
    **WORLD_UNITS,
    "keypoints_2d_h36m": JSON_UNITS["keypoints_2d"],
    "scores_2d_h36m": JSON_UNITS["scores_2d"],
    "pose3d_camera_px": "root-relative camera space, pixel units of the source (x right, y down, z away)",
    "pose3d_camera_mm": "pose3d_camera_px x mm_per_px: approximate millimetres (typical adult skeleton)",
    "mm_per_px": "millimetres per pixel of each person's scale estimate",
    "floor_plane_camera": "(a, b, c, d): the floor is a x + b y + c z + d = 0 in camera mm, (a, b, c) unit, up",
}
for _key in ("keypoints_2d", "scores_2d"):
    NPZ_UNITS.pop(_key)
UNITS = NPZ_UNITS  # the previous name


class ResultExists(PoseMambaError):
    """The result folder already holds a finished result (and `overwrite` is off)."""


def check_name_fits(final: Path) -> None:
    """PoseMambaError unless every part of `final`'s path fits the file system's name limit (NAME_MAX)."""
    final = Path(final)
    probe = final.parent
    while not probe.is_dir() and probe.parent != probe:
        probe = probe.parent
    try:
        limit = os.pathconf(probe, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    for part in final.parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise PoseMambaError(f"{final}: the name {part[:40]}... is {size} bytes, longer than the {limit} this "
                                 "file system allows (rename the video or choose another --output)")  # fmt: skip


def check_replaceable(final: Path, overwrite: bool) -> None:
    """Raise PoseMambaError unless `final` is absent, or is a result of ours that may be replaced.

    A folder is replaced only with `overwrite`, only when its manifest says this tool wrote it, and only
    when it holds nothing besides the files that manifest lists. `ResultExists` when it holds a finished
    result and `overwrite` is off; a name too long for the file system is refused first.
    """
    final = Path(final)
    check_name_fits(final)
    if not final.exists() and not final.is_symlink():
        return
    manifest = read_manifest(final) if final.is_dir() else None
    if manifest is None:
        raise PoseMambaError(
            f"{final}: already exists and was not written by posemamba; it is left untouched "
            "(choose another --output)"
        )
    if not overwrite:
        raise ResultExists(f"{final}: results already exist (use --overwrite to replace them)")
    ours = set(manifest["files"]) | {MANIFEST}
    foreign = sorted(p.name for p in final.iterdir() if p.name not in ours or not p.is_file() or p.is_symlink())
    if foreign:
        raise PoseMambaError(
            f"{final}: holds files posemamba did not write ({', '.join(foreign[:3])}); not replacing it"
        )


@contextlib.contextmanager
def staged_folder(final: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty folder beside `final`; on success it takes `final`'s place, on error it is removed.

    An existing `final` is replaced only under the rules of `check_replaceable`; the files of the old result
    are then deleted by name (its manifest's list), so nothing this tool did not write is ever removed.
    An OSError (disk full, read-only, ...) becomes one PoseMambaError naming the path.
    """
    final = Path(final)
    check_replaceable(final, overwrite)
    created = [p for p in [final.parent, *final.parent.parents] if not p.exists()]
    stage = None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        stage = make_stage(final)
        yield stage
        _relax_permissions(stage)
        check_replaceable(final, overwrite)  # again: the folder may have changed while we worked
        old = None
        if final.exists():
            old = make_stage(final, ASIDE_SUFFIX)
            os.replace(final, old / final.name)
        os.replace(stage, final)
        if old is not None:
            _remove_result(old / final.name)
            with contextlib.suppress(OSError):
                old.rmdir()
    except BaseException as exc:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        for folder in created:  # the output folders this run made, innermost first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):
            raise PoseMambaError(_write_error(exc, final, stage)) from exc
        raise


def _write_error(exc: OSError, final: Path, stage: Path | None) -> str:
    """One line for an OSError met while writing `final`: the file it concerns (as named in `final`) and why."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return f"{final}: cannot write the results: {reason}"
    where = Path(os.fsdecode(exc.filename))
    if stage is not None and where.is_relative_to(stage):
        where = final / where.relative_to(stage)
    return f"{where}: cannot write it: {reason}" if where.is_relative_to(final) else f"{where}: {reason}"


def _remove_result(folder: Path) -> None:
    """Delete the files a result's manifest lists, then the folder if that left it empty."""
    manifest = read_manifest(folder)
    for name in (manifest or {}).get("files", []):
        if "/" not in name and name not in ("", ".", ".."):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
    with contextlib.suppress(FileNotFoundError):
        (folder / MANIFEST).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def _relax_permissions(folder: Path) -> None:
    """Temp files are created private (0600/0700); give the results the user's usual permissions."""
    umask = current_umask()
    folder.chmod(0o777 & ~umask)
    for item in folder.iterdir():
        if item.is_file():
            item.chmod(0o666 & ~umask)


def _finite_or_none(values: np.ndarray, decimals: int) -> list | None:
    return np.round(values, decimals).tolist() if np.isfinite(values).all() else None


def world_summary(world: WorldMotion, motion: CameraMotion | None, track_ids: np.ndarray) -> dict:
    """The world step's figures for pose3d.json and the manifest: camera, floor, smoothing, foot skate."""
    skate = [None if not np.isfinite(v) else round(float(v), 1) for v in world.foot_skate_mm]
    return {
        "focal_px": world.camera.focal_px,
        "focal_source": world.camera.focal_source,
        "path_smoothing_s": world.smooth_s,
        "floor_tilt": "fitted to the feet" if world.floor.fitted_tilt else "the bodies' mean up direction",
        "camera_motion": {
            "moving": None if motion is None else motion.moving,
            "largest_background_shift": None if motion is None or not np.isfinite(motion.shift) else motion.shift,
            "pairs_compared": 0 if motion is None else motion.pairs,
        },
        "foot_skate_mm": {str(int(t)): v for t, v in zip(track_ids, skate)},
    }


def write_pose3d(
    folder: Path, poses: list[Pose3D], tracks: Tracks2D, fps: float, width: int, height: int,
    times: np.ndarray | None = None, world: WorldMotion | None = None, camera_motion: CameraMotion | None = None,
) -> None:
    """`pose3d.npz` and `pose3d.json`: one entry per decoded video frame, H36M-17 order, units stated.

    `times` are the frames' timestamps in seconds (default: frame / fps). With `world` (the world step's
    result) both files gain the camera, root path, absolute joints, floor, contacts and foot skate.
    """
    interpolated = ~tracks.detected
    in_life = tracks.within_lifespan()
    t_s = np.arange(tracks.n_frames) / fps if times is None else np.asarray(times, dtype=np.float64)
    if len(t_s) != tracks.n_frames:
        raise ValueError(f"{len(t_s)} timestamps for {tracks.n_frames} frames")
    np.savez_compressed(
        folder / "pose3d.npz",
        joint_names=np.array(H36M_JOINTS),
        track_ids=tracks.track_ids.astype(np.int64),
        time_s=t_s,
        pose3d_camera_px=np.stack([p.camera_px for p in poses]).astype(np.float32),
        pose3d_camera_mm=np.stack([p.camera_mm for p in poses]).astype(np.float32),
        pose3d_world_mm=np.stack([p.world_mm for p in poses]).astype(np.float32),
        keypoints_2d_h36m=np.stack([p.keypoints_2d_h36m for p in poses]).astype(np.float32),
        scores_2d_h36m=np.stack([p.scores_h36m for p in poses]).astype(np.float32),
        mm_per_px=np.array([p.mm_per_px for p in poses]),
        interpolated=interpolated,
        within_track=in_life,
        fps=np.float64(fps),
        width=np.int64(width),
        height=np.int64(height),
        units=np.array(json.dumps(NPZ_UNITS)),
        **({} if world is None else _world_arrays(world, camera_motion)),
    )
    frames = []
    for t in range(tracks.n_frames):
        people = []
        for p, pose in enumerate(poses):
            people.append(
                {
                    "track_id": int(tracks.track_ids[p]),
                    "interpolated": bool(interpolated[p, t]),
                    "within_track": bool(in_life[p, t]),
                    "keypoints_2d": np.round(pose.keypoints_2d_h36m[t], 2).tolist(),
                    "scores_2d": np.round(pose.scores_h36m[t], 4).tolist(),
                    "pose3d_camera_mm": np.round(pose.camera_mm[t], 1).tolist(),
                    "pose3d_world_mm": np.round(pose.world_mm[t], 1).tolist(),
                }
            )
            if world is not None:
                people[-1].update(
                    root_camera_mm=_finite_or_none(world.root_camera_mm[p, t], 1),
                    joints_camera_mm=_finite_or_none(world.joints_camera_mm[p, t], 1),
                    joints_world_mm=_finite_or_none(world.joints_world_mm[p, t], 1),
                    foot_contact=world.foot_contact[p, t].tolist() if in_life[p, t] else None,
                )
        frames.append({"frame": t, "time_s": round(float(t_s[t]), 6), "people": people})
    doc = {
        "format": "posemamba-pose3d/1",
        "joint_order": "h36m17",
        "joint_names": list(H36M_JOINTS),
        "units": JSON_UNITS,
        "flags": {
            "interpolated": "true where the 2D model did not see this person in this frame: the 2D keypoints "
                            "are interpolated (inside the track) or held (before/after it)",
            "within_track": "true between the person's first and last detected frame",
        },
        "mm_per_px": [p.mm_per_px for p in poses],
        "fps": fps,
        "width": width,
        "height": height,
        "n_frames": tracks.n_frames,
        "frames": frames,
    }
    if world is not None:
        doc.update(world_summary(world, camera_motion, tracks.track_ids))
        doc["world_from_camera"] = world.world_from_camera.tolist()
        doc["world_units"] = WORLD_UNITS
    (folder / "pose3d.json").write_text(json.dumps(doc, separators=(",", ":")))


def _world_arrays(world: WorldMotion, motion: CameraMotion | None) -> dict[str, np.ndarray]:
    """The world step's arrays of pose3d.npz (README: Infer: output files)."""
    return {
        "focal_px": np.float64(world.camera.focal_px),
        "focal_source": np.array(world.camera.focal_source),
        "root_camera_mm": world.root_camera_mm.astype(np.float32),
        "joints_camera_mm": world.joints_camera_mm.astype(np.float32),
        "joints_world_mm": world.joints_world_mm.astype(np.float32),
        "world_from_camera": world.world_from_camera.astype(np.float64),
        "floor_plane_camera": np.append(world.floor.normal, world.floor.offset).astype(np.float64),
        "foot_contact": world.foot_contact.astype(bool),
        "foot_skate_mm": world.foot_skate_mm.astype(np.float64),
        "path_smoothing_s": np.float64(world.smooth_s),
        "camera_motion": np.array("unknown" if motion is None else motion.verdict),
    }
