"""The floor of a static-camera video, fitted to the feet in contact, and the world frame it defines.

World frame (millimetres): z up along the floor's normal (from feet to head), the floor at z = 0 (the plane
of the ankle joints in contact: H36M-17 has no sole), origin on the floor straight below the camera, y the
camera's viewing direction along the floor, x to the camera's right (right-handed). The camera sits at
(0, 0, its height above the floor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANKLES = (6, 3)  # H36M left ankle, right ankle: the order of foot_contact
THORAX = 8
BANDWIDTH_MM = 20.0  # kernel width of the foot-height density whose lowest mode is the floor
MIN_SPREAD_MM = 500.0  # feet in contact must spread this far (both ways) for the plane's tilt to be fitted
MAX_TILT_DEG = 30.0  # a fitted normal further than this from the bodies' mean up direction is not trusted
RANSAC_TRIES, RANSAC_POINTS = 300, 4000  # planes tried; candidate feet scored (a random subset beyond)


@dataclass(frozen=True)
class Floor:
    """A plane in camera space: height(p) = normal . p + offset (mm), normal a unit vector pointing up."""

    normal: np.ndarray  # (3,)
    offset: float
    fitted_tilt: bool  # True: the normal was fitted to the feet; False: the bodies' mean up direction

    def height(self, points: np.ndarray) -> np.ndarray:
        """Height (mm) above the floor of camera-space points (..., 3)."""
        return np.asarray(points, np.float64) @ self.normal + self.offset


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def body_up(joints_camera_mm: list[np.ndarray]) -> np.ndarray:
    """The people's mean up direction in camera space: the mean unit vector from the ankles' midpoint to the
    thorax over every finite frame; the camera's -y when there is none."""
    vecs = []
    for j in joints_camera_mm:
        j = j[np.isfinite(j).all((-1, -2))]
        if len(j):
            v = j[:, THORAX] - j[:, list(ANKLES)].mean(1)
            vecs.append(_unit(v[np.linalg.norm(v, axis=-1) > 1e-6]))
    if not vecs or not sum(len(v) for v in vecs):
        return np.array([0.0, -1.0, 0.0])
    return _unit(np.concatenate(vecs).mean(0))


def lowest_mode(heights: np.ndarray, bandwidth: float = BANDWIDTH_MM, min_share: float = 0.3) -> float:
    """The lowest clear peak of the heights' density (Gaussian kernel of `bandwidth`): the level where feet
    rest. A peak counts when its density is at least `min_share` of the highest; refined by mean shift."""
    h = np.asarray(heights, np.float64)
    lo, hi = np.percentile(h, [1, 99])
    h = h[(h >= lo - 1000.0) & (h <= hi + 1000.0)]  # wild outliers would only stretch the histogram
    step = bandwidth / 4
    edges = np.arange(h.min() - 4 * bandwidth, h.max() + 4 * bandwidth + step, step)
    counts, _ = np.histogram(h, edges)
    kx = np.arange(-16, 17) * step
    density = np.convolve(counts, np.exp(-0.5 * (kx / bandwidth) ** 2), mode="same")
    centres = (edges[:-1] + edges[1:]) / 2
    peak = (density >= np.roll(density, 1)) & (density >= np.roll(density, -1)) & (density >= min_share * density.max())
    level = float(centres[np.flatnonzero(peak)[0]])
    for _ in range(5):
        near = np.abs(h - level) < bandwidth
        if not near.any():
            break
        level = float(h[near].mean())
    return level


def _foot_candidates(joints_camera_mm: list[np.ndarray], up: np.ndarray) -> np.ndarray:
    """(N, 3) ankles that may rest on the floor: per person and frame the lower ankle, and the other one when
    it is within BANDWIDTH_MM of it."""
    out = []
    for j in joints_camera_mm:
        j = j[np.isfinite(j).all((-1, -2))]
        if not len(j):
            continue
        feet = j[:, list(ANKLES)]  # (T, 2, 3)
        h = feet @ up
        low = h.min(-1, keepdims=True)
        out.append(feet[h <= low + BANDWIDTH_MM])
    return np.concatenate(out) if out else np.zeros((0, 3))


def _plane_inliers(feet: np.ndarray, up: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RANSAC: the candidate feet within BANDWIDTH_MM of the plane through three of them that holds the most,
    among planes within MAX_TILT_DEG of `up` through feet that span a real triangle; (0, 3) if none."""
    pts = feet if len(feet) <= RANSAC_POINTS else feet[rng.choice(len(feet), RANSAC_POINTS, replace=False)]
    tri = pts[rng.integers(0, len(pts), (RANSAC_TRIES, 3))]  # (K, 3 points, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    size = np.linalg.norm(n, axis=-1)
    ok = size > (MIN_SPREAD_MM / 4) ** 2
    n = n / np.where(ok, size, 1.0)[:, None]
    n *= np.where(n @ up < 0, -1.0, 1.0)[:, None]
    ok &= n @ up > np.cos(np.radians(MAX_TILT_DEG))
    if not ok.any():
        return np.zeros((0, 3))
    resid = np.abs(np.einsum("kd,knd->kn", n[ok], pts[None] - tri[ok, None, 0]))  # (K', N)
    best = int((resid < BANDWIDTH_MM).sum(1).argmax())
    return pts[resid[best] < BANDWIDTH_MM]


def fit_floor(joints_camera_mm: list[np.ndarray], seed: int = 0) -> Floor:
    """The floor under every person of a video. Its tilt: the plane most resting feet lie on (RANSAC, then a
    least-squares fit to them) where those feet spread over MIN_SPREAD_MM both ways, else the bodies' mean
    up direction; its level: the lowest mode of the lower foot's height along that normal.
    `joints_camera_mm`: per person (T, 17, 3) camera-space mm, NaN rows ignored."""
    up = body_up(joints_camera_mm)
    feet = _foot_candidates(joints_camera_mm, up)
    if not len(feet):
        return Floor(up, 0.0, False)
    normal, fitted = up, False
    resting = _plane_inliers(feet, up, np.random.default_rng(seed))
    if len(resting) >= 10:
        centred = resting - resting.mean(0)
        eigval, eigvec = np.linalg.eigh(centred.T @ centred / len(resting))
        candidate = eigvec[:, 0] * np.sign(eigvec[:, 0] @ up)
        spread = np.sqrt(max(eigval[1], 0.0)) >= MIN_SPREAD_MM / 2  # roughly a std of a MIN_SPREAD_MM spread
        if spread and candidate @ up > np.cos(np.radians(MAX_TILT_DEG)):
            normal, fitted = candidate, True
    feet = _foot_candidates(joints_camera_mm, normal) if fitted else feet
    return Floor(normal, -lowest_mode(feet @ normal), fitted)


def world_from_camera(floor: Floor) -> np.ndarray:
    """(4, 4) rigid transform camera mm -> world mm (see the module's docstring for the world frame)."""
    z = floor.normal
    forward = np.array([0.0, 0.0, 1.0]) - z[2] * z  # the camera's viewing direction, along the floor
    if np.linalg.norm(forward) < 0.1:  # looking straight down: the image's up direction instead
        forward = np.array([0.0, -1.0, 0.0]) - z[1] * z
    y = _unit(forward)
    x = np.cross(y, z)
    m = np.eye(4)
    m[:3, :3] = np.stack([x, y, z])
    m[2, 3] = floor.offset
    return m


def apply_transform(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (..., 3) through the (4, 4) transform `m`."""
    return np.asarray(points, np.float64) @ m[:3, :3].T + m[:3, 3]
