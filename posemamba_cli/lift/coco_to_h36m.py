"""COCO-17 -> H36M-17, exactly as the published in-the-wild demo converts 2D keypoints."""

from __future__ import annotations

import numpy as np

_H36M_FROM = [9, 11, 14, 12, 15, 13, 16, 4, 1, 5, 2, 6, 3]
_COCO_TO = [0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]


def coco_to_h36m(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert COCO-17 keypoints (..., 17, 2) and scores (..., 17) to H36M-17 (same leading shape).

    Derived joints follow the published demo: head, thorax, pelvis, spine and neck from the face and
    torso keypoints; legs whose score is below 0.3 collapse onto their parent joint.
    """
    k = np.asarray(keypoints, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    out = np.zeros(k.shape[:-2] + (17, 2))
    out_s = np.zeros(s.shape[:-1] + (17,))
    # head (10): x = mean x of eyes and ears; y = y(eye1) + y(eye2) - y(nose)
    out[..., 10, 0] = k[..., 1:5, 0].mean(-1)
    out[..., 10, 1] = k[..., 1, 1] + k[..., 2, 1] - k[..., 0, 1]
    # thorax (8): shoulder midpoint moved a third toward the nose, then raised by 2/3 (eyes - nose) in y
    thorax = (k[..., 5, :] + k[..., 6, :]) / 2
    thorax = thorax + (k[..., 0, :] - thorax) / 3
    thorax[..., 1] -= (k[..., 1:3, 1].mean(-1) - k[..., 0, 1]) * 2 / 3
    out[..., 8, :] = thorax
    # pelvis (0): hip midpoint; spine (7): torso mean pushed away from the pelvis-thorax midline in x
    out[..., 0, :] = (k[..., 11, :] + k[..., 12, :]) / 2
    spine = k[..., [5, 6, 11, 12], :].mean(-2)
    spine[..., 0] += 2 * (spine[..., 0] - (out[..., 0, 0] + out[..., 8, 0]) / 2)
    out[..., 7, :] = spine
    # directly mapped joints (neck/nose 9 starts at the nose)
    out[..., _H36M_FROM, :] = k[..., _COCO_TO, :]
    # neck/nose (9): then moved a quarter of the way toward the shoulder midpoint
    shoulders = (k[..., 5, :] + k[..., 6, :]) / 2
    out[..., 9, :] += (shoulders - out[..., 9, :]) / 4
    out_s[..., _H36M_FROM] = s[..., _COCO_TO]
    out_s[..., 0] = s[..., [11, 12]].mean(-1)
    out_s[..., 8] = s[..., [5, 6]].mean(-1)
    out_s[..., 7] = (out_s[..., 0] + out_s[..., 8]) / 2
    out_s[..., 10] = s[..., 1:5].mean(-1)
    # low-confidence legs take their parent's position: ankle <- knee, knee and ankle <- hip
    for hip, knee, ankle in ((1, 2, 3), (4, 5, 6)):
        low_ankle = out_s[..., ankle] < 0.3
        out[..., ankle, :] = np.where(low_ankle[..., None], out[..., knee, :], out[..., ankle, :])
        low_knee = out_s[..., knee] < 0.3
        out[..., knee, :] = np.where(low_knee[..., None], out[..., hip, :], out[..., knee, :])
        out[..., ankle, :] = np.where(low_knee[..., None], out[..., hip, :], out[..., ankle, :])
    return out, out_s
