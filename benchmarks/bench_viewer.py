"""How fast viewer.html opens and plays a long result in headless Chromium (issue 21's target: a 10-minute,
30 fps, 3-person result opens in under 3 s and plays at the video's rate).

    python benchmarks/bench_viewer.py                      # 10 min, 30 fps, 3 people, 3 cold opens
    python benchmarks/bench_viewer.py --minutes 1 --runs 1 --no-video

Each run starts a fresh browser (no code cache: a cold open, as a double click gives) and reports, from the
navigation's start: the page parsed (DOM interactive), the viewer ready and frame 0 drawn. Then it plays
10 s, without and with a 10-minute mp4 beside it (made with ffmpeg's test source), and reports the media
seconds played per wall second and the distinct frames drawn per second. It also prints the page's size,
what it is made of, and the size the poses would take in other packings. Needs chromium, chromedriver
(Debian) and selenium. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from posemamba_cli.viewer.headless import chromium, console_errors, missing_browser, open_viewer, wait_drawn
from posemamba_cli.viewer.pack import pack_scene, quantize
from posemamba_cli.viewer.page import write_viewer
from posemamba_cli.viewer.synthetic import walking_scene


def packings(joints: np.ndarray, times: np.ndarray) -> dict[str, float]:
    """MB of the poses in a few packings (the page uses the last)."""
    q, _, _ = quantize(joints)
    as_json = json.dumps(np.round(np.nan_to_num(joints), 1).tolist(), separators=(",", ":"))
    return {
        "JSON numbers, 0.1 mm": len(as_json) / 1e6,
        "float32, base64": len(base64.b64encode(joints.astype(np.float32).tobytes())) / 1e6,
        "int16 mm, base64": len(base64.b64encode(q.tobytes())) / 1e6,
        "int16 mm, gzip, base64": len(base64.b64encode(gzip.compress(q.tobytes(), 6))) / 1e6,
        "int16 mm time deltas, gzip, base64 (used)": len(pack_scene(joints, times)[0]) / 1e6,
    }


def make_video(path: Path, seconds: float, fps: float) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=640x360:rate={fps}",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    str(path)], check=True)  # fmt: skip


def browser_cpu_s(driver) -> float:
    """CPU seconds used so far by the browser's processes (all of them: renderer, GPU, browser)."""
    import psutil

    procs = psutil.Process(driver.service.process.pid).children(recursive=True)
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def play(driver, seconds: float) -> tuple[float, float, float]:
    """Media seconds per wall second, distinct frames drawn per second, and browser CPU ms per drawn frame
    over `seconds` of playing (the last is what a busy machine does not change much)."""
    start = driver.execute_script("const v = window.posemambaViewer; v.seek(300); return v.draws")
    time.sleep(0.5)
    cpu = browser_cpu_s(driver)
    start = driver.execute_script(
        "const v = window.posemambaViewer; v.play(); return [v.draws, v.frame, performance.now()]")
    time.sleep(seconds)
    cpu = browser_cpu_s(driver) - cpu
    end = driver.execute_script(
        "const v = window.posemambaViewer; const r = [v.draws, v.frame, performance.now()]; v.pause(); return r")
    wall = (end[2] - start[2]) / 1000
    fps = driver.execute_script("return window.posemambaViewer.fps")
    return (end[1] - start[1]) / fps / wall, (end[0] - start[0]) / wall, 1000 * cpu / max(1, end[0] - start[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jitter-mm", type=float, default=5.0, help="noise on the joints, as a lifter's output has")
    parser.add_argument("--play-seconds", type=float, default=10.0)
    parser.add_argument("--size", default="1280x720", help="browser window")
    parser.add_argument("--no-video", action="store_true", help="skip the run with an mp4 beside the 3D view")
    args = parser.parse_args()
    why = missing_browser()
    if why:
        raise SystemExit(why)
    width, height = map(int, args.size.split("x"))
    n_frames = int(round(args.minutes * 60 * args.fps))
    scene = walking_scene(n_frames, args.people, args.fps, jitter_mm=args.jitter_mm)
    folder = Path(tempfile.mkdtemp(prefix="bench_viewer_"))
    start = time.perf_counter()
    page = write_viewer(folder, scene)
    written = time.perf_counter() - start
    from plotly.offline import get_plotlyjs

    print(f"{args.minutes:g} min, {args.fps:g} fps, {args.people} people: {n_frames} frames")
    print(f"viewer.html {page.stat().st_size / 1e6:.2f} MB written in {written:.2f} s "
          f"(plotly.js {len(get_plotlyjs()) / 1e6:.2f} MB)")
    for name, mb in packings(scene.joints_mm, scene.times_s).items():
        print(f"  poses as {name}: {mb:.2f} MB")

    opens, draws = [], []
    for run in range(args.runs):
        driver = chromium(width, height)  # a fresh browser: a cold open
        try:
            cpu = browser_cpu_s(driver)
            info = open_viewer(driver, page)
            wait_drawn(driver, 0)
            cpu = browser_cpu_s(driver) - cpu
            nav = driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0]; return [n.domInteractive, performance.now()]")
            opens.append((nav[0], info["readyAt"], nav[1], cpu))
            rate, fps, cpu_ms = play(driver, args.play_seconds)
            draws.append((rate, fps, cpu_ms))
            errors = console_errors(driver)
            print(f"run {run + 1}: parsed {nav[0] / 1000:.2f} s, ready {info['readyAt'] / 1000:.2f} s, "
                  f"frame 0 on screen by {nav[1] / 1000:.2f} s ({cpu:.2f} s browser CPU); "
                  f"playing: {rate:.2f} media s per s, "
                  f"{fps:.1f} frames drawn per s, {cpu_ms:.0f} ms browser CPU per drawn frame"
                  f"{'; console errors: ' + str(errors) if errors else ''}")
        finally:
            driver.quit()
    ready = statistics.median(o[1] for o in opens) / 1000
    open_cpu = statistics.median(o[3] for o in opens)
    print(f"median: ready {ready:.2f} s ({open_cpu:.2f} s browser CPU), "
          f"playing {statistics.median(d[0] for d in draws):.2f}x real time, "
          f"{statistics.median(d[1] for d in draws):.1f} frames drawn per s, "
          f"{statistics.median(d[2] for d in draws):.0f} ms browser CPU per drawn frame")

    if not args.no_video:
        make_video(folder / "overlay.mp4", n_frames / args.fps, args.fps)
        page = write_viewer(folder, scene, {"overlay": "overlay.mp4"})
        driver = chromium(width, height)
        try:
            open_viewer(driver, page)
            driver.execute_script("window.posemambaViewer.seek(300)")
            time.sleep(1.0)
            rate, fps, cpu_ms = play(driver, args.play_seconds)
            print(f"with a {n_frames / args.fps / 60:g}-minute mp4 beside it: {rate:.2f} media s per s, "
                  f"{fps:.1f} frames drawn per s, {cpu_ms:.0f} ms browser CPU per drawn frame")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
