"""The generation driver's Python side: `generate` labels networks start..start+count-1 of a
shard with the Numba driver (kernels.generator) and, for large linear runs (from
metabnet.solve.limits.SPARSE_LABEL_MIN nodes), the sparse solver."""
from __future__ import annotations

import numpy as np

from metabnet.batch import Batch
from metabnet.gen.config import GenConfig
from metabnet.gen.shard import storage_dtypes
from metabnet.network import Kinetics
from metabnet.kernels import generator as kg
from metabnet.solve import limits, sparse


def generate(config: GenConfig, count: int, seed: int = 0, shard: int = 0, start: int = 0) -> Batch:
    """Networks start..start+count-1 of `shard`, labelled; the same bytes for any thread count."""
    if count < 0 or seed < 0 or shard < 0 or start < 0:
        raise ValueError("count, seed, shard and start must be non-negative")
    vector = config.vector()
    hi = config.node_range[1]
    deferred = config.kinetics == Kinetics.LINEAR and config.method == "direct" and hi >= limits.SPARSE_LABEL_MIN
    if hi > limits.DENSE_MAX and not deferred:
        raise ValueError(f"networks of up to {hi:,} nodes: {config.kinetics} labels by --method "
                         f"{config.method} need the dense solver, which takes {limits.DENSE_MAX:,} nodes; "
                         "linear kinetics with --method direct go further")
    if deferred:
        vector[kg.C_METHOD] = kg.M_DEFER
    types = storage_dtypes(config)  # made in the shard's types, so a batch is written as it is
    out = Batch(kg.generate(seed, shard, start, count, vector, types["edge_src"], types["edge_rate"]))
    if deferred:
        _solve_sparse(out)
    bad = np.flatnonzero(out["flags"] & kg.FLAG_ATTEMPTS_EXHAUSTED)
    if bad.size:
        raise RuntimeError(f"network {start + bad[0]}: no network of the target class after "
                           f"{kg.MAX_ATTEMPTS} attempts; relax --balance/--ratio")
    return out


def _solve_sparse(out: Batch) -> None:
    """x, residual and iterations of the bounded networks of a kernels.generator.M_DEFER batch,
    in place, by metabnet.solve.sparse; the labels (topological, linear) stay as the kernels set
    them, and a residual past 1e-8 sets FLAG_SOLVER_FAILED as in the kernels."""
    for i in np.flatnonzero(out["exists_bounded"]):
        net = out.network(int(i))
        _, bounded, x, res, it, _ = sparse.solve(net.n, net.src, net.dst, net.rate)
        assert bounded, "the topological label said bounded"
        out["x"][out["node_ptr"][i]:out["node_ptr"][i + 1]] = x
        out["residual"][i], out["iterations"][i] = res, it
        if not res <= 1e-8:
            out["flags"][i] |= kg.FLAG_SOLVER_FAILED
