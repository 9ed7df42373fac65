"""`viewer.html`: one self-contained page (plotly.js from the plotly package inlined, the poses packed in)."""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources
from pathlib import Path

import numpy as np

from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.skeleton import H36M_BONES, H36M_JOINTS
from posemamba_cli.viewer.pack import pack_scene
from posemamba_cli.viewer.scene import ViewerScene

VIEWER_FILE = "viewer.html"
TRAIL_SECONDS = 3.0  # the floor path behind each person
TRAIL_POINTS = 31
MARGIN_MM = 1000.0


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs  # the plotly wheel carries plotly.min.js

    return get_plotlyjs().replace("</script", "<\\/script")


def _bounds(joints_mm: np.ndarray, grid_mm: float) -> list[float]:
    """[xmin, xmax, ymin, ymax, zmax] of every joint, with a margin, on the grid (a 2 m square when empty)."""
    finite = joints_mm[np.isfinite(joints_mm).all(-1)]
    if not len(finite):
        finite = np.array([[-1000.0, -1000.0, 0.0], [1000.0, 1000.0, 1800.0]])
    lo = np.floor((finite[:, :2].min(0) - MARGIN_MM) / grid_mm) * grid_mm
    hi = np.ceil((finite[:, :2].max(0) + MARGIN_MM) / grid_mm) * grid_mm
    return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(max(2000.0, finite[:, 2].max() + 400.0))]


def page_html(scene: ViewerScene, videos: dict[str, str] | None = None, title: str = "posemamba viewer") -> str:
    """The whole page. `videos`: name -> path relative to the page (e.g. {"overlay": "overlay.mp4"}), shown
    beside the 3D view in sync (the first one unless the URL says `?video=NAME`)."""
    data, info = pack_scene(scene.joints_mm, scene.times_s)
    extent = _bounds(scene.joints_mm, 1000.0)
    grid_mm = 1000.0 if max(extent[1] - extent[0], extent[3] - extent[2]) <= 40000 else 5000.0
    fps = scene.fps if math.isfinite(scene.fps) and scene.fps > 0 else 30.0
    meta = {
        "nPeople": scene.n_people, "nFrames": scene.n_frames, "fps": fps,
        "scale": info["scale"], "maskBytes": info["maskBytes"], "bones": [list(b) for b in H36M_BONES],
        "head": H36M_JOINTS.index("head"), "colors": scene.colors_hex(), "labels": scene.labels(),
        "trackIds": [int(i) for i in scene.track_ids], "bounds": _bounds(scene.joints_mm, grid_mm), "gridMm": grid_mm,
        "trailSeconds": TRAIL_SECONDS, "trailPoints": TRAIL_POINTS, "world": scene.world, "note": scene.note,
        "videos": dict(videos or {}),
    }  # fmt: skip
    template = resources.files("posemamba_cli.viewer").joinpath("template.html").read_text(encoding="utf-8")
    script = resources.files("posemamba_cli.viewer").joinpath("viewer.js").read_text(encoding="utf-8")
    parts = {
        "__TITLE__": html.escape(title),
        "__META__": json.dumps(meta).replace("<", "\\u003c"),
        "__DATA__": data,
        "__VIEWER__": script.replace("</script", "<\\/script"),
        "__PLOTLY__": _plotly_js(),
    }
    return re.sub(r"__(TITLE|META|DATA|VIEWER|PLOTLY)__", lambda m: parts[m.group(0)], template)  # one pass


def write_viewer(
    folder: str | Path, scene: ViewerScene, videos: dict[str, str] | None = None, title: str = "posemamba viewer"
) -> Path:
    """Write `folder/viewer.html` (temporary name, then renamed) and return its path."""
    final = Path(folder) / VIEWER_FILE
    with atomic_path(final) as tmp:
        tmp.write_text(page_html(scene, videos, title), encoding="utf-8")
    return final
