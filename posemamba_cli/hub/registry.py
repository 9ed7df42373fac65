"""The weights registry: every model the tool can fetch, read from JSON data (never from code paths).

The built-in registry ships as package data (`registry.json`). `POSEMAMBA_REGISTRY=/path/file.json`, or a
`Registry` passed explicitly, replaces it (tests and mirrors use this to point the names at other URLs).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from posemamba_cli import settings
from posemamba_cli.hub.errors import RegistryError
from posemamba_cli.model.config import preset_name

FORMAT = "posemamba-weights-registry/1"
KINDS = ("posemamba", "hrnet", "yolo")
SOURCES = ("url", "gdrive_id", "ultralytics")
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class WeightsEntry:
    """One downloadable artifact.

    Exactly one source is set: `url` (HTTP(S)), `gdrive_id` (Google Drive, fetched with gdown) or
    `ultralytics` (an asset name fetched through ultralytics' own helper). `model` says what the file must
    hold: for posemamba `{"preset": "S", "num_frame": 243}` or `{"config": {...PoseMamba kwargs}}`; for
    hrnet `{"width": 32, "input_size": [w, h], "decoding": "plain" | "dark"}`.
    """

    name: str
    kind: str
    file: str
    description: str = ""
    url: str | None = None
    gdrive_id: str | None = None
    ultralytics: str | None = None
    page: str | None = None
    size: int | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None
    model: Mapping[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """'url', 'gdrive_id' or 'ultralytics'."""
        return next(s for s in SOURCES if getattr(self, s))

    @property
    def source_label(self) -> str:
        """A short human label of where the file comes from."""
        if self.url:
            host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", self.url)
            return ".".join(host.split(".")[-2:])
        if self.gdrive_id:
            return "Google Drive"
        return "ultralytics"

    @property
    def manual_url(self) -> str:
        """Where a person can download the file by hand."""
        if self.page:
            return self.page
        if self.url:
            return self.url
        if self.gdrive_id:
            return f"https://drive.google.com/file/d/{self.gdrive_id}/view"
        return "https://github.com/ultralytics/assets/releases"


def _entry_from_dict(raw: Mapping[str, Any], where: str) -> WeightsEntry:
    if not isinstance(raw, Mapping):
        raise RegistryError(f"{where}: each model must be a JSON object")
    known = set(WeightsEntry.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RegistryError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for key in ("name", "kind", "file"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise RegistryError(f"{where}: field '{key}' must be a non-empty string")
    name = raw["name"]
    if raw["kind"] not in KINDS:
        raise RegistryError(f"{where} ({name}): kind must be one of {', '.join(KINDS)}")
    if Path(raw["file"]).name != raw["file"] or raw["file"].startswith("."):
        raise RegistryError(f"{where} ({name}): 'file' must be a plain file name")
    given = [s for s in SOURCES if raw.get(s)]
    if len(given) != 1:
        raise RegistryError(f"{where} ({name}): exactly one of {', '.join(SOURCES)} must be set")
    for key, length in (("sha256", 64), ("sha256_prefix", None)):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _HEX.match(value) or (length and len(value) != length):
            raise RegistryError(f"{where} ({name}): '{key}' must be lowercase hex")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or size <= 0):
        raise RegistryError(f"{where} ({name}): 'size' must be a positive integer of bytes")
    preset = (raw.get("model") or {}).get("preset")
    if raw["kind"] == "posemamba" and preset is not None and preset_name(str(preset)) is None:
        raise RegistryError(f"{where} ({name}): unknown PoseMamba preset {preset!r} (S, B or L)")
    return WeightsEntry(**{k: v for k, v in raw.items() if v is not None or k in ("model",)})


class Registry:
    """Named entries plus the default set `download-weights` fetches with no names."""

    def __init__(self, entries: list[WeightsEntry], defaults: list[str] | None = None,
                 origin: str = "<memory>") -> None:
        self.origin = origin
        self._entries: dict[str, WeightsEntry] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise RegistryError(f"{origin}: model name '{entry.name}' appears twice")
            self._entries[entry.name] = entry
        self.defaults = list(defaults or [])
        missing = [d for d in self.defaults if d not in self._entries]
        if missing:
            raise RegistryError(f"{origin}: default(s) not in the registry: {', '.join(missing)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<memory>") -> Registry:
        """Build from the JSON layout: `{"format": ..., "defaults": [...], "models": [...]}`."""
        if not isinstance(data, Mapping) or not isinstance(data.get("models"), list):
            raise RegistryError(f"{origin}: expected an object with a 'models' list")
        if data.get("format", FORMAT) != FORMAT:
            raise RegistryError(f"{origin}: unsupported registry format {data.get('format')!r}")
        entries = [_entry_from_dict(m, f"{origin} model #{i + 1}") for i, m in enumerate(data["models"])]
        return cls(entries, data.get("defaults"), origin)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Registry:
        """Read a registry JSON file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RegistryError(f"registry file not found: {path}") from None
        except (OSError, ValueError) as exc:
            raise RegistryError(f"cannot read registry {path}: {exc}") from None
        return cls.from_dict(data, str(path))

    def __iter__(self) -> Iterator[WeightsEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return self.find(name) is not None if isinstance(name, str) else False

    def find(self, name: str) -> WeightsEntry | None:
        """The entry called `name` (case-insensitive), or whose file name is `name`; else None."""
        key = name.strip().lower()
        for entry in self._entries.values():
            if entry.name.lower() == key or entry.file.lower() == key:
                return entry
        return None

    def get(self, name: str) -> WeightsEntry:
        """Like `find`, but an unknown name is a RegistryError listing close matches."""
        entry = self.find(name)
        if entry is not None:
            return entry
        close = difflib.get_close_matches(name.lower(), list(self._entries), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise RegistryError(
            f"unknown model '{name}'{hint}; `posemamba download-weights --list` shows the known names"
        )


def load_registry(path: str | os.PathLike | None = None) -> Registry:
    """The registry at `path`, else at $POSEMAMBA_REGISTRY, else the built-in one."""
    path = path or settings.registry_file()
    if path:
        return Registry.from_file(path)
    text = resources.files("posemamba_cli.hub").joinpath("registry.json").read_text(encoding="utf-8")
    return Registry.from_dict(json.loads(text), "built-in registry")
