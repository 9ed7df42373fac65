"""The training loop: published recipe, exact resume, DDP, bf16 autocast on CUDA, NaN stop."""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from posemamba_cli.errors import PoseMambaError
from posemamba_cli.io.paths import require_file
from posemamba_cli.model.checkpoint import FORMAT, load_file, save_checkpoint
from posemamba_cli.model.config import LEGACY_KEYS
from posemamba_cli.model.posemamba import PoseMamba
from posemamba_cli.ops import use_backend
from posemamba_cli.train import distributed as ddp
from posemamba_cli.train import rng
from posemamba_cli.train.config import TrainConfig
from posemamba_cli.train.logs import RunLog
from posemamba_cli.train.losses import total_loss
from posemamba_cli.train.run_dir import BEST, LATEST, check_run_dir, clear_previous_run
from posemamba_cli.train.sampler import EpochSampler
from posemamba_cli.train.task import TrainingData

LOSS_KEYS = ("lambda_3d", "lambda_scale", "lambda_3d_velocity", "lambda_diff", "lambda_lv", "lambda_lg")


class TrainingStopped(PoseMambaError):
    """The run stopped early (non-finite loss); the last good checkpoint is kept."""


@dataclass
class TrainResult:
    run_dir: Path
    epochs_done: int
    global_step: int
    status: str  # "finished", "interrupted" (resumable) or "stopped"
    history: list[dict[str, Any]] = field(default_factory=list)
    best_p1: float | None = None
    stop_signal: int | None = None  # the signal that interrupted the run (SIGINT, SIGTERM), if one did


class _StopFlag:
    """SIGINT / SIGTERM ask the loop to save a resumable checkpoint at the next step; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        self.signum = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


class Trainer:
    """Trains a PoseMamba on `data` into `run_dir` (`latest.pt`, `best.pt`, `log.csv`, `tensorboard/`).

    `resume` continues from `run_dir/latest.pt` (or the given file) exactly where it stopped: weights,
    optimiser, learning rate, epoch, batch within the epoch and every random generator. `max_steps` stops
    after that many optimiser steps in this call, leaving a resumable checkpoint (as SIGINT/SIGTERM do).
    A `run_dir` with anything in it needs `resume` or `overwrite` (see `train.run_dir.check_run_dir`).
    """

    def __init__(self, cfg: TrainConfig, data: TrainingData, run_dir: str | Path, device: str | None = None,
                 resume: bool | str | Path = False, max_steps: int | None = None, console: Console | None = None,
                 tensorboard: bool = True, log_every: int = 10, overwrite: bool = False) -> None:
        self.cfg, self.data, self.run_dir = cfg, data, Path(run_dir)
        self.dist, self.device = ddp.setup(device)
        self.resume, self.max_steps, self.overwrite = resume, max_steps, overwrite
        self.console = console or Console(stderr=True)
        self.tensorboard, self.log_every = tensorboard, log_every
        self.use_amp = cfg.amp and self.device.type == "cuda"

    # ----------------------------------------------------------------------------------------- set-up
    def _build(self) -> None:
        cfg = self.cfg
        rng.seed_all(cfg.seed)
        self.model = PoseMamba(cfg.model).to(self.device)
        self.net: torch.nn.Module = self.model
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if cfg.optimizer == "adam_amsgrad":  # the 3DHP recipe: weight_decay is not passed to the optimiser
            self.optimizer = torch.optim.Adam(params, lr=cfg.learning_rate, amsgrad=True)
        else:
            self.optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        self.root = self.data.task.root_joint
        self.dataset = self.data.task.train_dataset(cfg)
        self.sampler = EpochSampler(len(self.dataset), seed=cfg.seed, world=self.dist.world_size, rank=self.dist.rank)
        self.loader = DataLoader(
            self.dataset, batch_size=cfg.batch_size, sampler=self.sampler, num_workers=cfg.num_workers,
            generator=torch.Generator().manual_seed(cfg.seed),  # keeps the global RNG untouched by loaders
            pin_memory=self.device.type == "cuda", persistent_workers=False,
        )  # fmt: skip
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best_p1: float | None = None
        self.history: list[dict[str, Any]] = []
        self.weights = {k: getattr(cfg, k) for k in LOSS_KEYS}

    def _resume(self) -> None:
        path = Path(self.resume) if isinstance(self.resume, (str, Path)) else self.run_dir / LATEST
        require_file(path, "cannot resume: checkpoint", f"cannot resume: {path} does not exist")
        ckpt = load_file(path)
        if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or "step_in_epoch" not in ckpt:
            raise PoseMambaError(f"cannot resume from {path}: it is not a training checkpoint of this tool")
        stored = {k: v for k, v in ckpt["config"].items() if k not in LEGACY_KEYS}
        mine = self.model.config.to_dict()
        if stored != mine:
            diff = ", ".join(f"{k}: {stored.get(k)} vs {mine.get(k)}" for k in mine if stored.get(k) != mine.get(k))
            raise PoseMambaError(f"cannot resume from {path}: the config's model differs ({diff})")
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.epoch, self.step_in_epoch = int(ckpt["epoch"]), int(ckpt["step_in_epoch"])
        self.global_step = int(ckpt["global_step"])
        self.best_p1 = ckpt.get("best_p1")
        self.history = list(ckpt.get("history", []))
        rng.restore(ckpt["rng"][min(self.dist.rank, len(ckpt["rng"]) - 1)])
        if self.dist.is_main:
            where = f"epoch {self.epoch + 1}, batch {self.step_in_epoch}"
            self.console.print(f"resumed from {path} at {where} (step {self.global_step})")

    def _gather_rng(self) -> list[dict[str, Any]]:
        state = rng.capture()
        if not self.dist.distributed:
            return [state]
        out: list[Any] = [None] * self.dist.world_size
        torch.distributed.all_gather_object(out, state)
        return out

    def _save(self, name: str = LATEST, metrics: dict[str, Any] | None = None) -> None:
        """Write a checkpoint (rank 0) holding everything needed to continue exactly."""
        states = self._gather_rng()
        if self.dist.is_main:
            save_checkpoint(
                self.run_dir / name, self.model, epoch=self.epoch, step_in_epoch=self.step_in_epoch,
                global_step=self.global_step, optimizer=self.optimizer.state_dict(),
                lr=self.optimizer.param_groups[0]["lr"], rng=states, best_p1=self.best_p1,
                history=self.history, train_config={k: v for k, v in self.cfg.as_dict().items() if v is not None},
                metrics=metrics or {},
            )  # fmt: skip
        ddp.barrier(self.dist)

    # --------------------------------------------------------------------------------------- the loop
    def fit(self) -> TrainResult:
        """Run until `cfg.epochs`, an interrupt, `max_steps` or a non-finite loss."""
        log: RunLog | None = None
        status = "finished"
        steps_this_call = 0
        stop_signal = None
        check_run_dir(self.run_dir, resume=self.resume, overwrite=self.overwrite)
        try:
            self._build()
            if self.resume:
                self._resume()
            if self.dist.is_main:
                if self.overwrite:
                    clear_previous_run(self.run_dir)
                self.run_dir.mkdir(parents=True, exist_ok=True)
                log = RunLog(self.run_dir, tensorboard=self.tensorboard)
            ddp.barrier(self.dist)
            with use_backend(self.cfg.scan_backend), _StopFlag() as stop, self._progress() as progress:
                while self.epoch < self.cfg.epochs:
                    outcome, steps = self._train_epoch(progress, stop, log, steps_this_call)
                    steps_this_call += steps
                    if outcome != "epoch":
                        status, stop_signal = outcome, stop.signum
                        break
                    self._end_epoch(progress, log)
        finally:
            if log is not None:
                log.close()
            ddp.cleanup(self.dist)
        return TrainResult(self.run_dir, self.epoch, self.global_step, status, self.history, self.best_p1,
                           stop_signal)

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[speed]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, disable=not self.dist.is_main,
        )  # fmt: skip

    def _train_epoch(self, progress: Progress, stop: _StopFlag, log: RunLog | None,
                     steps_before: int) -> tuple[str, int]:
        cfg = self.cfg
        self.dataset.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        self.sampler.skip_batches(self.step_in_epoch, cfg.batch_size)
        per_rank = -(-len(self.dataset) // self.dist.world_size)
        n_batches = -(-per_rank // cfg.batch_size)
        task = progress.add_task(f"epoch {self.epoch + 1}/{cfg.epochs}", total=n_batches,
                                 completed=self.step_in_epoch, loss="-", speed="")
        self.net.train()
        t0, seen, steps = time.perf_counter(), 0, 0
        sums: dict[str, float] = {}
        for x, y in self.loader:
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            y = y - y[:, :, self.root : self.root + 1, :]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.use_amp):
                pred = self.net(x)
            loss, parts = total_loss(pred.float(), y, self.weights)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            flag = torch.tensor(float(stop.requested), device=loss.device)
            shared = ddp.all_mean(torch.stack([loss.detach().float(), flag]), self.dist)  # one sync per step
            loss_value = float(shared[0])
            if not math.isfinite(loss_value):
                self.optimizer.zero_grad(set_to_none=True)
                where = f"epoch {self.epoch + 1}, batch {self.step_in_epoch + 1}"
                kept = self.run_dir / LATEST
                raise TrainingStopped(
                    f"loss became {loss_value} at {where}; stopped, the last good checkpoint is {kept}"
                    if kept.exists() else f"loss became {loss_value} at {where}; stopped before any checkpoint"
                )
            self.optimizer.step()
            self.step_in_epoch += 1
            self.global_step += 1
            steps += 1
            seen += len(x) * self.dist.world_size
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            sums["loss"] = sums.get("loss", 0.0) + loss_value
            rate = seen / max(time.perf_counter() - t0, 1e-9)
            progress.update(task, advance=1, loss=f"{loss_value:.4f}", speed=f"{rate:.1f} clips/s")
            if log is not None and self.global_step % self.log_every == 0:
                log.step(self.global_step, {"loss": loss_value, "lr": self.optimizer.param_groups[0]["lr"]})
            interrupted = bool(shared[1] > 0) or (self.max_steps is not None and steps_before + steps >= self.max_steps)
            if interrupted:
                self._save(LATEST)
                progress.remove_task(task)
                if self.dist.is_main:
                    self.console.print(f"stopped at epoch {self.epoch + 1}, batch {self.step_in_epoch}; "
                                       f"resume with --resume ({self.run_dir / LATEST})")
                return "interrupted", steps
            if cfg.save_every_steps and self.global_step % cfg.save_every_steps == 0:
                self._save(LATEST)
        progress.remove_task(task)
        elapsed = time.perf_counter() - t0
        self._epoch_stats = {k: v / max(steps, 1) for k, v in sums.items()}
        self._epoch_stats["clips_per_s"] = seen / max(elapsed, 1e-9)
        self._epoch_stats["train_seconds"] = elapsed
        return "epoch", steps

    def _end_epoch(self, progress: Progress, log: RunLog | None) -> None:
        cfg = self.cfg
        lr_used = self.optimizer.param_groups[0]["lr"]
        for group in self.optimizer.param_groups:
            group["lr"] *= cfg.lr_decay
        row: dict[str, Any] = {"epoch": self.epoch + 1, "lr": lr_used, **self._epoch_stats}
        metrics: dict[str, Any] = {}
        if not cfg.no_eval and self.dist.is_main:
            task = progress.add_task("evaluating", total=len(self.data.test), loss="-", speed="")
            advance = lambda k: progress.update(task, advance=k)  # noqa: E731
            metrics = self.data.task.evaluate(self.model, cfg, self.device, advance)
            progress.remove_task(task)
            row.update({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
        score = next((metrics[k] for k in self.data.task.score_keys if k in metrics), row.get("loss"))
        if self.dist.distributed:
            box = [score]
            torch.distributed.broadcast_object_list(box, src=0)
            score = box[0]
        improved = score is not None and (self.best_p1 is None or score < self.best_p1)
        if improved:
            self.best_p1 = float(score)
        self.epoch += 1
        self.step_in_epoch = 0
        self.history.append(row)
        self._save(LATEST, metrics)
        if improved:
            if self.dist.is_main:
                self.data.task.save_best(self.run_dir)  # 3DHP: the best epoch's inference_data.mat
            self._save(BEST, metrics)
        if log is not None:
            log.epoch(row)
        if self.dist.is_main:
            shown = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                              if k in ("epoch", "loss", "p1_mm", "p2_mm", "mpjpe_mm", "pck", "auc",
                                      "mpjpe_normalised", "clips_per_s"))
            self.console.print(shown + ("  [green]best[/green]" if improved else ""))
