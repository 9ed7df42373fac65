"""A synthetic clip with known 3D: a walking-in-place stick figure, rendered and projected exactly.

Used by the tests and by `demo_videos/make_demo.py`, so that every number of the chain can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from posemamba_cli.video.ffmpeg import run_ffmpeg
from posemamba_cli.video.writer import VideoWriter

# Rest pose, body frame in millimetres: x right (of the image), y up, z toward the camera.
_REST_H36M = np.array([
    [0, 0, 0], [-130, 0, 0], [-130, -450, 0], [-130, -900, 0], [130, 0, 0], [130, -450, 0], [130, -900, 0],
    [0, 230, 0], [0, 480, 0], [0, 600, 30], [0, 710, 0], [150, 460, 0], [150, 180, 0], [150, -70, 0],
    [-150, 460, 0], [-150, 180, 0], [-150, -70, 0],
], dtype=np.float64)  # fmt: skip
# Face points relative to the head joint: nose, left eye, right eye, left ear, right ear.
_FACE = np.array([[0, -50, 90], [35, -25, 70], [-35, -25, 70], [75, -35, 0], [-75, -35, 0]], dtype=np.float64)
_COCO_FROM_H36M = {5: 11, 6: 14, 7: 12, 8: 15, 9: 13, 10: 16, 11: 4, 12: 1, 13: 5, 14: 2, 15: 6, 16: 3}


@dataclass
class SyntheticClip:
    """Ground truth of a synthetic clip: camera-space 3D (mm, x right, y down, z away) and 2D pixels."""

    path: Path
    width: int
    height: int
    fps: float
    pose3d_h36m_mm: np.ndarray  # (T, 17, 3)
    keypoints2d_h36m: np.ndarray  # (T, 17, 2)
    keypoints2d_coco: np.ndarray  # (T, 17, 2)
    focal_px: float
    distance_mm: float


def _rot(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def _swing(pose: np.ndarray, joints: list[int], pivot: int, angle: float) -> None:
    pose[joints] = (pose[joints] - pose[pivot]) @ _rot(0, angle).T + pose[pivot]


def body_motion(n_frames: int, fps: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """(T, 17, 3) H36M joints and (T, 5, 3) face points, camera frame (mm): walking in place, slowly turning."""
    h36m, face = np.zeros((n_frames, 17, 3)), np.zeros((n_frames, 5, 3))
    for t in range(n_frames):
        phase = 2 * np.pi * t / fps  # one stride per second
        pose = _REST_H36M.copy()
        swing = 0.45 * np.sin(phase)
        _swing(pose, [2, 3], 1, swing)
        _swing(pose, [5, 6], 4, -swing)
        _swing(pose, [3], 2, max(0.0, -swing) * 0.8)
        _swing(pose, [6], 5, max(0.0, swing) * 0.8)
        _swing(pose, [12, 13], 11, swing * 0.8)
        _swing(pose, [15, 16], 14, -swing * 0.8)
        pts = np.concatenate([pose, pose[10] + _FACE])
        pts = pts @ _rot(1, 0.6 * np.sin(2 * np.pi * t / max(n_frames, 1))).T  # turn about the vertical
        pts = pts * np.array([1.0, -1.0, -1.0])  # body (y up, z toward camera) -> camera (y down, z away)
        h36m[t], face[t] = pts[:17], pts[17:]
    return h36m, face


def project(points: np.ndarray, focal: float, distance: float, width: int, height: int) -> np.ndarray:
    """Pinhole projection of camera-frame points (mm; pelvis `distance` in front, 95 mm below the optical
    axis so that the figure is centred) to pixels."""
    z = points[..., 2] + distance
    return np.stack([focal * points[..., 0] / z + width / 2, focal * (points[..., 1] - 95) / z + height / 2], -1)


def coco_from_h36m(h36m: np.ndarray, face: np.ndarray) -> np.ndarray:
    """COCO-17 points from H36M joints plus the five face points (any trailing coordinate size)."""
    coco = np.zeros(h36m.shape[:-2] + (17, h36m.shape[-1]))
    coco[..., 0:5, :] = face
    for c, h in _COCO_FROM_H36M.items():
        coco[..., c, :] = h36m[..., h, :]
    return coco


def make_synthetic_clip(
    path: str | Path, n_frames: int = 40, width: int = 64, height: int = 48, fps: float = 30.0,
    audio: bool = True, crf: int = 28,
) -> SyntheticClip:
    """Render the stick figure into an mp4 (with a sine tone as audio) and return its ground truth."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h36m, face = body_motion(n_frames, fps)
    focal = 1.2 * max(width, height)
    distance = focal * 1900 / (0.85 * height)  # the 1.9 m tall figure fills 85% of the height
    k_h36m = project(h36m, focal, distance, width, height)
    k_face = project(face, focal, distance, width, height)
    k_coco = coco_from_h36m(k_h36m, k_face)
    audio_file = None
    if audio:
        audio_file = path.with_name(f".{path.stem}.audio.m4a")
        r = run_ffmpeg(["-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={n_frames / fps:.3f}",
                        "-c:a", "aac", "-b:a", "48k", str(audio_file)])  # fmt: skip
        if r.returncode != 0:
            raise RuntimeError(f"ffmpeg could not make the audio track: {r.stderr[-300:]}")
    try:
        thick = max(1, round(min(width, height) / 40))
        with VideoWriter(path, width, height, fps, audio_from=audio_file, audio_codec="aac" if audio else None,
                         crf=crf) as writer:  # fmt: skip
            for t in range(n_frames):
                img = np.full((height, width, 3), (90, 110, 130), np.uint8)
                pts = np.round(k_coco[t] * 16).astype(np.int32)
                for a, b in ((5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (11, 12), (5, 11), (6, 12),
                             (11, 13), (13, 15), (12, 14), (14, 16)):  # fmt: skip
                    cv2.line(img, tuple(pts[a]), tuple(pts[b]), (40, 40, 200), thick, cv2.LINE_AA, shift=4)
                head = np.round(k_h36m[t, 10] * 16).astype(np.int32)
                radius = int(round(focal * 110 / distance * 16))
                cv2.circle(img, tuple(head), radius, (60, 170, 230), -1, cv2.LINE_AA, shift=4)
                writer.write(img)
    finally:
        if audio_file is not None:
            audio_file.unlink(missing_ok=True)
    return SyntheticClip(path, width, height, fps, h36m, k_h36m, k_coco, focal, distance)
