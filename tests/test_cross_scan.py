"""Every CPU kernel build's cross scan equals the composed op (gather, projections, scan, scatter) run in
float64: the fused no-grad forward, and the forward and gradients that training takes."""

import contextlib
import functools

import pytest
import torch

from posemamba_cli import PoseMamba
from posemamba_cli.model.config import PoseMambaConfig
from posemamba_cli.model.posemamba import BiSTSSM, scan_orders
from posemamba_cli.ops import cross_selective_scan, get_backend, use_backend


def make_inputs(batch, K, dim, rank, n_state, f, J, channels_last, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    P = f * J

    def source():
        t = r(batch, P, dim) if channels_last else r(batch, dim, P)
        return t.transpose(1, 2) if channels_last else t

    return dict(
        sources=(source(), source()), source_index=(0, 1, 0, 1)[:K],
        x_proj_weight=r(K, rank + 2 * n_state, dim) / dim**0.5, dt_proj_weight=r(K, dim, rank) / rank**0.5,
        dt_proj_bias=r(K, dim) - 3.0, A=-(torch.rand(K * dim, n_state, generator=g, dtype=torch.float64) * 15 + 0.5),
        D=r(K * dim),
    )


def run(inputs, orders, dtype, backend):
    cast = {k: (tuple(s.to(dtype) for s in v) if k == "sources" else v.to(dtype) if torch.is_tensor(v) else v)
            for k, v in inputs.items()}
    with torch.no_grad():
        return cross_selective_scan(orders=orders, backend=backend, **cast)


@pytest.fixture(autouse=True)
def native():
    ok, why = get_backend("cpu").availability()
    if not ok:
        pytest.skip(f"cpu backend unavailable: {why}")


@functools.cache
def case(channels_last, batch, dim, f, J, orders):
    """(inputs, orders, the float64 composed result), computed once for every kernel build."""
    inputs = make_inputs(batch, 4, dim, max(1, dim // 32), 16, f, J, channels_last)
    if orders == "random":
        g = torch.Generator().manual_seed(1)
        orders = torch.stack([torch.randperm(f * J, generator=g) for _ in range(4)])
    else:
        orders = scan_orders(f, J, torch.device("cpu"))
    return inputs, orders, run(inputs, orders, torch.float64, "auto")  # float64 runs the reference loop


@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("batch,dim,f,J,orders", [
    (1, 256, 243, 17, "posemamba"),  # PoseMamba-B's full scan: K*Di = 1024, L = 4131
    (2, 16, 7, 3, "random"),  # odd sizes, arbitrary permutations
    (3, 48, 1, 17, "posemamba"),  # a single frame
])
def test_fused_matches_composed_float64(cpu_variant, channels_last, batch, dim, f, J, orders):
    inputs, orders, want = case(channels_last, batch, dim, f, J, orders)
    got = run(inputs, orders, torch.float32, cpu_variant)
    assert got.shape == want.shape == (batch, dim, f * J) and got.dtype == torch.float32
    if channels_last:
        assert got.transpose(1, 2).is_contiguous()  # written in its inputs' layout, ready for a LayerNorm
    torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-4 * want.abs().max().item())


def composed_with_grads(inputs, orders, dtype, backend, per_group=False):
    """y and the gradients of sum(y * weight) for every input, through the composed (autograd) path.

    per_group: run the op one scan group at a time and add up (the op is a sum over groups), so that the
    float64 reference loop holds a quarter of the states at once."""
    leaf = lambda t: t.detach().to(dtype).requires_grad_(True)  # noqa: E731
    leaves = {k: (tuple(leaf(t) for t in v) if k == "sources" else leaf(v) if torch.is_tensor(v) else v)
              for k, v in inputs.items()}
    K, P = orders.shape
    Di = leaves["dt_proj_bias"].shape[1]
    weight = torch.randn(leaves["sources"][0].shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    y = 0
    for ks in [[k] for k in range(K)] if per_group else [list(range(K))]:
        k0, k1 = ks[0], ks[-1] + 1
        y_part = cross_selective_scan(
            leaves["sources"], [leaves["source_index"][k] for k in ks], orders[k0:k1], leaves["x_proj_weight"][k0:k1],
            leaves["dt_proj_weight"][k0:k1], leaves["dt_proj_bias"][k0:k1], leaves["A"][k0 * Di:k1 * Di],
            leaves["D"][k0 * Di:k1 * Di], backend=backend)
        (y_part * weight.to(dtype)).sum().backward()
        y = y + y_part.detach()
    grads = {f"source{i}": s.grad for i, s in enumerate(leaves["sources"])}
    grads.update({k: v.grad for k, v in leaves.items() if torch.is_tensor(v)})
    return y, grads


@functools.cache
def grad_case(batch, dim, f, J, orders):
    inputs = make_inputs(batch, 4, dim, max(1, dim // 32), 16, f, J, channels_last=True, seed=2)
    if orders == "random":
        g = torch.Generator().manual_seed(3)
        orders = torch.stack([torch.randperm(f * J, generator=g) for _ in range(4)])
    else:
        orders = scan_orders(f, J, torch.device("cpu"))
    return inputs, orders, composed_with_grads(inputs, orders, torch.float64, "auto", per_group=True)


@contextlib.contextmanager
def training_path(backend_name, fused):
    """Run the block with the CPU build's fused backward on or off; yields a list that records every call of
    the fused backward (one per cross scan)."""
    backend = get_backend(backend_name)
    calls = []
    real = backend.cross_backward
    backend.fused_backward, backend.cross_backward = fused, lambda *a, **k: calls.append(1) or real(*a, **k)
    try:
        yield calls
    finally:
        backend.fused_backward = None
        del backend.cross_backward


def covered(backend_name, dim):
    return dim % get_backend(backend_name)._lanes == 0


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("batch,dim,f,J,orders", [
    pytest.param(1, 256, 243, 17, "posemamba", marks=pytest.mark.slow),  # PoseMamba-B's full scan
    (2, 32, 5, 7, "random"),  # odd sizes, arbitrary permutations, two batch rows
    (1, 24, 5, 17, "posemamba"),  # Di = 24: the fused kernel covers 8 lanes (AVX2), not 16 (AVX-512)
])
def test_training_path_gradients_match_float64(cpu_variant, fused, batch, dim, f, J, orders):
    """y and every gradient (sources, x_proj_weight, dt_proj_weight, dt_proj_bias, A, D) of the path training
    takes, the fused backward (where the build covers the shape) or the composed op, equal float64's."""
    inputs, orders, (y_ref, grads_ref) = grad_case(batch, dim, f, J, orders)
    with training_path(cpu_variant, fused) as calls:
        y, grads = composed_with_grads(inputs, orders, torch.float32, cpu_variant)
    assert len(calls) == (1 if fused and covered(cpu_variant, dim) else 0)
    torch.testing.assert_close(y.double(), y_ref, rtol=1e-4, atol=1e-4 * y_ref.abs().max().item())
    assert set(grads) == set(grads_ref) == {"source0", "source1", "x_proj_weight", "dt_proj_weight", "dt_proj_bias",
                                            "A", "D"}
    for name, want in grads_ref.items():
        torch.testing.assert_close(grads[name].double(), want, rtol=1e-3, atol=1e-4 * want.abs().max().item(),
                                   msg=name)


def test_fused_backward_threads_split_units_across_batch_rows(cpu_variant):
    """Three threads over the (batch, channel block) units: each sums its projections' gradients apart, and
    the result equals float64's."""
    inputs, orders, (y_ref, grads_ref) = grad_case(2, 32, 5, 7, "random")
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        with training_path(cpu_variant, True) as calls:
            _, grads = composed_with_grads(inputs, orders, torch.float32, cpu_variant)
    finally:
        torch.set_num_threads(threads)
    assert calls == [1]
    for name, want in grads_ref.items():
        torch.testing.assert_close(grads[name].double(), want, rtol=1e-3, atol=1e-4 * want.abs().max().item(),
                                   msg=name)


def test_fused_backward_leaves_a_detached_source_alone(cpu_variant):
    """A source that needs no gradient (the model's published limb detach) gets none; the others still do."""
    inputs = make_inputs(1, 4, 32, 1, 16, 3, 5, channels_last=True)
    orders = scan_orders(3, 5, torch.device("cpu"))
    kept = inputs["sources"][1].float().requires_grad_(True)
    rest = {k: v.float().requires_grad_(True) if torch.is_tensor(v) else v for k, v in inputs.items() if k != "sources"}
    with training_path(cpu_variant, True) as calls:
        y = cross_selective_scan((inputs["sources"][0].float(), kept), orders=orders, backend=cpu_variant, **rest)
        y.sum().backward()
    assert calls == [1]
    assert kept.grad is not None and kept.grad.abs().sum() > 0
    assert all(rest[k].grad is not None for k in ("x_proj_weight", "dt_proj_weight", "dt_proj_bias", "A", "D"))


def test_model_training_takes_the_fused_backward(cpu_variant):
    """PoseMamba in training: every cross scan runs the fused backward, and the parameter gradients equal the
    composed path's."""
    config = PoseMambaConfig(num_frame=9, dim_feat=16, depth=2)  # Di = 32: every build
    grads = {}
    for fused in (True, False):
        torch.manual_seed(0)
        model = PoseMamba(config).train()
        x = torch.randn(2, 9, 17, 2)
        with training_path(cpu_variant, fused) as calls, use_backend(cpu_variant):
            model(x).square().mean().backward()
        scans = sum(isinstance(m, BiSTSSM) for m in model.modules())
        assert len(calls) == (scans if fused else 0) and scans > 0
        grads[fused] = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    assert grads[True].keys() == grads[False].keys()
    for name, want in grads[False].items():
        torch.testing.assert_close(grads[True][name], want, rtol=1e-3, atol=1e-5 + 1e-4 * want.abs().max().item(),
                                   msg=name)


def test_uncovered_shapes_and_gradients_take_the_composed_path():
    inputs = make_inputs(2, 4, 6, 1, 16, 5, 3, channels_last=False)  # Di = 6: not a multiple of four
    orders = scan_orders(5, 3, torch.device("cpu"))
    torch.testing.assert_close(run(inputs, orders, torch.float32, "cpu").double(),
                               run(inputs, orders, torch.float64, "auto"), rtol=1e-4, atol=1e-5)
    inputs = make_inputs(1, 4, 8, 1, 16, 5, 3, channels_last=False)
    sources = tuple(s.float().requires_grad_(True) for s in inputs.pop("sources"))
    rest = {k: v.float() if torch.is_tensor(v) else v for k, v in inputs.items()}
    y = cross_selective_scan(sources, orders=orders, backend="cpu", **rest)
    y.square().sum().backward()
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in sources)


def test_lifter_inference_equals_the_autograd_path():
    """PoseMamba-B at 243 frames: the fused no-grad forward equals the composed forward autograd uses."""
    torch.manual_seed(0)
    model = PoseMamba.from_preset("B").eval()
    x = torch.randn(1, 243, 17, 2)
    with torch.no_grad():
        fused = model(x)
    composed = model(x)  # parameters require grad here, so every block runs the composed op
    assert composed.requires_grad
    torch.testing.assert_close(fused, composed.detach(), rtol=1e-4, atol=1e-4)
