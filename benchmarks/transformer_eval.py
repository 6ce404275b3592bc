"""Accuracy of the rate-attention Transformer per test folder, beside the no-sink rule.

    python benchmarks/transformer_eval.py [--model RUN/model.pt] runs/test/lin-erdos-S ...

Without --model: the untrained model (init_weights, seed 0): the fixed algebra's answer,
since the learned outputs start at zero.  Prints per folder: networks, share with an
equilibrium, accuracy (exists_unique), within 0.1 / 0.05 / 0.01 relative L1 (networks with an
equilibrium), the no-sink rule's accuracy, and the algebra's mean doubling levels.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from sink_rule import no_sink  # noqa: E402

from metabnet.learn.loader import ShardIndex  # noqa: E402
from metabnet.metrics import rel_l1, summary  # noqa: E402
from metabnet.learn.model import ModelConfig, build, init_weights  # noqa: E402
from metabnet.learn.predict import load_model, predict  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--model", default=None)
    ap.add_argument("--arch", default="transformer", help="untrained arch when no --model")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--limit", type=int, default=None, help="networks per folder")
    ap.add_argument("--dtype", default=None, help="algebra dtype override (float32 | float64)")
    ap.add_argument("--mm-rounds", type=int, default=None, help="algebra mm_rounds override")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.model:
        model, _ = load_model(args.model)
    else:
        model = init_weights(build(ModelConfig(arch=args.arch, task="quanti", d_model=32, n_heads=4, n_enc=2))).eval()
    if args.arch == "transformer" or args.model:
        a = getattr(model, "algebra_config", None)
        if a is not None and args.dtype:
            a.dtype = args.dtype
        if a is not None and args.mm_rounds:
            a.mm_rounds = args.mm_rounds
    print(f"model: {args.model or 'untrained ' + args.arch}  {getattr(model, 'algebra_config', '')}")
    print(f"{'folder':<28} {'nets':>5} {'exist%':>6} {'acc%':>6} {'w0.1%':>6} {'w0.05%':>6} {'w0.01%':>6} "
          f"{'nosink%':>7} {'net/s':>7}")
    tot = []
    for path in args.folders:
        index = ShardIndex(path)
        b = index.read_all()
        index.close()
        if args.limit:
            from metabnet.batch import take
            b = take(b, np.arange(min(args.limit, len(b))))
        t0 = time.perf_counter()
        pred = predict(model, b, "cpu", batch_size=args.batch_size)
        dt = time.perf_counter() - t0
        true = b["exists_unique"].astype(np.int8)
        err = np.full(len(b), np.nan)
        for i in np.flatnonzero(true):
            err[i] = rel_l1(b.x(i), pred["x"][i])
        s = summary(true, pred["cls"], err)
        rule = np.mean(no_sink(b) == b["exists_unique"])
        tot.append(s)
        w = lambda k: 100 * s[k] if s.get(k) is not None else float("nan")  # noqa: E731
        print(f"{os.path.basename(path.rstrip('/')):<28} {s['count']:>5} {100 * s['share_exists']:>6.1f} "
              f"{100 * s['accuracy']:>6.2f} {w('within_0.1'):>6.1f} {w('within_0.05'):>6.1f} "
              f"{w('within_0.01'):>6.1f} {100 * rule:>7.2f} {len(b) / dt:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
