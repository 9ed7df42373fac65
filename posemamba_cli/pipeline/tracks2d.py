"""Per-person 2D keypoint tracks aligned with the video's frames (one row per frame, gaps flagged)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.people.selection import fill_gaps, keypoint_boxes, main_person, summed_box_area


@dataclass
class Tracks2D:
    """COCO-17 keypoints of P people over T frames, in source pixels.

    `detected[p, t]` is True where the 2D model (or the keypoint file) saw person p in frame t; other rows
    are interpolated (inside the person's first..last frame) or held from the nearest seen frame.
    """

    keypoints: np.ndarray  # (P, T, 17, 2)
    scores: np.ndarray  # (P, T, 17)
    detected: np.ndarray  # (P, T) bool
    track_ids: np.ndarray  # (P,)

    @property
    def n_people(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def n_frames(self) -> int:
        return int(self.keypoints.shape[1])

    def main_index(self) -> int:
        """The main person by the one rule of `people.selection`: largest summed box (keypoint extent) area
        over the frames where they are detected."""
        return main_person([
            summed_box_area(keypoint_boxes(k[d], s[d])) if d.any() else 0.0
            for k, s, d in zip(self.keypoints, self.scores, self.detected)
        ])  # fmt: skip

    def checked(self, source: str, image_size: tuple[int, int] | None = None) -> Tracks2D:
        """These tracks through THE keypoint check (`pose2d.keypoint_checks`): shapes, finite, in range,
        distinct integer ids (PoseMambaError naming `source`), scores clipped into [0, 1]; with
        `image_size` (width, height), a warning when detected joints lie far outside the frame."""
        from posemamba_cli.pose2d.keypoint_checks import check_people, warn_outside_frame

        kp, sc, det, ids = check_people(self.keypoints, self.scores, self.detected, self.track_ids, source)
        warn_outside_frame(kp, sc, det, image_size, source)
        return Tracks2D(kp, sc, det, ids)

    def without_fragments(self, min_frames: int) -> Tracks2D:
        """The main person and everyone detected in at least `min_frames` frames (`--people all`'s rule,
        `people.selection.fragment_frames`), in the same order."""
        main = self.main_index()
        keep = [p for p in range(self.n_people) if p == main or int(self.detected[p].sum()) >= min_frames]
        return self if len(keep) == self.n_people else self.subset(keep)

    def subset(self, people: list[int]) -> Tracks2D:
        """The given people (indices), in that order."""
        return Tracks2D(self.keypoints[people], self.scores[people], self.detected[people], self.track_ids[people])

    def within_lifespan(self) -> np.ndarray:
        """(P, T) True between each person's first and last detected frame."""
        out = np.zeros_like(self.detected)
        for p in range(self.n_people):
            seen = np.flatnonzero(self.detected[p])
            if len(seen):
                out[p, seen[0] : seen[-1] + 1] = True
        return out

    def filled(self) -> Tracks2D:
        """Missing rows filled by linear interpolation of keypoints and scores (ends held)."""
        kp, sc = self.keypoints.copy(), self.scores.copy()
        for p in range(self.n_people):
            if not self.detected[p].any():
                raise PoseMambaError(f"person {int(self.track_ids[p])} has no keypoints in any frame")
            if not self.detected[p].all():
                kp[p] = fill_gaps(kp[p], self.detected[p])
                sc[p] = fill_gaps(sc[p], self.detected[p])
        return Tracks2D(kp, sc, self.detected.copy(), self.track_ids.copy())

    def fit_frames(self, n_frames: int) -> Tracks2D:
        """Pad with undetected rows (or fail when longer) so that there is exactly one row per video frame."""
        t = self.n_frames
        if t == n_frames:
            return self
        if t > n_frames:
            raise PoseMambaError(f"the keypoint file has {t} frames but the video only {n_frames} decoded frames")
        pad = n_frames - t
        p = self.n_people
        return Tracks2D(
            np.concatenate([self.keypoints, np.zeros((p, pad, 17, 2))], 1),
            np.concatenate([self.scores, np.zeros((p, pad, 17))], 1),
            np.concatenate([self.detected, np.zeros((p, pad), bool)], 1),
            self.track_ids,
        )

    def save_npz(self, path: str | Path, width: int, height: int, fps: float, times: np.ndarray | None = None) -> None:
        """Write `keypoints_2d.npz`: every array has one row per decoded video frame (see the README).

        `keypoints`/`scores`/`detected` are the main person (index `main_person`, always 0 as written by
        `infer`), `people_*` every person; rows where `detected` is False are interpolated. `--keypoints`
        reads the file back using only the detected rows.
        """
        main = self.main_index()
        t = np.arange(self.n_frames) / fps if times is None else np.asarray(times, dtype=np.float64)
        np.savez_compressed(
            path,
            keypoints=self.keypoints[main].astype(np.float32),
            scores=self.scores[main].astype(np.float32),
            detected=self.detected[main],
            frame_indices=np.arange(self.n_frames, dtype=np.int64),
            time_s=t,
            image_size=np.array([width, height], dtype=np.int64),
            joint_order=np.array("coco17"),
            main_person=np.int64(main),
            people_keypoints=self.keypoints.astype(np.float32),
            people_scores=self.scores.astype(np.float32),
            people_detected=self.detected,
            track_ids=self.track_ids.astype(np.int64),
            fps=np.float64(fps),
        )
