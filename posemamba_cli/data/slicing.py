"""Clip slicing exactly as the published `split_clips`, including its resampling and end-of-list quirk."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def resample(ori_len: int, target_len: int, rng: np.random.RandomState) -> np.ndarray:
    """`target_len` frame indices into a sequence of `ori_len` frames (published randomised resampling).

    Shorter sequences: evenly spaced positions, each rounded down or up at random, sorted. Longer ones:
    evenly spaced positions jittered within their interval. Clipped to [0, ori_len - 1].
    """
    even = np.linspace(0, ori_len, num=target_len, endpoint=False)
    if ori_len < target_len:
        low = np.floor(even)
        high = np.ceil(even)
        sel = rng.randint(2, size=even.shape)
        result = np.sort(sel * low + (1 - sel) * high)
    else:
        interval = even[1] - even[0]
        result = rng.random_sample(even.shape) * interval + even
    return np.clip(result, a_min=0, a_max=ori_len - 1).astype(np.uint32)


def split_clips(
    sources: Sequence[str] | np.ndarray, n_frames: int, stride: int, rng: np.random.RandomState
) -> list[np.ndarray]:
    """Frame indices of every clip of `n_frames` in the concatenated `sources` list.

    Within one sequence, windows start every `stride` frames and the tail is dropped; a sequence without
    a full window gives one resampled clip. As in the published walk, the check for a short sequence
    happens only at a sequence change, so a short sequence at the very end of the list gives no clip.
    """
    vid = list(sources)
    result: list[np.ndarray] = []
    st = 0
    i = 0
    saved: set = set()
    while i < len(vid):
        i += 1
        if i - st == n_frames:
            result.append(np.arange(st, i))
            saved.add(vid[i - 1])
            st = st + stride
        if i == len(vid):
            break
        if vid[i] != vid[i - 1]:
            if vid[i - 1] not in saved:
                result.append(resample(i - st, n_frames, rng).astype(np.int64) + st)
                saved.add(vid[i - 1])
            st = i
    return result


def published_split_ids(
    train_sources: np.ndarray,
    test_sources: np.ndarray,
    n_frames: int = 243,
    stride_train: int = 81,
    stride_test: int = 243,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(split_id_train, split_id_test) as (n_clips, n_frames) int64: numpy seeded `seed`, train first."""
    rng = np.random.RandomState(seed)
    out = []
    for sources, stride in ((train_sources, stride_train), (test_sources, stride_test)):
        clips = split_clips(sources, n_frames, stride, rng)
        out.append(np.stack(clips).astype(np.int64) if clips else np.zeros((0, n_frames), np.int64))
    return out[0], out[1]
