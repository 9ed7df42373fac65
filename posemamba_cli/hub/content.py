"""Telling what a downloaded file is from its bytes: a torch archive, a zip of files, or an HTML page."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)

# Google Drive answers with an HTML page (HTTP 200) when it will not serve the file; these phrases tell why.
_DRIVE_REASONS = (
    (re.compile(r"quota|too many users", re.I),
     "Google Drive's download quota for this file is exceeded (too many downloads recently)"),
    (re.compile(r"request access|you need access|need permission|access denied", re.I),
     "the Google Drive file is not shared publicly (Drive asks for access)"),
    (re.compile(r"sign in|accounts\.google\.com", re.I),
     "Google Drive asks to sign in instead of serving the file"),
    (re.compile(r"virus scan|can't scan", re.I),
     "Google Drive served its large-file warning page instead of the file"),
)


def read_head(path: str | Path, size: int = 4096) -> bytes:
    """The first `size` bytes of a file."""
    with open(path, "rb") as fh:
        return fh.read(size)


def looks_like_html(head: bytes) -> bool:
    """True when the bytes start an HTML document (an error or login page rather than a checkpoint)."""
    return bool(_HTML_START.match(head.lstrip(b"\xef\xbb\xbf")))


def drive_refusal_reason(page: bytes | str) -> str:
    """Why Google Drive sent an HTML page instead of the file, as one short phrase."""
    text = page.decode("utf-8", "replace") if isinstance(page, bytes) else page
    for pattern, reason in _DRIVE_REASONS:
        if pattern.search(text):
            return reason
    return "Google Drive sent an HTML page instead of the file"


def is_torch_archive(path: str | Path) -> bool:
    """True for torch.save's zip format (a zip whose top folder holds `data.pkl`)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.count("/") == 1 and n.endswith("/data.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def is_plain_zip(path: str | Path) -> bool:
    """True for a zip archive of files (not a torch checkpoint that happens to be a zip)."""
    return zipfile.is_zipfile(path) and not is_torch_archive(path)


def looks_like_torch_file(path: str | Path) -> bool:
    """True for torch.save output: its zip format, or the legacy format (a pickle, protocol 2+)."""
    return is_torch_archive(path) or read_head(path, 2)[:1] == b"\x80"
