"""GPU benchmark of the selective scan and the lifter; prints markdown tables (and writes JSON with --json).

    python benchmarks/bench_scan_gpu.py [--quick] [--json out.json]

Scan: forward and forward+backward times (median of CUDA-event timings, triton.testing.do_bench) at the
PoseMamba shapes (L = 243 x 17 = 4131, K*Di = 512 / 1024, K = 4, N = 16) for every GPU backend present,
the chunked PyTorch backend ("torch") and the plain PyTorch reference loop ("reference", float32, small
batch only: its autograd keeps every step). Achieved bandwidth = the fewest bytes the forward must move
(u, delta, B, C read once, y written once) / time, as a share of the GPU's peak (the datasheet value for
the detected device, else the measured device-to-device copy rate). Lifter: frames/s of PoseMamba S/B/L on
243-frame clips at batch 1 and 64, fp32 and bf16 autocast; training step time (forward, backward, AdamW)
for L.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import torch

PEAKS_TBS = {  # datasheet HBM bandwidth, TB/s
    "H100 SXM": 3.35, "H100 80GB HBM3": 3.35, "H100 PCIe": 2.0, "H100 NVL": 3.9, "H200": 4.8, "A100": 2.0,
}


def peak_bandwidth(name: str, measured: float) -> tuple[float, str]:
    for key, tbs in PEAKS_TBS.items():
        if key in name:
            return tbs * 1e12, f"datasheet {tbs} TB/s for '{key}'"
    if "H100" in name:  # H100 without form factor in its name: the SXM part (HBM3)
        return 3.35e12, "datasheet 3.35 TB/s (H100 SXM HBM3)"
    return measured, "measured device-to-device copy (no datasheet entry for this GPU)"


def copy_bandwidth() -> float:
    from triton.testing import do_bench

    x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    ms = do_bench(lambda: y.copy_(x), warmup=50, rep=300, return_mode="median")
    return 2 * x.numel() / (ms * 1e-3)


def scan_inputs(batch, dim, dtype, L=4131, groups=4, n=16, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, device="cuda")  # noqa: E731
    dt = torch.exp(torch.rand(dim, generator=g, device="cuda") * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
    return dict(
        u=r(batch, dim, L).to(dtype), delta=(0.5 * r(batch, dim, L)).to(dtype),
        A=-torch.arange(1, n + 1, device="cuda", dtype=torch.float32).repeat(dim, 1),
        B=r(batch, groups, n, L).to(dtype), C=r(batch, groups, n, L).to(dtype), D=r(dim),
        delta_bias=dt + torch.log(-torch.expm1(-dt)),
    )


def time_scan(backend: str, x: dict, backward: bool) -> float:
    from triton.testing import do_bench

    from posemamba_cli.ops import selective_scan

    if not backward:
        def fn():
            with torch.no_grad():
                selective_scan(**x, backend=backend)
        warm, rep = 25, 200
    else:
        leaves = {k: v.detach().requires_grad_(True) for k, v in x.items()}
        dy = torch.randn(x["u"].shape, device="cuda", dtype=x["u"].dtype)

        def fn():
            y = selective_scan(**leaves, backend=backend)
            y.backward(dy)
        warm, rep = 25, 300
    if backend == "reference":
        warm, rep = 1, 1
    return do_bench(fn, warmup=warm, rep=rep, return_mode="median")


def scan_bytes(x: dict) -> int:
    u = x["u"]
    return (3 * u.numel() * u.element_size()) + 2 * x["B"].numel() * x["B"].element_size()


def bench_scan(quick: bool, peak: float, rows: list, out: list, baselines: bool = True) -> None:
    from posemamba_cli.ops import backend_status

    status = backend_status()
    gpu = [n for n in ("triton", "cuda") if status.get(n, (False,))[0]]
    print(f"GPU scan backends present: {gpu}; unavailable: "
          f"{ {n: why for n, (ok, why) in status.items() if not ok} }", flush=True)
    batches = [1, 64] if quick else [1, 8, 64]
    for dim in (512, 1024):
        for dtype in (torch.float32, torch.bfloat16):
            for batch in batches:
                if dtype == torch.bfloat16 and batch != 64:
                    continue
                x = scan_inputs(batch, dim, dtype)
                names = list(gpu)
                if batch == 1 and dtype == torch.float32 and baselines:
                    names += ["torch", "reference"]
                for name in names:
                    fwd = time_scan(name, x, backward=False)
                    fb = time_scan(name, x, backward=True)
                    bw = scan_bytes(x) / (fwd * 1e-3)
                    rec = dict(dim=dim, batch=batch, dtype=str(dtype).replace("torch.", ""), backend=name,
                               fwd_ms=fwd, fwd_bwd_ms=fb, fwd_gbs=bw / 1e9, fwd_pct_peak=100 * bw / peak)
                    out.append(rec)
                    rows.append(f"| {dim} | {batch} | {rec['dtype']} | {name} | {fwd:.3f} | {fb:.3f} | "
                                f"{bw / 1e9:.0f} | {100 * bw / peak:.0f}% |")
                    print(rows[-1], flush=True)
                del x
                torch.cuda.empty_cache()


def bench_lifter(quick: bool, rows: list, out: list, presets=("S", "B", "L"), batches=(1, 64)) -> None:
    from triton.testing import do_bench

    from posemamba_cli.model.posemamba import PoseMamba

    frames = 243
    from posemamba_cli.ops import resolve_backend

    print(f"lifter scan backend (auto): {resolve_backend('auto', 'cuda', torch.float32).name}", flush=True)
    for preset in presets:
        model = PoseMamba.from_preset(preset, num_frame=frames).cuda().eval()
        for batch in batches:
            x = torch.randn(batch, frames, 17, 2, device="cuda")
            for amp in (False, True):
                def fn(model=model, x=x, amp=amp):
                    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                        model(x)
                ms = do_bench(fn, warmup=10 if quick else 25, rep=100 if quick else 300, return_mode="median")
                fps = batch * frames / (ms * 1e-3)
                rec = dict(preset=preset, batch=batch, precision="bf16-autocast" if amp else "fp32", ms=ms, fps=fps)
                out.append(rec)
                rows.append(f"| {preset} | {batch} | {rec['precision']} | {ms:.2f} | {fps:,.0f} |")
                print(rows[-1], flush=True)
        del model
        torch.cuda.empty_cache()


def bench_train(batch: int, rows: list, out: list) -> None:
    from triton.testing import do_bench

    from posemamba_cli.model.posemamba import PoseMamba

    model = PoseMamba.from_preset("L", num_frame=243).cuda().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 243, 17, 2, device="cuda")
    target = torch.randn(batch, 243, 17, 3, device="cuda")
    for amp in (False, True):
        def step(amp=amp):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                loss = (model(x) - target).norm(dim=-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        ms = do_bench(step, warmup=5, rep=50, return_mode="median")
        rec = dict(preset="L", batch=batch, precision="bf16-autocast" if amp else "fp32", step_ms=ms)
        out.append(rec)
        rows.append(f"| L | {batch} | {rec['precision']} | {ms:.1f} | {batch * 243 / (ms * 1e-3):,.0f} |")
        print(rows[-1], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument("--json", help="write all figures here")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: scan,lifter,train")
    parser.add_argument("--train-batch", type=int, default=16)
    parser.add_argument("--no-baselines", action="store_true", help="skip the torch backend and reference loop")
    parser.add_argument("--presets", default="S,B,L", help="lifter presets to time")
    parser.add_argument("--lifter-batches", default="1,64")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("needs a CUDA device")
    name = torch.cuda.get_device_name()
    measured = copy_bandwidth()
    peak, why = peak_bandwidth(name, measured)
    print(f"device: {name}; torch {torch.__version__}; measured d2d copy {measured / 1e12:.2f} TB/s; "
          f"peak used: {peak / 1e12:.2f} TB/s ({why})", flush=True)
    skip = set(filter(None, args.skip.split(",")))
    result = dict(device=name, torch=torch.__version__, copy_tbs=measured / 1e12, peak_tbs=peak / 1e12,
                  peak_source=why, scan=[], lifter=[], train=[])
    scan_rows = ["| K*Di | batch | dtype | backend | fwd ms | fwd+bwd ms | fwd GB/s | % of peak |",
                 "|---|---|---|---|---|---|---|---|"]
    lifter_rows = ["| preset | batch | precision | ms / batch | frames/s |", "|---|---|---|---|---|"]
    train_rows = ["| preset | batch | precision | train step ms | frames/s |", "|---|---|---|---|---|"]
    if "scan" not in skip:
        bench_scan(args.quick, peak, scan_rows, result["scan"], baselines=not args.no_baselines)
    if "lifter" not in skip:
        bench_lifter(args.quick, lifter_rows, result["lifter"], presets=args.presets.split(","),
                     batches=[int(b) for b in args.lifter_batches.split(",")])
    if "train" not in skip:
        bench_train(args.train_batch, train_rows, result["train"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    print(f"\n## {name} (peak {peak / 1e12:.2f} TB/s: {why}; copy {measured / 1e12:.2f} TB/s)")
    print("\nSelective scan, L = 4131, N = 16, K = 4 (reference = plain PyTorch loop, float32, batch 1)\n")
    print("\n".join(scan_rows))
    if result["scan"]:
        ref = {(r["dim"]): r for r in result["scan"] if r["backend"] == "reference"}
        for r in result["scan"]:
            if r["backend"] in ("triton", "cuda") and r["batch"] == 1 and r["dtype"] == "float32" and r["dim"] in ref:
                base = ref[r["dim"]]
                print(f"- {r['backend']} K*Di={r['dim']} batch 1: fwd+bwd {base['fwd_bwd_ms'] / r['fwd_bwd_ms']:.0f}x "
                      f"faster than the reference, fwd {base['fwd_ms'] / r['fwd_ms']:.0f}x")
    print("\nLifter inference, 243-frame clips\n")
    print("\n".join(lifter_rows))
    print("\nTraining step, PoseMamba-L, 243 frames, AdamW\n")
    print("\n".join(train_rows))


if __name__ == "__main__":
    main()
