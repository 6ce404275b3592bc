"""Exact equilibria of large networks with sparse matrices (SciPy), beside the dense kernels.

The same labels and the same x as kernels.equilibrium.solve, by the same rules: labels from
reachability (kernels.reach), the balance solved on the nodes the intake reaches (the others
stay at 0), the Newton matrix -J of kernels.kinetics.jacobian (L^T when linear) assembled
here as a sparse matrix (`newton_matrix`, tested equal to the dense one), the residual and
every verdict computed by the kernels' own `balance`, `rel_residual` and range checks.

A linear system -J dx = f is solved by
- a fill-reducing sparse LU (SuperLU through scipy.sparse.linalg.splu, COLAMD ordering) below
  limits.KRYLOV_MIN nodes (metabnet.solve.limits): exact;
- above it, BiCGSTAB (or GMRES) preconditioned by an incomplete LU of the same matrix
  (`_krylov_solve`), accepted only when the kernels' relative residual of the result is at
  most KRYLOV_TOL (1e-16..1e-12 as measured), else the full LU.
  Random networks are expanders: the complete LU of a 10,000-node, 30,000-reaction random
  network fills in to 7-16 million entries and took 6-11 s on the 2-core dev machine whatever
  ordering SuperLU was given, where the preconditioned iteration takes ~40-50 ms; the
  near-singular systems of `gen`'s one-exit networks of that size take 0.04-1.8 s.

Michaelis-Menten networks: damped Newton from 0 as in the Newton phase of the kernels'
continuation, with one sparse LU per step for the direction and the kernels' own step
(kernels.newton: non-negativity bound, backtracking on the L1 imbalance, stop when a full
step moves x by at most NEWTON_XTOL) and verdicts; anything else (a stall, a node near
capacity) hands the network to the dense kernels, which certify or integrate
(`metabnet.solve.dispatch`).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from metabnet.kernels.kinetics import SLACK_MIN, balance, edge_arrays, l1, min_slack, rel_residual
from metabnet.kernels.newton import (ACCEPT_DECREASE, FAILED, NEWTON_XTOL, NO_EQUILIBRIUM, OK, newton_bound,
                                     newton_step, over_capacity, range_status, verdict)
from metabnet.kernels.reach import reachability, topological_labels
from metabnet.solve import limits

KRYLOV_TOL = 1e-10  # largest relative residual (kinetics.rel_residual) accepted from BiCGSTAB
NEWTON_MAX_ITER = 60  # then the dense kernels decide (near capacity x doubles per step: ~40 steps)


class NeedsDense(RuntimeError):
    """Sparse Newton ended without a verdict: the dense kernels must decide."""


def newton_matrix(n, src, dst, rate, km, x, idx, k) -> sp.csc_matrix:
    """-J at x over the nodes with idx[v] >= 0 (k of them), as kinetics.jacobian(..., sign=-1)
    computes it densely: for every reaction u -> v out of a kept node u (no self-loop, not
    from the intake), d = d flux / d x_u enters at (u, u) and, when v is kept, -d at (v, u)."""
    inner = (src > 0) & (src != dst)
    u, v, r, K = src[inner], dst[inner], rate[inner], km[inner]
    iu = idx[u]
    keep = iu >= 0
    u, v, r, K, iu = u[keep], v[keep], r[keep], K[keep], iu[keep]
    xu = np.maximum(x[u - 1], 0.0)
    d = np.where(np.isnan(K), r, r * K / ((K + xu) * (K + xu)))
    iv = idx[v]  # idx[n + 1] = -1: excretion
    to = iv >= 0
    rows = np.concatenate([iu, iv[to]])
    cols = np.concatenate([iu, iu[to]])
    return sp.csc_matrix((np.concatenate([d, -d[to]]), (rows, cols)), shape=(k, k))


def _lu_solve(A, b):
    return sla.splu(A, permc_spec="COLAMD").solve(b)


# incomplete LUs, cheapest first: ILU(0)-like in A's own order without pivoting (no fill past
# A's entries; it exists for the M-matrices -J of this model), then a threshold ILU in COLAMD
# order for the near-singular systems of networks with a single narrow exit
PRECONDITIONERS = ({"drop_tol": 0.0, "fill_factor": 1.0, "permc_spec": "NATURAL", "diag_pivot_thresh": 0.0},
                   {"drop_tol": 1e-3, "fill_factor": 3.0, "permc_spec": "COLAMD"})


def _krylov_solve(A, b, good):
    """BiCGSTAB under each of PRECONDITIONERS in turn, then restarted GMRES: the first x that
    `good` accepts (the kernels' residual decides, not the iteration's own 2-norm test, which
    cancellation defeats when x is large), else None.  Measured on 10,000-node random
    networks (benchmarks/sparse_solve.py): ILU(0) is the cheapest that converges on most;
    one-exit networks from `gen` need the threshold ILU."""
    made = {}
    for method, kw in ((sla.bicgstab, {"maxiter": 500}), (sla.gmres, {"restart": 100, "maxiter": 10})):
        for j, opts in enumerate(PRECONDITIONERS):
            if j not in made:
                made[j] = sla.LinearOperator(A.shape, sla.spilu(A, **opts).solve)
            with np.errstate(over="ignore", invalid="ignore"):  # a breakdown is judged by `good`
                x, _ = method(A, b, M=made[j], rtol=1e-14, atol=0.0, **kw)
            if np.all(np.isfinite(x)) and good(x):
                return x
    return None


class _System:
    """One network's edge arrays, reachability and scratch for the solves."""

    def __init__(self, n, src, dst, rate, km):
        self.n = n
        self.src, self.dst, self.rate, self.km = edge_arrays(n, src, dst, rate, km)
        self.m = self.src.shape[0]
        self.to_exc, self.from_in = reachability(n, self.src, self.dst)
        self.idx = np.full(n + 2, -1, np.int64)
        active = np.flatnonzero(self.from_in[1:n + 1]) + 1
        self.idx[active] = np.arange(active.size)
        self.active, self.k = active, active.size
        self.f, self.gross = np.empty(n), np.empty(n)

    def balance(self, x):
        """f, the L1 norm of f, and the relative residual at x (kinetics.balance)."""
        balance(self.n, self.m, self.src, self.dst, self.rate, self.km, x, self.f, self.gross)
        return self.f, float(np.abs(self.f).sum()), float(rel_residual(self.n, self.f, self.gross))

    def step(self, x, f, krylov):
        """The Newton step dx on the active nodes: -J(x) dx = f."""
        A = newton_matrix(self.n, self.src, self.dst, self.rate, self.km, x, self.idx, self.k)
        b = f[self.active - 1]
        if krylov:
            def good(dx):
                trial = x.copy()
                trial[self.active - 1] += dx
                return self.balance(trial)[2] <= KRYLOV_TOL

            dx = _krylov_solve(A, b, good)
            if dx is not None:
                return dx, "sparse-ilu-krylov"
        return _lu_solve(A, b), "sparse-lu"


def solve(n, src, dst, rate, km=None):
    """As kernels.equilibrium.solve: (unique, bounded, x or None, relative residual,
    iterations, method), by sparse matrices.  Linear kinetics: one solve, method
    "sparse-lu" or "sparse-ilu-krylov".  Michaelis-Menten: method "sparse-newton", or
    NeedsDense when Newton ends without a certified verdict."""
    s = _System(n, src, dst, rate, km)
    unique, bounded = topological_labels(n, s.to_exc, s.from_in)
    mm = bool(np.isfinite(s.km[s.src > 0]).any())
    if not bounded:
        return False, False, None, np.nan, 0, "sparse-newton" if mm else "sparse"
    x = np.zeros(n)
    if not mm:
        f, _, _ = s.balance(x)
        dx, method = s.step(x, f, s.k >= limits.KRYLOV_MIN)
        x[s.active - 1] = dx
        res = s.balance(x)[2]
        if not res == res:
            raise NeedsDense("sparse solve gave no finite x")
        return bool(unique), True, x, res, 1, method
    status, res, it = _newton(s, x)
    if status == NO_EQUILIBRIUM:
        return False, False, None, res, it, "sparse-newton"
    if status != OK:
        raise NeedsDense("sparse Newton found no certified equilibrium")
    return bool(unique), True, x, res, it, "sparse-newton"


def _newton(s: _System, x):
    """Damped Newton as in the Newton phase of kernels.equilibrium._continuation, with sparse
    directions and the kernels' own step (kernels.newton); (status, relative residual,
    iterations).  Returns FAILED where the kernel would go on to its rounding-level or
    capacity checks."""
    scratch = np.empty((3, s.n))
    if over_capacity(s.n, s.m, s.src, s.dst, s.rate, s.km, scratch[0]):
        return NO_EQUILIBRIUM, np.inf, 0
    f, _, res = s.balance(x)
    norm = l1(s.n, f)
    quiet = 0
    for it in range(1, NEWTON_MAX_ITER + 1):
        dx, _ = s.step(x, f, False)
        lam, step = newton_bound(s.n, s.idx, x, dx)
        accepted, lam, norm = newton_step(s.n, s.m, s.src, s.dst, s.rate, s.km, s.idx, dx, lam, norm,
                                          ACCEPT_DECREASE, x, scratch[2], s.f, s.gross)
        if not accepted:
            return FAILED, res, it
        res = float(rel_residual(s.n, s.f, s.gross))
        if lam == 1.0 and step <= NEWTON_XTOL:
            return range_status(s.n, s.m, s.src, s.dst, s.rate, s.km, x, scratch[0], scratch[1]), res, it
        # at rounding level the step can stay above NEWTON_XTOL: three quiet steps end it (as the kernel)
        status = verdict(s.n, s.m, s.src, s.dst, s.rate, s.km, x, f, s.gross, scratch[0], scratch[1], NEWTON_XTOL)
        quiet = 0 if status == FAILED else quiet + 1
        if quiet == 3:
            return status, res, it
        if not (min_slack(s.n, s.m, s.src, s.dst, s.rate, s.km, x, scratch[0], scratch[1]) >= SLACK_MIN):
            return FAILED, res, it  # near a capacity: the kernels' certificates decide
    return FAILED, res, NEWTON_MAX_ITER
