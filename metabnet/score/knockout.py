"""Knock-outs of one network: every variant with one reaction removed (intake and excretion
reactions included) or, with pairs, two; all scored by one `metabnet.score.scorer.Scorer` and
compared with the intact network: which knock-outs destroy (or create) the equilibrium and
how each concentration moves (ratio and log2 fold change against the intact network, both
from the same scorer).

Reaction i is the network's i-th edge (for a JSON file: intake, then inner edges, then
excretion, in the file's order); records also name it, e.g. ``INTAKE->glc`` or ``3->7``.
"""
from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from metabnet.network import Network


def count(m: int, pairs: bool = False) -> int:
    """Number of knock-outs of a network with m reactions."""
    return m * (m - 1) // 2 if pairs else m


def node_label(net: Network, v: int) -> str:
    if v == 0:
        return "INTAKE"
    if v == net.n + 1:
        return "EXCRETION"
    names = net.meta.get("nodes")
    return str(names[v - 1]) if names and len(names) == net.n else str(v)


def reaction_label(net: Network, i: int) -> str:
    return f"{node_label(net, int(net.src[i]))}->{node_label(net, int(net.dst[i]))}"


def variants(net: Network, pairs: bool = False):
    """Yield (removed reaction indices, the network without them) for every knock-out, in
    lexicographic order of the indices.  A variant may have no intake or no reactions left;
    it is scored as it is (no intake: every concentration is 0)."""
    for ko in itertools.combinations(range(net.m), 2 if pairs else 1):
        keep = np.ones(net.m, bool)
        keep[list(ko)] = False
        name = f"{net.name} -" + ",".join(reaction_label(net, i) for i in ko)
        yield ko, Network(net.n, net.src[keep], net.dst[keep], net.rate[keep],
                          None if net.km is None else net.km[keep], net.kinetics, name,
                          {"file": net.meta.get("file")})


def fold_changes(x_intact, x) -> tuple[list, list]:
    """Per node: ratio x / x_intact and its log2, None where undefined (either x missing or
    unusable, or the intact concentration not positive); log2 is None where the ratio is 0."""
    if x_intact is None or x is None or len(x) != len(x_intact):
        return None, None
    ratio, log2 = [], []
    for a, b in zip(x_intact, x):
        r = b / a if a is not None and b is not None and a > 0 and math.isfinite(b) else None
        ratio.append(r)
        log2.append(math.log2(r) if r is not None and r > 0 else None)
    return ratio, log2


def compare(net: Network, intact: dict, ko: tuple, rec: dict) -> dict:
    """The knock-out's record plus how it differs from the intact network's record."""
    ratio, log2 = fold_changes(intact["x"], rec["x"])
    finite = [(abs(v), k) for k, v in enumerate(log2 or []) if v is not None]
    most = None
    if finite:
        k = max(finite)[1]
        most = {"node": node_label(net, k + 1), "ratio": ratio[k], "log2fc": log2[k]}
    rec.update(knockout=list(ko), reactions=[reaction_label(net, i) for i in ko],
               destroys=bool(intact["exists_unique"] and not rec["exists_unique"]),
               creates=bool(rec["exists_unique"] and not intact["exists_unique"]),
               ratio=ratio, log2fc=log2, max_abs_log2fc=abs(most["log2fc"]) if most else None,
               most_changed=most, nodes_off=None if ratio is None else sum(r == 0 for r in ratio))
    return rec


def run(net: Network, scorer, pairs: bool = False, chunk: int = 4096):
    """Yield the intact network's record (knockout []) and then every knock-out's record
    (`compare`), scoring the variants `chunk` at a time (one list for the model's batches)."""
    intact = scorer.score([net])[0]
    yield compare(net, intact, (), intact)  # the same keys; ratios 1
    todo = variants(net, pairs)
    while batch := list(itertools.islice(todo, chunk)):
        for (ko, _), rec in zip(batch, scorer.score([v for _, v in batch])):
            yield compare(net, intact, ko, rec)


class Effects:
    """What the knock-outs do, for the printed table: those that destroy or create the
    equilibrium, and the `top` largest moves of a concentration."""

    def __init__(self, net: Network, intact: dict, top: int = 10):
        self.net, self.intact, self.top = net, intact, top
        self.total = 0
        self.destroy, self.create = [], []
        self._heap = []  # (key, seq, record summary): the top largest effects

    def add(self, rec: dict) -> None:
        if not rec["knockout"]:
            return
        self.total += 1
        label = " + ".join(rec["reactions"])
        if rec["destroys"]:
            self.destroy.append(label)
        if rec["creates"]:
            self.create.append(label)
        if rec["max_abs_log2fc"] is None and not rec["nodes_off"]:
            return
        most = rec["most_changed"] or {}
        key = (rec["nodes_off"], rec["max_abs_log2fc"] or 0.0)
        row = (label, rec["nodes_off"], rec["max_abs_log2fc"], most.get("node"), most.get("ratio"))
        item = (key, -self.total, row)
        if len(self._heap) < self.top:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def table(self) -> str:
        it, net = self.intact, self.net
        verdict = "has an equilibrium" if it["exists_unique"] else "has no equilibrium"
        lines = [f"intact network {net.name!r} (n={net.n}, {net.m} reactions) {verdict} ({it['method']})",
                 f"{self.total:,} knock-outs: {len(self.destroy):,} destroy the equilibrium, "
                 f"{len(self.create):,} create one"]
        for what, labels in (("destroy", self.destroy), ("create", self.create)):
            if labels:
                more = f" ... and {len(labels) - self.top:,} more" if len(labels) > self.top else ""
                lines.append(f"  {what}: " + ", ".join(labels[:self.top]) + more)
        rows = [row for _, _, row in sorted(self._heap, reverse=True)]
        if rows:
            lines.append("largest effects on concentrations (nodes switched off, then largest |log2 fold change|):")
            head = f"  {'knock-out':<36}{'nodes off':>10}{'max |log2FC|':>14}  {'node':<16}{'ratio':>12}"
            lines += [head, "  " + "-" * (len(head) - 2)]
            for label, off, big, node, ratio in rows:
                lines.append(f"  {label:<36}{off:>10}{'-' if big is None else f'{big:.3f}':>14}  "
                             f"{node or '-':<16}{'-' if ratio is None else f'{ratio:.4g}':>12}")
        return "\n".join(lines)
