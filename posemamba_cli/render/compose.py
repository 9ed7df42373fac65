"""Put two views side by side at the height of the first."""

from __future__ import annotations

import cv2
import numpy as np


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Concatenate horizontally, resizing `right` to the height of `left`."""
    h = left.shape[0]
    if right.shape[0] != h:
        w = max(1, int(round(right.shape[1] * h / right.shape[0])))
        right = cv2.resize(right, (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.concatenate([left, right], axis=1))


def side_by_side_width(left_w: int, left_h: int, right_w: int, right_h: int) -> int:
    """Width of `side_by_side` output for the given input sizes."""
    return left_w + (right_w if right_h == left_h else max(1, int(round(right_w * left_h / right_h))))
