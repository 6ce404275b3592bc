"""The paper's Transformer in the paper's setting, in one GPU run of at most 9 minutes (issue 23).

    bash benchmarks/gpu_paper.sh OUT [--tiny] [--device cpu]   # every stage, each under a hard timeout
    python benchmarks/gpu_paper.py {prepare,quali,quanti} OUT [--budget S] [options]   # one stage
    python benchmarks/gpu_paper.py shipped OUT   # the shipped model on the same test sets (any device)

The model is the paper's encoder-decoder as `metabnet train --arch seq2seq` builds it (2
encoder and 6 decoder layers, width 256, 8 heads), trained by metabnet's own loop
(metabnet.learn.train: bf16 autocast and torch.compile on a GPU) with Adam at 1e-4 (AdamW
without weight decay) and batch 64, on networks generated as it trains in the paper's
setting: erdos, S (32-64 inner nodes), unweighted, redemption 0.4, the paper's token
encoding; pools of 16 batches are cut into batches of similar length (`--pack`).

Stages (bash benchmarks/gpu_paper.sh runs them in turn):
  prepare  compiles the Numba kernels, measures how fast the CPU cores make training batches
           (generator + tokenizer, as the training stream makes them) and writes the test
           sets' class shares and the no-sink rule's accuracy (no torch);
  quali,   train one task for --budget seconds in time slices (--slices); after each slice:
  quanti   a checkpoint, OUT/TASK.pt (bf16 weights, metabnet.learn.predict.save_compact),
           the slice's rate and MFU, the evaluation of the checkpoint on the test sets (within a
           time budget, the paper's distribution first) beside the no-sink rule, and
           OUT/eval.md and OUT/curves.png rewritten (benchmarks/gpu_paper_report.py).
Test sets (S, unweighted, linear, seeds 3001 on; training draws seed 0): the paper's
distribution (erdos), its other families (erdos_gnm, small_world, scale_free), the hard
families trap and longpath, and the shapes of real metabolism (bowtie, layered, modular).
The paper's 51 biological networks are not in this repository; none is evaluated.

OUT receives at most 6 files: metrics.jsonl, eval.md, curves.png, quali.pt, quanti.pt and
log.txt (written by the bash script).  The run directories (full checkpoints) live in
--work; a rerun with the same --work continues the runs (`metabnet train --resume`).
`--tiny` (with `--device cpu`) is the rehearsal: a tiny model on networks of 20-24 nodes for
a few steps, slices by steps; every file is written as on the GPU (tests/test_gpu_paper.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

T0 = time.monotonic()  # the stage's budget counts from here

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_paper_report as report  # noqa: E402
from sink_rule import no_sink  # noqa: E402

PAPER = dict(family="erdos", size="S", weights="unweighted", balance="redeem", p_redeem=0.4)
TINY_NETS = dict(size="custom", n_min=8, n_max=12)  # --tiny (longpath: 20-24, its least)
TESTSETS = [  # (family, group), evaluated in this order within each checkpoint's time budget
    ("erdos", "paper"), ("trap", "hard"), ("longpath", "hard"), ("bowtie", "metabolism-shaped"),
    ("layered", "metabolism-shaped"), ("modular", "metabolism-shaped"), ("erdos_gnm", "paper families"),
    ("small_world", "paper families"), ("scale_free", "paper families")]
TEST_SEED = 3001
PAPER_EXAMPLES = 5_000_000  # max_steps = this / batch: the paper's largest budget (the run stops on time)
# Settings on the GPU and in the CPU rehearsal (--tiny).  max_len 1024 holds every S network of
# the paper's setting (at most 454 edges: 911 input tokens; answers of at most 771) and keeps
# the bf16 checkpoint under 16 MB; test networks longer than that are left out and counted.
MODES = {
    "gpu": dict(d_model=256, n_heads=8, n_enc=2, n_dec=6, max_len=1024, batch_size=64, lr=1e-4, warmup=200,
                pack=16, log_every=50, eval_batch=256, count={"quali": 1000, "quanti": 128}, paper_count=2,
                rate_s=4.0, final_reserve={"quali": 25.0, "quanti": 70.0}, eval_share=0.3, final_eval=None,
                slices=4, steps=None),
    "tiny": dict(d_model=32, n_heads=4, n_enc=1, n_dec=1, max_len=320, batch_size=8, lr=1e-3, warmup=2,
                 pack=4, log_every=1, eval_batch=64, count={"quali": 24, "quanti": 4}, paper_count=2,
                 rate_s=0.3, final_reserve={"quali": 5.0, "quanti": 5.0}, eval_share=0.0, final_eval=2.0,
                 slices=2, steps=2),
}


def settings(args) -> dict:
    s = dict(MODES["tiny" if args.tiny else "gpu"])
    for key in ("batch_size", "lr", "pack", "slices"):
        if getattr(args, key) is not None:
            s[key] = getattr(args, key)
    return s


def net_config(args, **kw) -> dict:
    tiny = {**TINY_NETS, **(dict(n_min=20, n_max=24) if kw.get("family") == "longpath" else {})}
    return {**PAPER, **(tiny if args.tiny else {}), **kw}


def append(out: Path, *records):
    with open(out / "metrics.jsonl", "a") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def testsets(args, task: str, s: dict):
    """[(family, group, Batch, too_long)]: each set's networks that fit the model (max_len)."""
    from metabnet.gen.config import GenConfig
    from metabnet.gen.driver import generate
    from metabnet.batch import take
    from metabnet.learn.archs import ARCHS

    seq = ARCHS["seq2seq"]
    sets = []
    for k, (family, group) in enumerate(TESTSETS):
        count = s["count"][task] * (s["paper_count"] if family == "erdos" else 1)
        b = generate(GenConfig(**net_config(args, family=family)), count, seed=TEST_SEED + k)
        fits = seq.fits(b, SimpleNamespace(max_len=s["max_len"], task="quanti"), False)  # quanti: the longer answers
        sets.append((family, group, take(b, np.flatnonzero(fits)), int((~fits).sum())))
    return sets


# ---- prepare: kernels, the CPU's batch rate, the test sets (no torch) ---------------------
def prepare(args, out: Path):
    import numba

    from metabnet.gen.config import GenConfig
    from metabnet.learn.archs import ARCHS
    from metabnet.learn.loader import GenStream
    from metabnet.kernels.tokenize import decode_outputs

    s = settings(args)
    append(out, {"kind": "info", "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 "commit": _git("rev-parse", "--short", "HEAD") + ("-dirty" if _git("status", "--porcelain") else ""),
                 "host": platform.node(), "cpus": os.cpu_count(), "gpu": _gpu(), "tiny": args.tiny,
                 "model": {k: s[k] for k in ("d_model", "n_heads", "n_enc", "n_dec", "max_len")},
                 "lr": s["lr"], "warmup": s["warmup"], "batch_size": s["batch_size"], "pack": s["pack"],
                 "data": ", ".join(f"{k} {v}" for k, v in net_config(args).items()), "test_seed": TEST_SEED})
    seq = ARCHS["seq2seq"]
    cfg = GenConfig(**net_config(args))
    for task in ("quali", "quanti"):  # the stream of training batches, as metabnet.learn.train makes it
        stream = GenStream([cfg], s["batch_size"], seed=99, pack=s["pack"],
                           length=lambda b, task=task: seq.lengths(b, task, False))
        done, t0 = 0, None
        for _, j, b in stream.batches():
            arrays = seq.arrays(b, task, False)
            if t0 is None:  # the first pool compiles the kernels (when not cached)
                decode_outputs(arrays["tgt"])
                t0, done = time.perf_counter(), 0
                continue
            done += len(b)
            if time.perf_counter() - t0 > s["rate_s"] and j % s["pack"] == s["pack"] - 1:
                break
        rate = done / (time.perf_counter() - t0)
        append(out, {"kind": "data_rate", "task": task, "examples_per_s": round(rate, 1),
                     "numba_threads": numba.get_num_threads()})
        print(f"training batches from the CPU, {task}: {rate:,.0f} examples/s")
    for family, group, b, too_long in testsets(args, "quali", s):
        rule = no_sink(b) == b["exists_unique"]
        rec = {"kind": "testset", "set": family, "group": group, "networks": len(b), "too_long": too_long,
               "share_exists": round(float(b["exists_unique"].mean()), 4), "no_sink": round(float(rule.mean()), 4)}
        append(out, rec)
        print(f"test set {family}: {len(b):,} networks ({too_long} too long), {100 * rec['share_exists']:.1f}% "
              f"with equilibrium, no-sink rule {100 * rec['no_sink']:.2f}%")


def _git(*args) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _gpu() -> str | None:
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return (r.stdout.strip() or None) if r.returncode == 0 else None


# ---- quali, quanti: training in time slices ----------------------------------------------
class Slices:
    """metabnet.learn.train's on_checkpoint hook: after each slice, the compact checkpoint, the
    slice's figures, the evaluation and the report, each written as soon as it is known."""

    def __init__(self, task, s, out: Path, run_dir: Path, sets, device, deadline, slice_s, start: dict):
        self.task, self.s, self.out, self.run_dir = task, s, out, run_dir
        self.sets, self.device, self.deadline, self.slice_s = sets, device, deadline, slice_s
        self.start = start  # the loop's state when this stage began (a resumed run's checkpoint)
        self.slice, self.copied, self.train_s, self.recent = 0, 0, 0.0, []
        self.t_slice = time.monotonic()

    def __call__(self, model, state, last):
        from metabnet.learn.predict import save_compact

        self.slice += 1
        self.train_s += time.monotonic() - self.t_slice
        size = save_compact(self.run_dir / "model.pt", self.out / f"{self.task}.pt")
        append(self.out, *self.train_lines(), self.figures(state, size))
        t = time.monotonic()
        budget = min(self.deadline - 8 - t, self.s["final_eval"] or np.inf) if last \
            else self.s["eval_share"] * self.slice_s
        self.evaluate(model, state, t + budget)
        report.write(self.out)
        self.t_slice = time.monotonic()

    def train_lines(self):
        rows = [json.loads(line) for line in (self.run_dir / "metrics.jsonl").read_text().splitlines() if line]
        new = [r for r in rows if r.get("split") == "train"][self.copied:]  # a resumed run's history too
        self.copied += len(new)
        self.recent = [r for r in new if r["step"] > self.start["step"]]
        return [{"kind": "train", "task": self.task, **r} for r in new]

    def figures(self, state, size) -> dict:
        """The slice's record: examples seen, rates, MFU, how long the loop waited for data."""
        tr = self.recent
        dts = [r["elapsed_s"] - p["elapsed_s"] for p, r in zip(tr, tr[1:])]
        med = lambda key: float(np.median([r[key] for r in tr])) if tr and all(key in r for r in tr) else None  # noqa: E731
        return {"kind": "slice", "task": self.task, "slice": self.slice, "step": state["step"],
                "examples": state["examples"], "train_s": round(self.train_s, 1),
                "wall_s": round(time.monotonic() - T0, 1), "examples_per_s": med("examples_per_s"),
                "examples_per_s_stage": round((state["examples"] - self.start["examples"]) / max(self.train_s, 1e-9), 1),
                "model_tflops": med("model_tflops"), "mfu": med("mfu"),
                "data_wait_share": round(sum(r["data_wait_s"] for r in tr[1:]) / sum(dts), 4) if sum(dts) > 0 else None,
                "loss": tr[-1]["loss"] if tr else None, "checkpoint_bytes": size}

    def evaluate(self, model, state, deadline):
        evaluate_sets(model, self.sets, self.device, self.s["eval_batch"], deadline, self.out,
                      {"task": self.task, "slice": self.slice, "step": state["step"], "examples": state["examples"]})


def evaluate_sets(model, sets, device, batch_size, deadline, out: Path, tag: dict):
    """Each test set in turn (the first always) while the time lasts: a record per set (with
    `tag`), then one naming the sets left out."""
    from metabnet.learn.evaluate import score_batch
    from metabnet.metrics import summary

    took, skipped = 0.0, []
    for i, (family, group, b, too_long) in enumerate(sets):
        if i and time.monotonic() + took > deadline:
            skipped.append(family)
            continue
        t = time.monotonic()
        true, cls, err, _ = score_batch(model, b, device, batch_size, weighted=False)
        took = time.monotonic() - t
        append(out, {"kind": "eval", **tag, "set": family, "group": group, "too_long": too_long,
                     "no_sink": round(float(np.mean(no_sink(b) == b["exists_unique"])), 4),
                     "seconds": round(took, 2), **summary(true, cls, err)})
    append(out, {"kind": "eval_skipped", "task": tag["task"], "slice": tag["slice"], "sets": skipped})


def shipped(args, out: Path):
    """The model shipped in the package (metabnet info --model) on the same test sets, for
    comparison; the test sets do not depend on the machine, so any device gives its figures."""
    from metabnet.learn.device import resolve_device
    from metabnet.learn.predict import load_model
    from metabnet.learn.shipped import DEFAULT

    device = resolve_device(args.device)
    model, ck = load_model(DEFAULT, device)
    state = ck.get("state", {})
    evaluate_sets(model, testsets(args, "quali", settings(args)), device, 256, np.inf, out,
                  {"task": "shipped", "slice": 1, "step": state.get("step"), "examples": state.get("examples", 0)})
    report.write(out)


def train_task(task: str, args, out: Path):
    import torch

    from metabnet.learn.device import gpu_name, peak_flops, resolve_device
    from metabnet.learn.model import ModelConfig, build, count_params
    from metabnet.learn.train import Interrupted, TrainConfig, train

    s = settings(args)
    device = resolve_device(args.device)
    deadline = T0 + args.budget - 5  # leave before the hard timeout of the bash script
    sets = testsets(args, task, s)
    mc = ModelConfig(arch="seq2seq", task=task, **{k: s[k] for k in ("d_model", "n_heads", "n_enc", "n_dec", "max_len")})
    run_dir = Path(args.work) / task
    resumed = (run_dir / "checkpoint.pt").exists()
    start = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)["state"] if resumed \
        else {"step": 0, "examples": 0}
    steps = s["steps"]  # --tiny: slices by steps; on the GPU by time
    train_s = max(10.0, deadline - s["final_reserve"][task] - time.monotonic())
    slices = s["slices"]
    slice_s = train_s / (slices * (1 + s["eval_share"]))  # each slice is followed by its evaluation
    tc = TrainConfig(data=None, mixture=[net_config(args)], out=str(run_dir), batch_size=s["batch_size"], lr=s["lr"],
                     weight_decay=0.0, warmup=s["warmup"], min_lr_ratio=1.0,
                     max_steps=steps * slices if steps else PAPER_EXAMPLES // s["batch_size"],
                     log_every=s["log_every"], eval_every=10**9, ckpt_every=steps or 10**9,
                     val_size=8 if args.tiny else 64, val_decode=8, device=args.device, compile=args.compile,
                     pack=s["pack"], max_seconds=train_s, ckpt_seconds=None if steps else slice_s)
    peak = peak_flops(device)
    append(out, {"kind": "setup", "task": task, "torch": torch.__version__, "device": device, "gpu": gpu_name(),
                 "peak_tflops": peak / 1e12 if peak else None, "params": count_params(build(mc)),
                 "bf16": device.startswith("cuda"), "compile": args.compile if args.compile is not None
                 else device.startswith("cuda"), "resumed_at": start["examples"], "train_s": round(train_s, 1),
                 "slice_s": None if steps else round(slice_s, 1)})
    print(f"{task}: {len(sets)} test sets; training for at most {train_s:.0f} s"
          + (f" in slices of {slice_s:.0f} s" if not steps else f" in {slices} slices of {steps} steps"))
    hook = Slices(task, s, out, run_dir, sets, device, deadline, slice_s, start)
    try:
        train(tc, mc, resume=resumed, progress=False, on_checkpoint=hook)
    except Interrupted as e:  # the hard timeout's SIGTERM: the checkpoint is saved, the files are whole
        append(out, {"kind": "stopped", "task": task, "why": f"stopped by {e} (hard timeout) after slice {hook.slice}"})
    if hook.slice == 0 or not (out / "eval.md").exists():
        report.write(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["prepare", "quali", "quanti", "shipped"])
    ap.add_argument("out", type=Path, help="the folder whose files come back (at most 8)")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "metabnet-gpu-paper",
                    help="run directories (full checkpoints); a rerun with the same folder continues")
    ap.add_argument("--budget", type=float, default=240.0, help="seconds this stage may take in all")
    ap.add_argument("--slices", type=int, help="checkpoints and evaluations per task (default 4; --tiny: 2)")
    ap.add_argument("--tiny", action="store_true", help="the CPU rehearsal: tiny model and networks")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--compile", default=None, action=argparse.BooleanOptionalAction,
                    help="torch.compile (default: on for CUDA)")
    ap.add_argument("--batch-size", type=int, help="default: the paper's 64 (--tiny: 8)")
    ap.add_argument("--lr", type=float, help="default: the paper's 1e-4 (--tiny: 1e-3)")
    ap.add_argument("--pack", type=int, help="batches per length-sorted pool (default 16; --tiny: 4)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.stage == "prepare":
        prepare(args, args.out)
    elif args.stage == "shipped":
        shipped(args, args.out)
    else:
        train_task(args.stage, args, args.out)


if __name__ == "__main__":
    main()
