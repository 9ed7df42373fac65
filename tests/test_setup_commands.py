"""The two set-up commands: `make demo` (here its run step, with test-made weights) and `make test` / CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from posemamba_cli.hub import load_registry
from posemamba_cli.model.posemamba import PoseMamba

ROOT = Path(__file__).resolve().parents[1]
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="the `make` program is not installed")


def _demo_run(tmp_path: Path, weights: Path, *flags: str) -> subprocess.CompletedProcess:
    """The Makefile's demo step with this interpreter (the install step is what `make demo` adds)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = ["make", "-s", "-C", str(ROOT), "demo-run", f"BIN={Path(sys.executable).parent}", f"WEIGHTS={weights}",
           f"DEMO_OUT={tmp_path / 'out'}", f"DEMO_FLAGS={' '.join(flags)}"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


@needs_make
@pytest.mark.slow
def test_make_demo_runs_end_to_end_with_weights_in_the_weights_folder(tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.manual_seed(0)
    state = PoseMamba.from_preset("B").state_dict()  # the published layout, random weights
    torch.save({"epoch": 1, "model_pos": {"module." + k: v for k, v in state.items()}},
               weights / load_registry().get("posemamba-b").file)
    res = _demo_run(tmp_path, weights, "--offline")
    assert res.returncode == 0, res.stderr[-3000:]
    found = list((tmp_path / "out").rglob("pose3d.npz"))
    assert len(found) == 1, sorted(str(p) for p in (tmp_path / "out").rglob("*"))
    with np.load(found[0]) as npz:
        pose = npz["pose3d_camera_mm"]
    assert pose.shape[-2:] == (17, 3) and pose.shape[-3] == 120 and np.isfinite(pose).all()  # the clip's frames
    assert any(p.suffix == ".mp4" for p in found[0].parent.iterdir())


@needs_make
def test_make_demo_offline_without_weights_says_what_is_missing_in_one_line(tmp_path):
    res = _demo_run(tmp_path, tmp_path / "no-weights", "--offline")
    assert res.returncode != 0
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in res.stderr, res.stderr
    entry = load_registry().get("posemamba-b")
    assert "posemamba download-weights posemamba-b" in errors[0] and entry.file in errors[0]
    assert not (tmp_path / "out").exists()


def test_readme_test_command_is_what_make_test_and_ci_run():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^(python -m pytest[^\n]*)$", readme, re.M)
    assert command is not None, "README shows no pytest command"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^TEST_CMD \?= {re.escape(command.group(1))}$", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and command.group(1) in ci and "POSEMAMBA_CACHE=" in ci
    assert "-rs" in command.group(1)
    # the README shows the two set-up commands before anything else it asks the reader to run
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    assert [line.split()[:2] for line in first_block.splitlines()[:2]] == [["make", "demo"], ["make", "test"]]
