"""Which 2D model `infer` uses when none is named: sized for the device it will run on.

On a CPU the 2D model decides the speed (HRNet-W48 384x288 with the flip test costs about 66 GFLOPs per
person-frame, HRNet-W32 256x192 without it 7): the CPU default is HRNet-W32 256x192 without the flip test
(mmpose publishes COCO AP 74.9 for it with the flip test; a little less without). On a GPU the most accurate
model, HRNet-W48 384x288 with the flip test, in half precision.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTO = "auto"
CPU_DEFAULT = "hrnet-w32-256x192"
GPU_DEFAULT = "hrnet-w48-384x288"


@dataclass(frozen=True)
class Pose2DChoice:
    """A 2D model and how to run it."""

    name: str  # registry name or weights file
    flip_test: bool
    half: bool  # float16 network (CUDA only)
    automatic: bool  # picked by `choose_pose2d`, not named by the user

    def describe(self, device: str) -> str:
        """One line saying what runs, for the user to see (and how to choose otherwise when automatic)."""
        how = "with the flip test" if self.flip_test else "without the flip test"
        precision = ", half precision" if self.half else ""
        line = f"2D model: {self.name} {how}{precision} on {device}"
        if self.automatic:
            other = GPU_DEFAULT if self.name == CPU_DEFAULT else CPU_DEFAULT
            line += f" (the {_kind(device)} default; --pose2d {other} / --flip-2d to choose)"
        return line


def _kind(device: str) -> str:
    return "CPU" if device == "cpu" else "GPU"


def choose_pose2d(requested: str, device: str, flip_test: bool | None = None, half: bool | None = None) -> Pose2DChoice:
    """`requested` is a name, a file, or "auto"; `flip_test` / `half` None means the choice's own default.

    "auto" gives HRNet-W32 256x192 without the flip test on a CPU, HRNet-W48 384x288 with it on a GPU.
    A named model keeps its published test setting (flip test on). Half precision is the default on CUDA.
    """
    on_cuda = str(device).startswith("cuda")
    automatic = requested == AUTO
    if automatic:
        name = GPU_DEFAULT if on_cuda else CPU_DEFAULT
        default_flip = on_cuda
    else:
        name, default_flip = requested, True
    return Pose2DChoice(
        name=name,
        flip_test=default_flip if flip_test is None else bool(flip_test),
        half=on_cuda if half is None else bool(half) and on_cuda,
        automatic=automatic,
    )
