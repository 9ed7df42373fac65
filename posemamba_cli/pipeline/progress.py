"""Rich progress bars for the stages and the closing summary table."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


def make_progress(console: Console | None = None, disable: bool = False) -> Progress:
    """A progress display with one bar per stage."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
        transient=False,
    )


def progress_task(progress: Progress | None, description: str, total: int | None) -> Callable[[int], None]:
    """A bar for one stage (total None: open-ended); returns `advance(n)`, which also shows the rate."""
    if progress is None:
        return lambda n: None
    task = progress.add_task(description, total=total, rate="")
    start = time.perf_counter()
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        elapsed = time.perf_counter() - start
        progress.update(task, advance=n, rate=f"{done[0] / elapsed:.1f}/s" if elapsed > 0 else "")

    return advance


@dataclass
class StageTimes:
    """Seconds and items (frames or windows) per stage of one video."""

    seconds: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)

    def add(self, stage: str, seconds: float, items: int) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.items[stage] = self.items.get(stage, 0) + items

    def fps(self, stage: str, frames: int) -> float:
        s = self.seconds.get(stage, 0.0)
        return frames / s if s > 0 else float("inf")


def summary_table(results: list) -> Table:
    """One row per video: frames, people, frames per second of each stage, total time, output folder."""
    table = Table(title="posemamba infer: frames per second per stage")
    for col in ("video", "frames", "people", "detect", "2D", "lift", "render", "total", "written to"):
        left = col in ("video", "written to")
        table.add_column(col, justify="left" if left else "right", overflow="fold", no_wrap=not left)
    for r in results:
        def f(stage: str) -> str:
            return f"{r.times.fps(stage, r.n_frames):.1f}" if stage in r.times.seconds else "-"

        table.add_row(
            r.video.name, str(r.n_frames), str(r.n_people), f("detect+track"), f("2D"), f("lift"), f("render"),
            f"{r.seconds:.1f} s", str(r.output_dir),
        )  # fmt: skip
    return table


def world_table(results: list, caption: str | None = None) -> Table:
    """One row per video: the focal length and its source, each person's foot skate (mm a planted foot
    slides per contact; - without contacts) and the static-camera test's verdict."""
    table = Table(title="posemamba infer: world motion", caption=caption)
    for col in ("video", "focal px", "foot skate mm (per person)", "camera"):
        table.add_column(col, justify="right" if col == "focal px" else "left", overflow="fold")
    for r in results:
        skate = ", ".join("-" if math.isnan(v) else f"{v:.0f}" for v in r.foot_skate_mm) or "-"
        focal = "-" if r.focal_px is None else f"{r.focal_px:.0f} ({r.focal_source})"
        table.add_row(r.video.name, focal, skate, r.camera_motion or "-")
    return table
