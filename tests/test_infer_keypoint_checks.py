"""Every keypoint array `infer --keypoints` reads is checked in one place, whatever the file's format
(issue 20, item 3): refused (one line, exit 2, nothing written) or used with a warning as the README says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers.infer import run_cli

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.pipeline.tracks2d import Tracks2D
from posemamba_cli.video.synthetic import SyntheticClip

N_FRAMES, FPS = 24, 10.0  # one second = 10 frames: --people all keeps tracks seen in at least 10 frames


def two_people(clip: SyntheticClip) -> Tracks2D:
    """The clip's figure (every frame) and a second one shifted right, seen in frames 0..15."""
    kp = np.stack([clip.keypoints2d_coco, clip.keypoints2d_coco + [10.0, 0.0]]).astype(np.float64)
    detected = np.ones((2, N_FRAMES), bool)
    detected[1, 16:] = False
    return Tracks2D(kp, np.full((2, N_FRAMES, 17), 0.9), detected, np.array([1, 2]))


def our_npz(path: Path, clip: SyntheticClip, **changes: np.ndarray) -> Path:
    """Our own keypoints_2d.npz (as `infer` writes it) with some arrays replaced."""
    two_people(clip).save_npz(path, clip.width, clip.height, FPS)
    arrays = dict(np.load(path))
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


def infer_args(tmp_path: Path, clip: SyntheticClip, lifter: Path, keypoints: Path, *extra: str) -> list[str]:
    return [str(clip.path), "-o", str(tmp_path / "out"), "--keypoints", str(keypoints), "--lifter", str(lifter),
            "--device", "cpu", "--no-render", *extra]  # fmt: skip


def _people_kp(clip: SyntheticClip, value: float, where=(0, 5, 3, 0)) -> np.ndarray:
    kp = two_people(clip).keypoints.astype(np.float32)
    kp[where] = value
    return kp


BAD_NPZ = {
    "nan in people_keypoints": (lambda c: {"people_keypoints": _people_kp(c, np.nan)}, "must be finite"),
    "inf in people_keypoints": (lambda c: {"people_keypoints": _people_kp(c, np.inf)}, "must be finite"),
    "nan in people_scores": (lambda c: {"people_scores": np.full((2, N_FRAMES, 17), np.nan, np.float32)},
                             "people_scores must be finite"),
    "1e20 pixels": (lambda c: {"people_keypoints": _people_kp(c, 1e20)}, "not pixel coordinates"),
    "1e20 everywhere": (lambda c: {"people_keypoints": np.full((2, N_FRAMES, 17, 2), 1e20, np.float32),
                                   "keypoints": np.full((N_FRAMES, 17, 2), 1e20, np.float32)}, "not pixel coordinates"),
    "people_keypoints shape": (lambda c: {"people_keypoints": np.zeros((2, N_FRAMES, 15, 2), np.float32)},
                               r"people_keypoints must have shape \(people, frames, 17, 2\)"),
    "people_scores shape": (lambda c: {"people_scores": np.zeros((2, N_FRAMES, 15), np.float32)},
                            r"people_scores must have shape"),
    "people_detected shape": (lambda c: {"people_detected": np.ones((2, 3), bool)}, "people_detected must be"),
    "people_detected not bool": (lambda c: {"people_detected": np.ones((2, N_FRAMES))}, "people_detected must be"),
    "no people": (lambda c: {"people_keypoints": np.zeros((0, N_FRAMES, 17, 2), np.float32)}, "0 people"),
    "fractional track id": (lambda c: {"track_ids": np.array([1.5, 2.0])}, "whole numbers"),
    "text track id": (lambda c: {"track_ids": np.array(["a", "b"])}, "track_ids must be integers"),
    "track ids shape": (lambda c: {"track_ids": np.array([1, 2, 3])}, "track_ids must be 2 integers"),
    "equal track ids": (lambda c: {"track_ids": np.array([4, 4])}, "distinct"),
}


@pytest.mark.parametrize("case", list(BAD_NPZ))
def test_our_npz_with_bad_people_arrays_is_one_line(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, case) -> None:
    changes, message = BAD_NPZ[case]
    keypoints = our_npz(tmp_path / "k.npz", clip, **changes(clip))
    code, _, err = run_cli(monkeypatch, capsys, *infer_args(tmp_path, clip, lifter_ckpt, keypoints, "--people", "all"))
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert str(keypoints) in " ".join(err.split()) and re.search(message, lines[0]), err
    assert not (tmp_path / "out").exists()


def test_our_npz_lacking_some_people_arrays_is_refused(monkeypatch, capsys, tmp_path, clip, lifter_ckpt) -> None:
    keypoints = our_npz(tmp_path / "k.npz", clip)
    arrays = dict(np.load(keypoints))
    del arrays["people_scores"]
    np.savez(keypoints, **arrays)
    code, _, err = run_cli(monkeypatch, capsys, *infer_args(tmp_path, clip, lifter_ckpt, keypoints))
    assert code == 2 and "lacks people_scores" in err and "Traceback" not in err, err


def coco_json(path: Path, clip: SyntheticClip, score: float = 0.9, value: float | None = None,
              instance: float = 0.9) -> Path:  # fmt: skip
    entries = []
    for t, k in enumerate(clip.keypoints2d_coco):
        xyv = np.concatenate([k, np.full((17, 1), score)], 1)
        if value is not None and t == 3:
            xyv[5, 0] = value
        entries.append({"image_id": t, "category_id": 1, "keypoints": xyv.ravel().tolist(), "score": instance})
    path.write_text(json.dumps(entries))  # json writes NaN / Infinity literals, which Python's reader accepts
    return path


@pytest.mark.parametrize(("bad", "message"), [({"value": float("nan")}, "finite"), ({"value": float("inf")}, "finite"),
                                              ({"value": 1e20}, "not pixel coordinates"),
                                              ({"instance": float("nan")}, "non-finite 'score'")])  # fmt: skip
def test_json_with_bad_numbers_is_one_line(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, bad, message) -> None:
    keypoints = coco_json(tmp_path / "k.json", clip, **bad)
    code, _, err = run_cli(monkeypatch, capsys, *infer_args(tmp_path, clip, lifter_ckpt, keypoints))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_scores_outside_0_1_are_clipped_with_a_warning(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, fmt) -> None:
    if fmt == "npz":
        scores = np.full((2, N_FRAMES, 17), 0.9, np.float32)
        scores[0, :, 0], scores[0, :, 1] = 7.0, -3.0
        keypoints = our_npz(tmp_path / "k.npz", clip, people_scores=scores)
    else:
        keypoints = coco_json(tmp_path / "k.json", clip, score=1.7)
    code, _, err = run_cli(monkeypatch, capsys, *infer_args(tmp_path, clip, lifter_ckpt, keypoints))
    assert code == 0, err
    assert "warning:" in err and "clipped" in err and str(keypoints) in " ".join(err.split())
    folder = tmp_path / "out" / "walk_posemamba"
    with np.load(folder / "keypoints_2d.npz") as npz:
        assert 0.0 <= npz["scores"].min() and npz["scores"].max() <= 1.0  # as the README promises
    with np.load(folder / "pose3d.npz") as npz:
        assert 0.0 <= npz["scores_2d_h36m"].min() and npz["scores_2d_h36m"].max() <= 1.0


def test_keypoints_far_outside_the_frame_give_a_warning(monkeypatch, capsys, tmp_path, clip, lifter_ckpt) -> None:
    kp = two_people(clip).keypoints.astype(np.float32) + [5000.0, 0.0]  # not this 64x48 video's pixels
    keypoints = our_npz(tmp_path / "k.npz", clip, people_keypoints=kp)
    code, _, err = run_cli(monkeypatch, capsys, *infer_args(tmp_path, clip, lifter_ckpt, keypoints))
    text = " ".join(err.split())
    assert code == 0 and "far outside the 64x48 frame" in text and str(clip.path) in text, err
    assert not np.isnan(np.load(tmp_path / "out" / "walk_posemamba" / "pose3d.npz")["pose3d_world_mm"]).any()


def alphapose_with_fragments(path: Path, clip: SyntheticClip) -> Path:
    """Track 1 in every frame, track 2 in 12 frames (over a second), tracks 3 and 4 in 1 and 2 frames."""
    spans = {1: range(N_FRAMES), 2: range(12), 3: range(5, 6), 4: range(8, 10)}
    entries = []
    for tid, frames in spans.items():
        for t in frames:
            k = clip.keypoints2d_coco[t] * (1.0 if tid == 1 else 0.5)  # the main person is the largest
            xyv = np.concatenate([k, np.full((17, 1), 0.9)], 1)
            entries.append({"image_id": t, "category_id": 1, "keypoints": xyv.ravel().tolist(), "score": 0.9,
                            "idx": tid, "box": [0, 0, 1, 1]})  # fmt: skip
    path.write_text(json.dumps(entries))
    return path


@pytest.mark.parametrize(("extra", "ids"), [([], [1, 2]), (["--keep-fragments"], [1, 2, 3, 4])])
def test_people_all_drops_keypoint_file_fragments(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, extra, ids):
    keypoints = alphapose_with_fragments(tmp_path / "alphapose-results.json", clip)
    args = infer_args(tmp_path, clip, lifter_ckpt, keypoints, "--people", "all", *extra)
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    with np.load(tmp_path / "out" / "walk_posemamba" / "pose3d.npz") as npz:
        assert sorted(npz["track_ids"].tolist()) == ids and int(npz["track_ids"][0]) == 1  # main first


def test_tracks_given_from_python_are_checked_too(tmp_path, clip) -> None:
    from posemamba_cli.pipeline import infer_video

    tracks = two_people(clip)
    tracks.keypoints[1, 4, 2, 1] = np.nan

    def lifter(x):  # never reached
        raise AssertionError("lifted NaN keypoints")

    with pytest.raises(PoseMambaError, match="finite"):
        infer_video(clip.path, tmp_path, lifter, keypoints=tracks)
    assert list(tmp_path.iterdir()) == []
