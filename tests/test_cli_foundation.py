"""The command line frame: help, version, info, benchmark, and one-line user errors."""

import os
import subprocess
import sys

import pytest

from posemamba_cli import __version__


def run_cli(*args, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "posemamba_cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_help_lists_commands():
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("info", "benchmark"):
        assert command in out.stdout


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"posemamba {__version__}"


def test_info_reports_versions_and_backends():
    out = run_cli("info")
    assert out.returncode == 0, out.stderr
    for needle in ("torch", "python", "scan backend cpu", "scan backend torch", __version__):
        assert needle in out.stdout


def test_benchmark_small_run_prints_table_with_speedup():
    out = run_cli("benchmark", "--presets", "S", "--frames", "5", "--threads", "1", "--repeats", "1",
                  "--backends", "cpu", "--baseline", "reference")
    assert out.returncode == 0, out.stderr
    assert "frames/s" in out.stdout and "reference" in out.stdout
    row = next(line for line in out.stdout.splitlines() if " cpu " in line)
    assert row.rstrip(" │|").endswith("x")  # a speedup against the in-run baseline


@pytest.mark.parametrize("args,needle", [
    (("benchmark", "--presets", "XL"), "unknown preset"),
    (("benchmark", "--backends", "warp"), "unknown scan backend"),
    (("benchmark", "--threads", "two"), "comma-separated whole numbers"),
])
def test_user_errors_are_one_line_without_traceback(args, needle):
    out = run_cli(*args)
    assert out.returncode != 0
    assert needle in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_unknown_command_is_a_usage_error():
    out = run_cli("frobnicate")
    assert out.returncode == 2 and "Traceback" not in out.stderr
