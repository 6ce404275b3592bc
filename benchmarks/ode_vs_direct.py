"""Cross-check of the two label methods on a 10,000-network test set.

Every family x {linear, Michaelis-Menten}, S size, the same networks labelled by the direct
solve (LU / Newton) and by ODE integration from x(0)=0 (the redeem balance does not look at
the solver, so both runs draw identical networks).  Reports, per set, label agreement and
the largest relative L1 difference of the equilibria, and the networks/s of each method
(`generate` in one process on NUMBA_NUM_THREADS threads, after a warm-up that compiles the
kernels).  --kinetics restricts the sets (the issue-12 target: linear S networks by
`--method ode` at >= 2,000/s); --intake-scale sets the Michaelis-Menten intake factor.

    python benchmarks/ode_vs_direct.py --count 10000
    NUMBA_NUM_THREADS=1 python benchmarks/ode_vs_direct.py --count 10000 --kinetics linear
"""
import argparse
import json
import os
import time
from dataclasses import replace

import numpy as np

from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10_000, help="networks in all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinetics", choices=["both", "linear", "michaelis-menten"], default="both")
    ap.add_argument("--intake-scale", type=float, default=0.05, help="Michaelis-Menten intake factor")
    args = ap.parse_args()
    kinetics_sets = ("linear", "michaelis-menten") if args.kinetics == "both" else (args.kinetics,)
    sets = [(f, k) for f in FAMILIES for k in kinetics_sets]
    per = args.count // len(sets)
    rows, worst, total_bounded, disagreements = [], 0.0, 0, 0
    seconds = {"direct": 0.0, "ode": 0.0}
    for family, kinetics in sets:
        cfg = GenConfig(family=family, kinetics=kinetics,
                        intake_scale=1.0 if kinetics == "linear" else args.intake_scale)
        generate(cfg, 32, seed=args.seed + 1)  # compile / load the kernels
        generate(replace(cfg, method="ode"), 32, seed=args.seed + 1)
        t0 = time.perf_counter()
        d = generate(cfg, per, seed=args.seed)
        t1 = time.perf_counter()
        o = generate(replace(cfg, method="ode"), per, seed=args.seed)
        t2 = time.perf_counter()
        assert np.array_equal(d["edge_ptr"], o["edge_ptr"]), "the two runs drew different networks"
        same = (d["exists_bounded"] == o["exists_bounded"]) & (d["exists_unique"] == o["exists_unique"])
        both = np.flatnonzero(d["exists_bounded"] & o["exists_bounded"])
        err = max((np.abs(o.x(i) - d.x(i)).sum() / np.abs(d.x(i)).sum() for i in both), default=0.0)
        worst = max(worst, err)
        seconds["direct"] += t1 - t0
        seconds["ode"] += t2 - t1
        total_bounded += int(d["exists_bounded"].sum())
        disagreements += int((~same).sum())
        rows.append({"family": family, "kinetics": kinetics, "networks": per,
                     "bounded": int(d["exists_bounded"].sum()), "label_disagreements": int((~same).sum()),
                     "max_rel_l1": float(err), "solver_flags": int((d["flags"] | o["flags"]).sum()),
                     "direct_s": round(t1 - t0, 2), "ode_s": round(t2 - t1, 2)})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"networks": per * len(sets), "with_equilibrium": total_bounded,
                      "direct_networks_per_s": round(per * len(sets) / seconds["direct"]),
                      "ode_networks_per_s": round(per * len(sets) / seconds["ode"]),
                      "load_avg_1min": round(os.getloadavg()[0], 2),
                      "label_disagreements": disagreements, "max_rel_l1": worst,
                      "pass_1e-6": bool(disagreements == 0 and worst < 1e-6)}))


if __name__ == "__main__":
    main()
