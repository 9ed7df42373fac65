"""posemamba: video to 3D human pose with the PoseMamba lifter.

Library API (imported lazily so that `import posemamba_cli` stays light and changes no process state):
    PoseMamba            the lifter (nn.Module); PoseMamba.from_preset("S"), PoseMamba.from_pretrained("posemamba-b")
    PoseMambaConfig      the lifter's settings (a dataclass; stored in our checkpoints)
    load_lifter          a checkpoint file or pretrained name -> PoseMamba in eval mode
    infer                videos -> result folders (what `posemamba infer` does)
    evaluate_checkpoint  checkpoint + preprocessed Human3.6M file -> P1 / P2 with the published protocol
    evaluate_h36m        the published Human3.6M protocol over predictions
    train_from_config    a training YAML -> a run folder (what `posemamba train` does)
    evaluate_3dhp        MPI-INF-3DHP PCK / AUC / MPJPE as the test set's MATLAB scripts compute them
    tune_runtime         the CLI's process tuning (OpenMP spin, malloc), for library users who want it
    write_bvh            (T, 17, 3) world-frame mm (z up) -> a BVH file; write_glb the same as glTF binary
    export_result        a finished result folder -> person_<id>.bvh / .glb, listed in its manifest
    solve_root_trajectory  2D pixels + root-relative 3D mm -> the root's camera-space path (mm), per frame
"""

from __future__ import annotations

from posemamba_cli._lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "PoseMamba": "posemamba_cli.model.posemamba",
    "load_lifter": "posemamba_cli.pretrained",
    "save_checkpoint": "posemamba_cli.model.checkpoint",
    "evaluate_h36m": "posemamba_cli.evaluation.protocol",
    "evaluate_3dhp": "posemamba_cli.evaluation.mpi3dhp",
    "evaluate_checkpoint": "posemamba_cli.evaluation.evaluate",
    "PoseMambaConfig": "posemamba_cli.model.config",
    "tune_runtime": "posemamba_cli.perf.runtime",
    "train_from_config": "posemamba_cli.train.run",
    "infer": "posemamba_cli.pipeline.videos",
    "write_bvh": "posemamba_cli.export",
    "write_glb": "posemamba_cli.export",
    "export_result": "posemamba_cli.export",
    "solve_root_trajectory": "posemamba_cli.world.trajectory",
}

__getattr__ = lazy_attributes(__name__, _LAZY, submodules=("ops", "pose2d", "model"))


__all__ = ["PoseMamba", "PoseMambaConfig", "load_lifter", "save_checkpoint", "evaluate_checkpoint", "evaluate_h36m",
           "evaluate_3dhp", "infer", "train_from_config", "tune_runtime", "write_bvh", "write_glb", "export_result",
           "solve_root_trajectory", "__version__"]
