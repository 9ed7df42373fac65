"""Draw H36M-17 2D skeletons onto video frames with OpenCV."""

from __future__ import annotations

import cv2
import numpy as np

from posemamba_cli.render.colors import INTERPOLATED, bone_colors
from posemamba_cli.skeleton import H36M_BONES

_COLORS = bone_colors()


def draw_skeleton_2d(
    frame: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray | None = None,
    interpolated: bool = False,
    min_score: float = 0.0,
) -> np.ndarray:
    """Draw one H36M-17 pose (17, 2) in pixels onto `frame` in place (grey when interpolated)."""
    h, w = frame.shape[:2]
    thick = max(1, int(round(min(h, w) / 240)))
    pts = np.round(keypoints).astype(np.int32)
    for (a, b), color in zip(H36M_BONES, _COLORS):
        if scores is not None and min(scores[a], scores[b]) < min_score:
            continue
        c = INTERPOLATED if interpolated else color
        cv2.line(frame, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), c, thick, cv2.LINE_AA)
    for p in pts:
        cv2.circle(frame, (int(p[0]), int(p[1])), thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return frame
