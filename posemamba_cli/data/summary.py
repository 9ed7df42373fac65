"""What a preprocessed Human3.6M file holds, per split: frames, sequences, subjects, actions, published clips."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from posemamba_cli.data.reader import read_h36m
from posemamba_cli.data.slicing import published_split_ids


@dataclass(frozen=True)
class SplitSummary:
    split: str
    frames: int
    sequences: int
    subjects: tuple[str, ...]
    actions: int
    clips: int  # clips the published slicing makes at the given clip length and strides


def summarize_h36m(path: str | os.PathLike, clip_len: int = 243, train_stride: int = 81,
                   test_stride: int = 243) -> list[SplitSummary]:
    """Validate `path` (a one-line PoseMambaError otherwise) and summarise its train and test splits."""
    data = read_h36m(path)
    ids = published_split_ids(data["train"]["source"], data["test"]["source"], clip_len, train_stride, test_stride)
    out = []
    for (name, split), clips in zip(data.splits.items(), ids):
        sources = np.unique(split["source"].astype(str))
        out.append(SplitSummary(name, len(split["source"]), len(sources), tuple(sorted({s[:4] for s in sources})),
                                len(np.unique(split["action"])), len(clips)))
    return out
