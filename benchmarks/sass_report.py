"""Compile every cross-scan kernel variant for sm_90 on this machine (no GPU) and count its inner loop's SASS.

    python benchmarks/sass_report.py [--markdown] [--keep DIR]

Each variant is compiled by Triton ahead of time (as tests/test_triton_compile.py does) at PoseMamba-B
shapes (Di 256, R 8, N 16, P 4131, channels-last float32 sources), with the integer arguments specialised
the way a launch specialises them (== 1 -> constant, multiple of 16 -> divisibility hint). The cubin is
disassembled with the wheel's cuobjdump (triton/backends/nvidia/bin). Per variant: registers per thread
and spilled bytes (cuobjdump -res-usage), and for the innermost loop that holds a MUFU.EX2 (a backward
branch's span): SASS instructions per iteration, per element (one element = one (state, channel, step);
elements per thread per iteration from the tile shape; where several innermost loops hold a MUFU.EX2, their
sum), MUFU.EX2 / other MUFU, loads, stores, atomics
(RED / ATOM), shuffles, BAR.SYNC; and the number of ttg.convert_layout ops inside scf.for loops (TTGIR).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DI, R, N, P, BATCH = 256, 8, 16, 4131, 64
ELEMENTS = 4 * BATCH * DI * N * P  # (group, row, channel, state, step) elements of one cross scan at batch 64
SM_CLOCKS = 132 * 1.98e9  # H100 SXM / H200: SMs x boost clock
# per SM and clock: 4 warp instructions issued (128 lanes), 16 MUFU.EX2 lanes
XW = R + 2 * N
N_CHUNKS = -(-P // 32)


@dataclass
class Variant:
    name: str
    module: str
    kernel: str
    consts: dict
    ints: dict  # runtime integer arguments (specialised like a launch)
    num_warps: int
    elems_per_iter: float  # (state, channel, step) elements one thread handles per inner-loop iteration
    note: str = ""
    extra: dict = field(default_factory=dict)


def _fwd_ints() -> dict:
    return dict(su_b=P * DI, su_p=DI, su_d=1, sx_b=P * XW, sx_p=XW, Di=DI, P=P, R=R, N=N, n_chunks=N_CHUNKS, n_seg=1)


def variants() -> list[Variant]:
    legacy = dict(SEG_CHUNKS=N_CHUNKS, BD=32, BN=16, BR=8, T=32, UNROLL=8, HAS_D=True, ACC=True, SAVE=True,
                  LOCAL=False, HAS_HIN=False)
    lanes = dict(SEG_CHUNKS=N_CHUNKS, BD=128, BN=16, BR=8, T=32, UNROLL=8, HAS_D=True, SAVE=True, LOCAL=False,
                 HAS_HIN=False, EVEN=True)
    bwd_ints = dict(_fwd_ints(), sy_b=P * DI, sy_p=DI, sy_d=1)
    out = [
        Variant("fwd legacy (per group, RMW y)", "_triton_cross_kernels", "cross_fwd_kernel", legacy,
                dict(_fwd_ints(), n_dblk=DI // 32), 4, 8 * 32 * 16 / 128, "UNROLL=8 steps per iteration"),
        Variant("fwd legacy poly_exp", "_triton_cross_kernels", "cross_fwd_split_kernel", legacy,
                dict(_fwd_ints(), n_dblk=DI // 32), 4, 8 * 32 * 16 / 128, "1/4 of exp2 on the FMA pipe"),
        Variant("fwd grid (one launch, thread per channel)", "_triton_cross_lanes", "cross_fwd_lanes_kernel",
                dict(lanes, STAGE=False), dict(_fwd_ints(), batch=BATCH, n_dblk=DI // 128), 4, 8 * 16,
                "UNROLL=8 steps per iteration"),
        Variant("fwd lane (grid + chunk staging)", "_triton_cross_lanes", "cross_fwd_lanes_kernel",
                dict(lanes, STAGE=True), dict(_fwd_ints(), batch=BATCH, n_dblk=DI // 128), 4, 8 * 16,
                "UNROLL=8 steps per iteration (u, y, order staged per 8)"),
        Variant("bwd legacy (BD=4 tile, atomics per tile)", "_triton_cross_kernels", "cross_bwd_kernel",
                dict(SEG_CHUNKS=N_CHUNKS, BD=4, BN=16, BR=8, T=32, HAS_D=True, ACC=True, LOCAL=False,
                     HAS_GIN=False), dict(bwd_ints, n_dblk=DI // 4), 4, 4 * 16 * 32 / 128, "one chunk per iteration"),
        Variant("bwd grouped (16 tiles per program)", "_triton_cross_bwd", "cross_bwd_grouped_kernel",
                dict(SEG_CHUNKS=N_CHUNKS, GROUP=16, BD=4, BN=16, BR=8, T=32, HAS_D=True, ACC=True, LOCAL=False,
                     ATOMIC=True), dict(bwd_ints, n_dgrp=4), 4, 4 * 16 * 32 / 128, "one tile of a chunk per iteration"),
        Variant("bwd lanes (one launch, thread per channel)", "_triton_cross_lanes_bwd", "cross_bwd_lanes_kernel",
                dict(SEG_CHUNKS=N_CHUNKS, BD=128, BN=16, BR=8, T=32, HAS_D=True, LOCAL=False, HAS_GIN=False),
                dict(bwd_ints, batch=BATCH, n_dblk=DI // 128), 4, 16, "recompute step + reverse step"),
        Variant("bwd lanes, 1 warp (32 channels)", "_triton_cross_lanes_bwd", "cross_bwd_lanes_kernel",
                dict(SEG_CHUNKS=N_CHUNKS, BD=32, BN=16, BR=8, T=32, HAS_D=True, LOCAL=False, HAS_GIN=False),
                dict(bwd_ints, batch=BATCH, n_dblk=DI // 32), 1, 16, "recompute step + reverse step"),
    ]
    return out


def _tool(name: str) -> str:
    import triton

    return str(Path(triton.__file__).parent / "backends" / "nvidia" / "bin" / name)


def compile_variant(v: Variant):
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = getattr(importlib.import_module(f"posemamba_cli.ops.{v.module}"), v.kernel)
    consts = dict(v.consts)
    signature, attrs = {}, {}
    for i, a in enumerate(fn.arg_names):
        if a in consts:
            signature[a] = "constexpr"
        elif a.endswith("_ptr"):
            signature[a] = "*fp32" if a not in ("ord_ptr",) else "*i32"
            attrs[(i,)] = [["tt.divisibility", 16]]
        else:
            val = v.ints[a]
            if val == 1:  # a launch turns an integer argument equal to 1 into a constant
                signature[a] = "constexpr"
                consts[a] = 1
            else:
                signature[a] = "i32"
                if val % 16 == 0:
                    attrs[(i,)] = [["tt.divisibility", 16]]
    constexprs = {(fn.arg_names.index(k),): val for k, val in consts.items()}
    src = ASTSource(fn, signature, constexprs=constexprs, attrs=attrs)
    return triton.compile(src, target=GPUTarget("cuda", 90, 32), options=dict(num_warps=v.num_warps))


def _loops(sass: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """(start, end) address spans of backward branches."""
    spans = []
    for addr, ins in sass:
        m = re.search(r"\bBRA\s+(?:`\()?\.?L?_?x?_?(0x[0-9a-f]+)", ins)
        if m:
            target = int(m.group(1), 16)
            if target < addr:
                spans.append((target, addr))
    return spans


def parse_sass(text: str) -> list[tuple[int, str]]:
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?);", line)
        if m:
            out.append((int(m.group(1), 16), m.group(2).strip()))
    return out


def count(ins: list[str], pattern: str) -> int:
    return sum(1 for i in ins if re.search(pattern, i))


def converts_in_loops(ttgir: str) -> int:
    depth, n = 0, 0
    stack: list[bool] = []
    for line in ttgir.splitlines():
        s = line.strip()
        if "ttg.convert_layout" in s and depth > 0:
            n += 1
        opens, closes = s.count("{"), s.count("}")
        for _ in range(opens):
            stack.append("scf.for" in s)
        for _ in range(closes):
            if stack:
                stack.pop()
        depth = sum(stack)
    return n


def report(v: Variant, keep: Path | None) -> dict:
    compiled = compile_variant(v)
    with tempfile.TemporaryDirectory() as tmp:
        cubin = Path(keep or tmp) / f"{v.kernel}_{abs(hash(v.name)) % 10**6}.cubin"
        cubin.write_bytes(compiled.asm["cubin"])
        sass_text = subprocess.run([_tool("cuobjdump"), "-sass", str(cubin)], capture_output=True, text=True,
                                   check=True).stdout
        res = subprocess.run([_tool("cuobjdump"), "-res-usage", str(cubin)], capture_output=True, text=True,
                             check=True).stdout
        if keep:
            cubin.with_suffix(".sass").write_text(sass_text)
            cubin.with_suffix(".ttgir").write_text(compiled.asm["ttgir"])
    regs = int(re.search(r"REG:(\d+)", res).group(1))
    stack = int(m.group(1)) if (m := re.search(r"STACK:(\d+)", res)) else 0
    local = int(m.group(1)) if (m := re.search(r"LOCAL:(\d+)", res)) else 0
    sass = parse_sass(sass_text)
    spans = _loops(sass)
    innermost = [(a, b) for a, b in spans if not any((c, d) != (a, b) and a <= c and d <= b for c, d in spans)]
    hot = [(a, b) for a, b in innermost if any(a <= addr <= b and "MUFU.EX2" in ins for addr, ins in sass)]
    hot = hot or [(0, sass[-1][0])]
    # every innermost loop with an exponential (the backward "lanes" has two per step: recompute, reverse)
    body = [ins for addr, ins in sass if any(a <= addr <= b for a, b in hot) and not ins.startswith("NOP")]
    ex2 = count(body, r"MUFU\.EX2")
    return dict(
        variant=v.name, kernel=v.kernel, regs=regs, spill=stack + local, loop_instr=len(body),
        instr_per_elem=len(body) / v.elems_per_iter, ex2=ex2, ex2_per_elem=ex2 / v.elems_per_iter,
        mufu_other=count(body, r"MUFU\.(?!EX2)"), ldg=count(body, r"\bLDG"), stg=count(body, r"\bSTG"),
        atom=count(body, r"\b(RED|ATOM)"), shfl=count(body, r"\bSHFL"), bar=count(body, r"\bBAR\.SYNC|\bBAR\b"),
        lds_sts=count(body, r"\b(LDS|STS)\b"), cvt_in_loops=converts_in_loops(compiled.asm["ttgir"]),
        total_instr=len(sass), note=v.note,
        issue_ms=ELEMENTS * len(body) / v.elems_per_iter / 128 / SM_CLOCKS * 1e3,
        mufu_ms=ELEMENTS * ex2 / v.elems_per_iter / 16 / SM_CLOCKS * 1e3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write each variant's cubin, SASS and TTGIR here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    import triton

    print(f"Triton {triton.__version__}, sm_90, PoseMamba-B shapes (Di {DI}, R {R}, N {N}, P {P}), float32\n")
    print("instr / elem: a thread's SASS instructions in the loop per (state, channel, step) it handles; issue /"
          " MUFU bound: batch-64 ms if the SMs issued 4 warp instructions / clock, or ran 16 MUFU.EX2 / clock, and"
          " nothing else (132 SMs, 1.98 GHz)\n")
    print("| variant | regs | spill B | loop instr | instr / elem | MUFU.EX2 (/ elem) | other MUFU | LDG | STG |"
          " RED/ATOM | SHFL | BAR | LDS/STS | convert_layout in loops | issue / MUFU bound ms | iteration |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for v in variants():
        r = report(v, args.keep)
        print(f"| {r['variant']} | {r['regs']} | {r['spill']} | {r['loop_instr']} | {r['instr_per_elem']:.2f} | "
              f"{r['ex2']} ({r['ex2_per_elem']:.2f}) | {r['mufu_other']} | {r['ldg']} | {r['stg']} | {r['atom']} | "
              f"{r['shfl']} | {r['bar']} | {r['lds_sts']} | {r['cvt_in_loops']} | {r['issue_ms']:.1f} / "
              f"{r['mufu_ms']:.1f} | {r['note']} |", flush=True)


if __name__ == "__main__":
    main()
