"""How much the flux model's architecture does before any training: an untrained model (MLP
outputs at their zero initialisation, heads random) reads concentrations from its diffusion
channel alone.  Prints, per family, the median relative L1 of x and the share within 0.1 on
networks with an equilibrium, the true zeros (nodes the intake never reaches) given.

    python benchmarks/flux_untrained.py [--count 200] [--size S]
"""
import argparse

import numpy as np
import torch

from metabnet.learn.archs import ARCHS
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.metrics import rel_l1
from metabnet.learn.model import ModelConfig, build, init_weights
from metabnet.learn.predict import to_device


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--size", default="S")
    ap.add_argument("--families", default="erdos,erdos_gnm,small_world,scale_free,trap,longpath,bowtie,layered,modular")
    args = ap.parse_args()
    model = init_weights(build(ModelConfig(task="quanti", d_model=32))).eval()
    for family in args.families.split(","):
        b = generate(GenConfig(family=family, size=args.size), args.count, seed=3)
        with torch.no_grad():
            log_x = model(to_device(ARCHS["flux"].arrays(b, "quanti"), "cpu"))["log_x"].numpy()
        errs = []
        for i in np.flatnonzero(b["exists_unique"]):
            x = b.x(i)
            pred = 10.0 ** log_x[i, 1:b["n"][i] + 1]
            pred[x == 0] = 0
            errs.append(rel_l1(x, pred))
        print(f"{family:<12} {args.size}  networks with an equilibrium {len(errs):>4}  "
              f"median relative L1 {np.median(errs):.4f}  within 0.1 {np.mean(np.array(errs) < 0.1):.1%}")


if __name__ == "__main__":
    main()
