"""`posemamba download-weights`: fetch, verify and list the models the tool uses (posemamba_cli.pretrained)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from posemamba_cli import hub, pretrained
from posemamba_cli.errors import PoseMambaError


def _size(nbytes: int | None) -> str:
    if not nbytes:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


_PRESENT = {
    "present": lambda size: f"[green]yes[/green] {_size(size)}",
    "refused": lambda size: "[red]refused[/red] (see below)",
    "absent": lambda size: "[dim]no[/dim]" + (f" ({_size(size)})" if size else ""),
}


def list_table(registry: hub.Registry, folder: Path, rows: list[hub.ModelStatus] | None = None) -> Table:
    """Every known model: name, source, whether it is in `folder`, and what it is."""
    table = Table(title=f"Known models (folder: {folder})", title_justify="left")
    for column in ("name", "source", "present", "model"):
        table.add_column(column, no_wrap=column != "model", overflow="fold")
    for row in rows if rows is not None else hub.model_status(registry, folder):
        name = f"{row.entry.name} *" if row.default else row.entry.name
        table.add_row(name, row.entry.source_label, _PRESENT[row.status](row.size), row.entry.description)
    table.caption = "* the default set (what `posemamba infer` uses)"
    table.caption_justify = "left"
    return table


def _print_outcome(outcome: hub.DownloadOutcome, force_hint: bool) -> None:
    name, path = outcome.entry.name, outcome.path
    if outcome.status == "failed":
        Console(stderr=True).print(f"[red]failed[/red] {outcome.detail}", highlight=False, soft_wrap=True)
    elif outcome.status == "downloaded":
        Console().print(f"[green]downloaded[/green] {name}: {path} ({outcome.detail})", highlight=False)
    else:
        hint = " (use --force to fetch again)" if force_hint else ""
        Console().print(f"[green]present[/green] {name}: {path}{hint}", highlight=False)


def download_weights(
    names: list[str] | None = typer.Argument(
        None, help="Models to fetch (see --list); none: the models `posemamba infer` uses by default."),
    list_models: bool = typer.Option(False, "--list", help="List every known model and whether it is present."),
    folder: Path | None = typer.Option(
        None, "--dir", help="Weights folder (default: $POSEMAMBA_WEIGHTS_DIR, else ./weights)."),
    force: bool = typer.Option(False, "--force", help="Download again even when the file is present."),
    offline: bool = typer.Option(False, "--offline", help="Never download; only report what is present."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.1,
                                  help="Seconds without data before a transfer counts as stalled."),
    retries: int = typer.Option(2, "--retries", min=0, help="Retries (resuming) after a stall or broken connection."),
) -> None:
    """Fetch and verify model weights (PoseMamba lifters, HRNet 2D, YOLO detector) into the weights folder."""
    registry = hub.load_registry()
    folder = hub.default_weights_dir(folder)
    if list_models:
        rows = hub.model_status(registry, folder)
        console = Console()
        console.print(list_table(registry, folder, rows))
        for row in rows:
            if row.status == "refused":
                console.print(f"[red]refused[/red] {row.entry.name}: {row.reason}", highlight=False, soft_wrap=True)
        return
    outcomes = pretrained.download_weights(
        names, folder, force=force, offline=offline, retries=retries, registry=registry,
        timeouts=hub.Timeouts(connect=min(15.0, timeout), stall=timeout),
        on_outcome=lambda outcome: _print_outcome(outcome, force_hint=not offline))
    failed = [o.entry.name for o in outcomes if o.status == "failed"]
    if failed:
        raise PoseMambaError(f"{len(failed)} of {len(outcomes)} downloads failed: {', '.join(failed)}")
