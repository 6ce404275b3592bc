"""Equilibria: direct solve (linear kinetics) and damped Newton (Michaelis-Menten).

Edge i is (src[i], dst[i], rate[i], km[i]); km is NaN where the flux is linear (and on
intake edges, whose flux is the constant rate).  Concentrations x are indexed by inner
node - 1.  The equilibrium returned is the limit of the trajectory from x(0) = 0: nodes
that the intake does not reach stay at 0, the others solve the balance on their own.
"""
import numpy as np

from metabnet.kernels import ode
from metabnet.kernels._jit import jit
from metabnet.kernels.kinetics import (CAP_DIVERGES, CAP_SETTLES_BEYOND, SLACK_GIVE_UP, SLACK_MIN, balance,
                                       capacity_verdict, edge_arrays, jacobian, min_slack, node_scale,
                                       rel_residual, settled)
from metabnet.kernels.linalg import lu_factor, lu_solve
from metabnet.kernels.reach import _labels, reachability

# BEYOND: the equilibrium, if there is one, lies past the certified range (a node within
# SLACK_MIN of its capacity, kinetics.SLACK_MIN): no label can be given in double precision.
OK, NO_EQUILIBRIUM, FAILED, BEYOND = 0, 1, 2, 3
NEWTON_MAX_ITER = 200  # near capacity Newton from 0 doubles x per step for ~log2(x / K) steps
NEWTON_XTOL = 1e-10  # relative Newton step (error estimate of x) at which Newton stops


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
    Michaelis-Menten reactions (a cheap, common certificate of no equilibrium: a flux
    V x / (K + x) stays below V for every finite x, so reaching V exactly is enough)."""
    w[:n] = 0.0
    for i in range(m):
        u = src[i]
        if u == 0:
            w[dst[i] - 1] += rate[i]
        elif u != dst[i]:
            w[u - 1] -= rate[i]
    for v in range(n):
        if w[v] >= 0.0 and _has_mm_out(n, m, src, dst, km, v + 1):
            return True
    return False


@jit
def _has_mm_out(n, m, src, dst, km, v):
    """v has a reaction out, all of them Michaelis-Menten (only then a capacity applies)."""
    found = False
    for i in range(m):
        if src[i] == v and dst[i] != v:
            if km[i] != km[i]:
                return False
            found = True
    return found


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
def _verdict(n, m, src, dst, rate, km, x, f, gross, s1, s2, tol):
    """OK when x (with f, gross its balance) is an equilibrium to the estimated relative
    error tol (kinetics.settled) inside the certified range; BEYOND when it is one but some
    node runs within SLACK_MIN of its capacity; FAILED otherwise.  s1, s2: n scratch."""
    node_scale(n, m, src, dst, rate, km, x, s1)
    if not (settled(n, f, gross, s1) <= tol):
        return FAILED
    return _range_status(n, m, src, dst, rate, km, x, s1, s2)


@jit
def _range_status(n, m, src, dst, rate, km, x, s1, s2):
    """OK for an equilibrium x with every node SLACK_MIN or more from its capacity, else BEYOND."""
    if min_slack(n, m, src, dst, rate, km, x, s1, s2) < SLACK_MIN:
        return BEYOND
    return OK


@jit
def _newton(n, m, src, dst, rate, km, active, idx, A, b, x, x0, f, gross):
    """Damped Newton from the x given (inactive nodes at 0); the iteration of `_solve`.

    Stops when a full Newton step moves x by at most NEWTON_XTOL relative (or, at rounding
    level, when the estimated relative error kinetics.settled stays below it for three
    steps); a residual relative to the gross flux would accept x far off near capacity,
    where the balance barely moves with x.  An iterate within SLACK_GIVE_UP of a capacity
    asks kinetics.capacity_verdict whether there is an equilibrium at all."""
    k = _index_active(n, active, idx)
    linear = True
    for i in range(m):
        if src[i] > 0 and km[i] == km[i]:
            linear = False
    if not linear and _over_capacity(n, m, src, dst, rate, km, f):
        return NO_EQUILIBRIUM, np.inf, 0
    balance(n, m, src, dst, rate, km, x, f, gross)
    norm = _l1(n, f)
    res = rel_residual(n, f, gross)
    quiet = 0
    for it in range(1, NEWTON_MAX_ITER + 1):
        jacobian(n, m, src, dst, rate, km, x, idx, k, -1.0, A)  # A = -J (= L^T when linear)
        if not lu_factor(k, A):
            return FAILED, np.inf, it
        for v in range(1, n + 1):
            if idx[v] >= 0:
                b[idx[v]] = f[v - 1]
        lu_solve(k, A, b)
        lam = 1.0
        step = 0.0  # the full step relative to x: the error of x before it (quadratic convergence)
        for v in range(1, n + 1):
            j = idx[v]
            if j >= 0:
                if x[v - 1] + b[j] < 0.0:
                    lam = min(lam, 0.9 * x[v - 1] / -b[j])
                if b[j] != 0.0:
                    step = max(step, abs(b[j]) / max(abs(x[v - 1] + b[j]), 1e-300))
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
        else:  # no decrease along the Newton direction: stalled (at rounding level, or lost)
            x[:n] = x0[:n]
            balance(n, m, src, dst, rate, km, x, f, gross)
            res = rel_residual(n, f, gross)
            return _verdict(n, m, src, dst, rate, km, x, f, gross, x0, b, 1e3 * NEWTON_XTOL), res, it
        norm = new_norm
        res = rel_residual(n, f, gross)
        if linear:
            return (OK if res == res else FAILED), res, it
        if lam == 1.0 and step <= NEWTON_XTOL:
            return _range_status(n, m, src, dst, rate, km, x, x0, b), res, it
        # at rounding level (a node fed by a flux that is not near capacity, close to its own)
        # the step stays above NEWTON_XTOL: three steps with the balance at rounding level do
        if _verdict(n, m, src, dst, rate, km, x, f, gross, x0, b, NEWTON_XTOL) == FAILED:
            quiet = 0
        else:
            quiet += 1
            if quiet == 3:
                return _verdict(n, m, src, dst, rate, km, x, f, gross, x0, b, NEWTON_XTOL), res, it
        if not (min_slack(n, m, src, dst, rate, km, x, x0, b) >= SLACK_GIVE_UP):
            cv = capacity_verdict(n, m, src, dst, rate, km)
            if cv == CAP_DIVERGES:
                return NO_EQUILIBRIUM, res, it
            if cv == CAP_SETTLES_BEYOND:
                return BEYOND, res, it
            return FAILED, res, it  # Newton lost its way: the ODE decides
    return FAILED, res, NEWTON_MAX_ITER


@jit
def equilibrium(n, m, src, dst, rate, km, to_exc, from_in, idx, A, b, x, x0, f, gross):
    """Labels and equilibrium of one network from its reachability (kernels.reach._reach).

    Returns (unique, bounded, relative residual, iterations, status); x holds the limit of
    the trajectory from 0 when bounded, NaN otherwise.  For Michaelis-Menten kinetics a
    topologically bounded network can still have no equilibrium (a node past capacity:
    status NO_EQUILIBRIUM); status FAILED means Newton stalled without a verdict, and the
    caller decides by integrating the ODE (kernels.ode); status BEYOND means no label can be
    certified: an equilibrium, if any, runs a node within kinetics.SLACK_MIN of its capacity.
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


BEYOND_MESSAGE = (f"an equilibrium, if any, lies past the certified range: a node runs within "
                  f"{SLACK_MIN:g} of its capacity (x > {1 / SLACK_MIN:g} K), closer than double "
                  "precision can resolve (metabnet.network, accepted numbers)")


class BeyondRange(RuntimeError):
    """The solver cannot certify a label: the network's equilibrium, if it has one, lies
    closer to a node's capacity than kinetics.SLACK_MIN (status BEYOND)."""


def solve(n, src, dst, rate, km=None, x0=None):
    """Public wrapper: (unique, bounded, x or None, relative residual, iterations, method).

    method is "direct" (linear), "newton" (Michaelis-Menten), or "newton+ode" when Newton
    stalled and the ODE integrator decided.

    `x0` (n values) warm-starts Newton for Michaelis-Menten kinetics (method "newton-warm";
    linear kinetics solve directly whatever the start).  Only a certified equilibrium is
    accepted from a warm start: when Newton from x0 ends without one, the cold solve runs
    and decides (method "newton-warm+" the cold method; iterations count both).

    Raises BeyondRange (a RuntimeError) when the equilibrium, if any, lies closer to a
    node's capacity than kinetics.SLACK_MIN: no label is certified there."""
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
        if st == ode.BEYOND:
            status = BEYOND
        unique, bounded = _labels(n, to_exc, from_in)[0] and st == ode.CONVERGED, st == ode.CONVERGED
        it, method = it + steps, "newton+ode"
    if status == BEYOND:
        raise BeyondRange(BEYOND_MESSAGE)
    return bool(unique), bool(bounded), (x if bounded else None), float(res), int(it), method
