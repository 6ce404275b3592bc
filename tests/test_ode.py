"""The ODE integrator against the direct solve, and against scipy's solve_ivp."""
from dataclasses import replace

import numpy as np
import pytest

import naive
from metabnet.generate import FAMILIES, GenConfig, generate
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


@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_ode_matches_scipy_solve_ivp(kinetics):
    cfg = GenConfig(size="custom", n_min=4, n_max=8, kinetics=kinetics, intake_scale=0.05 if kinetics != "linear" else 1)
    b = generate(cfg, 16, seed=31)
    for i in range(len(b)):
        net = b.network(i, kinetics)
        ours = solve(net, "ode")
        x_ref, converged = naive.integrate_ivp(net)
        assert ours["exists_bounded"] == converged, i
        if converged:
            assert rel_l1(np.array(ours["x"]), x_ref) < 1e-5, i
