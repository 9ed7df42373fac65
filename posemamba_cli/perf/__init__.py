"""Runtime tuning (applied only by an explicit `tune_runtime()` call, which the CLI makes) and lifter timing."""

from posemamba_cli.perf.runtime import RuntimeTuning, tune_runtime

__all__ = ["RuntimeTuning", "tune_runtime"]
