"""Equilibria and existence labels of one network with the dense kernels: `label`, called by
gen (kernels.generator) and, below metabnet.solve.limits.SPARSE_MIN nodes or when the sparse
route has no verdict, by solve, score --refine and knockout (metabnet.solve.dispatch).
Larger networks are labelled by metabnet.solve.sparse (and large linear `gen` runs by it too,
kernels.generator.M_DEFER), which shares the Newton step and verdicts (kernels.newton).

Edge i is (src[i], dst[i], rate[i], km[i]); km is NaN where the flux is linear (and on
intake edges, whose flux is the constant rate).  Concentrations x are indexed by inner
node - 1.  The equilibrium returned is the limit of the trajectory from x(0) = 0: nodes
that the intake does not reach stay at 0, the others solve the balance on their own.

Linear kinetics: one LU solve of L^T x = phi (every reached node reaching excretion), the
Newton step of kernels.newton from 0.
Michaelis-Menten: pseudo-transient continuation (linearly implicit Euler on the trajectory
from 0, its step grown by switched evolution relaxation as the balance falls, then pure
Newton), with divergence certificates checked along the way: the system is cooperative,
so a point with dx/dt >= 0 at every node lies below the one non-negative equilibrium if
there is any (every reached node reaching excretion makes it unique); a node or set of
nodes whose inflow at such a point reaches the total V of its exits (all Michaelis-Menten)
proves that there is none.  The point is a lower bound under the iterate
(kinetics.certified_divergent) or a sub-solution built around the nodes that run away
(kinetics.saturation_certificate).  Close to a capacity kinetics.capacity_verdict decides;
when continuation ends without a verdict, the ODE (kernels.ode) does.
"""
import numpy as np

from metabnet.kernels import ode
from metabnet.kernels._jit import jit
from metabnet.kernels.kinetics import (CAP_DIVERGES, CAP_SETTLES_BEYOND, SAT_TRY, SLACK_GIVE_UP, SLACK_MIN,
                                       balance, capacity_verdict, certified_divergent, components, dflux,
                                       edge_arrays, index_nodes, l1, min_slack, node_scale, rel_residual,
                                       settled, try_saturation)
from metabnet.kernels.newton import (ACCEPT_DECREASE, ACCEPT_FINITE, BEYOND, FAILED, NEWTON_XTOL, NO_EQUILIBRIUM, OK,
                                     newton_bound, newton_direction, newton_step, over_capacity, range_status,
                                     verdict)
from metabnet.kernels.reach import reachability, topological_labels

# how `label` decided; HOW_WARM is added when a warm start was given (Michaelis-Menten only),
# HOW_COLD as well when it certified nothing and the cold start decided
HOW_DIRECT, HOW_NEWTON, HOW_NEWTON_ODE, HOW_ODE, HOW_WARM, HOW_COLD = 0, 1, 2, 3, 4, 8
HOW_NAMES = {HOW_DIRECT: "direct", HOW_NEWTON: "newton", HOW_NEWTON_ODE: "newton+ode", HOW_ODE: "ode"}
METHOD_DIRECT, METHOD_ODE = 0, 1  # the `method` argument of `label`
MAX_ITER = 200  # continuation + Newton steps (near capacity x doubles per step for ~log2(x / K))
PTC_SWITCH = 1e-3  # estimated relative error of x below which continuation hands over to Newton
PTC_GROW = 1e3  # largest growth of the pseudo time step in one step
PTC_MIN_GROW = 10.0  # ... and its least growth, when the balance does not rise
SLACK_ASK = 1e-6  # an iterate this close to a capacity (x ~ 1e6 K) asks capacity_verdict once
PTC_DT0 = 1e4  # first pseudo time step, in units of the fastest relaxation time at the start
CERT_EVERY = 4  # steps between tries of kinetics.certified_divergent after the start (one costs about a step)


@jit
def _direct(n, m, src, dst, rate, km, active, idx, A, b, x, f, gross):
    """Linear kinetics: x solves L^T x = phi on the active nodes (one Newton step from 0, one
    LU); (status, res, 1)."""
    k = index_nodes(n, active, idx)
    x[:n] = 0.0
    balance(n, m, src, dst, rate, km, x, f, gross)
    if not newton_direction(n, m, src, dst, rate, km, x, f, idx, k, 0.0, A, b):
        return FAILED, np.inf, 1
    for v in range(1, n + 1):
        if idx[v] >= 0:
            x[v - 1] = b[idx[v]]
    balance(n, m, src, dst, rate, km, x, f, gross)
    res = rel_residual(n, f, gross)
    return (OK if res == res else FAILED), res, 1


@jit
def _continuation(n, m, src, dst, rate, km, active, idx, A, x, work, iw, comp):
    """Pseudo-transient continuation from the x given (inactive nodes at 0); returns
    (status, relative residual, steps).

    Each step solves (I / dt - J) dx = f(x) (one LU; I / dt - J is an M-matrix, so from a
    lower bound of the trajectory the step rises), then grows dt by the fall of the
    balance, dt <- dt ||f_old|| / ||f_new|| (switched evolution relaxation).  Once the
    estimated relative error of x (kinetics.settled) is below PTC_SWITCH the steps are pure
    Newton with backtracking on the L1 imbalance.  Stops, as Newton did, when a full Newton
    step moves x by at most NEWTON_XTOL relative, or at rounding level three steps running.
    Divergence: kinetics.certified_divergent (a node or strongly connected set past capacity
    at a lower bound of the trajectory under x) at the start and every CERT_EVERY steps; once
    a node uses 1 - SAT_TRY of its capacity, kinetics.saturation_certificate (the nodes near
    capacity fed past it at a sub-solution around x), again each time the nearest comes
    tenfold closer; near a capacity (an iterate within SLACK_GIVE_UP of one)
    kinetics.capacity_verdict."""
    b, x0, f, gross, s1, s2, fl, gl = work[0], work[1], work[2], work[3], work[4], work[5], work[6], work[7]
    k = index_nodes(n, active, idx)
    ncomp = components(n, m, src, dst, comp, iw)
    if certified_divergent(n, m, src, dst, rate, km, active, x, comp, ncomp, iw, x0, fl, gl, s1, s2):
        return NO_EQUILIBRIUM, np.inf, 0
    balance(n, m, src, dst, rate, km, x, f, gross)
    norm = l1(n, f)
    res = rel_residual(n, f, gross)
    # first pseudo time step: PTC_DT0 times the fastest relaxation time at x
    fastest = 0.0
    s1[:n] = 0.0
    for i in range(m):
        u = src[i]
        if u > 0 and u != dst[i] and active[u]:
            s1[u - 1] += dflux(rate[i], km[i], x[u - 1])
    for v in range(n):
        fastest = max(fastest, s1[v])
    shift = fastest / PTC_DT0  # 1 / dt; 0: Newton
    quiet = 0
    asked = False
    sat_next = SAT_TRY
    for it in range(1, MAX_ITER + 1):
        if not newton_direction(n, m, src, dst, rate, km, x, f, idx, k, shift, A, b):
            return FAILED, np.inf, it
        lam, step = newton_bound(n, idx, x, b)  # step: for a Newton step, the error of x before it
        accepted, lam, new_norm = newton_step(n, m, src, dst, rate, km, idx, b, lam, norm,
                                              ACCEPT_FINITE if shift > 0.0 else ACCEPT_DECREASE, x, x0, f, gross)
        if not accepted:  # x as it was
            res = rel_residual(n, f, gross)
            if shift > 0.0:
                return FAILED, res, it
            # Newton finds no decrease: at rounding level, or lost; continuation resumes
            if verdict(n, m, src, dst, rate, km, x, f, gross, s1, s2, 1e3 * NEWTON_XTOL) == FAILED:
                shift = fastest / PTC_DT0
                continue
            return verdict(n, m, src, dst, rate, km, x, f, gross, s1, s2, 1e3 * NEWTON_XTOL), res, it
        res = rel_residual(n, f, gross)
        if shift == 0.0 and lam == 1.0 and step <= NEWTON_XTOL:
            return range_status(n, m, src, dst, rate, km, x, s1, s2), res, it
        if it % CERT_EVERY == 0 and certified_divergent(n, m, src, dst, rate, km, active, x, comp, ncomp, iw,
                                                        x0, fl, gl, s1, s2):
            return NO_EQUILIBRIUM, res, it
        # at rounding level (a node fed by a flux that is not near capacity, close to its own)
        # the step stays above NEWTON_XTOL: three steps with the balance at rounding level do
        node_scale(n, m, src, dst, rate, km, x, s1)
        err = settled(n, f, gross, s1)
        if err <= NEWTON_XTOL:
            quiet += 1
            if quiet == 3:
                return range_status(n, m, src, dst, rate, km, x, s1, s2), res, it
        else:
            quiet = 0
        slack = min_slack(n, m, src, dst, rate, km, x, s1, s2)
        proved, sat_next = try_saturation(n, m, src, dst, rate, km, active, x, slack, sat_next, iw[1], A)
        if proved:  # some nodes ran away past their capacity
            return NO_EQUILIBRIUM, res, it
        if not asked and slack < SLACK_ASK:  # likely past capacity somewhere: ask once, early
            asked = True
            if capacity_verdict(n, m, src, dst, rate, km) == CAP_DIVERGES:
                return NO_EQUILIBRIUM, res, it
        if not (slack >= SLACK_GIVE_UP):
            cv = capacity_verdict(n, m, src, dst, rate, km)
            if cv == CAP_DIVERGES:
                return NO_EQUILIBRIUM, res, it
            if cv == CAP_SETTLES_BEYOND:
                return BEYOND, res, it
            return FAILED, res, it  # continuation lost its way: the ODE decides
        if shift > 0.0:
            if err <= PTC_SWITCH:
                shift = 0.0
            else:  # switched evolution relaxation, at least PTC_MIN_GROW while the balance falls
                ratio = new_norm / norm
                shift *= max(ratio if ratio > 1.0 else min(ratio, 1.0 / PTC_MIN_GROW), 1.0 / PTC_GROW)
                shift = max(shift, 1e-300)
        norm = new_norm
    return FAILED, res, MAX_ITER


@jit
def label(n, m, src, dst, rate, km, to_exc, from_in, method, warm, idx, A, x, work, iw, comp):
    """Labels and equilibrium of one network from its reachability (kernels.reach).

    method METHOD_DIRECT: linear kinetics one LU solve, Michaelis-Menten continuation
    (`_continuation`, from the x given when `warm`, then cold when the warm start certifies
    nothing) with the ODE deciding where it ends without a verdict; METHOD_ODE: the ODE
    integrator (kernels.ode) alone, after the certificates that need no integration.

    Returns (unique, bounded, relative residual, iterations, how, status): x holds the limit
    of the trajectory from 0 when bounded, NaN otherwise; how is a HOW_* code (plus HOW_WARM);
    status OK (a label), BEYOND (no label can be certified: an equilibrium, if any, runs a
    node within kinetics.SLACK_MIN of its capacity) or FAILED (the ODE found no verdict: the
    label says "no equilibrium", unproved).  work: (8, n), iw: (7, n + 3), comp: n + 2 scratch."""
    b, f, gross = work[0], work[2], work[3]
    unique, bounded = topological_labels(n, to_exc, from_in)
    mm = False
    for i in range(m):
        if src[i] > 0 and km[i] == km[i]:
            mm = True
    how = HOW_WARM + HOW_COLD if warm and mm and method == METHOD_DIRECT else 0
    if not bounded or (mm and over_capacity(n, m, src, dst, rate, km, f)):
        x[:n] = np.nan
        return False, False, np.nan, 0, how + (HOW_ODE if method == METHOD_ODE else HOW_NEWTON * mm), OK
    it = 0
    if method == METHOD_DIRECT:
        if not mm:
            status, res, it = _direct(n, m, src, dst, rate, km, from_in, idx, A, b, x, f, gross)
            how = HOW_DIRECT
        else:
            if warm:
                for v in range(n):
                    if not from_in[v + 1] or not (0.0 <= x[v] < np.inf):
                        x[v] = 0.0
                status, res, it = _continuation(n, m, src, dst, rate, km, from_in, idx, A, x, work, iw, comp)
                if status == OK:
                    how -= HOW_COLD
            if not warm or status != OK:
                x[:n] = 0.0
                status, res, cold = _continuation(n, m, src, dst, rate, km, from_in, idx, A, x, work, iw, comp)
                it += cold
            how += HOW_NEWTON
        if status == OK or status == BEYOND:
            if status == BEYOND:
                x[:n] = np.nan
            return unique, status == OK, res, it, how, status
        if status == NO_EQUILIBRIUM:
            x[:n] = np.nan
            return False, False, np.nan, it, how, OK
        how += HOW_NEWTON_ODE - HOW_NEWTON  # continuation stalled: the ODE decides
    else:
        how = HOW_ODE
    st, _, steps, res = ode.integrate(n, m, src, dst, rate, km, from_in, x, A, work, ode.RTOL, ode.ATOL,
                                      ode.SS_TOL, ode.T_MAX, ode.MAX_STEPS)
    it += steps
    if st == ode.CONVERGED:
        return unique, True, res, it, how, OK
    x[:n] = np.nan
    return False, False, np.nan, it, how, (BEYOND if st == ode.BEYOND else FAILED if st == ode.FAILED else OK)


BEYOND_MESSAGE = (f"an equilibrium, if any, lies past the certified range: a node runs within "
                  f"{SLACK_MIN:g} of its capacity (x > {1 / SLACK_MIN:g} K), closer than double "
                  "precision can resolve (metabnet.network, accepted numbers)")


class BeyondRange(RuntimeError):
    """The solver cannot certify a label: the network's equilibrium, if it has one, lies
    closer to a node's capacity than kinetics.SLACK_MIN (status BEYOND)."""


class Undecided(RuntimeError):
    """The ODE integration ended without a verdict (status FAILED)."""


def how_name(how):
    """The method string of a `label` how code: "direct", "newton", "newton+ode", "ode";
    warm starts "newton-warm" (certified from the start) or "newton-warm+" the cold method."""
    base = HOW_NAMES[how & (HOW_WARM - 1)]
    if not how & HOW_WARM:
        return base
    return "newton-warm+" + base if how & HOW_COLD else "newton-warm"


def solve(n, src, dst, rate, km=None, x0=None, method="direct"):
    """Public wrapper of `label`: (unique, bounded, x or None, relative residual,
    iterations, method name).

    method "direct": linear kinetics solve directly; Michaelis-Menten by continuation
    ("newton"), or "newton+ode" when it ended without a verdict and the ODE decided.
    method "ode": the ODE integrator alone ("ode").

    `x0` (n values, method "direct") warm-starts Michaelis-Menten continuation ("newton-warm";
    linear kinetics solve directly whatever the start).  Only a certified equilibrium is
    accepted from a warm start: otherwise the cold solve decides ("newton-warm+" the cold
    method; iterations count both).

    Raises BeyondRange (a RuntimeError) when the equilibrium, if any, lies closer to a
    node's capacity than kinetics.SLACK_MIN: no label is certified there; Undecided (a
    RuntimeError) when method "ode" ends without a verdict."""
    if method not in ("direct", "ode"):
        raise ValueError(f"unknown method {method!r}")
    if x0 is not None and method != "direct":
        raise ValueError("a start x0 is for the direct method only")
    src, dst, rate, km = edge_arrays(n, src, dst, rate, km)
    m = src.shape[0]
    to_exc, from_in = reachability(n, src, dst)
    x = np.zeros(n)
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64).reshape(-1)
        if x0.size != n:
            raise ValueError(f"x0 must hold n = {n} values, got {x0.size}")
        x[:] = x0
    unique, bounded, res, it, how, status = label(
        n, m, src, dst, rate, km, to_exc, from_in, METHOD_ODE if method == "ode" else METHOD_DIRECT,
        x0 is not None, np.empty(n + 2, np.int64), np.empty((n, n)), x, np.empty((8, n)),
        np.empty((7, n + 3), np.int64), np.empty(n + 2, np.int64))
    if status == BEYOND:
        raise BeyondRange(BEYOND_MESSAGE)
    if status == FAILED and method == "ode":
        raise Undecided("ODE integration failed to reach a verdict")
    return bool(unique), bool(bounded), (x if bounded else None), float(res), int(it), how_name(how)
