"""train / eval / data on bad data, options, checkpoints and output places: one line naming the culprit,
found before the work starts; write faults (full disk) while writing: one line naming the file."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from helpers.faults import file_size_limit, limit_file_size, read_only_folder

from posemamba_cli.cli.app import main
from posemamba_cli.data.synthetic import SyntheticSpec, generate, write_synthetic
from posemamba_cli.errors import OutputError, PoseMambaError
from posemamba_cli.model.checkpoint import save_checkpoint
from posemamba_cli.model.posemamba import PoseMamba

SPEC = SyntheticSpec(train_subjects=(1,), test_subjects=(9,), actions=(2,), min_frames=60, max_frames=80, seed=2)
TINY = dict(epochs=1, batch_size=8, dim_feat=16, depth=1, clip_len=27, data_stride=27, no_eval=True)


def _damaged(root: Path, name: str, split: str, key: str, value: float, frame: int | None = 5) -> Path:
    data = generate(SPEC)
    arr = data[split][key].copy()
    if frame is None:
        arr[...] = value
    else:
        arr[frame] = value
    data[split][key] = arr
    path = root / name
    path.write_bytes(pickle.dumps(data))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    write_synthetic(root / "syn.pkl", SPEC)
    _damaged(root, "nan.pkl", "test", "joint_2d", np.nan)
    _damaged(root, "inf.pkl", "train", "joint3d_image", np.inf)
    _damaged(root, "zero.pkl", "test", "2.5d_factor", 0.0, frame=None)
    torch.manual_seed(0)
    save_checkpoint(root / "tiny.pt", PoseMamba(num_frame=27, dim_feat=16, depth=1))
    (root / "text.npz").write_text("hello, not a zip")
    (root / "folder").mkdir()
    (root / "a_file").write_text("mine")
    (root / "mine.json").write_text('{"my": "notes"}')
    for name, value in (("neg_lr", {"learning_rate": -1.0}), ("nan_lr", {"learning_rate": float("nan")}),
                        ("neg_wd", {"weight_decay": -0.01})):
        (root / f"{name}.yaml").write_text(yaml.safe_dump({**TINY, **value}))
    (root / "ok.yaml").write_text(yaml.safe_dump({**TINY, "cache_dir": str(root / "cache")}))
    return root


def _run(argv: list[str], capsys, monkeypatch) -> tuple[int, str]:
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(sys, "argv", ["posemamba", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


def _one_line(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


EVAL = ["eval", "-k", "{r}/tiny.pt", "--cache-dir", "{r}/cache"]


@pytest.mark.parametrize("argv,needles", [
    (["data", "check", "{r}/nan.pkl"], ["nan.pkl: split 'test': 'joint_2d' has non-finite", "first at frame 5"]),
    (["data", "check", "{r}/inf.pkl"], ["split 'train': 'joint3d_image' has non-finite"]),
    (["data", "check", "{r}/zero.pkl"], ["'2.5d_factor' has values <= 0"]),
    (["data", "check", "{r}/folder"], ["folder is a folder, not a file"]),
    ([*EVAL, "-d", "{r}/nan.pkl", "-o", "{r}/o.json"], ["'joint_2d' has non-finite"]),
    ([*EVAL, "-d", "{r}/zero.pkl", "-o", "{r}/o.json"], ["'2.5d_factor' has values <= 0"]),
    ([*EVAL, "-d", "{r}/text.npz", "-o", "{r}/o.json"], ["text.npz is not an npz file"]),
    ([*EVAL, "-d", "{r}/folder", "--dataset", "h36m", "-o", "{r}/o.json"], ["clip folder", "train does not exist"]),
    (["eval", "-k", "{r}/folder", "-d", "{r}/syn.pkl", "-o", "{r}/o.json"], ["checkpoint", "is a folder"]),
    ([*EVAL, "-d", "{r}/syn.pkl", "-o", "{r}/folder"], ["result file", "folder is a folder"]),
    ([*EVAL, "-d", "{r}/syn.pkl", "-o", "{r}/mine.json"], ["mine.json already exists and was not written"]),
    ([*EVAL, "-d", "{r}/syn.pkl", "-o", "{r}/a_file/o.json"], ["a_file is not a folder"]),
    ([*EVAL, "-d", "{r}/syn.pkl", "-o", "{r}/new/" + "n" * 300 + ".json"], ["is 305 bytes, longer than the"]),
    (["train", "-c", "{r}/ok.yaml", "-d", "{r}/syn.pkl", "-o", "{r}/" + "r" * 300], ["300 bytes, longer than"]),
    (["train", "-c", "{r}/neg_lr.yaml", "-d", "{r}/syn.pkl", "-o", "{r}/run"],
     ["neg_lr.yaml", "'learning_rate' is -1.0", "positive"]),
    (["train", "-c", "{r}/nan_lr.yaml", "-d", "{r}/syn.pkl", "-o", "{r}/run"],
     ["nan_lr.yaml", "'learning_rate' is nan"]),
    (["train", "-c", "{r}/neg_wd.yaml", "-d", "{r}/syn.pkl", "-o", "{r}/run"],
     ["neg_wd.yaml", "'weight_decay' is -0.01"]),
    (["train", "-c", "{r}/ok.yaml", "-d", "{r}/syn.pkl", "-o", "{r}/a_file"], ["a_file is a file, not a folder"]),
    (["train", "-c", "{r}/ok.yaml", "-d", "{r}/syn.pkl", "-o", "{r}/a_file/run"], ["a_file is not a folder"]),
    (["data", "synthetic", "{r}/folder"], ["folder is a folder"]),
    (["data", "synthetic", "{r}/a_file"], ["a_file already exists"]),
    (["data", "synthetic", "{r}/a_file", "--dataset", "3dhp"], ["a_file is a file, not a folder"]),
], ids=lambda v: " ".join(v)[:70] if isinstance(v, list) and v and v[0] in ("data", "eval", "train") else "")
def test_bad_input_or_output_place_is_one_line_before_any_work(files, argv, needles, capsys, monkeypatch):
    before = sorted(p.name for p in files.iterdir())
    line = _one_line(*_run([a.format(r=files) for a in argv], capsys, monkeypatch))
    for needle in needles:
        assert needle in line
    assert sorted(p.name for p in files.iterdir() if p.name != "cache") == [n for n in before if n != "cache"]
    assert (files / "a_file").read_text() == "mine" and (files / "mine.json").read_text() == '{"my": "notes"}'


def test_eval_refuses_nan_data_before_predicting(files, monkeypatch):
    from posemamba_cli.evaluation import evaluate as evaluate_mod

    def must_not_run(*args, **kwargs):
        raise AssertionError("predicted on data that is refused")

    monkeypatch.setattr(evaluate_mod, "evaluate_model", must_not_run)
    with pytest.raises(PoseMambaError, match="non-finite"):
        evaluate_mod.evaluate_checkpoint(files / "tiny.pt", files / "nan.pkl", cache_dir=files / "cache")


def test_read_only_places_are_refused_before_the_work(files, tmp_path, capsys, monkeypatch):
    with read_only_folder(tmp_path / "ro") as ro:
        for argv in (["eval", "-k", f"{files}/tiny.pt", "-d", f"{files}/syn.pkl", "-o", f"{ro}/o.json"],
                     ["train", "-c", f"{files}/ok.yaml", "-d", f"{files}/syn.pkl", "-o", f"{ro}/run"],
                     ["data", "synthetic", f"{ro}/s.pkl"]):
            line = _one_line(*_run(argv, capsys, monkeypatch))
            assert str(ro) in line and "not writable" in line


def test_write_faults_are_one_line_naming_the_file_and_leave_nothing(files, tmp_path):
    """A file-size limit makes every write past it fail as a full disk does (EFBIG instead of ENOSPC)."""
    from posemamba_cli.evaluation.job import write_record
    from posemamba_cli.train.logs import RunLog

    model = PoseMamba(num_frame=27, dim_feat=16, depth=1)
    log = RunLog(tmp_path, tensorboard=False)
    attempts = (
        (tmp_path / "latest.pt", lambda p: save_checkpoint(p, model)),
        (tmp_path / "eval.json", lambda p: write_record({"data": "x" * 4096}, p)),
        (tmp_path / "syn.pkl", lambda p: write_synthetic(p, SPEC)),
        (tmp_path / "log.csv", lambda p: log.epoch({"epoch": 1, "lr": 0.1, "note": "x" * 4096})),
    )
    for path, write in attempts:
        with pytest.raises(OutputError) as err, file_size_limit(1024):
            write(path)
        assert str(err.value).startswith(f"cannot write {path}: ") and "\n" not in str(err.value)
        assert isinstance(err.value, OSError)  # callers that tolerate a failed write (a cache) still may
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output, no temporary file left
    long = tmp_path / "deeper" / ("n" * 245 + ".json")  # within the limit: its temporary name must be too
    write_record({"data": "x"}, long)
    assert [p.name for p in long.parent.iterdir()] == [long.name]


def test_tensorboard_write_fault_is_one_line_without_a_thread_traceback(tmp_path, monkeypatch):
    import threading

    from posemamba_cli.train.logs import RunLog

    printed = []  # what would print "Exception in thread ..." with a traceback
    monkeypatch.setattr(threading, "excepthook", printed.append)
    log = RunLog(tmp_path, tensorboard=True)
    try:
        with pytest.raises(OutputError) as err, file_size_limit(200):
            for step in range(400):
                log.step(step, {"loss": 1.0 / (step + 1), "lr": 0.1})
            log.epoch({"epoch": 1, "lr": 0.1, "loss": 0.5})
            log.close()
    finally:
        log.close()
    assert str(err.value).startswith(f"cannot write {tmp_path / 'tensorboard'}: "), err.value
    assert printed == [] and threading.excepthook == printed.append  # and the hook is given back


def test_train_with_a_full_disk_is_one_line_from_the_cli(files, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "posemamba_cli", "train", "-c", str(files / "ok.yaml"), "-d", str(files / "syn.pkl"),
           "-o", str(run), "--max-steps", "1", "--no-tensorboard"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, preexec_fn=limit_file_size(4096),
                          env={**os.environ, "COLUMNS": "300", "OMP_NUM_THREADS": "1"})
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write {run / 'latest.pt'}: "), proc.stderr
    assert not run.exists() or [p.name for p in run.iterdir()] == []


def test_non_finite_weights_or_3dhp_data_are_refused_before_predicting(files, tmp_path):
    from posemamba_cli.data.mpi3dhp import TEST_FILE, read_test
    from posemamba_cli.data.mpi3dhp_synthetic import Synthetic3DHPSpec, write_synthetic_3dhp
    from posemamba_cli.pretrained import load_lifter

    model = PoseMamba(num_frame=27, dim_feat=16, depth=1)
    with torch.no_grad():
        model.head[1].weight[0, 0] = float("nan")
    with pytest.raises(PoseMambaError, match=r"nan.pt: the weights hold NaN or Inf \(first in 'head.1.weight'\)"):
        load_lifter(save_checkpoint(tmp_path / "nan.pt", model))
    folder = tmp_path / "3dhp"
    write_synthetic_3dhp(folder, Synthetic3DHPSpec(subjects=(1,), min_frames=30, max_frames=40))
    with np.load(folder / TEST_FILE, allow_pickle=True) as z:
        data = z["data"].item()
    data["TS1"]["data_2d"][3, 4] = np.inf
    np.savez(folder / TEST_FILE, data=np.array(data, dtype=object))
    with pytest.raises(PoseMambaError, match="'TS1': 'data_2d' has non-finite values .* the first at frame 3"):
        read_test(folder / TEST_FILE)
