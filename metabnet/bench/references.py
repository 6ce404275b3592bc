"""The tools a user would pick instead of metabnet's solver, each as one function of a Network
returning the equilibrium x (what `metabnet bench` times and checks against metabnet).

Every tool starts from the network's reactions: building its matrix or model is part of its
time, except the SBML model load of libRoadRunner and COPASI, which `load` does apart.  A tool
whose package is missing raises `Missing` (the report says so: `pip install -e ".[bench]"`).
All of them assume the network has an equilibrium (bench draws such networks)."""
from __future__ import annotations

import numpy as np

from metabnet.network import Network


class Missing(ImportError):
    """The reference's package is not installed."""


def _need(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Missing(f"{module} not installed (pip install -e \".[bench]\")") from None


def _flux_parts(net: Network):
    """Inner-edge sources/targets (0-based; target -1 for the excretion), rates, K, and phi."""
    src, dst, rate = net.src.astype(np.int64), net.dst.astype(np.int64), np.asarray(net.rate, float)
    intake = src == 0
    phi = np.bincount(dst[intake] - 1, weights=rate[intake], minlength=net.n)
    keep = ~intake
    d = dst[keep] - 1
    d[d == net.n] = -1
    return src[keep] - 1, d, rate[keep], net.km_or_nan()[keep], phi


def laplacian(net: Network, sparse: bool):
    """L^T (n x n) with L^T x = phi at a linear equilibrium: outflow on the diagonal, inflow off it."""
    s, d, k, _, phi = _flux_parts(net)
    rows = np.concatenate([s, d[d >= 0]])
    cols = np.concatenate([s, s[d >= 0]])
    vals = np.concatenate([k, -k[d >= 0]])
    if sparse:
        import scipy.sparse as sp

        return sp.csc_matrix((vals, (rows, cols)), shape=(net.n, net.n)), phi
    LT = np.zeros((net.n, net.n))
    np.add.at(LT, (rows, cols), vals)
    return LT, phi


def numpy_solve(net: Network) -> np.ndarray:
    """Linear kinetics: dense LU (numpy.linalg.solve, LAPACK gesv)."""
    LT, phi = laplacian(net, sparse=False)
    return np.linalg.solve(LT, phi)


def scipy_spsolve(net: Network) -> np.ndarray:
    """Linear kinetics: sparse LU (scipy.sparse.linalg.spsolve, SuperLU)."""
    from scipy.sparse.linalg import spsolve

    LT, phi = laplacian(net, sparse=True)
    return spsolve(LT, phi)


def rhs_jac(net: Network):
    """(f(t, x), J(t, x)) of dx/dt for either kinetics, numpy-vectorised."""
    s, d, k, km, phi = _flux_parts(net)
    inner = d >= 0
    mm = net.is_mm
    n = net.n

    def flux(x):
        xs = x[s]
        return k * xs / (km + xs) if mm else k * xs

    def f(t, x):
        v = flux(x)
        return phi - np.bincount(s, weights=v, minlength=n) + np.bincount(d[inner], weights=v[inner], minlength=n)

    def jac(t, x):
        xs = x[s]
        dv = k * km / (km + xs) ** 2 if mm else k
        J = np.zeros((n, n))
        np.add.at(J, (s, s), -dv)
        np.add.at(J, (d[inner], s[inner]), dv[inner] if mm else k[inner])
        return J

    return f, jac


def solve_ivp(net: Network, method: str = "LSODA", t_end: float = 1e6) -> np.ndarray:
    """scipy.integrate.solve_ivp from x(0) = 0 to t_end (rtol 1e-8, atol 1e-12), analytic Jacobian."""
    from scipy.integrate import solve_ivp as ivp

    f, jac = rhs_jac(net)
    r = ivp(f, (0.0, t_end), np.zeros(net.n), method=method, jac=jac, rtol=1e-8, atol=1e-12)
    if not r.success:
        raise RuntimeError(r.message)
    return r.y[:, -1]


def roadrunner_load(net: Network):
    """A libRoadRunner model of the network's SBML export (metabnet.io.sbml), steady-state solver set."""
    rr_mod = _need("roadrunner")
    from metabnet.io.sbml import to_sbml

    rr_mod.Logger.setLevel(rr_mod.Logger.LOG_ERROR)
    rr = rr_mod.RoadRunner(to_sbml(net))
    solver = rr.getSteadyStateSolver()
    solver.setValue("relative_tolerance", 1e-12)
    solver.setValue("auto_moiety_analysis", False)
    return rr


def roadrunner_steady_state(rr, net: Network) -> np.ndarray:
    """libRoadRunner steadyState() (NLEQ2) on a loaded model, from x(0) = 0."""
    rr.resetAll()
    rr.steadyState()
    return np.array([rr[f"[S{i}]"] for i in range(1, net.n + 1)])


def copasi_load(net: Network):
    """A COPASI model (through copasi-basico) of the network's SBML export."""
    basico = _need("basico")
    from metabnet.io.sbml import to_sbml

    return basico.load_model_from_string(to_sbml(net))


def copasi_steady_state(model, net: Network) -> np.ndarray:
    """COPASI's steady-state task (Newton with integration fallback) on a loaded model."""
    import basico

    if basico.run_steadystate(model=model) != 1:  # 1: a steady state was found
        raise RuntimeError("COPASI found no steady state")
    sp = basico.get_species(model=model)
    return np.array([float(sp.loc[f"S{i}", "concentration"]) for i in range(1, net.n + 1)])
