"""Settings read in one place (one cache root for every cache), device resolution, listed by `posemamba info`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from posemamba_cli import settings
from posemamba_cli.device import resolve_device
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.hub.registry import load_registry
from posemamba_cli.hub.resolve import default_weights_dir
from posemamba_cli.ops import cbuild
from posemamba_cli.train.data_source import default_cache_dir


def test_every_cache_lives_under_one_root(monkeypatch, tmp_path):
    monkeypatch.setenv("POSEMAMBA_CACHE", str(tmp_path / "c"))
    assert cbuild.cache_dir() == tmp_path / "c" / "kernels"
    assert default_cache_dir() == tmp_path / "c" / "clips"
    monkeypatch.delenv("POSEMAMBA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cbuild.cache_dir().parent == default_cache_dir().parent == tmp_path / "xdg" / "posemamba"


def test_weights_folder_registry_and_backend_are_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.delenv("POSEMAMBA_WEIGHTS_DIR", raising=False)
    assert default_weights_dir() == Path("weights") and default_weights_dir(tmp_path) == tmp_path
    monkeypatch.setenv("POSEMAMBA_WEIGHTS_DIR", str(tmp_path / "w"))
    assert default_weights_dir() == tmp_path / "w"
    monkeypatch.setenv("POSEMAMBA_REGISTRY", str(tmp_path / "missing.json"))
    with pytest.raises(PoseMambaError, match="missing.json"):
        load_registry()
    monkeypatch.setenv("POSEMAMBA_SCAN_BACKEND", "torch")
    assert settings.scan_backend() == "torch"
    monkeypatch.setenv("POSEMAMBA_SCAN_BACKEND", "")
    assert settings.scan_backend() is None  # empty means unset


def test_no_module_but_settings_reads_our_environment_variables():
    root = Path(__file__).resolve().parents[1] / "posemamba_cli"
    readers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if "POSEMAMBA_" in p.read_text() and "os.environ" in p.read_text())
    assert readers == ["settings.py"]


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    for bad in ("tpu", "cuda:x", ""):
        with pytest.raises(PoseMambaError, match="device must be"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        for name in ("cuda", "cuda:1"):
            with pytest.raises(PoseMambaError, match="CUDA is not available"):
                resolve_device(name)
    else:
        assert resolve_device("cuda", local_rank=0) == torch.device("cuda", 0)


def test_info_lists_every_setting_with_its_value(tmp_path):
    env = {**os.environ, "POSEMAMBA_CACHE": str(tmp_path / "cache-root"), "COLUMNS": "400", "OMP_NUM_THREADS": "1"}
    env.pop("POSEMAMBA_REGISTRY", None)
    out = subprocess.run([sys.executable, "-m", "posemamba_cli", "info"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    for variable in settings.VARIABLES:
        assert variable.name in out.stdout
    line = next(row for row in out.stdout.splitlines() if "POSEMAMBA_CACHE" in row)
    assert str(tmp_path / "cache-root") in line
    registry_row = next(row for row in out.stdout.splitlines() if "POSEMAMBA_REGISTRY" in row)
    assert "(unset)" in registry_row
