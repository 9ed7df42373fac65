"""`posemamba download-weights`: fetch, verify and list the models the tool uses."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.hub import Registry, Timeouts, default_weights_dir, fetch_entry, load_registry, missing_message
from posemamba_cli.hub.registry import WeightsEntry


def _size(nbytes: int | None) -> str:
    if not nbytes:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def list_table(registry: Registry, folder: Path) -> Table:
    """Every known model: name, kind, size, source, and whether it is in `folder`."""
    table = Table(title=f"Known models (folder: {folder})", title_justify="left")
    for column in ("name", "source", "present", "model"):
        table.add_column(column, no_wrap=column != "model", overflow="fold")
    for entry in registry:
        path = folder / entry.file
        if path.is_file():
            present = f"[green]yes[/green] {_size(path.stat().st_size)}"
            try:
                _check_present(entry, path)
            except PoseMambaError:
                present = "[red]refused[/red] (unsafe or not a checkpoint)"
        else:
            present = "[dim]no[/dim]" + (f" ({_size(entry.size)})" if entry.size else "")
        name = f"{entry.name} *" if entry.name in registry.defaults else entry.name
        table.add_row(name, entry.source_label, present, entry.description)
    table.caption = "* the default set (what `posemamba infer` uses)"
    table.caption_justify = "left"
    return table


def _check_present(entry: WeightsEntry, path: Path) -> None:
    """A detector file is inspected before it is reported present (ultralytics would unpickle it unchecked)."""
    if entry.kind == "yolo":
        from posemamba_cli.people.safe_weights import check_detector_weights

        check_detector_weights(path)


def _select(registry: Registry, names: list[str] | None) -> list[WeightsEntry]:
    chosen = [registry.get(n) for n in names] if names else [registry.get(n) for n in registry.defaults]
    return list({e.name: e for e in chosen}.values())


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
    registry = load_registry()
    folder = default_weights_dir(folder)
    out = Console()
    if list_models:
        out.print(list_table(registry, folder))
        return
    entries = _select(registry, names)
    if offline:
        missing = [e for e in entries if not (folder / e.file).is_file()]
        for entry in entries:
            if entry not in missing:
                _check_present(entry, folder / entry.file)
                out.print(f"[green]present[/green] {entry.name}: {folder / entry.file}", highlight=False)
        if missing:
            also = f" (also missing: {', '.join(e.name for e in missing[1:])})" if missing[1:] else ""
            raise PoseMambaError(missing_message(missing[0], folder) + also)
        return
    timeouts = Timeouts(connect=min(15.0, timeout), stall=timeout)
    failed: list[tuple[WeightsEntry, PoseMambaError]] = []
    for entry in entries:
        try:
            result = fetch_entry(entry, folder, force=force, timeouts=timeouts, retries=retries)
            _check_present(entry, result.path)
        except PoseMambaError as exc:
            if len(entries) == 1:
                raise
            failed.append((entry, exc))
            Console(stderr=True).print(f"[red]failed[/red] {exc}", highlight=False, soft_wrap=True)
            continue
        if result.downloaded:
            out.print(f"[green]downloaded[/green] {entry.name}: {result.path} ({result.detail})", highlight=False)
        else:
            out.print(f"[green]present[/green] {entry.name}: {result.path} (use --force to fetch again)",
                      highlight=False)
    if failed:
        raise PoseMambaError(f"{len(failed)} of {len(entries)} downloads failed: "
                             + ", ".join(e.name for e, _ in failed))
