"""Import ultralytics offline: no network checks, no telemetry, no auto-install, no user settings writes."""

from __future__ import annotations

from types import ModuleType

from posemamba_cli import settings


def import_ultralytics() -> ModuleType:
    """Import ultralytics with telemetry and auto-install off and its settings in a private temp folder.

    Ultralytics writes a settings file on first import; pointing `YOLO_CONFIG_DIR` at a folder of ours keeps
    the user's configuration untouched. Variables the user already set are respected.
    """
    private = settings.quiet_ultralytics_environment()
    from posemamba_cli.compat.torchvision_ops import ensure_torchvision

    ensure_torchvision()
    import ultralytics
    from ultralytics.utils import SETTINGS

    if private and SETTINGS.get("sync"):
        SETTINGS["sync"] = False  # only in our private settings file; a user's own settings are left alone
    return ultralytics
