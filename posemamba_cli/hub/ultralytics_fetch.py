"""The detector weights, fetched by asset name through ultralytics' own download helper."""

from __future__ import annotations

import shutil
from pathlib import Path

from posemamba_cli.hub.errors import DownloadError


def _attempt_download_asset(target: Path) -> None:
    """The only call into ultralytics: fetch the asset named `target.name` to `target`."""
    from posemamba_cli.compat.torchvision_ops import ensure_torchvision

    ensure_torchvision()
    from ultralytics.utils.downloads import attempt_download_asset

    attempt_download_asset(target)


def ultralytics_download(asset: str, dest: Path, *, label: str) -> None:
    """Fetch ultralytics asset `asset` (e.g. 'yolo11n.pt') and move it to `dest`.

    ultralytics writes into a staging folder beside `dest`, which is removed whatever happens.
    """
    staging = dest.parent / f".{dest.name}.staging"
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / asset
    try:
        _attempt_download_asset(target)
        if not target.is_file():
            raise DownloadError(f"{label}: ultralytics could not fetch {asset} (offline, or no such asset)")
        target.replace(dest)
    except DownloadError:
        raise
    except (ConnectionError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.encode("ascii", "ignore").decode().strip()
        raise DownloadError(f"{label}: ultralytics could not download {asset} ({first})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
