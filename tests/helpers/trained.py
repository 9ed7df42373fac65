"""A briefly trained PoseMamba and the cross scans it runs: the fast paths' exactness is judged on these.

Random weights hide what trained ones show: with trained statistics (a step dt near 1e-3 on a state whose A is
near -1) a scan state remembers thousands of steps, so over PoseMamba's 243 x 17 grid a per-step bias of a fast
path's exp or sums grows into an error many times the float32 reference's. The lifter here is trained for a
few steps on synthetic data (`write_synthetic`, `Trainer`, as `posemamba data synthetic` and `posemamba train`
do) at the full 243 frames, small in width (dim_feat 16: Di = 32, R = 1, N = 16); made once (seconds on one
thread) and kept in pytest's cache by the `trained_lifter` fixture (tests/conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

VERSION = "v1"  # bump when the recipe below changes: the cache folder is named after it
FRAMES = 243
STEPS = 30
TRAIN = dict(
    epochs=100, batch_size=2, learning_rate=2e-3, dim_feat=16, depth=1, clip_len=FRAMES, maxlen=FRAMES,
    data_stride=81, drop_path_rate=0.0, flip=False, no_eval=True, seed=0, scan_backend="auto",
)  # fmt: skip


class TrainedLifter(NamedTuple):
    checkpoint: Path  # save_checkpoint's file of the trained model
    clip: Tensor  # (1, 243, 17, 2) a normalised test clip of the same synthetic data


def make_trained_lifter(folder: Path) -> TrainedLifter:
    """Train the lifter into `folder` (checkpoint trained.pt, clip clip.pt) unless both are there already."""
    checkpoint, clip = folder / "trained.pt", folder / "clip.pt"
    if not (checkpoint.is_file() and clip.is_file()):
        from posemamba_cli.data.synthetic import SyntheticSpec, write_synthetic
        from posemamba_cli.train import Trainer, config_from_dict, resolve_data

        work = folder / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        data_file = work / "synthetic.pkl"
        write_synthetic(data_file, SyntheticSpec(actions=(2, 14), min_frames=250, max_frames=400, seed=1))
        cfg = config_from_dict({**TRAIN, "data_file": str(data_file), "cache_dir": str(work / "cache")})
        data = resolve_data(cfg)
        result = Trainer(cfg, data, work / "run", max_steps=STEPS, tensorboard=False).fit()
        assert result.global_step == STEPS, result
        x = torch.from_numpy(data.test.stacked_inputs()[:1, :, :, :2].copy())  # (1, 243, 17, 2)
        torch.save(x, work / "clip.pt")
        (work / "clip.pt").replace(clip)
        (work / "run" / "latest.pt").replace(checkpoint)
        shutil.rmtree(work, ignore_errors=True)
    return TrainedLifter(checkpoint, torch.load(clip, weights_only=True))


def load_trained(lifter: TrainedLifter):
    """The trained PoseMamba in eval mode."""
    from posemamba_cli.model.checkpoint import load_file
    from posemamba_cli.model.posemamba import PoseMamba
    from posemamba_cli.train import config_from_dict

    model = PoseMamba(config_from_dict(TRAIN).model)
    model.load_state_dict(load_file(lifter.checkpoint)["model"])
    return model.eval()


class CrossScanCall(NamedTuple):
    """The arguments of one cross_selective_scan call (float32, detached)."""

    sources: tuple[Tensor, ...]
    source_index: tuple[int, ...]
    orders: Tensor
    x_proj_weight: Tensor
    dt_proj_weight: Tensor
    dt_proj_bias: Tensor
    A: Tensor
    D: Tensor

    def cast(self, dtype: torch.dtype) -> CrossScanCall:
        to = lambda t: t.detach().to(dtype)  # noqa: E731
        return CrossScanCall(tuple(to(s) for s in self.sources), self.source_index, self.orders,
                             *(to(t) for t in self[3:]))


def cross_scan_calls(model, clip: Tensor) -> list[CrossScanCall]:
    """The cross scans of a no-grad forward of `model` on `clip`, in block order (spatial, temporal, ...)."""
    from posemamba_cli.model import posemamba

    calls, real = [], posemamba.cross_selective_scan

    def spy(*args, **kwargs):
        calls.append(CrossScanCall(*args).cast(torch.float32))
        return real(*args, **kwargs)

    posemamba.cross_selective_scan = spy
    try:
        with torch.no_grad():
            model(clip)
    finally:
        posemamba.cross_selective_scan = real
    return calls


def max_error(got: Tensor, want: Tensor) -> float:
    """max |got - want| relative to the largest |want|."""
    return (got.double() - want).abs().max().item() / (want.abs().max().item() or 1.0)


RATIO = 1.5  # a fast path's error may be this many times the float32 reference's
ULP = 2.0**-23  # plus one float32 ulp of the largest value (errors are relative to it): the gradients' errors are
# a few ulps, the reference's one sample of them; a drift of the kind trained weights bring out is 3x to 40x


def allowed(ref_err: float) -> float:
    """The largest error a fast path may have where the float32 reference's is `ref_err`."""
    return RATIO * ref_err + ULP


GRAD_NAMES = ("source0", "source1", "x_proj_weight", "dt_proj_weight", "dt_proj_bias", "A", "D")


def grad_weight(call: CrossScanCall) -> Tensor:
    """The fixed weight w (batch, Di, P) of the loss sum(y * w) whose gradients the tests compare."""
    return torch.randn(call.sources[0].shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)


def grads(call: CrossScanCall, dtype: torch.dtype, backend: str, per_group: bool = False):
    """y and the gradients of sum(y * grad_weight) for every input (GRAD_NAMES) through cross_selective_scan;
    per_group: one scan group at a time (the op is a sum over groups), so that the float64 reference loop holds
    a quarter of the states at once."""
    from posemamba_cli.ops import cross_selective_scan

    weight = grad_weight(call)
    call = call.cast(dtype)
    sources = tuple(s.requires_grad_(True) for s in call.sources)
    params = [t.requires_grad_(True) for t in call[3:]]
    K, Di = call.orders.shape[0], call.dt_proj_bias.shape[1]
    y = 0
    for k0, k1 in [(k, k + 1) for k in range(K)] if per_group else [(0, K)]:
        xw, dw, db, A, D = params
        part = cross_selective_scan(sources, call.source_index[k0:k1], call.orders[k0:k1], xw[k0:k1], dw[k0:k1],
                                    db[k0:k1], A[k0 * Di:k1 * Di], D[k0 * Di:k1 * Di], backend=backend)
        (part * weight.to(dtype)).sum().backward()
        y = y + part.detach()
    return y, dict(zip(GRAD_NAMES, [s.grad for s in sources] + [p.grad for p in params]))
