"""Person detection: any callable frame -> (boxes xyxy (n, 4), scores (n,)); the default is ultralytics YOLO."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from posemamba_cli.errors import PoseMambaError


class PersonDetector(Protocol):
    """Anything that finds people in a BGR frame."""

    def __call__(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class YoloPersonDetector:
    """Ultralytics YOLO restricted to the COCO 'person' class.

    `model` is a weights file (.pt) or a model yaml (random weights: plumbing tests and benchmarks).
    """

    def __init__(
        self,
        model: str | Path,
        conf: float = 0.3,
        iou: float = 0.7,
        imgsz: int = 640,
        device: str = "cpu",
    ) -> None:
        from posemamba_cli.people.offline import import_ultralytics

        import_ultralytics()
        from ultralytics import YOLO

        model = str(model)
        if not model.endswith((".yaml", ".yml")):
            from posemamba_cli.io.safe_weights import check_detector_weights

            check_detector_weights(model)  # before ultralytics unpickles it with weights_only off
            if Path(model).suffix.lower() != ".pt":  # ultralytics reads other names lazily, as exported formats
                raise PoseMambaError(f"{model}: a YOLO weights file must be named *.pt (ultralytics reads its "
                                     "weights only under that suffix); rename it")  # fmt: skip
        try:
            self.model = YOLO(model, task="detect")
        except Exception as exc:  # a corrupt or foreign file
            raise PoseMambaError(f"{model}: cannot load the YOLO detector: {exc}") from exc
        self.conf, self.iou, self.imgsz, self.device = conf, iou, imgsz, device

    def __call__(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        threads = torch.get_num_threads()  # ultralytics resets it to cores - 1 on every CPU predict
        try:
            result = self._predict(frame_bgr)
        finally:
            torch.set_num_threads(threads)
        boxes = result.boxes
        return boxes.xyxy.cpu().numpy().astype(np.float64), boxes.conf.cpu().numpy().astype(np.float64)

    def _predict(self, frame_bgr: np.ndarray):
        return self.model.predict(
            frame_bgr,
            conf=self.conf,
            iou=self.iou,
            imgsz=self.imgsz,
            classes=[0],
            device=self.device,
            verbose=False,
        )[0]
