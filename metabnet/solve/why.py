"""Why a network has no equilibrium, in words and node names (`explain`).

The solver's labels come from certificates (kernels.reach, kernels.newton, kernels.kinetics)
that answer yes or no; this module finds, for a label already given, the nodes behind it,
without changing it:

- ``no_exit``: inner nodes with no path to the excretion, which the intake does not reach:
  they stay at 0 from x(0) = 0, but any amount put there stays, so the equilibrium is not
  unique (``exists_unique`` false, ``exists_bounded`` true);
- ``closed``: the nodes the intake feeds that cannot reach the excretion: mass piles up
  there without bound (no ``exists_bounded``);
- ``over_capacity`` (Michaelis-Menten): a node, or a set of nodes, whose inflow reaches the
  capacity of the reactions leaving it (their total V, all Michaelis-Menten): a flux
  V x / (K + x) stays below V, so that inflow can never be passed on.  The inflow is a lower
  bound of the throughput at any equilibrium (kernels.kinetics.capacity_sweeps's
  iteration: T <- phi + inflow(x(T)) from T = 0, in the kernel); the sets tried where it
  stops are strongly connected sets (kernels.kinetics.components), single nodes and, in
  networks of up to CLOSURE_MAX nodes, the nodes downstream of a node (smallest first).
  Where none is found (a label the ODE or the saturation certificate gave), the kind is
  still ``over_capacity`` and ``nodes`` is empty.

Reachability to the excretion and from the intake comes from kernels.reach, as for the
labels; the downstream sets are a plain breadth-first search.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from metabnet.kernels.kinetics import capacity_sweeps, components
from metabnet.kernels.reach import reachability
from metabnet.network import Network

CLOSURE_MAX = 1000  # most inner nodes for which the downstream sets are tried
SHOWN = 10  # nodes named in the reason line (the record lists them all)


def explain(net: Network, unique: bool, bounded: bool) -> dict | None:
    """{"kind", "nodes", "reason"} (plus "inflow" and "capacity" for ``over_capacity``) for a
    network labelled without a (unique) equilibrium, None when it has one (module doc).
    ``nodes`` holds node names, or numbers 1..n for an unnamed network."""
    if unique:
        return None
    to_exc, from_in = reachability(net.n, net.src, net.dst)
    fed = [v for v in range(1, net.n + 1) if from_in[v] and not to_exc[v]]
    if fed:
        return _why(net, "closed", fed, "the intake feeds {nodes}, which cannot reach the excretion: "
                                        "mass piles up there without bound")
    if not bounded:
        return _capacity(net)
    stuck = [v for v in range(1, net.n + 1) if not to_exc[v]]
    return _why(net, "no_exit", stuck, "{nodes} cannot reach the excretion (and get nothing from the "
                                       "intake): any amount there stays, so the equilibrium is not unique")


def _why(net: Network, kind: str, nodes: list[int], text: str, **numbers) -> dict:
    names = [net.node_name(v) for v in nodes]
    shown = ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN:,} more" if len(names) > SHOWN else "")
    what = (f"node {shown}" if len(names) == 1 else f"nodes {shown}") if names else "a node or set"
    return {"kind": kind, "nodes": names if net.nodes is not None else nodes, **numbers,
            "reason": text.format(nodes=what, **numbers)}


def _capacity(net: Network) -> dict:
    """The first node or set found whose inflow reaches its capacity (module doc), at the
    lower bounds of the concentrations where kernels.kinetics.capacity_sweeps stops: the
    inflows only rise from sweep to sweep, so no set crosses earlier that does not cross there."""
    n, src, dst = net.n, net.src.astype(np.int64), net.dst.astype(np.int64)
    rate, km = net.rate, net.km_or_nan()
    x = np.zeros(n)
    capacity_sweeps(n, net.m, net.src, net.dst, rate, km, x, False)
    x = np.concatenate([[1.0], x, [0.0]])  # the intake's flux is its rate (src == 0 below)
    inner = (src > 0) & (src != dst)  # reactions that leave a node
    cap = np.bincount(src[inner], np.where(np.isnan(km[inner]), np.inf, rate[inner]), minlength=n + 2)
    q = np.where(src == 0, rate, _flux(rate, km, x[src]))  # every flux, at lower bounds of x
    q[src == dst] = 0.0
    t = np.bincount(dst, q, minlength=n + 2)  # inflows: lower bounds of the throughputs
    comp = np.empty(n + 2, np.int64)
    ncomp = components(n, net.m, net.src, net.dst, comp, np.empty((7, n + 3), np.int64))
    sccs = [s for s in (np.flatnonzero(comp[1:n + 1] == c) + 1 for c in range(ncomp)) if s.size > 1]
    found = _over(net, q, sccs)  # a cycle that cannot pass its inflow on, before any node of it
    over = np.flatnonzero((t[1:n + 1] > 0) & (t[1:n + 1] >= cap[1:n + 1])) + 1
    if found is None and over.size:
        v = int(over[np.argmax(t[over] / cap[over])])
        found = [v], float(t[v]), float(cap[v])
    if found is None and n <= CLOSURE_MAX:
        found = _over(net, q, _closures(net))
    return _over_capacity(net, found)


def _over_capacity(net: Network, found) -> dict:
    if found is None:
        return _why(net, "over_capacity", [], "the inflow of {nodes} reaches the capacity of the reactions "
                    "leaving it (the solver's certificate; metabnet could not name the set): no equilibrium")
    nodes, inflow, capacity = found
    one = len(nodes) == 1
    return _why(net, "over_capacity", nodes, "{nodes} " + ("receives" if one else "receive") + " an inflow of "
                "{inflow:.6g}, at least the capacity of the reactions leaving " + ("it" if one else "them")
                + " ({capacity:.6g}, their total V): no equilibrium", inflow=inflow, capacity=capacity)


def _flux(rate, km, x):
    return np.where(np.isnan(km), rate * x, rate * x / (np.nan_to_num(km, nan=1.0) + x))


def _over(net: Network, q, sets):
    """(nodes, inflow, capacity) of the first of `sets` receiving at least its capacity, or None."""
    inside = np.zeros(net.n + 2, bool)
    for s in sets:
        inside[:] = False
        inside[s] = True
        into = ~inside[net.src] & inside[net.dst]
        leave = inside[net.src] & ~inside[net.dst]
        capacity = float(np.sum(np.where(np.isnan(net.km_or_nan()[leave]), np.inf, net.rate[leave])))
        inflow = float(q[into].sum())
        if inflow > 0 and leave.any() and inflow >= capacity:
            return [int(v) for v in s], inflow, capacity
    return None


def _bfs(adj, start) -> list[bool]:
    seen = [False] * len(adj)
    seen[start] = True
    todo = deque([start])
    while todo:
        for w in adj[todo.popleft()]:
            if not seen[w]:
                seen[w] = True
                todo.append(w)
    return seen


def _closures(net: Network) -> list[np.ndarray]:
    """The set of inner nodes downstream of each node (itself included), each once."""
    out = [[] for _ in range(net.n + 2)]
    for u, v in zip(net.src.tolist(), net.dst.tolist()):
        if 0 < v <= net.n:
            out[u].append(v)
    found = {}
    for v in range(1, net.n + 1):
        s = np.flatnonzero(_bfs(out, v))
        if s.size > 1:
            found.setdefault(tuple(s), s)
    return sorted(found.values(), key=len)  # the smallest set first
