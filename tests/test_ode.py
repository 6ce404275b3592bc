"""The ODE integrator against the direct solve, and against scipy's solve_ivp."""
from dataclasses import replace

import numpy as np
import pytest

import naive
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate
from metabnet.solve import solve

SETS = [(f, k) for f in FAMILIES for k in ("linear", "michaelis-menten")]


def rel_l1(a, b):
    return np.abs(a - b).sum() / np.abs(b).sum()


@pytest.mark.parametrize("family,kinetics", SETS)
def test_ode_agrees_with_direct_solve(family, kinetics):
    """Same networks (labels do not steer the redeem balance), labelled both ways."""
    cfg = GenConfig(family=family, kinetics=kinetics, intake_scale=0.05 if kinetics != "linear" else 1.0)
    count = 150
    d = generate(cfg, count, seed=21)
    o = generate(replace(cfg, method="ode"), count, seed=21)
    assert np.array_equal(d["edge_ptr"], o["edge_ptr"]) and np.array_equal(d["edge_rate"], o["edge_rate"])
    np.testing.assert_array_equal(d["exists_bounded"], o["exists_bounded"])
    np.testing.assert_array_equal(d["exists_unique"], o["exists_unique"])
    assert d["exists_bounded"].sum() > 5
    assert (d["flags"] | o["flags"]).max() == 0
    for i in np.flatnonzero(d["exists_bounded"]):
        assert rel_l1(o.x(i), d.x(i)) < 1e-6, i


# per (family, kinetics): networks, and a node range narrower than the size class (or None)
IVP = {"S": (16, None), "M": (4, None), "L": (2, (128, 136))}
INTAKE = {"S": 0.01, "M": 0.004, "L": 0.001}  # Michaelis-Menten: less inflow for larger networks


@pytest.mark.parametrize("size", list(IVP))
@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_ode_matches_scipy_solve_ivp(kinetics, size):
    """The Rosenbrock integrator against scipy's LSODA (naive.integrate_ivp) from x(0)=0 on
    every family: the same verdict, and the same limit where it converges; half of the
    networks have an equilibrium, each network its own random stream."""
    count, nodes = IVP[size]
    mm = kinetics != "linear"
    converged = 0
    for k, family in enumerate(FAMILIES):
        cfg = GenConfig(family=family, size="custom" if nodes else size, n_min=nodes and nodes[0],
                        n_max=nodes and nodes[1], kinetics=kinetics, intake_scale=INTAKE[size] if mm else 1.0,
                        balance="ratio", ratio=0.5)
        b = generate(cfg, count, seed=40 + k, shard=3)
        for i in range(len(b)):
            net = b.network(i)
            ours = solve(net, "ode")
            x_ref, ok = naive.integrate_ivp(net)
            where = f"{family} {kinetics} network {i} (n={net.n})"
            assert ours["exists_bounded"] == ok == bool(b["exists_bounded"][i]), where
            if ok:
                converged += 1
                assert rel_l1(np.array(ours["x"]), x_ref) < 1e-5, where
    assert converged == len(FAMILIES) * count // 2
