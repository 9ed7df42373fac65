"""Motion files from H36M-17 world positions: BVH and glTF 2.0 binary, and a result folder's per-person export.

    write_bvh(path, joints_world_mm, fps)        (T, 17, 3) world mm, z up -> .bvh
    write_glb(path, joints_world_mm, times_s)    the same with each frame's time -> .glb
    export_result(result_folder, formats)        pose3d.npz -> person_<id>.<fmt>, added to the manifest
"""

from __future__ import annotations

from posemamba_cli.export.bvh import write_bvh
from posemamba_cli.export.gltf import write_glb
from posemamba_cli.export.result import FORMATS, export_pose3d, export_result, parse_formats

__all__ = ["FORMATS", "export_pose3d", "export_result", "parse_formats", "write_bvh", "write_glb"]
