"""The viewer files of one result folder: viewer.html and, when asked, recording.rrd."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from posemamba_cli.viewer.page import VIEWER_FILE, write_viewer
from posemamba_cli.viewer.scene import scene_from_result

OVERLAY_VIDEO = "overlay.mp4"


def page_videos(folder: Path, source_video: str | Path | None) -> dict[str, str]:
    """The videos the page can show, as URLs relative to the page: the folder's overlay.mp4 when there,
    and the source video (relative to the folder's parent, so a result renamed in place keeps it)."""
    videos = {}
    if (folder / OVERLAY_VIDEO).is_file():
        videos["overlay"] = OVERLAY_VIDEO
    if source_video is not None:
        videos["source"] = quote(Path(os.path.relpath(Path(source_video).resolve(), folder.resolve())).as_posix())
    return videos


def write_result_views(
    folder: str | Path, source_video: str | Path | None = None, viewer: bool = True, rerun: bool = False
) -> list[str]:
    """Write the folder's viewer.html (from its pose3d.npz) and/or recording.rrd; the names written."""
    folder = Path(folder)
    written = []
    if viewer:
        name = Path(source_video).name if source_video is not None else folder.name
        write_viewer(folder, scene_from_result(folder), page_videos(folder, source_video), title=f"{name} - posemamba")
        written.append(VIEWER_FILE)
    if rerun:
        from posemamba_cli.viewer.recording import RECORDING_FILE, write_recording

        candidates = [Path(source_video)] if source_video is not None else []
        write_recording(folder, candidates + [folder / OVERLAY_VIDEO])
        written.append(RECORDING_FILE)
    return written
