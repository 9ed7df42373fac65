"""The `posemamba` typer app: registers each command module and turns user errors into one line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from posemamba_cli import __version__
from posemamba_cli.cli import benchmark_cmd, info_cmd
from posemamba_cli.errors import PoseMambaError

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


app.command("info")(info_cmd.info)
app.command("benchmark")(benchmark_cmd.benchmark)


def main() -> None:
    """Entry point of the console script: user errors become one red line and exit code 2."""
    try:
        app(standalone_mode=False)
    except PoseMambaError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[red]aborted[/red]")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/red]")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
