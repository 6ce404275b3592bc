"""HDF5 shards of labelled networks: the one owner of the format - its storage types
(`storage_dtypes`), its one writer (`ShardWriter`) and its one reader (`open_shard`, a
`ShardReader` that reads networks by slices).

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
A shard is written to NAME.tmp (shard-00000.h5.tmp), created exclusively, and renamed when
complete (metabnet.fileio), so a file with the final name is always whole.

Reading trusts nothing: the structure and every declared size are checked against the file
before anything is read (`check_structure`: a shard of a few hundred KB that declares
billions of values is refused, not allocated), networks are read a slice at a time, and the
values of every slice are checked (`check_batch`).

Compression: every dataset but x is byte-shuffled and compressed with Zstandard level 1 (the
registered HDF5 filter 32015, from the `hdf5plugin` package: plain h5py reads a shard once
`import hdf5plugin` has run, as this module does).  It compresses as well as gzip level 1 did
on these arrays (485.8 against 494.5 bytes per S network) at a fifth of the CPU or less
(benchmarks/gen_throughput.py --filters).  Older gzip shards read as before.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import hdf5plugin  # registers the Zstandard filter with HDF5 (module doc)
import numpy as np

from metabnet import __version__
from metabnet.batch import Batch
from metabnet.fileio import AtomicFile
from metabnet.gen.config import GenConfig

MAGIC = "metabnet-shard"
FORMAT_VERSION = 1
LABEL_RULES = ("exists_unique: every inner node has a path to excretion (the paper's code; "
               "default target). exists_bounded: the trajectory from x(0)=0 converges "
               "(linear: every node reachable from intake reaches excretion).")
H5OPTS = {**hdf5plugin.Zstd(clevel=1), "shuffle": True}  # x is stored uncompressed
# per network: what every Batch holds (metabnet.batch), then the generator's account of it
NETWORK = {"n": np.int32, "exists_unique": np.bool_, "exists_bounded": np.bool_}
DIAGNOSTICS = {"residual": np.float64, "redeemed": np.int16, "iterations": np.int32,
               "attempts": np.int32, "flags": np.uint8}
PER_NETWORK = {**NETWORK, **DIAGNOSTICS}
EDGES = ("edge_src", "edge_dst", "edge_rate", "edge_km")  # at edge_ptr; edge_km with MM kinetics only
POINTERS = ("edge_ptr", "node_ptr")
SLICE = 1 << 16  # pointers read at a time by the structure check
SLICE_NETWORKS, SLICE_EDGES = 4096, 1 << 22  # at most this many networks and edges a slice (`slices`)
# A dataset may declare at most this many times the file's size in bytes (plus MIN_DECLARED):
# in real shards each dataset is smaller than the whole file (0.6 of it at most, S networks of
# both kinetics), so this leaves room for any compression; a shard that declares billions of
# values in a few hundred KB is refused before anything is allocated.
MAX_EXPANSION = 64
MIN_DECLARED = 1 << 20


class ShardError(ValueError):
    pass


def storage_dtypes(config: GenConfig) -> dict:
    """The stored type of every dataset of a shard made with `config` (module doc), in the
    order the writer creates them: node ids in the smallest unsigned type that holds
    0..n_max+1; rates as uint8 when every rate is an integer up to 255 (exact and 4x smaller),
    else float32."""
    node = np.uint8 if config.node_range[1] <= 254 else np.uint16
    exact = (config.weights == "unweighted" or (config.weights == "integer" and config.w_max <= 255)) \
        and config.intake_scale == 1.0
    types = {**PER_NETWORK, "edge_src": node, "edge_dst": node, "edge_rate": np.uint8 if exact else np.float32}
    if config.kinetics == "michaelis-menten":
        types["edge_km"] = np.float32
    return {**types, "x": np.float64, "edge_ptr": np.int64, "node_ptr": np.int64}


# ---- writing -------------------------------------------------------------------------
def _append(ds, values):
    k = ds.shape[0]
    ds.resize((k + len(values),))
    ds[k:] = values


class ShardWriter:
    """Append batches, then `close()` to write the attributes and rename into place."""

    def __init__(self, path, config: GenConfig, seed: int, shard: int, start: int, h5opts=None):
        self.path = Path(path)
        self.atomic = AtomicFile(self.path)  # written as NAME.tmp, renamed by close()
        self.tmp = self.atomic.tmp
        self.config = config
        opts = dict(H5OPTS if h5opts is None else h5opts)
        self.f = h5py.File(self.tmp, "w-")  # "w-": created exclusively, never through a link
        self.f.attrs.update(magic=MAGIC, format_version=FORMAT_VERSION, config=config.to_json(),
                            seed=seed, shard=shard, start=start, family=config.family,
                            size=config.size, kinetics=config.kinetics, method=config.method,
                            label_rules=LABEL_RULES, created_by=f"metabnet {__version__}")
        for name, dtype in storage_dtypes(config).items():
            if name in POINTERS:
                self.f.create_dataset(name, data=np.zeros(1, dtype), maxshape=(None,),
                                      chunks=(1 << 14,), **opts)
            else:
                self.f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(1 << 16,),
                                      **({} if name == "x" else opts))
        self.count = 0

    def append(self, batch: Batch):
        f = self.f
        for name in f:
            if name in POINTERS:
                _append(f[name], batch[name][1:] + f[name][-1])
            else:
                _append(f[name], batch[name])
        self.count += len(batch)

    def close(self):
        self.f.attrs["count"] = self.count
        self.f.close()
        self.atomic.commit()

    def abort(self):
        self.f.close()
        self.atomic.discard()


# ---- reading -------------------------------------------------------------------------
def open_shard(path) -> "ShardReader":
    """The one way to read a shard: a ShardReader (a context manager) of the shard at `path`,
    its structure and declared sizes checked; ShardError, one line naming the shard and the
    problem, on anything wrong."""
    return ShardReader(path)


def read_shard(path) -> tuple[Batch, GenConfig, dict]:
    """The whole shard as a Batch, its config and its attributes, all checked."""
    with open_shard(path) as r:
        return r.read(), r.config, r.attrs


class ShardReader:
    """An open shard (`open_shard`): `config`, `count`, `attrs`, `datasets()`; networks read
    by slices (`read`, `slices`), their values checked; the per-network arrays alone for
    statistics (`per_network`)."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.file = h5py.File(self.path, "r")
        except (OSError, ValueError) as e:
            raise ShardError(f"{path}: not a readable HDF5 file ({_one_line(e)})") from None
        try:
            self.config = check_structure(self.file, self.path)
        except BaseException:
            self.file.close()
            raise
        self.count = int(self.file.attrs["count"])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.file.close()

    @property
    def attrs(self) -> dict:
        """The root attributes as Python values (the config as its JSON text)."""
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in self.file.attrs.items()}

    def datasets(self) -> dict[str, str]:
        """Each dataset's stored type and shape, as text."""
        return {k: f"{ds.dtype} {ds.shape}" for k, ds in self.file.items()}

    def _range(self, a: int, b: int | None) -> tuple[int, int]:
        b = self.count if b is None else b
        if not 0 <= a <= b <= self.count:
            raise ValueError(f"networks {a}..{b} of a shard of {self.count}")
        return a, b

    def read(self, a: int = 0, b: int | None = None, diagnostics: bool = True) -> Batch:
        """Networks a..b-1 (all by default) as a Batch: CSR pointers rebased to 0, edge_km NaN
        where the shard stores none (linear kinetics), every value checked (`check_batch`);
        only these networks' part of each dataset is read.
        Without `diagnostics` only the per-network columns every Batch has (NETWORK)."""
        a, b = self._range(a, b)
        f = self.file
        try:
            ep, npt = f["edge_ptr"][a:b + 1].astype(np.int64), f["node_ptr"][a:b + 1].astype(np.int64)
            out = Batch({k: f[k][a:b] for k in (PER_NETWORK if diagnostics else NETWORK)})
            for k in EDGES:  # edge_km: NaN where the shard stores none (linear kinetics)
                out[k] = f[k][ep[0]:ep[-1]] if k in f else np.full(ep[-1] - ep[0], np.nan, np.float32)
            out["x"] = f["x"][npt[0]:npt[-1]]
        except (OSError, ValueError) as e:
            _fail(self.path, f"cannot read the data ({_one_line(e)})")
        out["edge_ptr"], out["node_ptr"] = ep - ep[0], npt - npt[0]
        return check_batch(out, self.path, self.config.kinetics, a)

    def slices(self, limit: int | None = None):
        """Yield (first network, Batch) for consecutive slices of the first `limit` networks
        (all by default): at most SLICE_NETWORKS networks and SLICE_EDGES edges a slice (one
        network at least)."""
        end = self.count if limit is None else min(limit, self.count)
        a = 0
        while a < end:
            b = min(end, a + SLICE_NETWORKS)
            p = self.file["edge_ptr"][a:b + 1]
            b = a + max(1, int(np.searchsorted(p, p[0] + SLICE_EDGES, side="right")) - 1)
            yield a, self.read(a, min(b, end))
            a = min(b, end)

    def networks(self, limit: int | None = None):
        """Yield (Network named STEM:i as `metabnet export` names it, its stored labels
        {exists_unique, exists_bounded, x (a list, or None), residual}) for the first `limit`
        networks (all by default), read by slices."""
        stem = self.path.stem
        for first, batch in self.slices(limit):
            for j in range(len(batch)):
                x = batch.x(j)
                yield (batch.network(j, f"{stem}:{first + j}"),
                       {"exists_unique": bool(batch["exists_unique"][j]),
                        "exists_bounded": bool(batch["exists_bounded"][j]),
                        "x": None if x is None else x.tolist(), "residual": float(batch["residual"][j])})

    def per_network(self) -> dict:
        """The per-network arrays (PER_NETWORK) and each network's edge count ("edges"),
        without the edges and values (what statistics need); not value-checked."""
        f = self.file
        try:
            out = {k: f[k][()] for k in PER_NETWORK}
            out["edges"] = np.diff(f["edge_ptr"][()].astype(np.int64))
        except (OSError, ValueError) as e:
            _fail(self.path, f"cannot read the data ({_one_line(e)})")
        return out


def _one_line(e) -> str:
    return " ".join(str(e).split())


def _fail(path, problem):
    raise ShardError(f"{path}: {problem}")


def check_structure(f: h5py.File, path) -> GenConfig:
    """The attributes, datasets and pointers of an open shard, before any value is trusted:
    magic and version, a config that parses, every dataset known, present, one-dimensional,
    stored in this file (external storage, virtual datasets and links are refused: they would
    read other files), of a declared size that the file can hold (MAX_EXPANSION) and of the
    right length, and CSR pointers that start at 0 and never decrease (read by slices).
    Returns the config."""
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
    want = [*PER_NETWORK, *POINTERS, *EDGES[:3], "x"] + (["edge_km"] if config.kinetics == "michaelis-menten" else [])
    most = MAX_EXPANSION * f.id.get_filesize() + MIN_DECLARED
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
        if name not in want:
            _fail(path, f"unknown dataset {name!r} (not part of the shard format)")
        if ds.shape[0] * ds.dtype.itemsize > most:
            _fail(path, f"dataset {name!r} declares {ds.shape[0]:,} values, more than a file of "
                        f"{f.id.get_filesize():,} bytes can hold; refused")
    missing = [k for k in want if k not in f]
    if missing:
        _fail(path, f"missing dataset(s) {', '.join(missing)}")
    count = int(f.attrs["count"])
    for k in PER_NETWORK:
        if f[k].shape[0] != count:
            _fail(path, f"dataset {k!r} holds {f[k].shape[0]} values for {count} networks")
    edges = tuple(k for k in EDGES if k in want)
    for k, sized in (("edge_ptr", edges), ("node_ptr", ("x",))):
        end = _check_pointers(f[k], path, k, count)
        for d in sized:
            if f[d].shape[0] != end:
                _fail(path, f"dataset {d!r} holds {f[d].shape[0]} values, {k!r} says {end}")
    return config


def _check_pointers(ds, path, name: str, count: int) -> int:
    """The last of the `count` + 1 offsets in `ds`, checked to start at 0 and never decrease,
    read SLICE at a time."""
    if ds.shape[0] != count + 1:
        _fail(path, f"dataset {name!r} is not {count + 1} non-decreasing offsets from 0")
    last = 0
    for a in range(0, count + 1, SLICE):
        try:
            p = ds[a:a + SLICE].astype(np.int64)
        except (OSError, ValueError) as e:
            _fail(path, f"cannot read the pointers ({_one_line(e)})")
        if (a == 0 and p[0] != 0) or p[0] < last or np.any(np.diff(p) < 0):
            _fail(path, f"dataset {name!r} is not {count + 1} non-decreasing offsets from 0")
        last = int(p[-1])
    return last


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


def shard_stats(batch: dict) -> dict:
    """Counts, class balance and node/edge statistics of the per-network arrays of shards
    (`ShardReader.per_network`)."""
    n = batch["n"].astype(np.int64)
    m = batch["edges"]
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
