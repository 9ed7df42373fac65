"""Foot contact per foot and frame (low and slow) and foot skate (how far a planted foot slides)."""

from __future__ import annotations

import numpy as np

from posemamba_cli.world.floor import ANKLES

CONTACT_HEIGHT_MM = 60.0  # an ankle at most this high above the floor (z = 0 is the ankles' resting level) ...
CONTACT_SPEED_MM_S = 500.0  # ... moving horizontally slower than this is in contact


def foot_contact(joints_world_mm: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(T, 2) bool, (left ankle, right ankle) in contact, of one person's world-frame joints (T, 17, 3);
    False where the joints are NaN. Speeds are central differences over the frames' timestamps."""
    feet = np.asarray(joints_world_mm, np.float64)[:, list(ANKLES)]  # (T, 2, 3)
    t = np.asarray(times, np.float64)
    speed = np.full(feet.shape[:2], np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):  # NaN frames, repeated timestamps: no contact
        if len(t) > 1:
            speed = np.linalg.norm(np.gradient(feet[..., :2], t, axis=0), axis=-1)
        return (feet[..., 2] < CONTACT_HEIGHT_MM) & (speed < CONTACT_SPEED_MM_S)


def foot_skate(joints_world_mm: np.ndarray, contact: np.ndarray) -> float:
    """Mean horizontal path length (mm) of a foot over one contact (a run of consecutive contact frames),
    over both feet's contacts; NaN when there is none. 0 for perfectly planted feet."""
    feet = np.asarray(joints_world_mm, np.float64)[:, list(ANKLES), :2]  # (T, 2, 2)
    lengths = []
    for f in range(2):
        c = np.asarray(contact[:, f], bool)
        if not c.any():
            continue
        step = np.linalg.norm(np.diff(feet[:, f], axis=0), axis=-1)  # (T-1,)
        both = c[1:] & c[:-1]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], c.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):  # run of contact frames start..stop-1
            lengths.append(float(np.nansum(step[start : stop - 1] * both[start : stop - 1])))
    return float(np.mean(lengths)) if lengths else float("nan")
