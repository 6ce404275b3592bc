"""`Batch`: networks and their labels as CSR arrays, keyed as the datasets of a shard
(metabnet.gen.shard) - the one form in which networks travel from the generator, the shards and
network files to the model.  Built here from Network objects (`as_batch`; with exact labels: metabnet.solve.labels),
sliced (`take`) and joined (`concat`) here.

Per network: ``n``, ``exists_unique``, ``exists_bounded`` (and, from the generator or a
shard, ``family``, ``kinetics`` and more); per edge, at ``edge_ptr[i]:edge_ptr[i+1]``:
``edge_src``, ``edge_dst``, ``edge_rate``, ``edge_km``; per inner node of a network with a
bounded equilibrium, at ``node_ptr[i]:node_ptr[i+1]``: ``x``.
"""
from __future__ import annotations

import numpy as np

from metabnet.network import Kinetics, Network

CSR_EDGE = ("edge_src", "edge_dst", "edge_rate", "edge_km")
LOG_X_FLOOR = -6.0  # log10 concentrations are floored here in model targets (nodes the intake never reaches have x = 0)


class Batch(dict):
    """CSR arrays of consecutive networks (module doc)."""

    def __len__(self):
        return len(self["n"])

    def network(self, i: int, name: str = "") -> Network:
        """Network i; Michaelis-Menten where some edge has a finite K (intake edges never do)."""
        e0, e1 = self["edge_ptr"][i], self["edge_ptr"][i + 1]
        km = self["edge_km"][e0:e1].astype(np.float64)
        mm = bool(np.isfinite(km).any())
        return Network(int(self["n"][i]), self["edge_src"][e0:e1], self["edge_dst"][e0:e1],
                       self["edge_rate"][e0:e1].astype(np.float64), km if mm else None,
                       Kinetics.MM if mm else Kinetics.LINEAR, name)

    def x(self, i: int) -> np.ndarray | None:
        if not self["exists_bounded"][i]:
            return None
        return self["x"][self["node_ptr"][i]:self["node_ptr"][i + 1]]


# ---- building ------------------------------------------------------------------------
def as_batch(nets: list[Network], labels=None, family: str = "files") -> Batch:
    """CSR Batch of Network objects; `labels` gives (exists_unique, exists_bounded, x) per
    network, and without them every label is False and no x is stored (what
    `metabnet.learn.predict.predict` needs to read)."""
    labels = labels if labels is not None else [(False, False, None)] * len(nets)
    xs = [np.asarray(x, np.float64) if b and x is not None else np.zeros(0) for _, b, x in labels]
    return Batch(
        n=np.array([net.n for net in nets], np.int32),
        edge_ptr=np.concatenate([[0], np.cumsum([net.m for net in nets])]).astype(np.int64),
        edge_src=np.concatenate([net.src for net in nets]).astype(np.int32),
        edge_dst=np.concatenate([net.dst for net in nets]).astype(np.int32),
        edge_rate=np.concatenate([net.rate for net in nets]).astype(np.float64),
        edge_km=np.concatenate([net.km_or_nan() for net in nets]).astype(np.float64),
        node_ptr=np.concatenate([[0], np.cumsum([len(x) for x in xs])]).astype(np.int64),
        x=np.concatenate(xs), exists_unique=np.array([u for u, _, _ in labels], bool),
        exists_bounded=np.array([b for _, b, _ in labels], bool),
        family=np.full(len(nets), family, dtype=object),
        kinetics=np.array([net.kinetics for net in nets], dtype=object))


# ---- slicing and joining -------------------------------------------------------------
def concat(batches: list[Batch]) -> Batch:
    """The networks of `batches`, one after the other, as one Batch."""
    out = Batch({k: np.concatenate([b[k] for b in batches]) for k in batches[0] if not k.endswith("_ptr")})
    for k in ("edge_ptr", "node_ptr"):
        sizes = np.concatenate([np.diff(b[k]) for b in batches])
        out[k] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return out


def ranges(ptr, idx):
    """Concatenated positions [ptr[i], ptr[i+1]) for i in idx, and each one's row and its
    position within the row."""
    lo, ln = ptr[idx], ptr[idx + 1] - ptr[idx]
    row = np.repeat(np.arange(len(idx)), ln)
    pos = np.arange(ln.sum()) - np.repeat(np.cumsum(ln) - ln, ln)
    return lo[row] + pos, row, pos


def take(batch: Batch, idx) -> Batch:
    """The networks `idx` of a batch, in that order."""
    idx = np.asarray(idx)
    e, _, _ = ranges(batch["edge_ptr"], idx)
    v, _, _ = ranges(batch["node_ptr"], idx)
    out = Batch({k: batch[k][idx] for k in batch if not k.endswith("_ptr") and k not in CSR_EDGE + ("x",)})
    for k in CSR_EDGE:
        out[k] = batch[k][e]
    out["x"] = batch["x"][v]
    for k in ("edge_ptr", "node_ptr"):
        out[k] = np.concatenate([[0], np.cumsum(np.diff(batch[k])[idx])]).astype(np.int64)
    return out
