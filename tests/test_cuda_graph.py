"""The CUDA-graph inference helpers: clear refusals and the eager fallback on the CPU (captures: test_lifter_gpu.py)."""

import pytest
import torch

from posemamba_cli import PoseMamba
from posemamba_cli.model.cuda_graph import GraphedForward, capture_forward


def test_capture_refuses_cpu_inputs():
    model = PoseMamba(num_frame=3, dim_feat=8, depth=1).eval()
    with pytest.raises(ValueError, match="CUDA graphs need CUDA tensors"):
        capture_forward(model, torch.randn(1, 3, 17, 2))


def test_graphed_forward_runs_cpu_inputs_eagerly():
    torch.manual_seed(0)
    model = PoseMamba(num_frame=3, dim_feat=8, depth=1).eval()
    graphed = GraphedForward(model, max_batch=4)
    x = torch.randn(2, 3, 17, 2)
    with torch.no_grad():
        torch.testing.assert_close(graphed(x), model(x), rtol=0, atol=0)
    assert graphed._graphs == {}
