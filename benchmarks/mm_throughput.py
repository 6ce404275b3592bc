"""Michaelis-Menten labelling throughput, and its agreement with the ODE (issue 12).

S-size `erdos` networks (the gen defaults) at the default intake rates and at
--intake-scale 0.05, labelled by the default method (continuation + certificates) and by
`--method ode`: networks/s of each (after a warm-up that compiles the kernels), label
disagreements, the largest relative L1 difference of the equilibria, and how many candidate
networks each method had to draw again for want of a certified label.  Networks/s are
for `generate` in one process on NUMBA_NUM_THREADS threads (HDF5 writing excluded: time
`metabnet gen --kinetics michaelis-menten --count 10000 -o DIR` for end to end).

    NUMBA_NUM_THREADS=1 python benchmarks/mm_throughput.py --count 10000
"""
import argparse
import json
import os
import time
from dataclasses import replace

import numba
import numpy as np

from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate


def rate(cfg, count, seed):
    t0 = time.perf_counter()
    b = generate(cfg, count, seed=seed)
    return b, count / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000, help="networks per intake scale")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--family", default="erdos")
    args = ap.parse_args()
    for scale in (1.0, 0.05):
        cfg = GenConfig(family=args.family, kinetics="michaelis-menten", intake_scale=scale)
        generate(cfg, 64, seed=args.seed + 1)  # compile / load the kernels
        generate(replace(cfg, method="ode"), 64, seed=args.seed + 1)
        d, direct_rate = rate(cfg, args.count, args.seed)
        o, ode_rate = rate(replace(cfg, method="ode"), args.count, args.seed)
        assert np.array_equal(d["edge_ptr"], o["edge_ptr"]), "the two runs drew different networks"
        same = (d["exists_bounded"] == o["exists_bounded"]) & (d["exists_unique"] == o["exists_unique"])
        both = np.flatnonzero(d["exists_bounded"] & o["exists_bounded"])
        err = max((np.abs(o.x(i) - d.x(i)).sum() / np.abs(d.x(i)).sum() for i in both), default=0.0)
        print(json.dumps({"family": args.family, "intake_scale": scale, "networks": args.count,
                          "threads": numba.get_num_threads(), "load_avg_1min": round(os.getloadavg()[0], 2),
                          "with_equilibrium": int(d["exists_bounded"].sum()),
                          "direct_networks_per_s": round(direct_rate), "ode_networks_per_s": round(ode_rate),
                          "label_disagreements": int((~same).sum()), "max_rel_l1": float(err),
                          # candidates drawn again because no label could be certified (past the
                          # certified range: kernels.equilibrium.BEYOND), by each method
                          "redrawn": [int((d["attempts"] - 1).sum()), int((o["attempts"] - 1).sum())],
                          "solver_flags": int((d["flags"] | o["flags"]).astype(bool).sum())}), flush=True)


if __name__ == "__main__":
    main()
