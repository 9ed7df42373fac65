"""Human3.6M-schema data: reading the preprocessed file, published clip slicing, datasets, synthetic data."""

from posemamba_cli.data.clips import ClipSet, load_clip_folder, load_clips
from posemamba_cli.data.dataset import ClipDataset
from posemamba_cli.data.normalize import denormalize_clips, normalize_2d, normalize_3d
from posemamba_cli.data.reader import H36MData, read_h36m
from posemamba_cli.data.slicing import published_split_ids, split_clips
from posemamba_cli.skeleton import flip_pose

__all__ = [
    "ClipDataset",
    "ClipSet",
    "H36MData",
    "denormalize_clips",
    "flip_pose",
    "load_clip_folder",
    "load_clips",
    "normalize_2d",
    "normalize_3d",
    "published_split_ids",
    "read_h36m",
    "split_clips",
]
