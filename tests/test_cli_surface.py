"""The whole command line: every command's --help, and every user error as one line with exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from posemamba_cli.cli.app import app, main
from posemamba_cli.data.synthetic import SyntheticSpec, write_synthetic
from posemamba_cli.model.checkpoint import save_checkpoint
from posemamba_cli.model.posemamba import PoseMamba

ROOT = Path(__file__).resolve().parents[1]


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """(path, command) for every command and sub-command of a typer/click group."""
    out = []
    for name, command in group.commands.items():
        out.append(((*prefix, name), command))
        if hasattr(command, "commands"):  # a group (typer may bring its own click classes)
            out += _commands(command, (*prefix, name))
    return out


COMMANDS = _commands(typer.main.get_command(app))


def test_every_command_is_reachable():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"info", "benchmark", "download-weights", "infer", "train", "eval", "data", "data synthetic",
            "data check"} <= names


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_has_help(path):
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    command = dict(COMMANDS)[path]
    summary = (command.help or "").strip().splitlines()[0]
    assert summary and summary[:40] in " ".join(res.output.split())
    for param in command.params:  # every option is documented
        if getattr(param, "param_type_name", "") == "option" and param.name != "help":
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help text"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    data = root / "syn.pkl"
    write_synthetic(data, SyntheticSpec(train_subjects=(1,), test_subjects=(9,), actions=(2,), min_frames=60,
                                        max_frames=80, seed=2))
    torch.manual_seed(0)
    ckpt = save_checkpoint(root / "tiny.pt", PoseMamba(num_frame=27, dim_feat=16, depth=1))
    (root / "bad.yaml").write_text("epochs: [1, 2\n")
    (root / "angles.yaml").write_text("lambda_a: 1.0\n")
    (root / "notmodel.pt").write_bytes(b"not a checkpoint")
    return {"root": root, "data": data, "ckpt": ckpt}


def _run_main(argv: list[str], capsys, monkeypatch, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The console script's own entry point (the one-line error handler), in process."""
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(sys, "argv", ["posemamba", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def _cases():
    cuda = torch.cuda.is_available()
    return [
        (["eval", "-k", "{root}/none.pt", "-d", "{data}"], {}, "checkpoint file not found"),
        (["eval", "-k", "posemamba-xl", "-d", "{data}"], {}, "unknown model 'posemamba-xl'"),
        (["eval", "-k", "posemamba-s", "-d", "{data}", "--offline", "--weights-dir", "{root}/w"], {},
         "posemamba download-weights posemamba-s"),
        (["eval", "-k", "{root}/notmodel.pt", "-d", "{data}"], {}, "not a readable PyTorch checkpoint"),
        (["eval", "-k", "{ckpt}", "-d", "{root}/none.pkl", "--cache-dir", "{root}/c"], {}, "does not exist"),
        (["eval", "-k", "{ckpt}", "-d", "{data}", "--device", "tpu"], {}, "device must be auto, cpu, cuda"),
        pytest.param(["eval", "-k", "{ckpt}", "-d", "{data}", "--device", "cuda"], {}, "CUDA is not available",
                     marks=pytest.mark.skipif(cuda, reason="this machine has CUDA")),
        pytest.param(["eval", "-k", "{ckpt}", "-d", "{data}", "--device", "cpu", "--cache-dir", "{root}/c"],
                     {"POSEMAMBA_SCAN_BACKEND": "triton"}, "'triton' is not available",
                     marks=pytest.mark.skipif(cuda, reason="triton is usable here")),
        (["eval", "-k", "{ckpt}", "-d", "{data}", "--device", "cpu", "--cache-dir", "{root}/c"],
         {"POSEMAMBA_SCAN_BACKEND": "warp"}, "unknown selective-scan backend 'warp'"),
        (["train", "-c", "{root}/none.yaml"], {}, "does not exist"),
        (["train", "-c", "{root}/bad.yaml"], {}, "is not valid YAML"),
        (["train", "-c", "{root}/angles.yaml"], {}, "angle losses are not implemented"),
        (["data", "check", "{root}/none.pkl"], {}, "does not exist"),
        (["data", "synthetic", "{root}/s.pkl", "--actions", "a,b"], {}, "comma-separated numbers"),
        (["download-weights", "posemamba-xl", "--dir", "{root}/w"], {}, "unknown model"),
        (["infer", "{root}/none.mp4", "-o", "{root}/out"], {}, "none.mp4"),
        pytest.param(["infer", "demo_videos/walk.mp4", "--device", "cuda", "-o", "{root}/out"], {},
                     "CUDA is not available", marks=pytest.mark.skipif(cuda, reason="this machine has CUDA")),
        (["infer", "demo_videos/walk.mp4", "--keypoints", "{root}/none.npz", "-o", "{root}/out"], {}, "none.npz"),
        (["infer", "demo_videos/walk.mp4", "--keypoints", "demo_videos/walk_keypoints.npz", "--lifter",
          "posemamba-s", "--offline", "--weights-dir", "{root}/w", "-o", "{root}/out"], {},
         "posemamba download-weights posemamba-s"),
        (["benchmark", "--presets", "XL"], {}, "unknown preset"),
        (["infer", "demo_videos/walk.mp4", "--det-conf", "abc"], {}, "Invalid value for '--det-conf'"),
        (["infer", "demo_videos/walk.mp4", "--people", "xyz"], {}, "'xyz' is not one of"),
        (["infer", "demo_videos/walk.mp4", "--no-such-flag"], {}, "No such option: --no-such-flag"),
        (["infer"], {}, "Missing argument"),
        (["eval", "-d"], {}, "requires an argument"),
        (["frobnicate"], {}, "No such command 'frobnicate'"),
        (["benchmark", "--presets", "S", "--frames", "3", "--threads", "1", "--repeats", "1", "--backends", "auto",
          "--baseline", "none"], {"POSEMAMBA_SCAN_BACKEND": "warp"}, "unknown selective-scan backend"),
    ]


@pytest.mark.parametrize("argv,env,needle", _cases(), ids=lambda v: " ".join(v)[:60] if isinstance(v, list) else "")
def test_user_errors_are_one_line_and_exit_2(files, argv, env, needle, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the demo clip paths are relative to the checkout
    argv = [a.format(root=files["root"], data=files["data"], ckpt=files["ckpt"]) for a in argv]
    code, err = _run_main(argv, capsys, monkeypatch, env)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0], err


@pytest.mark.parametrize("how,code", [("SIGTERM", 143), ("Ctrl-C", 130)])
def test_an_interrupted_command_exits_as_a_shell_reports_it(how, code, capsys, monkeypatch):
    """SIGTERM (turned into an interrupt so that the run unwinds) exits 128 + 15; Ctrl-C stays 130."""
    import os
    import signal
    import time

    from posemamba_cli.pipeline import videos as batch
    from posemamba_cli.pipeline.interrupts import terminate_as_interrupt

    def stopped_mid_run(*args, **kwargs):
        with terminate_as_interrupt():
            if how == "SIGTERM":
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises before this ends
            raise KeyboardInterrupt

    monkeypatch.setattr(batch, "infer", stopped_mid_run)
    monkeypatch.chdir(ROOT)
    exit_code, err = _run_main(["infer", "demo_videos/walk.mp4", "-o", "unused"], capsys, monkeypatch)
    assert exit_code == code and "Traceback" not in err, err


def test_root_and_eval_help_name_what_they_offer():
    root = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert root.exit_code == 0 and "<bool>" not in root.output
    assert "--version Show the version and exit." in " ".join(root.output.split())
    eval_help = CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "200"})
    first = " ".join(eval_help.output.split())
    assert "Human3.6M" in first and "MPI-INF-3DHP" in first and "<bool>" not in first
    assert "MPI-INF-3DHP" in " ".join(root.output.split())  # the command list names both benchmarks


def test_a_protocol_4_checkpoint_is_one_line_without_torch_warnings(tmp_path, capsys, monkeypatch):
    import numpy as np

    model = PoseMamba(num_frame=27, dim_feat=16, depth=1)
    ckpt = tmp_path / "p4.pth.tr"
    torch.save({"min_loss": np.float64(1.0), "model_pos": model.state_dict()}, ckpt, pickle_protocol=4)
    code, err = _run_main(["eval", "-k", str(ckpt), "-d", str(tmp_path / "none.pkl")], capsys, monkeypatch)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "p4.pth.tr: saved with pickle protocol 4 or newer" in lines[0], err
