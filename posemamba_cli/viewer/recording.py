"""`recording.rrd` (optional extra `rerun`): the video, 2D keypoints and boxes, 3D people and their paths on
one timeline with the frames' timestamps, one entity per track id, for the rerun viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.people.selection import keypoint_boxes
from posemamba_cli.render.colors import person_color
from posemamba_cli.skeleton import H36M_BONES, H36M_JOINTS
from posemamba_cli.viewer.scene import scene_from_result

RECORDING_FILE = "recording.rrd"
VIDEO_ENTITY = "video"


def require_rerun() -> None:
    """Raise PoseMambaError (one line naming the extra) unless rerun-sdk can be imported."""
    try:
        import rerun  # noqa: F401
    except ImportError:
        raise PoseMambaError("--rerun needs rerun-sdk: pip install 'posemamba-cli[rerun]'") from None


def _timeline(frames: np.ndarray, times_s: np.ndarray) -> list:
    import rerun as rr

    return [rr.TimeColumn("frame", sequence=frames), rr.TimeColumn("time", duration=times_s[frames])]


def _log_video(rec, videos: list[Path], times_s: np.ndarray) -> Path | None:
    """The first video rerun can read (mp4 family), as an asset with one frame reference per frame."""
    import rerun as rr

    for path in videos:
        try:
            asset = rr.AssetVideo(path=path)
            stamps = np.asarray(asset.read_frame_timestamps_nanos())
        except Exception:  # noqa: BLE001 - a container or codec rerun does not read: try the next video
            continue
        n = min(len(stamps), len(times_s))
        rec.log(VIDEO_ENTITY, asset, static=True)
        rr.send_columns(VIDEO_ENTITY, indexes=_timeline(np.arange(n), times_s),
                        columns=rr.VideoFrameReference.columns_nanos(stamps[:n]), recording=rec)  # fmt: skip
        return path
    return None


def write_recording(folder: str | Path, videos: list[Path] = ()) -> Path:
    """Write `folder/recording.rrd` from the folder's pose3d.npz; `videos`: candidates for the video (the
    source first), the first one rerun can read is referenced as an asset."""
    require_rerun()
    import rerun as rr

    folder = Path(folder)
    scene = scene_from_result(folder)
    with np.load(folder / "pose3d.npz", allow_pickle=False) as npz:
        kp2d, sc2d = npz["keypoints_2d_h36m"], npz["scores_2d_h36m"]  # (P, T, 17, 2), (P, T, 17)
    times = scene.times_s
    rec = rr.RecordingStream("posemamba")
    with atomic_path(folder / RECORDING_FILE) as tmp:
        rec.save(tmp)
        rec.log("/", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
        joint_info = [rr.AnnotationInfo(id=j, label=n) for j, n in enumerate(H36M_JOINTS)]
        rec.log(VIDEO_ENTITY, rr.AnnotationContext([rr.ClassDescription(
            info=rr.AnnotationInfo(id=0, label="person"), keypoint_annotations=joint_info,
            keypoint_connections=list(H36M_BONES))]), static=True)  # fmt: skip
        used = _log_video(rec, [Path(v) for v in videos], times)
        if used is not None:
            rec.log("notes", rr.TextDocument(f"video: {used.name}; 3D: {scene.note}"), static=True)
        bones = np.array(H36M_BONES)
        for p in range(scene.n_people):
            name = f"id_{int(scene.track_ids[p])}"
            color = np.array(person_color(p)[::-1], np.uint8)  # BGR -> RGB
            frames = np.flatnonzero(np.isfinite(scene.joints_mm[p]).all((-1, -2)))
            if not len(frames):
                continue
            n, index = len(frames), _timeline(frames, times)
            joints = scene.joints_mm[p, frames] / 1000.0  # metres
            rr.send_columns(f"world/{name}/skeleton", indexes=index, columns=rr.LineStrips3D.columns(
                strips=joints[:, bones].reshape(-1, 2, 3), colors=np.tile(color, (n * len(bones), 1)),
            ).partition([len(bones)] * n), recording=rec)  # fmt: skip
            rec.log(f"world/{name}/path", rr.LineStrips3D([joints[:, 0] * [1, 1, 0]], colors=color,
                                                          labels=name.replace("_", " ")), static=True)  # fmt: skip
            k, s = kp2d[p, frames], sc2d[p, frames]
            rr.send_columns(f"{VIDEO_ENTITY}/{name}/keypoints", indexes=index, columns=rr.Points2D.columns(
                positions=k.reshape(-1, 2), keypoint_ids=np.tile(np.arange(17), n), class_ids=np.zeros(n * 17, int),
                colors=np.tile(color, (n * 17, 1)),
            ).partition([17] * n), recording=rec)  # fmt: skip
            boxes = keypoint_boxes(k, s)
            rr.send_columns(f"{VIDEO_ENTITY}/{name}/box", indexes=index, columns=rr.Boxes2D.columns(
                centers=(boxes[:, :2] + boxes[:, 2:]) / 2, half_sizes=(boxes[:, 2:] - boxes[:, :2]) / 2,
                colors=np.tile(color, (n, 1)), labels=[name.replace("_", " ")] * n,
            ), recording=rec)  # fmt: skip
        rec.flush()
        rec.disconnect()
    return folder / RECORDING_FILE
