"""Training throughput of every model (examples/s, ms/step, and on GPU model FLOP utilisation),
and the data-preparation rate (shard batch -> padded arrays, incl. the Numba tokenizer).

    python benchmarks/train_throughput.py [--device cuda] [--compile] [--steps 20]

Each model is timed on the same batches of S-size erdos networks after `--warmup` steps, with
the device synchronised around the timer (the nanoGPT bench.py recipe).  MFU uses nanoGPT's
FLOP estimate (6 * params * tokens + attention) and the device's dense bf16 peak.
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from metabnet.learn.archs import ARCHS
from metabnet.batch import take
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.learn.device import peak_flops
from metabnet.learn.model import ModelConfig, build, count_params, init_weights
from metabnet.learn.predict import to_device
from metabnet.learn.train import train_step

LR, GRAD_CLIP = 1e-4, 1.0  # the step of metabnet train (train_step) at a fixed learning rate


def configs(args):
    paper = dict(d_model=256, n_heads=8)
    return {
        "flux quanti (width 64)": ModelConfig(arch="flux", task="quanti", d_model=64),
        "graph quali (6 layers, width 256)": ModelConfig(arch="graph", task="quali", n_enc=6, **paper),
        "graph quanti (6 layers, width 256)": ModelConfig(arch="graph", task="quanti", n_enc=6, **paper),
        "seq2seq quali (paper: 2+6 layers, width 256)": ModelConfig(arch="seq2seq", task="quali", n_enc=2, n_dec=6, **paper),
        "seq2seq quanti (paper: 2+6 layers, width 256)": ModelConfig(arch="seq2seq", task="quanti", n_enc=2, n_dec=6, **paper),
    }


def sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def bench_model(mc: ModelConfig, data, args) -> dict:
    device = args.device
    model = init_weights(build(mc)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, fused=device.startswith("cuda"))
    run = torch.compile(model) if args.compile else model
    B = args.batch_size
    arch = ARCHS[mc.arch]
    batches = [to_device(arch.arrays(take(data, np.arange(k, k + B)), mc.task), device)
               for k in range(0, B * (args.warmup + args.steps), B)]
    tokens = np.mean([arch.positions(b) for b in batches])

    def step(b):
        train_step(run, model, opt, b, LR, GRAD_CLIP, device)

    for b in batches[:args.warmup]:
        step(b)
    sync(device)
    t0 = time.perf_counter()
    for b in batches[args.warmup:]:
        step(b)
    sync(device)
    dt = (time.perf_counter() - t0) / args.steps
    flops = model.flops_per_example(tokens) * B / dt
    peak = peak_flops(device)
    return {"params": count_params(model), "batch": B, "mean_positions": round(float(tokens), 1),
            "ms_per_step": round(1e3 * dt, 2), "examples_per_s": round(B / dt, 1),
            "model_tflops": round(flops / 1e12, 3), "mfu": round(flops / peak, 4) if peak else None}


def bench_data(data, arch, task, B=256, reps=20) -> float:
    parts = [take(data, np.arange(k, k + B)) for k in range(0, B * reps, B)]
    ARCHS[arch].arrays(parts[0], task)  # compile the tokenizer
    t0 = time.perf_counter()
    for p in parts:
        ARCHS[arch].arrays(p, task)
    return round(B * reps / (time.perf_counter() - t0), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--compile", action="store_true", help="torch.compile each model (GPU runs)")
    ap.add_argument("--batch-size", type=int, default=None, help="default: 256 on GPU, 32 on CPU")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--only", default="", help="substring of the model names to run")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    args.batch_size = args.batch_size or (256 if args.device.startswith("cuda") else 32)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
    data = generate(GenConfig(), max(args.batch_size * (args.steps + args.warmup), 256 * 20), seed=0)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or platform.machine()
    res = {"device": where, "torch": torch.__version__, "threads": torch.get_num_threads(),
           "compile": args.compile, "data_prep_examples_per_s": {
               f"{a} {t}": bench_data(data, a, t) for a in ("graph", "seq2seq") for t in ("quali", "quanti")},
           "models": {}}
    print(f"device {where}, torch {torch.__version__}, compile={args.compile}")
    print(f"data preparation (examples/s): {res['data_prep_examples_per_s']}")
    print(f"{'model':<48}{'params':>10}{'positions':>11}{'ms/step':>10}{'examples/s':>12}{'TFLOP/s':>9}{'MFU':>8}")
    for name, mc in configs(args).items():
        if args.only not in name:
            continue
        r = bench_model(mc, data, args)
        res["models"][name] = r
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "-"
        print(f"{name:<48}{r['params']:>10,}{r['mean_positions']:>11}{r['ms_per_step']:>10}"
              f"{r['examples_per_s']:>12,}{r['model_tflops']:>9}{mfu:>8}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
