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
    color: tuple[int, int, int] | None = None,
    label: str | None = None,
) -> np.ndarray:
    """Draw one H36M-17 pose (17, 2) in pixels onto `frame` in place (grey when interpolated).

    Bones are coloured by body side; the joints and the `label` (e.g. "id 3") above the head take the
    person's `color`, the same as in the 3D view.
    """
    h, w = frame.shape[:2]
    thick = max(1, int(round(min(h, w) / 240)))
    pts = np.round(keypoints).astype(np.int32)
    for (a, b), side_color in zip(H36M_BONES, _COLORS):
        if scores is not None and min(scores[a], scores[b]) < min_score:
            continue
        c = INTERPOLATED if interpolated else side_color
        cv2.line(frame, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), c, thick, cv2.LINE_AA)
    dot = color or (255, 255, 255)
    for p in pts:
        cv2.circle(frame, (int(p[0]), int(p[1])), thick + 1, dot, -1, cv2.LINE_AA)
    if label:
        draw_label(frame, label, pts, dot)
    return frame


def draw_label(image: np.ndarray, text: str, points: np.ndarray, color: tuple[int, int, int]) -> None:
    """Write `text` in `color` just above the highest of `points` (pixels), on a dark backing."""
    h, w = image.shape[:2]
    scale = max(0.45, min(h, w) / 800)
    thick = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    top = points[np.argmin(points[:, 1])]
    x = int(np.clip(top[0] - tw / 2, 0, max(0, w - tw)))
    y = int(np.clip(top[1] - 2 * thick - base, th, h - base))
    cv2.rectangle(image, (x - 1, y - th - 1), (x + tw + 1, y + base), (20, 20, 20), -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)
