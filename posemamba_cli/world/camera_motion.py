"""Does the camera move? A cheap test on the background of a few frames spread over the video.

Between consecutive sampled frames, ORB features outside the people's boxes are matched and a similarity
transform (shift, rotation, zoom) is fitted with RANSAC. The camera is judged moving when, for some pair, that
transform moves an image corner by more than SHIFT_LIMIT of the image diagonal, or when both frames have
enough background features but too few of them match (the view changed). Where the background has too little
texture for MIN_FEATURES features the test cannot tell (`moving` is None).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHIFT_LIMIT = 0.02  # fraction of the image diagonal
MIN_FEATURES = 40  # background features a frame needs for the test
MIN_INLIERS = 12  # matches agreeing on one transform; fewer (with enough features): the view changed
BOX_MARGIN = 0.15  # people's boxes are widened by this share of their size on each side


@dataclass(frozen=True)
class CameraMotion:
    """Verdict of the background test: `moving` True / False / None (cannot tell), the largest background
    shift found (fraction of the image diagonal; inf where the view changed) and the frames it was seen between."""

    moving: bool | None
    shift: float
    frames: tuple[int, int] | None
    pairs: int  # frame pairs that could be compared

    @property
    def verdict(self) -> str:
        """"static", "moving" or "unknown"."""
        return "unknown" if self.moving is None else ("moving" if self.moving else "static")

    def warning(self, times: np.ndarray | None = None) -> str | None:
        """One line when the camera seems to move, else None."""
        if not self.moving or self.frames is None:
            return None
        a, b = self.frames
        when = f"frames {a} and {b}" if times is None else f"{float(times[a]):.1f} s and {float(times[b]):.1f} s"
        how = f"it shifted by {100 * self.shift:.0f}% of the image" if np.isfinite(self.shift) else "the view changed"
        return (f"the camera seems to move (background between {when}: {how}); the world frame, floor and paths "
                "assume a static camera and are unreliable here")


def _background_mask(shape: tuple[int, int], boxes: np.ndarray) -> np.ndarray:
    mask = np.full(shape, 255, np.uint8)
    for x0, y0, x1, y1 in np.asarray(boxes, np.float64).reshape(-1, 4):
        mx, my = BOX_MARGIN * (x1 - x0), BOX_MARGIN * (y1 - y0)
        top, bottom = max(0, int(y0 - my)), max(0, int(np.ceil(y1 + my)))
        left, right = max(0, int(x0 - mx)), max(0, int(np.ceil(x1 + mx)))
        mask[top:bottom, left:right] = 0
    return mask


def _pair_shift(a, b, shape: tuple[int, int]) -> float | None:
    """Largest corner displacement (fraction of the diagonal) of the background from a to b; inf: no match."""
    (ka, da), (kb, db) = a, b
    if da is None or db is None or len(ka) < MIN_FEATURES or len(kb) < MIN_FEATURES:
        return None
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    if len(matches) < MIN_INLIERS:
        return float("inf")
    pa = np.float32([ka[m.queryIdx].pt for m in matches])
    pb = np.float32([kb[m.trainIdx].pt for m in matches])
    m, inliers = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=3.0)
    if m is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return float("inf")
    h, w = shape
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64)
    moved = corners @ m[:, :2].T + m[:, 2]
    return float(np.linalg.norm(moved - corners, axis=1).max() / np.hypot(w, h))


def detect_camera_motion(samples: list[tuple[int, np.ndarray]], boxes: list[np.ndarray]) -> CameraMotion:
    """The background test over `samples` ((frame index, grey image) in time order) with each sample's
    people boxes (n, 4) x0 y0 x1 y1 in that image's pixels."""
    orb = cv2.ORB_create(nfeatures=500)
    feats = [orb.detectAndCompute(img, _background_mask(img.shape[:2], bx)) for (_, img), bx in zip(samples, boxes)]
    best, pairs = (0.0, None), 0
    for i in range(len(samples) - 1):
        shift = _pair_shift(feats[i], feats[i + 1], samples[i][1].shape[:2])
        if shift is None:
            continue
        pairs += 1
        if shift > best[0] or best[1] is None:
            best = (shift, (samples[i][0], samples[i + 1][0]))
    if pairs == 0:
        return CameraMotion(None, float("nan"), None, 0)
    return CameraMotion(bool(best[0] > SHIFT_LIMIT), best[0], best[1], pairs)
