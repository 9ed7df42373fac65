"""viewer.html in a real browser (Debian's headless chromium through Selenium): it loads offline without
console errors, exposes the result's counts, moves the people on `seek`, draws each in their overlay colour,
says when nobody was found, opens for one frame, and follows overlay.mp4 when it plays."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.infer import write_clip_keypoints, write_small_lifter

from posemamba_cli.pipeline.videos import infer
from posemamba_cli.video.synthetic import make_synthetic_clip
from posemamba_cli.viewer.headless import console_errors, missing_browser, open_viewer, requested_urls, wait_drawn
from posemamba_cli.viewer.page import write_viewer
from posemamba_cli.viewer.scene import ViewerScene
from posemamba_cli.viewer.synthetic import walking_scene

pytestmark = pytest.mark.skipif(missing_browser() is not None, reason=str(missing_browser()))


@pytest.fixture(scope="module")
def driver():
    from posemamba_cli.viewer.headless import chromium

    drv = chromium(960, 640)
    yield drv
    drv.quit()


def _open(driver, page: Path, query: str = "") -> dict:
    requested_urls(driver), console_errors(driver)  # drop what earlier pages logged
    info = open_viewer(driver, page, query)
    assert "error" not in info, info
    return info


def _offline_and_clean(driver) -> None:
    urls = requested_urls(driver)
    assert urls and all(u.split(":")[0] in ("file", "data", "blob") for u in urls), urls
    assert console_errors(driver) == []


def _plot_shot(driver) -> np.ndarray:
    """The 3D view's pixels (BGR) as the screen shows them."""
    shot = cv2.imdecode(np.frombuffer(driver.get_screenshot_as_png(), np.uint8), cv2.IMREAD_COLOR)
    r = driver.execute_script("const r = document.getElementById('pm-plot').getBoundingClientRect();"
                              "return [r.left, r.top, r.width, r.height, window.devicePixelRatio];")
    k = r[4]
    return shot[int(r[1] * k): int((r[1] + r[3]) * k), int(r[0] * k): int((r[0] + r[2]) * k)]


def _near(image: np.ndarray, hex_color: str, tol: int = 40) -> np.ndarray:
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(image.astype(int) - rgb[::-1]) <= tol).all(-1)


def test_page_opens_offline_and_seek_moves_each_person_in_their_colour(driver, tmp_path) -> None:
    scene = walking_scene(120, 3)
    page = write_viewer(tmp_path, scene)
    info = _open(driver, page)
    assert (info["nFrames"], info["nPeople"], info["frame"]) == (120, 3, 0)
    wait_drawn(driver, 0)
    first = _plot_shot(driver)
    driver.execute_script("window.posemambaViewer.seek(100)")
    wait_drawn(driver, 100)
    assert driver.execute_script("return window.posemambaViewer.frame") == 100
    second = _plot_shot(driver)
    _offline_and_clean(driver)

    colors = scene.colors_hex()
    for shot in (first, second):
        for color in colors:
            assert _near(shot, color).sum() > 30, color  # each person drawn in the overlay's colour
    changed = (np.abs(first.astype(int) - second.astype(int)).max(-1) > 60)
    assert changed.sum() > 200
    person_pixels = np.zeros_like(changed)
    for color in colors:
        person_pixels |= _near(first, color) | _near(second, color)
    assert (changed & person_pixels).sum() > 0.5 * changed.sum()  # what changed is where the people are


def test_a_result_with_nobody_says_so(driver, tmp_path) -> None:
    page = write_viewer(tmp_path, ViewerScene(np.zeros((0, 30, 17, 3)), np.arange(30) / 30, 30.0, []))
    info = _open(driver, page)
    assert (info["nFrames"], info["nPeople"]) == (30, 0)
    text = driver.execute_script("const e = document.getElementById('pm-empty');"
                                 "return getComputedStyle(e).display !== 'none' ? e.textContent : ''")
    assert "No people" in text
    driver.execute_script("window.posemambaViewer.seek(20)")
    assert driver.execute_script("return window.posemambaViewer.frame") == 20
    _offline_and_clean(driver)


def test_a_one_frame_video_opens(driver, tmp_path) -> None:
    page = write_viewer(tmp_path, walking_scene(1, 1))
    info = _open(driver, page)
    assert (info["nFrames"], info["nPeople"]) == (1, 1)
    wait_drawn(driver, 0)
    driver.execute_script("window.posemambaViewer.seek(5); window.posemambaViewer.play()")
    time.sleep(0.2)
    assert driver.execute_script("return [window.posemambaViewer.frame, window.posemambaViewer.playing]") == [0, False]
    _offline_and_clean(driver)


N_CLIP = 60


@pytest.fixture(scope="module")
def rendered_result(tmp_path_factory) -> Path:
    """An `infer` result with overlay.mp4 (the small synthetic clip, its true keypoints, a small lifter)."""
    root = tmp_path_factory.mktemp("viewer_video")
    clip = make_synthetic_clip(root / "walk.mp4", N_CLIP, width=96, height=64, audio=False)
    keypoints = write_clip_keypoints(root / "walk_2d.npz", clip)
    lifter = write_small_lifter(root / "small.pth")
    infer(clip.path, root / "out", keypoints=keypoints, lifter=str(lifter), device="cpu", quiet=True)
    return root / "out" / "walk_posemamba"


def test_the_page_follows_the_overlay_video(driver, rendered_result) -> None:
    manifest = json.loads((rendered_result / "posemamba_manifest.json").read_text())
    assert {"viewer.html", "overlay.mp4"} <= set(manifest["files"])
    with np.load(rendered_result / "pose3d.npz") as npz:
        times = npz["time_s"] - npz["time_s"][0]
    info = _open(driver, rendered_result / "viewer.html")
    assert (info["nFrames"], info["nPeople"]) == (manifest["n_frames"], manifest["n_people"]) == (N_CLIP, 1)
    state = "return [document.getElementById('pm-video').readyState, document.getElementById('pm-video').duration]"
    deadline = time.time() + 20
    while driver.execute_script(state)[0] < 2 and time.time() < deadline:
        time.sleep(0.05)
    ready, duration = driver.execute_script(state)
    assert ready >= 2 and abs(duration - N_CLIP / 30) < 0.1  # overlay.mp4 loaded beside the 3D view
    box = driver.execute_script("const r = document.getElementById('pm-video').getBoundingClientRect();"
                                "const p = document.querySelector('#pm-plot .main-svg').getBoundingClientRect();"
                                "return [r.left, r.right, r.width, window.innerWidth, p.right]")
    assert box[2] > 100 and box[1] <= box[3] and box[4] <= box[0] + 1  # on screen, beside the 3D view

    driver.execute_script("window.posemambaViewer.seek(40)")
    assert abs(driver.execute_script("return window.posemambaViewer.videoTime") - times[40]) < 0.5 / 30
    driver.execute_script("window.posemambaViewer.seek(0); window.posemambaViewer.play()")
    read = "const v = window.posemambaViewer; return [v.frame, v.lastTick, v.videoTime]"
    deadline = time.time() + 20
    while driver.execute_script(read)[0] < 10 and time.time() < deadline:
        time.sleep(0.05)
    frame, tick, video_time = driver.execute_script(read)  # while both play
    driver.execute_script("window.posemambaViewer.pause()")
    assert frame >= 10 and tick["byVideo"]  # it played, timed by the video
    assert times[frame] <= tick["sec"] + 1e-6 and (frame == N_CLIP - 1 or tick["sec"] < times[frame + 1])
    assert 0 <= video_time - tick["sec"] < 0.5  # the video's own time, read a moment later
    _offline_and_clean(driver)


def test_keys_and_timeline_step_scrub_play_and_change_speed(driver, tmp_path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page = write_viewer(tmp_path, walking_scene(300, 2))
    _open(driver, page)
    state = "const v = window.posemambaViewer; return [v.frame, v.speed, v.playing]"

    def press(*keys: str) -> list:
        ActionChains(driver).send_keys(*keys).perform()
        return driver.execute_script(state)

    assert press(Keys.ARROW_RIGHT) == [1, 1, False]
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT).key_up(Keys.SHIFT).perform()
    assert driver.execute_script(state)[0] == 31  # one second
    assert press(Keys.ARROW_LEFT)[0] == 30
    assert press(Keys.END)[0] == 299 and press(Keys.HOME)[0] == 0
    assert press("+")[1] == 2 and press("-")[1] == 1 and press("-")[1] == 0.5
    driver.execute_script("const r = document.getElementById('pm-timeline'); r.value = 150;"
                          "r.dispatchEvent(new Event('input'))")  # dragging the timeline
    assert driver.execute_script(state)[0] == 150
    assert press(" ")[2] is True
    time.sleep(0.3)
    frame, _, playing = press(" ")
    assert not playing and frame > 150
    _offline_and_clean(driver)
