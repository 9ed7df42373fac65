"""HTTP(S) downloads into a `.part` file: Range resume, bounded timeouts, env proxies, one-line errors.

`requests` honours HTTP(S)_PROXY / ALL_PROXY / NO_PROXY from the environment. The connect timeout bounds
reaching the server; the stall timeout bounds every wait for the next bytes (not the whole transfer).
Interrupted or stalled transfers are retried from where they stopped; when retries run out the `.part`
file stays so that running the same command again resumes it.
"""

from __future__ import annotations

import errno
import re
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3

from posemamba_cli import __version__
from posemamba_cli.hub.errors import DownloadError
from posemamba_cli.hub.progress import TransferBar

CHUNK = 1 << 16


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, and for the next bytes of a response."""

    connect: float = 15.0
    stall: float = 60.0


class _Transient(Exception):
    """A failure worth retrying from where the transfer stopped."""


class _Restart(Exception):
    """The server cannot continue the partial file: it was deleted; start again from byte 0."""


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes, contexts and wrapped reasons (requests nests urllib3's several deep)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        stack += [cur.__cause__, cur.__context__, getattr(cur, "reason", None)]
        stack += [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]


def _has(exc: BaseException, *types: type) -> bool:
    return any(isinstance(c, types) for c in _causes(exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def describe_network_error(exc: BaseException, url: str, timeouts: Timeouts) -> tuple[str, bool]:
    """(one-line reason, transient?) for an exception raised while talking to `url`'s server."""
    host = urlsplit(url).netloc or url
    if _has(exc, urllib3.exceptions.NameResolutionError, socket.gaierror):
        return f"cannot resolve {host}: offline or DNS failure (check the network or proxy settings)", False
    if _has(exc, requests.exceptions.ProxyError, urllib3.exceptions.ProxyError):
        return f"the proxy failed while fetching from {host} ({_first_line(exc)})", False
    if _has(exc, ConnectionRefusedError):  # before timeouts: urllib3's NewConnectionError subclasses them
        return f"connection refused by {host}", False
    if _has(exc, requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        return f"could not connect to {host} within {timeouts.connect:g} s (offline or blocked?)", False
    if _has(exc, requests.exceptions.SSLError):
        return f"TLS/SSL error talking to {host} ({_first_line(exc)})", False
    if _has(exc, requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError,
            socket.timeout):
        return f"{host} sent no data for {timeouts.stall:g} s (stalled)", True
    if _has(exc, requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError,
            ConnectionResetError, requests.exceptions.ConnectionError):
        return f"the connection to {host} broke ({_first_line(exc)})", True
    return f"network error talking to {host} ({_first_line(exc)})", False


def describe_disk_error(exc: OSError, folder: Path) -> str:
    """One line for a failed write into `folder`."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        try:
            free = f" ({shutil.disk_usage(folder).free / 1e6:.0f} MB free)"
        except OSError:
            free = ""
        return f"disk full while writing into {folder}{free}"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write into {folder} (read-only or permission denied); choose another folder "
                "with --dir or POSEMAMBA_WEIGHTS_DIR")
    return f"cannot write into {folder} ({exc.strerror or exc})"


def _range_start_total(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) from `Content-Range: bytes a-b/total` or `bytes */total`."""
    m = re.match(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", header or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


def _transfer_once(session: requests.Session, url: str, part: Path, label: str, timeouts: Timeouts,
                   bar: TransferBar, manual: str) -> None:
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"posemamba-cli/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = session.get(url, headers=headers, stream=True, timeout=(timeouts.connect, timeouts.stall))
    except requests.RequestException as exc:
        reason, transient = describe_network_error(exc, url, timeouts)
        if transient:
            raise _Transient(reason) from None
        raise DownloadError(f"{label}: {reason}") from None
    with resp:
        status = resp.status_code
        if status == 416 and offset:
            _, total = _range_start_total(resp.headers.get("Content-Range"))
            if total == offset:  # the .part already holds the whole file
                bar.start(total, total)
                return
            part.unlink()
            raise _Restart("the server could not resume the partial file")
        if status >= 500:
            raise _Transient(f"HTTP {status} {resp.reason} from {urlsplit(url).netloc}")
        if status >= 400:
            part.unlink(missing_ok=True)  # the file is gone or refused: a partial copy of it is useless
            raise DownloadError(f"{label}: HTTP {status} {resp.reason or ''} for {url}".rstrip())
        if "text/html" in resp.headers.get("Content-Type", "").lower():
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{label}: {urlsplit(url).netloc} sent an HTML page instead of the file (a dead link, a login "
                f"or an error page); download it by hand from {manual}"
            )
        mode = "wb"
        if status == 206:
            start, _ = _range_start_total(resp.headers.get("Content-Range"))
            if start != offset:
                part.unlink(missing_ok=True)
                raise _Restart("the server resumed at the wrong offset")
            mode = "ab"
        else:
            offset = 0
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        total = offset + length if length is not None else None
        if length is not None:
            free = shutil.disk_usage(part.parent).free
            if length > free:
                raise DownloadError(
                    f"{label}: disk full: {length / 1e6:.0f} MB needed in {part.parent}, {free / 1e6:.0f} MB free"
                )
        bar.start(total, offset)
        received = 0
        try:
            with open(part, mode) as fh:
                for chunk in resp.iter_content(CHUNK):
                    fh.write(chunk)
                    received += len(chunk)
                    bar.advance(len(chunk))
        except requests.RequestException as exc:
            reason, _ = describe_network_error(exc, url, timeouts)
            raise _Transient(reason) from None
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise DownloadError(f"{label}: {describe_disk_error(exc, part.parent)}; the partial file was deleted") \
                from None
        if length is not None and received < length:
            raise _Transient(f"the connection closed after {offset + received} of {total} bytes")


def http_download(url: str, part: Path, *, label: str, timeouts: Timeouts = Timeouts(), retries: int = 2,
                  bar: TransferBar, manual: str | None = None, retry_wait: float = 0.5) -> None:
    """Download `url` into `part`, resuming from its current size; returns once the file is complete.

    Transient failures (stall, broken connection, HTTP 5xx) are retried `retries` times, each resuming
    with a Range request. Raises DownloadError with one line; the `.part` stays after a transient failure
    (run again to resume) and is removed after a permanent one when it holds nothing.
    """
    session = requests.Session()  # trust_env: proxies and NO_PROXY from the environment
    attempt = restarts = 0
    try:
        while True:
            try:
                _transfer_once(session, url, part, label, timeouts, bar, manual or url)
                return
            except _Restart as exc:
                restarts += 1
                if restarts > 1:
                    raise DownloadError(f"{label}: {exc} twice in a row; try again later") from None
            except _Transient as exc:
                attempt += 1
                if attempt > retries:
                    kept = part.exists() and part.stat().st_size > 0
                    if not kept:
                        part.unlink(missing_ok=True)
                    hint = (f"{part.stat().st_size} bytes kept in {part.name}; run the same command again to resume"
                            if kept else "try again later")
                    raise DownloadError(f"{label}: {exc}; {hint}") from None
                time.sleep(retry_wait * attempt)
    except DownloadError:
        if part.exists() and part.stat().st_size == 0:
            part.unlink()
        raise
    finally:
        session.close()
