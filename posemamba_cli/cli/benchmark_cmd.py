"""`posemamba benchmark`: lifter throughput on this machine."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from posemamba_cli.errors import PoseMambaError


def _int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise PoseMambaError(f"--{what} takes comma-separated whole numbers, not {text!r}") from None
    if not values or min(values) < 1:
        raise PoseMambaError(f"--{what} needs numbers >= 1, got {text!r}")
    return values


def benchmark(
    presets: str = typer.Option(
        "S,B,L", "--presets", "-p", help="Comma-separated presets: S, B, L (or posemamba-s, ...)."
    ),
    backends: str = typer.Option(
        "auto", "--backends", help="Comma-separated scan backends (auto, cpu, torch, triton, cuda)."
    ),
    threads: str = typer.Option("1,2", "--threads", "-t", help="Comma-separated torch thread counts."),
    batch: int = typer.Option(1, "--batch", "-b", min=1, help="Clips per forward."),
    frames: int = typer.Option(243, "--frames", min=1, help="Frames per clip."),
    repeats: int = typer.Option(3, "--repeats", "-n", min=1, help="Timed forwards per configuration (median)."),
    baseline: str = typer.Option(
        "reference", "--baseline", help="Backend measured once as the in-run baseline, or 'none'."
    ),
) -> None:
    """Forward time per clip of PoseMamba S/B/L for each scan backend, against an in-run baseline."""
    from posemamba_cli.model.config import preset_name
    from posemamba_cli.ops import backend_names
    from posemamba_cli.perf.lifter_bench import BenchResult, benchmark_lifter

    asked = [p.strip() for p in presets.split(",") if p.strip()]
    bad = [p for p in asked if preset_name(p) is None]
    if bad or not asked:
        raise PoseMambaError(f"unknown preset(s) {', '.join(bad) or presets!r}: choose from S, B, L")
    preset_list = [preset_name(p).removeprefix("posemamba-").upper() for p in asked]
    backend_list = [b.strip() for b in backends.split(",") if b.strip()]
    known = {"auto", "reference", *backend_names()}
    for name in backend_list + ([baseline] if baseline != "none" else []):
        if name not in known:
            raise PoseMambaError(f"unknown scan backend {name!r}; known: {', '.join(sorted(known))}")
    console = Console()
    rows: list[BenchResult] = []
    with console.status("measuring...") as status:
        def report(r: BenchResult) -> None:
            rows.append(r)
            status.update(f"PoseMamba-{r.preset} {r.backend} x{r.threads} threads: {r.seconds:.3f} s")

        try:
            benchmark_lifter(preset_list, backend_list, _int_list(threads, "threads"), batch, frames, repeats,
                             None if baseline == "none" else baseline, on_result=report)
        except RuntimeError as exc:
            raise PoseMambaError(str(exc).splitlines()[0]) from None
    table = Table(title=f"PoseMamba forward, batch {batch} x {frames} frames, no flip")
    for col in ("preset", "backend", "threads", "s / batch", "frames/s", "peak RSS MB", f"vs {baseline}"):
        table.add_column(col, justify="right" if col not in ("preset", "backend") else "left")
    base = {(r.preset, r.threads): r.seconds for r in rows if r.backend == baseline}
    for r in rows:
        ref = base.get((r.preset, r.threads))
        speed = f"{ref / r.seconds:.1f}x" if ref and r.backend != baseline else "-"
        table.add_row(r.preset, r.backend, str(r.threads), f"{r.seconds:.3f}", f"{r.frames_per_second:.0f}",
                      f"{r.peak_mb:.0f}", speed)
    console.print(table)
    for line in _best_against_baseline(rows, baseline):
        console.print(line)


def _best_against_baseline(rows: list, baseline: str) -> list[str]:
    """Per preset and backend: its best thread count against the baseline's best, in one line each."""
    lines = []
    for preset in dict.fromkeys(r.preset for r in rows):
        mine = [r for r in rows if r.preset == preset]
        ref = min((r for r in mine if r.backend == baseline), key=lambda r: r.seconds, default=None)
        for backend in dict.fromkeys(r.backend for r in mine if r.backend != baseline):
            best = min((r for r in mine if r.backend == backend), key=lambda r: r.seconds)
            line = f"PoseMamba-{preset} {backend}: best {best.seconds:.3f} s ({best.threads} threads)"
            if ref is not None:
                line += (f" = {ref.seconds / best.seconds:.1f}x the {baseline} loop's best "
                         f"({ref.seconds:.2f} s, {ref.threads} threads)")
            lines.append(line)
    return lines
