"""Motion files from H36M-17 world positions: BVH and glTF 2.0 binary, and a result folder's per-person export.

    write_bvh(path, joints_world_mm, fps)        (T, 17, 3) world mm, z up -> .bvh
    write_glb(path, joints_world_mm, times_s)    the same with each frame's time -> .glb
    export_result(result_folder, formats)        pose3d.npz -> person_<id>.<fmt>, added to the manifest
"""

from __future__ import annotations

from posemamba_cli._lazy import lazy_attributes

_LAZY = {
    "write_bvh": "posemamba_cli.export.bvh",
    "write_glb": "posemamba_cli.export.gltf",
    "export_pose3d": "posemamba_cli.export.result",
    "export_result": "posemamba_cli.export.result",
    "FORMATS": "posemamba_cli.export.formats",
    "parse_formats": "posemamba_cli.export.formats",
}
__getattr__ = lazy_attributes(__name__, _LAZY)
__all__ = sorted(_LAZY)
