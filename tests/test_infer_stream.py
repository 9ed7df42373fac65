"""The concurrent pipeline: the stage runner's contract, and outputs equal to the sequential pipeline's."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.infer import ShadePose2D, TruthDetector

from posemamba_cli.pipeline import InferConfig, infer_video
from posemamba_cli.pipeline.stream import StageClock, run_stages
from posemamba_cli.video import read_frames
from posemamba_cli.video.synthetic import SyntheticClip

# --- the stage runner ------------------------------------------------------------------------------


def doubled(items):
    for x in items:
        yield 2 * x


def in_threes(items):
    batch = []
    for x in items:
        batch.append(x)
        if len(batch) == 3:
            yield list(batch)
            batch.clear()
    if batch:
        yield batch


def test_stages_keep_order_batch_and_run_in_their_own_threads() -> None:
    seen_threads = set()

    def where(items):
        for x in items:
            seen_threads.add(threading.current_thread().name)
            yield x

    clock = StageClock()
    out = list(run_stages(range(10), [("double", doubled), ("where", where), ("batch", in_threes)], 2, clock))
    assert out == [[0, 2, 4], [6, 8, 10], [12, 14, 16], [18]]
    assert seen_threads == {"posemamba-where"}
    assert set(clock.seconds) == {"decode", "double", "where", "batch"}


def test_queues_are_bounded() -> None:
    produced = []

    def source():
        for i in range(100):
            produced.append(i)
            yield i

    bound = 1 + 2 * 2 + 2 + 1  # one item consumed, two queues of 2, one in each thread's hands, one blocked in put
    stream = run_stages(source(), [("double", doubled)], queue_size=2)
    assert next(stream) == 0
    deadline = time.monotonic() + 10
    while len(produced) < 2 and time.monotonic() < deadline:  # the producer runs ahead of the consumer...
        time.sleep(0.01)
    time.sleep(0.3)  # ...as far as the queues allow
    assert 2 <= len(produced) <= bound
    assert [0, *stream] == [2 * i for i in range(100)] and produced == list(range(100))  # and on to the end


def _endless(closed: threading.Event):
    """0, 1, 2, ... for ever; `closed` is set when the generator is closed (as a decoder would be stopped)."""
    try:
        i = 0
        while True:
            yield i
            i += 1
    finally:
        closed.set()


def test_a_failing_stage_stops_everything_and_its_error_reaches_the_consumer() -> None:
    closed = threading.Event()

    def fails_at_five(items):
        for x in items:
            if x == 5:
                raise ValueError("bad frame 5")
            yield x

    got = []
    with pytest.raises(ValueError, match="bad frame 5"):
        for x in run_stages(_endless(closed), [("double", doubled),
                                               ("check", lambda it: fails_at_five(x // 2 for x in it))]):
            got.append(x)
    assert got == list(range(len(got))) and len(got) <= 5  # in order, nothing from the failed item on
    assert closed.wait(2)
    assert not [t for t in threading.enumerate() if t.name.startswith("posemamba-")]


def test_leaving_early_stops_the_threads() -> None:
    closed = threading.Event()
    for x in run_stages(_endless(closed), [("double", doubled)]):
        if x > 10:
            break  # the generator is closed here (as on KeyboardInterrupt)
    assert closed.wait(2)
    assert not [t for t in threading.enumerate() if t.name.startswith("posemamba-")]


# --- the pipeline: concurrent == sequential ---------------------------------------------------------

N_FRAMES = 36
MISSED = range(8, 12)  # the walker is not detected
BYSTANDER = range(14, 26)  # a second person stands in the corner


class Lifter:
    num_frame = 27

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, 0.5 * x[..., :1] - 0.25 * x[..., 1:2]], -1)


def _run(clip: SyntheticClip, out: Path, concurrent: bool, people: str, render: bool = True):
    pose2d = ShadePose2D()
    # keep_fragments: the bystander, seen for under a second, stays a person of its own with --people all
    config = InferConfig(people=people, flip=False, render=render, sequential=not concurrent, keep_fragments=True)
    result = infer_video(clip.path, out, Lifter(), TruthDetector(clip, MISSED, BYSTANDER), pose2d, config=config)
    return result, pose2d


def _same_folder(a: Path, b: Path) -> None:
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    for path in a.iterdir():
        other = b / path.name
        if path.suffix == ".npz":
            x, y = np.load(path), np.load(other)
            assert sorted(x.files) == sorted(y.files)
            for key in x.files:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{path.name}:{key}")
        elif path.suffix == ".mp4":
            frames_a, frames_b = list(read_frames(path)), list(read_frames(other))
            assert len(frames_a) == len(frames_b) == N_FRAMES
            for fa, fb in zip(frames_a, frames_b):
                np.testing.assert_array_equal(fa, fb, err_msg=path.name)
        else:
            assert path.read_bytes() == other.read_bytes(), path.name


@pytest.mark.parametrize("people", ["all", "main"])
def test_concurrent_outputs_equal_the_sequential_ones(clip: SyntheticClip, tmp_path: Path, people: str) -> None:
    seq, seq_2d = _run(clip, tmp_path / "sequential", False, people)
    con, con_2d = _run(clip, tmp_path / "concurrent", True, people)
    assert con.n_people == seq.n_people == (2 if people == "all" else 1)
    _same_folder(seq.output_dir, con.output_dir)
    assert [p.name for p in (tmp_path / "concurrent").iterdir()] == ["walk_posemamba"]  # no staging folder left
    rows = int(np.load(con.output_dir / "keypoints_2d.npz")["people_detected"].sum())
    assert rows >= N_FRAMES - len(MISSED)
    # every row is estimated once: with --people all as each frame is tracked; with main, the frames with
    # two people (the bystander's) in a second pass for the chosen person only, so nothing is wasted
    assert con_2d.crops == seq_2d.crops == rows
    assert {"detect+track", "2D", "lift", "render"} <= set(con.times.seconds)


def test_a_stage_error_leaves_no_output_and_no_thread(clip: SyntheticClip, tmp_path: Path) -> None:
    class Broken(ShadePose2D):
        def predict(self, image, boxes):
            if self.crops > 10:
                raise RuntimeError("2D model crashed")
            return super().predict(image, boxes)

    config = InferConfig(people="all", render=False)
    with pytest.raises(RuntimeError, match="2D model crashed"):
        detector = TruthDetector(clip, MISSED, BYSTANDER)
        infer_video(clip.path, tmp_path / "out", Lifter(), detector, Broken(), config=config)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("posemamba-")]
