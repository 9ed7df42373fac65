"""The fused block steps (conv + SiLU + limb gather, LayerNorm + SiLU gate) of every CPU kernel build equal
their PyTorch composition run in float64, at PoseMamba-B's size and at odd sizes."""

import pytest
import torch
import torch.nn.functional as F

from posemamba_cli.model.posemamba import LIMB_PARENTS
from posemamba_cli.ops import get_backend
from posemamba_cli.ops.block_ops import _fused_backend, conv3x3_silu, layer_norm_gate


def reference_conv(x, weight, bias, gather):
    act = F.silu(F.conv2d(x.permute(0, 3, 1, 2), weight, bias, padding=1, groups=x.shape[-1])).permute(0, 2, 3, 1)
    return act, act + act.index_select(2, gather)


@pytest.mark.parametrize("b,f,J,D,parents", [
    (1, 243, 17, 256, LIMB_PARENTS),  # PoseMamba-B's block
    (2, 5, 3, 48, [2, 0, 0]),  # odd sizes; D: three AVX-512 vectors, six AVX2 ones
    (1, 1, 1, 16, [0]),  # one frame, one joint: every tap but the centre falls in the padding
])
def test_conv3x3_silu_matches_float64(cpu_variant, b, f, J, D, parents):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, f, J, D, generator=g, dtype=torch.float64) * 3  # SiLU's tails included
    weight, bias = torch.randn(D, 1, 3, 3, generator=g, dtype=torch.float64), torch.randn(D, generator=g,
                                                                                           dtype=torch.float64)
    gather = torch.tensor(parents)
    want_act, want_limb = reference_conv(x, weight, bias, gather)
    assert _fused_backend(cpu_variant, x.float(), width=D) is not None  # the C kernel of this build runs below
    act, limb = conv3x3_silu(x.float(), weight.float(), bias.float(), gather, backend=cpu_variant)
    scale = want_act.abs().max().item()
    torch.testing.assert_close(act.double(), want_act, rtol=1e-5, atol=1e-6 * scale)
    torch.testing.assert_close(limb.double(), want_limb, rtol=1e-5, atol=1e-6 * scale)
    act_only, none = conv3x3_silu(x.float(), weight.float(), bias.float(), None, backend=cpu_variant)
    assert none is None and torch.equal(act_only, act)


@pytest.mark.parametrize("shape", [(1, 243, 17, 256), (3, 7, 32)])
def test_layer_norm_gate_matches_float64(cpu_variant, shape):
    g = torch.Generator().manual_seed(1)
    D = shape[-1]
    y = torch.randn(*shape, generator=g, dtype=torch.float64) * 4 + 1.5  # an offset: the mean matters
    z = torch.randn(*shape, generator=g, dtype=torch.float64) * 5
    weight, bias = torch.randn(D, generator=g, dtype=torch.float64), torch.randn(D, generator=g, dtype=torch.float64)
    want = F.layer_norm(y, (D,), weight, bias, 1e-5) * F.silu(z)
    yf = y.float()
    out = layer_norm_gate(yf, z.float(), weight.float(), bias.float(), 1e-5, backend=cpu_variant)
    torch.testing.assert_close(out.double(), want, rtol=1e-5, atol=1e-5 * want.abs().max().item())
    assert torch.equal(yf, y.float())  # not in place unless asked
    inplace = layer_norm_gate(yf, z.float(), weight.float(), bias.float(), 1e-5, backend=cpu_variant, inplace=True)
    assert inplace.data_ptr() == yf.data_ptr() and torch.equal(inplace, out)


def test_gradients_and_other_backends_take_the_composition():
    x = torch.randn(1, 4, 3, 16, requires_grad=True)
    weight, bias = torch.randn(16, 1, 3, 3), torch.randn(16)
    assert _fused_backend("auto", x, width=16) is None  # a gradient is wanted
    act, limb = conv3x3_silu(x, weight, bias, torch.tensor([0, 0, 1]))
    (act.sum() + limb.sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with torch.no_grad():
        assert _fused_backend("torch", x, width=16) is None and _fused_backend("reference", x, width=16) is None
        assert _fused_backend("auto", x.double(), width=16) is None
        if get_backend("cpu").availability()[0]:  # the same call without a gradient: native
            assert _fused_backend("auto", x, width=16) is not None
        assert _fused_backend("auto", x, width=6) is None  # 6 channels: no whole vectors in any build
