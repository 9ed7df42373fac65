"""Track people across frames with ultralytics' ByteTrack, fed by any detector."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

# ultralytics' bytetrack.yaml defaults
BYTETRACK_DEFAULTS = dict(
    tracker_type="bytetrack",
    track_high_thresh=0.25,
    track_low_thresh=0.1,
    new_track_thresh=0.25,
    track_buffer=30,
    match_thresh=0.8,
    fuse_score=True,
)


class _Detections:
    """The slice of ultralytics' `Boxes` interface that BYTETracker reads (numpy, boolean-indexable)."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray) -> None:
        self.xyxy = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        self.conf = np.asarray(conf, dtype=np.float32).reshape(-1)
        self.cls = np.zeros_like(self.conf)

    @property
    def xywh(self) -> np.ndarray:
        x1, y1, x2, y2 = self.xyxy.T
        return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index) -> _Detections:
        return _Detections(self.xyxy[index], self.conf[index])


@dataclass
class Track:
    """One tracked person: frame index -> (box xyxy, detection score)."""

    track_id: int
    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)

    @property
    def frames(self) -> list[int]:
        return sorted(self.boxes)

    def mean_area(self) -> float:
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in self.boxes.values()]
        return float(np.mean(areas)) if areas else 0.0


class PersonTracker:
    """Frame-by-frame ByteTrack; `update` returns the (track_id, box, score) of the people in that frame."""

    def __init__(self, fps: float = 30.0, **overrides: float) -> None:
        from posemamba_cli.people.offline import import_ultralytics

        import_ultralytics()
        from ultralytics.trackers.byte_tracker import BYTETracker

        args = dict(BYTETRACK_DEFAULTS, **overrides)
        # track_buffer is in frames at 30 fps in ultralytics' configs; keep the same time span
        args["track_buffer"] = max(1, int(round(args["track_buffer"] * fps / 30.0)))
        self._tracker = BYTETracker(SimpleNamespace(**args))
        self.tracks: dict[int, Track] = {}
        self.frame_index = -1

    def update(self, boxes_xyxy: np.ndarray, scores: np.ndarray) -> list[tuple[int, np.ndarray, float]]:
        self.frame_index += 1
        detections = _Detections(boxes_xyxy, scores)
        out = self._tracker.update(detections)
        found = []
        for row in np.asarray(out).reshape(-1, 8):
            # the detector's own box (not the Kalman-smoothed one) is what the 2D model should crop
            tid, score, idx = int(row[4]), float(row[5]), int(row[7])
            box = detections.xyxy[idx].astype(np.float64) if 0 <= idx < len(detections) else row[:4].astype(np.float64)
            track = self.tracks.setdefault(tid, Track(tid))
            track.boxes[self.frame_index] = box
            track.scores[self.frame_index] = score
            found.append((tid, box, score))
        return found
