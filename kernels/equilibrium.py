"""Equilibria: direct solve (linear kinetics) and damped Newton (Michaelis-Menten).

Edge i is (src[i], dst[i], rate[i], km[i]); km is NaN where the flux is linear (and on
intake edges, whose flux is the constant rate).  Concentrations x are indexed by inner
node - 1.  The equilibrium returned is the limit of the trajectory from x(0) = 0: nodes
that the intake does not reach stay at 0, the others solve the balance on their own.
"""
import numpy as np

from metabnet.kernels import ode
from metabnet.kernels._jit import jit
from metabnet.kernels.kinetics import balance, edge_arrays, jacobian, rel_residual
from metabnet.kernels.linalg import lu_factor, lu_solve
from metabnet.kernels.reach import _labels, reachability

OK, NO_EQUILIBRIUM, FAILED = 0, 1, 2
NEWTON_MAX_ITER = 100
NEWTON_RTOL = 1e-13  # relative flux balance at which Newton stops
_X_BLOWUP = 1e15  # concentrations past this (relative to max K) mean no equilibrium


@jit
def _index_active(n, active, idx):
    k = 0
    for v in range(1, n + 1):
        if active[v]:
            idx[v] = k
            k += 1
        else:
            idx[v] = -1
    idx[0] = -1
    idx[n + 1] = -1
    return k


@jit
def _l1(n, f):
    s = 0.0
    for v in range(n):
        s += abs(f[v])
    return s


@jit
def _over_capacity(n, m, src, dst, rate, km, w):
    """True when some node's constant intake alone reaches the total V of its outgoing
    Michaelis-Menten reactions (a cheap, common certificate of no equilibrium)."""
    w[:n] = 0.0
    for i in range(m):
        u = src[i]
        if u == 0:
            w[dst[i] - 1] += rate[i]
        elif u != dst[i]:
            w[u - 1] -= rate[i]
    for v in range(n):
        if w[v] > 0.0:
            return True
    return False


@jit
def _solve(n, m, src, dst, rate, km, active, idx, A, b, x, x0, f, gross):
    """Solve the balance on the active nodes; returns (status, relative residual, iterations).

    Newton from x = 0 with a non-negativity bound and backtracking on the L1 imbalance.
    For linear kinetics the first step is exact: it is the direct solve L^T x = phi."""
    x[:n] = 0.0
    return _newton(n, m, src, dst, rate, km, active, idx, A, b, x, x0, f, gross)


@jit
def _solve_from(n, m, src, dst, rate, km, active, idx, A, b, x, x0, f, gross):
    """As `_solve`, but Newton starts from the x given (a warm start, e.g. a predicted
    equilibrium).  Inactive nodes, and entries that are negative or not finite, start at 0
    as in the cold start.  Linear kinetics ignore the start: the direct solve needs none."""
    for v in range(n):
        if not active[v + 1] or not (0.0 <= x[v] < np.inf):
            x[v] = 0.0
    for i in range(m):
        if src[i] > 0 and km[i] == km[i]:
            return _newton(n, m, src, dst, rate, km, active, idx, A, b, x, x0, f, gross)
    return _solve(n, m, src, dst, rate, km, active, idx, A, b, x, x0, f, gross)


@jit
def _newton(n, m, src, dst, rate, km, active, idx, A, b, x, x0, f, gross):
    """Damped Newton from the x given (inactive nodes at 0); the iteration of `_solve`."""
    k = _index_active(n, active, idx)
    linear, kmax = True, 1.0
    for i in range(m):
        if src[i] > 0 and km[i] == km[i]:
            linear = False
            kmax = max(kmax, km[i])
    if not linear and _over_capacity(n, m, src, dst, rate, km, f):
        return NO_EQUILIBRIUM, np.inf, 0
    balance(n, m, src, dst, rate, km, x, f, gross)
    norm = _l1(n, f)
    res = rel_residual(n, f, gross)
    for it in range(1, NEWTON_MAX_ITER + 1):
        jacobian(n, m, src, dst, rate, km, x, idx, k, -1.0, A)  # A = -J (= L^T when linear)
        if not lu_factor(k, A):
            return FAILED, np.inf, it
        for v in range(1, n + 1):
            if idx[v] >= 0:
                b[idx[v]] = f[v - 1]
        lu_solve(k, A, b)
        lam = 1.0
        for v in range(1, n + 1):
            j = idx[v]
            if j >= 0 and x[v - 1] + b[j] < 0.0:
                lam = min(lam, 0.9 * x[v - 1] / -b[j])
        x0[:n] = x[:n]
        for _ in range(30):
            for v in range(1, n + 1):
                j = idx[v]
                if j >= 0:
                    x[v - 1] = x0[v - 1] + lam * b[j]
            balance(n, m, src, dst, rate, km, x, f, gross)
            new_norm = _l1(n, f)
            if linear or new_norm <= (1.0 - 1e-4 * lam) * norm:
                break
            lam *= 0.5
        else:  # no decrease along the Newton direction: stalled
            res = rel_residual(n, f, gross)
            return (OK if res <= 1e3 * NEWTON_RTOL else FAILED), res, it
        norm = new_norm
        res = rel_residual(n, f, gross)
        if linear:
            return (OK if res == res else FAILED), res, it
        if res <= NEWTON_RTOL:
            return OK, res, it
        if not (x[:n].max() < _X_BLOWUP * kmax):
            return NO_EQUILIBRIUM, res, it
    return (OK if res <= 1e3 * NEWTON_RTOL else FAILED), res, NEWTON_MAX_ITER


@jit
def equilibrium(n, m, src, dst, rate, km, to_exc, from_in, idx, A, b, x, x0, f, gross):
    """Labels and equilibrium of one network from its reachability (kernels.reach._reach).

    Returns (unique, bounded, relative residual, iterations, status); x holds the limit of
    the trajectory from 0 when bounded, NaN otherwise.  For Michaelis-Menten kinetics a
    topologically bounded network can still have no equilibrium (a node past capacity:
    status NO_EQUILIBRIUM); status FAILED means Newton stalled without a verdict, and the
    caller decides by integrating the ODE (kernels.ode).
    """
    return _equilibrium(n, m, src, dst, rate, km, to_exc, from_in, idx, A, b, x, x0, f, gross, False)


@jit
def _equilibrium(n, m, src, dst, rate, km, to_exc, from_in, idx, A, b, x, x0, f, gross, warm):
    """`equilibrium`, with Newton started from the x given when `warm` (`_solve_from`)."""
    unique, bounded = _labels(n, to_exc, from_in)
    if not bounded:
        x[:n] = np.nan
        return False, False, np.nan, 0, NO_EQUILIBRIUM
    if warm:
        status, res, it = _solve_from(n, m, src, dst, rate, km, from_in, idx, A, b, x, x0, f, gross)
    else:
        status, res, it = _solve(n, m, src, dst, rate, km, from_in, idx, A, b, x, x0, f, gross)
    if status != OK:
        x[:n] = np.nan
        return False, False, res, it, status
    return unique, True, res, it, OK


def solve(n, src, dst, rate, km=None, x0=None):
    """Public wrapper: (unique, bounded, x or None, relative residual, iterations, method).

    method is "direct" (linear), "newton" (Michaelis-Menten), or "newton+ode" when Newton
    stalled and the ODE integrator decided.

    `x0` (n values) warm-starts Newton for Michaelis-Menten kinetics (method "newton-warm";
    linear kinetics solve directly whatever the start).  Only a certified equilibrium is
    accepted from a warm start: when Newton from x0 ends without one, the cold solve runs
    and decides (method "newton-warm+" the cold method; iterations count both)."""
    src, dst, rate, km = edge_arrays(n, src, dst, rate, km)
    m = src.shape[0]
    to_exc, from_in = reachability(n, src, dst)
    mm = bool(np.isfinite(km).any())
    x = np.empty(n)
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
        if x0.size != n:
            raise ValueError(f"x0 must hold n = {n} values, got {x0.size}")
        x[:] = x0
    warm = x0 is not None and mm
    unique, bounded, res, it, status = _equilibrium(
        n, m, src, dst, rate, km, to_exc, from_in, np.empty(n + 2, np.int64),
        np.empty((n, n)), np.empty(n), x, np.empty(n), np.empty(n), np.empty(n), warm)
    if warm:
        if status == OK:
            return bool(unique), True, x, float(res), int(it), "newton-warm"
        unique, bounded, x, res, cold_it, method = solve(n, src, dst, rate, km)
        return unique, bounded, x, res, int(it) + cold_it, "newton-warm+" + method
    method = "newton" if mm else "direct"
    if status == FAILED:
        st, x, _, steps, res = ode.integrate_network(n, src, dst, rate, km)
        unique, bounded = _labels(n, to_exc, from_in)[0] and st == ode.CONVERGED, st == ode.CONVERGED
        it, method = it + steps, "newton+ode"
    return bool(unique), bool(bounded), (x if bounded else None), float(res), int(it), method
