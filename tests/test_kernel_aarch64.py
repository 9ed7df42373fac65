"""The NEON build of the CPU kernels (aarch64) equals the float64 reference, run under qemu-user on any machine.

Needs Debian's gcc-aarch64-linux-gnu and qemu-user; skips with the reason where they are absent. On an
aarch64 machine the NEON build is loaded natively and covered by the per-build tests instead.
"""

import platform
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from posemamba_cli.model.posemamba import scan_orders
from posemamba_cli.ops import cross_selective_scan, selective_scan_reference
from posemamba_cli.ops.kernel_variants import COMMON_FLAGS, ISA_FLAGS, SCAN_SOURCES

CSRC = Path(__file__).resolve().parents[1] / "posemamba_cli" / "ops" / "csrc"
HARNESS = Path(__file__).resolve().parent / "csrc" / "scan_harness.c"
CC, QEMU, SYSROOT = "aarch64-linux-gnu-gcc", "qemu-aarch64", "/usr/aarch64-linux-gnu"


@pytest.fixture(scope="module")
def neon_binary(tmp_path_factory) -> Path:
    if platform.machine().lower() in ("aarch64", "arm64"):
        pytest.skip("aarch64 here: the NEON build runs natively in the per-build tests")
    missing = [tool for tool in (CC, QEMU) if shutil.which(tool) is None]
    if missing or not Path(SYSROOT).is_dir():
        pytest.skip(f"{', '.join(missing) or SYSROOT} absent (apt-get install gcc-aarch64-linux-gnu qemu-user)")
    binary = tmp_path_factory.mktemp("neon") / "scan_harness"
    flags = [*COMMON_FLAGS, *ISA_FLAGS["neon"]]
    sources = [str(CSRC / name) for name in SCAN_SOURCES]
    subprocess.run([CC, *flags, str(HARNESS), *sources, "-o", str(binary), "-lm"], check=True, capture_output=True)
    assert run(binary, [np.array([0], np.int64)]) == b"neon"  # the build took the NEON path
    return binary


def run(binary: Path, parts: list[np.ndarray]) -> bytes:
    data = b"".join(np.ascontiguousarray(p).tobytes() for p in parts)
    proc = subprocess.run([QEMU, "-L", SYSROOT, str(binary)], input=data, capture_output=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, f"harness exit {proc.returncode}: {proc.stderr.decode()[:300]}"
    return proc.stdout


def unpack(out: bytes, sizes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """The harness's float32 outputs, one array per name in order, as float64 tensors of those shapes."""
    flat = np.frombuffer(out, np.float32)
    got, at = {}, 0
    for name, shape in sizes.items():
        n = int(np.prod(shape))
        got[name] = torch.from_numpy(flat[at:at + n].reshape(shape).copy()).double()
        at += n
    assert at == flat.size, f"{flat.size} floats, expected {at}"
    return got


def f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).contiguous().numpy()


@pytest.mark.parametrize("dim,f,J,random_orders", [(32, 9, 17, False), (12, 7, 3, True)])
def test_neon_cross_scan_matches_float64(neon_binary, dim, f, J, random_orders):
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    K, R, N, P, batch = 4, 2, 16, f * J, 2
    sources = [r(batch, dim, P) for _ in range(2)]
    source_index = (0, 1, 0, 1)
    xw, dtw, dtb = r(K, R + 2 * N, dim) / dim**0.5, r(K, dim, R) / R**0.5, r(K, dim) - 3.0
    A = -(torch.rand(K * dim, N, generator=g, dtype=torch.float64) * 15 + 0.5)
    D = r(K * dim)
    orders = (torch.stack([torch.randperm(P, generator=g) for _ in range(K)]) if random_orders
              else scan_orders(f, J, torch.device("cpu")))
    want = cross_selective_scan(sources, source_index, orders, xw, dtw, dtb, A, D)  # float64: the reference loop
    got = neon_cross_forward(neon_binary, sources, source_index, orders, xw, dtw, dtb, A, D)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())


def test_neon_scan_forward_and_gradients_match_float64(neon_binary):
    g = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    batch, groups, per_group, N, L = 2, 2, 6, 16, 150  # 6 channels: four-row blocks and single rows; 3 chunks
    dim = groups * per_group
    leaves = {"u": r(batch, dim, L), "delta": 0.5 * r(batch, dim, L),
              "A": -(torch.rand(dim, N, generator=g, dtype=torch.float64) * 15.5 + 0.5),
              "B": r(batch, groups, N, L), "C": r(batch, groups, N, L), "D": r(dim), "delta_bias": 0.3 * r(dim)}
    leaves = {k: v.requires_grad_(True) for k, v in leaves.items()}
    gy = r(batch, dim, L)
    y = selective_scan_reference(**leaves)
    (y * gy).sum().backward()
    header = np.array([2, batch, dim, groups, L, N, 1], np.int64)
    Bt, Ct = (leaves[k].transpose(-1, -2) for k in "BC")  # the kernel's (batch, groups, L, N)
    out = run(neon_binary, [header, f32(leaves["u"]), f32(leaves["delta"]), f32(leaves["delta_bias"]),
                            f32(leaves["A"]), f32(Bt), f32(Ct), f32(leaves["D"]), f32(gy)])
    sizes = {"y": (batch, dim, L), "u": (batch, dim, L), "delta": (batch, dim, L), "A": (batch, dim, N),
             "D": (batch, dim), "delta_bias": (batch, dim), "B": (batch, groups, L, N), "C": (batch, groups, L, N)}
    got = unpack(out, sizes)
    got["A"], got["D"], got["delta_bias"] = got["A"].sum(0), got["D"].sum(0), got["delta_bias"].sum(0)  # partials
    got["B"], got["C"] = got["B"].transpose(-1, -2), got["C"].transpose(-1, -2)
    want_y = y.detach()
    torch.testing.assert_close(got["y"], want_y, rtol=1e-5, atol=1e-5 * want_y.abs().max().item())
    for name, leaf in leaves.items():
        want = leaf.grad
        torch.testing.assert_close(got[name], want, rtol=1e-4, atol=2e-5 * want.abs().max().item(), msg=name)


@pytest.mark.parametrize("dim,f,J,random_orders", [(32, 9, 17, False), (12, 7, 5, True)])
def test_neon_cross_scan_gradients_match_float64(neon_binary, dim, f, J, random_orders):
    """cross_scan_bwd of the NEON build: with the projections' matmul backward (as the CPU backend runs it),
    every gradient of the cross scan equals float64 autograd through the composed op."""
    g = torch.Generator().manual_seed(2)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    K, R, N, P, batch = 4, 2, 16, f * J, 2
    C = R + 2 * N
    source_index = (0, 1, 0, 1)
    leaves = {"source0": r(batch, dim, P), "source1": r(batch, dim, P), "x_proj_weight": r(K, C, dim) / dim**0.5,
              "dt_proj_weight": r(K, dim, R) / R**0.5, "dt_proj_bias": r(K, dim) - 3.0,
              "A": -(torch.rand(K * dim, N, generator=g, dtype=torch.float64) * 15 + 0.5), "D": r(K * dim)}
    leaves = {k: v.requires_grad_(True) for k, v in leaves.items()}
    orders = (torch.stack([torch.randperm(P, generator=g) for _ in range(K)]) if random_orders
              else scan_orders(f, J, torch.device("cpu")))
    gy = r(batch, dim, P)
    sources = (leaves["source0"], leaves["source1"])
    y = cross_selective_scan(sources, source_index, orders, leaves["x_proj_weight"], leaves["dt_proj_weight"],
                             leaves["dt_proj_bias"], leaves["A"], leaves["D"])  # float64: the reference loop
    (y * gy).sum().backward()
    got = neon_cross_gradients(neon_binary, sources, source_index, orders,
                               *(leaves[k] for k in list(leaves)[2:]), gy)
    assert got.keys() == leaves.keys()
    for name, leaf in leaves.items():
        want = leaf.grad
        torch.testing.assert_close(got[name], want, rtol=1e-4, atol=5e-5 * want.abs().max().item(), msg=name)


def neon_cross_forward(binary, sources, source_index, orders, xw, dtw, dtb, A, D) -> torch.Tensor:
    """cross_scan_fwd of the NEON build (harness mode 1): y (batch, Di, P) as float64."""
    K, (batch, dim, P), R, N = len(source_index), sources[0].shape, dtw.shape[-1], A.shape[-1]
    us = torch.stack([sources[s].detach().transpose(1, 2) for s in source_index])  # (K, batch, P, Di) channels-last
    proj = torch.einsum("kbpd,kcd->kbpc", us, xw.detach())  # (K, batch, P, R + 2N), as the backend forms it
    header = np.array([1, K, dim, P, R, N, batch], np.int64)
    out = run(binary, [header, f32(us), f32(proj), orders.to(torch.int32).numpy(), f32(dtw.reshape(K * dim, R)),
                       f32(dtb.reshape(-1)), f32(A), f32(D)])
    return torch.from_numpy(np.frombuffer(out, np.float32).reshape(batch, P, dim).copy()).transpose(1, 2).double()


def neon_cross_gradients(binary, sources, source_index, orders, xw, dtw, dtb, A, D, gy) -> dict[str, torch.Tensor]:
    """The gradients of sum(y * gy) by cross_scan_bwd of the NEON build (harness mode 3) and the projections'
    matmul backward (as the CPU backend runs it), as float64, named as the op's inputs (source0, source1, ...)."""
    K, (batch, dim, P), R, N = len(source_index), sources[0].shape, dtw.shape[-1], A.shape[-1]
    C = R + 2 * N
    us = torch.stack([s.detach().transpose(1, 2) for s in sources]).double()  # (S, batch, P, Di) channels-last
    xw = xw.detach().double()
    proj = torch.einsum("kbpd,kcd->kbpc", us[list(source_index)], xw)  # (K, batch, P, C)
    header = np.array([3, K, dim, P, R, N, batch, len(sources), *source_index], np.int64)
    out = run(binary, [header, f32(us), f32(proj), orders.to(torch.int32).numpy(), f32(dtw.reshape(K * dim, R)),
                       f32(dtb.reshape(-1)), f32(A), f32(D), f32(gy.transpose(1, 2))])
    sizes = {"du": (len(sources), batch, P, dim), "dproj": (K, batch, P, C), "A": (batch, K * dim, N),
             "D": (batch, K * dim), "dt_proj_bias": (batch, K * dim), "dt_proj_weight": (batch, K * dim, R)}
    got = unpack(out, sizes)
    du, dproj = got.pop("du"), got.pop("dproj")
    got = {k: v.sum(0) for k, v in got.items()}  # per batch row partials
    got["dt_proj_bias"] = got["dt_proj_bias"].view(K, dim)
    got["dt_proj_weight"] = got["dt_proj_weight"].view(K, dim, R)
    for k, s in enumerate(source_index):  # proj = u W^T
        du[s] += dproj[k] @ xw[k]
    got["x_proj_weight"] = torch.einsum("kbpc,kbpd->kcd", dproj, us[list(source_index)])
    sources_grads = {f"source{i}": du[i].transpose(1, 2) for i in range(len(sources))}
    return {**sources_grads, **{k: got[k] for k in ("x_proj_weight", "dt_proj_weight", "dt_proj_bias", "A", "D")}}


def test_neon_cross_scan_on_a_trained_lifter(neon_binary, trained_lifter):
    """The trained lifter's two cross scans (helpers.trained) through the NEON build: y and every gradient within
    1.5x the float32 reference's error against float64 (plus one ulp), as test_trained_fidelity for x86 builds."""
    from helpers.trained import GRAD_NAMES, allowed, cross_scan_calls, grad_weight, grads, load_trained, max_error

    for i, call in enumerate(cross_scan_calls(load_trained(trained_lifter), trained_lifter.clip)):
        y64, g64 = grads(call, torch.float64, "reference", per_group=True)
        y32, g32 = grads(call, torch.float32, "reference")
        y = neon_cross_forward(neon_binary, *call)
        got = neon_cross_gradients(neon_binary, *call, grad_weight(call))
        errs = {"y": (max_error(y, y64), max_error(y32, y64))}
        errs.update({k: (max_error(got[k], g64[k]), max_error(g32[k], g64[k])) for k in GRAD_NAMES})
        worse = {k: f"{e:.3g} against {ref:.3g}" for k, (e, ref) in errs.items() if e > allowed(ref)}
        assert not worse, f"scan {i}: {worse}"


def test_neon_block_steps_match_float64(neon_binary):
    """The fused conv + SiLU + limb gather and LayerNorm + SiLU gate of the NEON build (block_ops.c)."""
    g = torch.Generator().manual_seed(3)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    b, f, J, D = 2, 5, 17, 12  # D: three NEON vectors
    x, weight, bias = r(b, f, J, D) * 3, r(D, 1, 3, 3), r(D)
    parent = torch.tensor([0, 0, 1, 2, 3, 0, 4, 5, 6, 8, 11, 12, 13, 8, 14, 15, 16])
    act = F.silu(F.conv2d(x.permute(0, 3, 1, 2), weight, bias, padding=1, groups=D)).permute(0, 2, 3, 1)
    want = torch.cat([act.reshape(-1), (act + act.index_select(2, parent)).reshape(-1)])
    out = run(neon_binary, [np.array([4, b, f, J, D], np.int64), f32(x), f32(weight.reshape(D, 9).t()), f32(bias),
                            parent.numpy().astype(np.int64)])
    got = torch.from_numpy(np.frombuffer(out, np.float32).copy()).double()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6 * want.abs().max().item())

    y, z, w, beta = r(7, 32) * 4 + 1.5, r(7, 32) * 5, r(32), r(32)
    want = F.layer_norm(y, (32,), w, beta, 1e-5) * F.silu(z)
    out = run(neon_binary, [np.array([5, 7, 32], np.int64), f32(y), f32(z), f32(w), f32(beta),
                            np.array([1e-5], np.float32)])
    got = torch.from_numpy(np.frombuffer(out, np.float32).reshape(7, 32).copy()).double()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * want.abs().max().item())
