"""Import ultralytics offline: no network checks, no telemetry, no auto-install, no user settings writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import ModuleType


def import_ultralytics() -> ModuleType:
    """Import ultralytics with telemetry and auto-install off and its settings in a private temp folder.

    Ultralytics writes a settings file on first import; pointing `YOLO_CONFIG_DIR` at a folder of ours keeps
    the user's configuration untouched. Variables the user already set are respected.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no connectivity checks; ultralytics' telemetry needs ONLINE
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    private = "YOLO_CONFIG_DIR" not in os.environ
    if private:
        folder = Path(tempfile.gettempdir()) / f"posemamba-ultralytics-{os.getuid() if hasattr(os, 'getuid') else 0}"
        folder.mkdir(mode=0o700, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(folder)
    from posemamba_cli.compat.torchvision_ops import ensure_torchvision

    ensure_torchvision()
    import ultralytics
    from ultralytics.utils import SETTINGS

    if private and SETTINGS.get("sync"):
        SETTINGS["sync"] = False  # only in our private settings file; a user's own settings are left alone
    return ultralytics
