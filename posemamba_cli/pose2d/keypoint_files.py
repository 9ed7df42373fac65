"""Readers for ready-made 2D keypoints (`posemamba infer --keypoints FILE`), all to COCO-17 pixels.

Accepted files:
- COCO keypoint results JSON: a list of ``{"image_id", "category_id", "keypoints": [x, y, v] * 17, "score"}``.
- AlphaPose JSON (same list layout, plus ``"box"`` and a track ``"idx"``) with COCO-17, Halpe-26,
  COCO-WholeBody-133 or Halpe-136 keypoints; all of these start with the COCO-17 body joints, which we keep.
- Our npz (see `write_keypoints_npz`): ``keypoints`` (frames, 17, 2) float pixels, ``scores`` (frames, 17),
  optional ``frame_indices`` (frames,) ascending integers (default 0..frames-1), ``image_size`` (2,)
  as (width, height) and ``detected`` (frames,) bool (rows where it is False are left out), as
  `posemamba infer` writes `keypoints_2d.npz`.

Every file's numbers go through `keypoint_checks` (finite, in range, scores clipped into [0, 1]).

`image_id` becomes the frame index: an integer as is; a string by its last number ("12.jpg", "frame_0012.png"),
or, when the strings carry no distinct numbers, by order of first appearance.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.pose2d.keypoint_checks import MAX_PIXELS, check_people, check_values

NUM_JOINTS = 17
# Keypoint counts of layouts whose first 17 joints are COCO-17 in COCO order.
_COCO_PREFIX_LAYOUTS = {17: "COCO-17", 26: "Halpe-26", 133: "COCO-WholeBody", 136: "Halpe-136"}


class KeypointFileError(PoseMambaError):
    """A keypoint file that is missing or malformed."""


@dataclass(frozen=True)
class PersonKeypoints:
    """One person in one frame: COCO-17 keypoints in image pixels and their confidences."""

    keypoints: np.ndarray  # (17, 2) float32
    scores: np.ndarray  # (17,) float32
    track_id: int | None = None
    score: float | None = None  # the person's (instance) score, when the file gives one

    @property
    def confidence(self) -> float:
        """The instance score, else the mean keypoint score."""
        return float(self.score) if self.score is not None else float(self.scores.mean())


@dataclass(frozen=True)
class KeypointSeries:
    """One person over the frames where they appear."""

    frame_indices: np.ndarray  # (F,) int64, ascending
    keypoints: np.ndarray  # (F, 17, 2) float32 pixels
    scores: np.ndarray  # (F, 17) float32
    track_id: int | None = None


@dataclass(frozen=True)
class KeypointTracks:
    """Everything read from a keypoint file: people per frame index (ascending), COCO-17 order."""

    frames: dict[int, list[PersonKeypoints]]
    source_format: str  # "coco" | "alphapose" | "npz"
    image_size: tuple[int, int] | None = None  # (width, height) when the file records it
    layout: str = "COCO-17"  # the file's own keypoint layout before taking the COCO-17 subset
    path: Path | None = field(default=None, compare=False)

    @property
    def frame_indices(self) -> np.ndarray:
        """Frame indices with at least one person, ascending."""
        return np.array(sorted(self.frames), dtype=np.int64)

    @property
    def track_ids(self) -> list[int]:
        """Track ids present in the file (empty when it has none)."""
        return sorted({p.track_id for people in self.frames.values() for p in people if p.track_id is not None})

    def main_track_id(self) -> int | None:
        """The main track by the one rule of `people.selection` (largest summed keypoint-box area over the
        frames where it is seen; ties: the lowest id); None without track ids."""
        from posemamba_cli.people.selection import keypoint_boxes, main_person, summed_box_area

        ids = self.track_ids
        if not ids:
            return None
        weights = []
        for tid in ids:
            people = [p for persons in self.frames.values() for p in persons if p.track_id == tid]
            boxes = keypoint_boxes(np.stack([p.keypoints for p in people]), np.stack([p.scores for p in people]))
            weights.append(summed_box_area(boxes))
        return ids[main_person(weights)]

    def select(self, track_id: int | None = None) -> KeypointSeries:
        """One person per frame: the given track, or the main track, or (no ids) the most confident person.

        Frames where that person is absent are left out; `frame_indices` says which frames are present.
        """
        wanted = track_id if track_id is not None else self.main_track_id()
        chosen: list[tuple[int, PersonKeypoints]] = []
        for frame in sorted(self.frames):
            people = self.frames[frame]
            if wanted is not None:
                people = [p for p in people if p.track_id == wanted]
            if people:
                chosen.append((frame, max(people, key=lambda p: p.confidence)))
        if not chosen:
            raise KeypointFileError(f"{self._name}: no person with track id {wanted}")
        return KeypointSeries(
            frame_indices=np.array([f for f, _ in chosen], dtype=np.int64),
            keypoints=np.stack([p.keypoints for _, p in chosen]).astype(np.float32),
            scores=np.stack([p.scores for _, p in chosen]).astype(np.float32),
            track_id=wanted,
        )

    @property
    def _name(self) -> str:
        return str(self.path) if self.path is not None else "keypoint file"


def read_keypoint_file(path: str | os.PathLike) -> KeypointTracks:
    """Read a COCO results / AlphaPose JSON or our npz into `KeypointTracks`; `KeypointFileError` if malformed."""
    path = Path(path)
    if not path.is_file():
        raise KeypointFileError(f"{path}: keypoint file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path)
    if suffix == ".json":
        return _read_json(path)
    raise KeypointFileError(f"{path}: unknown keypoint file type {suffix or '(none)'!r}; expected .json or .npz")


# --- JSON (COCO results, AlphaPose) --------------------------------------------------------------


def _read_json(path: Path) -> KeypointTracks:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise KeypointFileError(f"{path}: not a text JSON file") from None
    except json.JSONDecodeError as exc:
        raise KeypointFileError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, list):
        raise KeypointFileError(
            f"{path}: expected a JSON list of keypoint results (COCO results or AlphaPose format), "
            f"got a JSON {type(data).__name__}"
        )
    entries = []
    for i, entry in enumerate(data):
        if not isinstance(entry, Mapping):
            raise KeypointFileError(f"{path}: entry {i} is not a JSON object")
        if "category_id" in entry and entry["category_id"] != 1:
            continue  # not a person
        entries.append((i, entry))
    if not entries:
        raise KeypointFileError(f"{path}: no person keypoints in the file")
    alphapose = any("idx" in e or "box" in e for _, e in entries)
    frame_of = _frame_index_map([_image_id(path, i, e) for i, e in entries], path)
    frames: dict[int, list[PersonKeypoints]] = {}
    layouts = set()
    for i, entry in entries:
        person, layout = _parse_person(path, i, entry)
        layouts.add(layout)
        frames.setdefault(frame_of[_image_id(path, i, entry)], []).append(person)
    if len(layouts) > 1:
        raise KeypointFileError(f"{path}: entries mix keypoint layouts ({', '.join(sorted(layouts))})")
    return KeypointTracks(
        frames=_checked_frames(frames, str(path)),
        source_format="alphapose" if alphapose else "coco",
        layout=layouts.pop(),
        path=path,
    )


def _image_id(path: Path, i: int, entry: Mapping) -> int | str:
    if "image_id" not in entry:
        raise KeypointFileError(f"{path}: entry {i} has no 'image_id'")
    value = entry["image_id"]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise KeypointFileError(f"{path}: entry {i} has an image_id that is neither a number nor a string")
    if isinstance(value, float):
        if not value.is_integer():
            raise KeypointFileError(f"{path}: entry {i} has a non-integer image_id {value}")
        value = int(value)
    return value


def _frame_index_map(ids: list[int | str], path: Path) -> dict[int | str, int]:
    """image_id -> frame index: integers as is, strings by their last number if that is unambiguous."""
    unique = list(dict.fromkeys(ids))
    if all(isinstance(v, int) for v in unique):
        if any(v < 0 for v in unique):
            raise KeypointFileError(f"{path}: negative image_id values cannot be frame indices")
        return {v: v for v in unique}
    numbers = {}
    for value in unique:
        found = re.findall(r"\d+", Path(str(value)).stem)
        numbers[value] = int(found[-1]) if found else None
    found_all = [n for n in numbers.values() if n is not None]
    if len(found_all) == len(unique) and len(set(found_all)) == len(unique):
        return numbers  # type: ignore[return-value]
    return {value: rank for rank, value in enumerate(unique)}


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return float(value)


def _parse_person(path: Path, i: int, entry: Mapping) -> tuple[PersonKeypoints, str]:
    values = entry.get("keypoints")
    if not isinstance(values, list):
        raise KeypointFileError(f"{path}: entry {i} has no 'keypoints' list")
    if len(values) % 3 or len(values) // 3 not in _COCO_PREFIX_LAYOUTS:
        known = ", ".join(f"{n} ({name})" for n, name in _COCO_PREFIX_LAYOUTS.items())
        raise KeypointFileError(
            f"{path}: entry {i} has {len(values)} keypoint values; expected 3 per joint for {known} joints"
        )
    try:
        array = np.array([_number(v) for v in values], dtype=np.float64).reshape(-1, 3)[:NUM_JOINTS]
    except TypeError:
        raise KeypointFileError(f"{path}: entry {i} has non-numeric keypoint values") from None
    score = entry.get("score")
    try:
        score = None if score is None else _number(score)
    except TypeError:
        raise KeypointFileError(f"{path}: entry {i} has a non-numeric 'score'") from None
    if score is not None and not math.isfinite(score):
        raise KeypointFileError(f"{path}: entry {i} has a non-finite 'score' ({score})")
    person = PersonKeypoints(
        keypoints=array[:, :2].astype(np.float32),
        scores=array[:, 2].astype(np.float32),
        track_id=_track_id(entry.get("idx")),
        score=score,
    )
    return person, _COCO_PREFIX_LAYOUTS[len(values) // 3]


def _checked_frames(frames: dict[int, list[PersonKeypoints]], source: str) -> dict[int, list[PersonKeypoints]]:
    """Every person of every frame through `check_values` at once (one warning per file); frames sorted."""
    people = [(f, p) for f in sorted(frames) for p in frames[f]]
    kp, sc = check_values(np.stack([p.keypoints for _, p in people]), np.stack([p.scores for _, p in people]), source)
    out: dict[int, list[PersonKeypoints]] = {}
    for (f, p), k, s in zip(people, kp.astype(np.float32), sc.astype(np.float32)):
        out.setdefault(f, []).append(PersonKeypoints(keypoints=k, scores=s, track_id=p.track_id, score=p.score))
    return out


def _track_id(value: object) -> int | None:
    """AlphaPose's `idx`: an int, an integral float, or a one-element list of those."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


# --- our npz -------------------------------------------------------------------------------------


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an npz (no pickles); KeypointFileError when numpy cannot read it."""
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # a user's file that numpy cannot parse: one clear line, no traceback
        raise KeypointFileError(f"{path}: not a readable npz file ({exc})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise KeypointFileError(f"{path}: a single .npy array, not an npz archive of named arrays")
    try:
        with data:
            return {key: data[key] for key in data.files}
    except ValueError as exc:
        raise KeypointFileError(f"{path}: unreadable npz (object arrays are not accepted): {exc}") from None
    except Exception as exc:
        raise KeypointFileError(f"{path}: not a readable npz file ({exc})") from None


PEOPLE_ARRAYS = ("people_keypoints", "people_scores", "people_detected", "track_ids")


def read_people_npz(
    path: str | os.PathLike,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[int, int] | None] | None:
    """Every person of our `keypoints_2d.npz`: ((P, T, 17, 2) keypoints, (P, T, 17) scores, (P, T) detected,
    (P,) track ids) checked by `check_people`, and the image size; None for an npz without `people_*`."""
    path = Path(path)
    arrays = _npz_arrays(path)
    if "people_keypoints" not in arrays:
        return None
    missing = [k for k in PEOPLE_ARRAYS if k not in arrays]
    if missing:
        raise KeypointFileError(f"{path}: has people_keypoints but lacks {', '.join(missing)}")
    people = check_people(*(arrays[k] for k in PEOPLE_ARRAYS), str(path))
    return people, _image_size(arrays.get("image_size"), str(path))


def _read_npz(path: Path) -> KeypointTracks:
    arrays = _npz_arrays(path)
    missing = [k for k in ("keypoints", "scores") if k not in arrays]
    if missing:
        raise KeypointFileError(
            f"{path}: npz lacks {', '.join(missing)} (expected keypoints (frames, 17, 2) and scores (frames, 17); "
            f"found {', '.join(sorted(arrays)) or 'nothing'})"
        )
    keypoints, scores, frame_indices, image_size = _validate_arrays(
        arrays["keypoints"], arrays["scores"], arrays.get("frame_indices"), arrays.get("image_size"), str(path)
    )
    if "detected" in arrays:  # our keypoints_2d.npz: every frame's row, interpolated where not detected
        detected = np.asarray(arrays["detected"])
        if detected.shape != (len(keypoints),) or detected.dtype != bool:
            raise KeypointFileError(f"{path}: detected must be {len(keypoints)} booleans, got {detected.dtype} "
                                    f"{detected.shape}")  # fmt: skip
        if not detected.any():
            raise KeypointFileError(f"{path}: no person keypoints in the file (no detected row)")
        keypoints, scores, frame_indices = keypoints[detected], scores[detected], frame_indices[detected]
    frames = {
        int(f): [PersonKeypoints(keypoints=k, scores=s)] for f, k, s in zip(frame_indices, keypoints, scores)
    }
    return KeypointTracks(frames=frames, source_format="npz", image_size=image_size, path=path)


def _validate_arrays(
    keypoints: np.ndarray,
    scores: np.ndarray,
    frame_indices: np.ndarray | None,
    image_size: np.ndarray | tuple[int, int] | None,
    source: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int] | None]:
    keypoints, scores = np.asarray(keypoints), np.asarray(scores)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 2):
        raise KeypointFileError(f"{source}: keypoints must have shape (frames, 17, 2), got {keypoints.shape}")
    frames = keypoints.shape[0]
    if frames == 0:
        raise KeypointFileError(f"{source}: keypoints hold zero frames")
    if scores.shape != (frames, NUM_JOINTS):
        raise KeypointFileError(f"{source}: scores must have shape ({frames}, 17), got {scores.shape}")
    keypoints, scores = check_values(keypoints, scores, source)
    if frame_indices is None:
        indices = np.arange(frames, dtype=np.int64)
    else:
        indices = np.asarray(frame_indices)
        if indices.shape != (frames,) or not np.issubdtype(indices.dtype, np.integer):
            raise KeypointFileError(
                f"{source}: frame_indices must be {frames} integers, got {indices.dtype} {indices.shape}"
            )
        if (indices < 0).any() or (np.diff(indices) <= 0).any():
            raise KeypointFileError(f"{source}: frame_indices must be non-negative and strictly increasing")
        indices = indices.astype(np.int64)
    return keypoints.astype(np.float32), scores.astype(np.float32), indices, _image_size(image_size, source)


def _image_size(image_size: np.ndarray | tuple[int, int] | None, source: str) -> tuple[int, int] | None:
    """(width, height) in whole pixels, or None when not given."""
    if image_size is None:
        return None
    raw = np.asarray(image_size)
    if (raw.shape != (2,) or not np.issubdtype(raw.dtype, np.number) or not np.isfinite(raw).all()
            or not (raw > 0).all() or (raw > MAX_PIXELS).any()):  # fmt: skip
        raise KeypointFileError(f"{source}: image_size must be two positive numbers (width, height)")
    if not all(math.isclose(v, round(v)) for v in raw.tolist()):
        raise KeypointFileError(f"{source}: image_size must be whole pixels")
    return int(round(raw[0])), int(round(raw[1]))


def write_keypoints_npz(
    path: str | os.PathLike,
    keypoints: np.ndarray,
    scores: np.ndarray,
    frame_indices: np.ndarray | None = None,
    image_size: tuple[int, int] | None = None,
) -> Path:
    """Write our 2D keypoint npz atomically (validated as `read_keypoint_file` will read it)."""
    path = Path(path)
    keypoints, scores, indices, size = _validate_arrays(keypoints, scores, frame_indices, image_size, str(path))
    arrays = {"keypoints": keypoints, "scores": scores, "frame_indices": indices}
    if size is not None:
        arrays["image_size"] = np.asarray(size, dtype=np.int64)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path
