"""Blender, headless, as a consumer of the exported files: one process imports every file of a job list."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

# Runs inside Blender: imports each file into an empty scene and reports the armature, its keys and the
# joints' world positions (metres, Blender's z-up axes) at the asked frames.
_SCRIPT = r'''
import builtins, json, sys
import bpy
from io_anim_bvh import import_bvh
# Debian's Blender 3.4 runs Python 3.11, which removed open()'s "U" mode that its BVH importer still asks for
import_bvh.open = lambda path, mode="r", *a, **k: builtins.open(path, mode.replace("U", ""), *a, **k)
jobs = json.load(open(sys.argv[-2]))
out = []
for job in jobs:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = job["fps"]
    try:
        if job["path"].endswith(".bvh"):
            bpy.ops.import_anim.bvh(filepath=job["path"])
        else:
            import numpy  # noqa: F401  (Blender's glTF importer needs it)
            bpy.ops.import_scene.gltf(filepath=job["path"])
    except Exception as exc:
        out.append({"error": f"{type(exc).__name__}: {exc}"})
        continue
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    action = arm.animation_data.action
    report = {"bones": [b.name for b in arm.data.bones], "frame_range": list(action.frame_range),
              "keys": sorted({len(fc.keyframe_points) for fc in action.fcurves}), "positions": []}
    for frame in job["frames"]:
        scene.frame_set(int(frame // 1), subframe=float(frame % 1))
        report["positions"].append({pb.name: list(arm.matrix_world @ pb.head) for pb in arm.pose.bones})
    out.append(report)
json.dump(out, open(sys.argv[-1], "w"))
'''


def blender_missing() -> str | None:
    """Why Blender cannot be used here, or None."""
    return None if shutil.which("blender") else "blender is not installed (Debian: apt-get install blender)"


def blender_import(jobs: list[dict], folder: Path) -> list[dict]:
    """Import every {"path", "fps", "frames"} job in one headless Blender; per job its report or {"error"}."""
    script, job_file, result = folder / "import.py", folder / "jobs.json", folder / "result.json"
    script.write_text(_SCRIPT)
    job_file.write_text(json.dumps([{**j, "path": str(j["path"])} for j in jobs]))
    done = subprocess.run(
        ["blender", "-b", "--factory-startup", "--python", str(script), "--", str(job_file), str(result)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if not result.is_file():
        raise RuntimeError(f"blender failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return json.loads(result.read_text())
