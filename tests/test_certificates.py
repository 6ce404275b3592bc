"""kernels.kinetics.saturation_certificate is a proof of "no equilibrium": it never fires on
a network that has one, wherever the iterate it starts from lies, on every family at the
generator's default rates and at a twentieth of the intake; and on a hand-worked network
whose bottleneck sits on a cycle it fires, as scipy's trajectory grows without bound, as on
three networks that no certificate decided before it."""
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import naive
from metabnet.io.formats import read_networks
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate
from metabnet.kernels.kinetics import edge_arrays, saturation_certificate
from metabnet.kernels.reach import reachability
from metabnet.network import Network
from metabnet.solve import solve

DATA = Path(__file__).parent / "data"


def certify(net, x, tau):
    src, dst, rate, km = edge_arrays(net.n, net.src, net.dst, net.rate, net.km)
    _, active = reachability(net.n, src, dst)
    x = np.where(active[1:-1], np.asarray(x, dtype=np.float64), 0.0)
    return bool(saturation_certificate(net.n, src.size, src, dst, rate, km, active, x, tau,
                                       np.empty(net.n + 2, np.int64), np.empty((net.n, net.n))))


def unused_fraction(net, x):
    """1 - outflux / capacity per node (1 where a node has no reaction out)."""
    cap, unused = np.zeros(net.n), np.zeros(net.n)
    for u, v, r, k in zip(net.src, net.dst, net.rate, net.km):
        if 0 < u != v:
            cap[u - 1] += r
            unused[u - 1] += r * k / (k + x[u - 1])
    return np.divide(unused, cap, out=np.ones(net.n), where=cap > 0)


@pytest.mark.parametrize("intake_scale", [1.0, 0.05])
def test_never_fires_where_an_equilibrium_exists(intake_scale):
    """From points scattered around the equilibrium x* -- x* times factors from 1e-3 to 1e9,
    whole networks and random halves of them pushed towards capacity -- the certificate
    must stay silent: each point runs some nodes near capacity, so it is really tried."""
    rng = np.random.default_rng(7)
    tried = settled = 0
    for k, family in enumerate(FAMILIES):
        cfg = GenConfig(family=family, kinetics="michaelis-menten", intake_scale=intake_scale)
        b = generate(cfg, 400, seed=90 + k, shard=3)
        for i in np.flatnonzero(b["exists_bounded"])[:8]:
            net = b.network(i)
            x_star = np.asarray(solve(net)["x"])
            settled += 1
            for _ in range(12):
                x = x_star * np.exp(rng.uniform(np.log(1e-3), np.log(1e9), net.n))
                x[rng.random(net.n) < 0.5] *= 1e6
                near = unused_fraction(net, x)
                for tau in (0.3, 1e-4):
                    tried += bool((near < tau).any())
                    assert not certify(net, x, tau), f"{family} {intake_scale} network {i}"
    assert settled >= 40 and tried >= 400, (settled, tried)


def bottleneck_on_a_cycle(intake):
    """Intake into node 1, 1 -> 2 (V 3, K 1), 2 -> 1 (V 2.9, K 0.01), 2 -> excretion
    (V 100, K 1000).  Node 2 passes almost all it gets back to 1; 1 carries at most 3.
    With node 1 saturated, node 2's balance 3 = 2.9 x/(0.01 + x) + 100 x/(1000 + x) gives
    x_2 ~ 1.26 and a return flux ~2.88: node 1 receives intake + 2.88, past its capacity
    3 for an intake of 0.5 (x_1 grows ~0.38 per unit time); 0.05 settles."""
    return Network(2, np.array([0, 1, 2, 2]), np.array([1, 2, 1, 3]), np.array([intake, 3.0, 2.9, 100.0]),
                   np.array([np.nan, 1.0, 0.01, 1000.0]), kinetics="michaelis-menten")


def test_fires_on_a_bottleneck_on_a_cycle():
    net = bottleneck_on_a_cycle(0.5)
    sol = solve_ivp(lambda t, x: naive.flux_balance(net, x), (0.0, 1e6), np.zeros(2), method="LSODA",
                    rtol=1e-9, atol=1e-12, t_eval=[1e5, 1e6])
    slope = np.diff(sol.y[0]) / 9e5
    assert 0.3 < slope[0] < 0.45 and sol.y[1, -1] < 2.0  # x_1 grows like t, x_2 settles
    assert certify(net, sol.y[:, -1], 1e-3)
    assert certify(net, [1e6, 1.26], 1e-3)
    assert not certify(net, [0.5, 0.5], 0.3)  # nothing near capacity: no set to try
    assert not solve(net)["exists_bounded"]
    ok = bottleneck_on_a_cycle(0.05)
    r = solve(ok)
    assert r["exists_bounded"]
    x_ref, settles = naive.integrate_ivp(ok)
    assert settles and np.allclose(r["x"], x_ref, rtol=1e-6)
    assert not certify(ok, np.array(r["x"]) * [1e6, 1.0], 1e-3)


def test_cycle_bottlenecks_that_were_past_the_certified_range():
    """Three of gen's candidates (erdos S, intake scale 0.05, seed 0) that both methods left
    unlabelled before the saturation certificate ("past the certified range": gen drew them
    again): a node on a cycle receives, through the cycle, more than it can pass on.  Both
    methods now say "no equilibrium", and scipy's total mass grows like t from 1e6 to 1e7
    time constants."""
    nets = read_networks(DATA / "cycle_bottlenecks.jsonl")
    assert len(nets) == 3
    for net in nets:
        assert not solve(net)["exists_bounded"] and not solve(net, method="ode")["exists_bounded"], net.name
        inner = ~net.is_intake
        t_end = 1e7 / (net.rate[inner] / net.km[inner]).min()
        sol = solve_ivp(lambda t, x: naive.flux_balance(net, x), (0.0, t_end), np.zeros(net.n), method="LSODA",
                        jac=lambda t, x: naive.jacobian(net, x), rtol=1e-8, atol=1e-12, t_eval=[t_end / 10, t_end])
        early, late = sol.y.sum(axis=0)
        assert sol.success and late > 5.0 * early, net.name
