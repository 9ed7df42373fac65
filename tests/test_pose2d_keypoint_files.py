"""Reading COCO results, AlphaPose/Halpe JSON and our npz into one structure; clear errors otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.pose2d import read_keypoint_file, write_keypoints_npz


def person(frame: int, joints: int = 17, offset: float = 0.0) -> list[float]:
    """Joint j of this frame at (10 j + frame + offset, 100 + j), confidence 0.5 + j / 100."""
    values = []
    for j in range(joints):
        values += [10.0 * j + frame + offset, 100.0 + j, 0.5 + j / 100]
    return values


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_coco_results(tmp_path: Path) -> None:
    data = [
        {"image_id": 3, "category_id": 1, "keypoints": person(3), "score": 0.9},
        {"image_id": 1, "category_id": 1, "keypoints": person(1), "score": 0.8},
        {"image_id": 1, "category_id": 1, "keypoints": person(1, offset=500), "score": 0.95},
        {"image_id": 2, "category_id": 2, "keypoints": person(2), "score": 1.0},  # not a person: ignored
    ]
    tracks = read_keypoint_file(write_json(tmp_path / "coco.json", data))
    assert tracks.source_format == "coco" and tracks.layout == "COCO-17"
    assert tracks.frame_indices.tolist() == [1, 3] and len(tracks.frames[1]) == 2
    series = tracks.select()
    assert series.frame_indices.tolist() == [1, 3]
    assert series.keypoints.shape == (2, 17, 2) and series.scores.shape == (2, 17)
    assert series.keypoints[0, 0, 0] == 501.0  # the more confident of the two people in frame 1
    assert series.keypoints[1, 16].tolist() == [163.0, 116.0]
    np.testing.assert_allclose(series.scores[1, [0, 16]], [0.5, 0.66])


def test_alphapose_halpe26_tracks(tmp_path: Path) -> None:
    data = []
    for frame in range(4):
        data.append({"image_id": f"{frame}.jpg", "category_id": 1, "keypoints": person(frame, 26), "score": 2.5,
                     "box": [0, 0, 10, 10], "idx": 1})
        if frame < 2:
            data.append({"image_id": f"{frame}.jpg", "category_id": 1, "keypoints": person(frame, 26, 300),
                         "score": 3.0, "box": [0, 0, 10, 10], "idx": [2]})
    tracks = read_keypoint_file(write_json(tmp_path / "alphapose-results.json", data))
    assert tracks.source_format == "alphapose" and tracks.layout == "Halpe-26"
    assert tracks.track_ids == [1, 2] and tracks.main_track_id() == 1
    main = tracks.select()
    assert main.track_id == 1 and main.frame_indices.tolist() == [0, 1, 2, 3]
    assert main.keypoints[2, 1].tolist() == [12.0, 101.0]  # COCO-17 subset of the 26 Halpe joints
    other = tracks.select(track_id=2)
    assert other.frame_indices.tolist() == [0, 1] and other.keypoints[0, 0, 0] == 300.0
    with pytest.raises(PoseMambaError, match="track id 7"):
        tracks.select(track_id=7)


def test_string_image_ids_without_numbers_keep_file_order(tmp_path: Path) -> None:
    data = [{"image_id": name, "keypoints": person(0)} for name in ("b.png", "a.png", "b.png")]
    tracks = read_keypoint_file(write_json(tmp_path / "k.json", data))
    assert tracks.frame_indices.tolist() == [0, 1] and len(tracks.frames[0]) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON at line 1"),
        ('{"annotations": []}', "expected a JSON list"),
        ("[]", "no person keypoints"),
        ('[3]', "entry 0 is not a JSON object"),
        ('[{"image_id": 0}]', "no 'keypoints' list"),
        ('[{"keypoints": [1, 2, 3]}]', "no 'image_id'"),
        ('[{"image_id": 0, "keypoints": [1, 2, 3, 4]}]', "4 keypoint values"),
        ('[{"image_id": 0, "keypoints": [1, 2, 3]}]', "3 keypoint values"),
        ('[{"image_id": 0, "keypoints": ' + json.dumps(["x"] * 51) + "}]", "non-numeric"),
        ('[{"image_id": 0.5, "keypoints": ' + json.dumps([1] * 51) + "}]", "non-integer image_id"),
    ],
)
def test_malformed_json_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PoseMambaError, match=message):
        read_keypoint_file(path)


def test_npz_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 640, (5, 17, 2)).astype(np.float32)
    scores = rng.uniform(0, 1, (5, 17)).astype(np.float32)
    path = write_keypoints_npz(tmp_path / "out" / "k.npz", keypoints, scores, np.array([0, 1, 2, 4, 9]), (640, 480))
    assert [p.name for p in path.parent.iterdir()] == ["k.npz"]  # nothing temporary left behind
    tracks = read_keypoint_file(path)
    assert tracks.source_format == "npz" and tracks.image_size == (640, 480)
    series = tracks.select()
    assert series.frame_indices.tolist() == [0, 1, 2, 4, 9]
    np.testing.assert_array_equal(series.keypoints, keypoints)
    np.testing.assert_array_equal(series.scores, scores)
    np.savez(tmp_path / "minimal.npz", keypoints=keypoints, scores=scores)
    assert read_keypoint_file(tmp_path / "minimal.npz").frame_indices.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"keypoints": np.zeros((3, 17, 2))}, "lacks scores"),
        ({"keypoints": np.zeros((3, 17, 3)), "scores": np.zeros((3, 17))}, r"shape \(frames, 17, 2\)"),
        ({"keypoints": np.zeros((3, 17, 2)), "scores": np.zeros((2, 17))}, r"scores must have shape \(3, 17\)"),
        ({"keypoints": np.zeros((0, 17, 2)), "scores": np.zeros((0, 17))}, "zero frames"),
        ({"keypoints": np.full((1, 17, 2), np.nan), "scores": np.zeros((1, 17))}, "finite"),
        ({"keypoints": np.zeros((2, 17, 2)), "scores": np.zeros((2, 17)), "frame_indices": np.array([3, 3])},
         "strictly increasing"),
        ({"keypoints": np.zeros((2, 17, 2)), "scores": np.zeros((2, 17)), "image_size": np.array([0, 480])},
         "image_size"),
        ({"keypoints": np.array([None] * 34, dtype=object).reshape(1, 17, 2), "scores": np.zeros((1, 17))},
         "object arrays"),
    ],
)
def test_malformed_npz_is_one_clear_error(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(PoseMambaError, match=message):
        read_keypoint_file(path)


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(PoseMambaError, match="not found"):
        read_keypoint_file(tmp_path / "absent.json")
    (tmp_path / "k.csv").write_text("1,2")
    with pytest.raises(PoseMambaError, match="unknown keypoint file type"):
        read_keypoint_file(tmp_path / "k.csv")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(PoseMambaError, match="npz"):
        read_keypoint_file(tmp_path / "broken.npz")
