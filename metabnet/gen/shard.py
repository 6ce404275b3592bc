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

Compression: every dataset but x is byte-shuffled and compressed with Zstandard level 1 (the
registered HDF5 filter 32015, from the `hdf5plugin` package: plain h5py reads a shard once
`import hdf5plugin` has run, as this module does).  It compresses as well as gzip level 1 did
on these arrays (485.8 against 494.5 bytes per S network) at a fifth of the CPU or less
(benchmarks/gen_throughput.py --filters).  Older gzip shards read as before.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import hdf5plugin  # registers the Zstandard filter with HDF5 (module doc)
import numpy as np

from metabnet import __version__
from metabnet.batch import Batch
from metabnet.gen.config import GenConfig
from metabnet.kernels.generator import node_dtype, rate_dtype

MAGIC = "metabnet-shard"
FORMAT_VERSION = 1
LABEL_RULES = ("exists_unique: every inner node has a path to excretion (the paper's code; "
               "default target). exists_bounded: the trajectory from x(0)=0 converges "
               "(linear: every node reachable from intake reaches excretion).")
H5OPTS = {**hdf5plugin.Zstd(clevel=1), "shuffle": True}  # x is stored uncompressed
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
    """Open a shard for reading and check its structure (`check_structure`); ShardError,
    one line naming the shard and the problem, on anything wrong."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise ShardError(f"{path}: not a readable HDF5 file ({_one_line(e)})") from None
    try:
        check_structure(f, path)
    except BaseException:
        f.close()
        raise
    return f


def _one_line(e) -> str:
    return " ".join(str(e).split())


def _fail(path, problem):
    raise ShardError(f"{path}: {problem}")


def check_structure(f: h5py.File, path) -> GenConfig:
    """The attributes, datasets and pointers of an open shard, before any value is trusted:
    magic and version, a config that parses, every dataset present, one-dimensional, stored in
    this file (external storage, virtual datasets and links are refused: they would read
    other files) and of the right length, and CSR pointers that start at 0 and never
    decrease.  Returns the config."""
    if f.attrs.get("magic") != MAGIC:
        _fail(path, "not a metabnet shard (magic attribute missing)")
    version = f.attrs.get("format_version")
    if not (isinstance(version, (int, np.integer)) and int(version) == FORMAT_VERSION):
        _fail(path, f"shard format version {version}, this metabnet reads {FORMAT_VERSION}")
    try:
        config = GenConfig.from_json(f.attrs["config"])
    except (KeyError, TypeError, ValueError) as e:
        _fail(path, f"bad config attribute ({_one_line(e) or type(e).__name__})")
    for key in ("count", "seed", "shard", "start"):
        v = f.attrs.get(key)
        if not (isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= 0):
            _fail(path, f"attribute {key!r} must be a non-negative integer, got {v!r}")
    want = [*PER_NETWORK, "edge_ptr", "node_ptr", "edge_src", "edge_dst", "edge_rate", "x"]
    if config.kinetics == "michaelis-menten":
        want.append("edge_km")
    for name in f:
        link = f.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            _fail(path, f"{name!r} is a {type(link).__name__}, not data stored in the shard")
        ds = f[name]
        if not isinstance(ds, h5py.Dataset):
            _fail(path, f"{name!r} is not a dataset")
        if ds.is_virtual or ds.external:
            _fail(path, f"dataset {name!r} uses {'virtual' if ds.is_virtual else 'external'} "
                        "storage (data outside the shard); refused")
        if ds.ndim != 1 or ds.dtype.kind not in "biuf":
            _fail(path, f"dataset {name!r} must be a 1-d numeric array, got shape {ds.shape} {ds.dtype}")
    missing = [k for k in want if k not in f]
    if missing:
        _fail(path, f"missing dataset(s) {', '.join(missing)}")
    count = int(f.attrs["count"])
    for k in PER_NETWORK:
        if f[k].shape[0] != count:
            _fail(path, f"dataset {k!r} holds {f[k].shape[0]} values for {count} networks")
    try:
        ptrs = {k: f[k][()].astype(np.int64) for k in ("edge_ptr", "node_ptr")}
    except (OSError, ValueError) as e:
        _fail(path, f"cannot read the pointers ({_one_line(e)})")
    edges = ("edge_src", "edge_dst", "edge_rate") + (("edge_km",) if "edge_km" in want else ())
    for k, sized in (("edge_ptr", edges), ("node_ptr", ("x",))):
        p = ptrs[k]
        if p.shape[0] != count + 1 or p[0] != 0 or np.any(np.diff(p) < 0):
            _fail(path, f"dataset {k!r} is not {count + 1} non-decreasing offsets from 0")
        for d in sized:
            if f[d].shape[0] != p[-1]:
                _fail(path, f"dataset {d!r} holds {f[d].shape[0]} values, {k!r} says {p[-1]}")
    return config


def check_batch(batch: Batch, path, kinetics: str, first: int = 0) -> Batch:
    """The values of networks read from a shard (`first` is the index of the batch's first
    network there): sizes, node ids, rates, Michaelis constants, labels and equilibria that a
    generator could have written; ShardError naming the shard and the first bad network."""
    n = batch["n"].astype(np.int64)
    ep, npt = batch["edge_ptr"].astype(np.int64), batch["node_ptr"].astype(np.int64)
    src, dst = batch["edge_src"].astype(np.int64), batch["edge_dst"].astype(np.int64)
    rate = batch["edge_rate"].astype(np.float64)
    owner = np.repeat(np.arange(len(n)), np.diff(ep))  # network of each edge
    n_e = n[owner]

    def bad(mask, what, of=None):
        """Fail on the first True of `mask`, over networks (or over entries owned by `of`)."""
        if np.any(mask):
            j = int(np.flatnonzero(mask)[0])
            _fail(path, f"network {first + int(j if of is None else of[j])}: {what}")

    bad(n < 1, "has no inner node")
    bad(n > 65_000, "has more inner nodes than a shard can hold")
    bad((src < 0) | (src > n_e) | (dst < 1) | (dst > n_e + 1) | ((src == 0) & (dst == n_e + 1)),
        "node id out of range", owner)
    bad(~(np.isfinite(rate) & (rate > 0)), "rate not positive and finite", owner)
    if kinetics == "michaelis-menten":
        km = batch["edge_km"].astype(np.float64)
        bad((src > 0) & ~(np.isfinite(km) & (km > 0)), "Michaelis constant not positive and finite", owner)
    bounded = batch["exists_bounded"].astype(bool)
    bad(batch["exists_unique"].astype(bool) & ~bounded, "exists_unique without exists_bounded")
    bad(np.diff(npt) != np.where(bounded, n, 0), "equilibrium of the wrong length")
    x = batch["x"]
    bad(~(np.isfinite(x) & (x >= 0)), "equilibrium not finite and non-negative",
        np.repeat(np.arange(len(n)), np.diff(npt)))
    return batch


def is_complete(path, count: int | None = None) -> bool:
    """A final-named file that opens as a shard (of `count` networks when given)."""
    try:
        with open_shard(path) as f:
            return count is None or int(f.attrs.get("count", -1)) == count
    except ShardError:
        return False


def read_shard(path) -> tuple[Batch, GenConfig, dict]:
    """The whole shard as a Batch, its config and its attributes, all checked."""
    with open_shard(path) as f:
        config = GenConfig.from_json(f.attrs["config"])
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
        try:
            batch = Batch({k: f[k][()] for k in f})
        except (OSError, ValueError) as e:
            _fail(path, f"cannot read the data ({_one_line(e)})")
    if "edge_km" not in batch:
        batch["edge_km"] = np.full(batch["edge_src"].shape, np.nan, np.float32)
    return check_batch(batch, path, config.kinetics), config, attrs


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
