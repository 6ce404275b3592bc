"""kernels.equilibrium.label, the one labelling routine: gen and solve give the same bytes,
warm starts change nothing, and its Michaelis-Menten verdicts hold against scipy's
integrator -- a network certified divergent grows without bound under solve_ivp, one
certified convergent settles there -- on every family, at the generator's default rates
and at reduced intake (issue 12)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import naive
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate
from metabnet.solve import solve

KINETICS = ["linear", "michaelis-menten"]


def rel_l1(a, b):
    return np.abs(a - b).sum() / np.abs(b).sum()


@pytest.mark.parametrize("method", ["direct", "ode"])
@pytest.mark.parametrize("kinetics", KINETICS)
def test_gen_and_solve_give_the_same_labels_and_bytes(kinetics, method):
    """gen (kernels.generator) and solve (metabnet.solve.dispatch) call the same routine: the same
    labels, equilibria equal to the last bit, on every family."""
    for k, family in enumerate(FAMILIES):
        cfg = GenConfig(family=family, kinetics=kinetics, method=method, size="custom", n_min=20, n_max=40,
                        intake_scale=0.05 if kinetics != "linear" else 1.0)
        b = generate(cfg, 12, seed=3 + k)
        for i in range(len(b)):
            r = solve(b.network(i), method)
            where = f"{family} {kinetics} {method} network {i}"
            assert (r["exists_unique"], r["exists_bounded"]) == (b["exists_unique"][i], b["exists_bounded"][i]), where
            if r["exists_bounded"]:
                assert np.array_equal(np.array(r["x"]), b.x(i)), where
                assert r["iterations"] == b["iterations"][i], where


def test_warm_starts_change_nothing_but_the_work():
    """From the exact answer, a perturbed one, or garbage: the same labels and x to 1e-9."""
    cfg = GenConfig(kinetics="michaelis-menten", intake_scale=0.05, balance="ratio", ratio=0.5)
    b = generate(cfg, 40, seed=8)
    rng = np.random.default_rng(0)
    warm = 0
    for i in range(len(b)):
        net = b.network(i)
        cold = solve(net)
        x = np.array(cold["x"]) if cold["x"] is not None else rng.uniform(0, 5, net.n)
        for x0 in (x, x * rng.uniform(0.5, 2.0, net.n), np.full(net.n, np.nan)):
            r = solve(net, x0=x0)
            assert r["method"].startswith("newton-warm"), r["method"]
            assert (r["exists_unique"], r["exists_bounded"]) == (cold["exists_unique"], cold["exists_bounded"]), i
            if cold["x"] is not None:
                warm += r["method"] == "newton-warm"
                np.testing.assert_allclose(r["x"], cold["x"], rtol=1e-9, err_msg=str(i))
    assert warm >= 40, warm


def _mass(net, t_end):
    sol = solve_ivp(lambda t, x: naive.flux_balance(net, x), (0.0, t_end), np.zeros(net.n), method="LSODA",
                    jac=lambda t, x: naive.jacobian(net, x), rtol=1e-8, atol=1e-12, t_eval=[t_end / 10, t_end])
    assert sol.success
    return sol.y.sum(axis=0)


@pytest.mark.parametrize("intake_scale", [1.0, 0.05])
def test_mm_certificates_hold_under_long_integrations(intake_scale):
    """Every family, S size, the generator's default rates (most networks past capacity
    somewhere) and a twentieth of the intake: where every fed node drains (topologically
    bounded) but the continuation certifies "no equilibrium", scipy's trajectory from 0 is
    still growing at 1e6 time constants; where it certifies an equilibrium, scipy settles
    on it (naive.integrate_ivp)."""
    seen = {"diverges": 0, "settles": 0}
    for k, family in enumerate(FAMILIES):
        cfg = GenConfig(family=family, kinetics="michaelis-menten", intake_scale=intake_scale)
        b = generate(cfg, 6, seed=60 + k, shard=2)
        for i in range(len(b)):
            net = b.network(i)
            if not naive.labels(net)[1]:
                continue  # topology decides: fed mass with no way out
            r = solve(net)
            where = f"{family} {intake_scale} network {i} (n={net.n})"
            if r["exists_bounded"]:
                x_ref, ok = naive.integrate_ivp(net)
                assert ok, where
                assert rel_l1(np.array(r["x"]), x_ref) < 1e-6, where
                seen["settles"] += 1
            else:
                slopes = net.rate[~net.is_intake] / net.km[~net.is_intake]
                early, late = _mass(net, 1e6 / slopes.min())
                assert late > 2.0 * early, where  # growing like t (past capacity), or sqrt(t) (at it)
                seen["diverges"] += 1
    least = {1.0: (10, 1), 0.05: (5, 5)}[intake_scale]  # at full intake few settle
    assert seen["diverges"] >= least[0] and seen["settles"] >= least[1], seen
