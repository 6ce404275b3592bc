"""Streaming training data from a directory of shards, and model-ready padded batches.

Order: each epoch shuffles blocks of `block` consecutive networks across all shards; `window`
blocks at a time are read, shuffled together and cut into batches.  Only one window is in
memory.  The order is a pure function of (seed, epoch), so a run resumes exactly at
(epoch, window, batch); under DDP rank r takes batches r, r + world, ... of every window.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metabnet.generate import Batch, GenConfig
from metabnet.model import LOG_X_FLOOR
from metabnet.shard import ShardError, check_batch, open_shard

CSR_EDGE = ("edge_src", "edge_dst", "edge_rate", "edge_km")
PER_NET = ("n", "exists_unique", "exists_bounded")


def size_bucket(n) -> np.ndarray:
    """Size class of each network by inner nodes: S <= 64 < M <= 128 < L <= 256 < XL."""
    return np.array(["<S", "S", "M", "L", "XL"])[np.searchsorted([31, 64, 128, 256], np.asarray(n))]


@dataclass
class Source:
    path: Path
    count: int
    config: GenConfig


class ShardIndex:
    """The shards of one or more paths (files or directories of *.h5), in sorted order."""

    def __init__(self, paths):
        files = []
        for p in map(Path, [paths] if isinstance(paths, (str, Path)) else paths):
            files += sorted(p.glob("*.h5")) if p.is_dir() else [p]
        if not files:
            raise ShardError(f"{', '.join(map(str, paths if not isinstance(paths, (str, Path)) else [paths]))}: no *.h5 shards")
        self.sources = []
        for f in files:
            with open_shard(f) as h:
                self.sources.append(Source(f, int(h.attrs["count"]), GenConfig.from_json(h.attrs["config"])))
        self._open = {}

    def file(self, i):
        if i not in self._open:
            self._open[i] = open_shard(self.sources[i].path)
        return self._open[i]

    def read(self, i: int, a: int, b: int) -> Batch:
        """Networks a..b-1 of shard i (CSR, pointers rebased to 0) with family/kinetics columns."""
        f = self.file(i)
        ep, npt = f["edge_ptr"][a:b + 1], f["node_ptr"][a:b + 1]
        out = Batch({k: f[k][a:b] for k in PER_NET})
        for k in CSR_EDGE[:3]:
            out[k] = f[k][ep[0]:ep[-1]]
        out["edge_km"] = f["edge_km"][ep[0]:ep[-1]] if "edge_km" in f else np.full(ep[-1] - ep[0], np.nan, np.float32)
        out["x"] = f["x"][npt[0]:npt[-1]]
        out["edge_ptr"], out["node_ptr"] = ep - ep[0], npt - npt[0]
        cfg = self.sources[i].config
        out["family"] = np.full(b - a, cfg.family, dtype=object)
        out["kinetics"] = np.full(b - a, cfg.kinetics, dtype=object)
        return check_batch(out, self.sources[i].path, cfg.kinetics, a)

    def read_all(self) -> Batch:
        return concat([self.read(i, 0, s.count) for i, s in enumerate(self.sources)])

    def close(self):
        for f in self._open.values():
            f.close()
        self._open = {}


def concat(batches: list[Batch]) -> Batch:
    out = Batch({k: np.concatenate([b[k] for b in batches]) for k in batches[0] if not k.endswith("_ptr")})
    for k in ("edge_ptr", "node_ptr"):
        sizes = np.concatenate([np.diff(b[k]) for b in batches])
        out[k] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return out


def _ranges(ptr, idx):
    """Concatenated positions [ptr[i], ptr[i+1]) for i in idx, and each one's row."""
    lo, ln = ptr[idx], ptr[idx + 1] - ptr[idx]
    row = np.repeat(np.arange(len(idx)), ln)
    pos = np.arange(ln.sum()) - np.repeat(np.cumsum(ln) - ln, ln)
    return lo[row] + pos, row, pos


def take(batch: Batch, idx) -> Batch:
    """The networks `idx` of a batch, in that order."""
    idx = np.asarray(idx)
    e, _, _ = _ranges(batch["edge_ptr"], idx)
    v, _, _ = _ranges(batch["node_ptr"], idx)
    out = Batch({k: batch[k][idx] for k in batch if not k.endswith("_ptr") and k not in CSR_EDGE + ("x",)})
    for k in CSR_EDGE:
        out[k] = batch[k][e]
    out["x"] = batch["x"][v]
    for k in ("edge_ptr", "node_ptr"):
        out[k] = np.concatenate([[0], np.cumsum(np.diff(batch[k])[idx])]).astype(np.int64)
    return out


def _round_up(k, m):
    return max(m, -(-k // m) * m)


def graph_arrays(batch: Batch) -> dict:
    """Padded arrays for the graph model: nodes padded to T = n_max + 2 (multiple of 8), edges
    to E (multiple of 32); targets exists_unique and floored log10 x of unique networks."""
    B = len(batch)
    n = batch["n"].astype(np.int64)
    m = np.diff(batch["edge_ptr"])
    T, E = _round_up(int(n.max()) + 2, 8), _round_up(int(m.max()), 32)
    e, row, pos = _ranges(batch["edge_ptr"], np.arange(B))
    src, dst = np.zeros((B, E), np.int64), np.zeros((B, E), np.int64)
    rate, km = np.ones((B, E), np.float32), np.full((B, E), np.nan, np.float32)
    emask = np.zeros((B, E), bool)
    src[row, pos], dst[row, pos] = batch["edge_src"][e], batch["edge_dst"][e]
    rate[row, pos], km[row, pos], emask[row, pos] = batch["edge_rate"][e], batch["edge_km"][e], True
    exists = batch["exists_unique"].astype(bool)
    log_x, xmask = np.zeros((B, T), np.float32), np.zeros((B, T), bool)
    have = np.flatnonzero(exists & (np.diff(batch["node_ptr"]) == n))
    v, vrow, vpos = _ranges(batch["node_ptr"], have)
    with np.errstate(divide="ignore"):
        lx = np.maximum(np.log10(batch["x"][v]), LOG_X_FLOOR)
    log_x[have[vrow], vpos + 1], xmask[have[vrow], vpos + 1] = lx, True  # node v at column v
    return {"n": n, "src": src, "dst": dst, "rate": rate, "km": km, "emask": emask,
            "exists": exists, "log_x": log_x, "xmask": xmask, "T": T}


def seq_arrays(batch: Batch, task: str, weighted: bool = True) -> dict:
    """Token arrays for the seq2seq model (the paper's encoding, metabnet.kernels.tokenize),
    padded to a multiple of 16 so a compiled model sees few shapes."""
    from metabnet.kernels.tokenize import encode_inputs, encode_outputs

    src, _ = encode_inputs(batch["n"], batch["edge_ptr"], batch["edge_src"], batch["edge_dst"],
                           batch["edge_rate"], weighted)
    tgt, _ = encode_outputs(batch["exists_unique"], batch["n"], batch["node_ptr"], batch["x"],
                            task == "quanti")
    pad = lambda a: np.pad(a, ((0, 0), (0, _round_up(a.shape[1], 16) - a.shape[1])),  # noqa: E731
                           constant_values=2)  # <pad>
    return {"src": pad(src).astype(np.int64), "tgt": pad(tgt).astype(np.int64),
            "exists": batch["exists_unique"].astype(bool)}


def model_arrays(batch: Batch, arch: str, task: str, weighted: bool = True) -> dict:
    return graph_arrays(batch) if arch == "graph" else seq_arrays(batch, task, weighted)


class Stream:
    """Deterministic shuffled batches over a ShardIndex (module doc); `holdout` networks at
    the end of the last shard are left out for validation."""

    def __init__(self, index: ShardIndex, batch_size: int, seed: int = 0, block: int = 4096,
                 window: int = 8, holdout: int = 0, rank: int = 0, world: int = 1):
        self.index, self.batch_size, self.seed = index, batch_size, seed
        self.window, self.rank, self.world = window, rank, world
        counts = [s.count for s in index.sources]
        counts[-1] -= min(holdout, counts[-1])
        self.holdout = (len(counts) - 1, counts[-1], index.sources[-1].count)
        self.blocks = [(i, a, min(a + block, c)) for i, c in enumerate(counts) for a in range(0, c, block)]
        if sum(counts) < batch_size * world:
            raise ValueError(f"{sum(counts)} training networks: fewer than one batch of "
                             f"{batch_size} x {world} rank(s)")

    def windows(self, epoch: int) -> list[list[tuple]]:
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.blocks))
        blocks = [self.blocks[k] for k in order]
        return [blocks[k:k + self.window] for k in range(0, len(blocks), self.window)]

    def batches(self, epoch: int, start_window: int = 0, start_batch: int = 0):
        """Yield (window, batch, Batch) from the given position on; `batch` counts this rank's."""
        for w, blocks in enumerate(self.windows(epoch)):
            if w < start_window:
                continue
            data = concat([self.index.read(*b) for b in blocks])
            perm = np.random.default_rng([self.seed, epoch, w, 1]).permutation(len(data))
            per_rank = len(data) // (self.batch_size * self.world)
            for j in range(start_batch if w == start_window else 0, per_rank):
                k = (j * self.world + self.rank) * self.batch_size
                yield w, j, take(data, perm[k:k + self.batch_size])

    def validation(self) -> Batch | None:
        i, a, b = self.holdout
        return self.index.read(i, a, b) if b > a else None


def prefetch(iterable, depth: int = 4):
    """Run `iterable` on a background thread, `depth` items ahead (h5py reads, gzip and the
    Numba tokenizer release the GIL).  Exceptions are re-raised in the consumer."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def work():
        try:
            for item in iterable:
                if stop.is_set():
                    return
                q.put(item)
            q.put(end)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            q.put(e)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while (item := q.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)
