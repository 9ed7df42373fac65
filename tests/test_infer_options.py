"""`infer`'s options are InferConfig's fields, declared once: every field is a flag of `posemamba infer` and an
option of `posemamba_cli.infer`, and both deliver the same config to the per-video run."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import pytest

import posemamba_cli
from posemamba_cli.pipeline.config import InferConfig

CHANGED = {"min_track_frames": 5, "video_preset": "ultrafast", "world": False, "sequential": True,
           "keep_fragments": True, "people": "all", "smooth": 0.25, "fov": 70.0, "render": False}  # fmt: skip
FLAGS = ["--min-track-frames", "5", "--video-preset", "ultrafast", "--no-world", "--sequential",
         "--keep-fragments", "--people", "all", "--smooth", "0.25", "--fov", "70", "--no-render"]  # fmt: skip


@pytest.fixture
def captured(monkeypatch) -> list[InferConfig]:
    """Stops each run at the per-video step and keeps the config it was given."""
    seen: list[InferConfig] = []

    def fake_infer_video(video, root, lifter, det, est, kp, config, progress, **kw):
        seen.append(config)
        raise posemamba_cli.errors.PoseMambaError("stopped by the test")

    monkeypatch.setattr("posemamba_cli.pipeline.videos.infer_video", fake_infer_video)
    monkeypatch.setattr("posemamba_cli.pipeline.models.check_models_present", lambda *a, **k: None)
    monkeypatch.setattr("posemamba_cli.pipeline.models.load_lifter_model", lambda *a, **k: None)
    return seen


def test_every_config_field_is_a_flag_of_the_command() -> None:
    import typer.main

    from posemamba_cli.cli.app import app

    command = typer.main.get_command(app).commands["infer"]
    names = {p.name for p in command.params}
    assert {f.name for f in fields(InferConfig)} <= names
    assert names - {f.name for f in fields(InferConfig)} == {"inputs", "output", "keypoints"}


def test_the_command_and_the_library_fill_the_same_config(captured, monkeypatch, tmp_path: Path, capsys) -> None:
    from posemamba_cli.cli.app import main

    video, kp = "demo_videos/walk.mp4", "demo_videos/walk_keypoints.npz"
    with pytest.raises(posemamba_cli.errors.PoseMambaError):
        posemamba_cli.infer(video, tmp_path / "lib", keypoints=kp, device="cpu", **CHANGED)
    monkeypatch.setattr(sys, "argv", ["posemamba", "infer", video, "-o", str(tmp_path / "cli"), "--keypoints", kp,
                                      "--device", "cpu", *FLAGS])  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2 and "stopped by the test" in capsys.readouterr().err
    library, cli = captured
    assert library == cli
    for name, value in CHANGED.items():
        assert getattr(cli, name) == value, name


def test_an_unknown_library_option_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="no_such_option"):
        posemamba_cli.infer("demo_videos/walk.mp4", tmp_path, no_such_option=1)
