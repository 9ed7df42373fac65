"""Reading the preprocessed file, the published slicing, caching, clip folders and error messages."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from posemamba_cli.data import ClipDataset, flip_pose, load_clip_folder, load_clips, read_h36m
from posemamba_cli.data.clips import build_clip_sets
from posemamba_cli.data.normalize import camera_resolutions, denormalize_clips, normalize_3d
from posemamba_cli.data.slicing import published_split_ids, resample, split_clips
from posemamba_cli.errors import PoseMambaError


@pytest.fixture(scope="module")
def fixture_dir(shared_dir):
    return shared_dir / "fixtures" / "h36m_eval"


def test_split_ids_reproduce_the_published_slicing(fixture_dir):
    data = read_h36m(fixture_dir / "h36m_schema_shared.pkl")
    train, test = published_split_ids(data["train"]["source"], data["test"]["source"], 243, 81, 243)
    expected = np.load(fixture_dir / "eval_shared.npz")
    np.testing.assert_array_equal(train, expected["split_id_train"])
    np.testing.assert_array_equal(test, expected["split_id_test"])


def test_clip_sets_and_cache_use_the_same_ids(fixture_dir, tmp_path):
    expected = np.load(fixture_dir / "eval_shared.npz")
    first = load_clips(fixture_dir / "h36m_schema_shared.pkl", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2  # one file per split
    again = load_clips(fixture_dir / "h36m_schema_shared.pkl", cache_dir=tmp_path)
    for split in ("train", "test"):
        np.testing.assert_array_equal(again[split].split_id, expected[f"split_id_{split}"])
        np.testing.assert_array_equal(again[split].inputs, first[split].inputs)
        np.testing.assert_array_equal(again[split].labels, first[split].labels)
    assert again["test"].table is not None and again["train"].table is None


def test_normalisation_matches_the_published_formula(fixture_dir):
    data = read_h36m(fixture_dir / "h36m_schema_shared.pkl")
    sets = build_clip_sets(data)
    test = data["test"]
    wh = camera_resolutions(test["camera_name"])
    i = 5
    w, h = wh[i]
    expect_xy = test["joint_2d"][i] / w * 2 - np.array([1, h / w])
    np.testing.assert_allclose(sets["test"].inputs[i, :, :2], expect_xy, rtol=1e-6)
    np.testing.assert_allclose(sets["test"].inputs[i, :, 2], test["confidence"][i])
    expect_z = test["joint3d_image"][i, :, 2] / w * 2
    np.testing.assert_allclose(sets["test"].labels[i, :, 2], expect_z, rtol=1e-6)
    # denormalising with the clip's first-frame resolution inverts it
    clip = sets["test"].labels[sets["test"].split_id[:1]].copy()
    back = denormalize_clips(clip, wh[sets["test"].split_id[:1, 0]])
    np.testing.assert_allclose(back[0], test["joint3d_image"][sets["test"].split_id[0]], rtol=1e-5, atol=1e-3)


def test_short_sequences_are_resampled_and_the_last_one_is_dropped():
    rng = np.random.RandomState(0)
    sources = ["a"] * 300 + ["b"] * 100 + ["c"] * 50
    clips = split_clips(sources, 243, 81, rng)
    assert len(clips) == 2  # 'a' one window (tail dropped), 'b' resampled, 'c' (last, short) none
    np.testing.assert_array_equal(clips[0], np.arange(243))
    b = clips[1]
    assert len(b) == 243 and b.min() >= 300 and b.max() <= 399
    assert np.all(np.diff(b) >= 0) and len(np.unique(b)) > 90  # floor or ceil at random: a few frames skip
    idx = resample(100, 243, np.random.RandomState(1))
    assert idx.dtype == np.uint32 and idx[0] == 0 and idx[-1] == 99


def test_train_stride_windows():
    clips = split_clips(["a"] * 500, 243, 81, np.random.RandomState(0))
    assert [int(c[0]) for c in clips] == [0, 81, 162, 243]


def test_clip_folder_reader(tmp_path):
    rng = np.random.default_rng(0)
    for k in range(3):
        item = {"data_input": rng.normal(size=(27, 17, 3)).astype(np.float32),
                "data_label": rng.normal(size=(27, 17, 3)).astype(np.float32)}
        with open(tmp_path / f"{k:08d}.pkl", "wb") as fh:
            pickle.dump(item, fh)
    clips = load_clip_folder(tmp_path)
    assert len(clips) == 3 and clips.clip_len == 27
    with open(tmp_path / "00000001.pkl", "rb") as fh:
        second = pickle.load(fh)
    x, y = clips.clip(1)
    np.testing.assert_array_equal(x, second["data_input"])
    np.testing.assert_array_equal(y, second["data_label"])
    with open(tmp_path / "00000003.pkl", "wb") as fh:
        pickle.dump({"data_input": np.zeros((27, 17, 3))}, fh)
    with pytest.raises(PoseMambaError, match="data_label"):
        load_clip_folder(tmp_path)
    with pytest.raises(PoseMambaError, match="does not exist"):
        load_clip_folder(tmp_path / "nope")


def _minimal(n: int = 10) -> dict:
    split = {
        "joint_2d": np.zeros((n, 17, 2), np.float32), "confidence": np.ones((n, 17), np.float32),
        "joint3d_image": np.zeros((n, 17, 3), np.float32), "joints_2.5d_image": np.zeros((n, 17, 3), np.float32),
        "2.5d_factor": np.ones(n, np.float32), "camera_name": np.array(["54138969"] * n),
        "action": np.array(["Walking"] * n), "source": np.array(["s_01_act_14_subact_01_ca_01"] * n),
    }  # fmt: skip
    return {"train": split, "test": {k: v.copy() for k, v in split.items()}}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("test"), "lacks the split"),
        (lambda d: d["train"].pop("source"), "lacks the key"),
        (lambda d: d["train"].__setitem__("joint_2d", np.zeros((10, 16, 2))), "'joint_2d' has shape"),
        (lambda d: d["test"].__setitem__("2.5d_factor", np.ones(9)), "'2.5d_factor' has 9 frames"),
        (lambda d: d["test"].__setitem__("camera_name", np.array(["12345678"] * 10)), "unknown camera"),
        (lambda d: d["train"].__setitem__("confidence", np.ones((10, 3))), "'confidence' has shape"),
    ],
)
def test_malformed_files_get_clear_errors(tmp_path, mutate, message):
    data = _minimal()
    mutate(data)
    path = tmp_path / "bad.pkl"
    with open(path, "wb") as fh:
        pickle.dump(data, fh)
    with pytest.raises(PoseMambaError, match=message):
        read_h36m(path)


def test_missing_garbage_and_unsafe_files(tmp_path):
    with pytest.raises(PoseMambaError, match="does not exist"):
        read_h36m(tmp_path / "missing.pkl")
    (tmp_path / "garbage.pkl").write_bytes(b"not a pickle at all")
    with pytest.raises(PoseMambaError, match="not a readable pickle"):
        read_h36m(tmp_path / "garbage.pkl")

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    with open(tmp_path / "evil.pkl", "wb") as fh:
        pickle.dump({"train": Evil()}, fh)
    with pytest.raises(PoseMambaError, match="refusing"):
        read_h36m(tmp_path / "evil.pkl")


def test_flip_and_dataset_flip_are_consistent():
    x = np.random.default_rng(0).normal(size=(5, 17, 3)).astype(np.float32)
    f = flip_pose(x)
    np.testing.assert_array_equal(f[:, 1, 0], -x[:, 4, 0])
    np.testing.assert_array_equal(f[:, 14, 1:], x[:, 11, 1:])
    np.testing.assert_array_equal(flip_pose(f), x)
    labels = normalize_3d(np.random.default_rng(1).normal(size=(40, 17, 3)) * 100 + 500, np.full((40, 2), 1000.0))
    from posemamba_cli.data.clips import ClipSet

    clips = ClipSet(np.concatenate([labels[..., :2], np.ones((40, 17, 1), np.float32)], -1), labels,
                    np.arange(40).reshape(4, 10))
    ds = ClipDataset(clips, flip=True, no_conf=True, seed=3)
    flags = [ds.flipped(i) for i in range(4)]
    for i, flipped in enumerate(flags):
        x, y = ds[i]
        assert x.shape == (10, 17, 2)
        ref_y = clips.clip(i)[1]
        np.testing.assert_array_equal(y.numpy(), flip_pose(ref_y) if flipped else ref_y)
    # a function of (seed, epoch, index) alone: a fresh dataset (a resumed or another worker's copy) agrees
    again = ClipDataset(clips, flip=True, no_conf=True, seed=3)
    for epoch in range(6):
        ds.set_epoch(epoch)
        again.set_epoch(epoch)
        assert [ds.flipped(i) for i in range(4)] == [again.flipped(i) for i in range(4)]
    # and it does change with the epoch and the seed (about half the clips flipped)
    def schedule(dataset):
        out = []
        for epoch in range(6):
            dataset.set_epoch(epoch)
            out.append(tuple(dataset.flipped(i) for i in range(4)))
        return out

    assert len(set(schedule(ds))) > 1
    assert schedule(ClipDataset(clips, flip=True, seed=4)) != schedule(ds)
    assert not ClipDataset(clips, flip=False).flipped(0)


def test_cache_is_rebuilt_when_the_data_file_changes(fixture_dir, tmp_path):
    data_file = tmp_path / "data.pkl"
    with open(fixture_dir / "h36m_schema_shared.pkl", "rb") as fh:
        raw = pickle.load(fh)
    with open(data_file, "wb") as fh:
        pickle.dump(raw, fh)
    before = load_clips(data_file, cache_dir=tmp_path / "cache")["train"].inputs.copy()
    raw["train"]["joint_2d"] = raw["train"]["joint_2d"] + 100.0
    stamp = data_file.stat().st_mtime_ns
    with open(data_file, "wb") as fh:
        pickle.dump(raw, fh)
    os.utime(data_file, ns=(stamp + 10**9, stamp + 10**9))  # same size: the time stamp tells the change
    after = load_clips(data_file, cache_dir=tmp_path / "cache")["train"].inputs
    np.testing.assert_allclose(after[..., :2] - before[..., :2], 0.2, atol=1e-4)  # 100 px of 1000 -> 0.2
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
