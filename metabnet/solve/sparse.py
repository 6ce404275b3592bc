"""Exact equilibria of large networks with sparse matrices (SciPy), beside the dense kernels.

The same labels and the same x as kernels.equilibrium.solve, by the same rules: labels from
reachability (kernels.reach), the balance solved on the nodes the intake reaches (the others
stay at 0), the Newton matrix -J of kernels.kinetics.jacobian (L^T when linear) assembled
here as a sparse matrix (`newton_matrix`, tested equal to the dense one), the residual and
every verdict computed by the kernels' own `balance`, `rel_residual` and range checks.

A linear system -J dx = f on k nodes is solved by
- a fill-reducing sparse LU (SuperLU through scipy.sparse.linalg.splu, COLAMD ordering) below
  limits.KRYLOV_MIN nodes (metabnet.solve.limits): exact;
- from there, first the cheap structure (`Plan`): the strongly connected sets of the reaction
  graph in the order the reactions run, and a bound on what an LU in that order fills in.
  Where that LU stays within limits.LU_FIRST times the matrix's entries (nearly acyclic
  networks: chains, trees, pathways with small loops) it is done at once: exact, no iteration;
- else BiCGSTAB (or GMRES) preconditioned by an incomplete LU of the same matrix, in the same
  order (`_krylov_solve`), accepted only when the kernels' relative residual of the result is at
  most KRYLOV_TOL (each result is refined against the kernels' own residual, REFINE times at
  most), within limits.KRYLOV_WORK (iterations times matrix entries, all tries together);
- else an exact LU if one fits (`_System.exact`: the LU in the sets' order within
  limits.LU_FILL_MAX entries, or COLAMD on at most limits.LU_MAX nodes), else TooLarge.
  Random networks are expanders: the complete LU of a 10,000-node, 30,000-reaction random
  network fills in to 7-16 million entries and took 6-11 s on the 2-core dev machine whatever
  ordering SuperLU was given, where the preconditioned iteration takes ~40-50 ms; the
  near-singular systems of `gen`'s one-exit networks of that size take 0.04-1.8 s.
  A 1,000,000-node random network (2.1 million reactions, a strongly connected set of 634,583
  nodes) takes 33-35 BiCGSTAB iterations, 6-13 s; `metabnet solve` on its JSON file 19-23 s
  and 0.84 GB, most of it reading the file (benchmarks/README.md, "Huge networks").
With a `progress` (metabnet.progress.progress_bar) a solve of limits.PROGRESS_MIN nodes or more
says first what it will do and what that can cost, then shows its iterations.

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
from scipy.sparse.csgraph import connected_components

from metabnet.kernels.kinetics import SLACK_MIN, balance, edge_arrays, l1, min_slack, rel_residual
from metabnet.kernels.newton import (ACCEPT_DECREASE, FAILED, NEWTON_XTOL, NO_EQUILIBRIUM, OK, newton_bound,
                                     newton_step, over_capacity, range_status, verdict)
from metabnet.kernels.reach import reachability, topological_labels
from metabnet.solve import limits

KRYLOV_TOL = 1e-10  # largest relative residual (kinetics.rel_residual) accepted from BiCGSTAB
NEWTON_MAX_ITER = 60  # then the dense kernels decide (near capacity x doubles per step: ~40 steps)


class NeedsDense(RuntimeError):
    """Sparse Newton ended without a verdict: the dense kernels must decide."""


class TooLarge(RuntimeError):
    """A solve that would not finish in reasonable time (the iteration's budget spent and no exact
    LU within limits.LU_FILL_MAX / LU_MAX); the message says why, in one line."""


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


class Plan:
    """The strongly connected sets of the reaction graph on a matrix's pattern, in the order the
    reactions run, and what an exact LU in that order costs: computed once per network, O(m).

    In that order (`order`, upstream sets first) the matrix A (A[v, u] != 0 for a reaction
    u -> v) is block lower triangular, one diagonal block per set.  -J is a column diagonally
    dominant M-matrix, so an LU without pivoting is stable (partial pivoting would pick the
    diagonal); it fills in only inside the blocks and in the rows the blocks' reactions lead
    to: at most |B|^2 entries in the block of set B and |B| in each row one of its reactions
    enters.  `fill` is that bound on the entries of L + U (an acyclic network: A's own,
    nothing more); `largest` the size of the largest set."""

    def __init__(self, A):
        k = A.shape[0]
        coo = A.tocoo()
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        _, label = connected_components(A, directed=True, connection="strong")
        # SciPy numbers the sets of the graph row -> column (v -> u, against the reactions) so
        # that every edge runs from a higher to a lower number: ascending is the reactions' order
        self.order = np.argsort(label, kind="stable")
        size = np.bincount(label)
        self.k, self.entries, self.largest = k, int(A.nnz), int(size.max(initial=0))
        if not np.all(label[rows] >= label[cols]):  # not the order promised: no bound, no LU in it
            self.fill = np.inf
            return
        exits = (label[rows] != label[cols]) & (size[label[cols]] > 1)
        pairs = np.unique(label[cols[exits]] * k + rows[exits])  # (set, row it enters), once each
        loops = size[size > 1].astype(np.float64)
        self.fill = float(A.nnz + k + np.sum(loops * loops) + np.sum(size[pairs // k]))

    @property
    def cheap(self) -> bool:
        """Whether the LU in the sets' order fills in at most limits.LU_FIRST times A's entries."""
        return self.fill <= min(limits.LU_FILL_MAX, limits.LU_FIRST * (self.entries + self.k))

    def exact(self) -> str | None:
        """Which exact LU may run when the iteration fails ("order": the sets' order, "colamd":
        SuperLU's own), None when neither fits within limits.LU_FILL_MAX / LU_MAX."""
        if self.cheap:
            return "order"
        if self.k <= limits.LU_MAX:
            return "colamd"
        return "order" if self.fill <= limits.LU_FILL_MAX else None

    def budget(self) -> int:
        """Iterations the preconditioned solves may take in all (limits.KRYLOV_WORK)."""
        return int(min(KRYLOV_ITER_MAX, limits.KRYLOV_WORK // max(self.entries, 1)))

    def describe(self, newton: bool = False) -> str:
        """What the solve of this pattern will do (`newton`: Newton's steps, each an exact LU),
        and what it can cost, in one line."""
        head = (f"{self.k:,} nodes reached from the intake, {self.entries:,} matrix entries, "
                f"largest strongly connected set {self.largest:,} nodes")
        lu = {"order": f"an exact LU in the order of the reactions (at most {self.fill:,.0f} entries)",
              "colamd": "a full sparse LU", None: "no exact LU"}[self.exact()]
        if newton:
            return f"{head}: Newton, at most {NEWTON_MAX_ITER} steps, each {lu}"
        if self.cheap:
            return f"{head}: exact LU in the order of the reactions (at most {self.fill:,.0f} entries)"
        then = {"order": f"then an exact LU of at most {self.fill:,.0f} entries",
                "colamd": "then a full sparse LU",
                None: "refused if it does not converge (no exact LU fits the limits)"}[self.exact()]
        return f"{head}: preconditioned iteration, at most {self.budget():,} iterations, {then}"

    def too_large(self, tried: str) -> str:
        """Why this pattern is refused after `tried`, in one line."""
        return (f"{tried} on {self.k:,} nodes, and an exact LU would not finish in reasonable time: its "
                f"largest strongly connected set has {self.largest:,} nodes (an LU in their order is bounded "
                f"by {self.fill:,.0f} entries, more than limits.LU_FILL_MAX = {limits.LU_FILL_MAX:,}; a full "
                f"sparse LU is tried up to limits.LU_MAX = {limits.LU_MAX:,} nodes; metabnet.solve.limits)")


def _lu_solve(A, b):
    return sla.splu(A, permc_spec="COLAMD").solve(b)


def _ordered_lu(A, order):
    """The exact LU of A in `order` (Plan): SuperLU in that order, the diagonal as pivot."""
    return sla.splu(A[order][:, order].tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.0)


def _in_order(solve, order):
    """x = solve(b[order]) put back in A's numbering."""
    def apply(b):
        x = np.empty_like(b)
        x[order] = solve(b[order])
        return x
    return apply


# incomplete LUs, cheapest first: ILU(0)-like in the order of the reactions (Plan) without
# pivoting (no fill past A's entries; it exists for the M-matrices -J of this model, and is exact
# where the network is acyclic), then a threshold ILU in COLAMD order for the near-singular
# systems of networks with a single narrow exit
PRECONDITIONERS = ({"drop_tol": 0.0, "fill_factor": 1.0, "permc_spec": "NATURAL", "diag_pivot_thresh": 0.0},
                   {"drop_tol": 1e-3, "fill_factor": 3.0, "permc_spec": "COLAMD"})
REFINE = 3  # corrections of one solve against the kernels' residual before the next try
KRYLOV_ITER_MAX = 3_000  # iterations of all tries together (500 + 500 BiCGSTAB, 2 x 10 GMRES cycles of 100)
KRYLOV_BASIS_BYTES = 2**28  # GMRES keeps restart vectors of k doubles: restart 100 up to 335,000 nodes


class _Budget:
    """Iterations left to the preconditioned solves, shown on a progress bar."""

    def __init__(self, total, bar=None):
        self.left, self.used, self.bar = total, 0, bar

    def __call__(self, *_):  # a solver's callback: one iteration
        self.left -= 1
        self.used += 1
        if self.bar is not None:
            self.bar.update(1)


def _krylov_solve(A, b, check, order=None, budget=None):
    """BiCGSTAB under each of PRECONDITIONERS in turn, then restarted GMRES, each started from
    the preconditioner's answer (a start of 0 breaks BiCGSTAB down when b has a few entries, as
    from a few intakes) and each result corrected REFINE times against the kernels' residual;
    the first x that `check` accepts, else None.  check(x) is (accepted, residual vector b - A x
    as the kernels compute it).  `order` permutes A for the incomplete LUs (Plan.order);
    `budget` (_Budget) bounds the iterations of all tries together.  Measured on 10,000-node
    random networks (benchmarks/sparse_solve.py): ILU(0) is the cheapest that converges on most;
    one-exit networks from `gen` need the threshold ILU."""
    budget = _Budget(KRYLOV_ITER_MAX) if budget is None else budget
    k = A.shape[0]
    restart = int(min(100, max(10, KRYLOV_BASIS_BYTES // (8 * max(k, 1)))))
    P = A if order is None else A[order][:, order].tocsc()
    made = {}
    for method in (sla.bicgstab, sla.gmres):
        for j, opts in enumerate(PRECONDITIONERS):
            if budget.left <= 0:
                return None
            if j not in made:
                try:
                    ilu = sla.spilu(P, **opts).solve
                except RuntimeError:  # SuperLU: "Factor is exactly singular" (a pivot dropped to 0)
                    made[j] = None
                else:
                    made[j] = ilu if order is None else _in_order(ilu, order)
            if made[j] is None:
                continue
            M = sla.LinearOperator(A.shape, made[j])
            x, r = np.zeros(k), b
            for _ in range(REFINE + 1):
                left = min(budget.left, 500 if method is sla.bicgstab else 10 * restart)
                if left <= 0:
                    break
                kw = ({"maxiter": left} if method is sla.bicgstab else
                      {"restart": restart, "maxiter": -(-left // restart), "callback_type": "pr_norm"})
                with np.errstate(over="ignore", invalid="ignore"):  # a breakdown is judged by `check`
                    dx, info = method(A, r, x0=made[j](r), M=M, rtol=1e-14, atol=0.0, callback=budget, **kw)
                if not np.all(np.isfinite(dx)):
                    break
                x = x + dx
                ok, r = check(x)
                if ok:
                    return x
                if info != 0:  # no convergence or a breakdown: the next try, not a correction
                    break
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
        self.plan, self.bar = None, None

    def balance(self, x):
        """f, the L1 norm of f, and the relative residual at x (kinetics.balance)."""
        balance(self.n, self.m, self.src, self.dst, self.rate, self.km, x, self.f, self.gross)
        return self.f, float(np.abs(self.f).sum()), float(rel_residual(self.n, self.f, self.gross))

    def matrix(self, x):
        """-J(x) on the active nodes, and the Plan of its pattern from limits.KRYLOV_MIN nodes
        (the pattern is the same at every x: made once)."""
        A = newton_matrix(self.n, self.src, self.dst, self.rate, self.km, x, self.idx, self.k)
        if self.plan is None and self.k >= limits.KRYLOV_MIN:
            self.plan = Plan(A)
        return A

    def start(self, progress, total, unit):
        """Say what the solve will do and show its progress, for limits.PROGRESS_MIN nodes or more."""
        if progress is not None and self.plan is not None and self.k >= limits.PROGRESS_MIN:
            self.bar = progress(total=total, unit=unit, note=self.plan.describe(newton=unit != "iterations"))

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def step(self, x, f, krylov, A=None):
        """The Newton step dx on the active nodes: -J(x) dx = f (A: -J(x) when already made)."""
        A = self.matrix(x) if A is None else A
        b = f[self.active - 1]
        plan = self.plan
        if plan is None:  # below limits.KRYLOV_MIN nodes
            if self.k > limits.LU_MAX:
                raise TooLarge(f"a full sparse LU beyond {limits.LU_MAX:,} nodes would not finish in reasonable "
                               f"time ({self.k:,} nodes; metabnet.solve.limits)")
            return _lu_solve(A, b), "sparse-lu"
        if plan.cheap:
            return _in_order(_ordered_lu(A, plan.order).solve, plan.order)(b), "sparse-lu"
        tried = "a full sparse LU is not tried"
        if krylov:
            def check(dx):
                trial = x.copy()
                trial[self.active - 1] += dx
                f, _, res = self.balance(trial)
                return res <= KRYLOV_TOL, f[self.active - 1].copy()

            budget = _Budget(plan.budget(), self.bar)
            dx = _krylov_solve(A, b, check, plan.order, budget)
            if dx is not None:
                return dx, "sparse-ilu-krylov"
            tried = f"the preconditioned iteration did not converge in {budget.used:,} iterations"
        how = plan.exact()
        if how == "colamd":
            return _lu_solve(A, b), "sparse-lu"
        if how == "order":
            return _in_order(_ordered_lu(A, plan.order).solve, plan.order)(b), "sparse-lu"
        raise TooLarge(plan.too_large(tried))


def solve(n, src, dst, rate, km=None, progress=None):
    """As kernels.equilibrium.solve: (unique, bounded, x or None, relative residual,
    iterations, method), by sparse matrices.  Linear kinetics: one solve, method
    "sparse-lu" or "sparse-ilu-krylov".  Michaelis-Menten: method "sparse-newton", or
    NeedsDense when Newton ends without a certified verdict.  TooLarge when no solve that
    fits metabnet.solve.limits can finish; with Michaelis-Menten kinetics before the first
    Newton step.

    `progress`: None, or a callable as metabnet.progress.progress_bar (it is given total,
    unit and note): from limits.PROGRESS_MIN nodes the solve's plan goes in the note (what it
    will do, what that can cost: Plan.describe) and its iterations on the bar."""
    s = _System(n, src, dst, rate, km)
    unique, bounded = topological_labels(n, s.to_exc, s.from_in)
    mm = bool(np.isfinite(s.km[s.src > 0]).any())
    if not bounded:
        return False, False, None, np.nan, 0, "sparse-newton" if mm else "sparse"
    x = np.zeros(n)
    try:
        if not mm:
            f, _, _ = s.balance(x)
            A = s.matrix(x)
            if s.plan is not None and not s.plan.cheap:
                s.start(progress, s.plan.budget(), "iterations")
            dx, method = s.step(x, f, s.k >= limits.KRYLOV_MIN, A)
            x[s.active - 1] = dx
            res = s.balance(x)[2]
            if not res == res:
                raise NeedsDense("sparse solve gave no finite x")
            return bool(unique), True, x, res, 1, method
        s.matrix(x)
        status, res, it = _newton(s, x, progress)
    finally:
        s.close()
    if status == NO_EQUILIBRIUM:
        return False, False, None, res, it, "sparse-newton"
    if status != OK:
        raise NeedsDense("sparse Newton found no certified equilibrium")
    return bool(unique), True, x, res, it, "sparse-newton"


def _newton(s: _System, x, progress=None):
    """Damped Newton as in the Newton phase of kernels.equilibrium._continuation, with sparse
    directions and the kernels' own step (kernels.newton); (status, relative residual,
    iterations).  Returns FAILED where the kernel would go on to its rounding-level or
    capacity checks."""
    scratch = np.empty((3, s.n))
    if over_capacity(s.n, s.m, s.src, s.dst, s.rate, s.km, scratch[0]):
        return NO_EQUILIBRIUM, np.inf, 0
    if s.plan is not None and s.plan.exact() is None:  # every step needs an exact LU: refused before the first
        raise TooLarge(s.plan.too_large("Newton's steps need an exact LU"))
    s.start(progress, NEWTON_MAX_ITER, "Newton steps")
    f, _, res = s.balance(x)
    norm = l1(s.n, f)
    quiet = 0
    for it in range(1, NEWTON_MAX_ITER + 1):
        dx, _ = s.step(x, f, False)
        if s.bar is not None:
            s.bar.update(1)
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
