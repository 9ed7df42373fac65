"""The `posemamba` typer app: registers each command module and turns user errors into one line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.text import Text

from posemamba_cli import __version__
from posemamba_cli.cli import (
    benchmark_cmd,
    data_cmd,
    download_cmd,
    eval_cmd,
    export_cmd,
    infer_cmd,
    info_cmd,
    train_cmd,
    view_cmd,
)
from posemamba_cli.errors import PoseMambaError, Terminated
from posemamba_cli.perf import tune_runtime

app = typer.Typer(
    name="posemamba",
    help="Video to 3D human pose with the PoseMamba lifter.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: typer's rich help labels every flag (--help, --version) "<bool>"
)
err_console = Console(stderr=True)
# click's exception classes as this typer uses them (recent typers bundle their own click)
_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


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
app.command("download-weights")(download_cmd.download_weights)
app.command("infer")(infer_cmd.infer)
app.command("export")(export_cmd.export)
app.command("view")(view_cmd.view)
app.command("train")(train_cmd.train)
app.command("eval")(eval_cmd.eval)
app.add_typer(data_cmd.app, name="data")


def main() -> None:
    """Entry point of the console script: runtime tuning first (before torch loads), then the command;
    user errors and unparsable option values become one red line and exit code 2."""
    tune_runtime()
    try:
        code = app(standalone_mode=False)
    except PoseMambaError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except _USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare command group: its help, as click would show it
            exc.show()
            sys.exit(exc.exit_code)
        where = exc.ctx.command_path if exc.ctx is not None else "posemamba"
        _error(f"{exc.format_message()} (see `{where} --help`)")
        sys.exit(exc.exit_code)
    except _CLICK_ERROR as exc:
        _error(exc.format_message())
        sys.exit(exc.exit_code)
    except Terminated as exc:  # SIGTERM: 143
        err_console.print("[red]interrupted[/red]")
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):  # Ctrl-C: 130 (typer itself returns 130 for most)
        err_console.print("[red]interrupted[/red]")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _error(message: str) -> None:
    err_console.print(Text.assemble(("error: ", "bold red"), " ".join(message.split())), highlight=False,
                      soft_wrap=True)
