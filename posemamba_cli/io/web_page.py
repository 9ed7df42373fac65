"""Recognise a web page saved where a binary file was expected (a download that fetched an error page)."""

from __future__ import annotations

from pathlib import Path

_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<!--", b"<?xml")


def web_page_message(path: str | Path) -> str | None:
    """'<path>: this is a web page, not a checkpoint: ...' when the file starts like HTML, else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    except OSError:
        return None
    if head.startswith(_HTML_STARTS):
        return f"{path}: this is a web page, not a checkpoint: the download failed (fetch the file again)"
    return None
