"""The registry data, its validation, content sniffing and the structural checks (no network)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from posemamba_cli.hub import Registry, RegistryError, VerificationError, load_registry, structure
from posemamba_cli.hub.checksum import expected_digest
from posemamba_cli.hub.content import drive_refusal_reason, is_plain_zip, is_torch_archive, looks_like_html
from posemamba_cli.model.posemamba import PoseMamba
from posemamba_cli.pose2d.checkpoint import hrnet_state_shapes
from posemamba_cli.pretrained import fits


def check_structure(entry, path):
    """The download-time check as the hub runs it, with the model packages' architecture checks."""
    return structure.check_structure(entry, path, fits)


def test_builtin_registry_is_complete_and_consistent():
    reg = load_registry()
    names = {e.name for e in reg}
    assert {"posemamba-s", "posemamba-b", "posemamba-l", "yolo11n"} <= names
    hrnet = [e for e in reg if e.kind == "hrnet"]
    assert {(e.model["width"], tuple(e.model["input_size"]), e.model["decoding"]) for e in hrnet} == {
        (w, size, dec) for w in (32, 48) for size in ((192, 256), (288, 384)) for dec in ("plain", "dark")
    }
    for e in hrnet:  # mmpose names carry the first 8 hex of the SHA-256; the URL ends with the file name
        assert e.url.startswith("https://download.openmmlab.com/mmpose/") and e.url.endswith("/" + e.file)
        assert re.search(rf"-{e.sha256_prefix}_\d{{8}}\.pth$", e.file)
        assert expected_digest(e) == e.sha256_prefix
    for e in reg:
        if e.kind == "posemamba":
            assert e.gdrive_id and e.model["preset"] == e.name[-1].upper()
    assert set(reg.defaults) <= names and any(reg.get(d).kind == "posemamba" for d in reg.defaults)


def test_registry_from_environment_file(tmp_path, monkeypatch):
    path = tmp_path / "reg.json"
    path.write_text(json.dumps({"models": [{"name": "m", "kind": "yolo", "file": "m.pt", "ultralytics": "m.pt"}]}))
    monkeypatch.setenv("POSEMAMBA_REGISTRY", str(path))
    reg = load_registry()
    assert [e.name for e in reg] == ["m"] and reg.origin == str(path)


@pytest.mark.parametrize("bad, message", [
    ({"name": "a", "kind": "posemamba", "file": "a.pth"}, "exactly one of"),
    ({"name": "a", "kind": "posemamba", "file": "a.pth", "url": "http://x", "gdrive_id": "y"}, "exactly one of"),
    ({"name": "a", "kind": "bert", "file": "a.pth", "url": "http://x"}, "kind must be one of"),
    ({"name": "a", "kind": "hrnet", "file": "../a.pth", "url": "http://x"}, "plain file name"),
    ({"name": "a", "kind": "hrnet", "file": "a.pth", "url": "http://x", "sha256": "abc"}, "lowercase hex"),
    ({"name": "a", "kind": "hrnet", "file": "a.pth", "url": "http://x", "colour": "red"}, "unknown field"),
])
def test_malformed_entries_are_named(bad, message):
    with pytest.raises(RegistryError, match=message):
        Registry.from_dict({"models": [bad]}, "r.json")


def test_duplicates_and_bad_defaults():
    entry = {"name": "a", "kind": "yolo", "file": "a.pt", "ultralytics": "a.pt"}
    with pytest.raises(RegistryError, match="appears twice"):
        Registry.from_dict({"models": [entry, entry]})
    with pytest.raises(RegistryError, match="not in the registry: b"):
        Registry.from_dict({"models": [entry], "defaults": ["b"]})


def test_unreadable_registry_file(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("{not json")
    with pytest.raises(RegistryError, match="cannot read registry"):
        Registry.from_file(bad)
    with pytest.raises(RegistryError, match="registry file not found"):
        Registry.from_file(tmp_path / "absent.json")


def test_html_and_drive_page_sniffing():
    assert looks_like_html(b"  \n<!DOCTYPE html><html>")
    assert looks_like_html(b"\xef\xbb\xbf<html lang='en'>")
    assert looks_like_html(b"<!-- note --><HTML>")
    assert not looks_like_html(b"PK\x03\x04archive/data.pkl")
    assert not looks_like_html(b"\x80\x02}q\x00.")
    assert "quota" in drive_refusal_reason(b"<html>Too many users have viewed or downloaded this file</html>")
    assert "not shared publicly" in drive_refusal_reason("<html>You need access. Request access</html>")
    assert drive_refusal_reason("<html>something else</html>").startswith("Google Drive sent an HTML page")


def test_torch_archive_is_not_mistaken_for_a_release_zip(tmp_path):
    ckpt = tmp_path / "c.pth"
    torch.save({"w": torch.zeros(2)}, ckpt)
    release = tmp_path / "r.zip"
    with zipfile.ZipFile(release, "w") as zf:
        zf.write(ckpt, "ckpt/c.pth")
    assert is_torch_archive(ckpt) and not is_plain_zip(ckpt)
    assert is_plain_zip(release) and not is_torch_archive(release)


def _hrnet_entry(width: int = 32):
    reg = Registry.from_dict({"models": [{"name": "h", "kind": "hrnet", "file": "h.pth", "url": "http://x/h.pth",
                                          "model": {"width": width}}]})
    return reg.get("h")


def test_hrnet_structure_check_accepts_mmpose_layout_and_rejects_others(tmp_path):
    shapes = hrnet_state_shapes(32)
    # every tensor a broadcast view of one element: the right keys and shapes in a file of a few kB
    state = {k: torch.zeros(1).expand(s) if s else torch.zeros((), dtype=torch.long) for k, s in shapes.items()}
    good = tmp_path / "good.pth"
    torch.save({"meta": {"epoch": 210}, "state_dict": state}, good)
    assert good.stat().st_size < 2_000_000
    assert "HRNet-W32" in check_structure(_hrnet_entry(32), good)
    with pytest.raises(VerificationError, match="does not fit HRNet-W48"):
        check_structure(_hrnet_entry(48), good)
    partial = tmp_path / "partial.pth"
    torch.save({"state_dict": {"backbone.conv1.weight": torch.zeros(64, 3, 3, 3)}}, partial)
    with pytest.raises(VerificationError, match="missing"):
        check_structure(_hrnet_entry(32), partial)


def test_posemamba_preset_check_uses_true_sizes(tmp_path):
    reg = Registry.from_dict({"models": [
        {"name": "s", "kind": "posemamba", "file": "s.pth.tr", "gdrive_id": "x", "model": {"preset": "S"}},
        {"name": "b", "kind": "posemamba", "file": "b.pth.tr", "gdrive_id": "y", "model": {"preset": "B"}},
    ]})
    state = PoseMamba.from_preset("S").state_dict()
    path = tmp_path / "s.pth.tr"
    torch.save({"epoch": 1, "model_pos": {"module." + k: v for k, v in state.items()}}, path)
    assert "PoseMamba-S" in check_structure(reg.get("s"), path)
    with pytest.raises(VerificationError, match="mis-shaped"):
        check_structure(reg.get("b"), path)


def test_posemamba_check_against_the_published_manifest(shared_dir):
    """The preset model's keys and shapes equal the published S/B/L state dicts (manifests in ../shared)."""
    for preset in "SBL":
        manifest = json.loads((shared_dir / "fixtures" / "posemamba" / f"manifest_{preset}.json").read_text())
        expected = {k: tuple(s) for k, s in manifest["state_dict"]}
        got = {k: tuple(v.shape) for k, v in PoseMamba.from_preset(preset).state_dict().items()}
        assert got == expected, preset


def test_published_fixture_checkpoint_passes_a_config_entry(shared_dir):
    ckpt = shared_dir / "fixtures" / "posemamba" / "tiny_checkpoint.pth"
    reg = Registry.from_dict({"models": [{"name": "t", "kind": "posemamba", "file": "t.pth", "url": "http://x/t.pth",
                                          "model": {"config": {"num_frame": 27, "dim_feat": 16, "depth": 2}}}]})
    assert "fits" in check_structure(reg.get("t"), Path(ckpt))


def test_published_layout_with_optimizer_and_numpy_min_loss_passes(tmp_path):
    """The published training code saves {'epoch', 'lr', 'optimizer', 'model_pos', 'min_loss'}; its
    min_loss comes from numpy (np.mean), so the structural check must accept a numpy scalar there."""
    model = PoseMamba(num_frame=27, dim_feat=16, depth=2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.zeros(1, 27, 17, 2)).sum().backward()
    opt.step()
    path = tmp_path / "PoseMamba-t-h36m.pth.tr"
    torch.save({"epoch": 3, "lr": 0.0005, "optimizer": opt.state_dict(), "min_loss": np.float64(39.2),
                "model_pos": {"module." + k: v for k, v in model.state_dict().items()}}, path)
    reg = Registry.from_dict({"models": [{"name": "t", "kind": "posemamba", "file": "t.pth", "gdrive_id": "x",
                                          "model": {"config": {"num_frame": 27, "dim_feat": 16, "depth": 2}}}]})
    assert "fits" in check_structure(reg.get("t"), path)


def test_list_shows_the_builtin_registry_offline(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from posemamba_cli.cli.app import app

    monkeypatch.delenv("POSEMAMBA_REGISTRY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "yolo11n.pt").write_bytes(b"x" * 2048)
    result = CliRunner().invoke(app, ["download-weights", "--list", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    for name in ("posemamba-s", "posemamba-b *", "posemamba-l", "hrnet-w32-256x192 *", "hrnet-w48-dark-384x288",
                 "yolo11n *"):
        assert name in rows, result.output
    # a detector file is inspected before it counts as present: 2 kB of junk is refused, not "yes"
    assert "refused" in rows["yolo11n *"] and "yes" not in rows["yolo11n *"] and "no" in rows["posemamba-s"]
    assert "Google Drive" in rows["posemamba-l"] and "openmmlab.com" in rows["hrnet-w32-256x192 *"]


def test_pretrained_names_are_the_model_presets():
    """One name space: each published lifter in the registry is the preset of the same name, sizes included."""
    from posemamba_cli.model.config import PRESETS, preset_config, preset_name

    lifters = {e.name: e for e in load_registry() if e.kind == "posemamba"}
    assert set(lifters) == set(PRESETS)
    for name, entry in lifters.items():
        assert preset_name(entry.model["preset"]) == name
        assert PoseMamba.from_preset(name).config == preset_config(entry.model["preset"])
    with pytest.raises(RegistryError, match="unknown PoseMamba preset"):
        Registry.from_dict({"models": [{"name": "x", "kind": "posemamba", "file": "x.pth", "url": "http://x/x",
                                        "model": {"preset": "XL"}}]})
