"""Newton's method on the flux balance, once for every solver: the direction (`newton_direction`,
the one scatter -> LU -> gather of the dense kernels), the damped step from it (`newton_bound`,
`newton_step`), and the verdicts on an iterate (`over_capacity`, `verdict`, `range_status`).

Used by the continuation and the direct solve (kernels.equilibrium), the ODE's polish
(kernels.ode) and the sparse route (metabnet.solve.sparse, which computes the direction with
sparse matrices and takes the step here).  Edge arrays and x as in kernels.kinetics; idx maps
inner node v to its row idx[v] >= 0 in the solve (kinetics.index_nodes), -1 for the others.
"""
import numpy as np

from metabnet.kernels._jit import jit
from metabnet.kernels.kinetics import SLACK_MIN, balance, jacobian, l1, min_slack, node_scale, settled
from metabnet.kernels.linalg import lu_factor, lu_solve

# BEYOND: the equilibrium, if there is one, lies past the certified range (a node within
# SLACK_MIN of its capacity, kinetics.SLACK_MIN): no label can be given in double precision.
OK, NO_EQUILIBRIUM, FAILED, BEYOND = 0, 1, 2, 3
NEWTON_XTOL = 1e-10  # relative Newton step (error estimate of x) at which Newton stops
LINE_SEARCH = 30  # halvings of the step before `newton_step` gives up
# what `newton_step` accepts: any finite balance (continuation: the pseudo time step adapts),
# an Armijo decrease of the L1 imbalance (damped Newton), the full step as it is (the ODE's polish)
ACCEPT_FINITE, ACCEPT_DECREASE, ACCEPT_FULL = 0, 1, 2


@jit
def newton_direction(n, m, src, dst, rate, km, x, f, idx, k, shift, A, b):
    """b[:k] <- (shift I - J(x))^-1 f over the k nodes of idx: the Newton direction for the
    balance f at x (shift 0; linear kinetics: L^-T f from any x), or the step of linearly
    implicit Euler with pseudo time step 1 / shift.  False when the LU breaks down (a zero
    or non-finite pivot).  A: a k x k (or larger) scratch, overwritten by the factors."""
    jacobian(n, m, src, dst, rate, km, x, idx, k, -1.0, A)  # A = -J (L^T when linear)
    if shift != 0.0:
        for j in range(k):
            A[j, j] += shift
    if not lu_factor(k, A):
        return False
    for v in range(1, n + 1):
        if idx[v] >= 0:
            b[idx[v]] = f[v - 1]
    lu_solve(k, A, b)
    return True


@jit
def newton_bound(n, idx, x, b):
    """(lam, step) for the direction b at x: lam <= 1 the largest damping that keeps x + lam b
    non-negative with a margin (0.9 of the way to 0 on the nodes that would go below), step
    the largest |b| relative to |x + b| (for a Newton step: the error of x before it)."""
    lam = 1.0
    step = 0.0
    for v in range(1, n + 1):
        j = idx[v]
        if j >= 0:
            if x[v - 1] + b[j] < 0.0:
                lam = min(lam, 0.9 * x[v - 1] / -b[j])
            if b[j] != 0.0:
                step = max(step, abs(b[j]) / max(abs(x[v - 1] + b[j]), 1e-300))
    return lam, step


@jit
def newton_step(n, m, src, dst, rate, km, idx, b, lam, norm, accept, x, x0, f, gross):
    """x <- x + lam b on the nodes of idx, halving lam until the step is accepted (`accept`:
    ACCEPT_FINITE, ACCEPT_DECREASE below the L1 imbalance `norm` of x, ACCEPT_FULL), at most
    LINE_SEARCH times; f, gross the balance at the new x.  Returns (accepted, lam, the L1
    imbalance of the new x); when no step was accepted x is as given (f, gross its balance).
    x0: n scratch."""
    x0[:n] = x[:n]
    new_norm = norm
    for _ in range(LINE_SEARCH):
        for v in range(1, n + 1):
            j = idx[v]
            if j >= 0:
                x[v - 1] = x0[v - 1] + lam * b[j]
        balance(n, m, src, dst, rate, km, x, f, gross)
        new_norm = l1(n, f)
        if accept == ACCEPT_FULL:
            return True, lam, new_norm
        if accept == ACCEPT_FINITE:
            if new_norm == new_norm and new_norm < np.inf:
                return True, lam, new_norm
        elif new_norm <= (1.0 - 1e-4 * lam) * norm:
            return True, lam, new_norm
        lam *= 0.5
    x[:n] = x0[:n]
    balance(n, m, src, dst, rate, km, x, f, gross)
    return False, lam, new_norm


@jit
def over_capacity(n, m, src, dst, rate, km, w):
    """True when some node's constant intake alone reaches the total V of its outgoing
    Michaelis-Menten reactions (a cheap, common certificate of no equilibrium: a flux
    V x / (K + x) stays below V for every finite x, so reaching V exactly is enough).
    w: n scratch."""
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
def verdict(n, m, src, dst, rate, km, x, f, gross, s1, s2, tol):
    """OK when x (with f, gross its balance) is an equilibrium to the estimated relative
    error tol (kinetics.settled) inside the certified range; BEYOND when it is one but some
    node runs within SLACK_MIN of its capacity; FAILED otherwise.  s1, s2: n scratch."""
    node_scale(n, m, src, dst, rate, km, x, s1)
    if not (settled(n, f, gross, s1) <= tol):
        return FAILED
    return range_status(n, m, src, dst, rate, km, x, s1, s2)


@jit
def range_status(n, m, src, dst, rate, km, x, s1, s2):
    """OK for an equilibrium x with every node SLACK_MIN or more from its capacity, else BEYOND."""
    if min_slack(n, m, src, dst, rate, km, x, s1, s2) < SLACK_MIN:
        return BEYOND
    return OK
