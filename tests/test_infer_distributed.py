"""Many videos over torch.distributed ranks (gloo, 2 CPU processes), restarts, and interrupted runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posemamba_cli.io.manifest import MANIFEST
from posemamba_cli.pipeline.distributed import World, shard
from posemamba_cli.pipeline.videos import is_finished
from posemamba_cli.video.synthetic import make_synthetic_clip

WORKER = Path(__file__).with_name("infer_dist_worker.py")
ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ["a", "b", "c", "d"]
N_FRAMES = 30
SUMMARY = "frames per second per stage"
SUFFIX = "_posemamba"  # result folders are <stem>_posemamba


def test_shards_cover_every_video_once() -> None:
    items = list(range(11))
    parts = [shard(items, World(rank, 3)) for rank in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert shard(items, World()) == items


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    for i, name in enumerate(VIDEOS):
        make_synthetic_clip(root / f"{name}.mp4", N_FRAMES + 3 * i, width=64, height=48, audio=False)
    return root


def _env(log: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
    pythonpath = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "PYTHONPATH": pythonpath,
            "TEST_RUN_LOG": str(log), **extra}  # fmt: skip


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER),
            "infer", *args]  # fmt: skip


def _run(cmd: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a command in its own process group; on timeout the whole group (torchrun's workers too) is killed."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"timed out after {timeout} s:\n{out}\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _no_partial_outputs(out: Path) -> list[str]:
    """Video names with a result folder; asserts that every folder there is complete and no staging is left."""
    names = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [n for n in names if n.startswith(".")], names  # no staging (.name.xxx.part) folder
    for name in names:
        assert name.endswith(SUFFIX) and is_finished(out / name), name
        assert sorted(p.name for p in (out / name).iterdir()) == sorted(
            ["keypoints_2d.npz", "pose3d.json", "pose3d.npz", "viewer.html", MANIFEST])
    return [name.removesuffix(SUFFIX) for name in names]


@pytest.mark.slow
def test_torchrun_splits_the_folder_and_a_restart_skips_finished_videos(folder, lifter_ckpt, tmp_path) -> None:
    out, log = tmp_path / "out", tmp_path / "run.log"
    args = [str(folder), "-o", str(out), "--lifter", str(lifter_ckpt), "--device", "cpu", "--no-render",
            "--quiet"]  # fmt: skip
    # first run: rank 1 is stopped with SIGTERM (as a scheduler would) in the middle of its second video,
    # so torchrun stops rank 0 too; whatever was finished stays, nothing half-written is left
    first = _run(_torchrun(*args), _env(log, TEST_SIGNAL_RANK="1", TEST_SIGNAL_AFTER=str(N_FRAMES + 10)))
    assert first.returncode != 0, first.stdout + first.stderr
    started = [line.split() for line in log.read_text().splitlines()]
    assert ["1", "b.mp4"] in started and ["1", "d.mp4"] in started  # rank 1: b, then d (interrupted)
    finished = _no_partial_outputs(out)
    assert "b" in finished and "d" not in finished
    stamps = {name: (out / f"{name}{SUFFIX}" / "pose3d.npz").stat().st_mtime_ns for name in finished}

    log.unlink()
    second = _run(_torchrun(*args), _env(log))
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count(SUMMARY) == 1  # rank 0 prints the one summary
    assert second.stderr.count("2D model: hrnet-w32-256x192 without the flip test on cpu") == 1  # and the choice
    assert second.stderr.count("skipped ") == len(finished)  # finished videos are passed over, each said once
    redone = sorted(line.split() for line in log.read_text().splitlines())
    expected = [[str(VIDEOS.index(v) % 2), f"{v}.mp4"] for v in VIDEOS if v not in finished]
    assert redone == sorted(expected)  # only the unfinished ones, each on the rank that owns it
    assert _no_partial_outputs(out) == VIDEOS
    for name, stamp in stamps.items():  # finished folders were not rewritten
        assert (out / f"{name}{SUFFIX}" / "pose3d.npz").stat().st_mtime_ns == stamp
    for i, name in enumerate(VIDEOS):
        data = np.load(out / f"{name}{SUFFIX}" / "pose3d.npz")
        assert data["pose3d_world_mm"].shape == (1, N_FRAMES + 3 * i, 17, 3)


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["INT", "TERM"])
def test_an_interrupt_mid_video_leaves_no_partial_folder(folder, lifter_ckpt, tmp_path, signame: str) -> None:
    out, log = tmp_path / "out", tmp_path / "run.log"
    cmd = [sys.executable, str(WORKER), "infer", str(folder / "a.mp4"), str(folder / "b.mp4"), "-o", str(out),
           "--lifter", str(lifter_ckpt), "--device", "cpu", "--quiet"]  # fmt: skip
    env = _env(log, TEST_SIGNAL_RANK="0", TEST_SIGNAL_AFTER=str(N_FRAMES + 5), TEST_SIGNAL=signame)
    proc = _run(cmd, env)  # a run that does not stop is killed at _run's timeout and fails here
    expected = {"INT": 130, "TERM": 143}[signame]  # as a shell reports it: 128 + the signal's number
    assert proc.returncode == expected, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert [line.split()[1] for line in log.read_text().splitlines()] == ["a.mp4", "b.mp4"]
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"a{SUFFIX}"], names  # a finished (with its videos); b was stopped and left nothing
    assert sorted(p.name for p in (out / f"a{SUFFIX}").iterdir()) == sorted(
        ["keypoints_2d.npz", "pose3d.json", "pose3d.npz", "overlay.mp4", "skeleton3d.mp4", "side_by_side.mp4",
         "viewer.html", MANIFEST])
