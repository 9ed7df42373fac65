"""Detector weights are inspected before ultralytics unpickles them (issue 10, item 2)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

from posemamba_cli.errors import CheckpointError, PoseMambaError


class _Planted:
    """Unpickling this runs os.mkdir(marker): the stand-in for any code a checkpoint could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def plant(path: Path, marker: Path) -> Path:
    torch.save({"model": _Planted(marker), "date": "2024"}, path)
    return path


def test_the_planted_file_would_run_code_if_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    torch.load(plant(tmp_path / "evil.pt", marker), weights_only=False)  # what ultralytics does
    assert marker.is_dir()  # so the checks below can fail


def test_malicious_detector_is_refused_and_never_runs(monkeypatch, capsys, tmp_path: Path) -> None:
    from posemamba_cli.people import YoloPersonDetector

    marker = tmp_path / "ran"
    evil = plant(tmp_path / "evil.pt", marker)
    with pytest.raises(CheckpointError, match="refused to load.*posix.mkdir|refused to load.*os.mkdir"):
        YoloPersonDetector(evil)
    assert not marker.exists()

    # the same file placed in the weights folder as the default detector, through the CLI
    from posemamba_cli.cli.app import main

    weights = tmp_path / "weights"
    weights.mkdir()
    plant(weights / "yolo11n.pt", marker)
    stand_in = tmp_path / "stand_in.pth"
    stand_in.write_bytes(b"")
    video = tmp_path / "v.mp4"
    from posemamba_cli.video.synthetic import make_synthetic_clip

    make_synthetic_clip(video, n_frames=3, audio=False)
    for argv in (
        ["infer", "--quiet", str(video), "-o", str(tmp_path / "out"), "--weights-dir", str(weights), "--offline",
         "--lifter", str(stand_in), "--pose2d", str(stand_in), "--device", "cpu"],
        ["download-weights", "yolo11n", "--dir", str(weights), "--offline"],
        ["download-weights", "yolo11n", "--dir", str(weights)],
    ):  # fmt: skip
        monkeypatch.setattr("posemamba_cli.pipeline.models.load_lifter_model", lambda *a, **k: None)
        monkeypatch.setattr(sys, "argv", ["posemamba", *argv])
        with pytest.raises(SystemExit) as exit_info:
            main()
        err = capsys.readouterr().err
        lines = [line for line in err.strip().splitlines() if line.strip()]
        assert exit_info.value.code == 2 and len(lines) == 1 and "refused to load" in lines[0], (argv, err)
        assert not marker.exists()
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(sys, "argv", ["posemamba", "download-weights", "--list", "--dir", str(weights)])
    with pytest.raises(SystemExit):
        main()
    listing = capsys.readouterr().out
    assert "refused" in listing and not marker.exists()


def test_web_page_and_garbage_are_named(tmp_path: Path) -> None:
    from posemamba_cli.io.safe_weights import check_detector_weights

    page = tmp_path / "yolo11n.pt"
    page.write_text("<!DOCTYPE html>\n<html><body>Quota exceeded</body></html>")
    with pytest.raises(PoseMambaError, match="web page, not a checkpoint: the download failed"):
        check_detector_weights(page)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(PoseMambaError, match="not a PyTorch checkpoint"):
        check_detector_weights(junk)


def test_lifter_checkpoint_that_is_a_web_page(tmp_path: Path) -> None:
    from posemamba_cli.io.safe_load import safe_torch_load

    page = tmp_path / "PoseMamba-B-h36m.pth.tr"
    page.write_text("<html><head><title>Google Drive - Virus scan warning</title></head></html>")
    with pytest.raises(PoseMambaError, match="web page, not a checkpoint"):
        safe_torch_load(page)


def test_real_yolo_checkpoint_passes(yolo_pose_weights: Path) -> None:
    from posemamba_cli.io.safe_weights import check_detector_weights

    check_detector_weights(yolo_pose_weights)  # a genuine ultralytics file is accepted
