"""Downloads against a real HTTP server on 127.0.0.1: resume, timeouts, bad content, errors, CLI lines."""

from __future__ import annotations

import collections
import errno
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import torch
from typer.testing import CliRunner

from posemamba_cli.cli.app import app
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.hub import (
    DownloadError,
    Registry,
    Timeouts,
    VerificationError,
    fetch_entry,
    http_fetch,
    ultralytics_fetch,
)
from posemamba_cli.hub import fetch as fetch_mod
from posemamba_cli.hub import gdrive as gdrive_mod
from posemamba_cli.pretrained import fits
from posemamba_cli.pretrained import resolve as resolve_weights

TINY = {"num_frame": 27, "dim_feat": 16, "depth": 2}
FAST = Timeouts(connect=2.0, stall=1.0)
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path  # absolute when we are used as a proxy
        srv = self.server
        with srv.lock:
            srv.requests.append((self.path, self.headers.get("Range")))
            count = srv.hits[path] = srv.hits.get(path, 0) + 1
        spec = srv.files.get(path)
        if spec is None:
            self.send_error(404, "Not Found")
            return
        body, mode, ctype = spec
        if mode == "html":
            page = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
            self._send(200, page, "text/html; charset=utf-8")
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and srv.ranges:
            start = int(rng[6:].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        chunk = body[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(chunk)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if mode == "slow":
            time.sleep(0.5)
        if mode == "stall":
            srv.stop.wait(20)  # headers sent, then nothing: the client's stall timeout must fire
            return
        if mode == "cut" and count == 1:  # first request: half the body, then the connection dies
            self.wfile.write(chunk[: len(chunk) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(chunk)

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, tuple[bytes, str, str]] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ranges = True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def serve(self, path: str, body: bytes, mode: str = "normal",
              ctype: str = "application/octet-stream") -> str:
        self.files[path] = (body, mode, ctype)
        return self.base + path


@pytest.fixture
def server(monkeypatch):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.stop.set()
    srv.shutdown()
    srv.server_close()


# --------------------------------------------------------------------------- payloads


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def tiny_ckpt() -> bytes:
    """A PoseMamba(27 frames, C=16, depth 2) in the published layout (module. prefix, model_pos)."""
    from posemamba_cli.model.posemamba import PoseMamba

    torch.manual_seed(0)
    state = PoseMamba(**TINY).state_dict()
    return _torch_bytes({"epoch": 3, "model_pos": {"module." + k: v for k, v in state.items()}})


@pytest.fixture(scope="module")
def wrong_shape_ckpt() -> bytes:
    from posemamba_cli.model.posemamba import PoseMamba

    state = PoseMamba(**{**TINY, "dim_feat": 8}).state_dict()
    return _torch_bytes({"model_pos": {"module." + k: v for k, v in state.items()}})


def _entry(url: str, data: bytes | None = None, name: str = "tiny", file: str = "tiny.pth.tr", **extra) -> dict:
    raw = {"name": name, "kind": "posemamba", "file": file, "url": url, "description": "tiny test lifter",
           "model": {"config": TINY}}
    if data is not None:
        raw["sha256"] = hashlib.sha256(data).hexdigest()
    raw.update(extra)
    return raw


def _registry(*entries: dict) -> Registry:
    return Registry.from_dict({"models": list(entries)}, "test registry")


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _fetch(entry_dict: dict, folder: Path, **kw):
    entry = _registry(entry_dict).get(entry_dict["name"])
    kw.setdefault("timeouts", FAST)
    kw.setdefault("progress", False)
    return fetch_entry(entry, folder, fits=fits, **kw)


# --------------------------------------------------------------------------- downloads


def test_normal_download_through_cli_then_present_and_listed(server, tiny_ckpt, tmp_path, monkeypatch):
    url = server.serve("/w/tiny.pth.tr", tiny_ckpt)
    reg_file = tmp_path / "registry.json"
    reg_file.write_text(json.dumps({"defaults": ["tiny"], "models": [_entry(url, tiny_ckpt)]}))
    monkeypatch.setenv("POSEMAMBA_REGISTRY", str(reg_file))
    folder = tmp_path / "weights"
    runner = CliRunner()

    result = runner.invoke(app, ["download-weights", "--dir", str(folder)])  # no names: the defaults
    assert result.exit_code == 0, result.output
    assert (folder / "tiny.pth.tr").read_bytes() == tiny_ckpt
    assert _listing(folder) == ["tiny.pth.tr"]
    assert "downloaded tiny" in result.output and "ok" in result.output

    again = runner.invoke(app, ["download-weights", "tiny", "--dir", str(folder)])
    assert again.exit_code == 0 and "present tiny" in again.output
    assert server.hits["/w/tiny.pth.tr"] == 1  # not fetched twice

    listed = runner.invoke(app, ["download-weights", "--list", "--dir", str(folder)])
    assert listed.exit_code == 0 and "tiny" in listed.output and "yes" in listed.output

    forced = runner.invoke(app, ["download-weights", "tiny", "--force", "--dir", str(folder)])
    assert forced.exit_code == 0 and server.hits["/w/tiny.pth.tr"] == 2


def test_weights_dir_from_environment(server, tiny_ckpt, tmp_path, monkeypatch):
    url = server.serve("/tiny.pth.tr", tiny_ckpt)
    reg_file = tmp_path / "registry.json"
    reg_file.write_text(json.dumps({"models": [_entry(url, tiny_ckpt)]}))
    monkeypatch.setenv("POSEMAMBA_REGISTRY", str(reg_file))
    monkeypatch.setenv("POSEMAMBA_WEIGHTS_DIR", str(tmp_path / "envdir"))
    result = CliRunner().invoke(app, ["download-weights", "tiny"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "envdir" / "tiny.pth.tr").is_file()


def test_cut_midway_is_resumed_with_a_range_request(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt, mode="cut")
    result = _fetch(_entry(url, tiny_ckpt), tmp_path, retries=1)
    assert result.path.read_bytes() == tiny_ckpt
    ranges = [r for p, r in server.requests]
    assert len(ranges) == 2 and ranges[0] is None
    resumed_at = int(ranges[1].removeprefix("bytes=").removesuffix("-"))
    assert 0 < resumed_at <= len(tiny_ckpt) // 2  # from what was saved before the cut, not from zero
    assert _listing(tmp_path) == ["tiny.pth.tr"]


def test_cut_without_retries_keeps_part_and_next_run_resumes(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt, mode="cut")
    with pytest.raises(DownloadError) as info:
        _fetch(_entry(url, tiny_ckpt), tmp_path, retries=0)
    message = str(info.value)
    assert "\n" not in message and "run the same command again to resume" in message
    assert _listing(tmp_path) == ["tiny.pth.tr.part"]  # nothing under the final name
    kept = (tmp_path / "tiny.pth.tr.part").stat().st_size
    assert 0 < kept <= len(tiny_ckpt) // 2 and f"{kept} bytes kept in tiny.pth.tr.part" in message

    result = _fetch(_entry(url, tiny_ckpt), tmp_path, retries=0)
    assert result.path.read_bytes() == tiny_ckpt
    assert server.requests[-1][1] == f"bytes={kept}-"
    assert _listing(tmp_path) == ["tiny.pth.tr"]


def test_server_without_range_support_restarts_cleanly(server, tiny_ckpt, tmp_path):
    server.ranges = False
    url = server.serve("/tiny.pth.tr", tiny_ckpt, mode="cut")
    result = _fetch(_entry(url, tiny_ckpt), tmp_path, retries=1)
    assert result.path.read_bytes() == tiny_ckpt  # a 200 answer to a Range request rewrites from zero


def test_complete_part_file_is_finished_without_download(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt)
    (tmp_path / "tiny.pth.tr.part").write_bytes(tiny_ckpt)  # e.g. killed during verification
    result = _fetch(_entry(url, tiny_ckpt), tmp_path)
    assert result.path.read_bytes() == tiny_ckpt and _listing(tmp_path) == ["tiny.pth.tr"]


def test_concurrent_fetches_of_one_model_download_it_once(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt, mode="slow")
    results, errors = [], []

    def worker():
        try:
            results.append(_fetch(_entry(url, tiny_ckpt), tmp_path))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and sorted(r.downloaded for r in results) == [False, True]
    assert server.hits["/tiny.pth.tr"] == 1 and _listing(tmp_path) == ["tiny.pth.tr"]


def test_stale_part_longer_than_the_file_restarts_from_zero(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt)
    (tmp_path / "tiny.pth.tr.part").write_bytes(b"x" * (len(tiny_ckpt) + 10))  # from another file version
    result = _fetch(_entry(url, tiny_ckpt), tmp_path, retries=0)
    assert result.path.read_bytes() == tiny_ckpt
    assert [r for _, r in server.requests] == [f"bytes={len(tiny_ckpt) + 10}-", None]  # 416, then from zero


def test_corrupt_file_fails_checksum_and_is_deleted(server, tiny_ckpt, tmp_path):
    corrupt = bytearray(tiny_ckpt)
    corrupt[len(corrupt) // 2] ^= 0xFF
    url = server.serve("/tiny.pth.tr", bytes(corrupt))
    with pytest.raises(VerificationError, match="checksum mismatch") as info:
        _fetch(_entry(url, tiny_ckpt), tmp_path)
    assert "\n" not in str(info.value)
    assert _listing(tmp_path) == []


def test_checksum_prefix_in_the_file_name_is_checked(server, tiny_ckpt, tmp_path):
    prefix = hashlib.sha256(tiny_ckpt).hexdigest()[:8]
    wrong = f"{int(prefix, 16) ^ 1:08x}"
    good_name, bad_name = f"tiny-{prefix}_20240101.pth", f"tiny-{wrong}_20240101.pth"
    good = server.serve("/" + good_name, tiny_ckpt)
    bad = server.serve("/" + bad_name, tiny_ckpt)
    ok = _fetch(_entry(good, name="good", file=good_name), tmp_path)
    assert "sha256 " + prefix in ok.detail
    with pytest.raises(VerificationError, match=f"expected {wrong}"):
        _fetch(_entry(bad, name="bad", file=bad_name), tmp_path)
    assert _listing(tmp_path) == [good_name]


def test_http_404_is_one_line_and_leaves_nothing(server, tmp_path):
    url = server.base + "/missing.pth"
    with pytest.raises(DownloadError) as info:
        _fetch(_entry(url), tmp_path)
    assert "HTTP 404" in str(info.value) and "\n" not in str(info.value)
    assert _listing(tmp_path) == []


def test_stalled_server_times_out_quickly(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt, mode="stall")
    with pytest.raises(DownloadError, match=r"sent no data for 1 s \(stalled\)"):  # how fast: bench_hub.py --stall
        _fetch(_entry(url, tiny_ckpt), tmp_path, retries=0)
    assert _listing(tmp_path) == []


def test_html_page_instead_of_checkpoint(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt, mode="html")
    with pytest.raises(DownloadError, match="sent an HTML page instead of the file"):
        _fetch(_entry(url, tiny_ckpt), tmp_path)
    assert _listing(tmp_path) == []
    # the same page labelled as a binary is caught by its content
    page = b"\n<!doctype html>\n<html><head><title>Error</title></head></html>"
    url = server.serve("/disguised.pth.tr", page)
    with pytest.raises(VerificationError, match="HTML page instead of the file"):
        _fetch(_entry(url, name="disguised"), tmp_path)
    assert _listing(tmp_path) == []


def test_wrong_shapes_and_wrong_keys_are_rejected(server, wrong_shape_ckpt, tmp_path):
    url = server.serve("/shapes.pth.tr", wrong_shape_ckpt)
    with pytest.raises(VerificationError, match="mis-shaped") as info:
        _fetch(_entry(url, wrong_shape_ckpt), tmp_path)
    assert "\n" not in str(info.value) and "it was deleted" in str(info.value)
    keys = _torch_bytes({"model_pos": {"module.encoder.weight": torch.zeros(3, 3)}})
    url = server.serve("/keys.pth.tr", keys)
    with pytest.raises(VerificationError, match="missing"):
        _fetch(_entry(url, keys, name="keys"), tmp_path)
    garbage = b"\x00\x01not a checkpoint at all" * 100
    url = server.serve("/garbage.pth.tr", garbage)
    with pytest.raises(VerificationError, match="is not a PyTorch checkpoint"):
        _fetch(_entry(url, name="garbage"), tmp_path)
    assert _listing(tmp_path) == []


def test_unsafe_pickle_is_refused_without_running_it(server, tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    evil = _torch_bytes({"model_pos": {"x": Boom()}})
    url = server.serve("/evil.pth.tr", evil)
    with pytest.raises(VerificationError, match="refused to load: it refers to the Python global .posix.system."):
        _fetch(_entry(url, name="evil"), tmp_path / "w")
    assert not (tmp_path / "pwned").exists() and _listing(tmp_path / "w") == []


def test_zip_release_is_unpacked_to_its_checkpoint(server, tiny_ckpt, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("checkpoint/README.txt", "weights inside")
        zf.writestr("__MACOSX/checkpoint/._tiny.pth.tr", b"junk")
        zf.writestr("checkpoint/PoseMamba-tiny-h36m.pth.tr", tiny_ckpt)
    url = server.serve("/release.zip", buf.getvalue())
    result = _fetch(_entry(url, buf.getvalue()), tmp_path)
    assert result.path.read_bytes() == tiny_ckpt and "unzipped" in result.detail
    assert _listing(tmp_path) == ["tiny.pth.tr"]


def test_zip_without_a_fitting_checkpoint_is_rejected(server, wrong_shape_ckpt, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("other.pth", wrong_shape_ckpt)
    url = server.serve("/release.zip", buf.getvalue())
    with pytest.raises(VerificationError, match="no checkpoint in the zip fits"):
        _fetch(_entry(url), tmp_path)
    assert _listing(tmp_path) == []


def test_proxy_from_environment_is_used(server, tiny_ckpt, tmp_path, monkeypatch):
    server.serve("/tiny.pth.tr", tiny_ckpt)
    monkeypatch.setenv("http_proxy", server.base)
    result = _fetch(_entry("http://weights.example.invalid/tiny.pth.tr", tiny_ckpt), tmp_path)
    assert result.path.read_bytes() == tiny_ckpt
    assert server.requests[0][0] == "http://weights.example.invalid/tiny.pth.tr"  # absolute URI: a proxy request


def test_dns_failure_is_reported_as_offline(server, tmp_path, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if "invalid" in str(host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(DownloadError, match="cannot resolve weights.example.invalid: offline or DNS failure"):
        _fetch(_entry("http://weights.example.invalid/tiny.pth.tr"), tmp_path)
    assert _listing(tmp_path) == []


def test_connection_refused(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    with pytest.raises(DownloadError, match="connection refused"):
        _fetch(_entry(f"http://127.0.0.1:{port}/tiny.pth.tr"), tmp_path)


def test_disk_full_while_writing(server, tiny_ckpt, tmp_path, monkeypatch):
    url = server.serve("/tiny.pth.tr", tiny_ckpt)

    class FullFile(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    real_open = open

    def fake_open(path, mode="r", *args, **kwargs):
        if str(path).endswith(".part") and "b" in mode and ("w" in mode or "a" in mode):
            real_open(path, mode).close()  # the file exists, as it would on a full disk
            return FullFile()
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(http_fetch, "open", fake_open, raising=False)
    with pytest.raises(DownloadError, match="disk full while writing into") as info:
        _fetch(_entry(url, tiny_ckpt), tmp_path)
    assert "\n" not in str(info.value)
    assert _listing(tmp_path) == []


def test_not_enough_space_announced_up_front(server, tiny_ckpt, tmp_path, monkeypatch):
    url = server.serve("/tiny.pth.tr", tiny_ckpt)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(http_fetch.shutil, "disk_usage", lambda p: usage(10, 0, 10))
    with pytest.raises(DownloadError, match="disk full"):
        _fetch(_entry(url, tiny_ckpt), tmp_path)
    assert _listing(tmp_path) == []


def test_read_only_folder(server, tiny_ckpt, tmp_path, monkeypatch):
    url = server.serve("/tiny.pth.tr", tiny_ckpt)
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:  # root writes anywhere: simulate the read-only file system instead
        def refuse(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")
        monkeypatch.setattr(fetch_mod.tempfile, "mkstemp", refuse)
    try:
        with pytest.raises(DownloadError, match="read-only or permission denied") as info:
            _fetch(_entry(url, tiny_ckpt), folder)
        assert "--dir" in str(info.value) and "\n" not in str(info.value)
    finally:
        folder.chmod(0o755)
    assert _listing(folder) == []
    assert server.requests == []  # refused before any transfer


# --------------------------------------------------------------------------- Google Drive, ultralytics


def _gdrive_entry() -> dict:
    return {"name": "drive", "kind": "posemamba", "file": "drive.pth.tr", "gdrive_id": "FILEID123",
            "model": {"config": TINY}}


def test_drive_quota_refusal_from_gdown(tmp_path, monkeypatch):
    from gdown.exceptions import FileURLRetrievalError

    def refuse(file_id, output, progress, timeouts, retries):
        raise FileURLRetrievalError("Failed to retrieve file url:\n\n\tToo many users have viewed or "
                                    "downloaded this file recently.\n\nYou may still be able to ...")

    monkeypatch.setattr(gdrive_mod, "_gdown_download", refuse)
    with pytest.raises(DownloadError, match="download quota") as info:
        _fetch(_gdrive_entry(), tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "https://drive.google.com/file/d/FILEID123/view" in message and str(tmp_path / "drive.pth.tr") in message
    assert _listing(tmp_path) == []


def test_drive_quota_page_saved_as_the_file_is_detected(tmp_path, monkeypatch):
    def save_page(file_id, output, progress, timeouts, retries):
        Path(output).write_text("<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title>"
                                "</head><body>Sorry, you can't view or download this file at this time."
                                "</body></html>")

    monkeypatch.setattr(gdrive_mod, "_gdown_download", save_page)
    with pytest.raises(VerificationError, match="download quota for this file is exceeded"):
        _fetch(_gdrive_entry(), tmp_path)
    assert _listing(tmp_path) == []


def test_drive_download_success_reports_progress(tmp_path, monkeypatch, tiny_ckpt):
    seen = []

    def deliver(file_id, output, progress, timeouts, retries):
        seen.append((file_id, timeouts, retries))
        half = len(tiny_ckpt) // 2
        progress(half, len(tiny_ckpt))
        progress(len(tiny_ckpt), len(tiny_ckpt))
        Path(output).write_bytes(tiny_ckpt)

    monkeypatch.setattr(gdrive_mod, "_gdown_download", deliver)
    result = _fetch(_gdrive_entry(), tmp_path, progress=True)
    assert result.path.read_bytes() == tiny_ckpt and seen[0][0] == "FILEID123"
    assert _listing(tmp_path) == ["drive.pth.tr"]


def _fake_yolo_archive(extra_global: bytes = b"") -> bytes:
    """A torch-style archive whose pickle names an ultralytics class (inspected, never unpickled)."""
    pickle_bytes = (b"\x80\x02}q\x00X\x05\x00\x00\x00modelq\x01cultralytics.nn.tasks\nDetectionModel\nq\x02s"
                    + extra_global + b".")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("yolo/data.pkl", pickle_bytes)
        zf.writestr("yolo/version", "3\n")
    return buf.getvalue()


def test_ultralytics_asset_by_name(tmp_path, monkeypatch):
    calls = []

    def fake_asset(target: Path) -> None:
        calls.append(target.name)
        target.write_bytes(_fake_yolo_archive())

    monkeypatch.setattr(ultralytics_fetch, "_attempt_download_asset", fake_asset)
    entry = {"name": "yolo-test", "kind": "yolo", "file": "yolo11n.pt", "ultralytics": "yolo11n.pt"}
    result = _fetch(entry, tmp_path)
    assert calls == ["yolo11n.pt"] and result.path.name == "yolo11n.pt"
    assert _listing(tmp_path) == ["yolo11n.pt"]


def test_ultralytics_file_that_is_not_a_model_is_rejected(tmp_path, monkeypatch, tiny_ckpt):
    monkeypatch.setattr(ultralytics_fetch, "_attempt_download_asset", lambda t: t.write_bytes(tiny_ckpt))
    entry = {"name": "yolo-test", "kind": "yolo", "file": "yolo11n.pt", "ultralytics": "yolo11n.pt"}
    with pytest.raises(VerificationError, match="not an ultralytics model"):
        _fetch(entry, tmp_path)
    assert _listing(tmp_path) == []


def test_ultralytics_file_referring_to_os_system_is_refused(tmp_path, monkeypatch):
    evil = _fake_yolo_archive(b"cposix\nsystem\nq\x03")
    monkeypatch.setattr(ultralytics_fetch, "_attempt_download_asset", lambda t: t.write_bytes(evil))
    entry = {"name": "yolo-test", "kind": "yolo", "file": "yolo11n.pt", "ultralytics": "yolo11n.pt"}
    with pytest.raises(VerificationError, match="refers to posix.system: it could run code"):
        _fetch(entry, tmp_path)
    assert _listing(tmp_path) == []


def test_ultralytics_offline_failure(tmp_path, monkeypatch):
    def offline(target):
        raise ConnectionError("❌  Download failure for https://github.com/x. Environment may be offline.")

    monkeypatch.setattr(ultralytics_fetch, "_attempt_download_asset", offline)
    entry = {"name": "yolo-test", "kind": "yolo", "file": "yolo11n.pt", "ultralytics": "yolo11n.pt"}
    with pytest.raises(DownloadError, match="ultralytics could not download yolo11n.pt"):
        _fetch(entry, tmp_path)
    assert _listing(tmp_path) == []


# --------------------------------------------------------------------------- the resolver


def test_resolver_paths_names_offline_and_fetch(server, tiny_ckpt, tmp_path):
    url = server.serve("/tiny.pth.tr", tiny_ckpt)
    registry = _registry(_entry(url, tiny_ckpt))
    folder = tmp_path / "weights"
    own = tmp_path / "mine.pth"
    own.write_bytes(b"x")
    assert resolve_weights(own, folder, registry=registry) == own

    with pytest.raises(PoseMambaError) as info:
        resolve_weights("tiny", folder, offline=True, registry=registry)
    message = str(info.value)
    assert f"posemamba download-weights tiny --dir {folder}" in message
    assert f"save it as {folder / 'tiny.pth.tr'}" in message and url in message
    assert server.requests == [] and _listing(folder) == []

    path = resolve_weights("tiny", folder, registry=registry, progress=False, timeouts=FAST)
    assert path == folder / "tiny.pth.tr" and path.read_bytes() == tiny_ckpt
    assert resolve_weights("tiny", folder, offline=True, registry=registry) == path
    assert resolve_weights("tiny.pth.tr", folder, offline=True, registry=registry) == path

    with pytest.raises(PoseMambaError, match="checkpoint file not found"):
        resolve_weights(tmp_path / "nope.pth", folder, registry=registry)
    with pytest.raises(PoseMambaError, match="did you mean tiny"):
        resolve_weights("tinyy", folder, registry=registry)


# --------------------------------------------------------------------------- the library call behind download-weights


def test_download_weights_library_call_outcomes_offline_and_status(server, tiny_ckpt, tmp_path):
    from posemamba_cli.hub import download_weights, model_status

    tiny_url = server.serve("/tiny.pth.tr", tiny_ckpt)
    junk_detector = {"name": "det", "kind": "yolo", "file": "det.pt", "ultralytics": "det.pt", "model": {}}
    registry = Registry.from_dict({"defaults": ["tiny", "gone"], "models": [
        _entry(tiny_url, tiny_ckpt), _entry(server.base + "/gone.pth.tr", name="gone", file="gone.pth.tr",
                                            size=1234), junk_detector]}, "test registry")
    folder = tmp_path / "w"
    call = dict(registry=registry, timeouts=FAST, retries=0, progress=False, fits=fits)

    seen = []  # no names: the defaults; one failure among several is an outcome, the others still run
    outcomes = download_weights(None, folder, on_outcome=seen.append, **call)
    assert seen == outcomes and [(o.entry.name, o.status) for o in outcomes] == [("tiny", "downloaded"),
                                                                                 ("gone", "failed")]
    assert outcomes[0].path.read_bytes() == tiny_ckpt and "ok" in outcomes[0].detail
    assert isinstance(outcomes[1].error, DownloadError) and "HTTP 404" in outcomes[1].detail
    assert not (folder / "gone.pth.tr").exists()

    assert [o.status for o in download_weights(["tiny"], folder, **call)] == ["present"]
    assert server.hits["/tiny.pth.tr"] == 1
    with pytest.raises(DownloadError, match="gone: HTTP 404"):  # one model asked for: its failure is raised
        download_weights(["gone"], folder, **call)

    (folder / "det.pt").write_bytes(b"\x00\x01garbage")
    with pytest.raises(PoseMambaError, match="not a PyTorch checkpoint"):  # inspected before counted present
        download_weights(["det"], folder, offline=True, **call)
    before = len(server.requests)
    seen.clear()
    with pytest.raises(PoseMambaError, match="2 model file.s. missing") as both:  # offline: one line for all
        download_weights(["tiny", "gone", "gone"], folder / "empty", offline=True, on_outcome=seen.append, **call)
    assert "\n" not in str(both.value) and "download-weights tiny gone --dir" in str(both.value) and seen == []
    with pytest.raises(PoseMambaError, match="model 'gone' is not in .* run `posemamba download-weights gone"):
        download_weights(["tiny", "gone"], folder, offline=True, on_outcome=seen.append, **call)
    assert [(o.entry.name, o.status) for o in seen] == [("tiny", "present")]  # reported before the error
    offline_ok = download_weights(["tiny"], folder, offline=True, **call)
    assert [(o.entry.name, o.status, o.path) for o in offline_ok] == [("tiny", "present", folder / "tiny.pth.tr")]
    assert len(server.requests) == before

    status = {row.entry.name: row for row in model_status(registry, folder)}
    assert (status["tiny"].status, status["tiny"].size, status["tiny"].default) == ("present", len(tiny_ckpt), True)
    assert (status["gone"].status, status["gone"].size, status["gone"].default) == ("absent", 1234, True)
    assert (status["det"].status, status["det"].default) == ("refused", False)


# --------------------------------------------------------------------------- the real CLI, as users see it


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    full_env.update(env, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "posemamba_cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_cli_prints_one_error_line_and_exits_2(server, tiny_ckpt, tmp_path):
    url404 = server.base + "/gone.pth.tr"
    reg_file = tmp_path / "registry.json"
    reg_file.write_text(json.dumps({"models": [_entry(url404, name="gone"),
                                               _entry(server.base + "/x.pth.tr", name="other", file="x.pth.tr")]}))
    env = {"POSEMAMBA_REGISTRY": str(reg_file)}
    proc = _cli(["download-weights", "gone", "--timeout", "2"], env, tmp_path)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: gone: HTTP 404"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "weights").exists() or _listing(tmp_path / "weights") == []

    offline = _cli(["download-weights", "other", "--offline"], env, tmp_path)
    assert offline.returncode == 2
    assert "run `posemamba download-weights other`" in offline.stderr

    listed = _cli(["download-weights", "--list"], env, tmp_path)  # no server needed
    assert listed.returncode == 0 and "gone" in listed.stdout and "other" in listed.stdout

    unknown = _cli(["download-weights", "posemamba-xl"], {}, tmp_path)
    assert unknown.returncode == 2 and "unknown model 'posemamba-xl'" in unknown.stderr


def test_infer_offline_with_a_missing_model_says_what_to_run(tmp_path):
    """`posemamba infer --offline` names the download-weights command and the manual route."""
    import numpy as np
    from imageio_ffmpeg import write_frames

    from posemamba_cli.pose2d.choice import CPU_DEFAULT  # the 2D model `auto` picks on the CPU

    video = tmp_path / "clip.mp4"
    writer = write_frames(str(video), (64, 64), fps=10)
    writer.send(None)
    for i in range(5):
        writer.send(np.full((64, 64, 3), 40 * i, np.uint8).tobytes())
    writer.close()
    args = ["infer", str(video), "--device", "cpu", "--offline", "--weights-dir", str(tmp_path / "empty")]
    proc = _cli(args, {}, tmp_path)
    assert proc.returncode == 2, proc.stderr
    command = f"posemamba download-weights posemamba-b {CPU_DEFAULT} yolo11n --dir {tmp_path / 'empty'}"
    assert command in " ".join(proc.stderr.split())  # every missing model in one message
    assert "drive.google.com" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "empty").exists() or _listing(tmp_path / "empty") == []


def test_drive_network_failure_inside_gdown_retries(tmp_path, monkeypatch):
    import requests
    from gdown.exceptions import DownloadError as GdownDownloadError

    def offline(file_id, output, progress, timeouts, retries):
        try:
            raise requests.exceptions.ConnectionError(socket.gaierror(-2, "Name or service not known"))
        except requests.RequestException as err:
            raise GdownDownloadError(f"Download failed after 2 retries: {err}") from err

    monkeypatch.setattr(gdrive_mod, "_gdown_download", offline)
    with pytest.raises(DownloadError, match="cannot resolve drive.google.com: offline or DNS failure"):
        _fetch(_gdrive_entry(), tmp_path)
    assert _listing(tmp_path) == []


def test_missing_weights_message_names_every_file_one_command_and_each_by_hand_link(tmp_path):
    from posemamba_cli.hub import load_registry, missing_weights_message

    registry = load_registry()
    entries = [registry.get(n) for n in ("posemamba-b", "yolo11n")]
    text = missing_weights_message(entries, tmp_path / "w")
    assert "\n" not in text and "2 model file(s) missing" in text and "--offline" in text
    assert f"`posemamba download-weights posemamba-b yolo11n --dir {tmp_path / 'w'}`" in text
    assert all(str(tmp_path / "w" / e.file) in text and e.manual_url in text for e in entries)
    one = missing_weights_message(entries[1:], Path("weights"), "could not be downloaded (no network)")
    assert one.startswith("model 'yolo11n' is not in weights/ and could not be downloaded (no network): ")
    assert "`posemamba download-weights yolo11n`, or download " in one  # default folder: no --dir


def test_a_web_page_or_a_truncated_file_under_a_model_name_is_not_present(tiny_ckpt, tmp_path):
    """--offline and --list judge a file by its content, not its name: a saved sign-in page, a checkpoint cut
    short, another checkpoint where a checksum is known never count as the model."""
    from posemamba_cli.hub import download_weights, model_status

    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in to continue</body></html>\n"
    registry = Registry.from_dict({"models": [
        _entry("http://127.0.0.1:9/a", name="page", file="page.pth.tr"),
        _entry("http://127.0.0.1:9/b", name="cut", file="cut.pth.tr"),
        _entry("http://127.0.0.1:9/c", tiny_ckpt, name="other", file="other.pth.tr"),
        _entry("http://127.0.0.1:9/d", tiny_ckpt, name="good", file="good.pth.tr")]}, "test registry")
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "page.pth.tr").write_bytes(page)
    (folder / "cut.pth.tr").write_bytes(tiny_ckpt[: len(tiny_ckpt) // 2])
    (folder / "other.pth.tr").write_bytes(_torch_bytes({"model_pos": {"x": torch.zeros(2)}}))
    (folder / "good.pth.tr").write_bytes(tiny_ckpt)
    for name, needle in (("page", "is a web page"), ("cut", "not a PyTorch checkpoint, or not all of one"),
                         ("other", "does not match the published other checksum")):
        with pytest.raises(PoseMambaError, match=needle) as err:
            download_weights([name], folder, offline=True, registry=registry, progress=False, fits=fits)
        assert f"download-weights {name} --force" in str(err.value) and "\n" not in str(err.value)
    assert [o.status for o in download_weights(["good"], folder, offline=True, registry=registry, fits=fits)] == [
        "present"]
    status = {row.entry.name: row for row in model_status(registry, folder)}
    assert {n: r.status for n, r in status.items()} == {"page": "refused", "cut": "refused", "other": "refused",
                                                        "good": "present"}
    assert "web page" in status["page"].reason
    reg_file = tmp_path / "registry.json"
    reg_file.write_text(json.dumps({"models": [dict(r.entry.__dict__) | {"model": {"config": TINY}}
                                               for r in status.values()]}))
    listed = CliRunner().invoke(app, ["download-weights", "--list", "--dir", str(folder)],
                                env={"POSEMAMBA_REGISTRY": str(reg_file), "COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "refused page: " in listed.output and "refused cut: " in listed.output
    assert "refused good" not in listed.output
    assert sorted(p.name for p in folder.iterdir()) == ["cut.pth.tr", "good.pth.tr", "other.pth.tr", "page.pth.tr"]


def test_a_failed_download_of_a_needed_model_is_explained_once(tmp_path, monkeypatch):
    """What `make demo` without a network prints: the reason and the ways to get the file, each once."""
    from posemamba_cli.pipeline.models import check_models_present

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    reg_file = tmp_path / "registry.json"
    reg_file.write_text(json.dumps({"models": [_entry(f"http://127.0.0.1:{port}/tiny.pth.tr")]}))
    monkeypatch.setenv("POSEMAMBA_REGISTRY", str(reg_file))
    with pytest.raises(PoseMambaError) as err:
        check_models_present(["tiny"], tmp_path / "w", offline=False)
    message = str(err.value)
    assert "connection refused" in message and "\n" not in message
    for part in ("could not be downloaded", "download-weights tiny", "by hand", "is not in"):
        assert message.count(part) == 1, message
