"""The training loop shared by every model of metabnet.learn.archs.ARCHS, read top to bottom
like nanoGPT's train.py: setup, resume, `train_step`, a plain loop.

A run directory holds `checkpoint.pt` (model, optimizer, schedule, data position, RNG; written
atomically every `ckpt_every` steps, at every validation, at the end and on Ctrl-C or SIGTERM),
`model.pt` (weights and configs only, for `metabnet eval` / `score`; state "finished" once the
run has ended), `metrics.jsonl` (one
line per logged step or validation) and `curves.png`.  `resume=True` continues exactly where
the checkpoint stopped: the same batches in the same order, bit for bit on CPU.
Several GPUs: `torchrun --nproc_per_node K -m metabnet train ...` (DistributedDataParallel).
"""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from metabnet.learn.archs import ARCHS
from metabnet.batch import take
from metabnet.fileio import atomic_write, write_text
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.learn.loader import GenStream, ShardIndex, Stream, prefetch
from metabnet.learn.device import peak_flops, resolve_device
from metabnet.learn.evaluate import score_batch
from metabnet.learn.model import ModelConfig, build, count_params, init_weights
from metabnet.learn.predict import to_device
from metabnet.metrics import summary
from metabnet.progress import progress_bar


@dataclass
class TrainConfig:
    data: str | None  # directory (or file) of shards; None: stream freshly generated networks
    out: str  # run directory
    batch_size: int = 128  # per process
    lr: float = 3e-4  # peak learning rate (AdamW)
    weight_decay: float = 0.01
    warmup: int = 500  # linear warm-up steps, then cosine decay to min_lr_ratio * lr
    max_steps: int = 20_000
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    log_every: int = 50
    eval_every: int = 1000  # validate every this many steps and at the end of every epoch
    ckpt_every: int = 500
    val_size: int = 2000  # networks held out at the end of the last shard (when val is None)
    val: str | None = None  # separate validation shards
    val_decode: int = 512  # seq2seq quanti: decode at most this many validation networks
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    compile: bool | None = None  # torch.compile; default on for cuda
    block: int = 4096  # networks per shuffled block
    window: int = 8  # blocks per shuffle window
    val_each_epoch: bool = True  # also validate when an epoch ends
    mixture: list | None = None  # without data: GenConfig fields of each component streamed in turn
    pack: int = 1  # without data: generate pools of `pack` batches, cut into batches of similar length
    max_seconds: float | None = None  # stop this call after that long (wall clock), with a checkpoint
    ckpt_seconds: float | None = None  # also checkpoint when that long passed since the last one


def lr_at(step: int, tc: TrainConfig) -> float:
    if step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    frac = min(1.0, (step - tc.warmup) / max(1, tc.max_steps - tc.warmup))
    return tc.lr * (tc.min_lr_ratio + (1 - tc.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def _save(obj, path: Path):
    with atomic_write(path, "wb") as f:  # never a half-written checkpoint under the final name
        torch.save(obj, f)


def _check(tc: TrainConfig):
    """Refuse settings the loop cannot run with (ValueError, one line)."""
    for key in ("batch_size", "log_every", "eval_every", "ckpt_every", "block", "window"):
        if getattr(tc, key) < 1:
            raise ValueError(f"{key.replace('_', '-')} must be at least 1, got {getattr(tc, key)}")
    if tc.max_steps < 0 or tc.warmup < 0 or tc.val_size < 0:
        raise ValueError("max-steps, warmup and val-size must not be negative")
    if tc.pack < 1 or (tc.pack > 1 and tc.data is not None):
        raise ValueError(f"pack must be at least 1 and applies to generated networks only (no DATA), got {tc.pack}")
    for key in ("max_seconds", "ckpt_seconds"):
        if getattr(tc, key) is not None and not getattr(tc, key) > 0:
            raise ValueError(f"{key.replace('_', '-')} must be positive, got {getattr(tc, key)}")


def _load_checkpoint(path: Path, device) -> dict:
    """The checkpoint at `path`; ValueError naming it when it is not one."""
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
        missing = {"model", "optim", "state", "rng"} - set(ck)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds on a damaged file
        raise ValueError(f"{path}: not a readable checkpoint ({' '.join(str(e).split())[:200]}); "
                         "delete it to start over") from None
    if missing:
        raise ValueError(f"{path}: not a training checkpoint (no {', '.join(sorted(missing))})")
    return ck


def _keep_metrics(path: Path, step: int | None) -> list[dict]:
    """Rewrite metrics.jsonl through a temporary name keeping the records logged up to `step`
    (none when None: a fresh start); a line cut short by a kill is dropped.  Returns them."""
    keep = []
    if step is not None and path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] <= step:
                keep.append(rec)
    write_text(path, "".join(json.dumps(r) + "\n" for r in keep))
    return keep


def _dist():
    """(rank, world, local_rank) from torchrun's environment; process group initialised."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world == 1:
        return 0, 1, 0
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", 0))


def validate(model, val, tc: TrainConfig, device, weighted: bool) -> dict:
    """Accuracy and within-tolerance shares on the validation networks (metabnet.learn.evaluate's loop)."""
    c = model.config
    if ARCHS[c.arch].decode_limit(c.task) and len(val) > tc.val_decode:
        val = take(val, np.arange(tc.val_decode))
    true, cls, err, _ = score_batch(model, val, device, batch_size=2 * tc.batch_size, weighted=weighted)
    model.train()
    return summary(true, cls, err)


def plot(metrics_path: Path, png: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line]
    tr = [r for r in rows if r["split"] == "train"]
    va = [r for r in rows if r["split"] == "val"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot([r["examples"] for r in tr], [r["loss"] for r in tr], lw=0.8)
    a.set(xlabel="training examples", ylabel="training loss (mean per log interval)", yscale="log", title="loss")
    for key in ("accuracy", "within_0.1", "within_0.05", "within_0.01"):
        pts = [(r["examples"], r[key]) for r in va if r.get(key) is not None]
        if pts:
            b.plot(*zip(*pts), marker="o", ms=3, label=key)
    b.set(xlabel="training examples", ylabel="validation share", ylim=(0, 1), title="validation")
    b.grid(alpha=0.3)
    if va:
        b.legend(loc="lower right")
    fig.tight_layout()
    with atomic_write(png, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)


class Interrupted(KeyboardInterrupt):
    """Training stopped by SIGINT (Ctrl-C) or SIGTERM (SLURM or Kubernetes pre-emption) after
    saving a checkpoint; `signum` says which."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _CtrlC(list):
    """Truthy once SIGINT or SIGTERM arrived (main thread only), holding the signal; a second
    one raises at once."""

    def __init__(self):
        super().__init__()
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            self.previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}

    def _handle(self, signum, frame):
        if self:
            raise Interrupted(signum)
        self.append(signum)

    def restore(self):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def setup_device(tc: TrainConfig, local: int) -> str:
    """The device of this process (one GPU per process under torchrun)."""
    device = resolve_device(tc.device)
    if device == "cuda":
        device = f"cuda:{local}"
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
    return device


@dataclass
class Data:
    """Where the batches come from: shards (`index`) or networks generated as training goes."""
    index: ShardIndex | None  # None when generating
    configs: list  # GenConfig of the shards, or of each component of the mixture
    stream: Stream | GenStream
    train_networks: int | None  # None: unlimited
    val: object  # Batch of validation networks, or None
    weighted: bool  # seq2seq: rate tokens (unweighted: N1)


def check_readable(arch: str, configs: list, weighted: bool, seed: int, sample: int = 16) -> None:
    """ValueError naming the first mixture component whose networks the architecture cannot
    take in (seq2seq's tokens hold linear networks with integer rates only), on a sample of
    each: refused before training rather than minutes into it.  Architectures that read every
    network (no `unreadable` refusal) are not sampled."""
    why = ARCHS[arch].unreadable
    if why is None:
        return
    for c in configs:
        if not ARCHS[arch].readable(generate(c, sample, seed=seed), weighted).all():
            raise ValueError(f"--arch {arch} cannot read the networks of mixture component "
                             f"{c.family}/{c.size}/{c.kinetics}/{c.weights} ({why.because().text}): leave it out")


def setup_data(tc: TrainConfig, rank: int, world: int, mc: ModelConfig | None = None) -> Data:
    """The training stream and validation networks; `mc` gives the lengths that `tc.pack` sorts by."""
    if tc.data is not None:
        index = ShardIndex(tc.data)
        configs = [index.sources[0].config]
        stream = Stream(index, tc.batch_size, tc.seed, tc.block, tc.window,
                        holdout=0 if tc.val else tc.val_size, rank=rank, world=world)
        train_networks = sum(b - a for _, a, b in stream.blocks)
    else:
        index, configs = None, [GenConfig(**c) for c in tc.mixture or [{}]]
        weighted = any(c.weights != "unweighted" for c in configs)
        length = (lambda b: ARCHS[mc.arch].lengths(b, mc.task, weighted)) if mc is not None else None  # noqa: E731
        stream = GenStream(configs, tc.batch_size, tc.seed, rank, world, tc.pack, length)
        train_networks = None
    weighted = any(c.weights != "unweighted" for c in configs)
    if mc is not None and index is None:
        check_readable(mc.arch, configs, weighted, tc.seed)
    val = ShardIndex(tc.val).read_all() if tc.val else stream.validation(tc.val_size)
    if val is not None and len(val) > tc.val_size:
        val = take(val, np.arange(tc.val_size))
    return Data(index, configs, stream, train_networks, val, weighted)


def setup_model(mc: ModelConfig, tc: TrainConfig, device: str):
    """(model, AdamW optimizer): no weight decay on biases and norms."""
    torch.manual_seed(tc.seed)
    model = init_weights(build(mc), tc.seed).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr, betas=(0.9, 0.98),
                            fused=device.startswith("cuda"))
    return model, opt


# The settings that make a run what it is: resuming with any other value would write a
# checkpoint whose record of how it was trained is false, so `resume_from` refuses it.
# (max_steps may grow: a run can be continued for longer; out, device, compile, the time
# limits and the logging and checkpoint intervals change nothing learned.)
TRAINED_BY = ("data", "mixture", "val", "val_size", "batch_size", "lr", "weight_decay", "warmup", "min_lr_ratio",
              "grad_clip", "seed", "block", "window", "val_decode", "val_each_epoch", "pack")


def _same_setting(key: str, a, b) -> bool:
    if key in ("data", "val") and a is not None and b is not None:  # the same folder, however named
        return Path(a).resolve() == Path(b).resolve()
    return a == b


def _check_same_run(ck: dict, tc: TrainConfig, mc: ModelConfig, ckpt_path: Path):
    """ValueError naming every setting of this run that differs from the checkpoint's."""
    was_t, was_m = ck.get("train_config"), ck.get("model_config")
    diff = []
    if isinstance(was_t, dict):
        now = asdict(tc)
        diff += [f"{key.replace('_', '-')} {was_t.get(key)!r} (now {now[key]!r})" for key in TRAINED_BY
                 if key in was_t and not _same_setting(key, was_t[key], now[key])]
    if isinstance(was_m, dict):
        now = mc.to_dict()
        diff += [f"model {key} {was_m.get(key)!r} (now {now[key]!r})" for key in now
                 if key in was_m and was_m[key] != now[key]]
    if diff:
        raise ValueError(f"{ckpt_path}: was trained with other settings: {'; '.join(diff)}; "
                         "resume with the same settings, or choose another --out")


def resume_from(ckpt_path: Path, model, opt, state: dict, device, tc: TrainConfig | None = None,
                mc: ModelConfig | None = None):
    """Load the checkpoint into model, optimizer, the loop `state` and torch's RNG, after
    checking that it was trained with the settings `tc` and `mc` (`TRAINED_BY`)."""
    ck = _load_checkpoint(ckpt_path, device)
    if tc is not None and mc is not None:
        _check_same_run(ck, tc, mc, ckpt_path)
    try:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        state.update(ck["state"])
        torch.set_rng_state(ck["rng"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{ckpt_path}: does not fit this model and data "
                         f"({' '.join(str(e).split())[:200]})") from None


def wrap(model, tc: TrainConfig, device: str, world: int, local: int):
    """The module the loop calls: torch.compile'd (default on CUDA), under DDP with several processes."""
    run = torch.compile(model) if (tc.compile if tc.compile is not None else device.startswith("cuda")) else model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        run = DDP(run, device_ids=[local] if device.startswith("cuda") else None)
    return run


def train_step(run, model, opt, batch: dict, lr: float, grad_clip: float, device: str):
    """One optimizer step of `run` (the model, compiled or wrapped for DDP) on `batch`
    (tensors on the device); returns (loss, gradient norm), tensors not synchronised."""
    for g in opt.param_groups:
        g["lr"] = lr
    with torch.autocast("cuda", torch.bfloat16, enabled=device.startswith("cuda")):
        loss = run(batch)["loss"]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return loss.detach(), gnorm


class Run:
    """The run directory's outputs: metrics lines, validations, checkpoints and curves (rank 0
    writes them), and the loop state they record.  `on_checkpoint(model, state, last)` is
    called on rank 0 after every checkpoint but an interrupted run's, `last` saying whether
    the loop ends; its time is left out of the logged rates and of the time slices."""

    def __init__(self, tc: TrainConfig, mc: ModelConfig, data: Data, model, opt, state: dict,
                 logged: list[dict], rank: int, world: int, device: str, on_checkpoint=None):
        self.tc, self.mc, self.data, self.model, self.opt = tc, mc, data, model, opt
        self.state, self.rank, self.world, self.device = state, rank, world, device
        self.out = Path(tc.out)
        self.log = open(self.out / "metrics.jsonl", "a") if rank == 0 else None
        self.last_val = next(({k: v for k, v in r.items() if k not in ("split", "step", "epoch", "examples")}
                              for r in reversed(logged) if r.get("split") == "val"), {})
        self.replot = False
        self.loss_sum = torch.tensor(state.pop("loss_sum", 0.0), device=device)  # since the last log line
        self.t_last, self.ex_last = time.perf_counter(), state["examples"]
        self.on_checkpoint, self.t_ckpt = on_checkpoint, time.monotonic()
        self.flops_per_example = getattr(model, "flops_per_example", None)
        self.flops, self.waited = 0.0, [0.0]  # this process' model FLOPs and data waits since the last log line
        self.peak = peak_flops(device)

    def count(self, positions: int):
        """Add one step's model FLOPs (metabnet.learn.model.transformer_flops) for MFU."""
        if self.flops_per_example is not None:
            self.flops += self.flops_per_example(positions) * self.tc.batch_size

    def slice_due(self) -> bool:
        return self.tc.ckpt_seconds is not None and time.monotonic() - self.t_ckpt >= self.tc.ckpt_seconds

    def emit(self, rec: dict):
        if self.log:
            self.log.write(json.dumps(rec) + "\n")
            self.log.flush()

    def info(self):
        """The first metrics line of a fresh run: sizes and configs."""
        val = self.data.val
        self.emit({"split": "info", "step": 0, "params": count_params(self.model),
                   "train_networks": self.data.train_networks, "val_networks": 0 if val is None else len(val),
                   "model_config": self.mc.to_dict(), "train_config": asdict(self.tc)})

    def log_train(self, gnorm, bar):
        """The mean loss since the last log line, the rate and the schedule."""
        st, tc = self.state, self.tc
        # .item() waits for the device, so that the rate counts the steps' work, not their launch
        mean_loss, self.loss_sum = self.loss_sum.item() / tc.log_every, torch.zeros_like(self.loss_sum)
        now = time.perf_counter()
        dt = now - self.t_last
        st["elapsed"] += dt
        rate = (st["examples"] - self.ex_last) / dt
        self.t_last, self.ex_last = now, st["examples"]
        rec = {"split": "train", "step": st["step"], "epoch": st["epoch"], "examples": st["examples"],
               "loss": mean_loss, "lr": lr_at(st["step"] - 1, tc), "grad_norm": float(gnorm),
               "examples_per_s": round(rate, 1), "elapsed_s": round(st["elapsed"], 2),
               "data_wait_s": round(self.waited[0], 3)}  # the loop waiting for batches
        if self.flops:  # this process' model FLOP rate, and its share of the device's bf16 peak
            rec["model_tflops"] = float(f"{self.flops / dt / 1e12:.4g}")
            if self.peak:
                rec["mfu"] = float(f"{self.flops / dt / self.peak:.4g}")
        self.flops, self.waited[0] = 0.0, 0.0
        self.emit(rec)
        bar.set_postfix(loss=f"{mean_loss:.4f}", ex_s=f"{rate:,.0f}")

    def validate(self):
        st = self.state
        if st.get("validated_at") == st["step"]:  # an epoch's end at --eval-every: once
            return
        st["validated_at"] = st["step"]  # (in the checkpoint: also once across a resume)
        if self.rank == 0 and self.data.val is not None:
            self.last_val = validate(self.model, self.data.val, self.tc, self.device, self.data.weighted)
            self.emit({"split": "val", "step": st["step"], "epoch": st["epoch"], "examples": st["examples"],
                       **self.last_val})
            self.replot = True
        if self.world > 1:
            torch.distributed.barrier()

    def checkpoint(self, last: bool | None = None):
        """Write checkpoint.pt and model.pt; then, unless `last` is None (an interrupted run),
        the on_checkpoint hook."""
        if self.rank != 0:
            return
        self._write()
        if last is not None and self.on_checkpoint is not None:
            t0 = time.perf_counter()
            self.on_checkpoint(self.model, dict(self.state), last)
            self.model.train()
            self.t_last += time.perf_counter() - t0  # the next logged rate leaves the hook out
        self.t_ckpt = time.monotonic()

    def _write(self):
        if self.replot:
            plot(self.out / "metrics.jsonl", self.out / "curves.png")
            self.replot = False
        configs = self.data.configs
        meta = {"model_config": self.mc.to_dict(), "train_config": asdict(self.tc), "weighted": self.data.weighted,
                "threads": torch.get_num_threads(),  # torch's CPU threads in the process that wrote it
                "data_config": json.loads(configs[0].to_json()),
                "data_mixture": [json.loads(c.to_json()) for c in configs],
                "state": {**self.state, "loss_sum": float(self.loss_sum)}}
        _save({**meta, "model": self.model.state_dict(), "optim": self.opt.state_dict(),
               "rng": torch.get_rng_state()}, self.out / "checkpoint.pt")
        _save({**meta, "model": self.model.state_dict()}, self.out / "model.pt")

    def close(self):
        if self.data.index is not None:
            self.data.index.close()
        if self.log:
            self.log.close()


def start_or_resume(ckpt_path: Path, resume: bool, model, opt, device, tc: TrainConfig, mc: ModelConfig) -> dict:
    """The loop's position: a fresh start, or the checkpoint's (model and optimizer loaded in
    place).  A checkpoint without --resume, and --resume without one, are refused."""
    state = {"step": 0, "epoch": 0, "window": 0, "batch": 0, "examples": 0, "elapsed": 0.0}
    if ckpt_path.exists() and not resume:
        raise FileExistsError(f"{ckpt_path} exists: pass --resume to continue it, or choose another --out")
    if resume and not ckpt_path.exists():
        raise ValueError(f"--resume: no checkpoint at {ckpt_path} to continue (leave out --resume to start afresh)")
    if resume:
        resume_from(ckpt_path, model, opt, state, device, tc, mc)
    return state


def train(tc: TrainConfig, mc: ModelConfig, resume: bool = False, progress: bool = True,
          stop_after: int | None = None, on_checkpoint=None) -> dict:
    """Train; returns the last validation summary.  `stop_after` ends the process' loop after
    that many steps without a final checkpoint (tests use it to simulate a kill).
    `on_checkpoint(model, state, last)`: called after every checkpoint (`Run`), for
    evaluations of one's own in time slices (`tc.ckpt_seconds`).

    `tc.max_seconds` ends this call after the step that passes that much wall-clock time
    (the hook's included), with a checkpoint and no final validation: the run stays
    unfinished and `resume=True` continues it.  With several processes the time limits are
    refused (the processes would stop at different steps).

    Ctrl-C (SIGINT) or SIGTERM ends the step under way, saves a checkpoint and raises
    `Interrupted` (a KeyboardInterrupt); a second one stops at once, keeping the last
    checkpoint.  model.pt is written with every checkpoint; until the run ends its state has
    no "finished" (`metabnet info --model` says it is unfinished).  Settings the loop cannot
    run with, missing shards and a damaged checkpoint raise ValueError (one line)."""
    # ---- setup
    _check(tc)
    t_start = time.monotonic()
    rank, world, local = _dist()
    if world > 1 and (tc.max_seconds or tc.ckpt_seconds):
        raise ValueError("max-seconds and ckpt-seconds need a single process (ranks would stop at different steps)")
    device = setup_device(tc, local)
    out = Path(tc.out)
    ckpt_path = out / "checkpoint.pt"
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    data = setup_data(tc, rank, world, mc)
    model, opt = setup_model(mc, tc, device)

    # ---- resume
    state = start_or_resume(ckpt_path, resume, model, opt, device, tc, mc)
    finished = state.pop("finished", False) and state["step"] >= tc.max_steps  # final validation logged
    # drop records logged after the checkpoint (all of them on a fresh start)
    logged = _keep_metrics(out / "metrics.jsonl", state["step"] if resume else None) if rank == 0 else []
    run = wrap(model, tc, device, world, local)
    r = Run(tc, mc, data, model, opt, state, logged, rank, world, device, on_checkpoint)
    if rank == 0 and state["step"] == 0:
        r.info()

    # ---- the loop
    bar = progress_bar(total=tc.max_steps, initial=state["step"], unit="step", enabled=progress and rank == 0,
                       desc=f"train {mc.arch}/{mc.task}")
    model.train()
    steps_here = 0
    stopped = lambda: stop_after is not None and steps_here >= stop_after  # noqa: E731
    timed_out = False  # tc.max_seconds passed: checkpoint, leave the run unfinished
    interrupted = _CtrlC()
    arch = ARCHS[mc.arch]
    try:
        while state["step"] < tc.max_steps and not stopped() and not timed_out:
            batches = ((w, j, arch.arrays(b, mc.task, data.weighted))
                       for w, j, b in data.stream.batches(state["epoch"], state["window"], state["batch"]))
            for w, j, arrays in prefetch(batches, max(4, 2 * tc.pack), r.waited):
                loss, gnorm = train_step(run, model, opt, to_device(arrays, device), lr_at(state["step"], tc),
                                         tc.grad_clip, device)
                r.loss_sum += loss.float()
                r.count(arch.positions(arrays))
                state.update(step=state["step"] + 1, window=w, batch=j + 1,
                             examples=state["examples"] + tc.batch_size * world)
                steps_here += 1
                bar.update(1)
                if state["step"] % tc.log_every == 0:
                    r.log_train(gnorm, bar)
                timed_out = (state["step"] < tc.max_steps and tc.max_seconds is not None
                             and time.monotonic() - t_start >= tc.max_seconds)
                done = state["step"] >= tc.max_steps or stopped() or timed_out
                if state["step"] % tc.eval_every == 0 and not done:
                    r.validate()
                due = state["step"] % tc.ckpt_every == 0 or r.slice_due()
                if timed_out or (due and (not done or stopped())):  # at max_steps: the final one below
                    r.checkpoint(last=done)
                if interrupted:  # Ctrl-C or SIGTERM: stop between steps, where the state is whole
                    if state["step"] % tc.ckpt_every:
                        r.checkpoint()
                    raise Interrupted(interrupted[0])
                if done:
                    break
            else:  # the epoch ran out
                state.update(epoch=state["epoch"] + 1, window=0, batch=0)
                if tc.val_each_epoch:
                    r.validate()
                r.checkpoint(last=False)
        if not stopped() and not timed_out and not finished:
            r.validate()
            state["finished"] = True
            r.checkpoint(last=True)
    finally:
        interrupted.restore()
        bar.close()
        r.close()
    return r.last_val
