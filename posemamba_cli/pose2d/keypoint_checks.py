"""THE check of 2D keypoint arrays entering `infer`, whatever their source (COCO / AlphaPose JSON, our npz's
main or `people_*` arrays, a `Tracks2D` given from Python): shapes, numbers, finite, in range, track ids.

Coordinates are source pixels: beyond `MAX_PIXELS` from the origin they are refused (no video is that
large, and float32 lifting overflows long before 1e20); detected joints far outside the frame give a
warning. Scores are confidences in [0, 1]: values outside are clipped into it, with one warning.
"""

from __future__ import annotations

import warnings

import numpy as np

from posemamba_cli.errors import PoseMambaError, PoseMambaWarning

NUM_JOINTS = 17
MAX_PIXELS = 1e6  # |x| or |y| beyond this is not a pixel position in any video
FAR_OUTSIDE = 0.5  # detected joints more than this many frame widths/heights outside the frame are doubtful


class KeypointCheckError(PoseMambaError):
    """Keypoint arrays that cannot be used (wrong shape, not numbers, non-finite, out of range, bad ids)."""


class KeypointWarning(PoseMambaWarning):
    """Keypoints that are used but look wrong (scores clipped, joints far outside the frame)."""


def _numeric(array: np.ndarray, name: str, source: str) -> None:
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise KeypointCheckError(f"{source}: {name} must be real numbers, got {array.dtype}")


def check_values(
    keypoints: object, scores: object, source: str, names: tuple[str, str] = ("keypoints", "scores")
) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (..., 17, 2) and scores (..., 17) of the same leading shape: finite, |coordinate| <=
    MAX_PIXELS, scores clipped into [0, 1] (KeypointWarning when that changed any). Returns float64 copies.
    `names`: the two arrays' names in messages."""
    kp, sc = np.asarray(keypoints), np.asarray(scores)
    if kp.ndim < 2 or kp.shape[-2:] != (NUM_JOINTS, 2):
        raise KeypointCheckError(f"{source}: {names[0]} must have shape (..., 17, 2), got {kp.shape}")
    if sc.shape != kp.shape[:-1]:
        raise KeypointCheckError(f"{source}: {names[1]} must have shape {kp.shape[:-1]}, got {sc.shape}")
    _numeric(kp, names[0], source)
    _numeric(sc, names[1], source)
    kp, sc = kp.astype(np.float64), sc.astype(np.float64)
    for name, array in zip(names, (kp, sc)):
        bad = np.count_nonzero(~np.isfinite(array))
        if bad:
            raise KeypointCheckError(f"{source}: {name} must be finite numbers ({bad} NaN or infinite values)")
    if kp.size and np.abs(kp).max() > MAX_PIXELS:
        raise KeypointCheckError(f"{source}: {names[0]} reach {np.abs(kp).max():.3g}, beyond {MAX_PIXELS:.0e} "
                                 "pixels: not pixel coordinates")  # fmt: skip
    outside = np.count_nonzero((sc < 0) | (sc > 1))
    if outside:
        warnings.warn(KeypointWarning(
            f"{source}: {outside} keypoint scores outside [0, 1] (from {sc.min():.3g} to {sc.max():.3g}) were "
            "clipped into it"
        ), stacklevel=2)  # fmt: skip
        sc = np.clip(sc, 0.0, 1.0)
    return kp, sc


def check_people(
    keypoints: object, scores: object, detected: object, track_ids: object, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every person's arrays (named as in our keypoints_2d.npz): people_keypoints (P, T, 17, 2), people_scores
    (P, T, 17), people_detected (P, T) bool, track_ids (P,) distinct integers; at least one person and one
    frame. Returns (float64, float64, bool, int64) arrays."""
    kp = np.asarray(keypoints)
    if kp.ndim != 4 or kp.shape[2:] != (NUM_JOINTS, 2):
        raise KeypointCheckError(f"{source}: people_keypoints must have shape (people, frames, 17, 2), got {kp.shape}")
    people, frames = kp.shape[:2]
    if people == 0 or frames == 0:
        raise KeypointCheckError(f"{source}: people_keypoints hold {people} people over {frames} frames")
    kp, sc = check_values(kp, scores, source, ("people_keypoints", "people_scores"))
    det = np.asarray(detected)
    if det.shape != (people, frames) or det.dtype != bool:
        raise KeypointCheckError(
            f"{source}: people_detected must be ({people}, {frames}) booleans, got {det.dtype} {det.shape}"
        )
    return kp, sc, det, check_track_ids(track_ids, people, source)


def check_track_ids(track_ids: object, people: int, source: str) -> np.ndarray:
    """(people,) distinct integers (integral floats are accepted) -> int64."""
    ids = np.asarray(track_ids)
    if ids.shape != (people,):
        raise KeypointCheckError(f"{source}: track_ids must be {people} integers, got shape {ids.shape}")
    if np.issubdtype(ids.dtype, np.floating):
        if not (np.isfinite(ids).all() and (ids == np.round(ids)).all() and (np.abs(ids) < 2**53).all()):
            raise KeypointCheckError(f"{source}: track_ids must be whole numbers, got {ids.tolist()[:5]}")
    elif not np.issubdtype(ids.dtype, np.integer):
        raise KeypointCheckError(f"{source}: track_ids must be integers, got {ids.dtype}")
    ids = ids.astype(np.int64)
    if len(np.unique(ids)) != len(ids):
        raise KeypointCheckError(f"{source}: track_ids must be distinct, got {ids.tolist()[:10]}")
    return ids


def warn_outside_frame(
    keypoints: np.ndarray, scores: np.ndarray, detected: np.ndarray, image_size: tuple[int, int] | None, source: str
) -> None:
    """KeypointWarning when detected joints (score > 0) lie more than FAR_OUTSIDE frames beyond the frame's
    edges: keypoints made for another video, or in another unit (normalised, millimetres)."""
    if image_size is None:
        return
    width, height = image_size
    seen = np.asarray(detected, bool)[..., None] & (np.asarray(scores) > 0)  # (..., 17)
    x, y = keypoints[..., 0], keypoints[..., 1]
    far = seen & ((x < -FAR_OUTSIDE * width) | (x > (1 + FAR_OUTSIDE) * width)
                  | (y < -FAR_OUTSIDE * height) | (y > (1 + FAR_OUTSIDE) * height))  # fmt: skip
    if far.any():
        warnings.warn(KeypointWarning(
            f"{source}: {np.count_nonzero(far)} of {np.count_nonzero(seen)} detected keypoints lie far outside the "
            f"{width}x{height} frame; are they this video's, in its pixels?"
        ), stacklevel=2)  # fmt: skip
