"""The options of an `infer` run, declared once: InferConfig. `posemamba infer` builds its flags from these
fields (their `metadata`: flags, help, choices) and `posemamba_cli.infer(**options)` takes the same names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from posemamba_cli.world.trajectory import DEFAULT_SMOOTH_S

PEOPLE_CHOICES = ("main", "all")
DECODING_CHOICES = ("auto", "plain", "dark")


class PoseEstimator2D(Protocol):
    """Top-down 2D keypoints: `predict(image_bgr, bboxes_xyxy) -> ((n, 17, 2) pixels, (n, 17) scores)`.

    An estimator may also offer `predict_many(images, boxes_per_image)`: the crops of several frames at once.
    """

    def predict(self, image_bgr: np.ndarray, bboxes_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def option(default: Any, *flags: str, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A field of InferConfig with its command-line flags (default: --name, --name/--no-name for bools
    that default to True), help text and choices."""
    return field(default=default, metadata={"flags": flags, "help": help, "choices": choices})


@dataclass
class InferConfig:
    """Options of one `infer` run (the command line's flags, in this order)."""

    people: str = option("main", help="main: the main person (largest summed box area); all: every track.",
                         choices=PEOPLE_CHOICES)  # fmt: skip
    device: str = option("auto", help="auto, cpu, cuda, cuda:N or mps.")
    lifter: str = option("posemamba-b", help="PoseMamba weights: registry name or file.")
    pose2d: str = option("auto", help="HRNet weights: registry name or file; auto: sized for the device.")
    flip_2d: bool | None = option(None, "--flip-2d/--no-flip-2d",
                                  help="2D flip test (default: off for the CPU default, else on).")  # fmt: skip
    decoding: str = option("auto", help="2D heatmap decoding (auto: from the registry entry).",
                           choices=DECODING_CHOICES)  # fmt: skip
    detector: str = option("yolo11n", help="YOLO weights: registry name, file, or model yaml.")
    det_conf: float = option(0.3, help="Person detection confidence threshold, in (0, 1].")
    weights_dir: Path | None = option(None, help="Where named weights live (default: the registry's folder).")
    offline: bool = option(False, help="Never download: missing named weights are an error.")
    flip: bool = option(True, help="Average the lifter with its horizontally flipped input.")
    batch_size: int = option(8, help="Lifter windows per forward pass (at least 1).")
    render: bool = option(True, help="Write the overlay, 3D and side-by-side videos.")
    video_preset: str = option("superfast", help="x264 preset of the written videos (encoding dominates rendering).")
    export: str | None = option(None, help="Also write person_<track id>.bvh / .glb: comma-separated bvh, glb.")
    viewer: bool = option(True, help="Write viewer.html, the interactive 3D page (see `posemamba view`).")
    rerun: bool = option(False, help="Also write recording.rrd for the rerun viewer (needs the extra: pip install "
                                     ".[rerun]).")  # fmt: skip
    min_track_frames: int = option(3, help="Ignore tracks seen in fewer frames (detector flicker) unless nothing "
                                           "else exists.")  # fmt: skip
    keep_fragments: bool = option(False, help="--people all: keep tracks shorter than 1 second (dropped by "
                                              "default).")  # fmt: skip
    overwrite: bool = option(False, help="Replace existing results (only folders posemamba wrote).")
    sequential: bool = option(False, help="Run the stages one after another in one thread (the same stage code).")
    world: bool = option(True, help="Root paths, floor, contacts (off: root-relative outputs only).")
    focal_px: float | None = option(None, help="Camera focal length in pixels (default: the image diagonal).")
    fov: float | None = option(None, help="Camera horizontal field of view in degrees, in (0, 180).")
    height: float | None = option(None, help="The people's standing height in metres (default: typical bone "
                                             "lengths, ~1.75 m).")  # fmt: skip
    smooth: float = option(DEFAULT_SMOOTH_S, help="Root path filter: Gaussian sigma in seconds (0: none).")
    quiet: bool = option(False, "--quiet", "-q", help="No progress bars.")

    @property
    def concurrent(self) -> bool:
        """The stages run in their own threads (the default) rather than chained in this one."""
        return not self.sequential
