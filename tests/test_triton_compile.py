"""Every Triton scan kernel compiles to PTX for an sm_90 GPU on a CPU-only machine.

The interpreter tests check the kernels' numbers but run them as Python; this compiles them the way a GPU
run does (constexpr branches, jit helpers inlined across modules, int64 address arithmetic, layouts), so a
kernel that only the compiler rejects fails here rather than on the first GPU run.
"""

from __future__ import annotations

import pytest

triton = pytest.importorskip("triton")

SCAN = dict(SEG_CHUNKS=2, BD=4, BN=16, T=16, SOFTPLUS=True, HAS_D=True, HAS_BIAS=True)
CROSS = dict(SEG_CHUNKS=2, BD=8, BN=16, BR=4, T=16, HAS_D=True, ACC=True)
LANES = {k: v for k, v in CROSS.items() if k != "ACC"}  # the one-launch forward writes each group's own y
# (module, kernel, constexprs)
KERNELS = [
    *[("_triton_kernels", "scan_fwd_kernel", dict(SCAN, LOCAL=loc, HAS_HIN=not loc)) for loc in (False, True)],
    *[("_triton_kernels", "scan_fwd_seq_kernel", dict(SCAN, LOCAL=loc, HAS_HIN=not loc, UNROLL=4))
      for loc in (False, True)],
    *[("_triton_kernels", "scan_bwd_kernel", dict(SCAN, LOCAL=loc, HAS_GIN=not loc)) for loc in (False, True)],
    ("_triton_kernels", "seg_combine_kernel", dict(n_seg=3, BD=4, BN=16, REVERSE=True)),
    *[("_triton_cross_kernels", name, dict(CROSS, UNROLL=4, SAVE=not loc, LOCAL=loc, HAS_HIN=not loc))
      for name in ("cross_fwd_kernel", "cross_fwd_split_kernel") for loc in (False, True)],
    ("_triton_cross_kernels", "cross_fwd_kernel",
     dict(CROSS, HAS_D=False, ACC=False, UNROLL=2, SAVE=False, LOCAL=False, HAS_HIN=False)),
    *[("_triton_cross_kernels", "cross_bwd_kernel", dict(CROSS, LOCAL=loc, HAS_GIN=not loc)) for loc in (False, True)],
    # issue 23: the one-launch forward (thread per channel) and the grouped backward
    *[("_triton_cross_lanes", "cross_fwd_lanes_kernel",
       dict(LANES, BD=32, UNROLL=4, SAVE=not loc, LOCAL=loc, HAS_HIN=not loc, STAGE=stage, EVEN=even))
      for loc in (False, True) for stage in (False, True) for even in (True, False) if not (loc and not even)],
    *[("_triton_cross_bwd", "cross_bwd_grouped_kernel",
       dict(CROSS, BD=4, GROUP=4, LOCAL=loc, ATOMIC=atomic)) for loc in (False, True) for atomic in (True, False)],
    *[("_triton_cross_lanes_bwd", "cross_bwd_lanes_kernel", dict(LANES, BD=32, LOCAL=loc, HAS_GIN=not loc))
      for loc in (False, True)],
]


@pytest.mark.slow
@pytest.mark.parametrize("module,kernel,consts", KERNELS, ids=lambda v: v if isinstance(v, str) else None)
def test_kernel_compiles_to_ptx(module: str, kernel: str, consts: dict) -> None:
    import importlib

    try:
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource
    except ImportError as exc:  # an older or trimmed triton
        pytest.skip(f"this triton cannot compile ahead of time: {exc}")
    fn = getattr(importlib.import_module(f"posemamba_cli.ops.{module}"), kernel)
    signature = {a: "constexpr" if a in consts else "*i32" if a == "ord_ptr" else "*fp32" if a.endswith("_ptr")
                 else "i32" for a in fn.arg_names}
    constexprs = {(fn.arg_names.index(k),): v for k, v in consts.items()}
    try:
        compiled = triton.compile(ASTSource(fn, signature, constexprs=constexprs), target=GPUTarget("cuda", 90, 32))
    except RuntimeError as exc:
        if "backend" in str(exc).lower():
            pytest.skip(f"triton has no CUDA backend here: {exc}")
        raise
    ptx = compiled.asm["ptx"]
    assert ".entry " + kernel in ptx and "ex2.approx" in ptx  # the kernel, with its exp2 on the MUFU
