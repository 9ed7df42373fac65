"""Where the CPU scan kernel comes from: the library built at install time, else a run-time build, else the
PyTorch scan with a warning; and which build runs (the fastest the CPU runs, or POSEMAMBA_CPU_ISA)."""

import ctypes
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from posemamba_cli.ops import backend as backend_registry
from posemamba_cli.ops import cpu_kernel, scan_cpu
from posemamba_cli.ops.cbuild import BuildError, load_library
from posemamba_cli.ops.kernel_variants import SCAN_SOURCES, machine_isas
from posemamba_cli.ops.selective_scan import resolve_backend


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty kernel cache, no forced ISA, and the one-time warnings armed again."""
    monkeypatch.setenv("POSEMAMBA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("POSEMAMBA_CPU_ISA", raising=False)
    monkeypatch.delenv("POSEMAMBA_NO_NATIVE", raising=False)
    monkeypatch.setattr(scan_cpu, "_warned", False)
    return tmp_path


def no_installed_build(monkeypatch):
    monkeypatch.setattr(cpu_kernel, "_installed_file", lambda name: None)


def no_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "definitely-not-a-compiler")
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, gcc or clang either


def test_an_installed_build_is_used_without_compiling(fresh, monkeypatch):
    """Stand-ins for the install-time libraries (built here, into a folder of their own), then no compiler:
    the kernel still loads, from the installed files."""
    try:
        installed = {"_cpu_features": load_library(cpu_kernel._CSRC / "cpu_features.c", "generic")._name}
        monkeypatch.setattr(cpu_kernel, "_installed_file", lambda name: None)
        best = cpu_kernel.supported_isas()[0]
        sources = [cpu_kernel._CSRC / name for name in SCAN_SOURCES]
        installed[f"_scan_cpu_{best}"] = load_library(sources, best)._name
    except (BuildError, cpu_kernel.KernelUnavailable) as exc:
        pytest.skip(f"cannot build the stand-in libraries: {exc}")
    monkeypatch.setattr(cpu_kernel, "_installed_file",
                        lambda name: Path(installed[name]) if name in installed else None)
    monkeypatch.setenv("POSEMAMBA_CACHE", str(fresh / "empty-cache"))
    no_compiler(monkeypatch, fresh)
    kernel = cpu_kernel.load_scan_kernel()
    assert kernel.origin == "extension" and kernel.isa == best
    assert kernel.path == installed[f"_scan_cpu_{kernel.isa}"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the normal case warns about nothing
        assert scan_cpu.CpuNativeBackend().availability() == (True, "")


def test_without_an_installed_build_the_kernel_is_compiled_at_run_time_with_one_warning(fresh, monkeypatch):
    no_installed_build(monkeypatch)
    backend = scan_cpu.CpuNativeBackend()
    with pytest.warns(RuntimeWarning, match="no prebuilt CPU scan kernel; compiled one at run time"):
        ok, why = backend.availability()
    if not ok:
        pytest.skip(f"no C compiler here: {why}")
    assert backend.kernel.origin == "jit" and str(fresh / "cache") in backend.kernel.path
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan_cpu.CpuNativeBackend().availability()  # a second backend: the warning was given once


def test_without_installed_build_or_compiler_auto_falls_back_to_torch_with_one_warning(fresh, monkeypatch):
    no_installed_build(monkeypatch)
    no_compiler(monkeypatch, fresh)
    backend = scan_cpu.CpuNativeBackend()
    monkeypatch.setitem(backend_registry._REGISTRY, "cpu", backend_registry._Entry(lambda: backend, 10, backend))
    with pytest.warns(RuntimeWarning, match="no compiled CPU scan kernel.*no C compiler.*PyTorch scan"):
        chosen = resolve_backend("auto", "cpu", torch.float32)
    assert chosen.name == "torch"
    ok, why = backend.availability()
    assert not ok and "no prebuilt kernel installed" in why and "no C compiler" in why


def test_an_installed_build_that_does_not_load_falls_back_to_a_run_time_build(fresh, monkeypatch):
    broken = fresh / "_scan_cpu_broken.so"
    broken.write_bytes(b"not a shared library")
    monkeypatch.setattr(cpu_kernel, "_installed_file", lambda name: broken)
    try:
        lib, origin, path = cpu_kernel.open_library("_scan_cpu_generic", SCAN_SOURCES, "generic")
    except cpu_kernel.KernelUnavailable as exc:
        assert "does not load" in str(exc)  # and no compiler to fall back on
        return
    assert origin == "jit" and path != str(broken) and isinstance(lib, ctypes.CDLL)


def test_an_installed_build_from_other_sources_is_rebuilt_at_run_time(fresh, monkeypatch):
    """A development tree whose C sources changed after `pip install -e .`: the stale library is not used."""
    edited = fresh / "csrc"
    shutil.copytree(cpu_kernel._CSRC, edited)
    (edited / "scan_cpu.c").write_text((edited / "scan_cpu.c").read_text() + "/* edited */\n")
    try:
        stale = Path(load_library([edited / name for name in SCAN_SOURCES], "generic")._name)
    except BuildError as exc:
        pytest.skip(f"no C compiler here: {exc}")
    monkeypatch.setattr(cpu_kernel, "_installed_file", lambda name: stale)
    lib, origin, path = cpu_kernel.open_library("_scan_cpu_generic", SCAN_SOURCES, "generic")
    assert origin == "jit" and path != str(stale)
    monkeypatch.setattr(cpu_kernel, "_CSRC", edited)  # the sources it was built from: then it is used
    assert cpu_kernel.open_library("_scan_cpu_generic", SCAN_SOURCES, "generic")[1:] == ("extension", str(stale))


def test_no_native_turns_every_compiled_kernel_off(fresh, monkeypatch):
    monkeypatch.setenv("POSEMAMBA_NO_NATIVE", "1")
    ok, why = scan_cpu.CpuNativeBackend(isa="generic").availability()
    assert not ok and "POSEMAMBA_NO_NATIVE" in why


def test_forced_isa(fresh, monkeypatch):
    runnable = cpu_kernel.supported_isas() if _any_kernel() else pytest.skip("no CPU kernel can be loaded here")
    monkeypatch.setenv("POSEMAMBA_CPU_ISA", runnable[-1])
    assert scan_cpu.CpuNativeBackend().kernel.isa == runnable[-1]
    monkeypatch.setenv("POSEMAMBA_CPU_ISA", "sse9")
    ok, why = scan_cpu.CpuNativeBackend().availability()
    assert not ok and "no 'sse9' CPU kernel" in why and "choose from" in why
    unrunnable = [isa for isa in machine_isas() if isa not in runnable]
    if unrunnable:
        ok, why = scan_cpu.CpuNativeBackend(isa=unrunnable[0]).availability()
        assert not ok and "cannot run" in why


def test_builds_report_their_isa_and_lanes(cpu_variant):
    from posemamba_cli.ops import get_backend

    kernel = get_backend(cpu_variant).kernel
    kernel.lib.scan_isa.restype = ctypes.c_char_p
    assert kernel.lib.scan_isa().decode() == kernel.isa == cpu_variant.removeprefix("cpu-")
    assert kernel.lib.scan_lanes() == {"avx512": 16, "avx2": 8}.get(kernel.isa, 4)


def _any_kernel() -> bool:
    try:
        cpu_kernel.load_scan_kernel()
    except cpu_kernel.KernelUnavailable:
        return False
    return True
