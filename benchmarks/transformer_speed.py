"""Speed of the rate-attention Transformer beside the shipped flux model and the exact solver,
on the same networks, in one process (one thread: torch.set_num_threads(1), Numba 1 thread).

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/transformer_speed.py \
        [--model RUN/model.pt] [--flux FLUX.pt] [--count 2000] [--family erdos] [--size S] [--kinetics linear]

Prints networks/s batched (predict, batches of 256 sorted by size) and the median ms of one
network at a time, with the accuracy (exists_unique) and within-0.1 share reached on them.
"""
import argparse
import time

import numpy as np
import torch

from metabnet.batch import take
from metabnet.gen import GenConfig, generate
from metabnet.metrics import rel_l1, summary
from metabnet.learn.model import ModelConfig, build, init_weights
from metabnet.learn.predict import load_model, predict
from metabnet.solve import solve


def score(b, pred):
    true = b["exists_unique"].astype(np.int8)
    err = np.full(len(b), np.nan)
    for i in np.flatnonzero(true):
        err[i] = rel_l1(b.x(i), pred["x"][i])
    s = summary(true, pred["cls"], err)
    return s["accuracy"], s.get("within_0.1")


def bench_model(name, model, b, single, batched_count):
    part = take(b, np.arange(min(batched_count, len(b))))
    predict(model, take(b, np.arange(4)), "cpu")  # warm-up
    t = time.perf_counter()
    pred = predict(model, part, "cpu", batch_size=256)
    rate = len(part) / (time.perf_counter() - t)
    times = []
    for i in range(single):
        one = take(b, [i])
        t = time.perf_counter()
        predict(model, one, "cpu", batch_size=1)
        times.append(time.perf_counter() - t)
    acc, w = score(part, pred)
    print(f"{name:<44} {len(part):>6} {rate:>10,.0f} {1e3 * np.median(times):>9.1f} {100 * acc:>7.2f} "
          f"{'' if w is None else f'{100 * w:.1f}':>7}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--family", default="erdos")
    ap.add_argument("--size", default="S")
    ap.add_argument("--kinetics", default="linear")
    ap.add_argument("--single", type=int, default=50)
    ap.add_argument("--flux", default=None, help="a flux model checkpoint to time beside")
    ap.add_argument("--flux-count", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(1)
    mm = args.kinetics == "michaelis-menten"
    cfg = GenConfig(family=args.family, size=args.size, kinetics=args.kinetics,
                    **({"intake_scale": 0.05, "balance": "ratio"} if mm else {}))
    b = generate(cfg, args.count, seed=21)
    print(f"{args.count} {args.family} {args.size} {args.kinetics} networks, "
          f"{100 * b['exists_unique'].mean():.1f}% with an equilibrium")
    print(f"{'what':<44} {'nets':>6} {'nets/s':>10} {'ms/one':>9} {'acc%':>7} {'w0.1%':>7}")
    nets = [b.network(i) for i in range(len(b))]
    solve(nets[0])
    t = time.perf_counter()
    times = []
    for net in nets:
        t1 = time.perf_counter()
        solve(net)
        times.append(time.perf_counter() - t1)
    print(f"{'exact solver (metabnet.solve, one by one)':<44} {len(nets):>6} "
          f"{len(nets) / (time.perf_counter() - t):>10,.0f} {1e3 * np.median(times):>9.2f}", flush=True)
    untrained = init_weights(build(ModelConfig(arch="transformer", task="quanti", d_model=32, n_heads=4, n_enc=2))).eval()
    bench_model("transformer, untrained (algebra only)", untrained, b, args.single, args.count)
    if args.model:
        model, _ = load_model(args.model)
        bench_model(f"transformer, trained ({args.model})", model, b, args.single, args.count)
    if args.flux and not mm:  # the flux model answers linear kinetics only
        flux, _ = load_model(args.flux)
        bench_model(f"flux model ({args.flux})", flux, b, min(args.single, 10), args.flux_count)


if __name__ == "__main__":
    main()
