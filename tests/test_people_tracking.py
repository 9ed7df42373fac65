"""The torchvision shim, YOLO person detection (random weights: plumbing), ByteTrack, selection, gap filling."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from posemamba_cli.compat.torchvision_ops import ensure_torchvision, nms_reference
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.people import PersonTracker, Track, fill_gaps, select_tracks


def _greedy_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    """Textbook O(n^2) greedy NMS, independent of the implementation under test."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep, dead = [], set()
    for i in order:
        if i in dead:
            continue
        keep.append(i)
        for j in order:
            if j == i or j in dead:
                continue
            x1, y1 = max(boxes[i, 0], boxes[j, 0]), max(boxes[i, 1], boxes[j, 1])
            x2, y2 = min(boxes[i, 2], boxes[j, 2]), min(boxes[i, 3], boxes[j, 3])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
            if inter / (area(boxes[i]) + area(boxes[j]) - inter) > thr:
                dead.add(j)
    return keep


def test_torchvision_imports_and_nms_keeps_the_right_boxes() -> None:
    tv = ensure_torchvision()
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, size=(300, 2))
    wh = rng.uniform(5, 40, size=(300, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    scores = rng.permutation(300) / 300.0  # distinct scores: a unique answer
    for thr in (0.3, 0.5, 0.7):
        expected = _greedy_nms(boxes, scores, thr)
        got = tv.ops.nms(torch.tensor(boxes), torch.tensor(scores), thr)
        assert got.dtype == torch.long and got.tolist() == expected
        assert nms_reference(torch.tensor(boxes), torch.tensor(scores), thr).tolist() == expected
    b = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10.0]])
    s = torch.tensor([0.9, 0.8, 0.95])
    assert tv.ops.batched_nms(b, s, torch.tensor([0, 0, 1]), 0.5).tolist() == [2, 0]
    assert tv.ops.nms(torch.zeros((0, 4)), torch.zeros(0), 0.5).numel() == 0


def test_ultralytics_imports_offline() -> None:
    from posemamba_cli.people.offline import import_ultralytics

    ultralytics = import_ultralytics()
    import os

    from ultralytics.utils import ONLINE
    from ultralytics.utils.events import events

    assert os.environ["YOLO_OFFLINE"] and not ONLINE and not events.enabled  # no telemetry
    assert hasattr(ultralytics, "YOLO")


def test_yolo_from_yaml_on_bus_jpg() -> None:
    """Plumbing: a YOLO built from its yaml (random weights) runs on bus.jpg and returns person boxes."""
    import cv2

    from posemamba_cli.people import YoloPersonDetector

    detector = YoloPersonDetector("yolo11n.yaml", conf=0.0, imgsz=320)
    from ultralytics.utils import ASSETS

    image = cv2.imread(str(ASSETS / "bus.jpg"))
    torch.set_num_threads(2)
    try:
        boxes, scores = detector(image)
        assert torch.get_num_threads() == 2  # ultralytics' CPU predict resets it; the detector restores it
    finally:
        torch.set_num_threads(1)
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and scores.shape == (len(boxes),)
    assert len(boxes) > 0  # with threshold 0 an untrained head still proposes boxes
    h, w = image.shape[:2]
    assert (boxes[:, 0] >= -1).all() and (boxes[:, 2] <= w + 1).all() and (boxes[:, 3] <= h + 1).all()
    assert (boxes[:, 2] >= boxes[:, 0]).all() and ((scores >= 0) & (scores <= 1)).all()


def test_bus_jpg_through_hrnet(shared_dir, tmp_path) -> None:
    """bus.jpg with the fixture's person boxes through HRNet W32 (random weights rebuilt from the manifest)."""
    from posemamba_cli.pose2d import load_hrnet

    manifest = json.loads((shared_dir / "fixtures/hrnet/hrnet_w32_coco_256x192_manifest.json").read_text())
    keys = [(k, tuple(s)) for k, s in manifest["keys"]]
    bn = {k.rsplit(".", 1)[0] for k, _ in keys if k.endswith("running_mean")}
    g = torch.Generator().manual_seed(1234)
    state = {}
    for key, shape in keys:
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
            continue
        module, leaf = key.rsplit(".", 1)
        if module in bn:
            state[key] = {
                "weight": lambda: 1 + 0.1 * torch.randn(shape, generator=g),
                "bias": lambda: 0.1 * torch.randn(shape, generator=g),
                "running_mean": lambda: 0.1 * torch.randn(shape, generator=g),
                "running_var": lambda: 0.5 + torch.rand(shape, generator=g),
            }[leaf]()
        elif leaf == "weight":
            state[key] = torch.randn(shape, generator=g) * math.sqrt(0.5 / math.prod(shape[1:]))
        else:
            state[key] = 0.05 * torch.randn(shape, generator=g)
    io = torch.load(shared_dir / "fixtures/hrnet/hrnet_w32_coco_256x192_io.pt", weights_only=True)
    estimator = load_hrnet(state, input_size=(192, 256))
    import cv2

    from posemamba_cli.people.offline import import_ultralytics

    import_ultralytics()
    from ultralytics.utils import ASSETS

    image = cv2.imread(str(ASSETS / "bus.jpg"))
    boxes = np.asarray(io["bboxes_xyxy"], dtype=np.float64)
    keypoints, scores = estimator.predict(image, boxes)
    assert keypoints.shape == (3, 17, 2) and scores.shape == (3, 17)
    expected = np.asarray(io["keypoints"])
    close = np.linalg.norm(keypoints - expected, axis=-1) < 0.5
    assert close.mean() > 0.9  # random heatmaps have near-ties: almost all, not every one


def test_tracker_follows_two_people_through_a_gap() -> None:
    tracker = PersonTracker(fps=30)
    a0, b0 = np.array([10.0, 10, 50, 110]), np.array([200.0, 20, 260, 160])
    for t in range(20):
        boxes = [a0 + [2 * t, 0, 2 * t, 0]]
        if not 8 <= t < 11:  # b is missed for three frames
            boxes.append(b0 - [t, 0, t, 0])
        tracker.update(np.array(boxes), np.full(len(boxes), 0.9))
    assert len(tracker.tracks) == 2
    by_size = sorted(tracker.tracks.values(), key=lambda tr: tr.mean_area())
    small, large = by_size
    assert len(small.boxes) == 20 and len(large.boxes) == 17
    assert sorted(set(range(20)) - set(large.boxes)) == [8, 9, 10]
    np.testing.assert_allclose(small.boxes[5], a0 + [10, 0, 10, 0])  # the detector's box, not a smoothed one


def test_selection_main_all_and_nobody() -> None:
    big_short = Track(1, {t: np.array([0, 0, 100, 200.0]) for t in range(5)})
    small_long = Track(2, {t: np.array([0, 0, 50, 100.0]) for t in range(30)})
    medium_long = Track(3, {t: np.array([0, 0, 60, 120.0]) for t in range(25)})
    tracks = {1: big_short, 2: small_long, 3: medium_long}
    # summed area: 5*20000=100000, 30*5000=150000, 25*7200=180000
    assert [t.track_id for t in select_tracks(tracks, "main")] == [3]
    assert [t.track_id for t in select_tracks(tracks, "all")] == [3, 2, 1]
    with pytest.raises(PoseMambaError, match="nobody"):
        select_tracks({}, "main")
    with pytest.raises(PoseMambaError, match="main"):
        select_tracks(tracks, "everyone")


def test_fill_gaps_interpolates_and_holds_the_ends() -> None:
    v = np.arange(10, dtype=float)[:, None] * np.array([1.0, 2.0])
    present = np.ones(10, bool)
    present[[0, 1, 4, 5, 6, 9]] = False
    out = fill_gaps(np.where(present[:, None], v, 0), present)
    np.testing.assert_allclose(out[2:9], v[2:9])  # linear motion is recovered exactly inside
    np.testing.assert_allclose(out[:2], [v[2], v[2]])
    np.testing.assert_allclose(out[9], v[8])
