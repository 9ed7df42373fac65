"""Benchmark the weights hub's stages on real-sized files served from 127.0.0.1 (no internet needed).

    python benchmarks/bench_hub.py                    # PoseMamba-L (published layout) and HRNet-W48
    python benchmarks/bench_hub.py --models posemamba-l
    python benchmarks/bench_hub.py --stall 1          # seconds until a server that goes silent is given up

For each file: download through `http_download` (Range-capable local server, loopback, so this measures our
client's overhead, not a network), SHA-256, and the structural check. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Silent(_Quiet):
    """Headers, then nothing: the client's stall timeout must fire."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        time.sleep(30)


def bench_stall(stall: float) -> None:
    """Seconds from the request to the one-line stall error, with `stall` seconds of silence allowed."""
    from posemamba_cli.hub import DownloadError
    from posemamba_cli.hub.http_fetch import Timeouts, http_download
    from posemamba_cli.hub.progress import transfer_bar

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp, transfer_bar("stall", enabled=False) as bar:
        t0 = time.perf_counter()
        try:
            http_download(f"http://127.0.0.1:{server.server_address[1]}/x", Path(tmp, "x.part"), label="x",
                          timeouts=Timeouts(connect=2.0, stall=stall), retries=0, bar=bar)
        except DownloadError as exc:
            print(f"stall {stall:g} s: gave up after {time.perf_counter() - t0:.2f} s ({exc})")
    server.shutdown()


def _posemamba_l(path: Path) -> None:
    from posemamba_cli.model.posemamba import PoseMamba

    state = PoseMamba.from_preset("L").state_dict()
    torch.save({"epoch": 1, "model_pos": {"module." + k: v for k, v in state.items()}}, path)


def _hrnet_w48(path: Path) -> None:
    from posemamba_cli.pose2d import hrnet_state_shapes

    state = {k: torch.randn(s) if s else torch.zeros((), dtype=torch.long) for k, s in hrnet_state_shapes(48).items()}
    torch.save({"meta": {"epoch": 210}, "state_dict": state}, path)


MODELS = {
    "posemamba-l": ("posemamba", {"preset": "L"}, _posemamba_l),
    "hrnet-w48": ("hrnet", {"width": 48}, _hrnet_w48),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--stall", type=float, help="time the stall timeout instead (seconds of silence)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.stall is not None:
        bench_stall(args.stall)
        return

    from posemamba_cli.hub import Registry
    from posemamba_cli.hub.checksum import sha256_file
    from posemamba_cli.hub.http_fetch import Timeouts, http_download
    from posemamba_cli.hub.progress import transfer_bar
    from posemamba_cli.hub.structure import check_structure
    from posemamba_cli.pretrained import fits

    with tempfile.TemporaryDirectory() as tmp:
        served, out = Path(tmp, "served"), Path(tmp, "out")
        served.mkdir()
        out.mkdir()
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            for name in args.models:
                kind, model, make = MODELS[name]
                src = served / f"{name}.pth"
                make(src)
                size = src.stat().st_size
                digest = hashlib.sha256(src.read_bytes()).hexdigest()
                url = f"http://127.0.0.1:{server.server_address[1]}/{src.name}"
                raw = {"name": name, "kind": kind, "file": src.name, "sha256": digest, "url": url, "model": model}
                entry = Registry.from_dict({"models": [raw]}).get(name)
                part = out / (src.name + ".part")
                t0 = time.perf_counter()
                with transfer_bar(name, enabled=False) as bar:
                    http_download(entry.url, part, label=name, timeouts=Timeouts(), bar=bar)
                t1 = time.perf_counter()
                assert sha256_file(part) == digest
                t2 = time.perf_counter()
                detail = check_structure(entry, part, fits)
                t3 = time.perf_counter()
                part.unlink()
                mb = size / 1e6
                print(f"{name}: {mb:.1f} MB | download {mb / (t1 - t0):.0f} MB/s ({t1 - t0:.2f} s) | "
                      f"sha256 {mb / (t2 - t1):.0f} MB/s ({t2 - t1:.2f} s) | structure {t3 - t2:.2f} s ({detail})")
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
