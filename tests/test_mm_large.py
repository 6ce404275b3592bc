"""Michaelis-Menten equilibria near capacity: x large but finite is found and exact, past
capacity is certified "no equilibrium", and past the certified range (a node within
kinetics.SLACK_MIN of its capacity) the solver says so instead of giving a label (issue 10,
item 7: a network whose true x is ~1e10 was labelled "no equilibrium")."""
from fractions import Fraction

import numpy as np
import pytest

import naive
from metabnet.kernels.equilibrium import BeyondRange
from metabnet.kernels.kinetics import SLACK_MIN
from metabnet.network import Network
from metabnet.solve import solve

NAN = np.nan
EPS = np.finfo(np.float64).eps


def mm(n, edges):
    """edges: [u, v, V, K] rows (K ignored on intake rows)."""
    e = np.array(edges, dtype=float)
    km = np.where(e[:, 0] == 0, NAN, e[:, 3])
    return Network(n, e[:, 0], e[:, 1], e[:, 2], km, "michaelis-menten").validate()


def exact_x(phi, V, K):
    """phi = V x / (K + x) for the doubles given, in exact rational arithmetic."""
    phi, V, K = Fraction(phi), Fraction(V), Fraction(K)
    return float(K * phi / (V - phi))


def tolerance(x, K):
    """What double precision can promise near capacity: about EPS * x / K relative."""
    return 1e-9 + 50 * EPS * x / K


def just_below(V, gap):
    """An intake below capacity V by the relative gap (x = K (1 - gap) / gap)."""
    return V * (1.0 - gap)


# ---- hand-worked networks, closed form ---------------------------------------------------

@pytest.mark.parametrize("method", ["direct", "ode"])
@pytest.mark.parametrize("gap", [1e-6, 1e-10, 1e-12 / 0.9])
def test_one_node_near_capacity(gap, method):
    V, K = 3.0, 2.0
    phi = just_below(V, gap)
    x = exact_x(phi, V, K)
    assert 1e5 < x / K < 1e12
    r = solve(mm(1, [[0, 1, phi, 0], [1, 2, V, K]]), method)
    assert r["exists_unique"] and r["exists_bounded"], r
    np.testing.assert_allclose(r["x"], [x], rtol=tolerance(x, K))


@pytest.mark.parametrize("method", ["direct", "ode"])
@pytest.mark.parametrize("gap", [1e-6, 1e-10])
def test_chain_with_the_last_node_near_capacity(gap, method):
    # 0 -phi-> 1 -(V 5, K 1)-> 2 -(V 4, K 0.5)-> 3 -(V, K 7)-> out: every node passes phi on
    phi = 1.5
    V3 = phi / (1.0 - gap)
    x = [exact_x(phi, 5.0, 1.0), exact_x(phi, 4.0, 0.5), exact_x(phi, V3, 7.0)]
    net = mm(3, [[0, 1, phi, 0], [1, 2, 5.0, 1.0], [2, 3, 4.0, 0.5], [3, 4, V3, 7.0]])
    r = solve(net, method)
    assert r["exists_unique"] and r["exists_bounded"], r
    np.testing.assert_allclose(r["x"], x, rtol=tolerance(x[2], 7.0))


@pytest.mark.parametrize("method", ["direct", "ode"])
def test_split_feeding_a_node_near_capacity(method):
    # node 1 (one K for both reactions out) sends V2 / (V1 + V2) of phi to node 2, whose only
    # exit can carry 1 + 1e-10 times that: x2 ~ 1e10 K
    phi, V1, V2, K = 2.0, 3.0, 1.0, 0.25
    q = Fraction(phi) * Fraction(V2) / (Fraction(V1) + Fraction(V2))  # = 0.5, exact
    V3 = float(q) * (1.0 + 1e-10)
    x1 = exact_x(phi, V1 + V2, K)
    x2 = float(Fraction(4.0) * q / (Fraction(V3) - q))
    net = mm(2, [[0, 1, phi, 0], [1, 3, V1, K], [1, 2, V2, K], [2, 3, V3, 4.0]])
    r = solve(net, method)
    assert r["exists_unique"] and r["exists_bounded"], r
    np.testing.assert_allclose(r["x"], [x1, x2], rtol=tolerance(x2, 4.0))


@pytest.mark.parametrize("method", ["direct", "ode"])
@pytest.mark.parametrize("excess", [0.0, 1e-12, 1e-9])
def test_at_or_just_past_capacity_is_no_equilibrium(excess, method):
    V, K = 3.0, 2.0
    r = solve(mm(1, [[0, 1, V * (1 + excess), 0], [1, 2, V, K]]), method)
    assert not r["exists_unique"] and not r["exists_bounded"] and r["x"] is None, r


@pytest.mark.parametrize("method", ["direct", "ode"])
@pytest.mark.parametrize("excess", [1e-10, 1e-6])
def test_just_past_capacity_downstream_is_no_equilibrium(excess, method):
    # node 1 passes all of phi on; node 3 can carry phi / (1 + excess)
    phi = 1.5
    net = mm(3, [[0, 1, phi, 0], [1, 2, 5.0, 1.0], [2, 3, 4.0, 0.5], [3, 4, phi / (1 + excess), 7.0]])
    r = solve(net, method)
    assert not r["exists_unique"] and not r["exists_bounded"] and r["x"] is None, r


@pytest.mark.parametrize("method", ["direct", "ode"])
def test_past_the_certified_range_is_said_not_labelled(method):
    V, K = 3.0, 2.0
    net = mm(1, [[0, 1, V * (1 - 1e-14), 0], [1, 2, V, K]])  # x = 1e14 K: beyond SLACK_MIN
    assert 1e-14 < SLACK_MIN
    with pytest.raises(BeyondRange, match="past the certified range"):
        solve(net, method)


def test_cli_reports_beyond_range_as_one_error(tmp_path):
    import json

    from click.testing import CliRunner

    from metabnet.cli.main import main
    good = mm(1, [[0, 1, just_below(3.0, 1e-10), 0], [1, 2, 3.0, 2.0]])
    good.name = "near"
    far = mm(1, [[0, 1, 3.0 * (1 - 1e-14), 0], [1, 2, 3.0, 2.0]])
    far.name = "too_near"
    (tmp_path / "near.json").write_text(json.dumps(good.to_dict()))
    (tmp_path / "too_near.json").write_text(json.dumps(far.to_dict()))
    res = CliRunner().invoke(main, ["solve", str(tmp_path)])
    assert res.exit_code == 1
    rec = json.loads(res.stdout.strip().splitlines()[0])
    assert rec["name"] == "near" and rec["exists_bounded"]
    np.testing.assert_allclose(rec["x"], [exact_x(just_below(3.0, 1e-10), 3.0, 2.0)], rtol=1e-4)
    assert "too_near" in res.stderr and "past the certified range" in res.stderr
    res = CliRunner().invoke(main, ["score", str(tmp_path), "--model", "solver"])  # the solver's answers
    assert res.exit_code == 1
    assert [json.loads(line)["name"] for line in res.stdout.strip().splitlines()] == ["near"]
    assert "too_near" in res.stderr and "past the certified range" in res.stderr


# ---- random networks funnelled into one node near capacity ---------------------------------

def funnel(rng, n, gap):
    """A random Michaelis-Menten network whose only exit is node n, with capacity
    total intake * (1 + gap): node n passes all the intake on, so x_n = K phi / (V - phi),
    and no other node depends on x_n.  Every node reaches n; rates elsewhere are large, so
    the other nodes stay far from their capacities (or not: then both sides must agree)."""
    edges = []
    phis = rng.uniform(0.5, 2.0, int(rng.integers(1, 3)))
    for j, p in enumerate(phis):
        edges.append([0, 1 if j == 0 else int(rng.integers(1, n)), p, 0])
    total = float(sum(Fraction(float(p)) for p in phis))
    for v in range(1, n):
        edges.append([v, int(rng.integers(v + 1, n + 1)), rng.uniform(20, 100) * total, rng.uniform(0.1, 10)])
    for _ in range(int(rng.integers(0, 2 * n))):
        u, v = rng.integers(1, n, 2)
        edges.append([int(u), int(v), rng.uniform(20, 100) * total, rng.uniform(0.1, 10)])
    K = rng.uniform(0.1, 10)
    edges.append([n, n + 1, total * (1 + gap), K])
    net = mm(n, edges)
    phi_exact = sum(Fraction(float(p)) for p in net.rate[net.is_intake])
    x_n = float(Fraction(K) * phi_exact / (Fraction(float(net.rate[-1])) - phi_exact)) if gap > 0 else None
    return net, x_n


def reference(net):
    """scipy (tests/naive.py) for the nodes before the funnel's end, which do not depend
    on it: the same network with the last node's exit far from capacity."""
    rate = np.where(np.arange(net.m) == net.m - 1, 1e3 * net.rate[-1], net.rate)
    far = Network(net.n, net.src, net.dst, rate, net.km, net.kinetics)
    return naive.equilibrium_newton(far)


def test_random_funnels_near_capacity_agree_with_scipy():
    rng = np.random.default_rng(10)
    large = 0
    for k in range(30):
        gap = 10 ** rng.uniform(-11, -5)
        net, x_n = funnel(rng, int(rng.integers(2, 9)), gap)
        ref = reference(net)
        methods = ["direct", "ode"] if k % 3 == 0 else ["direct"]
        for method in methods:
            r = solve(net, method)
            assert r["exists_bounded"] == (ref is not None), (k, method)
            if ref is None:
                continue
            x = np.array(r["x"])
            np.testing.assert_allclose(x[:-1], ref[:-1], rtol=1e-7, err_msg=f"{k} {method}")
            np.testing.assert_allclose(x[-1], x_n, rtol=tolerance(x_n, net.km[-1]), err_msg=f"{k} {method}")
            large += method == "direct" and x_n > 1e6
    assert large >= 20, large


def test_random_funnels_just_past_capacity_have_no_equilibrium():
    rng = np.random.default_rng(11)
    for k in range(20):
        net, _ = funnel(rng, int(rng.integers(2, 9)), -10 ** rng.uniform(-11, -5))
        for method in (["direct", "ode"] if k % 4 == 0 else ["direct"]):
            r = solve(net, method)
            assert not r["exists_bounded"] and r["x"] is None, (k, method)
