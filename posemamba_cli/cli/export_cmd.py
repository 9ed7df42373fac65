"""`posemamba export`: finished result folders -> one BVH / glTF file per person, listed in each manifest."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def export(
    results: list[Path] = typer.Argument(..., help="Result folders written by `posemamba infer`."),
    format_list: str = typer.Option("bvh,glb", "--format", "-f", help="Comma-separated: bvh, glb (glTF 2.0 binary)."),
) -> None:
    """Write person_<track id>.bvh / .glb for every person of each RESULT folder (see the README)."""
    from posemamba_cli.export.formats import parse_formats
    from posemamba_cli.export.result import check_exportable, export_result

    formats = parse_formats(format_list, "--format")  # before any work, every folder checked
    for folder in results:
        check_exportable(folder, formats)
    err, out = Console(stderr=True), Console()
    for folder in results:
        names = export_result(
            folder, formats,
            lambda m: err.print(f"[yellow]warning:[/yellow] {m}", highlight=False, soft_wrap=True),
        )  # fmt: skip
        out.print(f"{folder}: {', '.join(names) or 'nobody to export'}", highlight=False, soft_wrap=True)
