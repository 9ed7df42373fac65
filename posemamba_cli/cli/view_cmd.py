"""`posemamba view RESULT`: open a result's viewer.html in the browser, or serve its folder on 127.0.0.1."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class VideoChoice(str, Enum):
    auto = "auto"
    overlay = "overlay"
    source = "source"
    none = "none"


def view(
    result: Path = typer.Argument(..., help="A result folder (<video>_posemamba) or its viewer.html."),
    serve: bool = typer.Option(
        False, "--serve", help="Serve the folder on 127.0.0.1 at a free port (for browsers that refuse local video "
        "under file://); stops on Ctrl-C."),
    video: VideoChoice = typer.Option(
        VideoChoice.auto, "--video", help="The video beside the 3D view: overlay.mp4, the source video, or none."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the page in the default browser."),
) -> None:
    """Open the interactive 3D viewer of a result (prints the page's path or address)."""
    from posemamba_cli.viewer.serve import open_page, resolve_page, serve_folder

    page = resolve_page(result)
    query = "" if video is VideoChoice.auto else f"?video={video.value}"
    if serve:
        serve_folder(page, query, open_browser=browser)
    else:
        open_page(page, query, open_browser=browser)

