"""Rich progress bars for the stages and the closing summary table."""

from __future__ import annotations

import math
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
    """One row per video: frames, people, frames per second of each stage, total time, the focal length, each
    person's foot skate (mm a planted foot slides per contact; - without contacts), output folder."""
    table = Table(title="posemamba infer: frames per second per stage")
    cols = ("video", "frames", "people", "detect", "2D", "lift", "world", "render", "total", "focal px", "skate mm",
            "written to")  # fmt: skip
    for col in cols:
        left = col in ("video", "written to")
        table.add_column(col, justify="left" if left else "right", overflow="fold", no_wrap=not left)
    for r in results:
        def f(stage: str) -> str:
            return f"{r.times.fps(stage, r.n_frames):.1f}" if stage in r.times.seconds else "-"

        skate = " ".join("-" if math.isnan(v) else f"{v:.0f}" for v in getattr(r, "foot_skate_mm", [])) or "-"
        focal = getattr(r, "focal_px", None)
        table.add_row(
            r.video.name, str(r.n_frames), str(r.n_people), f("detect+track"), f("2D"), f("lift"), f("world"),
            f("render"), f"{r.seconds:.1f} s", "-" if focal is None else f"{focal:.0f}", skate, str(r.output_dir),
        )  # fmt: skip
    return table
