"""The detector, tracker and --keypoints paths on real detections (YOLO11n-pose) of a clip made from the
photos ultralytics ships (zidane.jpg: two people); one main-person rule across input paths (issue 11 b)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posemamba_cli.pipeline import InferConfig, infer_video, load_keypoints
from posemamba_cli.video import VideoWriter, probe_video, read_frames

N_FRAMES = 8
WIDTH, HEIGHT = 320, 192
IMGSZ = 320


@pytest.fixture(scope="module")
def photo_clip(tmp_path_factory) -> Path:
    """A slow pan over zidane.jpg (two people), written as an H.264 mp4."""
    from ultralytics.utils import ASSETS

    photo = cv2.imread(str(ASSETS / "zidane.jpg"))
    assert photo is not None
    path = tmp_path_factory.mktemp("photo") / "zidane.mp4"
    scale = (WIDTH + 4 * N_FRAMES) / photo.shape[1]
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    top = (big.shape[0] - HEIGHT) // 2
    with VideoWriter(path, WIDTH, HEIGHT, 25.0, crf=18) as writer:
        for t in range(N_FRAMES):
            writer.write(np.ascontiguousarray(big[top : top + HEIGHT, 4 * t : 4 * t + WIDTH]))
    return path


@pytest.fixture(scope="module")
def yolo(yolo_pose_weights: Path):
    from posemamba_cli.people import YoloPersonDetector

    return YoloPersonDetector(yolo_pose_weights, conf=0.3, imgsz=IMGSZ)


class YoloKeypoints:
    """The 2D stage from the same real model: the COCO-17 keypoints of the detection best matching each box."""

    def __init__(self, detector) -> None:
        self.detector = detector

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = self.detector._predict(image)
        found = result.boxes.xyxy.cpu().numpy()
        kp = result.keypoints.xy.cpu().numpy()
        conf = result.keypoints.conf.cpu().numpy()
        out_k, out_s = [], []
        for box in np.asarray(boxes).reshape(-1, 4):
            best = int(np.argmin(np.abs(found - box).sum(1)))
            out_k.append(kp[best])
            out_s.append(conf[best])
        return np.array(out_k), np.array(out_s)


class StandInLifter:
    num_frame = 27

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * x[..., :1]], -1)


def test_detector_tracker_and_keypoints_paths_agree(photo_clip, yolo, tmp_path) -> None:
    n = probe_video(photo_clip).n_frames
    assert n == N_FRAMES
    boxes, scores = yolo(next(iter(read_frames(photo_clip))))
    assert len(boxes) >= 2 and (scores >= 0.3).all()  # real people found in the real photo

    config = InferConfig(people="all", flip=False, render=False, keep_fragments=True)
    every = infer_video(photo_clip, tmp_path / "all", StandInLifter(), yolo, YoloKeypoints(yolo), config=config)
    assert every.n_people >= 2 and every.n_frames == N_FRAMES
    with np.load(every.output_dir / "keypoints_2d.npz") as npz:
        people_kp, people_det, ids = npz["people_keypoints"], npz["people_detected"], npz["track_ids"]
        assert int(npz["main_person"]) == 0 and npz["keypoints"].shape == (N_FRAMES, 17, 2)
    assert people_det.all(axis=1).sum() >= 2  # both people tracked through every frame

    main = infer_video(photo_clip, tmp_path / "main", StandInLifter(), yolo, YoloKeypoints(yolo),
                       config=InferConfig(flip=False, render=False))  # fmt: skip
    main_id = int(np.load(main.output_dir / "pose3d.npz")["track_ids"][0])
    assert main_id == int(ids[0])  # "main" is the first of "all"

    # the same real detections as an AlphaPose JSON with track ids: --keypoints picks the same main person
    entries = []
    for p, tid in enumerate(ids):
        for t in np.flatnonzero(people_det[p]):
            xyv = np.concatenate([people_kp[p, t], np.full((17, 1), 0.9)], 1)
            entries.append({"image_id": int(t), "category_id": 1, "keypoints": xyv.ravel().tolist(), "score": 0.9,
                            "idx": int(tid)})  # fmt: skip
    alphapose = tmp_path / "alphapose.json"
    alphapose.write_text(json.dumps(entries[::-1]))  # file order must not matter
    tracks = load_keypoints(alphapose, N_FRAMES, "main", (WIDTH, HEIGHT))
    assert tracks.track_ids.tolist() == [main_id]
    from_file = infer_video(photo_clip, tmp_path / "kp", StandInLifter(), keypoints=lambda info: load_keypoints(
        alphapose, info.n_frames, "all", (info.width, info.height)), config=InferConfig(flip=False, render=False))
    assert int(np.load(from_file.output_dir / "pose3d.npz")["track_ids"][0]) == main_id
    # and our own keypoints_2d.npz read back with --keypoints: same main person, same rows
    again = load_keypoints(every.output_dir / "keypoints_2d.npz", N_FRAMES, "main")
    assert again.track_ids.tolist() == [main_id]
    np.testing.assert_allclose(again.keypoints[0], people_kp[0], atol=1e-4)
