"""Sparse against dense exact solves, by size (metabnet.solve.sparse, metabnet.solve.dispatch).

Networks: random erdos-style networks of n inner nodes and ~3 n reactions (random inner
edges; an excretion from every node that has no way out otherwise, so every node reaches
excretion; three intakes), integer rates 1-99, linear or Michaelis-Menten (K ~ U[0.1, 10],
intake scaled to stay below capacity).  For each size: the median time of the dense kernels
(kernels.equilibrium.solve) and of metabnet.solve.sparse.solve over --repeats solves, after one
warm-up, and the relative residual.  The last line is metabnet.solve.dispatch.solve, what
`metabnet solve` and `metabnet score` call per network, on the 10,000-node network.

    python benchmarks/sparse_solve.py --sizes 100 200 400 800 1600 --big 10000
"""
import argparse
import json
import time

import numpy as np

from metabnet.solve import sparse
from metabnet.kernels import equilibrium as keq
from metabnet.kernels.reach import reachability
from metabnet.network import Network
from metabnet.solve import solve


def big_network(n: int, reactions: int, seed: int = 0, kinetics: str = "linear") -> Network:
    """n inner nodes, about `reactions` reactions, every node reaching excretion."""
    rng = np.random.default_rng(seed)
    u = rng.integers(1, n + 1, reactions - 3)
    v = rng.integers(1, n + 1, reactions - 3)
    u, v = u[u != v], v[u != v]
    src = np.concatenate([[0, 0, 0], u]).astype(np.int64)
    dst = np.concatenate([[1, 1 + n // 3, 1 + 2 * n // 3], v]).astype(np.int64)
    to_exc, _ = reachability(n, src, dst)
    stuck = np.flatnonzero(~to_exc[1:n + 1]) + 1
    while stuck.size:  # an excretion from one node of each closed set, until none is left
        src = np.concatenate([src, stuck[:1]])
        dst = np.concatenate([dst, [n + 1]])
        to_exc, _ = reachability(n, src, dst)
        stuck = np.flatnonzero(~to_exc[1:n + 1]) + 1
    rate = rng.integers(1, 100, src.size).astype(np.float64)
    km = None
    if kinetics == "michaelis-menten":
        km = np.where(src == 0, np.nan, rng.uniform(0.1, 10.0, src.size))
        rate[src == 0] *= 0.01
    return Network(n, src, dst, rate, km, kinetics, f"random-{n}-{src.size}").validate()


def _median_time(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 200, 400, 800, 1600])
    ap.add_argument("--kinetics", nargs="*", default=["linear", "michaelis-menten"])
    ap.add_argument("--big", type=int, default=10_000, help="nodes of the last, sparse-only network (3x reactions)")
    ap.add_argument("--mm-big", type=int, default=1_000, help="nodes of the Michaelis-Menten network timed by solve")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for kinetics in args.kinetics:
        for n in args.sizes:
            net = big_network(n, 3 * n, seed=n, kinetics=kinetics)
            km = net.km_or_nan()
            td, d = _median_time(lambda: keq.solve(net.n, net.src, net.dst, net.rate, km), args.repeats)
            ts, s = _median_time(lambda: sparse.solve(net.n, net.src, net.dst, net.rate, km), args.repeats)
            rel = float(np.max(np.abs(s[2] - d[2]) / np.maximum(np.abs(d[2]), 1e-300))) if d[1] and s[1] else None
            print(json.dumps({"kinetics": kinetics, "n": n, "m": net.m, "dense_s": round(td, 5),
                              "sparse_s": round(ts, 5), "sparse_method": s[5], "labels_equal": d[:2] == s[:2],
                              "max_rel_diff_x": rel, "sparse_residual": s[3]}))
    for kinetics, n in (("linear", args.big), ("michaelis-menten", args.mm_big)):
        if kinetics not in args.kinetics or not n:
            continue
        net = big_network(n, 3 * n, seed=1, kinetics=kinetics)
        t, r = _median_time(lambda: solve(net), args.repeats)
        print(json.dumps({"solve": kinetics, "n": n, "m": net.m, "median_s": round(t, 4), "method": r["method"],
                          "exists_unique": r["exists_unique"], "residual": r["residual"]}))


if __name__ == "__main__":
    main()
