"""Adaptive Rosenbrock integration of the flux balance from x(0) = 0 to steady state.

The method is the L-stable second-order Rosenbrock pair of MATLAB's ode23s (Shampine &
Reichelt 1997) with its third-order error estimate: one LU of W = I - h d J per step (per
change of step, for linear kinetics), so stiff networks (rates spanning decades) cost no
more than soft ones.  The integration stops as soon as Newton from the trajectory lands on
an equilibrium above it (the system is cooperative: the trajectory from 0 rises to it), or
divergence is certified.

The right-hand side has the one in-place signature ``rhs(t, x, dx, params)``; the
integrator returns a status code, never raises.
"""
import numpy as np

from metabnet.kernels._jit import jit
from metabnet.kernels.kinetics import (CAP_DIVERGES, NOISE, SAT_TRY, SLACK_MIN, all_nodes, balance,
                                       capacity_verdict, certified_divergent, components, dflux,
                                       jacobian, l1, min_slack, node_scale, rel_residual, settled, try_saturation)
from metabnet.kernels.linalg import lu_factor, lu_solve
from metabnet.kernels.newton import ACCEPT_FULL, NEWTON_XTOL, newton_bound, newton_direction, newton_step

# BEYOND: the trajectory came within 0.1 kinetics.SLACK_MIN of a node's capacity without a
# proof of divergence: its limit, if any, lies past the certified range (no label).
CONVERGED, DIVERGED, FAILED, BEYOND = 0, 1, 2, 3
_D = 1.0 / (2.0 + np.sqrt(2.0))
_E32 = 6.0 + np.sqrt(2.0)
_CONFIRM = 1e4  # a steady state must hold from t to 1e4 t (slow modes show up meanwhile)
_MASS_RTOL = 1e-6  # ... with the total mass growing by less than this
# The trajectory from 0 is a lower bound of every equilibrium: once a node runs within
# 0.1 SLACK_MIN of its capacity, every equilibrium lies past the certified range.
_GIVE_UP = 0.1 * SLACK_MIN
RTOL, ATOL, SS_TOL, T_MAX, MAX_STEPS = 1e-4, 1e-12, 1e-12, 1e12, 100_000  # the defaults of every caller
POLISH_AT = 1e-2  # share of the intake left unbalanced at which Newton polish is first tried
POLISH_ITER = 8  # Newton steps of one polish


@jit
def rhs(t, x, dx, params):
    """dx/dt of the network (autonomous: t is unused); params = (n, m, src, dst, rate, km,
    gross, idx) with idx the node index of kinetics.all_nodes."""
    n, m, src, dst, rate, km, gross, _ = params
    balance(n, m, src, dst, rate, km, x, dx, gross)


@jit
def jac(t, x, J, params):
    """J = d(dx/dt)/dx, dense n x n."""
    n, m, src, dst, rate, km, _, idx = params
    jacobian(n, m, src, dst, rate, km, x, idx, n, 1.0, J)


@jit
def _failed(n, m, src, dst, rate, km):
    """The status when the integration breaks down: DIVERGED where kinetics.capacity_verdict
    proves it (a trapped class fed for ever drives the step control to rounding level long
    before x overflows), else FAILED."""
    return DIVERGED if capacity_verdict(n, m, src, dst, rate, km) == CAP_DIVERGES else FAILED


@jit
def _slowest(n, m, src, dst, rate, km, x):
    """The slowest linearised rate d flux / d x_u of a reaction out of an inner node at x."""
    slow = np.inf
    for i in range(m):
        u = src[i]
        if u > 0 and u != dst[i]:
            slow = min(slow, dflux(rate[i], km[i], x[u - 1]))
    return slow if slow > 0.0 else 1e-300


@jit
def _rounding_error(n, gross, d):
    """The relative error of x that rounding of the balance alone leaves (kinetics.settled)."""
    e = 0.0
    for v in range(n):
        if d[v] > 0.0:
            e = max(e, NOISE * gross[v] / d[v])
    return e


@jit
def _polish(n, m, src, dst, rate, km, x, idx, k, W, work, rtol, atol):
    """Newton (kernels.newton, full steps) from the trajectory's x on the k nodes of idx (the
    ones the intake reaches), into work[7] (balance work[2], gross work[3]; work[4:7] scratch);
    True when it lands on an equilibrium (a full step of at most NEWTON_XTOL relative, or the
    balance at rounding level, kinetics.settled) that lies above x: the trajectory from 0
    rises (cooperative system) and stays below every equilibrium above it, so that
    equilibrium (x to within the step's tolerance rtol, atol) is its limit."""
    xn, f, gross, b, s1, x0 = work[7], work[2], work[3], work[6], work[4], work[5]
    xn[:n] = x[:n]
    balance(n, m, src, dst, rate, km, xn, f, gross)
    for _ in range(POLISH_ITER):
        node_scale(n, m, src, dst, rate, km, xn, s1)
        if settled(n, f, gross, s1) <= NEWTON_XTOL:
            break
        if not newton_direction(n, m, src, dst, rate, km, xn, f, idx, k, 0.0, W, b):
            return False
        lam, step = newton_bound(n, idx, xn, b)
        if lam < 1.0:  # the full step leaves the non-negative orthant
            return False
        newton_step(n, m, src, dst, rate, km, idx, b, 1.0, 0.0, ACCEPT_FULL, xn, x0, f, gross)
        for v in range(1, n + 1):
            if idx[v] >= 0 and not (xn[v - 1] >= 0.0):
                return False
        if step <= NEWTON_XTOL:
            break
    else:
        return False
    for v in range(n):
        if xn[v] < x[v] - rtol * xn[v] - atol:
            return False
    return True


@jit
def integrate(n, m, src, dst, rate, km, active, x, W, work, rtol, atol, ss_tol, t_max, max_steps):
    """Integrate from x = 0.  Returns (status, t, accepted steps, relative residual).

    The error of a step is controlled relative to the largest |x_v| (MATLAB's NormControl),
    so nodes still near 0 do not hold the step back.  Linear kinetics keep the step on a
    ladder of powers of 2, so that one LU of W serves every step until the step changes;
    Michaelis-Menten refactor W every step.

    Steady state: each time the balance left, sum |dx/dt| over the total intake, has fallen
    to POLISH_AT (and then tenfold again), Newton from x (`_polish`) must land on an
    equilibrium above x: the trajectory from 0 rises and stays below it, so it is the limit;
    it then replaces x.  Failing that, the steady state of the old rule: the estimated
    relative error of x (kinetics.settled) <= ss_tol from its first sight at t1 until 1e4 t1,
    with the total mass sum(x) growing by less than 1e-6 (or the rounding-level error, near
    capacity) meanwhile.
    Divergence (Michaelis-Menten): at every accepted step, a node or strongly connected set
    whose inflow at a lower bound of the trajectory under x reaches the total V of its exits
    (kinetics.certified_divergent), or, once some node nears its capacity, a set of nodes
    near capacity fed past it at a sub-solution built around x
    (kinetics.saturation_certificate, tried again each time the nearest comes tenfold
    closer); or t reaches t_max in units of the slowest linearised rate at the current x
    (near capacity the approach to x* slows like (K / x*)^2: the horizon follows it), or x
    overflows, or the trajectory, a lower bound of every
    equilibrium, comes within 0.1 SLACK_MIN of a capacity and kinetics.capacity_verdict
    proves divergence (else status BEYOND, as for a steady state within SLACK_MIN of one),
    or the integration breaks down where capacity_verdict proves divergence.  Callers
    (kernels.equilibrium.label) decide the topological cases before integrating.
    ``active``: the nodes the intake reaches (n + 2 flags); ``work`` is a (8, n) scratch;
    W an (n, n) scratch."""
    gross, f0, f1, f2, k1, k2, k3, xn = work[0], work[1], work[2], work[3], work[4], work[5], work[6], work[7]
    idx = np.empty(n + 2, np.int64)
    all_nodes(n, idx)
    sub = np.empty(n + 2, np.int64)  # the reached nodes, for the Newton polish
    k_sub = 0
    for v in range(1, n + 1):
        sub[v] = k_sub if active[v] else -1
        k_sub += active[v]
    sub[0] = sub[n + 1] = -1
    comp = np.empty(n + 2, np.int64)
    iw = np.empty((7, n + 3), np.int64)
    params = (n, m, src, dst, rate, km, gross, idx)
    slow = np.inf
    fast = 0.0
    for i in range(m):
        if src[i] > 0 and src[i] != dst[i]:
            r = rate[i] if km[i] != km[i] else rate[i] / km[i]
            slow = min(slow, r)
            fast = max(fast, r)
    if not (slow < np.inf):
        slow = fast = 1.0
    t_end = t_max / slow
    mm = False
    for i in range(m):
        if src[i] > 0 and km[i] == km[i]:
            mm = True
    ncomp = components(n, m, src, dst, comp, iw) if mm else n
    x[:n] = 0.0
    rhs(0.0, x, f0, params)
    intake = max(l1(n, f0), 1e-300)
    h = 1e-3 / fast
    h_lu = -1.0  # the step W's LU was made for
    t = 0.0
    steps = 0
    steady_since, steady_mass, mass_tol = -1.0, 0.0, _MASS_RTOL
    polish_below = POLISH_AT
    sat_next = SAT_TRY
    for _ in range(max_steps):
        if mm or h != h_lu:
            jac(t, x, W, params)
            for i in range(n):
                for j in range(n):
                    W[i, j] = -h * _D * W[i, j]
                W[i, i] += 1.0
            if not lu_factor(n, W):
                return _failed(n, m, src, dst, rate, km), t, steps, np.inf
            h_lu = h
        k1[:n] = f0[:n]
        lu_solve(n, W, k1)
        for i in range(n):
            xn[i] = x[i] + 0.5 * h * k1[i]
        rhs(t, xn, f1, params)
        for i in range(n):
            k2[i] = f1[i] - k1[i]
        lu_solve(n, W, k2)
        for i in range(n):
            k2[i] += k1[i]
            xn[i] = x[i] + h * k2[i]
        rhs(t, xn, f2, params)
        for i in range(n):
            k3[i] = f2[i] - _E32 * (k2[i] - f1[i]) - 2.0 * (k1[i] - f0[i])
        lu_solve(n, W, k3)
        big = 0.0  # the error is controlled relative to the norm of x (MATLAB's NormControl)
        for i in range(n):
            big = max(big, abs(x[i]), abs(xn[i]))
        sc = atol + rtol * big
        err = 0.0
        for i in range(n):
            err = max(err, abs(h / 6.0 * (k1[i] - 2.0 * k2[i] + k3[i])) / sc)
        if not (err == err):  # NaN: shrink hard and retry
            h *= 0.1
            continue
        if err <= 1.0:
            t += h
            steps += 1
            x[:n] = xn[:n]
            f0[:n] = f2[:n]
            res = rel_residual(n, f0, gross)
            mass = np.abs(x[:n]).sum()
            node_scale(n, m, src, dst, rate, km, x, k1)  # k1, k2: free until the next step
            x_err = settled(n, f0, gross, k1)
            imbalance = l1(n, f0) / intake  # the share of the intake not yet balanced
            if imbalance <= polish_below:
                polish_below = 0.1 * imbalance
                if _polish(n, m, src, dst, rate, km, x, sub, k_sub, W, work, rtol, atol):
                    h_lu = -1.0  # W holds the polish's LU now
                    x[:n] = xn[:n]
                    res = rel_residual(n, f1, f2)
                    if mm and min_slack(n, m, src, dst, rate, km, x, k1, k2) < SLACK_MIN:
                        return BEYOND, t, steps, res
                    return CONVERGED, t, steps, res
                h_lu = -1.0
                node_scale(n, m, src, dst, rate, km, x, k1)  # k1 held the polish's scratch
            if x_err <= ss_tol and (steady_since < 0.0 or mass <= (1.0 + mass_tol) * steady_mass):
                if steady_since < 0.0:
                    steady_since, steady_mass = t, mass
                    mass_tol = max(_MASS_RTOL, 10.0 * _rounding_error(n, gross, k1))
                elif t >= _CONFIRM * steady_since:
                    if mm and min_slack(n, m, src, dst, rate, km, x, k1, k2) < SLACK_MIN:
                        return BEYOND, t, steps, res  # steady, but too near capacity to certify
                    return CONVERGED, t, steps, res
            else:
                steady_since = -1.0
            if mm:
                if certified_divergent(n, m, src, dst, rate, km, active, x, comp, ncomp, iw, k3, f1, f2, k1, k2):
                    return DIVERGED, t, steps, res
                slack = min_slack(n, m, src, dst, rate, km, x, k1, k2)
                proved, sat_next = try_saturation(n, m, src, dst, rate, km, active, x, slack, sat_next, iw[1], W)
                if proved:
                    return DIVERGED, t, steps, res
                if not (slack >= _GIVE_UP):
                    if capacity_verdict(n, m, src, dst, rate, km) == CAP_DIVERGES:
                        return DIVERGED, t, steps, res
                    return BEYOND, t, steps, res
                t_end = max(t_end, t_max / _slowest(n, m, src, dst, rate, km, x))
            if t >= t_end or not (mass < 1e300):
                return DIVERGED, t, steps, res
        fac = min(5.0, max(0.2, 0.8 * (max(err, 1e-12)) ** (-1.0 / 3.0)))
        if not mm:  # linear: steps on a ladder of powers of 2, so that W's LU serves many steps
            fac = 2.0 ** np.floor(np.log2(fac))
        h *= fac
        if h < 1e-14 * max(t, 1.0 / fast):
            return _failed(n, m, src, dst, rate, km), t, steps, np.inf
    return _failed(n, m, src, dst, rate, km), t, steps, np.inf
