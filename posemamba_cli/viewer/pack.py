"""The page's pose data: int16 millimetres, time deltas, gzip, base64 (decoded by the browser's DecompressionStream).

Blob layout (little endian): times float64 (T,) | present uint8 (P, T), padded to 8 bytes |
joints int16 (P, 51, T): per (person, joint, axis) series the first value then frame-to-frame differences
(wrapping int16 arithmetic, so a running int16 sum restores it exactly); values are mm / `scale`.
"""

from __future__ import annotations

import base64
import gzip

import numpy as np

INT16_LIMIT = 32000


def int16_scale(joints_mm: np.ndarray) -> int:
    """The smallest whole number of mm per int16 unit that holds every finite coordinate."""
    finite = np.abs(joints_mm[np.isfinite(joints_mm)])
    peak = float(finite.max()) if finite.size else 0.0
    return max(1, int(np.ceil(peak / INT16_LIMIT)))


def quantize(joints_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(P, T, 17, 3) mm with NaN -> int16 (P, T, 51) in units of `scale` mm, present (P, T) bool, scale.

    A frame where a person is absent holds their nearest present frame's values (small differences)."""
    joints = np.asarray(joints_mm, dtype=np.float64).reshape(joints_mm.shape[0], joints_mm.shape[1], 51)
    present = np.isfinite(joints).all(-1)
    scale = int16_scale(joints)
    q = np.zeros(joints.shape, np.int16)
    for p in range(len(joints)):
        seen = np.flatnonzero(present[p])
        if not len(seen):
            continue
        nearest = seen[np.clip(np.searchsorted(seen, np.arange(joints.shape[1])), 0, len(seen) - 1)]
        q[p] = np.round(joints[p, nearest] / scale).astype(np.int16)
    return q, present, scale


def pack_scene(joints_mm: np.ndarray, times_s: np.ndarray) -> tuple[str, dict]:
    """The base64 blob and what the page needs to read it (counts, scale, sizes)."""
    q, present, scale = quantize(joints_mm)
    series = np.ascontiguousarray(q.transpose(0, 2, 1)).astype(np.int32)  # (P, 51, T)
    deltas = np.diff(series, axis=-1, prepend=0).astype(np.int16)  # wraps like the page's int16 running sum
    mask = present.astype(np.uint8).tobytes()
    mask += b"\0" * (-len(mask) % 8)
    raw = np.asarray(times_s, "<f8").tobytes() + mask + deltas.astype("<i2").tobytes()
    blob = gzip.compress(raw, compresslevel=6, mtime=0)
    info = {"scale": scale, "maskBytes": len(mask), "rawBytes": len(raw), "gzipBytes": len(blob)}
    return base64.b64encode(blob).decode("ascii"), info


def unpack_scene(b64: str, n_people: int, n_frames: int, scale: int, mask_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `pack_scene` (what the page does): (P, T, 17, 3) float32 mm with NaN, times (T,)."""
    raw = gzip.decompress(base64.b64decode(b64))
    times = np.frombuffer(raw, "<f8", n_frames)
    present = np.frombuffer(raw, np.uint8, n_people * n_frames, 8 * n_frames).reshape(n_people, n_frames).astype(bool)
    deltas = np.frombuffer(raw, "<i2", offset=8 * n_frames + mask_bytes).reshape(n_people, 51, n_frames)
    series = np.cumsum(deltas, axis=-1, dtype=np.int16)  # wrapping sum
    joints = series.transpose(0, 2, 1).astype(np.float32) * scale
    joints[~present] = np.nan
    return joints.reshape(n_people, n_frames, 17, 3), times
