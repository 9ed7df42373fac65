"""The 3D viewer page (`viewer.html`) and the rerun recording of a result: they read arrays or a result folder."""

from posemamba_cli.viewer.page import VIEWER_FILE, write_viewer
from posemamba_cli.viewer.scene import ViewerScene, scene_from_result

__all__ = ["VIEWER_FILE", "ViewerScene", "scene_from_result", "write_viewer"]
