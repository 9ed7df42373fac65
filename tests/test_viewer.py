"""The viewer (issue 21): the packed pose data, the result folder's scene, `posemamba view`, `--no-viewer`,
`--rerun` (read back with rerun's reader); the page itself is checked in a real browser in test_viewer_browser."""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers.infer import run_cli, write_clip_keypoints, write_small_lifter

from posemamba_cli.video.synthetic import make_synthetic_clip
from posemamba_cli.viewer.pack import pack_scene, unpack_scene
from posemamba_cli.viewer.scene import SIDE_BY_SIDE_MM, scene_from_result
from posemamba_cli.viewer.synthetic import walking_scene

N_FRAMES = 20


def test_packing_restores_the_poses_to_the_millimetre() -> None:
    scene = walking_scene(90, 3, absent_tail=20)
    joints = scene.joints_mm.copy()
    joints[0, 30:40] = np.nan  # a gap inside a track
    joints[1] += 20000.0  # 20 m away: large values and big jumps wrap in int16 and come back
    joints[1, 50:] += 5000.0
    b64, info = pack_scene(joints, scene.times_s)
    out, times = unpack_scene(b64, 3, 90, info["scale"], info["maskBytes"])
    assert info["scale"] == 1 and np.array_equal(times, scene.times_s)
    assert np.array_equal(np.isnan(out), np.isnan(joints))
    assert np.nanmax(np.abs(out - joints)) <= 0.5
    assert info["gzipBytes"] < info["rawBytes"] / 2  # the time deltas compress

    far = joints * 3  # beyond int16 millimetres: coarser units, still within half a unit
    b64, info = pack_scene(far, scene.times_s)
    out, _ = unpack_scene(b64, 3, 90, info["scale"], info["maskBytes"])
    assert info["scale"] > 1 and np.nanmax(np.abs(out - far)) <= info["scale"] / 2


def _result_npz(folder: Path, world: bool) -> np.ndarray:
    scene = walking_scene(12, 2)
    within = np.ones((2, 12), bool)
    within[1, :4] = False
    arrays = dict(time_s=scene.times_s, fps=np.float64(30), track_ids=np.array([4, 9]), within_track=within,
                  pose3d_world_mm=scene.joints_mm - scene.joints_mm[:, :, :1] * [1, 1, 0])  # fmt: skip
    if world:
        arrays["joints_world_mm"] = scene.joints_mm
    folder.mkdir()
    np.savez(folder / "pose3d.npz", **arrays)
    return scene.joints_mm


def test_the_scene_is_the_world_frame_else_root_relative_side_by_side(tmp_path: Path) -> None:
    world = _result_npz(tmp_path / "new", world=True)
    scene = scene_from_result(tmp_path / "new")
    assert scene.world and np.array_equal(scene.joints_mm, world) and list(scene.track_ids) == [4, 9]

    _result_npz(tmp_path / "old", world=False)  # written before joints_world_mm existed
    scene = scene_from_result(tmp_path / "old")
    assert not scene.world and "joints_world_mm" in scene.note
    assert np.isnan(scene.joints_mm[1, :4]).all() and np.isfinite(scene.joints_mm[1, 4:]).all()
    pelvis_gap = scene.joints_mm[1, 4:, 0, 0] - scene.joints_mm[0, 4:, 0, 0]
    assert np.allclose(pelvis_gap, SIDE_BY_SIDE_MM)  # next to each other, not on top of each other
    assert scene.colors_hex()[:2] == ["#ffd700", "#ff00ff"]  # person_color 0 and 1 (BGR) as RGB


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("viewer_inputs")
    clip = make_synthetic_clip(root / "walk.mp4", N_FRAMES, width=64, height=48, audio=False)
    return {"video": clip.path, "keypoints": write_clip_keypoints(root / "walk_2d.npz", clip),
            "lifter": write_small_lifter(root / "small.pth")}  # fmt: skip


def _infer(monkeypatch, capsys, inputs: dict[str, Path], out: Path, *flags: str) -> tuple[int, str]:
    code, _, err = run_cli(monkeypatch, capsys, str(inputs["video"]), "-o", str(out), "--keypoints",
                           str(inputs["keypoints"]), "--lifter", str(inputs["lifter"]), "--device", "cpu", *flags)
    return code, err


def test_every_result_has_a_viewer_unless_told_not_to(monkeypatch, capsys, tmp_path, inputs) -> None:
    code, err = _infer(monkeypatch, capsys, inputs, tmp_path / "a", "--no-render")
    assert code == 0, err
    folder = tmp_path / "a" / "walk_posemamba"
    manifest = json.loads((folder / "posemamba_manifest.json").read_text())
    assert "viewer.html" in manifest["files"] and (folder / "viewer.html").is_file()
    page = (folder / "viewer.html").read_text()
    assert "http://" not in page.split('id="pm-meta"')[1]  # nothing after plotly.js names a web address
    meta = json.loads(page.split('<script type="application/json" id="pm-meta">')[1].split("</script>")[0])
    with np.load(folder / "pose3d.npz") as npz:
        world = "joints_world_mm" in npz.files  # the world step's output, when this infer has one
    assert meta["nFrames"] == N_FRAMES and meta["nPeople"] == 1 and meta["world"] == world
    source = Path(os.path.relpath(inputs["video"], folder)).as_posix()
    assert meta["videos"] == {"source": source}  # relative to the page; no overlay.mp4 with --no-render

    code, err = _infer(monkeypatch, capsys, inputs, tmp_path / "b", "--no-render", "--no-viewer")
    assert code == 0, err
    assert not (tmp_path / "b" / "walk_posemamba" / "viewer.html").exists()


def test_view_opens_the_page_or_says_why_not(monkeypatch, capsys, tmp_path, inputs) -> None:
    code, err = _infer(monkeypatch, capsys, inputs, tmp_path, "--no-render")
    assert code == 0, err
    folder = tmp_path / "walk_posemamba"
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    from posemamba_cli.cli.app import main

    def view(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["posemamba", "view", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = view(str(folder))
    page = (folder / "viewer.html").resolve()
    assert code == 0 and out.strip() == str(page) and opened == [page.as_uri()]
    code, _, _ = view(str(page), "--video", "source")
    assert code == 0 and opened[-1] == page.as_uri() + "?video=source"
    for bad in (tmp_path / "missing", tmp_path / "walk_posemamba" / "pose3d.json", tmp_path):
        code, out, err = view(str(bad))
        assert code == 2 and len(err.strip().splitlines()) == 1 and str(bad) in " ".join(err.split())
        assert "Traceback" not in err


def test_serve_gives_the_folder_and_the_source_video_on_loopback(monkeypatch, capsys, tmp_path, inputs) -> None:
    from posemamba_cli.viewer.serve import page_server

    code, err = _infer(monkeypatch, capsys, inputs, tmp_path, "--no-render")
    assert code == 0, err
    server, url = page_server(tmp_path / "walk_posemamba" / "viewer.html", "?video=source")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert url.startswith("http://127.0.0.1:") and "source=%2Fsource-video%2Fwalk.mp4" in url
        with urllib.request.urlopen(url) as page:
            assert b"posemambaViewer" in page.read()
        base = url.split("viewer.html")[0]
        with urllib.request.urlopen(base + "source-video/walk.mp4") as video:
            assert video.read() == inputs["video"].read_bytes()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "source-video/other.mp4")
    finally:
        server.shutdown()
        server.server_close()


def test_rerun_without_the_extra_is_one_line_before_any_work(monkeypatch, capsys, tmp_path, inputs) -> None:
    monkeypatch.setitem(sys.modules, "rerun", None)  # as if rerun-sdk were not installed
    code, err = _infer(monkeypatch, capsys, inputs, tmp_path / "out", "--no-render", "--rerun")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "posemamba-cli[rerun]" in err
    assert not (tmp_path / "out").exists()


def test_rerun_recording_holds_one_entry_per_frame_and_track(monkeypatch, capsys, tmp_path, inputs) -> None:
    pytest.importorskip("rerun", reason="rerun-sdk is not installed (pip install -e .[rerun])")
    pytest.importorskip("datafusion", reason="rerun's dataframe reader needs rerun-sdk[catalog]")
    from rerun.chunk import RrdReader

    code, err = _infer(monkeypatch, capsys, inputs, tmp_path, "--rerun", "--no-viewer")
    assert code == 0, err
    folder = tmp_path / "walk_posemamba"
    assert "recording.rrd" in json.loads((folder / "posemamba_manifest.json").read_text())["files"]
    with np.load(folder / "pose3d.npz") as npz:
        track, within, times = int(npz["track_ids"][0]), npz["within_track"][0], npz["time_s"]
    store = RrdReader(folder / "recording.rrd").stream().collect()
    for entity in (f"/world/id_{track}/skeleton", f"/video/id_{track}/keypoints", f"/video/id_{track}/box", "/video"):
        table = store.reader(index="frame", contents=entity).to_pandas()
        frames = np.flatnonzero(within) if "id_" in entity else np.arange(N_FRAMES)
        assert list(table["frame"]) == list(frames), entity
        assert np.allclose(table["time"].dt.total_seconds(), times[frames]), entity
    skeleton = store.reader(index="frame", contents=f"/world/id_{track}/skeleton").to_pandas()
    strips = skeleton[f"/world/id_{track}/skeleton:LineStrips3D:strips"].iloc[0]
    assert len(strips) == 16  # one strip per bone
