"""PoseMamba against its transformer peer MotionAGFormer on one GPU, in the same run; prints markdown tables.

    python benchmarks/bench_lifter_gpu.py [--peers ../shared/peers] [--quick] [--json out.json]

Inference (eval forward, no grad) in frames/s on clips of 243 frames: PoseMamba S/B/L and MotionAGFormer
B/L at batch 1/16/64, fp32 and bf16 autocast. PoseMamba runs eagerly and, at batch <= --graph-max-batch,
also replayed from a CUDA graph (model.cuda_graph); its best is compared with the peer of its size (S and
B with MotionAGFormer-B, L with MotionAGFormer-L): ratio = PoseMamba frames/s / peer frames/s.
Training step (forward, loss, backward, AdamW; bf16 autocast, batch --train-batch): ms per step, and the
ratio peer ms / PoseMamba ms (> 1: PoseMamba faster). Cross scan (the fused op alone, PoseMamba-B shapes,
batch 64): forward and forward+backward ms, fused against the composed op, and the forward's bytes / time
as a share of the GPU's peak bandwidth.

The peer is imported from PEERS/motionagformer (see its README); on the device machine ../shared does
not travel, so copy it into an ignored folder of the checkout, carry it and pass --peers. Timings:
median of CUDA-event timings (triton.testing.do_bench). `--device cpu` runs the same code with
wall-clock medians at whatever small sizes are given (a smoke run, not a measurement).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
PEAKS_TBS = {"H200": 4.8, "H100 NVL": 3.9, "H100 PCIe": 2.0, "H100": 3.35, "A100": 2.0}  # datasheet HBM TB/s
PEER_BASE = dict(  # MotionAGFormer-base at 243 frames (its README / MotionAGFormer-base.yaml)
    n_layers=16, dim_in=3, dim_feat=128, dim_rep=512, dim_out=3, mlp_ratio=4, attn_drop=0.0, drop=0.0,
    drop_path=0.0, use_layer_scale=True, layer_scale_init_value=1e-5, use_adaptive_fusion=True, num_heads=8,
    qkv_bias=False, qkv_scale=None, hierarchical=False, num_joints=17, use_temporal_similarity=True,
    temporal_connection_len=1, use_tcn=False, graph_only=False, neighbour_num=2,
)
PEER_LAYERS = {"B": 16, "L": 26}
PEER_OF = {"S": "B", "B": "B", "L": "L"}


def median_ms(fn, device: str, quick: bool) -> float:
    if device == "cuda":
        from triton.testing import do_bench

        return do_bench(fn, warmup=10 if quick else 25, rep=100 if quick else 300, return_mode="median")
    fn()
    times = []
    for _ in range(3 if quick else 7):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def load_peer(peers: Path, size: str, frames: int, device: str) -> torch.nn.Module:
    """MotionAGFormer-B or -L from PEERS/motionagformer, with its published constructor arguments."""
    folder = peers / "motionagformer"
    if not (folder / "model" / "MotionAGFormer.py").is_file():
        sys.exit(f"MotionAGFormer not found under {folder} (pass --peers, or --skip-peer)")
    from posemamba_cli.compat.torchvision_ops import ensure_torchvision

    ensure_torchvision()  # timm imports torchvision
    sys.path.insert(0, str(folder))
    from model.MotionAGFormer import MotionAGFormer

    args = {**PEER_BASE, "n_layers": PEER_LAYERS[size], "n_frames": frames, "act_layer": torch.nn.GELU}
    return MotionAGFormer(**args).to(device)


def posemamba(preset: str, frames: int, device: str) -> torch.nn.Module:
    from posemamba_cli.model.posemamba import PoseMamba

    return PoseMamba.from_preset(preset, num_frame=frames).to(device)


def autocast(device: str, amp: bool):
    return torch.autocast(device, dtype=torch.bfloat16, enabled=amp)


def time_inference(model, x, device: str, amp: bool, quick: bool) -> float:
    def fn():
        with torch.no_grad(), autocast(device, amp):
            model(x)
    return median_ms(fn, device, quick)


def time_graphed(model, x, amp: bool, quick: bool) -> float:
    from posemamba_cli.model.cuda_graph import capture_forward

    captured = capture_forward(model, x, autocast_dtype=torch.bfloat16 if amp else None)
    return median_ms(lambda: captured(x), "cuda", quick)


def time_train_step(model, x, device: str, quick: bool) -> float:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    target = torch.randn(*x.shape[:3], 3, device=device)

    def step():
        with autocast(device, True):
            loss = (model(x).float() - target).norm(dim=-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    ms = median_ms(step, device, quick)
    model.eval()
    return ms


def bench_inference(args, out: dict) -> list[str]:
    rows = ["| model | batch | precision | PoseMamba eager fps | PoseMamba graph fps | peer | peer fps | ratio |",
            "|---|---|---|---|---|---|---|---|"]
    peers: dict[str, torch.nn.Module] = {}
    peer_fps: dict[tuple, float] = {}
    for preset in args.presets:
        pm = posemamba(preset, args.frames, args.device).eval()
        peer_size = PEER_OF[preset]
        for batch in args.batches:
            for amp in (False, True):
                prec = "bf16" if amp else "fp32"
                x = torch.randn(batch, args.frames, 17, 2, device=args.device)
                eager = batch * args.frames / time_inference(pm, x, args.device, amp, args.quick) * 1e3
                graph = None
                if args.device == "cuda" and batch <= args.graph_max_batch:
                    graph = batch * args.frames / time_graphed(pm, x, amp, args.quick) * 1e3
                key = (peer_size, batch, prec)
                if not args.skip_peer and key not in peer_fps:
                    if peer_size not in peers:
                        peers[peer_size] = load_peer(args.peers, peer_size, args.frames, args.device).eval()
                    xp = torch.randn(batch, args.frames, 17, 3, device=args.device)
                    ms = time_inference(peers[peer_size], xp, args.device, amp, args.quick)
                    peer_fps[key] = batch * args.frames / ms * 1e3
                best = max(eager, graph or 0.0)
                theirs = peer_fps.get(key)
                ratio = best / theirs if theirs else None
                out["inference"].append(dict(preset=preset, batch=batch, precision=prec, eager_fps=eager,
                                             graph_fps=graph, peer=f"MotionAGFormer-{peer_size}", peer_fps=theirs,
                                             ratio=ratio))
                rows.append(f"| PoseMamba-{preset} | {batch} | {prec} | {eager:,.0f} | "
                            f"{'-' if graph is None else f'{graph:,.0f}'} | MotionAGFormer-{peer_size} | "
                            f"{'-' if theirs is None else f'{theirs:,.0f}'} | "
                            f"{'-' if ratio is None else f'{ratio:.2f}x'} |")
                print(rows[-1], flush=True)
        del pm
        if args.device == "cuda":
            torch.cuda.empty_cache()
    return rows


def bench_training(args, out: dict) -> list[str]:
    rows = ["| model | batch | PoseMamba ms / step | peer | peer ms / step | peer ms / PoseMamba ms |",
            "|---|---|---|---|---|---|"]
    b = args.train_batch
    for preset in args.train_presets:
        pm = posemamba(preset, args.frames, args.device)
        ms = time_train_step(pm, torch.randn(b, args.frames, 17, 2, device=args.device), args.device, args.quick)
        del pm
        theirs = None
        if not args.skip_peer:
            peer = load_peer(args.peers, PEER_OF[preset], args.frames, args.device)
            theirs = time_train_step(peer, torch.randn(b, args.frames, 17, 3, device=args.device), args.device,
                                     args.quick)
            del peer
        ratio = theirs / ms if theirs else None
        out["train"].append(dict(preset=preset, batch=b, ms=ms, peer_ms=theirs, ratio=ratio))
        rows.append(f"| PoseMamba-{preset} (bf16) | {b} | {ms:.1f} | MotionAGFormer-{PEER_OF[preset]} | "
                    f"{'-' if theirs is None else f'{theirs:.1f}'} | {'-' if ratio is None else f'{ratio:.2f}x'} |")
        print(rows[-1], flush=True)
        if args.device == "cuda":
            torch.cuda.empty_cache()
    return rows


def variant(orders, **options):
    """The fused cross scan with some CrossScanTriton options changed for the call."""
    from posemamba_cli.ops import cross_selective_scan, get_backend

    def op(sources, params):
        cross = get_backend("triton").cross
        saved = {k: getattr(cross, k) for k in options}
        vars(cross).update(options)
        try:
            return cross_selective_scan(sources, (0, 1, 0, 1), orders, *params)
        finally:
            vars(cross).update(saved)
    return op


def bench_cross_scan(args, out: dict, peak: float | None) -> list[str]:
    """The fused cross scan alone against the composed op, PoseMamba-B shapes."""
    from posemamba_cli.model.posemamba import scan_orders_and_inverse
    from posemamba_cli.ops import cross_selective_scan
    from posemamba_cli.ops.cross_scan import _composed

    rows = ["| op | batch | dtype | fwd ms | fwd+bwd ms | fwd GB/s | % of peak |", "|---|---|---|---|---|---|---|"]
    dev, Di, R, N, K = args.device, 256, 8, 16, 4
    orders, inverse = scan_orders_and_inverse(args.frames, 17, dev)
    P = orders.shape[1]
    for dtype in (torch.float32, torch.bfloat16):
        b = args.cross_batch
        srcs = [torch.randn(b, P, Di, device=dev, dtype=dtype).transpose(1, 2) for _ in range(2)]
        params = [torch.randn(K, R + 2 * N, Di, device=dev) / 16, torch.randn(K, Di, R, device=dev) / 3,
                  torch.full((K, Di), -4.0, device=dev), -torch.arange(1, N + 1, device=dev).repeat(K * Di, 1).float(),
                  torch.ones(K * Di, device=dev)]
        ops = {"fused": lambda s, p: cross_selective_scan(s, (0, 1, 0, 1), orders, *p, inverse_orders=inverse),
               "composed": lambda s, p: _composed(s, (0, 1, 0, 1), orders, *p, "auto", None, inverse)}
        if dev == "cuda":  # the Triton forward's variants (CrossScanTriton options), for tuning
            ops["fused, rows in L2"] = variant(orders, batch_block="l2")
            ops["fused, 1/4 exp on FMA"] = variant(orders, poly_exp=True)
        # bytes the fused forward must move: each group reads its source and projections, y summed in place
        elt = srcs[0].element_size()
        moved = K * b * P * (Di * elt + (R + 2 * N) * elt) + (2 * K - 1) * b * P * Di * 4
        amp = dtype == torch.bfloat16  # as in the model: bf16 sources come with bf16 autocast
        for name, op in ops.items():
            def fwd(op=op, amp=amp):
                with torch.no_grad(), autocast(dev, amp):
                    op(srcs, params)
            leaves = [s.detach().requires_grad_(True) for s in srcs]
            ps = [p.detach().requires_grad_(True) for p in params]

            def fwd_bwd(op=op, leaves=leaves, ps=ps, amp=amp):
                with autocast(dev, amp):
                    y = op(leaves, ps)
                y.float().sum().backward()
            f_ms = median_ms(fwd, dev, args.quick)
            fb_ms = median_ms(fwd_bwd, dev, args.quick)
            gbs = moved / (f_ms * 1e-3) / 1e9
            pct = None if peak is None else 100 * gbs * 1e9 / peak
            prec = str(dtype).replace("torch.", "")
            out["cross"].append(dict(op=name, batch=b, dtype=prec, fwd_ms=f_ms, fwd_bwd_ms=fb_ms, fwd_gbs=gbs,
                                     pct_peak=pct, bytes=moved))
            rows.append(f"| {name} | {b} | {prec} | {f_ms:.2f} | {fb_ms:.2f} | {gbs:.0f} | "
                        f"{'-' if pct is None else f'{pct:.0f}%'} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, default=REPO.parent / "shared" / "peers")
    parser.add_argument("--skip-peer", action="store_true", help="time PoseMamba only")
    parser.add_argument("--presets", default="S,B,L")
    parser.add_argument("--batches", default="1,16,64")
    parser.add_argument("--train-presets", default="B,L")
    parser.add_argument("--train-batch", type=int, default=16)
    parser.add_argument("--cross-batch", type=int, default=64)
    parser.add_argument("--graph-max-batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=243)
    parser.add_argument("--skip", default="", help="comma list of parts to skip: inference,train,cross")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--json", help="write all figures here")
    args = parser.parse_args()
    args.presets = [p.upper() for p in args.presets.split(",") if p]
    args.train_presets = [p.upper() for p in args.train_presets.split(",") if p]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    skip = set(filter(None, args.skip.split(",")))
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("needs a CUDA device (or --device cpu for a smoke run)")
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    peak = next((tbs * 1e12 for key, tbs in PEAKS_TBS.items() if key in name), None)
    from posemamba_cli.ops import resolve_backend

    backend = resolve_backend("auto", args.device, torch.float32)
    print(f"device: {name}; torch {torch.__version__}; scan backend (auto): {backend.name if backend else None}; "
          f"peak {'-' if peak is None else f'{peak / 1e12:.2f} TB/s'}", flush=True)
    out = dict(device=name, torch=torch.__version__, frames=args.frames, inference=[], train=[], cross=[])
    tables = []
    if "inference" not in skip:
        tables.append((f"Inference, {args.frames}-frame clips, frames/s (ratio: best PoseMamba / peer)",
                       bench_inference(args, out)))
    if "train" not in skip:
        tables.append((f"Training step, bf16 autocast, batch {args.train_batch} x {args.frames} frames, AdamW",
                       bench_training(args, out)))
    if "cross" not in skip:
        tables.append((f"Cross scan, PoseMamba-B shapes (K*Di 1024, L {args.frames * 17}, N 16)",
                       bench_cross_scan(args, out, peak)))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    print(f"\n## {name}, torch {torch.__version__}")
    for title, rows in tables:
        print(f"\n{title}\n")
        print("\n".join(rows))


if __name__ == "__main__":
    main()
