"""PoseMamba S/B/L against the MotionAGFormer peer (B, L) on this CPU, side by side in one run.

    python benchmarks/bench_lifter_peers.py                       # batch 1 x 243 frames, 1 and 2 threads
    python benchmarks/bench_lifter_peers.py --presets B --peers B --threads 1,2 --repeats 5

Prints the CPU's vector ISA and flags, then the best forward time per clip (inference mode, random weights:
they cost what trained ones do) of every model at every thread count, and each PoseMamba time as a ratio of
the MotionAGFormer times measured in the same run. PoseMamba runs with the CPU kernel build chosen for this
CPU and, for the presets in --builds-for, with every other build this CPU runs (forced, e.g. the AVX2 build
on an AVX-512 machine). Timed forwards go round-robin over the models, so a busy spell on a shared machine
hits them alike. The peer's code is loaded from ../shared/peers/motionagformer (never copied); without it,
or without timm, the peer is skipped with a line saying why. Timings are never asserted anywhere.
"""

# runtime tuning runs before torch is imported (see below), so the imports are not sorted
# isort: skip_file
# ruff: noqa: E402
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from posemamba_cli.perf import tune_runtime

TUNING = tune_runtime()  # as the posemamba command does, before torch loads (libgomp reads its spin then)

import torch

from posemamba_cli.model.posemamba import PoseMamba
from posemamba_cli.ops import get_backend, use_backend
from posemamba_cli.ops.cpu_kernel import KernelUnavailable, supported_isas

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PEER_DIR = SHARED / "peers" / "motionagformer"
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16",
                "avx512_vnni", "amx_tile", "asimd", "sve", "sve2")
PEER_LAYERS = {"B": 16, "L": 26}  # MotionAGFormer-base / -large at 243 frames (the peer's README)


@dataclass
class Entry:
    label: str
    model: torch.nn.Module
    x: torch.Tensor
    scan_backend: str | None = None  # PoseMamba only
    best: dict[int, float] = field(default_factory=dict)  # threads -> best seconds

    def run(self) -> float:
        with use_backend(self.scan_backend or "auto"):
            start = time.perf_counter()
            self.model(self.x)
            return time.perf_counter() - start


def cpu_description() -> tuple[str, str]:
    """(model name, the vector-ISA flags it reports)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
    except OSError:
        pass
    return name, " ".join(f for f in VECTOR_FLAGS if f in flags) or "(unknown)"


def load_peer(say: Callable[[str], None]):
    """MotionAGFormer's class from ../shared, or None after saying why not."""
    if not PEER_DIR.is_dir():
        say(f"MotionAGFormer: skipped, {PEER_DIR} is absent (the peer's code lives beside the repository)")
        return None
    from posemamba_cli.compat.torchvision_ops import ensure_torchvision

    try:
        ensure_torchvision()  # timm imports torchvision
        import timm  # noqa: F401
    except ImportError as exc:
        say(f"MotionAGFormer: skipped, it needs timm ({exc}); pip install 'posemamba-cli[bench]'")
        return None
    sys.path.insert(0, str(PEER_DIR))
    try:
        from model.MotionAGFormer import MotionAGFormer
    finally:
        sys.path.remove(str(PEER_DIR))
    return MotionAGFormer


def make_peer(cls, size: str, frames: int) -> torch.nn.Module:
    return cls(n_layers=PEER_LAYERS[size], dim_in=3, dim_feat=128, dim_rep=512, dim_out=3, mlp_ratio=4,
               act_layer=torch.nn.GELU, attn_drop=0.0, drop=0.0, drop_path=0.0, use_layer_scale=True,
               layer_scale_init_value=1e-5, use_adaptive_fusion=True, num_heads=8, qkv_bias=False, qkv_scale=None,
               hierarchical=False, num_joints=17, use_temporal_similarity=True, temporal_connection_len=1,
               use_tcn=False, graph_only=False, neighbour_num=2, n_frames=frames).eval()


def build_entries(args, say) -> list[Entry]:
    torch.manual_seed(0)
    x2d = torch.randn(args.batch, args.frames, 17, 2)
    default = get_backend("cpu")
    ok, why = default.availability()
    if ok:
        say(f"CPU kernel: {default.kernel.describe()}")
        builds = [isa for isa in supported_isas() if isa != default.kernel.isa]
    else:
        say(f"CPU kernel: none ({why}); PoseMamba runs the PyTorch scan")
        builds = []
    entries = []
    for preset in args.presets:
        model = PoseMamba.from_preset(preset, num_frame=max(args.frames, 243)).eval()
        tag = default.kernel.isa if ok else "torch scan"
        entries.append(Entry(f"PoseMamba-{preset} [{tag}]", model, x2d, "auto"))
        if preset in args.builds_for:
            for isa in builds:
                entries.append(Entry(f"PoseMamba-{preset} [{isa}, forced]", model, x2d, f"cpu-{isa}"))
    peer = load_peer(say) if args.peers else None
    if peer is not None:
        x3 = torch.cat([x2d, torch.rand(args.batch, args.frames, 17, 1)], dim=-1)  # x, y, confidence
        entries += [Entry(f"MotionAGFormer-{size}", make_peer(peer, size, args.frames), x3) for size in args.peers]
    return entries


def measure(entries: list[Entry], threads: list[int], repeats: int) -> None:
    with torch.inference_mode():
        for n in threads:
            torch.set_num_threads(n)
            for entry in entries:
                entry.run()  # warm-up: allocator, thread pools, lazy kernel loads
            for _ in range(repeats):
                for entry in entries:
                    seconds = entry.run()
                    entry.best[n] = min(entry.best.get(n, float("inf")), seconds)


def report(entries: list[Entry], threads: list[int], args, say) -> None:
    peers = [e for e in entries if e.scan_backend is None]
    head = f"{'model':34s}" + "".join(f"{f'{n} thr':>9s}" for n in threads) + f"{'best':>9s}"
    head += "".join(f"{'vs ' + p.label.removeprefix('MotionAGFormer'):>10s}" for p in peers)
    say(f"\nseconds per forward, batch {args.batch} x {args.frames} frames, best of {args.repeats}; "
        "ratio = PoseMamba best / MotionAGFormer best (< 1: PoseMamba faster)")
    say(head)
    for e in entries:
        best = min(e.best.values())
        line = f"{e.label:34s}" + "".join(f"{e.best[n]:9.3f}" for n in threads) + f"{best:9.3f}"
        if e.scan_backend is not None:
            line += "".join(f"{best / min(p.best.values()):9.2f}x" for p in peers)
        say(line)
    say("")
    for e in entries:
        if e.scan_backend is None:
            continue
        best_n = min(e.best, key=e.best.get)
        line = f"{e.label}: best {e.best[best_n]:.3f} s ({best_n} threads)"
        for p in peers:
            p_n = min(p.best, key=p.best.get)
            line += f"; {e.best[best_n] / p.best[p_n]:.2f}x {p.label} ({p.best[p_n]:.3f} s, {p_n} threads)"
        say(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    split = lambda text: [v.strip().upper() for v in text.split(",") if v.strip()]  # noqa: E731
    parser.add_argument("--presets", type=split, default="S,B,L", help="PoseMamba presets (S, B, L)")
    parser.add_argument("--peers", type=split, default="B,L", help="MotionAGFormer sizes (B, L), or '' for none")
    parser.add_argument("--builds-for", type=split, default="B",
                        help="presets also timed with every other CPU kernel build this CPU runs")
    parser.add_argument("--threads", default="1,2", help="torch thread counts, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards per model and thread count")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--frames", type=int, default=243)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    if set(args.presets) - {"S", "B", "L"} or set(args.peers) - set(PEER_LAYERS):
        parser.error("presets are S, B, L; peers are B, L")
    say = lambda line: print(line, flush=True)  # noqa: E731
    name, flags = cpu_description()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    say(f"CPU: {name}, {cores} cores available; vector flags: {flags}")
    try:
        say(f"CPU kernel builds this CPU runs (fastest first): {', '.join(supported_isas())}")
    except KernelUnavailable as exc:
        say(f"CPU kernel builds: none ({exc})")
    say(f"torch {torch.__version__}, threads tried: {', '.join(map(str, threads))}; "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    say(f"runtime tuning: OpenMP spin {'shortened' if TUNING.openmp_spin else 'left as set'} "
        f"(GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'unset')}), "
        f"malloc retention {'on' if TUNING.malloc_retention else 'off'}")
    entries = build_entries(args, say)
    measure(entries, threads, args.repeats)
    report(entries, threads, args, say)
    say(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
