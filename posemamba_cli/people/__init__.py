"""People in a video: detection (YOLO or any callable), ByteTrack tracking, selection, gap filling."""

from posemamba_cli.people.detector import PersonDetector, YoloPersonDetector
from posemamba_cli.people.selection import boxes_by_frame, fill_gaps, select_tracks, track_weight
from posemamba_cli.people.tracker import PersonTracker, Track

__all__ = [
    "PersonDetector",
    "YoloPersonDetector",
    "PersonTracker",
    "Track",
    "select_tracks",
    "fill_gaps",
    "boxes_by_frame",
    "track_weight",
]
