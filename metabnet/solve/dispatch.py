"""Exact equilibria of Network objects, as the result records of DESIGN §5.

Work is sized by reactions, not by the declared node count: inner nodes that no reaction
touches are left out of the solve (they stay at 0 and reach nothing), so a network of a
million nodes and ten reactions is solved as one of at most twenty.  What still cannot fit
is refused with a `SolveError` naming the file: more than `limits.MAX_NODES` inner nodes
(the answer alone would not fit), or more than `limits.MAX_SPARSE` nodes with reactions, or
a sparse system that neither the preconditioned iteration within `limits.KRYLOV_WORK` nor an
exact LU within `limits.LU_FILL_MAX` / `limits.LU_MAX` solves (metabnet.solve.sparse).
Networks of limits.SPARSE_MIN nodes with reactions or more go to metabnet.solve.sparse
(sparse LU / Krylov, sparse Newton), the others to the kernels' dense solvers; what needs
the dense kernels (the ODE, a warm start, a Newton stall) beyond limits.DENSE_MAX nodes is
refused.  Every threshold lives in metabnet.solve.limits.
"""
from __future__ import annotations

import functools

import numpy as np

from metabnet.solve import limits, sparse
from metabnet.solve.why import explain
from metabnet.kernels import equilibrium as keq
from metabnet.network import Network

METHODS = ("direct", "ode")


class SolveError(RuntimeError, ValueError):
    """A network the solver refuses; ``str()`` is one line naming the network (callers that
    read it from a file add the file).  Both a RuntimeError (as the ODE's failure, which
    `solve` reports per file) and a ValueError (as a bad input, which `eval` reports)."""


def solve(net: Network, method: str = "direct", x0=None, progress=None) -> dict:
    """{"file", "name", "n", "kinetics", "exists_unique", "exists_bounded", "nodes", "x",
    "residual", "method", "iterations", "why"} for one network; x is the limit of the
    trajectory from 0, x[i] the concentration of node nodes[i] (nodes null for an unnamed
    network); why is null where there is a unique equilibrium, else says why there is none
    (metabnet.solve.why: kind, nodes, and a one-line reason).

    `x0` (direct method only) warm-starts Newton for Michaelis-Menten kinetics from these n
    concentrations, e.g. a model's prediction (kernels.equilibrium.solve).

    `progress` (metabnet.progress.progress_bar, or a partial of it): a sparse solve of
    limits.PROGRESS_MIN nodes or more says on it what it will do and shows its iterations,
    under the description "solve NAME"; None: silent."""
    if x0 is not None and method != "direct":
        raise ValueError("a start x0 is for the direct method only")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    touched, small = _compact(net)
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
        if x0.size != net.n:
            raise ValueError(f"x0 must hold n = {net.n} values, got {x0.size}")
        x0 = x0 if touched is None else x0[touched - 1]
    unique, bounded, x, res, it, method = _solve(small, method, x0, progress)
    if touched is not None:  # untouched nodes stay at 0 and cannot reach excretion
        unique = False
        if bounded:
            full = np.zeros(net.n)
            full[touched - 1] = x
            x = full
    return {"file": net.meta.get("file"), "name": net.name, "n": net.n, "kinetics": net.kinetics,
            "exists_unique": bool(unique), "exists_bounded": bool(bounded), "nodes": net.nodes,
            "x": x.tolist() if bounded else None,
            "residual": float(res) if bounded and np.isfinite(res) else None,
            "method": method, "iterations": int(it), "why": explain(net, unique, bounded)}


def _where(net: Network) -> str:
    """The network in an error message; whoever read it from a file names the file."""
    return net.name or "network"


def _compact(net: Network) -> tuple[np.ndarray | None, Network]:
    """(the inner nodes some reaction touches, the network on them renumbered 1..k), or
    (None, net) when every node is touched; SolveError when it cannot fit."""
    if net.n > limits.MAX_NODES:
        raise SolveError(f"{_where(net)}: {net.n:,} inner nodes, more than the solver takes "
                         f"({limits.MAX_NODES:,}: the answer alone would not fit)")
    src, dst = net.src.astype(np.int64), net.dst.astype(np.int64)
    touched = np.unique(np.concatenate([src[src > 0], dst[dst <= net.n]]))
    if touched.size > limits.MAX_SPARSE:
        raise SolveError(f"{_where(net)}: {touched.size:,} nodes with reactions, more than the "
                         f"sparse solver takes ({limits.MAX_SPARSE:,})")
    if touched.size == net.n:
        return None, net
    k = touched.size
    renumber = lambda ids: np.where(ids == 0, 0, np.where(ids > net.n, k + 1,  # noqa: E731
                                                         np.searchsorted(touched, ids) + 1))
    small = Network(k, renumber(src), renumber(dst), net.rate, net.km, net.kinetics, net.name, net.meta)
    return touched, small


def _solve(net: Network, method: str, x0, progress=None):
    """(unique, bounded, x, relative residual, iterations, method): by metabnet.solve.sparse from
    limits.SPARSE_MIN nodes (direct method), else, or when it has no verdict, by the dense
    kernels' labelling routine (kernels.equilibrium.label)."""
    km = net.km_or_nan()
    if net.n >= limits.SPARSE_MIN and method == "direct" and (x0 is None or not net.is_mm):
        try:
            bar = None if progress is None else functools.partial(progress, desc=f"solve {_where(net)}")
            return sparse.solve(net.n, net.src, net.dst, net.rate, km, bar)
        except sparse.NeedsDense:
            pass
        except sparse.TooLarge as e:
            raise SolveError(f"{_where(net)}: {e}") from None
    if net.n > limits.DENSE_MAX:
        what = "the ODE" if method == "ode" else "a warm start or a Newton stall"
        raise SolveError(f"{_where(net)}: {net.n:,} nodes with reactions, more than the dense "
                         f"solver takes ({limits.DENSE_MAX:,}) for {what}")
    try:
        return keq.solve(net.n, net.src, net.dst, net.rate, km, x0, method)
    except keq.BeyondRange as e:  # no label can be certified: say so, naming the network
        raise keq.BeyondRange(f"{_where(net)}: {e}") from None
    except keq.Undecided as e:
        raise RuntimeError(f"{_where(net)}: {e}") from None
