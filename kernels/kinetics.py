"""The flux balance of one network, shared by the solvers (kernels.equilibrium) and the ODE
integrator (kernels.ode): edge fluxes and their derivatives, the balance dx/dt, its
relative residual and Jacobian, and the public wrappers' argument check.

Edge i is (src[i], dst[i], rate[i], km[i]); km is NaN where the flux is linear (and on
intake edges, whose flux is the constant rate).  Concentrations x are indexed by inner
node - 1.
"""
import numpy as np

from metabnet.kernels._jit import jit
from metabnet.kernels.linalg import lu_factor, lu_solve
from metabnet.kernels.reach import _bfs, _reach

# Near capacity (DESIGN §1: a node whose inflow nears the total V of its Michaelis-Menten
# reactions out) x grows like K / (unused fraction of capacity), and double precision
# resolves x only to about EPS * x / K relative: the balance at the node is a difference of
# fluxes ~V whose rounding (EPS * V) is then as large as the unused capacity itself.
# An equilibrium is certified while every node keeps at least SLACK_MIN of its capacity
# unused (one reaction out: x <= 1e12 K, x accurate to about 2e-4 relative or better);
# beyond it the solvers say so (status BEYOND) instead of giving a label.
SLACK_MIN = 1e-12
SLACK_GIVE_UP = 1e-15  # a Newton iterate this close to capacity: stop, ask capacity_verdict
NOISE = 8 * np.finfo(np.float64).eps  # rounding of a balance, relative to the gross flux (a bound:
# `balance` keeps the constant parts apart, often far better)


@jit(inline="always")
def flux(r, k, x):
    """Flux of an edge leaving a node at concentration x (k NaN: linear)."""
    if k != k:
        return r * x
    xp = max(x, 0.0)
    return r * xp / (k + xp)


@jit(inline="always")
def dflux(r, k, x):
    """d flux / dx of an edge leaving a node at concentration x."""
    if k != k:
        return r
    d = k + max(x, 0.0)
    return r * k / (d * d)


@jit
def l1(n, f):
    """sum |f[v]| over the first n entries."""
    s = 0.0
    for v in range(n):
        s += abs(f[v])
    return s


@jit
def balance(n, m, src, dst, rate, km, x, f, gross):
    """f = dx/dt at x; gross[v] = sum of |fluxes| through v (for relative residuals).

    A Michaelis-Menten flux past half its capacity (x > K) enters as V - V K / (K + x): the
    constants (V, intake phi) are summed first, then the small remainders.  Near capacity
    the balance is a difference of fluxes ~V that cancel to about the unused capacity; summed
    as single fluxes its rounding (~1e-16 V) would swamp that difference, while phi - V and
    V_in - V_out are exact when close (Sterbenz): x near 1e12 K stays exact to ~1e-15 where the
    flux enters from the intake or from another node near capacity."""
    f[:n] = 0.0
    gross[:n] = 0.0
    for i in range(m):  # the constant parts: intake, and V of saturated Michaelis-Menten fluxes
        u, v = src[i], dst[i]
        if u == v:
            continue
        if u == 0:
            q = rate[i]
        elif km[i] == km[i] and x[u - 1] > km[i]:
            q = rate[i]
        else:
            continue
        if u > 0:
            f[u - 1] -= q
        if v <= n:
            f[v - 1] += q
    for i in range(m):  # the rest: linear and unsaturated fluxes, the saturated ones' remainders
        u, v = src[i], dst[i]
        if u == v or u == 0:
            if u == 0 and v != u:
                gross[v - 1] += abs(rate[i])
            continue
        r, k, xu = rate[i], km[i], x[u - 1]
        if k == k and xu > k:
            rest = -r * k / (k + xu)  # flux = r + rest
            q = r + rest
        else:
            rest = flux(r, k, xu)
            q = rest
        f[u - 1] -= rest
        gross[u - 1] += abs(q)
        if v <= n:
            f[v - 1] += rest
            gross[v - 1] += abs(q)


@jit
def rel_residual(n, f, gross):
    """max over nodes of |dx_v/dt| / (gross flux through v)."""
    r = 0.0
    for v in range(n):
        if gross[v] > 0.0:
            r = max(r, abs(f[v]) / gross[v])
        elif f[v] != 0.0:
            return np.inf
    return r


@jit
def node_scale(n, m, src, dst, rate, km, x, d):
    """d[v] = x_v * sum over reactions out of v of d flux / d x_v: how much the balance at v
    moves when x_v moves by 100% (its outflux for linear kinetics; about the unused capacity
    V K / x for a saturated Michaelis-Menten node).  |f_v| / d[v] estimates the relative
    error of x_v, where |f_v| / gross[v] (rel_residual) does not near capacity."""
    d[:n] = 0.0
    for i in range(m):
        u = src[i]
        if u == 0 or u == dst[i]:
            continue
        d[u - 1] += x[u - 1] * dflux(rate[i], km[i], x[u - 1])


@jit
def settled(n, f, gross, d):
    """Estimated relative error of x from the balance f: max over nodes of |f_v| / d_v,
    where |f_v| up to the rounding NOISE * gross_v counts as 0 (`node_scale` for d).
    Returns inf for a node with an imbalance past rounding and d_v = 0."""
    e = 0.0
    for v in range(n):
        r = abs(f[v]) - NOISE * gross[v]
        if r > 0.0:
            if d[v] > 0.0:
                e = max(e, r / d[v])
            else:
                return np.inf
    return e


@jit
def min_slack(n, m, src, dst, rate, km, x, cap, unused):
    """Smallest unused fraction of capacity, 1 - outflux / sum V, over the nodes whose
    reactions out are all Michaelis-Menten (1.0 when there is none).  cap, unused: n scratch."""
    cap[:n] = 0.0
    unused[:n] = 0.0
    for i in range(m):
        u = src[i]
        if u == 0 or u == dst[i]:
            continue
        k = km[i]
        if k != k:
            cap[u - 1] = np.inf
        else:
            cap[u - 1] += rate[i]
            unused[u - 1] += rate[i] * k / (k + max(x[u - 1], 0.0))
    s = 1.0
    for v in range(n):
        if 0.0 < cap[v] < np.inf:
            s = min(s, unused[v] / cap[v])
    return s


@jit
def _out_flux(n, m, src, dst, rate, km, x, o, do):
    """o[v] = total flux out of v at x_v, do[v] = its derivative."""
    o[:n] = 0.0
    do[:n] = 0.0
    for i in range(m):
        u = src[i]
        if u == 0 or u == dst[i]:
            continue
        o[u - 1] += flux(rate[i], km[i], x[u - 1])
        do[u - 1] += dflux(rate[i], km[i], x[u - 1])


CERT_MAX_SWEEPS = 2000
SUB_PASSES = 4  # passes of `_lower_bound`
CERT_MARGIN = 1e-13  # inflow past capacity by this fraction (rounding cannot fake it)


# verdicts of `capacity_verdict`
CAP_DIVERGES, CAP_SETTLES, CAP_SETTLES_BEYOND, CAP_UNKNOWN = 1, 0, 2, -1


@jit
def capacity_verdict(n, m, src, dst, rate, km):
    """`capacity_sweeps` without its concentrations."""
    return capacity_sweeps(n, m, src, dst, rate, km, np.zeros(n), True)


@jit
def capacity_sweeps(n, m, src, dst, rate, km, x, cut_first):
    """Whether the trajectory from x(0) = 0 has a limit, decided on the fluxes.

    CAP_DIVERGES, a proof that it has none: topology (a node fed from the intake cannot
    reach excretion: mass only piles up there), or capacity.  Every equilibrium x* has
    T_v = phi_v + sum over u -> v of q_uv(x*_u), with T_v the flux out of v, which stays
    below the capacity sum V of v when its reactions out are all Michaelis-Menten.  The
    iteration T <- phi + inflow(x(T)) from T = 0, with x_v(T_v) the concentration at which
    v passes T_v on, gives lower bounds of T* that rise towards it (every flux increases
    with x); one past a capacity (by CERT_MARGIN, more than rounding can fake) proves that
    no equilibrium exists.
    CAP_SETTLES: the iteration settles below every capacity, with each node keeping SLACK_MIN
    of it (an equilibrium exists, in the certified range); CAP_SETTLES_BEYOND: it settles
    closer to capacity than that; CAP_UNKNOWN: out of sweeps, no verdict.
    x (n,) zeros: left holding the last sweep's concentrations, lower bounds of every
    equilibrium's (metabnet.solve.why names the nodes or sets past capacity there);
    cut_first: try the downstream cuts at x = 0 before sweeping (a quick proof, but one
    that names a set where the sweeps go on to a single node)."""
    ptr = np.empty(n + 3, np.int64)
    adj = np.empty(max(m, 1), np.int32)
    queue = np.empty(n + 2, np.int64)
    to_exc = np.empty(n + 2, np.bool_)
    from_in = np.empty(n + 2, np.bool_)
    _reach(n, m, src, dst, ptr, adj, queue, to_exc, from_in)
    for v in range(1, n + 1):
        if from_in[v] and not to_exc[v]:
            return CAP_DIVERGES
    down = _downstream(n, m, src, dst, ptr, adj, queue, to_exc)
    if cut_first and _cut_exceeded(n, m, src, dst, rate, km, down, x):
        return CAP_DIVERGES
    cap = np.zeros(n)
    n_out = np.zeros(n, np.int64)
    for i in range(m):
        u = src[i]
        if u == 0 or u == dst[i]:
            continue
        n_out[u - 1] += 1
        cap[u - 1] += np.inf if km[i] != km[i] else rate[i]
    t = np.zeros(n)  # throughput lower bounds
    inflow = np.empty(n)
    o = np.empty(n)
    do = np.empty(n)
    exact = np.ones(n, np.bool_)  # t[v] holds no rounding error
    terms = np.zeros(n, np.int64)
    rounded = np.zeros(n, np.bool_)
    for _ in range(CERT_MAX_SWEEPS):
        inflow[:] = 0.0
        terms[:] = 0
        rounded[:] = False
        for i in range(m):
            u, v = src[i], dst[i]
            if u == v or v > n:
                continue
            if u == 0:
                q, ok = rate[i], True
            elif n_out[u - 1] == 1:
                q, ok = t[u - 1], exact[u - 1]  # all of u's throughput, exactly
            else:
                q, ok = flux(rate[i], km[i], x[u - 1]), False
            if q > 0.0:
                inflow[v - 1] += q
                terms[v - 1] += 1
                rounded[v - 1] = rounded[v - 1] or not ok
        grew = False
        for v in range(n):
            ex = terms[v] <= 1 and not rounded[v]
            # an exact inflow reaching capacity is a proof (phi = V: x grows like sqrt(t));
            # a rounded one must pass it by more than rounding can fake
            if inflow[v] > 0.0 and inflow[v] >= cap[v] * (1.0 if ex else 1.0 + CERT_MARGIN):
                return CAP_DIVERGES
            if inflow[v] > t[v]:
                grew = grew or inflow[v] > t[v] * (1.0 + 1e-15)
                t[v], exact[v] = inflow[v], ex
        if not grew:
            for v in range(n):
                if 0.0 < cap[v] < np.inf and cap[v] - t[v] < SLACK_MIN * cap[v]:
                    return CAP_SETTLES_BEYOND
            return CAP_SETTLES
        # x_v(t_v) by Newton from the last (smaller) x_v: the outflux is concave and
        # increasing, so the iterates rise monotonically to the root from below
        for _ in range(200):
            _out_flux(n, m, src, dst, rate, km, x, o, do)
            done = True
            for v in range(n):
                if do[v] > 0.0 and o[v] < t[v]:
                    step = (t[v] - o[v]) / do[v]
                    if step > 1e-15 * x[v]:
                        done = False
                    x[v] += step
            if done:
                break
    if _cut_exceeded(n, m, src, dst, rate, km, down, x):
        return CAP_DIVERGES
    return CAP_UNKNOWN


@jit
def components(n, m, src, dst, comp, iw):
    """Strongly connected components of the inner nodes (Tarjan, iterative): comp[v] for
    v = 1..n; returns their number.  iw: (7, n + 3) int64 scratch."""
    ptr, adj_at, index, low, stack, call_v, call_e = iw[0], iw[1], iw[2], iw[3], iw[4], iw[5], iw[6]
    adj = np.empty(max(m, 1), np.int64)
    ptr[: n + 3] = 0
    for i in range(m):
        if 0 < src[i] <= n and 0 < dst[i] <= n:
            ptr[src[i] + 1] += 1
    for v in range(n + 2):
        ptr[v + 1] += ptr[v]
    adj_at[: n + 2] = ptr[: n + 2]
    for i in range(m):
        u, v = src[i], dst[i]
        if 0 < u <= n and 0 < v <= n:
            adj[adj_at[u]] = v
            adj_at[u] += 1
    index[: n + 2] = -1
    comp[: n + 2] = -1
    counter, ncomp, top = 0, 0, 0
    for s in range(1, n + 1):
        if index[s] >= 0:
            continue
        sp = 0
        call_v[0], call_e[0] = s, ptr[s]
        index[s] = low[s] = counter
        counter += 1
        stack[top] = s
        top += 1
        while sp >= 0:
            v, e = call_v[sp], call_e[sp]
            if e < ptr[v + 1]:
                call_e[sp] = e + 1
                w = adj[e]
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack[top] = w
                    top += 1
                    sp += 1
                    call_v[sp], call_e[sp] = w, ptr[w]
                elif comp[w] < 0:  # on the stack
                    low[v] = min(low[v], index[w])
            else:
                if low[v] == index[v]:
                    while True:
                        top -= 1
                        w = stack[top]
                        comp[w] = ncomp
                        if w == v:
                            break
                    ncomp += 1
                sp -= 1
                if sp >= 0:
                    u = call_v[sp]
                    low[u] = min(low[u], low[v])
    return ncomp


@jit
def _overflow(n, m, src, dst, rate, km, x, comp, ncomp, inflow, cap):
    """True when some set of inner nodes (comp[v] == c for one c: a node, or a strongly
    connected set) receives, at x, at least the capacity of its exits: the total V of the
    reactions leaving it, all Michaelis-Menten (by CERT_MARGIN, more than rounding can fake).
    Proves "no equilibrium" when x is a lower bound of the trajectory from 0 (dx/dt >= 0 at
    x: the fluxes into the set only grow, its exits never carry V).  inflow, cap: ncomp scratch."""
    inflow[:ncomp] = 0.0
    cap[:ncomp] = 0.0
    for i in range(m):
        u, v = src[i], dst[i]
        cu = comp[u] if 0 < u <= n else -1
        cv = comp[v] if 0 < v <= n else -1
        if cu == cv:
            continue
        if cu >= 0:
            cap[cu] += np.inf if km[i] != km[i] else rate[i]
        if cv >= 0:
            inflow[cv] += rate[i] if u == 0 else flux(rate[i], km[i], x[u - 1])
    for c in range(ncomp):
        if inflow[c] > 0.0 and inflow[c] >= cap[c] * (1.0 + CERT_MARGIN):
            return True
    return False


@jit
def _lower_bound(n, m, src, dst, rate, km, active, x, xl, f, gross, o, do):
    """xl <= x with dx/dt >= 0 at xl on every active node (a lower bound of the trajectory
    from xl on, which rises: the system is cooperative); False when SUB_PASSES passes do not
    get there.  Each pass lowers every node whose outflux exceeds its inflow by one Newton
    step on its outflux (concave: the step from above lands at or below the balance), which
    lowers the inflow of the nodes after it: the next pass sees to those."""
    xl[:n] = x[:n]
    for _ in range(SUB_PASSES):
        balance(n, m, src, dst, rate, km, xl, f, gross)
        low = False
        for v in range(n):
            if active[v + 1] and f[v] < 0.0:
                low = True
        if not low:
            return True
        _out_flux(n, m, src, dst, rate, km, xl, o, do)
        for v in range(n):
            if active[v + 1] and f[v] < 0.0:
                if do[v] > 0.0 and o[v] + f[v] > 0.0:
                    xl[v] = max(xl[v] + f[v] / do[v], 0.0)
                else:
                    xl[v] = 0.0
    return False


@jit
def certified_divergent(n, m, src, dst, rate, km, active, x, comp, ncomp, iw, xl, fl, gl, s1, s2):
    """`_overflow` for single nodes and for strongly connected sets at a lower bound of the
    trajectory below x (`_lower_bound`): True proves that the trajectory from 0 has no limit,
    when every node the intake reaches (active) reaches excretion (the non-negative
    equilibrium is then unique: the trajectory from the lower bound would rise to it).
    iw: (7, n + 3) int64 scratch; xl, fl, gl, s1, s2: n scratch."""
    if not _lower_bound(n, m, src, dst, rate, km, active, x, xl, fl, gl, s1, s2):
        return False
    single = iw[0]
    for v in range(n + 2):
        single[v] = v - 1
    if _overflow(n, m, src, dst, rate, km, xl, single, n, s1, s2):
        return True
    return ncomp < n and _overflow(n, m, src, dst, rate, km, xl, comp, ncomp, s1, s2)


SAT_ETA = 1e-9  # saturation_certificate: the gain asked of every node, relative to its gross flux
SAT_NEWTON = 8  # ... its Newton steps on the unsaturated nodes, per round
SAT_ROUNDS = 3  # ... and its rounds (after each, the nodes of D that do not gain leave D)
SAT_TRY = 0.3  # solvers try it once a node uses 1 - SAT_TRY of its capacity,
SAT_CLOSER = 0.1  # ... and again each time the least unused fraction falls by this factor


@jit
def saturation_certificate(n, m, src, dst, rate, km, active, x, tau, idx, A):
    """True proves that the trajectory from 0 has no limit, from an iterate x that runs some
    nodes near capacity (a set D: every active node using more than 1 - tau of the total V
    of its reactions out, all Michaelis-Menten; `try_saturation` chooses tau).

    With x held on D, Newton on the other active nodes R (-J_RR is an M-matrix) finds a point
    y where every node of R gains a little, f_v = SAT_ETA * gross_v; a node of D that does not
    gain there (f_v within NOISE of 0) leaves D, and R is solved again.  When every active
    node gains, y is a sub-solution, below the equilibrium if there is one (at the maximum
    of y and an equilibrium x*, the nodes where y is above x* would lose mass through their
    exits, so the set is empty); then D, or one of its nodes, receiving at y the capacity of
    its exits (`_overflow`) contradicts an equilibrium, where all that enters D leaves it
    below that capacity.  This decides the common case where the continuation iterate runs
    away on a few nodes long before the lower bound of `certified_divergent` can be made to
    hold on the rest.  idx: n + 2 int64 scratch; A: an n x n scratch."""
    cap = np.empty(n)
    unused = np.empty(n)
    min_slack(n, m, src, dst, rate, km, x, cap, unused)  # per node: capacity, and its unused part
    inset = np.full(n + 2, -1, np.int64)  # 0 on D (one set for _overflow), -1 elsewhere
    rest = active.copy()  # R: the active nodes outside D
    found = False
    for v in range(n):
        if active[v + 1] and 0.0 < cap[v] < np.inf and unused[v] < tau * cap[v]:
            inset[v + 1] = 0
            rest[v + 1] = False
            found = True
    if not found:
        return False
    y = np.zeros(n)  # the nodes the intake does not reach stay at 0
    for v in range(n):
        if active[v + 1]:
            y[v] = x[v]
    f = np.empty(n)
    gross = np.empty(n)
    target = np.empty(n)
    b = np.empty(n)
    for _ in range(SAT_ROUNDS):
        k = index_nodes(n, rest, idx)
        balance(n, m, src, dst, rate, km, y, f, gross)
        for v in range(n):
            target[v] = SAT_ETA * gross[v]
        for it in range(SAT_NEWTON + 1):
            done = True
            for v in range(1, n + 1):
                if idx[v] >= 0 and not (abs(f[v - 1] - target[v - 1]) <= 0.5 * target[v - 1]):
                    done = False
            if done:
                break
            if it == SAT_NEWTON:
                return False
            jacobian(n, m, src, dst, rate, km, y, idx, k, -1.0, A)
            if not lu_factor(k, A):
                return False
            for v in range(1, n + 1):
                if idx[v] >= 0:
                    b[idx[v]] = f[v - 1] - target[v - 1]
            lu_solve(k, A, b)
            lam = 1.0
            for v in range(1, n + 1):
                j = idx[v]
                if j >= 0 and y[v - 1] + b[j] < 0.0:
                    lam = min(lam, 0.9 * y[v - 1] / -b[j])
            for v in range(1, n + 1):
                j = idx[v]
                if j >= 0:
                    y[v - 1] += lam * b[j]
            balance(n, m, src, dst, rate, km, y, f, gross)
        left = False
        for v in range(1, n + 1):
            if active[v] and not (f[v - 1] > NOISE * gross[v - 1]):
                if inset[v] < 0:
                    return False
                inset[v] = -1
                rest[v] = True
                left = True
        if not left:
            single = idx  # idx is free now: every node its own set, single[v] = v - 1
            for v in range(n + 2):
                single[v] = v - 1
            return (_overflow(n, m, src, dst, rate, km, y, inset, 1, cap, unused)
                    or _overflow(n, m, src, dst, rate, km, y, single, n, cap, unused))
        found = False
        for v in range(1, n + 1):
            found = found or inset[v] == 0
        if not found:
            return False
    return False


@jit
def try_saturation(n, m, src, dst, rate, km, active, x, slack, tried_below, idx, A):
    """The solvers' schedule of `saturation_certificate`: tried once the least unused
    fraction of capacity `slack` falls below `tried_below` (SAT_TRY at first), with D the
    nodes below the halfway point, on a log scale, between `slack` and SAT_TRY (the nodes
    running away together, far nearer their capacity than the rest); after a try that
    proves nothing, again when `slack` is SAT_CLOSER of what it was.  Returns (proved,
    the next tried_below)."""
    if not slack < tried_below:
        return False, tried_below
    if saturation_certificate(n, m, src, dst, rate, km, active, x, np.sqrt(slack * SAT_TRY), idx, A):
        return True, tried_below
    return False, slack * SAT_CLOSER


@jit
def _downstream(n, m, src, dst, ptr, adj, queue, seen):
    """down[v, w]: inner node w + 1 is reachable from inner node v + 1 (v itself included)."""
    down = np.zeros((n, n), np.bool_)
    for v in range(1, n + 1):
        _bfs(n, m, src, dst, v, ptr, adj, queue, seen)
        for w in range(1, n + 1):
            down[v - 1, w - 1] = seen[w]
    return down


@jit
def _cut_exceeded(n, m, src, dst, rate, km, down, x):
    """True when for some v the set D of nodes downstream of v (no reaction leaves D but to
    excretion) receives at least the capacity of its exits: its intake plus the fluxes into
    it at x (lower bounds: x from capacity_verdict's iteration, or 0) reach the total V of
    its excretion reactions, all Michaelis-Menten (CERT_MARGIN for rounding).  At an
    equilibrium all that enters D leaves it, below that capacity: there is none.  This
    catches a region whose internal cycling is fast and whose exits are narrow, where the
    node-by-node iteration creeps up for millions of sweeps."""
    for v in range(n):
        inflow, cap = 0.0, 0.0
        for i in range(m):
            u, w = src[i], dst[i]
            if u == w:
                continue
            u_in = u > 0 and down[v, u - 1]
            if w > n:
                if u_in:
                    cap += np.inf if km[i] != km[i] else rate[i]
            elif down[v, w - 1] and not u_in:
                inflow += rate[i] if u == 0 else flux(rate[i], km[i], x[u - 1])
        if inflow > 0.0 and inflow >= cap * (1.0 + CERT_MARGIN):
            return True
    return False


@jit
def jacobian(n, m, src, dst, rate, km, x, idx, k, sign, J):
    """J = sign * d(dx/dt)/dx at x (sign 1, or -1 for the Newton matrix -J = L^T in the linear
    case), dense k x k over the nodes v with idx[v] >= 0: J[idx[v], idx[u]] = sign * d f_v / d x_u.
    idx has n + 2 entries, -1 for the intake, the excretion and left-out nodes."""
    J[:k, :k] = 0.0
    for i in range(m):
        u, v = src[i], dst[i]
        if u == v or u == 0:
            continue
        iu = idx[u]
        if iu < 0:
            continue
        d = sign * dflux(rate[i], km[i], x[u - 1])
        J[iu, iu] -= d
        if v <= n and idx[v] >= 0:
            J[idx[v], iu] += d


@jit
def index_nodes(n, keep, idx):
    """idx for `jacobian` over the inner nodes v with keep[v]: 0, 1, ... in node order, -1
    elsewhere (intake and excretion included); returns their number."""
    k = 0
    for v in range(1, n + 1):
        if keep[v]:
            idx[v] = k
            k += 1
        else:
            idx[v] = -1
    idx[0] = -1
    idx[n + 1] = -1
    return k


@jit
def all_nodes(n, idx):
    """idx for `jacobian` over every inner node: idx[v] = v - 1, -1 for intake and excretion."""
    idx[0] = -1
    for v in range(1, n + 1):
        idx[v] = v - 1
    idx[n + 1] = -1
    return n


def edge_arrays(n, src, dst, rate, km):
    """The edge arrays as the kernels take them (int32 ids, float64 rates, K NaN when None);
    ValueError on mismatched shapes or node ids outside 0..n+1."""
    src = np.ascontiguousarray(src, dtype=np.int32)
    dst = np.ascontiguousarray(dst, dtype=np.int32)
    rate = np.ascontiguousarray(rate, dtype=np.float64)
    km = np.full(src.shape, np.nan) if km is None else np.ascontiguousarray(km, dtype=np.float64)
    if not (src.ndim == 1 and src.shape == dst.shape == rate.shape == km.shape):
        raise ValueError("src, dst, rate and km must be 1-d arrays of one length")
    if src.size and (src.min() < 0 or max(src.max(), dst.max()) > n + 1):
        raise ValueError(f"node ids must lie in 0..{n + 1}")
    return src, dst, rate, km
