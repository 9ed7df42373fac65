"""MPI-INF-3DHP scoring as the test set's MATLAB scripts do it: PCK@150 mm, AUC over 0:5:150 mm, MPJPE,
per sequence, per activity and overall; and the `inference_data.mat` those scripts read.

Errors are Euclidean per joint against `data_3d` minus its pelvis (joint 14), in single precision when the
predictions are float32 (as MATLAB computes single - double). A joint counts as correct when its error is
STRICTLY below the threshold. Overall values pool every valid frame (= the frame-weighted sequence mean).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from posemamba_cli.data import mpi3dhp
from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.atomic import atomic_path
from posemamba_cli.io.paths import require_file

PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.arange(0.0, 151.0, 5.0)  # 0, 5, ..., 150 (31 values; t = 0 never counts)
#: P-STMO's joint groups (14 joints: pelvis, spine and head left out), the numbers MotionAGFormer reports.
JOINT_GROUPS_14 = {"Head": (0,), "Neck": (1,), "Shou": (2, 5), "Elbow": (3, 6), "Wrist": (4, 7), "Hip": (8, 11),
                   "Knee": (9, 12), "Ankle": (10, 13)}  # fmt: skip
#: the test set's original groups (all 17 joints).
JOINT_GROUPS_17 = {"Head": (0, 16), "Neck": (1,), "Shou": (2, 5), "Elbow": (3, 6), "Wrist": (4, 7), "spine": (15,),
                   "Hip": (8, 11, 14), "Knee": (9, 12), "Ankle": (10, 13)}  # fmt: skip
ACTIVITIES = ("Standing/Walking", "Exercising", "Sitting", "Reaching/Crouching", "On The Floor", "Sports",
              "Miscellaneous")  # fmt: skip


def joint_groups(joints: int) -> dict[str, tuple[int, ...]]:
    if joints == 14:
        return JOINT_GROUPS_14
    if joints == 17:
        return JOINT_GROUPS_17
    raise PoseMambaError(f"joints must be 14 (P-STMO's groups) or 17 (the original groups), not {joints}")


def joint_errors(pred: np.ndarray, gt_root_relative: np.ndarray) -> np.ndarray:
    """(n, 17, 3) x2 -> (n, 17) Euclidean errors; float32 arithmetic when `pred` is float32 (as MATLAB)."""
    pred = np.asarray(pred)
    dtype = np.float32 if pred.dtype == np.float32 else np.float64
    diff = pred.astype(dtype) - np.asarray(gt_root_relative).astype(dtype)
    return np.sqrt(np.sum(diff * diff, axis=-1, dtype=dtype), dtype=dtype).astype(np.float64)


def score_errors(errors: np.ndarray, joints: int = 14) -> dict:
    """(n, 17) per-joint errors (mm) -> PCK, AUC (%), MPJPE (mm, all 17 joints), per group and per joint."""
    errors = np.asarray(errors, np.float64)
    groups = joint_groups(joints)
    n = len(errors)
    per_group_pck, per_group_auc = {}, {}
    correct_all, count_all = np.zeros(len(AUC_THRESHOLDS_MM)), 0
    for name, idx in groups.items():
        e = errors[:, list(idx)].reshape(-1)
        correct = np.array([(e < t).sum() for t in AUC_THRESHOLDS_MM], np.float64)
        denom = max(len(e), 1)
        per_group_auc[name] = float(100 * np.mean(correct / denom))
        per_group_pck[name] = float(100 * (e < PCK_THRESHOLD_MM).sum() / denom)
        correct_all += correct
        count_all += len(e)
    count_all = max(count_all, 1)
    in_groups = errors[:, sorted({j for idx in groups.values() for j in idx})]
    per_joint = errors.mean(axis=0) if n else np.full(17, np.nan)
    return {
        "pck": float(100 * (in_groups < PCK_THRESHOLD_MM).sum() / count_all),
        "auc": float(100 * np.mean(correct_all / count_all)),
        "mpjpe_mm": float(errors.mean()) if n else float("nan"),
        "n_frames": int(n),
        "pck_per_group": per_group_pck,
        "auc_per_group": per_group_auc,
        "mpjpe_per_joint_mm": dict(zip(mpi3dhp.JOINT_NAMES, map(float, per_joint))),
    }


def _as_frames(arr: object, seq: str, n_valid: int) -> np.ndarray:
    """(n_valid, 17, 3), or the .mat layout (3, 17, 1, n_valid) -> (n_valid, 17, 3)."""
    a = np.asarray(arr)
    if not np.issubdtype(a.dtype, np.number):
        raise PoseMambaError(f"predictions for {seq} are not numeric ({a.dtype})")
    if a.ndim == 4 and a.shape[:3] == (3, 17, 1):
        a = a[:, :, 0, :].transpose(2, 1, 0)
    if a.shape != (n_valid, 17, 3):
        raise PoseMambaError(f"predictions for {seq} have shape {a.shape}, expected ({n_valid}, 17, 3): "
                             "one pose per valid frame, in mm, root joint 14 at 0")
    return a


def _test_sequences(data_file: str | Path | Sequence[mpi3dhp.Sequence3DHP]) -> list[mpi3dhp.Sequence3DHP]:
    if isinstance(data_file, (str, Path)):
        return mpi3dhp.read_test(mpi3dhp.find_files(data_file)[1])
    return list(data_file)


def evaluate_3dhp(
    data_file: str | Path | Sequence[mpi3dhp.Sequence3DHP],
    predictions: Mapping[str, np.ndarray],
    joints: int = 14,
    activities: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """Score 3DHP predictions as the test set's MATLAB scripts do.

    `data_file`: `data_test_3dhp.npz` (or a folder holding it); `predictions`: "TS1".."TS6" -> (n_valid, 17,
    3) mm with the root joint 14 at 0, valid frames in order (the .mat layout (3, 17, 1, n_valid) is also
    accepted); `joints`: 14 (P-STMO's groups, default) or 17; `activities`: optional "TS<i>" -> (N,) labels
    1..7 over all frames, which adds the activity-wise table. Returns `pck`, `auc`, `mpjpe_mm` pooled over all
    valid frames, `per_sequence` (the same per "TS<i>"), `plain_mean` (unweighted mean over sequences) and,
    with activities, `per_activity`.
    """
    groups = joint_groups(joints)
    sequences = _test_sequences(data_file)
    names = [s.name for s in sequences]
    missing = [n for n in names if n not in predictions]
    extra = [k for k in predictions if k not in names]
    if missing or extra:
        raise PoseMambaError("predictions must cover exactly the test sequences " + ", ".join(names)
                             + (f"; missing {', '.join(missing)}" if missing else "")
                             + (f"; unknown {', '.join(map(str, extra))}" if extra else ""))
    per_seq, all_errors, all_labels = {}, [], []
    for s in sequences:
        valid = s.valid if s.valid is not None else np.ones(len(s), bool)
        gt = np.asarray(s.pose_3d, np.float64)[valid]
        gt = gt - gt[:, mpi3dhp.ROOT : mpi3dhp.ROOT + 1]
        err = joint_errors(_as_frames(predictions[s.name], s.name, int(valid.sum())), gt)
        per_seq[s.name] = score_errors(err, joints)
        all_errors.append(err)
        if activities is not None:
            if s.name not in activities:
                raise PoseMambaError(f"activity labels lack the sequence {s.name}")
            labels = np.asarray(activities[s.name]).reshape(-1)
            if len(labels) != len(s):
                raise PoseMambaError(f"activity labels for {s.name} have {len(labels)} frames, the sequence {len(s)}")
            all_labels.append(labels[valid])
    errors = np.concatenate(all_errors)
    overall = score_errors(errors, joints)
    result = {
        "pck": overall["pck"], "auc": overall["auc"], "mpjpe_mm": overall["mpjpe_mm"],
        "joints": joints, "groups": {k: list(v) for k, v in groups.items()},
        "pck_threshold_mm": PCK_THRESHOLD_MM, "n_frames": overall["n_frames"],
        "overall": overall, "per_sequence": per_seq,
        "plain_mean": {k: float(np.mean([v[k] for v in per_seq.values()])) for k in ("pck", "auc", "mpjpe_mm")},
    }  # fmt: skip
    if activities is not None:
        labels = np.concatenate(all_labels)
        table = {}
        for i, name in enumerate(ACTIVITIES, start=1):
            sel = labels == i
            if sel.any():
                table[name] = score_errors(errors[sel], joints)
        table["All"] = overall
        result["per_activity"] = table
    return result


def write_inference_mat(path: str | Path, predictions: Mapping[str, np.ndarray]) -> Path:
    """Write `inference_data.mat` as the MATLAB scripts read it: TS<i> (3, 17, 1, n_valid) float32, mm."""
    from scipy.io import savemat

    arrays = {}
    for seq, pred in predictions.items():
        a = np.asarray(pred, np.float32)
        if a.ndim != 3 or a.shape[1:] != (17, 3):
            raise PoseMambaError(f"predictions for {seq} have shape {a.shape}, expected (n_valid, 17, 3)")
        arrays[seq] = np.ascontiguousarray(a.transpose(2, 1, 0)[:, :, None, :])
    with atomic_path(path) as tmp:
        savemat(str(tmp), arrays)
    return Path(path)


def is_inference_mat(path: str | Path) -> bool:
    """Whether `path` is an `inference_data.mat` as written here: only TS<i> prediction arrays."""
    from scipy.io import whosmat

    try:
        names = [name for name, _, _ in whosmat(str(path))]
    except (OSError, ValueError, TypeError):
        return False
    return bool(names) and all(name.startswith("TS") for name in names)


def read_inference_mat(path: str | Path) -> dict[str, np.ndarray]:
    """`inference_data.mat` -> "TS<i>" -> (n_valid, 17, 3) float32."""
    from scipy.io import loadmat

    path = Path(path)
    require_file(path, "prediction file")
    try:
        raw = loadmat(str(path))
    except (ValueError, OSError, TypeError) as exc:
        raise PoseMambaError(f"{path} is not a readable .mat file: {exc}") from None
    return {k: _as_frames(v, k, v.shape[-1]) for k, v in raw.items() if not k.startswith("__")}
