"""Time every variant of the fused Triton cross scan on one GPU, each checked against the default kernels first.

    python benchmarks/bench_cross_variants.py [--batches 1,16,64] [--quick] [--json out.json] [--pick out.env]

Variants are CrossScanTriton options (ops/cross_scan_triton.py): the forward "legacy" (a launch per group,
y read-modified-written), "grid" (one launch, a thread per channel, each group its own y) and "lane" (grid
with u / y / order staged per UNROLL steps); the backward "legacy", "grouped" (dB / dC / d dt_low reduced
over bwd_group channel tiles before one atomic per chunk; plain stores when one program covers all
channels) or "lanes" (one launch, a thread per channel, states recomputed per chunk from the checkpoints).
PoseMamba-B shapes (K 4, Di 256, R 8, N 16, 243 x 17 positions), fp32 at every batch and bf16
(autocast, bf16 sources) at the largest. Per variant: forward ms, forward + backward ms (median of CUDA-event
timings, triton.testing.do_bench), and the largest difference of y and of every gradient against the
default, relative to the default's largest magnitude (batch 2). --pick writes `POSEMAMBA_CROSS_FWD=..` and
`POSEMAMBA_CROSS_BWD=..` lines: the fastest correct forward and backward at the largest batch, fp32.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

VARIANTS = {  # name: CrossScanTriton attributes (the rest as DEFAULTS)
    "legacy": dict(),  # the default kernels, one time segment when the launch fills the GPU
    "legacy-oldseg": dict(full_programs=10**9),  # segments as before issue 23 (2 at batch 64)
    "grid": dict(fwd_variant="grid"),
    "lane": dict(fwd_variant="lane"),
    "lane-w2": dict(fwd_variant="lane", lane_warps=2),  # 64 channels per program: twice the programs
    "lane-u16": dict(fwd_variant="lane", unroll=16),  # 16 steps staged at once
    "bwd-grouped16": dict(bwd_variant="grouped", bwd_group=16),
    "bwd-grouped64": dict(bwd_variant="grouped", bwd_group=64),  # one program per row: plain stores
    "lane+grouped16": dict(fwd_variant="lane", bwd_variant="grouped", bwd_group=16),
    "bwd-lanes": dict(bwd_variant="lanes"),  # one launch, a thread per channel, 128 channels per program
    "bwd-lanes-w1": dict(bwd_variant="lanes", lane_warps=1),  # 32 channels per program (one warp)
    "lane+lanes": dict(fwd_variant="lane", bwd_variant="lanes"),
}
DEFAULTS = dict(fwd_variant="legacy", bwd_variant="legacy", lane_warps=4, unroll=8, bwd_group=16, full_programs=None,
                poly_exp=False, batch_block=None)


def inputs(batch: int, dtype: torch.dtype, frames: int = 243):
    from posemamba_cli.model.posemamba import scan_orders_and_inverse

    dev, Di, R, N, K = "cuda", 256, 8, 16, 4
    g = torch.Generator(device=dev).manual_seed(batch)
    orders, _ = scan_orders_and_inverse(frames, 17, dev)
    P = orders.shape[1]
    srcs = [torch.randn(batch, P, Di, device=dev, generator=g).to(dtype).transpose(1, 2) for _ in range(2)]
    dt = torch.exp(torch.rand(K, Di, device=dev, generator=g) * 4.6 - 6.9)  # mamba's dt in [1e-3, 1e-1]
    params = [torch.randn(K, R + 2 * N, Di, device=dev, generator=g) / 16,
              torch.randn(K, Di, R, device=dev, generator=g) / R**0.5, dt + torch.log(-torch.expm1(-dt)),
              -torch.arange(1, N + 1, device=dev).repeat(K * Di, 1).float(), torch.ones(K * Di, device=dev)]
    return srcs, params, orders


def run(cross, options: dict, fn):
    vars(cross).update({**DEFAULTS, **options})
    try:
        return fn()
    finally:
        vars(cross).update(DEFAULTS)


def fwd_bwd(backend, srcs, params, orders, amp: bool):
    leaves = [s.detach().requires_grad_(True) for s in srcs]
    ps = [p.detach().requires_grad_(True) for p in params]
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        y = backend.cross_scan(leaves, (0, 1, 0, 1), orders, *ps)
    y.float().sum().backward()
    return y, [t.grad for t in (*leaves, *ps)]


def differences(backend, cross, names: list[str]) -> dict[str, float]:
    srcs, params, orders = inputs(2, torch.float32)
    y_ref, g_ref = fwd_bwd(backend, srcs, params, orders, False)
    out = {}
    for name in names:
        options = VARIANTS[name]
        try:
            y, g = run(cross, options, lambda: fwd_bwd(backend, srcs, params, orders, False))
        except Exception as exc:  # a variant this Triton cannot compile: reported, left out of the timings
            print(f"{name}: FAILED {type(exc).__name__}: {str(exc)[:2000]}", flush=True)
            out[name] = float("inf")
            continue
        errs = [((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-30)).item()
                for a, b in zip([y, *g], [y_ref, *g_ref])]
        out[name] = max(errs)
    return out


def case(backend, batch: int, dtype: torch.dtype):
    """One case's inputs, whether it runs under bf16 autocast, and its no-grad forward."""
    srcs, params, orders = inputs(batch, dtype)
    amp = dtype == torch.bfloat16

    def fwd():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            backend.cross_scan(srcs, (0, 1, 0, 1), orders, *params)

    return srcs, params, orders, amp, fwd


def time_case(backend, cross, names: list[str], batch: int, dtype: torch.dtype, bench: dict, diffs: dict):
    """Forward and forward + backward ms of each variant at one batch and dtype."""
    from triton.testing import do_bench

    srcs, params, orders, amp, fwd = case(backend, batch, dtype)
    for name in names:
        try:
            f_ms = run(cross, VARIANTS[name], lambda: do_bench(fwd, **bench))
            fb_ms = run(cross, VARIANTS[name],
                        lambda: do_bench(lambda: fwd_bwd(backend, srcs, params, orders, amp), **bench))
        except Exception as exc:  # e.g. out of memory at the largest batch: reported, the others still run
            print(f"{name} batch {batch} {dtype}: FAILED {type(exc).__name__}: {str(exc)[:500]}", flush=True)
            continue
        yield dict(variant=name, batch=batch, dtype=str(dtype).replace("torch.", ""), fwd_ms=f_ms, fwd_bwd_ms=fb_ms,
                   diff=diffs[name])


def cases_of(batches: list[int]) -> list[tuple[int, torch.dtype]]:
    """The deciding case (largest batch, fp32) first, then the smaller batches, then bf16 at the largest."""
    big = max(batches)
    return [(big, torch.float32)] + [(b, torch.float32) for b in batches if b != big] + [(big, torch.bfloat16)]


def warm(backend, cross, names: list[str], batches: list[int]) -> None:
    """Run each variant once per case (and at batch 2): Triton compiles and caches every kernel it needs."""
    for batch, dtype in [(2, torch.float32), *cases_of(batches)]:
        warm_case(backend, cross, names, batch, dtype)
        torch.cuda.empty_cache()


def warm_case(backend, cross, names: list[str], batch: int, dtype: torch.dtype) -> None:
    srcs, params, orders, amp, fwd = case(backend, batch, dtype)
    for name in names:
        try:
            run(cross, VARIANTS[name], lambda: fwd_bwd(backend, srcs, params, orders, amp))
            run(cross, VARIANTS[name], fwd)
        except Exception as exc:  # reported again, with the error, by the parent's check
            print(f"warm-up {name} batch {batch}: {type(exc).__name__}", flush=True)


def warm_in_parallel(names: list[str], batches: str, processes: int) -> None:
    """Compile every variant's kernels in `processes` child processes at once (Triton's disk cache is shared,
    so the timed runs after this find them compiled)."""
    import subprocess

    groups = [names[i::processes] for i in range(processes) if names[i::processes]]
    children = [subprocess.Popen([sys.executable, __file__, "--warm-only", ",".join(g), "--batches", batches])
                for g in groups]
    for child in children:
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of names (default: all)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--pick", help="write the fastest forward / backward as environment lines here")
    parser.add_argument("--warm", type=int, default=0, help="first compile every variant in this many processes")
    parser.add_argument("--warm-only", help=argparse.SUPPRESS)  # a warming child: these variants, then exit
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("needs a CUDA device")
    from posemamba_cli.ops import get_backend

    backend = get_backend("triton")
    cross = backend.cross
    batches = [int(b) for b in args.batches.split(",")]
    if args.warm_only:
        warm(backend, cross, args.warm_only.split(","), batches)
        return
    names = [n for n in args.variants.split(",") if n]
    print(f"device: {torch.cuda.get_device_name()}; torch {torch.__version__}", flush=True)
    if args.warm > 0:
        t0 = time.perf_counter()
        warm_in_parallel(names, args.batches, args.warm)
        print(f"compiled in {args.warm} processes: {time.perf_counter() - t0:.0f} s", flush=True)
    diffs = differences(backend, cross, names)
    print("largest relative difference to the default (y and every gradient, batch 2):",
          json.dumps({k: f"{v:.1e}" for k, v in diffs.items()}), flush=True)
    names = [n for n in names if diffs[n] < float("inf")]
    big = max(batches)
    cases = cases_of(batches)
    rows = ["| variant | batch | dtype | fwd ms | fwd+bwd ms | max rel diff |", "|---|---|---|---|---|---|"]
    out = []
    bench = dict(warmup=5 if args.quick else 25, rep=50 if args.quick else 200, return_mode="median")
    for batch, dtype in cases:
        for r in time_case(backend, cross, names, batch, dtype, bench, diffs):
            out.append(r)
            rows.append(f"| {r['variant']} | {batch} | {r['dtype']} | {r['fwd_ms']:.2f} | {r['fwd_bwd_ms']:.2f} | "
                        f"{r['diff']:.1e} |")
            print(rows[-1], flush=True)
        torch.cuda.empty_cache()
        if args.json:  # after every case: a run cut short by its time limit keeps what it measured
            Path(args.json).write_text(json.dumps(dict(device=torch.cuda.get_device_name(), rows=out), indent=1))
        if args.pick and batch == big and dtype == torch.float32:
            pick(out, big, Path(args.pick))
    print("\n" + "\n".join(rows))


def pick(out: list[dict], batch: int, path: Path) -> None:
    """The fastest correct forward and backward variant names at `batch`, fp32, as environment lines."""
    cands = [r for r in out if r["batch"] == batch and r["dtype"] == "float32" and r["diff"] < 1e-3]
    if not cands:
        return
    best_f = min(cands, key=lambda r: r["fwd_ms"])
    best_b = min(cands, key=lambda r: r["fwd_bwd_ms"] - r["fwd_ms"])
    fwd_v = {**DEFAULTS, **VARIANTS[best_f["variant"]]}["fwd_variant"]
    bwd_v = {**DEFAULTS, **VARIANTS[best_b["variant"]]}["bwd_variant"]
    path.write_text(f"POSEMAMBA_CROSS_FWD={fwd_v}\nPOSEMAMBA_CROSS_BWD={bwd_v}\n")
    print(f"picked: forward {fwd_v} ({best_f['variant']}), backward {bwd_v} ({best_b['variant']})", flush=True)


if __name__ == "__main__":
    main()
