"""Slow, obviously-correct references (networkx, numpy, scipy) for the Numba kernels.

Written for clarity, not speed: each edge's flux computed on its own and scattered onto
its two ends (numpy's add.at, so that scipy's integrator can afford networks of 256 nodes),
dense matrices, library solvers.  Every function takes a `metabnet.Network` (DESIGN §1): inner nodes 1..n,
intake node 0, excretion node n+1; array index i holds node i+1.

Kinetics: on inner and excretion edges the flux is ``rate * x_u`` (linear) or
``V x_u / (K + x_u)`` (Michaelis-Menten, V = rate, K = km); on intake edges it is the
constant ``rate``.  A self-loop moves mass from a node to itself: no net flux.
"""
import networkx as nx
import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import root


# ---- topology ----------------------------------------------------------------------

def _graph(net) -> nx.DiGraph:
    """All edges, intake and excretion included, on nodes 0..n+1."""
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n + 2))
    g.add_edges_from(zip(net.src.tolist(), net.dst.tolist()))
    return g


def reaches_excretion(net) -> np.ndarray:
    """(n,) bool: inner node v has a directed path to the excretion node n+1."""
    anc = nx.ancestors(_graph(net), net.n + 1)
    return np.array([v in anc for v in range(1, net.n + 1)], dtype=bool)


def reachable_from_intake(net) -> np.ndarray:
    """(n,) bool: inner node v has a directed path from the intake node 0."""
    desc = nx.descendants(_graph(net), 0)
    return np.array([v in desc for v in range(1, net.n + 1)], dtype=bool)


def labels(net) -> tuple[bool, bool]:
    """(unique, bounded) for LINEAR kinetics, by the two rules of DESIGN §1.

    unique:  every inner node reaches excretion (the paper's code; L is then invertible).
    bounded: every inner node reachable from the intake reaches excretion (the paper's prose;
             the trajectory from x(0)=0 converges).  unique implies bounded; the gap is a
             dead end (a set with no way out) that nothing feeds.
    """
    to_exc, from_in = reaches_excretion(net), reachable_from_intake(net)
    unique = bool(to_exc.all())
    bounded = bool(np.all(to_exc[from_in]))
    return unique, bounded


def no_sink(net) -> bool:
    """Every inner node has an outgoing reaction (inner or excretion): the local rule that
    decides existence 99%+ of the time on the paper's distribution."""
    return bool((np.bincount(net.src, minlength=net.n + 2)[1:net.n + 1] > 0).all())


def intake_distances(net) -> dict:
    """Hops from the intake node 0 to every node it reaches (0 itself at 0)."""
    return nx.single_source_shortest_path_length(_graph(net), 0)


def fed_closed_classes(net) -> list[set]:
    """Closed classes the intake feeds: strongly connected sets of inner nodes with no edge
    leaving them, reachable from the intake.  With linear kinetics there is one iff the
    trajectory from x(0)=0 diverges (not `bounded`): every node that cannot reach excretion
    leads into a set with no way out, whose terminal strongly connected part is closed."""
    g = _graph(net)
    fed = nx.descendants(g, 0)
    out = []
    for comp in nx.strongly_connected_components(g):
        if comp & {0, net.n + 1} or not comp <= fed:
            continue
        if all(w in comp for v in comp for w in g.successors(v)):
            out.append(comp)
    return out


# ---- the mass balance --------------------------------------------------------------

def _edge_fluxes(net, x) -> np.ndarray:
    """(m,) flux through every edge at concentrations x (the constant rate on intake edges)."""
    xu = np.where(net.is_intake, 0.0, x[np.maximum(net.src, 1) - 1])  # x of each source node
    if net.kinetics == "linear":
        q = net.rate * xu
    else:
        with np.errstate(invalid="ignore"):  # K is NaN on intake edges, replaced below
            q = net.rate * xu / (net.km + xu)
    return np.where(net.is_intake, net.rate, q)


def _edge_dfluxes(net, x) -> np.ndarray:
    """(m,) d(flux of each edge) / d x_src (0 for intake edges)."""
    xu = np.where(net.is_intake, 0.0, x[np.maximum(net.src, 1) - 1])
    if net.kinetics == "linear":
        d = net.rate.copy()
    else:
        with np.errstate(invalid="ignore"):
            d = net.rate * net.km / (net.km + xu) ** 2
    return np.where(net.is_intake, 0.0, d)


def flux_balance(net, x) -> np.ndarray:
    """dx/dt (n,) at concentrations x (n,): each edge's flux leaves its source and enters its
    target.  Node 0 (intake) and n+1 (excretion) are written to and dropped; a self-loop
    adds and removes the same flux."""
    x = np.asarray(x, dtype=np.float64)
    q = _edge_fluxes(net, x)
    f = np.zeros(net.n + 2)
    np.subtract.at(f, net.src, q)  # leaves u
    np.add.at(f, net.dst, q)  # enters v
    return f[1:-1]


def jacobian(net, x) -> np.ndarray:
    """d(flux_balance)/dx (n, n), edge by edge.  For linear kinetics this is -L^T."""
    x = np.asarray(x, dtype=np.float64)
    d = _edge_dfluxes(net, x)
    J = np.zeros((net.n + 2, net.n + 2))
    np.subtract.at(J, (net.src, net.src), d)  # d(outflow of u)/dx_u
    np.add.at(J, (net.dst, net.src), d)  # d(inflow of v)/dx_u
    return J[1:-1, 1:-1]


def _linear_system(net, rates=None):
    """Dense L^T (n, n) and phi (n,) with L = D_out - A + diag(e) (DESIGN §1)."""
    rates = net.rate if rates is None else rates
    n = net.n
    LT = np.zeros((n, n))
    phi = np.zeros(n)
    for i in range(net.m):
        u, v, r = int(net.src[i]), int(net.dst[i]), float(rates[i])
        if u == 0:
            phi[v - 1] += r
        elif v == n + 1:
            LT[u - 1, u - 1] += r  # e_u on the diagonal
        else:
            LT[u - 1, u - 1] += r  # out-degree of u
            LT[v - 1, u - 1] -= r  # (L^T)_vu = -a_uv  (a self-loop cancels)
    return LT, phi


# ---- equilibria ----------------------------------------------------------------------

def equilibrium_dense(net) -> np.ndarray | None:
    """Linear kinetics: the limit of the trajectory from x(0)=0, or None when it diverges.

    Let R be the inner nodes reachable from the intake.  A node outside R receives no flux
    from the intake or from any node of R (else it would be in R), so starting from 0 it
    stays at 0 for ever.  Every edge leaving a node of R ends in R or at the excretion, so
    the nodes of R evolve on their own: dx_R/dt = phi_R - (L^T)_RR x_R.

    If every node of R reaches excretion (the `bounded` rule), (L^T)_RR is a non-singular
    M-matrix: its eigenvalues have positive real part, so x_R converges, from any start, to
    the unique solution of (L^T)_RR x_R = phi_R.  If some node of R cannot reach excretion,
    the set of nodes it leads to has no way out but is fed (it is reachable from the
    intake), and the mass in it grows without bound: no limit, return None.

    When every inner node reaches excretion (`unique`), R's complement is simply 0 in the
    unique solution of L^T x = phi, so this agrees with the paper's full solve.
    """
    if net.kinetics != "linear":
        raise ValueError("equilibrium_dense is for linear kinetics")
    _, bounded = labels(net)
    if not bounded:
        return None
    keep = reachable_from_intake(net)
    LT, phi = _linear_system(net)
    x = np.zeros(net.n)
    x[keep] = np.linalg.solve(LT[np.ix_(keep, keep)], phi[keep])
    return x


def equilibrium_newton(net, tol: float = 1e-10) -> np.ndarray | None:
    """Michaelis-Menten (linear works too): solve flux_balance(x) = 0 with scipy's root.

    Only nodes reachable from the intake are unknowns (the others stay at 0, as above).  If
    one of those cannot reach excretion, mass piles up there: None.  Otherwise the unknowns
    are written x = exp(y): reachable nodes are strictly positive at an equilibrium, and the
    substitution keeps the solver away from the pole x = -K and from spurious roots with
    x < -K, where V x / (K + x) is positive again (one node, phi > V has such a "root"
    x = K phi / (V - phi) < -K).  Start: the equilibrium of the linearisation at 0 (rates V/K),
    then a few multiples of it.  Returns None when no start ends at a point with a residual
    below tol * total intake, no flux within 1e-8 of its capacity and a negligible next
    Newton step (see below), which is what happens at or past capacity.

    With increasing fluxes and every node reaching excretion, a non-negative equilibrium is
    unique (compare two on the set where one exceeds the other: more leaves it, less enters),
    so the root found is the limit of the trajectory from x(0)=0 when it exists.
    """
    to_exc, from_in = reaches_excretion(net), reachable_from_intake(net)
    if not np.all(to_exc[from_in]):
        return None
    keep = from_in
    inflow = float(net.rate[net.is_intake].sum())

    def full(y):
        x = np.zeros(net.n)
        x[keep] = np.exp(y)
        return x

    def fun(y):
        return flux_balance(net, full(y))[keep]

    def jac(y):
        x = full(y)
        return jacobian(net, x)[np.ix_(keep, keep)] * x[keep][None, :]  # chain rule dx/dy = x

    if net.kinetics == "linear":
        lin_rates = net.rate
    else:
        lin_rates = np.where(net.is_intake, net.rate, net.rate / net.km_or_nan())
    LT, phi = _linear_system(net, lin_rates)
    x_lin = np.linalg.solve(LT[np.ix_(keep, keep)], phi[keep])
    for scale in (1.0, 10.0, 0.1, 100.0, 1e3, 1e4):
        y0 = np.log(np.maximum(x_lin * scale, 1e-300))
        with np.errstate(all="ignore"):  # trial steps may overflow exp(y); root recovers
            sol = root(fun, y0, jac=jac, method="hybr", options={"xtol": 1e-14})
            x = full(sol.x)
            if not np.all(np.isfinite(x)) or np.abs(flux_balance(net, x)).sum() > tol * inflow:
                continue
            # At (or past) capacity the residual V K / (K + x) tends to 0 as x grows, so a
            # huge x passes the residual test ("a root at infinity").  Reject a flux within
            # 1e-8 of its capacity (x > 1e8 K) and a point where one more Newton step in
            # y = log x is not tiny: this reference cannot tell such a point from divergence.
            if net.kinetics != "linear":
                src = net.src[~net.is_intake]
                if np.any(x[src - 1] > 1e8 * net.km[~net.is_intake]):
                    continue
            step = np.linalg.lstsq(jac(sol.x), fun(sol.x), rcond=None)[0]
        if np.all(np.abs(step) < 1e-6):
            return x
    return None


def integrate_ivp(net, t_end: float | None = None, tol: float = 1e-8) -> tuple[np.ndarray, bool]:
    """Integrate dx/dt = flux_balance(x) from x(0)=0 with scipy's LSODA; (x_final, converged).

    t_end defaults to 1e8 time constants of the slowest edge (rate, or V/K, the initial
    slope of a Michaelis-Menten flux).  converged: the solver succeeded and the final
    ||dx/dt||_1 is below tol * total intake flux.  A diverging trajectory keeps a net
    inflow of the order of the intake (linear: what feeds the dead end; Michaelis-Menten:
    inflow minus capacity), so it is never mistaken for a converged one unless that inflow
    is below tol * intake.  Exactly at capacity dx/dt decays only like 1/sqrt(t), still far
    above tol * intake at the default t_end.  LSODA, not BDF: scipy's BDF crawls (minutes)
    on networks whose slowest mode is 1e5 times slower than their rates; LSODA does not.
    """
    out = ~net.is_intake
    slopes = net.rate[out] if net.kinetics == "linear" else net.rate[out] / net.km[out]
    if t_end is None:
        t_end = 1e8 / slopes.min() if slopes.size else 1e8
    sol = solve_ivp(lambda t, x: flux_balance(net, x), (0.0, t_end), np.zeros(net.n),
                    method="LSODA", jac=lambda t, x: jacobian(net, x), rtol=1e-10, atol=1e-14)
    x = sol.y[:, -1]
    inflow = float(net.rate[net.is_intake].sum())
    converged = bool(sol.success and np.all(np.isfinite(x))
                     and np.abs(flux_balance(net, x)).sum() <= tol * inflow)
    return x, converged
