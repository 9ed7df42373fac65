"""CPU training path: the fused cross-scan backward against the composed op, in one run.

    OMP_NUM_THREADS=1 python benchmarks/bench_scan_cpu_train.py --isa avx512 avx2 --batch 1 4 --model-batch 1

For each CPU kernel build: forward + backward of one BiSTSSM cross scan at PoseMamba-B size (Di = 256 on the
243 x 17 grid, K = 4 scans) and, with --model-batch, one full PoseMamba-B training step (forward, published
losses, backward, AdamW) at 243 frames, each timed with the fused backward (CpuNativeBackend.cross_scan) and
with the composed op (gather, projections, scan_bwd, scatter). Prints the times and the composed/fused ratio.
"""

from __future__ import annotations

import argparse
import time

import torch

from posemamba_cli.model.posemamba import PoseMamba, scan_orders_and_inverse
from posemamba_cli.ops import cross_selective_scan, get_backend, use_backend
from posemamba_cli.perf.allocator import retain_freed_memory
from posemamba_cli.train.losses import total_loss

WEIGHTS = {"lambda_3d": 1.0, "lambda_scale": 0.5, "lambda_3d_velocity": 20.0, "lambda_diff": 0.5}


def best_of(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def scan_step(backend: str, batch: int):
    """One cross scan at PoseMamba-B size: forward, then backward of a weighted sum."""
    torch.manual_seed(0)
    Di, R, N, K, f, J = 256, 8, 16, 4, 243, 17
    orders, inverse = scan_orders_and_inverse(f, J, torch.device("cpu"))
    P = f * J
    sources = [(torch.randn(batch, P, Di) * 0.5).transpose(1, 2).requires_grad_(True) for _ in range(2)]
    params = dict(x_proj_weight=torch.randn(K, R + 2 * N, Di) / Di**0.5, dt_proj_weight=torch.randn(K, Di, R) / R**0.5,
                  dt_proj_bias=torch.randn(K, Di) - 4.0, A_logs=torch.log(torch.arange(1, N + 1.0)).repeat(K * Di, 1),
                  D=torch.ones(K * Di))
    params = {k: v.requires_grad_(True) for k, v in params.items()}
    weight = torch.randn(batch, Di, P)

    def step() -> None:
        y = cross_selective_scan(sources, (0, 1, 0, 1), orders, params["x_proj_weight"], params["dt_proj_weight"],
                                 params["dt_proj_bias"], -torch.exp(params["A_logs"]), params["D"], backend=backend,
                                 inverse_orders=inverse)
        (y * weight).sum().backward()

    return step


def model_step(backend: str, batch: int, frames: int):
    """One PoseMamba-B training step."""
    torch.manual_seed(0)
    model = PoseMamba.from_preset("B", num_frame=frames).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=0.01)
    x = torch.randn(batch, frames, 17, 2) * 0.3
    y = torch.randn(batch, frames, 17, 3) * 0.2
    y = y - y[:, :, :1]

    def step() -> None:
        with use_backend(backend):
            loss, _ = total_loss(model(x), y, WEIGHTS)
            opt.zero_grad(set_to_none=True)
            loss.backward()
        opt.step()

    return step


def compare(label: str, backend: str, make, repeats: int) -> None:
    impl = get_backend(backend)
    times = {}
    for fused in (True, False):
        impl.fused_backward = fused
        times[fused] = best_of(make(), repeats)
    impl.fused_backward = None
    print(f"{label} [{backend}, {impl.kernel.isa}]: fused {times[True] * 1e3:.0f} ms, composed "
          f"{times[False] * 1e3:.0f} ms, composed/fused {times[False] / times[True]:.2f}x", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--isa", nargs="+", default=["default"], help="kernel builds (avx512, avx2, ...); default: "
                    "the fastest this CPU runs")
    ap.add_argument("--batch", type=int, nargs="*", default=[1, 4], help="batch sizes of the single cross scan")
    ap.add_argument("--model-batch", type=int, nargs="*", default=[1], help="batch sizes of the training step")
    ap.add_argument("--frames", type=int, default=243)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per case (the best is shown)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    retain_freed_memory()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s)")
    for isa in args.isa:
        backend = "cpu" if isa == "default" else f"cpu-{isa}"
        ok, why = get_backend(backend).availability()
        if not ok:
            print(f"{backend}: unavailable ({why})")
            continue
        for batch in args.batch:
            compare(f"cross scan fwd+bwd, Di 256, 243x17, batch {batch}", backend,
                    lambda b=batch: scan_step(backend, b), args.repeats)
        for batch in args.model_batch:
            compare(f"PoseMamba-B train step, batch {batch} x {args.frames} frames", backend,
                    lambda b=batch: model_step(backend, b, args.frames), args.repeats)


if __name__ == "__main__":
    main()
