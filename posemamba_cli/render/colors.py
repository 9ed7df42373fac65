"""Colours (BGR) for skeleton drawing: left side, right side, centre line, per-person tints."""

from __future__ import annotations

from posemamba_cli.skeleton import H36M_BONES, H36M_LEFT, H36M_RIGHT

LEFT = (255, 140, 40)
RIGHT = (40, 60, 235)
CENTRE = (60, 200, 60)
INTERPOLATED = (160, 160, 160)


def bone_colors() -> list[tuple[int, int, int]]:
    """A colour per H36M bone: by the side of its child joint."""
    out = []
    for _, child in H36M_BONES:
        out.append(LEFT if child in H36M_LEFT else RIGHT if child in H36M_RIGHT else CENTRE)
    return out
