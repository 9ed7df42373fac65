"""The per-video output folder: staged beside its final place and renamed in only when complete."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import current_umask
from posemamba_cli.io.paths import check_writable  # noqa: F401  (its home before io.paths)
from posemamba_cli.lift.track import Pose3D
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.skeleton import H36M_JOINTS

# Units of each field of the JSON file (pose3d.json's "units").
JSON_UNITS = {
    "time_s": "seconds from the start of the video stream: the decoded frame's presentation timestamp",
    "keypoints_2d": "pixels of the source video (x right, y down), H36M-17 order",
    "scores_2d": "2D confidence in [0, 1] per joint",
    "pose3d_camera_mm": "root-relative camera space, approximate millimetres (x right, y down, z away)",
    "pose3d_world_mm": "approximate millimetres, published world rotation, z up, lowest joint at z=0",
}
# Units of each array of pose3d.npz (its "units").
NPZ_UNITS = {
    **JSON_UNITS,
    "keypoints_2d_h36m": JSON_UNITS["keypoints_2d"],
    "scores_2d_h36m": JSON_UNITS["scores_2d"],
    "pose3d_camera_px": "root-relative camera space, pixel units of the source (x right, y down, z away)",
    "pose3d_camera_mm": "pose3d_camera_px x mm_per_px: approximate millimetres (typical adult skeleton)",
    "mm_per_px": "millimetres per pixel of each person's scale estimate",
}
for _key in ("keypoints_2d", "scores_2d"):
    NPZ_UNITS.pop(_key)
UNITS = NPZ_UNITS  # the previous name


MANIFEST = "posemamba_manifest.json"
MANIFEST_FORMAT = "posemamba-infer-output/1"


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a result folder this tool wrote, or None (absent, unreadable, or not ours)."""
    path = Path(folder) / MANIFEST
    if Path(folder).is_symlink() or not path.is_file() or path.is_symlink():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(doc, dict) and doc.get("format") == MANIFEST_FORMAT and isinstance(doc.get("files"), list)
    return doc if ok else None


def write_manifest(folder: Path, video: Path, files: list[str], n_frames: int, n_people: int) -> None:
    """Mark `folder` as a complete result of this tool, listing every file it wrote there."""
    doc = {
        "format": MANIFEST_FORMAT,
        "video": str(Path(video).resolve()),
        "files": sorted(files),
        "n_frames": int(n_frames),
        "n_people": int(n_people),
    }
    (Path(folder) / MANIFEST).write_text(json.dumps(doc, indent=1))


def check_replaceable(final: Path, overwrite: bool) -> None:
    """Raise PoseMambaError unless `final` is absent, or is a result of ours that may be replaced.

    A folder is replaced only with `overwrite`, only when its manifest says this tool wrote it, and only
    when it holds nothing besides the files that manifest lists.
    """
    final = Path(final)
    if not final.exists() and not final.is_symlink():
        return
    manifest = read_manifest(final) if final.is_dir() else None
    if manifest is None:
        raise PoseMambaError(
            f"{final}: already exists and was not written by posemamba; it is left untouched "
            "(choose another --output)"
        )
    if not overwrite:
        raise PoseMambaError(f"{final}: results already exist (use --overwrite to replace them)")
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
    """
    final = Path(final)
    check_replaceable(final, overwrite)
    created = [p for p in [final.parent, *final.parent.parents] if not p.exists()]
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    try:
        yield stage
        _relax_permissions(stage)
        check_replaceable(final, overwrite)  # again: the folder may have changed while we worked
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(stage, final)
        if old is not None:
            _remove_result(old / final.name)
            with contextlib.suppress(OSError):
                old.rmdir()
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in created:  # the output folders this run made, innermost first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


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


def write_pose3d(
    folder: Path, poses: list[Pose3D], tracks: Tracks2D, fps: float, width: int, height: int,
    times: np.ndarray | None = None,
) -> None:
    """`pose3d.npz` and `pose3d.json`: one entry per decoded video frame, H36M-17 order, units stated.

    `times` are the frames' timestamps in seconds (default: frame / fps).
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
    (folder / "pose3d.json").write_text(json.dumps(doc, separators=(",", ":")))
