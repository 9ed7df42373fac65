"""`posemamba infer`: videos -> 2D keypoints, 3D keypoints (npz + JSON) and overlay / 3D / side-by-side videos.

The flags are InferConfig's fields (pipeline/config.py), read from its field metadata: declared there once,
the same names as `posemamba_cli.infer`'s options.
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING, fields
from enum import Enum
from pathlib import Path
from typing import Any, Optional, get_type_hints

import typer
from rich.console import Console

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.pipeline.config import InferConfig


def _flag_type(name: str, hint: Any, choices: tuple[str, ...] | None) -> Any:
    """The type typer parses a flag into: an Enum of `choices` (click lists them in its errors) or the hint."""
    if choices:
        return Enum(name.title().replace("_", ""), {c: c for c in choices}, type=str)
    return hint


def _flags(name: str, default: Any, declared: tuple[str, ...]) -> tuple[str, ...]:
    if declared:
        return declared
    flag = "--" + name.replace("_", "-")
    return (f"{flag}/--no-{flag[2:]}",) if default is True else (flag,)


def _parameters() -> list[inspect.Parameter]:
    """The command's parameters: the inputs, --output and --keypoints, then one flag per InferConfig field."""
    kw = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [
        inspect.Parameter("inputs", kw, annotation=list[Path],
                          default=typer.Argument(..., help="Video files and/or folders of videos.")),
        inspect.Parameter("output", kw, annotation=Path, default=typer.Option(
            Path("outputs"), "--output", "-o", help="Folder receiving one <video>_posemamba folder per video.")),
        inspect.Parameter("keypoints", kw, annotation=Optional[Path], default=typer.Option(
            None, "--keypoints",
            help="2D keypoints (COCO results / AlphaPose JSON, our npz): skips detection and 2D.")),
    ]  # fmt: skip
    hints = get_type_hints(InferConfig)
    for f in fields(InferConfig):
        meta, default = f.metadata, f.default
        assert default is not MISSING, f.name
        kind = _flag_type(f.name, hints[f.name], meta["choices"])
        value = kind(default) if meta["choices"] else default
        params.append(inspect.Parameter(f.name, kw, annotation=kind, default=typer.Option(
            value, *_flags(f.name, default, meta["flags"]), help=meta["help"])))  # fmt: skip
    return params


def infer(**flags: Any) -> None:
    """Estimate 3D poses for every frame of each video into OUTPUT/<video>_posemamba/ (see the README)."""
    from posemamba_cli.pipeline.distributed import world_from_env
    from posemamba_cli.pipeline.progress import summary_table, world_table
    from posemamba_cli.pipeline.videos import infer as run_infer
    from posemamba_cli.pipeline.videos import world_settings
    from posemamba_cli.pipeline.warning_lines import library_warnings_hidden

    inputs, output, keypoints = flags.pop("inputs"), flags.pop("output"), flags.pop("keypoints")
    options = {k: v.value if isinstance(v, Enum) else v for k, v in flags.items()}
    err = Console(stderr=True)
    warn = lambda text: err.print(f"[yellow]warning:[/yellow] {text}", highlight=False, soft_wrap=True)  # noqa: E731
    with library_warnings_hidden(warn):  # torch / numpy notes are not the user's business; ours are shown
        results = run_infer(inputs, output, keypoints=keypoints, **options)
    if not world_from_env().is_main:
        return  # under torchrun rank 0 reports every rank's videos, once
    for r in results:
        for warning in r.warnings:
            warn(warning)
        if r.status == "skipped":
            err.print(f"skipped {r.video}: results already in {r.output_dir} (--overwrite to redo)", highlight=False,
                      soft_wrap=True)  # fmt: skip
        elif r.status == "failed":
            err.print(f"[red]error:[/red] {r.error}", highlight=False, soft_wrap=True)
    done = [r for r in results if r.status == "done"]
    if done:
        Console().print(summary_table(done))
        Console().print(world_table(done, world_settings(options["focal_px"], options["fov"], options["height"])))
    failures = [r for r in results if r.status == "failed"]
    if failures:
        raise PoseMambaError(f"{len(failures)} of {len(results)} videos failed (see above)")


infer.__signature__ = inspect.Signature(_parameters(), return_annotation=None)  # type: ignore[attr-defined]
infer.__annotations__ = {p.name: p.annotation for p in infer.__signature__.parameters.values()}
