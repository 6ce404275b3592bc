"""The flux balance of one network, shared by the solvers (kernels.equilibrium) and the ODE
integrator (kernels.ode): edge fluxes and their derivatives, the balance dx/dt, its
relative residual and Jacobian, and the public wrappers' argument check.

Edge i is (src[i], dst[i], rate[i], km[i]); km is NaN where the flux is linear (and on
intake edges, whose flux is the constant rate).  Concentrations x are indexed by inner
node - 1.
"""
import numpy as np

from metabnet.kernels._jit import jit


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
def balance(n, m, src, dst, rate, km, x, f, gross):
    """f = dx/dt at x; gross[v] = sum of |fluxes| through v (for relative residuals)."""
    f[:n] = 0.0
    gross[:n] = 0.0
    for i in range(m):
        u, v = src[i], dst[i]
        if u == v:
            continue
        q = rate[i] if u == 0 else flux(rate[i], km[i], x[u - 1])
        if u > 0:
            f[u - 1] -= q
            gross[u - 1] += abs(q)
        if v <= n:
            f[v - 1] += q
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
