"""HRNet parity with mmpose 1.3.2 (../shared/fixtures/hrnet): crops, heatmaps, flip test, plain and DARK."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from posemamba_cli.pose2d import TopDownHRNet, hrnet_state_shapes, load_hrnet
from posemamba_cli.pose2d.decoding import flip_back_heatmaps
from posemamba_cli.pose2d.estimator import Crops, HRNetEstimator
from posemamba_cli.pose2d.transforms import bbox_xyxy_to_center_scale

FIXTURES = {"plain": "hrnet_w32_coco_256x192", "dark": "hrnet_w32_dark_coco_256x192"}


def weights_from_manifest(manifest: dict) -> dict[str, torch.Tensor]:
    """The fixture's random weights, regenerated bit-exactly as its README describes."""
    keys = [key for key, _ in manifest["keys"]]
    batchnorms = {key.rsplit(".", 1)[0] for key in keys if key.endswith("running_mean")}
    g = torch.Generator().manual_seed(1234)
    state = {}
    for key, shape in manifest["keys"]:
        if key.endswith("num_batches_tracked"):
            continue
        module, leaf = key.rsplit(".", 1)
        if module in batchnorms:
            if leaf == "weight":
                state[key] = 1 + 0.1 * torch.randn(shape, generator=g)
            elif leaf == "bias":
                state[key] = 0.1 * torch.randn(shape, generator=g)
            elif leaf == "running_mean":
                state[key] = 0.1 * torch.randn(shape, generator=g)
            else:
                state[key] = 0.5 + torch.rand(shape, generator=g)
        elif leaf == "weight":
            state[key] = torch.randn(shape, generator=g) * math.sqrt(0.5 / math.prod(shape[1:]))
        else:
            state[key] = 0.05 * torch.randn(shape, generator=g)
    return state


@pytest.fixture(scope="module", params=sorted(FIXTURES))
def case(request, shared_dir: Path):
    decoding = request.param
    folder = shared_dir / "fixtures" / "hrnet"
    manifest = json.loads((folder / f"{FIXTURES[decoding]}_manifest.json").read_text())
    io = torch.load(folder / f"{FIXTURES[decoding]}_io.pt", weights_only=True)
    estimator = load_hrnet(weights_from_manifest(manifest), input_size=(192, 256), decoding=decoding)
    return decoding, manifest, io, estimator


def bus_image(expected_sha256: str) -> np.ndarray:
    """bus.jpg from the installed ultralytics package (without importing it), checked against the fixture."""
    import cv2

    spec = importlib.util.find_spec("ultralytics")
    if spec is None or spec.origin is None:
        pytest.skip("ultralytics is not installed, so bus.jpg is unavailable")
    path = Path(spec.origin).parent / "assets" / "bus.jpg"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    if hashlib.sha256(path.read_bytes()).hexdigest() != expected_sha256:
        pytest.skip("this ultralytics ships a different bus.jpg than the fixture was made from")
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def test_state_dict_layout_matches_mmpose_manifests(case) -> None:
    _, manifest, _, _ = case
    ours = [(key, list(shape)) for key, shape in hrnet_state_shapes(32).items()]
    assert ours == [(key, list(shape)) for key, shape in manifest["keys"]]


def test_w48_layout() -> None:
    shapes = hrnet_state_shapes(48)
    assert len(shapes) == 1754
    assert shapes["head.final_layer.weight"] == (17, 48, 1, 1)
    assert shapes["backbone.transition3.3.0.0.weight"] == (384, 192, 3, 3)
    assert shapes["backbone.stage4.2.fuse_layers.0.3.0.weight"] == (48, 384, 1, 1)
    assert "backbone.stage4.2.fuse_layers.1.0.0.0.weight" not in shapes  # last module keeps one output
    model = TopDownHRNet(48).eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, 384, 288)).shape == (1, 17, 96, 72)


def test_heatmaps_match_mmpose(case) -> None:
    _, _, io, estimator = case
    with torch.inference_mode():
        for inputs, expected in (
            (io["model_inputs"], io["heatmaps"]),
            (io["model_inputs_flipped"], io["heatmaps_flipped_input"]),
        ):
            got = estimator.model(inputs)
            assert got.shape == expected.shape
            assert (got - expected).abs().max() <= 1e-4 * expected.abs().max()


def _assert_keypoints_close(keypoints, scores, io) -> None:
    distance = np.linalg.norm(keypoints - io["keypoints"].numpy(), axis=-1)
    assert (distance <= 0.5).mean() >= 0.95, f"{(distance > 0.5).sum()} keypoints off by > 0.5 px"
    np.testing.assert_allclose(scores, io["scores"].numpy(), rtol=1e-3, atol=1e-3)


def test_flip_test_and_decoding_match_mmpose(case) -> None:
    """From mmpose's own crops: flip back with shift, average, decode, map to image pixels."""
    _, _, io, estimator = case
    boxes = io["bboxes_xyxy"].numpy()
    centers, scales = bbox_xyxy_to_center_scale(boxes, estimator.input_size)
    heatmaps = estimator.heatmaps(io["model_inputs"])
    keypoints, scores = estimator.decode(heatmaps, Crops(io["model_inputs"], centers, scales))
    _assert_keypoints_close(keypoints, scores, io)
    # keypoints whose heatmap maximum is <= 0 are reported where (-1, -1) in the heatmap maps to
    bad = scores <= 0
    assert bad.any()  # random weights give some, so this branch is exercised
    corner = (np.float32(-4.0) / np.array(estimator.input_size, np.float32)) * scales + centers - 0.5 * scales
    np.testing.assert_allclose(keypoints[bad], np.broadcast_to(corner[:, None], keypoints.shape)[bad], atol=1e-3)


def test_predict_on_bus_image_matches_mmpose(case) -> None:
    _, _, io, estimator = case
    image = bus_image(io["image_sha256"])
    crops = estimator.prepare(image, io["bboxes_xyxy"].numpy())
    torch.testing.assert_close(crops.inputs, io["model_inputs"], atol=1e-5, rtol=0)
    torch.testing.assert_close(crops.inputs.flip(-1), io["model_inputs_flipped"], atol=1e-5, rtol=0)
    keypoints, scores = estimator.predict(image, io["bboxes_xyxy"].numpy())
    assert keypoints.shape == (3, 17, 2) and scores.shape == (3, 17)
    _assert_keypoints_close(keypoints, scores, io)


def test_batched_frames_give_the_same_result(case) -> None:
    decoding, _, io, estimator = case
    if decoding != "plain":
        pytest.skip("batching does not depend on the decoding")
    image = bus_image(io["image_sha256"])
    boxes = io["bboxes_xyxy"].numpy()
    single, _ = estimator.predict(image, boxes[:1])
    many = estimator.predict_many([image, image], [boxes[:1], boxes[1:]])
    np.testing.assert_allclose(many[0][0], single, atol=1e-3)
    assert many[1][0].shape == (2, 17, 2)
    empty_k, empty_s = estimator.predict(image, np.zeros((0, 4)))
    assert empty_k.shape == (0, 17, 2) and empty_s.shape == (0, 17)


def test_flip_back_mirrors_swaps_and_shifts() -> None:
    maps = torch.zeros(1, 17, 4, 6)
    maps[0, 1, 2, 0] = 1.0  # left eye at column 0 of the flipped crop
    back = flip_back_heatmaps(maps)
    # mirrored to column 5, moved to the right eye, shifted one column right (clipped at the edge)
    assert back[0, 2].nonzero().tolist() == []
    maps = torch.zeros(1, 17, 4, 6)
    maps[0, 1, 2, 3] = 1.0
    back = flip_back_heatmaps(maps)
    assert back[0, 2].nonzero().tolist() == [[2, 3]]  # 6-1-3 = 2, shifted to 3
    assert back[0, 1].abs().sum() == 0


@pytest.mark.gpu
def test_cuda_estimator_matches_mmpose(case) -> None:
    """The same parity on a CUDA device; then TF32 and float16 runs stay close to the CPU."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    decoding, _, io, cpu_estimator = case
    model = TopDownHRNet(32)
    model.load_state_dict(cpu_estimator.model.state_dict())
    estimator = HRNetEstimator(model, (192, 256), decoding, device="cuda")
    boxes = io["bboxes_xyxy"].numpy()
    centers, scales = bbox_xyxy_to_center_scale(boxes, estimator.input_size)
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # full float32 convolutions for the parity check
    try:
        heatmaps = estimator.heatmaps(io["model_inputs"])
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    assert heatmaps.device.type == "cpu"
    keypoints, scores = estimator.decode(heatmaps, Crops(io["model_inputs"], centers, scales))
    _assert_keypoints_close(keypoints, scores, io)
    image = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    (gpu_k, gpu_s), = estimator.predict_many([image], [boxes[:2] * 0.5])
    cpu_k, cpu_s = cpu_estimator.predict(image, boxes[:2] * 0.5)
    assert (np.linalg.norm(gpu_k - cpu_k, axis=-1) <= 0.5).mean() >= 0.9
    np.testing.assert_allclose(gpu_s, cpu_s, rtol=2e-2, atol=2e-2)
    half = HRNetEstimator(model, (192, 256), decoding, device="cuda", half=True)
    half_k, half_s = half.predict(image, boxes[:2] * 0.5)
    assert (np.linalg.norm(half_k - cpu_k, axis=-1) <= 0.5).mean() >= 0.8
