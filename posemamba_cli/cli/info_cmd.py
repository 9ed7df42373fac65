"""`posemamba info`: what a bug report needs."""

from __future__ import annotations

import platform
import sys

from rich.console import Console
from rich.table import Table


def info() -> None:
    """Print versions, devices, which selective-scan backends work here, and every setting the tool reads."""
    import numpy
    import torch

    from posemamba_cli import __version__, settings
    from posemamba_cli.ops import backend_status, get_backend

    console = Console()
    table = Table(title="posemamba info", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("posemamba", __version__)
    table.add_row("python", f"{sys.version.split()[0]} ({platform.platform()})")
    table.add_row("torch", f"{torch.__version__} (threads {torch.get_num_threads()})")
    table.add_row("numpy", numpy.__version__)
    cuda = "no"
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        cuda = f"{torch.version.cuda}: {', '.join(names)}"
    table.add_row("cuda", cuda)
    table.add_row("cpu", f"{platform.processor() or platform.machine()}, {_cpu_count()} cores")
    cpu_scan = get_backend("cpu")
    kernel = cpu_scan.kernel  # which build of the CPU kernel, and from where: install time or run time
    table.add_row("cpu scan kernel", kernel.describe() if kernel else
                  f"[yellow]none, PyTorch fallback[/yellow]: {cpu_scan.availability()[1]}")
    for name, (ok, why) in backend_status().items():
        state = "[green]available[/green]" if ok else f"[yellow]unavailable[/yellow]: {why}"
        table.add_row(f"scan backend {name}", state)
    console.print(table)
    env = Table(title="settings (environment variables)")
    for column in ("variable", "value", "meaning"):
        env.add_column(column)
    for name, value, meaning in settings.current_values():
        env.add_row(name, value if value is not None else "[dim](unset)[/dim]", meaning)
    env.add_section()
    env.add_row("cache folder", str(settings.cache_dir()), "compiled kernels and sliced clips")
    env.add_row("weights folder", str(settings.weights_dir()), "where model names resolve")
    console.print(env)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
