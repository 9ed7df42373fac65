"""`posemamba infer` as torchrun (or plain python) runs it, with a scripted detector and 2D model.

Used by tests/test_infer_distributed.py (not a test module itself): the real command line, the real lifter
from a test-made checkpoint, sharding and output handling; only the YOLO and HRNet stages are replaced,
since weights that find a person cannot be made in a test. Environment knobs:
    TEST_RUN_LOG       file that receives "<rank> <video name>" for every video started
    TEST_SIGNAL_RANK   the rank that signals itself (TERM or INT, TEST_SIGNAL) ...
    TEST_SIGNAL_AFTER  ... when its detector has seen this many frames
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
from helpers.infer import ShadePose2D

import posemamba_cli.pipeline.models as models
import posemamba_cli.pipeline.videos as batch

RANK = int(os.environ.get("RANK", 0))


class WholeFrameDetector:
    """One person filling the frame; optionally signals its own process after some frames."""

    def __init__(self) -> None:
        self.frames = 0
        self.after = int(os.environ.get("TEST_SIGNAL_AFTER", 0))
        self.signal_here = str(RANK) == os.environ.get("TEST_SIGNAL_RANK", "")

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.frames += 1
        if self.signal_here and self.frames == self.after:
            os.kill(os.getpid(), getattr(signal, "SIG" + os.environ.get("TEST_SIGNAL", "TERM")))
        h, w = frame.shape[:2]
        return np.array([[2.0, 2.0, w - 2.0, h - 2.0]]), np.array([0.9])


def logged_infer_video(video, *args, **kwargs):
    log = os.environ.get("TEST_RUN_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{RANK} {os.path.basename(str(video))}\n")
    return real_infer_video(video, *args, **kwargs)


real_infer_video = batch.infer_video
batch.infer_video = logged_infer_video
models.check_models_present = lambda *args, **kwargs: None  # the stand-ins below need no weights files
models.load_detector = lambda *args, **kwargs: WholeFrameDetector()
models.load_pose2d = lambda *args, **kwargs: ShadePose2D()

if __name__ == "__main__":
    from posemamba_cli.cli.app import main

    sys.argv = ["posemamba", *sys.argv[1:]]
    main()
