"""Google Drive downloads through gdown (the published PoseMamba checkpoints live there).

The gdown call itself is kept in one thin function (`_gdown_download`); everything around it (error
wording, Drive refusal pages) is plain code that tests exercise by replacing that one function.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import requests

from posemamba_cli.hub.content import drive_refusal_reason
from posemamba_cli.hub.errors import DownloadError
from posemamba_cli.hub.http_fetch import Timeouts, describe_disk_error, describe_network_error
from posemamba_cli.hub.progress import TransferBar


def _gdown_download(file_id: str, output: Path, progress, timeouts: Timeouts, retries: int) -> None:
    """The only place gdown is called: fetch Drive file `file_id` into `output`, resuming partial files."""
    import gdown

    wanted = dict(id=file_id, output=str(output), quiet=True, resume=True, progress=progress,
                  timeout=(timeouts.connect, timeouts.stall), retries=retries)
    accepted = inspect.signature(gdown.download).parameters  # older gdown lacks progress/timeout/retries
    gdown.download(**{k: v for k, v in wanted.items() if k in accepted})


class _Reporter:
    """Adapts gdown's `progress(bytes_so_far, total)` callback to a TransferBar."""

    def __init__(self, bar: TransferBar) -> None:
        self.bar = bar
        self.done: int | None = None

    def __call__(self, so_far: int, total: int | None) -> None:
        if self.done is None:
            self.bar.start(total, 0)
            self.done = 0
        self.bar.advance(max(so_far - self.done, 0))
        self.done = so_far


def gdrive_download(file_id: str, dest: Path, *, label: str, timeouts: Timeouts, retries: int,
                    bar: TransferBar, by_hand: str) -> None:
    """Download Drive file `file_id` to `dest`; every failure is a one-line DownloadError.

    `by_hand` ends the messages of refusals, e.g. "download <page> by hand and save it as <path>".
    """
    from gdown.exceptions import DownloadError as GdownDownloadError
    from gdown.exceptions import FileURLRetrievalError

    url = f"https://drive.google.com/uc?id={file_id}"
    try:
        _gdown_download(file_id, dest, _Reporter(bar), timeouts, retries)
    except FileURLRetrievalError as exc:
        raise DownloadError(f"{label}: {drive_refusal_reason(str(exc))}; try later, or {by_hand}") from None
    except GdownDownloadError as exc:
        network = exc.__cause__
        if isinstance(network, requests.RequestException):  # gdown's "failed after N retries"
            reason, transient = describe_network_error(network, url, timeouts)
            again = "; run the same command again to resume" if transient else ""
            raise DownloadError(f"{label}: {reason}{again}") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "transfer failed"
        raise DownloadError(f"{label}: Google Drive transfer failed ({first}); run the same command again "
                            "to resume") from None
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "error"
        raise DownloadError(f"{label}: Google Drive answered HTTP {code}; try later, or {by_hand}") from None
    except requests.RequestException as exc:
        reason, transient = describe_network_error(exc, url, timeouts)
        again = "; run the same command again to resume" if transient else ""
        raise DownloadError(f"{label}: {reason}{again}") from None
    except OSError as exc:
        raise DownloadError(f"{label}: {describe_disk_error(exc, dest.parent)}") from None
    if not dest.is_file():
        raise DownloadError(f"{label}: Google Drive sent no file; try later, or {by_hand}")
