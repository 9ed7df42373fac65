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

# One distinct colour per person (BGR), the same in the overlay and the 3D view; cycles after ten.
PERSON_COLORS = [
    (0, 215, 255), (255, 0, 255), (255, 255, 0), (0, 128, 255), (128, 255, 0),
    (255, 128, 128), (128, 0, 255), (0, 255, 128), (255, 191, 0), (203, 192, 255),
]  # fmt: skip


def person_color(index: int) -> tuple[int, int, int]:
    """The colour of person `index` (their position in the output files)."""
    return PERSON_COLORS[index % len(PERSON_COLORS)]
