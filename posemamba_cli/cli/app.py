"""The `posemamba` typer app: registers each command module and turns user errors into one line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from posemamba_cli import __version__
from posemamba_cli.cli import benchmark_cmd, info_cmd
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.perf.allocator import retain_freed_memory

app = typer.Typer(
    name="posemamba",
    help="Video to 3D human pose with the PoseMamba lifter.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"posemamba {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Video to 3D human pose with the PoseMamba lifter."""
    retain_freed_memory()  # every command that runs a model gains from it; harmless for the rest


app.command("info")(info_cmd.info)
app.command("benchmark")(benchmark_cmd.benchmark)
from posemamba_cli.cli import download_cmd  # noqa: E402
app.command("download-weights")(download_cmd.download_weights)
from posemamba_cli.cli import infer_cmd  # noqa: E402
app.command("infer")(infer_cmd.infer)

from posemamba_cli.cli import data_cmd, eval_cmd, train_cmd  # noqa: E402

app.command("train")(train_cmd.train)
app.command("eval")(eval_cmd.eval)
app.add_typer(data_cmd.app, name="data")


def main() -> None:
    """Entry point of the console script: user errors become one red line and exit code 2."""
    try:
        app()  # standalone mode: usage errors print usage and exit 2 by themselves
    except PoseMambaError as exc:
        err_console.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/red]")
        sys.exit(130)
