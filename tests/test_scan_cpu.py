"""Every CPU selective-scan backend, and every build of the C kernel this CPU runs, equals the float64
reference, forward and all gradients."""

import pytest
import torch

from posemamba_cli.ops import backend_status, get_backend, selective_scan, selective_scan_reference

SHAPES = [  # batch, groups, channels per group, N, L
    (2, 4, 8, 16, 37),
    (1, 2, 3, 5, 200),  # N != 16 takes the generic path
    (3, 4, 6, 16, 131),  # odd length, several backward chunks
    (1, 4, 4, 16, 1),
]


def make_inputs(batch, groups, per_group, n_state, length, seed=0):
    g = torch.Generator().manual_seed(seed)
    dim = groups * per_group
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    return dict(
        u=r(batch, dim, length), delta=0.5 * r(batch, dim, length),
        A=-(torch.rand(dim, n_state, generator=g, dtype=torch.float64) * 15.5 + 0.5),
        B=r(batch, groups, n_state, length), C=r(batch, groups, n_state, length),
        D=r(dim), delta_bias=0.3 * r(dim),
    )


def native_available():
    ok, why = get_backend("cpu").availability()
    if not ok:
        pytest.skip(f"cpu backend unavailable: {why}")


def check_against_reference(backend, shape):
    inputs = make_inputs(*shape)
    weight = torch.randn(shape[0], shape[1] * shape[2], shape[4], dtype=torch.float64)
    ref = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y_ref = selective_scan_reference(**ref)
    (y_ref * weight).sum().backward()
    ours = {k: v.float().requires_grad_(True) for k, v in inputs.items()}
    y = selective_scan(**ours, backend=backend)
    assert y.dtype == torch.float32 and y.shape == y_ref.shape
    (y * weight.float()).sum().backward()
    torch.testing.assert_close(y.double(), y_ref.detach(), rtol=1e-5, atol=1e-5 * y_ref.abs().max().item())
    for name in inputs:
        want, got = ref[name].grad, ours[name].grad.double()
        torch.testing.assert_close(got, want, rtol=1e-4, atol=2e-5 * want.abs().max().item(), msg=name)


@pytest.mark.parametrize("shape", SHAPES)
def test_torch_backend_matches_float64_reference(shape):
    check_against_reference("torch", shape)


@pytest.mark.parametrize("shape", SHAPES)
def test_each_cpu_kernel_build_matches_float64_reference(cpu_variant, shape):
    check_against_reference(cpu_variant, shape)


def test_default_cpu_backend_uses_the_fastest_build_the_cpu_runs():
    from posemamba_cli.ops.cpu_kernel import supported_isas

    native_available()
    assert get_backend("cpu").kernel.isa == supported_isas()[0]


def check_optional_d_and_bias_and_no_softplus(backend):
    inputs = make_inputs(2, 2, 4, 16, 50, seed=3)
    inputs["delta"] = inputs["delta"].abs() + 0.01  # positive steps without softplus
    del inputs["D"], inputs["delta_bias"]
    y_ref = selective_scan_reference(**inputs, delta_softplus=False)
    y = selective_scan(**{k: v.float() for k, v in inputs.items()}, delta_softplus=False, backend=backend)
    torch.testing.assert_close(y.double(), y_ref, rtol=1e-5, atol=1e-5)


def test_optional_d_and_bias_and_no_softplus_torch():
    check_optional_d_and_bias_and_no_softplus("torch")


def test_optional_d_and_bias_and_no_softplus_each_cpu_build(cpu_variant):
    check_optional_d_and_bias_and_no_softplus(cpu_variant)


def test_full_width_block_forward_matches_reference(cpu_variant):
    """The real PoseMamba-S size (K*Di = 512, L = 243*17) so no size-dependent miscompile slips through."""
    g = torch.Generator().manual_seed(1)
    dim, groups, n_state, length = 512, 4, 16, 243 * 17
    u = torch.randn(1, dim, length, generator=g)
    delta = torch.randn(1, dim, length, generator=g) * 0.5
    A = -torch.exp(torch.log(torch.arange(1, 17.0)).repeat(dim, 1))
    B = torch.randn(1, groups, n_state, length, generator=g)
    C = torch.randn(1, groups, n_state, length, generator=g)
    D = torch.ones(dim)
    bias = torch.randn(dim, generator=g) * 0.3 - 3
    y = selective_scan(u, delta, A, B, C, D, bias, backend=cpu_variant)
    y_torch = selective_scan(u, delta, A, B, C, D, bias, backend="torch")
    torch.testing.assert_close(y, y_torch, rtol=1e-4, atol=1e-4)
    # spot-check 40 channels straddling groups 1 and 2 against the float64 loop
    ref = selective_scan_reference(u[:, 256 - 20:256 + 20].double(), delta[:, 256 - 20:256 + 20].double(),
                                   A[256 - 20:256 + 20].double(), B[:, 1:3].double(), C[:, 1:3].double(),
                                   D[256 - 20:256 + 20].double(), bias[256 - 20:256 + 20].double())
    torch.testing.assert_close(y[:, 256 - 20:256 + 20].double(), ref, rtol=1e-4, atol=1e-4)


def test_auto_uses_reference_for_float64_and_reports_backends():
    status = backend_status()
    assert set(status) >= {"cpu", "torch"} and status["torch"][0]
    inputs = make_inputs(1, 2, 2, 4, 9)
    y = selective_scan(**inputs)  # float64: the reference path, exact
    torch.testing.assert_close(y, selective_scan_reference(**inputs), rtol=0, atol=0)


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown selective-scan backend"):
        selective_scan(**{k: v.float() for k, v in make_inputs(1, 2, 2, 4, 9).items()}, backend="nope")

