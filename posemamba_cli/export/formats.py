"""The export formats and file names, light to import (the writers load only when used)."""

from __future__ import annotations

from collections.abc import Iterable

from posemamba_cli.errors import PoseMambaError

FORMATS = ("bvh", "glb")


def parse_formats(value: str | Iterable[str] | None, option: str = "--format") -> tuple[str, ...]:
    """"bvh,glb" (or a list of names) -> ("bvh", "glb"); PoseMambaError (one line) for an unknown name."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else [n for v in value for n in str(v).split(",")]
    names = [n.strip().lower().lstrip(".") for n in items if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise PoseMambaError(
            f"{option}: unknown export format {unknown[0]!r} (choose from {', '.join(FORMATS)})" if unknown
            else f"{option}: no export format given (choose from {', '.join(FORMATS)})"
        )  # fmt: skip
    return tuple(dict.fromkeys(names))


def person_file(track_id: int, fmt: str) -> str:
    """The file name of one person's export: person_<track id>.<format>."""
    return f"person_{int(track_id)}.{fmt}"
