"""The fused cross scan's per-group kernel arguments, shared by its Triton launchers (cross_scan_triton.py,
cross_scan_lanes.py)."""

from __future__ import annotations


def group_args(k: int, us, xdbl, orders, dt_w, dt_b, A, D, *more_strides) -> tuple:
    """Group k's kernel arguments: its source u, projections x, weights (order, dt_w, dt_b, A rows, D rows)
    and strides (u's, x's, then `more_strides`, e.g. dy's)."""
    u, x, Di = us[k], xdbl[k], us[k].shape[2]
    A_k, D_k = A[k * Di:(k + 1) * Di], None if D is None else D[k * Di:(k + 1) * Di]
    return u, x, (orders[k], dt_w[k], dt_b[k], A_k, D_k), (*u.stride(), x.stride(0), x.stride(1), *more_strides)
