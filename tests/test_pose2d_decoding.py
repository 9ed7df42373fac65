"""Heatmap decoding and crop geometry on inputs whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from posemamba_cli.pose2d.decoding import decode_heatmaps, heatmap_maxima
from posemamba_cli.pose2d.transforms import bbox_xyxy_to_center_scale, crop_to_image, warp_matrix


def gaussian_maps(centers: list[tuple[float, float]], size=(48, 64), sigma=2.0) -> np.ndarray:
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2)) for x, y in centers])[None]


def test_dark_recovers_subpixel_peaks_and_plain_moves_a_quarter() -> None:
    truth = [(20.3, 30.7), (10.6, 12.2), (33.45, 50.8)]
    maps = gaussian_maps(truth)
    dark, scores = decode_heatmaps(maps, "dark")
    assert np.abs(dark[0] - np.array(truth)).max() < 0.1
    plain, _ = decode_heatmaps(maps, "plain")
    assert plain[0, 0].tolist() == [20.25, 30.75]  # argmax (20, 31) moved towards the higher neighbour
    assert scores.shape == (1, 3) and (scores > 0.8).all()


def test_non_positive_maximum_gives_minus_one() -> None:
    maps = -np.ones((1, 2, 64, 48), dtype=np.float32)
    maps[0, 1, 5, 7] = 2.0
    for method in ("plain", "dark"):
        points, scores = decode_heatmaps(maps, method)
        assert points[0, 0].tolist() == [-1.0, -1.0] and scores[0, 0] == -1.0
        assert scores[0, 1] == 2.0 and np.abs(points[0, 1] - [7, 5]).max() <= 0.5
    locs, _ = heatmap_maxima(np.zeros((3, 4, 5), np.float32))
    assert (locs == -1).all()


def test_unknown_decoding_is_refused() -> None:
    with pytest.raises(ValueError):
        decode_heatmaps(np.zeros((1, 17, 64, 48)), "udp")


def test_box_to_crop_and_back_round_trips() -> None:
    box = np.array([[100.0, 50.0, 200.0, 450.0]])  # tall box: width is padded to the 3:4 aspect ratio
    center, scale = bbox_xyxy_to_center_scale(box, (192, 256))
    np.testing.assert_allclose(center, [[150, 250]])
    np.testing.assert_allclose(scale, [[375, 500]])  # 400 * 1.25 = 500 tall, 500 * 0.75 wide
    m = warp_matrix(center[0], scale[0], (192, 256))
    corners = np.array([[10.0, 20.0], [96.0, 128.0], [180.0, 250.0]], dtype=np.float32)
    image_points = crop_to_image(corners[None], center, scale, (192, 256))[0]
    mapped = image_points @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(mapped, corners, atol=1e-3)
