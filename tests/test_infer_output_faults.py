"""Output folders under faults (issue 20, items 4-6): a full disk, long names, a hand-edited manifest, a
detector file of another suffix, two runs at once, killed runs' staging folders, hidden inputs, library
warnings. Each is one clear line (or a report) and leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.infer import run_cli, write_clip_keypoints

from posemamba_cli.video.synthetic import SyntheticClip

N_FRAMES = 24
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def keypoint_file(clip: SyntheticClip, tmp_path_factory) -> Path:
    return write_clip_keypoints(tmp_path_factory.mktemp("kp") / "walk_2d.npz", clip)


def common(lifter: Path, keypoints: Path) -> list[str]:
    return ["--keypoints", str(keypoints), "--lifter", str(lifter), "--device", "cpu", "--no-render"]


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def everything(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- item 4: disk full, long names, a hand-edited manifest, a detector not named .pt ----------------------


@contextlib.contextmanager
def small_tmpfs(folder: Path):
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextlib.contextmanager
def file_size_limit(limit: int):
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


@pytest.mark.parametrize("fault", ["full tmpfs", "file size limit"])
def test_a_failing_write_is_one_line_naming_the_path(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, keypoint_file,
                                                     fault) -> None:  # fmt: skip
    args = [str(clip.path), *common(lifter_ckpt, keypoint_file)]
    code, _, err = run_cli(monkeypatch, capsys, *args, "-o", str(tmp_path / "warm"))  # kernels built, caches written
    assert code == 0, err
    if fault == "full tmpfs":
        with small_tmpfs(tmp_path / "disk") as disk:
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            (disk / "filler").write_bytes(b"\0" * (free - 8 * 1024))  # 8 KiB left: less than the results need
            code, _, err = run_cli(monkeypatch, capsys, *args, "-o", str(disk / "out"))
            left = everything(disk)
        expected = "No space left on device"
        assert left == ["filler"]  # no staging folder, no empty output folder
    else:
        with file_size_limit(8 * 1024):
            code, _, err = run_cli(monkeypatch, capsys, *args, "-o", str(tmp_path / "out"))
        expected = "File too large"
        assert not (tmp_path / "out").exists()
    line = " ".join(one_line(err).split())
    assert code == 2 and expected in line and "walk_posemamba" in line, err


def test_long_video_names(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, keypoint_file) -> None:
    fits = tmp_path / ("a" * 235 + ".mp4")  # its result folder's name is 245 bytes: fits, and so must its stage
    shutil.copy(clip.path, fits)
    args = common(lifter_ckpt, keypoint_file)
    code, _, err = run_cli(monkeypatch, capsys, str(fits), "-o", str(tmp_path / "out"), *args)
    assert code == 0, err
    assert everything(tmp_path / "out")[0] == "a" * 235 + "_posemamba"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]

    too_long = tmp_path / ("b" * 250 + ".mp4")  # 260 bytes with _posemamba: no file system takes that name
    shutil.copy(clip.path, too_long)
    code, _, err = run_cli(monkeypatch, capsys, str(too_long), "-o", str(tmp_path / "new" / "out"), *args)
    line = " ".join(one_line(err).split())
    assert code == 2 and "longer than" in line and "bytes" in line, err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("edit", "overwrite"),
    [({"n_frames": "many"}, False), ({"n_frames": "many"}, True), ({"files": [{"name": "pose3d.npz"}]}, True),
     ({"files": [7, "pose3d.npz"]}, True), ({"files": ["../../elsewhere.txt"]}, True), ({"video": 3}, False)],
)  # fmt: skip
def test_a_hand_edited_manifest_is_not_ours(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, keypoint_file, edit,
                                            overwrite) -> None:  # fmt: skip
    args = [str(clip.path), "-o", str(tmp_path / "out"), *common(lifter_ckpt, keypoint_file)]
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    folder = tmp_path / "out" / "walk_posemamba"
    manifest = folder / "posemamba_manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), **edit}))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, _, err = run_cli(monkeypatch, capsys, *args, *(["--overwrite"] if overwrite else []))
    assert code == 2 and "not written by posemamba" in one_line(err), err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # left untouched


def test_a_detector_file_not_named_pt_is_one_line(monkeypatch, capsys, tmp_path, clip, lifter_ckpt) -> None:
    pytest.importorskip("ultralytics")
    from ultralytics import YOLO

    YOLO("yolo11n.yaml").save(tmp_path / "det.pt")  # a genuine (untrained) ultralytics checkpoint
    os.replace(tmp_path / "det.pt", tmp_path / "det.pth")
    code, _, err = run_cli(monkeypatch, capsys, str(clip.path), "-o", str(tmp_path / "out"), "--detector",
                           str(tmp_path / "det.pth"), "--pose2d", str(lifter_ckpt), "--lifter", str(lifter_ckpt),
                           "--device", "cpu", "--no-render")  # fmt: skip
    line = " ".join(one_line(err).split())
    assert code == 2 and "det.pth" in line and ".pt" in line, err
    assert not (tmp_path / "out").exists()


# --- item 5: which video found nobody, two runs at once, library warnings --------------------------------


class StandInLifter:
    """The lifter's interface: (B, T, 17, 3) -> (B, T, 17, 3); `on_call` runs before the first window."""

    num_frame = 27

    def __init__(self, on_call=None) -> None:
        self.on_call = on_call

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.on_call is not None:
            self.on_call()
            self.on_call = None
        return torch.cat([x[..., :2], 0.5 * x[..., :1]], -1)


def test_nobody_found_names_each_video(monkeypatch, capsys, tmp_path, clip, lifter_ckpt) -> None:
    (tmp_path / "clips").mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(clip.path, tmp_path / "clips" / name)
    stand_in = tmp_path / "stand_in.pt"
    stand_in.write_bytes(b"")  # loaders are replaced below; the files only have to exist
    nobody = lambda frame: (np.zeros((0, 4)), np.zeros(0))  # noqa: E731
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_detector", lambda *a, **k: nobody)
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_pose2d", lambda *a, **k: object())  # never asked
    code, _, err = run_cli(monkeypatch, capsys, str(tmp_path / "clips"), "-o", str(tmp_path / "out"), "--detector",
                           str(stand_in), "--pose2d", str(stand_in), "--lifter", str(lifter_ckpt), "--device", "cpu",
                           "--no-render")  # fmt: skip
    text = " ".join(err.split())
    assert code == 2 and "2 of 2 videos failed" in text, err
    for name in ("a.mp4", "b.mp4"):
        assert f"{tmp_path / 'clips' / name}: nobody was found" in text, err


def test_a_run_that_loses_the_race_reports_skipped(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, keypoint_file):
    args = [str(clip.path), *common(lifter_ckpt, keypoint_file)]
    code, _, err = run_cli(monkeypatch, capsys, *args, "-o", str(tmp_path / "winner"))  # the other run's result
    assert code == 0, err
    winner = tmp_path / "winner" / "walk_posemamba"
    final = tmp_path / "out" / "walk_posemamba"
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_lifter_model",
                        lambda *a, **k: StandInLifter(lambda: shutil.copytree(winner, final)))  # fmt: skip
    code, _, err = run_cli(monkeypatch, capsys, *args, "-o", str(tmp_path / "out"))
    assert code == 0 and "skipped" in err and "error" not in err, err
    assert {p.name: p.read_bytes() for p in final.iterdir()} == {p.name: p.read_bytes() for p in winner.iterdir()}
    assert everything(tmp_path / "out") == ["walk_posemamba"] + [f"walk_posemamba/{p.name}" for p in
                                                                  sorted(winner.iterdir())]  # fmt: skip


NOISY_RUN = """
import sys, warnings
import numpy as np, torch
import posemamba_cli.pipeline.models as models

class Noisy:
    num_frame = 27
    def __call__(self, x):
        warnings.warn("a note from a library", UserWarning)
        np.float32(1e38) * np.float32(10)  # numpy: overflow encountered
        return torch.cat([x[..., :2], 0.5 * x[..., :1]], -1)

models.load_lifter_model = lambda *a, **k: Noisy()
sys.argv = ["posemamba", "infer", "--quiet", *sys.argv[1:]]
from posemamba_cli.cli.app import main
main()
"""


@pytest.mark.parametrize("asked", [False, True])
def test_library_warnings_stay_off_stderr(tmp_path, clip, lifter_ckpt, asked) -> None:
    scores = np.full((N_FRAMES, 17), 1.5)  # posemamba's own warning (scores clipped) is still shown
    from posemamba_cli.pose2d import write_keypoints_npz

    keypoints = write_keypoints_npz(tmp_path / "k.npz", clip.keypoints2d_coco, np.clip(scores, 0, 1))
    np.savez(keypoints, **{**dict(np.load(keypoints)), "scores": scores})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    flags = ["-W", "always"] if asked else []
    done = subprocess.run([sys.executable, *flags, "-c", textwrap.dedent(NOISY_RUN), str(clip.path), "-o",
                           str(tmp_path / "out"), *common(lifter_ckpt, keypoints)],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    if asked:  # `python -W ...`: the user's choice stands
        assert "a note from a library" in done.stderr and "overflow" in done.stderr
    else:
        assert "a note from a library" not in done.stderr and "overflow" not in done.stderr, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert all(line.startswith("warning:") for line in lines), done.stderr
    assert "warning:" in done.stderr and "clipped" in done.stderr


# --- item 6: staging folders of killed runs, hidden files in a folder input ------------------------------


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from posemamba_cli.pipeline.outputs import staged_folder

with staged_folder(Path(sys.argv[1])) as stage:
    (stage / "keypoints_2d.npz").write_bytes(b"half")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_runs_staging_folders_are_removed(monkeypatch, capsys, tmp_path, clip, lifter_ckpt, keypoint_file):
    from posemamba_cli.pipeline.staging import host_tag

    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED_RUN), str(out / "walk_posemamba")], env=env,
                          capture_output=True, timeout=300)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    (killed,) = [p for p in out.iterdir() if p.name.endswith(".part")]  # what SIGKILL leaves behind
    dead = int(killed.name.split(".")[-3].split("-")[0])  # its owner, no longer running
    plants = {
        "live": out / f".x_posemamba.{os.getpid()}-{host_tag()}.abcdefgh.part",  # this process: running
        "elsewhere": out / f".y_posemamba.{dead}-00000000.abcdefgh.part",  # another machine's
        "unowned": out / ".z_posemamba.abcdefgh.part",  # no owner in the name: reported only
        "with folder": out / f".w_posemamba.{dead}-{host_tag()}.abcdefgh.part",  # not only files: reported only
        "set aside": out / f".v_posemamba.{dead}-{host_tag()}.abcdefgh.old",  # an earlier result: reported only
        "user's": out / ".my_things.part",  # not our pattern
    }
    for name, folder in plants.items():
        (folder / ("sub" if name in ("with folder", "set aside") else "")).mkdir(parents=True, exist_ok=True)
        (folder / "pose3d.json").write_text("{}")
    for folder in [killed, *plants.values()]:
        os.utime(folder, (1e9, 1e9))  # long before this run
    code, _, err = run_cli(monkeypatch, capsys, str(clip.path), "-o", str(out), *common(lifter_ckpt, keypoint_file))
    text = " ".join(err.split())
    assert code == 0, err
    assert not killed.exists() and f"removed {killed}" in text
    assert all(folder.is_dir() for folder in plants.values())  # nothing else is deleted
    assert all(str(plants[name]) in text for name in ("unowned", "with folder", "set aside"))
    assert str(plants["live"]) not in text and str(plants["elsewhere"]) not in text and "my_things" not in text
    assert (out / "walk_posemamba" / "posemamba_manifest.json").is_file()


def test_hidden_files_in_a_folder_input_are_not_videos(monkeypatch, capsys, tmp_path, clip, lifter_ckpt,
                                                       keypoint_file) -> None:  # fmt: skip
    (tmp_path / "clips").mkdir()
    shutil.copy(clip.path, tmp_path / "clips" / "walk.mp4")
    shutil.copy(clip.path, tmp_path / "clips" / ".walk.mp4")  # an editor's or sync tool's hidden copy
    (tmp_path / "clips" / "._walk.mp4").write_bytes(b"\0\5\26\7")  # macOS resource fork
    code, _, err = run_cli(monkeypatch, capsys, str(tmp_path / "clips"), "-o", str(tmp_path / "out"),
                           *common(lifter_ckpt, keypoint_file))  # fmt: skip
    assert code == 0, err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["walk_posemamba"]
