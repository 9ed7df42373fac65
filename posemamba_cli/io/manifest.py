"""A result folder's manifest (posemamba_manifest.json): written last, it marks the folder as posemamba's and
complete and lists every file posemamba wrote there."""

from __future__ import annotations

import json
from pathlib import Path

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path

MANIFEST = "posemamba_manifest.json"
MANIFEST_FORMAT = "posemamba-infer-output/1"


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a result folder this tool wrote, or None (absent, unreadable, or not ours)."""
    path = Path(folder) / MANIFEST
    if Path(folder).is_symlink() or not path.is_file() or path.is_symlink():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if _manifest_ok(doc) else None


def _manifest_ok(doc: object) -> bool:
    """Our manifest's layout: a hand-edited one that breaks it is not ours (its folder is left untouched)."""
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT:
        return False
    files, counts = doc.get("files"), [doc.get(k, 0) for k in ("n_frames", "n_people")]
    return (isinstance(files, list) and all(isinstance(f, str) and f and "/" not in f and "\\" not in f
                                            and f not in (".", "..") for f in files)
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)
            and isinstance(doc.get("video", ""), str))  # fmt: skip


def write_manifest(
    folder: Path, video: Path, files: list[str], n_frames: int, n_people: int, extra: dict | None = None
) -> None:
    """Mark `folder` as a complete result of this tool, listing every file it wrote there (`extra`: more keys)."""
    doc = {
        "format": MANIFEST_FORMAT,
        "video": str(Path(video).resolve()),
        "files": sorted(files),
        "n_frames": int(n_frames),
        "n_people": int(n_people),
        **(extra or {}),
    }
    (Path(folder) / MANIFEST).write_text(json.dumps(doc, indent=1))


def add_manifest_files(folder: Path, names: list[str]) -> None:
    """Add `names` to the `files` of a finished result's manifest (rewritten through a temporary name)."""
    doc = read_manifest(folder)
    if doc is None:
        raise PoseMambaError(f"{folder}: not a finished posemamba result (no manifest)")
    doc["files"] = sorted(set(doc["files"]) | set(names))
    with atomic_path(Path(folder) / MANIFEST) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
