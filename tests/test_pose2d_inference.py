"""The 2D model's inference form (batch norms folded, channels-last) and the device-sized default choice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_pose2d_hrnet import FIXTURES, _assert_keypoints_close, bus_image, weights_from_manifest

from posemamba_cli.pose2d import load_hrnet
from posemamba_cli.pose2d.choice import CPU_DEFAULT, GPU_DEFAULT, choose_pose2d
from posemamba_cli.pose2d.inference import inference_hrnet


@pytest.fixture(scope="module")
def fixture_case(shared_dir: Path):
    folder = shared_dir / "fixtures" / "hrnet"
    manifest = json.loads((folder / f"{FIXTURES['plain']}_manifest.json").read_text())
    io = torch.load(folder / f"{FIXTURES['plain']}_io.pt", weights_only=True)
    return weights_from_manifest(manifest), io


def test_folded_network_gives_the_same_heatmaps_at_full_size(fixture_case) -> None:
    state, io = fixture_case
    plain = load_hrnet(state, input_size=(192, 256))
    folded = inference_hrnet(plain.model, "cpu")
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain.model.modules())
    assert n_bn > 100 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.inference_mode():
        inputs = io["model_inputs"]  # mmpose's own (3, 3, 256, 192) crops of bus.jpg
        expected, got = plain.model(inputs), folded(inputs)
    assert got.shape == expected.shape == (3, 17, 64, 48) and got.is_contiguous()
    torch.testing.assert_close(got, expected, atol=1e-4 * float(expected.abs().max()), rtol=1e-4)
    torch.testing.assert_close(got, io["heatmaps"], atol=1e-3 * float(expected.abs().max()), rtol=1e-3)


@pytest.mark.parametrize("flip_test", [True, False])
def test_folded_estimator_matches_mmpose_on_bus_image(fixture_case, flip_test: bool) -> None:
    state, io = fixture_case
    image = bus_image(io["image_sha256"])
    boxes = io["bboxes_xyxy"].numpy()
    folded = load_hrnet(state, input_size=(192, 256), fold=True, flip_test=flip_test)
    plain = load_hrnet(state, input_size=(192, 256), flip_test=flip_test)
    keypoints, scores = folded.predict(image, boxes)
    ref_k, ref_s = plain.predict(image, boxes)
    np.testing.assert_allclose(keypoints, ref_k, atol=1e-2)
    np.testing.assert_allclose(scores, ref_s, rtol=1e-4, atol=1e-4)
    if flip_test:  # the fixture is mmpose's flip-tested output
        _assert_keypoints_close(keypoints, scores, io)


def test_default_2d_model_is_sized_for_the_device() -> None:
    cpu = choose_pose2d("auto", "cpu")
    assert (cpu.name, cpu.flip_test, cpu.half, cpu.automatic) == (CPU_DEFAULT, False, False, True)
    gpu = choose_pose2d("auto", "cuda:1")
    assert (gpu.name, gpu.flip_test, gpu.half) == (GPU_DEFAULT, True, True)
    line = cpu.describe("cpu")
    assert "\n" not in line and CPU_DEFAULT in line and "without the flip test" in line and GPU_DEFAULT in line
    # overridable: a named model keeps the flip test; flags win over the defaults; no half on a CPU
    named = choose_pose2d("hrnet-w48-384x288", "cpu")
    assert (named.name, named.flip_test, named.automatic) == ("hrnet-w48-384x288", True, False)
    assert "default" not in named.describe("cpu")
    assert choose_pose2d("auto", "cpu", flip_test=True).flip_test
    assert not choose_pose2d("auto", "cuda", flip_test=False, half=False).half
    assert not choose_pose2d("x.pth", "cpu", half=True).half
