"""COCO->H36M conversion, normalisation, windows and blending, flip averaging, world frame, the numeric chain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posemamba_cli.lift import (
    blend_weights,
    camera_to_world,
    coco_to_h36m,
    denormalize_screen,
    lift_sequence,
    normalize_screen,
    quaternion_rotate,
    window_starts,
)
from posemamba_cli.lift.track import lift_track
from posemamba_cli.lift.world import WORLD_QUATERNION, metric_scale
from posemamba_cli.skeleton import H36M_BONES
from posemamba_cli.skeleton import flip_pose as flip_h36m
from posemamba_cli.video.synthetic import body_motion, coco_from_h36m


def test_coco_to_h36m_matches_the_published_rules() -> None:
    k = np.zeros((17, 2))
    k[0] = [50, 20]  # nose
    k[1], k[2], k[3], k[4] = [45, 16], [55, 16], [40, 18], [60, 18]  # eyes, ears
    k[5], k[6] = [70, 40], [30, 40]  # shoulders (left is image-right)
    k[7], k[8], k[9], k[10] = [75, 60], [25, 60], [78, 80], [22, 80]
    k[11], k[12] = [62, 90], [38, 90]  # hips
    k[13], k[14], k[15], k[16] = [63, 120], [37, 120], [64, 150], [36, 150]
    s = np.full(17, 0.9)
    s[16] = 0.1  # right ankle unsure -> takes the right knee
    h, hs = coco_to_h36m(k, s)
    np.testing.assert_allclose(h[10], [50, 16 + 16 - 20])  # head
    shoulders = np.array([50, 40.0])
    thorax = shoulders + (k[0] - shoulders) / 3
    thorax[1] -= (16 - 20) * 2 / 3
    np.testing.assert_allclose(h[8], thorax)
    np.testing.assert_allclose(h[0], [50, 90])
    spine = np.array([50, 65.0])
    spine[0] += 2 * (spine[0] - (50 + thorax[0]) / 2)
    np.testing.assert_allclose(h[7], spine)
    np.testing.assert_allclose(h[9], k[0] + (shoulders - k[0]) / 4)
    np.testing.assert_allclose(h[[1, 2, 4, 5, 6]], k[[12, 14, 11, 13, 15]])
    np.testing.assert_allclose(h[3], k[14])  # low-confidence ankle collapsed onto the knee
    np.testing.assert_allclose(h[[11, 12, 13, 14, 15, 16]], k[[5, 7, 9, 6, 8, 10]])
    np.testing.assert_allclose(hs[[0, 8, 7, 10]], [0.9, 0.9, 0.9, 0.9])
    assert hs[3] == pytest.approx(0.1) and hs[9] == pytest.approx(0.9)
    s2 = s.copy()
    s2[13] = 0.2  # left knee unsure -> left knee and ankle take the left hip
    h2, _ = coco_to_h36m(k, s2)
    np.testing.assert_allclose(h2[[5, 6]], [k[11], k[11]])
    hb, _ = coco_to_h36m(np.stack([k, k + 1]), np.stack([s, s]))  # batched frames
    np.testing.assert_allclose(hb[1], h + 1)


def test_normalisation_formula_and_inverse() -> None:
    w, h = 1000, 1002
    p = np.array([[0.0, 0.0, 10.0], [1000.0, 1002.0, -50.0]])
    n = normalize_screen(p, w, h)
    np.testing.assert_allclose(n[0], [-1, -h / w, 0.02])
    np.testing.assert_allclose(n[1], [1, h / w, -0.1])
    np.testing.assert_allclose(denormalize_screen(n, w, h), p)


@pytest.mark.parametrize("n", [1, 2, 26, 27, 28, 54, 81, 100, 243, 486])
def test_windows_cover_every_frame(n: int) -> None:
    starts = window_starts(n, 27, 9)
    assert starts[0] == 0
    assert starts[-1] == max(0, n - 27)
    covered = np.zeros(n, int)
    for s in starts:
        covered[s : s + 27] += 1
    assert (covered > 0).all()
    assert all(b - a <= 27 - 9 for a, b in zip(starts, starts[1:]))  # overlap kept
    assert (blend_weights(27, 9) > 0).all()


class PerFrameLifter:
    """A stand-in lifter with a known per-frame function: (x, y) -> (x, y, 0.5 x + 0.25 y^2)."""

    num_frame = 27

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * x[..., :1] + 0.25 * x[..., 1:] ** 2], -1)


@pytest.mark.parametrize("n", [1, 5, 27, 54, 81, 100])
def test_blending_equals_one_long_window(n: int) -> None:
    x = np.random.default_rng(n).normal(size=(n, 17, 2))
    lifter = PerFrameLifter()
    blended = lift_sequence(lifter, x, 27, flip=False, batch_size=3)
    single = lift_sequence(lifter, x, max(n, 27), flip=False)
    np.testing.assert_allclose(blended, single, atol=1e-6)
    expected = lifter(torch.from_numpy(x).float()).numpy()
    np.testing.assert_allclose(blended, expected - expected[:, :1], atol=1e-5)
    assert blended.shape == (n, 17, 3) and np.all(blended[:, 0] == 0)


def test_window_edges_blend_smoothly() -> None:
    """A lifter whose output differs per window (window k says depth k) gives ramps, not jumps, between windows."""
    seen = [0]

    def window_lifter(x: torch.Tensor) -> torch.Tensor:
        k = torch.arange(seen[0], seen[0] + x.shape[0], dtype=torch.float32)
        seen[0] += x.shape[0]
        out = torch.zeros(x.shape[:-1] + (3,))
        out[:, :, 1:, 2] = k[:, None, None]
        return out

    z = lift_sequence(window_lifter, np.zeros((200, 17, 2)), 27, overlap=9, flip=False, batch_size=4)[:, 5, 2]
    n_windows = len(window_starts(200, 27, 9))
    assert z[0] == 0 and z[-1] == pytest.approx(n_windows - 1)  # each end comes from its own window only
    assert np.abs(np.diff(z)).max() <= 1 / 9 + 1e-9  # a jump of 1 spread over the 9-frame overlap


def test_flip_averaging_is_left_right_equivariant() -> None:
    """With flip averaging, lifting the mirrored input gives exactly the mirrored output, for any model."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(2), torch.nn.Linear(34, 51), torch.nn.Unflatten(2, (17, 3)))
    x = np.random.default_rng(1).normal(size=(40, 17, 2))
    y = lift_sequence(net, x, 27)
    y_mirror = lift_sequence(net, flip_h36m(torch.from_numpy(x)).numpy(), 27)
    np.testing.assert_allclose(flip_h36m(torch.from_numpy(y)).numpy(), y_mirror, atol=1e-5)
    assert not np.allclose(lift_sequence(net, x, 27, flip=False), y, atol=1e-3)  # flip changes the result


def test_world_frame_rotation_and_ground() -> None:
    q = WORLD_QUATERNION / np.linalg.norm(WORLD_QUATERNION)
    w, x, y, z = q
    r = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip
    v = np.random.default_rng(2).normal(size=(5, 17, 3))
    np.testing.assert_allclose(quaternion_rotate(q, v), v @ r.T, atol=1e-12)
    world = camera_to_world(v)
    assert np.allclose(world[..., 2].min(-1), 0)
    bones = np.array(H36M_BONES)
    length = lambda p: np.linalg.norm(p[..., bones[:, 0], :] - p[..., bones[:, 1], :], axis=-1)  # noqa: E731
    np.testing.assert_allclose(length(world), length(v), rtol=2e-4)  # a rotation (quaternion norm 0.99995)
    # the published frame puts a standing person's head above the feet (camera y down -> world z up)
    standing, _ = body_motion(1)
    standing = standing * np.array([1.0, 1, 1])
    up = camera_to_world(standing - standing[:, :1])
    assert up[0, 10, 2] > up[0, 3, 2] + 1000


class OracleLifter:
    """A stand-in that knows the clip: it recognises each input frame (or its mirror image) by its 2D pose
    and returns that frame's true normalised 3D (mirrored back when the input was mirrored)."""

    def __init__(self, gt2d: np.ndarray, gt3d: np.ndarray, num_frame: int) -> None:
        self.gt2d, self.gt3d, self.num_frame = torch.tensor(gt2d), torch.tensor(gt3d), num_frame
        self.flip2d, self.flip3d = flip_h36m(self.gt2d), flip_h36m(self.gt3d)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.double()
        d = ((x[:, :, None] - self.gt2d[None, None]) ** 2).sum((-1, -2))  # (B, L, T)
        df = ((x[:, :, None] - self.flip2d[None, None]) ** 2).sum((-1, -2))
        i, fi = d.argmin(-1), df.argmin(-1)
        mirrored = (df.min(-1).values < d.min(-1).values)[..., None, None]
        return torch.where(mirrored, self.flip3d[fi], self.gt3d[i]).float()


@pytest.mark.parametrize("n, num_frame", [(60, 27), (54, 27), (1, 27), (20, 27)])
def test_known_3d_comes_back_through_the_chain(n: int, num_frame: int) -> None:
    """A clip with known 3D: COCO 2D -> H36M -> normalise -> windows (+flip) -> lift -> denormalise = truth."""
    width, height = 640, 480
    h36m_mm, face_mm = body_motion(n)
    scale = 0.1  # pixels per mm of an orthographic camera
    gt_px = h36m_mm * scale + np.array([width / 2, height / 2, 0])  # x, y pixels; z in pixel units
    coco_2d = coco_from_h36m(gt_px[..., :2], face_mm[..., :2] * scale + np.array([width / 2, height / 2]))
    scores = np.ones((n, 17))
    k2d, _ = coco_to_h36m(coco_2d, scores)
    gt3d = np.concatenate([k2d, gt_px[..., 2:]], -1)  # the lifter's target: converted 2D plus true depth
    gt3d_norm = normalize_screen(gt3d, width, height)
    gt3d_norm = gt3d_norm - gt3d_norm[:, :1]
    lifter = OracleLifter(normalize_screen(k2d, width, height), gt3d_norm, num_frame)
    pose = lift_track(lifter, coco_2d, scores, width, height, num_frame, flip=True, batch_size=2)
    expected = gt3d - gt3d[:, :1]
    np.testing.assert_allclose(pose.camera_px, expected, atol=2e-3)
    np.testing.assert_allclose(pose.keypoints_2d_h36m, k2d)
    assert pose.mm_per_px == pytest.approx(metric_scale(expected))
    np.testing.assert_allclose(pose.camera_mm, pose.camera_px * pose.mm_per_px, rtol=1e-12)
    assert np.allclose(pose.world_mm[..., 2].min(-1), 0)


def test_real_lifter_any_length_and_equivariance(shared_dir) -> None:
    ckpt = shared_dir / "fixtures/posemamba/tiny_checkpoint.pth"
    from posemamba_cli import load_lifter

    model = load_lifter(ckpt)
    assert model.config.num_frame == 27
    rng = np.random.default_rng(3)
    for n in (1, 26, 27, 54, 60):
        x = rng.normal(scale=0.3, size=(n, 17, 2))
        y = lift_sequence(model, x, 27, batch_size=2)
        assert y.shape == (n, 17, 3) and np.isfinite(y).all() and np.all(y[:, 0] == 0)
    x = rng.normal(scale=0.3, size=(27, 17, 2))
    y = lift_sequence(model, x, 27)  # one full window: exactly the model's own flip-averaged output
    with torch.no_grad():
        t = torch.from_numpy(x).float()[None]
        ref = ((model(t) + flip_h36m(model(flip_h36m(t)))) / 2)[0].double().numpy()
    np.testing.assert_allclose(y, ref - ref[:, :1], atol=1e-5)
    y_m = lift_sequence(model, flip_h36m(torch.from_numpy(x)).numpy(), 27)
    np.testing.assert_allclose(flip_h36m(torch.from_numpy(y)).numpy(), y_m, atol=1e-5)
