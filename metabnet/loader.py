"""Streaming training data: from a directory of shards (`Stream`), or freshly generated
(`GenStream`, a mixture of generator configs taken in turn; see its doc).  Model-ready arrays
are made by each architecture (metabnet.archs).

Shard order: each epoch shuffles blocks of `block` consecutive networks across all shards; `window`
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

from metabnet.batch import CSR_EDGE, Batch, concat, take
from metabnet.generate import GenConfig
from metabnet.shard import ShardError, check_batch, open_shard

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


class GenStream:
    """Freshly generated networks instead of shards (the paper's own set-up): batch j of the
    run comes from mixture component j mod K, as networks (j // K) * B * world + rank * B ...
    of that component's shard; so the order is a pure function of (seed, j) and a run
    resumes exactly.  Validation networks come from shards 10,000 + k of the same seed,
    which training never draws."""

    VAL_SHARD = 10_000

    def __init__(self, mixture: list[GenConfig], batch_size: int, seed: int = 0, rank: int = 0, world: int = 1):
        if not mixture:
            raise ValueError("an empty mixture")
        self.mixture, self.batch_size, self.seed, self.rank, self.world = mixture, batch_size, seed, rank, world

    def _labelled(self, k: int, count: int, shard: int, start: int) -> Batch:
        from metabnet.generate import generate

        cfg = self.mixture[k]
        b = generate(cfg, count, self.seed, shard, start)
        b["family"] = np.full(count, cfg.family, dtype=object)
        b["kinetics"] = np.full(count, cfg.kinetics, dtype=object)
        return b

    def batches(self, epoch: int = 0, start_window: int = 0, start_batch: int = 0):
        """Yield (0, j, Batch) for j = start_batch, start_batch + 1, ... without end."""
        K, B = len(self.mixture), self.batch_size
        j = start_batch
        while True:
            start = ((j // K) * self.world + self.rank) * B
            yield 0, j, self._labelled(j % K, B, j % K, start)
            j += 1

    def validation(self, size: int) -> Batch:
        """`size` networks split evenly over the mixture's components."""
        K = len(self.mixture)
        return concat([self._labelled(k, size // K + (k < size % K), self.VAL_SHARD + k, 0)
                       for k in range(K) if size // K + (k < size % K)])


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
