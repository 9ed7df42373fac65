"""Training on synthetic data: P1 falls, exact resume (step limit, SIGTERM), NaN stop, DDP, eval command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from posemamba_cli.data.clips import ClipSet
from posemamba_cli.data.synthetic import SyntheticSpec, write_synthetic
from posemamba_cli.evaluation import evaluate_model
from posemamba_cli.model.checkpoint import load_file, save_checkpoint
from posemamba_cli.model.posemamba import PoseMamba
from posemamba_cli.train import Trainer, TrainingData, TrainingStopped, config_from_dict, resolve_data

TINY = dict(
    epochs=2, batch_size=8, learning_rate=2e-3, dim_feat=16, depth=1, clip_len=27, data_stride=27,
    drop_path_rate=0.1, flip=True, no_eval=True, seed=0, scan_backend="auto",
)  # fmt: skip


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("syn") / "synthetic.pkl"
    write_synthetic(path, SyntheticSpec(actions=(2, 14), min_frames=120, max_frames=200, seed=1))
    return path


def _cfg(synthetic_file: Path, tmp: Path, **over):
    return config_from_dict({**TINY, "data_file": str(synthetic_file), "cache_dir": str(tmp / "cache"), **over})


def _subset(data: TrainingData, n_train: int) -> TrainingData:
    t = data.train
    return TrainingData(ClipSet(t.inputs, t.labels, t.split_id[:n_train], t.wh), data.test, data.description)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(path)["model"]


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_small_model_learns(synthetic_file, tmp_path):
    cfg = _cfg(synthetic_file, tmp_path, epochs=3, no_eval=False, drop_path_rate=0.0)
    data = _subset(resolve_data(cfg), 160)
    torch.manual_seed(cfg.seed)
    before = evaluate_model(PoseMamba(cfg.model), data.test, flip=cfg.flip)["p1_mm"]
    result = Trainer(cfg, data, tmp_path / "run", tensorboard=False).fit()
    curve = [row["p1_mm"] for row in result.history]
    assert result.status == "finished" and len(curve) == 3
    assert curve[-1] < 0.7 * before, (before, curve)
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,lr") and len(log) == 4
    best = load_file(tmp_path / "run" / "best.pt")
    assert best["metrics"]["p1_mm"] == pytest.approx(min(curve))


def test_resume_mid_epoch_gives_identical_weights(synthetic_file, tmp_path):
    cfg = _cfg(synthetic_file, tmp_path)
    data = _subset(resolve_data(cfg), 40)  # 5 steps per epoch
    full = Trainer(cfg, data, tmp_path / "full", tensorboard=False).fit()
    assert full.status == "finished" and full.global_step == 10
    first = Trainer(cfg, data, tmp_path / "parts", tensorboard=False, max_steps=3).fit()
    assert first.status == "interrupted" and load_file(tmp_path / "parts" / "latest.pt")["step_in_epoch"] == 3
    second = Trainer(cfg, data, tmp_path / "parts", tensorboard=False, resume=True, max_steps=4).fit()
    assert second.status == "interrupted" and second.global_step == 7 and second.epochs_done == 1
    last = Trainer(cfg, data, tmp_path / "parts", tensorboard=False, resume=True).fit()
    assert last.status == "finished" and last.global_step == 10
    _assert_same_weights(tmp_path / "full" / "latest.pt", tmp_path / "parts" / "latest.pt")
    a, b = load_file(tmp_path / "full" / "latest.pt"), load_file(tmp_path / "parts" / "latest.pt")
    assert a["lr"] == b["lr"] == pytest.approx(cfg.learning_rate * cfg.lr_decay**2)
    for k, v in a["optimizer"]["state"].items():
        assert torch.equal(v["exp_avg_sq"], b["optimizer"]["state"][k]["exp_avg_sq"])


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(synthetic_file, tmp_path):
    cfg = _cfg(synthetic_file, tmp_path)
    data = _subset(resolve_data(cfg), 40)
    Trainer(cfg, data, tmp_path / "run", tensorboard=False, max_steps=2).fit()
    good = (tmp_path / "run" / "latest.pt").read_bytes()
    t = data.train
    broken = TrainingData(ClipSet(t.inputs, np.full_like(t.labels, np.nan), t.split_id, t.wh), data.test, "")
    with pytest.raises(TrainingStopped, match="loss became nan .* last good checkpoint"):
        Trainer(cfg, broken, tmp_path / "run", tensorboard=False, resume=True).fit()
    assert (tmp_path / "run" / "latest.pt").read_bytes() == good


def _write_config(path: Path, synthetic_file: Path, cache: Path, **over) -> Path:
    path.write_text(yaml.safe_dump({**TINY, "data_file": str(synthetic_file), "cache_dir": str(cache), **over}))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def test_sigterm_mid_epoch_then_resume_matches(synthetic_file, tmp_path):
    """A real signal: the CLI saves where it is, `--resume` finishes, weights equal an uninterrupted run."""
    cfg_path = _write_config(tmp_path / "c.yaml", synthetic_file, tmp_path / "cache", epochs=2)
    cfg = _cfg(synthetic_file, tmp_path, epochs=2)
    reference = Trainer(cfg, resolve_data(cfg), tmp_path / "ref", tensorboard=False).fit()
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "posemamba_cli", "train", "--config", str(cfg_path), "--out", str(run),
           "--no-tensorboard", "--save-every", "1"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while not (run / "latest.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 128 + signal.SIGTERM == 143, out
    stopped = load_file(run / "latest.pt")
    assert stopped["global_step"] < reference.global_step, out
    assert "resume with --resume" in out
    done = subprocess.run(cmd + ["--resume"], env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed from" in done.stderr
    _assert_same_weights(tmp_path / "ref" / "latest.pt", run / "latest.pt")


def test_torchrun_two_processes_match_one_process_with_double_batch(synthetic_file, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    cfg_path = _write_config(tmp_path / "c.yaml", synthetic_file, tmp_path / "cache", drop_path_rate=0.0)
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "posemamba_cli", "train", "--config",
           str(cfg_path), "--out", str(tmp_path / "ddp"), "--batch-size", "4", "--max-steps", "1", "--no-tensorboard"]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cfg = _cfg(synthetic_file, tmp_path, drop_path_rate=0.0, batch_size=8)
    Trainer(cfg, resolve_data(cfg), tmp_path / "one", tensorboard=False, max_steps=1).fit()
    torch.manual_seed(cfg.seed)
    init = PoseMamba(cfg.model).state_dict()
    ddp, one = _weights(tmp_path / "ddp" / "latest.pt"), _weights(tmp_path / "one" / "latest.pt")
    moved = 0
    for k, w0 in init.items():
        d_ddp, d_one = ddp[k] - w0, one[k] - w0
        torch.testing.assert_close(d_ddp, d_one, rtol=1e-3, atol=cfg.learning_rate * 1e-2, msg=k)
        moved += int((d_one.abs() > cfg.learning_rate * 0.5).sum())
    assert moved > 100  # the step really changed the weights


def test_eval_command_table_and_json(synthetic_file, tmp_path):
    from typer.testing import CliRunner

    from posemamba_cli.cli.app import app

    torch.manual_seed(0)
    model = PoseMamba(num_frame=27, dim_feat=16, depth=1)
    ours = save_checkpoint(tmp_path / "ours.pt", model)
    published = tmp_path / "PoseMamba-tiny-h36m.pth.tr"
    torch.save({"epoch": 1, "lr": 1e-4, "min_loss": 1.0, "optimizer": {},
                "model_pos": {"module." + k: v for k, v in model.state_dict().items()}}, published)
    runner = CliRunner()
    results = []
    for ckpt in (ours, published):
        out = tmp_path / f"{ckpt.stem}.json"
        res = runner.invoke(app, ["eval", "--checkpoint", str(ckpt), "--data", str(synthetic_file),
                                  "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
        assert res.exit_code == 0, res.output
        assert "mean over actions" in res.output and "Directions" in res.output and "Walking" in res.output
        results.append(json.loads(out.read_text()))
    assert results[0]["p1_mm"] == results[1]["p1_mm"] > 0
    assert set(results[0]["p1_per_action_mm"]) == {"Directions", "Walking"}
    assert results[0]["flip"] is True and results[0]["clip_len"] == 27


def test_trains_from_published_clip_folders(synthetic_file, tmp_path):
    import pickle

    cfg = _cfg(synthetic_file, tmp_path, no_eval=False, epochs=1)
    data = resolve_data(cfg)
    root = tmp_path / "MB3D_f27s27" / "H36M-SH"
    for split, clips in (("train", data.train), ("test", data.test)):
        (root / split).mkdir(parents=True)
        for i in range(16):
            x, y = clips.clip(i)
            with open(root / split / f"{i:08d}.pkl", "wb") as fh:
                pickle.dump({"data_input": x, "data_label": y}, fh)
    folder_cfg = config_from_dict({**TINY, "data_root": str(root.parent), "subset_list": ["H36M-SH"],
                                   "dt_file": "absent.pkl", "no_eval": False, "epochs": 1})
    folders = resolve_data(folder_cfg)
    assert "clip folders" in folders.description and len(folders.train) == 16
    np.testing.assert_array_equal(folders.train.clip(3)[1], data.train.clip(3)[1])
    result = Trainer(folder_cfg, folders, tmp_path / "run", tensorboard=False).fit()
    assert result.status == "finished" and result.history[0]["mpjpe_normalised"] > 0


def test_eval_command_gt_2d_and_bad_input(synthetic_file, tmp_path):
    from typer.testing import CliRunner

    from posemamba_cli.cli.app import app

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", PoseMamba(num_frame=27, dim_feat=16, depth=1))
    runner = CliRunner()
    outs = []
    for flag in ("--detected-2d", "--gt-2d"):
        out = tmp_path / f"{flag}.json"
        res = runner.invoke(app, ["eval", "-k", str(ckpt), "-d", str(synthetic_file), "-o", str(out), flag,
                                  "--no-flip", "--cache-dir", str(tmp_path / "cache")])
        assert res.exit_code == 0, res.output
        outs.append(json.loads(out.read_text()))
    assert outs[1]["gt_2d"] is True and outs[0]["flip"] is False
    assert outs[1]["p1_mm"] != outs[0]["p1_mm"]
    res = runner.invoke(app, ["eval", "-k", str(tmp_path / "none.pt"), "-d", str(synthetic_file)])
    assert res.exit_code != 0 and "not found" in str(res.exception)


def test_resume_refuses_other_files(synthetic_file, tmp_path):
    from posemamba_cli.errors import PoseMambaError

    cfg = _cfg(synthetic_file, tmp_path)
    data = _subset(resolve_data(cfg), 16)
    with pytest.raises(PoseMambaError, match="does not exist"):
        Trainer(cfg, data, tmp_path / "empty", tensorboard=False, resume=True).fit()
    weights_only = save_checkpoint(tmp_path / "w.pt", PoseMamba(cfg.model))
    with pytest.raises(PoseMambaError, match="not a training checkpoint"):
        Trainer(cfg, data, tmp_path / "r", tensorboard=False, resume=weights_only).fit()
    Trainer(cfg, data, tmp_path / "r", tensorboard=False, max_steps=1).fit()
    bigger = _cfg(synthetic_file, tmp_path, dim_feat=32)
    with pytest.raises(PoseMambaError, match="model differs .*dim_feat"):
        Trainer(bigger, data, tmp_path / "r", tensorboard=False, resume=True).fit()


def test_evaluate_checkpoint_is_the_eval_command_as_a_library_call(synthetic_file, tmp_path):
    from posemamba_cli import evaluate_checkpoint

    torch.manual_seed(0)
    model = PoseMamba(num_frame=27, dim_feat=16, depth=1)
    ckpt = save_checkpoint(tmp_path / "m.pt", model)
    seen: list[tuple[int, int]] = []
    record = evaluate_checkpoint(ckpt, synthetic_file, device="cpu", cache_dir=tmp_path / "cache",
                                 progress=lambda done, total: seen.append((done, total)))
    test = resolve_data(_cfg(synthetic_file, tmp_path)).test
    direct = evaluate_model(model.eval(), test, flip=True)
    assert record["p1_mm"] == direct["p1_mm"] > 0 and record["p2_mm"] == direct["p2_mm"]
    assert (record["clip_len"], record["flip"], record["gt_2d"]) == (27, True, False)
    assert seen[0] == (0, len(test)) and seen[-1] == (len(test), len(test))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "m.pt"]  # nothing written without `out`
    no_flip = evaluate_checkpoint(ckpt, synthetic_file, device="cpu", flip=False, cache_dir=tmp_path / "cache",
                                  out=tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["p1_mm"] == no_flip["p1_mm"] != record["p1_mm"]


def test_train_from_config_is_the_train_command_as_a_library_call(synthetic_file, tmp_path):
    from posemamba_cli import train_from_config

    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump({**TINY, "cache_dir": str(tmp_path / "cache"), "my_key": 1}))
    result = train_from_config(cfg_path, tmp_path / "run", data=synthetic_file, max_steps=2, tensorboard=False)
    assert result.status == "interrupted" and result.global_step == 2
    assert (tmp_path / "run" / "latest.pt").is_file()
    again = train_from_config(cfg_path, tmp_path / "run", data=synthetic_file, resume=True, max_steps=3,
                              tensorboard=False)
    assert again.global_step == 2 + 3  # resumed at step 2, then max_steps more


def test_a_used_run_folder_needs_resume_or_overwrite_and_user_files_are_never_replaced(synthetic_file, tmp_path):
    from typer.testing import CliRunner

    from posemamba_cli import train_from_config
    from posemamba_cli.cli.app import app
    from posemamba_cli.errors import PoseMambaError

    cfg_path = _write_config(tmp_path / "c.yaml", synthetic_file, tmp_path / "cache")
    run = tmp_path / "run"
    train_from_config(cfg_path, run, max_steps=2, tensorboard=False)
    first = (run / "latest.pt").read_bytes()
    (run / "notes.txt").write_text("mine")
    with pytest.raises(PoseMambaError, match="not empty .*--resume.*--overwrite"):
        train_from_config(cfg_path, run, max_steps=1, tensorboard=False)
    assert (run / "latest.pt").read_bytes() == first
    # found before any work: the folder is named, not the (absent) data
    res = CliRunner().invoke(app, ["train", "-c", str(cfg_path), "-o", str(run), "-d", str(tmp_path / "no.pkl")])
    assert res.exit_code != 0 and "not empty" in str(res.exception), res.output
    (run / "log.csv").write_text("my,own\n1,2\n")  # a user's file under a name the trainer uses
    with pytest.raises(PoseMambaError, match="log.csv was not written by posemamba train"):
        train_from_config(cfg_path, run, overwrite=True, max_steps=1, tensorboard=False)
    assert (run / "log.csv").read_text() == "my,own\n1,2\n" and (run / "latest.pt").read_bytes() == first
    (run / "log.csv").unlink()
    again = train_from_config(cfg_path, run, overwrite=True, max_steps=1, tensorboard=False)
    assert again.global_step == 1 and load_file(run / "latest.pt")["global_step"] == 1
    assert (run / "notes.txt").read_text() == "mine"
    with pytest.raises(PoseMambaError, match="exclude each other"):
        train_from_config(cfg_path, run, overwrite=True, resume=True, max_steps=1, tensorboard=False)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(PoseMambaError, match="is a file, not a folder"):
        train_from_config(cfg_path, tmp_path / "afile", max_steps=1, tensorboard=False)
