"""Human3.6M dataset facts: camera names and resolutions, damaged recordings, action names.

The skeleton (joints, bones, flip, normalisation) is `posemamba_cli.skeleton`.
"""

from __future__ import annotations

#: camera name -> (width, height) in pixels, as in the published preprocessing.
CAMERA_RESOLUTIONS: dict[str, tuple[int, int]] = {
    "54138969": (1000, 1002),
    "55011271": (1000, 1000),
    "58860488": (1000, 1000),
    "60457274": (1000, 1002),
}

#: test sources (`source[:-6]`) that the published evaluation skips (damaged recordings).
DAMAGED_SOURCES = ("s_09_act_05_subact_02", "s_09_act_10_subact_02", "s_09_act_13_subact_01")

#: Human3.6M action names by action number (act_02 .. act_16).
ACTIONS = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
    "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether",
)  # fmt: skip

