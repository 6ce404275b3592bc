"""HDF5 shards of labelled networks.

Schema (format version 1).  Root attributes:
    magic           "metabnet-shard"
    format_version  1
    config          the GenConfig as JSON (family, size, weights, kinetics, balance, ...)
    seed, shard, start, count   network i of this file is network start + i of shard `shard`
                    of the run seeded `seed`; its random stream is (seed, shard, start + i)
    family, size, kinetics, method   copied from config for quick reading
    label_rules     what exists_unique / exists_bounded mean (DESIGN §1)
Datasets (N networks, E edges, V = sum of n over bounded networks), ragged arrays in CSR form:
    n (N,) int32                      inner nodes
    edge_ptr (N+1,) int64             edges of network i: [edge_ptr[i], edge_ptr[i+1])
    edge_src, edge_dst (E,) uint8     0 = intake, n+1 = excretion (uint16 when n > 254)
    edge_rate (E,) uint8 or float32   a_uv, phi_v or e_v (V for Michaelis-Menten); uint8 when
                                      all rates are integers <= 255 (unweighted, integer)
    edge_km (E,) float32              Michaelis constants, NaN on intake edges (MM only)
    node_ptr (N+1,) int64             node values of network i: [node_ptr[i], node_ptr[i+1]),
                                      n values when exists_bounded, none otherwise
    x (V,) float64                    equilibrium: the limit of the trajectory from x(0)=0
                                      (stored uncompressed: float64 mantissas do not compress)
    exists_unique, exists_bounded (N,) bool
    residual (N,) float64             max_v |dx_v/dt| / gross flux through v at x
    redeemed (N,) int16               edges added by redemption
    iterations (N,) int32             Newton iterations or ODE steps
    attempts (N,) int32               networks drawn to get this one (drop / ratio balance)
    flags (N,) uint8                  bit 0: solver did not certify the equilibrium
A shard is written to "<name>.tmp" and renamed when complete, so a file with the final
name is always whole.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from metabnet import __version__
from metabnet.batch import Batch
from metabnet.generate import GenConfig
from metabnet.kernels.batch import node_dtype, rate_dtype

MAGIC = "metabnet-shard"
FORMAT_VERSION = 1
LABEL_RULES = ("exists_unique: every inner node has a path to excretion (the paper's code; "
               "default target). exists_bounded: the trajectory from x(0)=0 converges "
               "(linear: every node reachable from intake reaches excretion).")
H5OPTS = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
PER_NETWORK = {"n": np.int32, "exists_unique": np.bool_, "exists_bounded": np.bool_,
               "residual": np.float64, "redeemed": np.int16, "iterations": np.int32,
               "attempts": np.int32, "flags": np.uint8}


class ShardError(ValueError):
    pass


def _append(ds, values):
    k = ds.shape[0]
    ds.resize((k + len(values),))
    ds[k:] = values


class ShardWriter:
    """Append batches, then `close()` to write the attributes and rename into place."""

    def __init__(self, path, config: GenConfig, seed: int, shard: int, start: int, h5opts=None):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.config = config
        self.mm = config.kinetics == "michaelis-menten"
        opts = dict(H5OPTS if h5opts is None else h5opts)
        self.f = h5py.File(self.tmp, "w")
        self.f.attrs.update(magic=MAGIC, format_version=FORMAT_VERSION, config=config.to_json(),
                            seed=seed, shard=shard, start=start, family=config.family,
                            size=config.size, kinetics=config.kinetics, method=config.method,
                            label_rules=LABEL_RULES, created_by=f"metabnet {__version__}")
        node = node_dtype(config.node_range[1])
        names = {**PER_NETWORK, "edge_src": node, "edge_dst": node,
                 "edge_rate": rate_dtype(config.vector())}
        if self.mm:
            names["edge_km"] = np.float32
        for name, dtype in names.items():
            self.f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                                  chunks=(1 << 16,), **opts)
        self.f.create_dataset("x", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(1 << 16,))
        for name in ("edge_ptr", "node_ptr"):
            self.f.create_dataset(name, data=np.zeros(1, np.int64), maxshape=(None,),
                                  chunks=(1 << 14,), **opts)
        self.count = 0

    def append(self, batch: Batch):
        f = self.f
        for name in f:
            if name in ("edge_ptr", "node_ptr"):
                _append(f[name], batch[name][1:] + f[name][-1])
            else:
                _append(f[name], batch[name])
        self.count += len(batch)

    def close(self):
        self.f.attrs["count"] = self.count
        self.f.close()
        os.replace(self.tmp, self.path)

    def abort(self):
        self.f.close()
        self.tmp.unlink(missing_ok=True)


def open_shard(path) -> h5py.File:
    """Open a shard for reading, checking magic and version; ShardError names the problem."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise ShardError(f"{path}: not a readable HDF5 file ({e})") from None
    if f.attrs.get("magic") != MAGIC:
        f.close()
        raise ShardError(f"{path}: not a metabnet shard (magic attribute missing)")
    if int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
        v = f.attrs.get("format_version")
        f.close()
        raise ShardError(f"{path}: shard format version {v}, this metabnet reads {FORMAT_VERSION}")
    return f


def is_complete(path, count: int | None = None) -> bool:
    """A final-named file that opens as a shard (of `count` networks when given)."""
    try:
        with open_shard(path) as f:
            return count is None or int(f.attrs.get("count", -1)) == count
    except ShardError:
        return False


def read_shard(path) -> tuple[Batch, GenConfig, dict]:
    """The whole shard as a Batch, its config and its attributes."""
    with open_shard(path) as f:
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
        batch = Batch({k: f[k][()] for k in f})
    config = GenConfig.from_json(attrs["config"])
    if "edge_km" not in batch:
        batch["edge_km"] = np.full(batch["edge_src"].shape, np.nan, np.float32)
    return batch, config, attrs


def shard_stats(batch: Batch) -> dict:
    """Counts, class balance and node/edge statistics of a batch or shard."""
    n = batch["n"].astype(np.int64)
    m = np.diff(batch["edge_ptr"])
    count = int(n.size)

    def dist(a):
        return {"min": int(a.min()), "mean": round(float(a.mean()), 3), "max": int(a.max())} if a.size else {}

    res = batch["residual"][batch["exists_bounded"]]
    return {"networks": count,
            "exists_unique": int(batch["exists_unique"].sum()),
            "exists_bounded": int(batch["exists_bounded"].sum()),
            "share_unique": round(float(batch["exists_unique"].mean()), 4) if count else None,
            "nodes": dist(n), "edges": dist(m),
            "redeemed_networks": int((batch["redeemed"] > 0).sum()),
            "max_residual": float(res.max()) if res.size else None,
            "solver_failures": int((batch["flags"] & 1).sum())}


def stats_json(stats: dict) -> str:
    return json.dumps(stats, indent=2)
