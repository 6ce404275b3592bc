"""Exact equilibria of Network objects, as the result records of DESIGN §5."""
from __future__ import annotations

import numpy as np

from metabnet.kernels import equilibrium as keq
from metabnet.kernels import ode as kode
from metabnet.kernels import reach as kreach
from metabnet.network import Network

METHODS = ("direct", "ode")


def solve(net: Network, method: str = "direct", x0=None) -> dict:
    """{"file", "name", "n", "kinetics", "exists_unique", "exists_bounded", "x", "residual",
    "method", "iterations"} for one network; x is the limit of the trajectory from 0.

    `x0` (direct method only) warm-starts Newton for Michaelis-Menten kinetics from these n
    concentrations, e.g. a model's prediction (kernels.equilibrium.solve)."""
    km = net.km_or_nan()
    if x0 is not None and method != "direct":
        raise ValueError("a start x0 is for the direct method only")
    if method == "direct":
        try:
            unique, bounded, x, res, it, method = keq.solve(net.n, net.src, net.dst, net.rate, km, x0)
        except keq.BeyondRange as e:  # no label can be certified: say so, naming the network
            raise keq.BeyondRange(f"{net.name or 'network'}: {e}") from None
    elif method == "ode":
        status, x, _, it, res = kode.integrate_network(net.n, net.src, net.dst, net.rate, km)
        unique, _ = kreach.labels(net.n, net.src, net.dst)
        bounded = status == kode.CONVERGED
        unique = bool(unique and bounded)
        if status == kode.BEYOND:
            raise keq.BeyondRange(f"{net.name or 'network'}: {keq.BEYOND_MESSAGE}")
        if status == kode.FAILED:
            raise RuntimeError(f"{net.name or 'network'}: ODE integration failed to reach a verdict")
    else:
        raise ValueError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    return {"file": net.meta.get("file"), "name": net.name, "n": net.n, "kinetics": net.kinetics,
            "exists_unique": bool(unique), "exists_bounded": bool(bounded),
            "x": [float(v) for v in x] if bounded else None,
            "residual": float(res) if bounded and np.isfinite(res) else None,
            "method": method, "iterations": int(it)}
