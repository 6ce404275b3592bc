"""The slow references themselves: hand-worked networks, and the two ground truths agree."""
import numpy as np
import pytest

import naive
from metabnet.network import Network

NAN = np.nan


def lin(n, edges):
    e = np.array(edges, dtype=float)
    return Network(n, e[:, 0], e[:, 1], e[:, 2]).validate()


def mm(n, edges):
    """edges: [u, v, V, K] (K ignored on intake edges)."""
    e = np.array(edges, dtype=float)
    km = np.where(e[:, 0] == 0, NAN, e[:, 3])
    return Network(n, e[:, 0], e[:, 1], e[:, 2], km, "michaelis-menten").validate()


def rel_l1(a, b):
    return np.abs(a - b).sum() / np.abs(b).sum()


# ---- hand-worked linear networks ---------------------------------------------------------

def test_chain_equal_rates():
    # 0 -3-> 1 -1.5-> 2 -1.5-> 3 -1.5-> out: the flux 3 passes every node, x = 3 / 1.5 = 2
    net = lin(3, [[0, 1, 3], [1, 2, 1.5], [2, 3, 1.5], [3, 4, 1.5]])
    assert naive.labels(net) == (True, True)
    np.testing.assert_allclose(naive.equilibrium_dense(net), [2, 2, 2], rtol=1e-12)
    np.testing.assert_allclose(naive.equilibrium_newton(net), [2, 2, 2], rtol=1e-9)
    x, ok = naive.integrate_ivp(net)
    assert ok
    np.testing.assert_allclose(x, [2, 2, 2], rtol=1e-8)


def test_chain_different_rates():
    # flux 2 through every node, x_v = 2 / (rate out of v)
    net = lin(3, [[0, 1, 2], [1, 2, 1], [2, 3, 4], [3, 4, 0.5]])
    np.testing.assert_allclose(naive.equilibrium_dense(net), [2.0, 0.5, 4.0], rtol=1e-12)


def test_cycle_with_one_exit():
    # 1 -> 2 -> 3 -> 1, 3 -> out, all rates 1, phi = 1 into 1:
    # x1 = x2 (node 2), x2 = 2 x3 (node 3), x1 = 1 + x3 (node 1)  ->  x = (2, 2, 1)
    net = lin(3, [[0, 1, 1], [1, 2, 1], [2, 3, 1], [3, 1, 1], [3, 4, 1]])
    assert naive.labels(net) == (True, True)
    np.testing.assert_allclose(naive.equilibrium_dense(net), [2, 2, 1], rtol=1e-12)
    x, ok = naive.integrate_ivp(net)
    assert ok
    np.testing.assert_allclose(x, [2, 2, 1], rtol=1e-8)


def test_fed_dead_end_is_neither_unique_nor_bounded():
    # node 2 is fed by 1 and has no way out: it fills up for ever (x2 ~ t/2)
    net = lin(2, [[0, 1, 1], [1, 2, 1], [1, 3, 1]])
    np.testing.assert_array_equal(naive.reaches_excretion(net), [True, False])
    np.testing.assert_array_equal(naive.reachable_from_intake(net), [True, True])
    assert naive.labels(net) == (False, False)
    assert naive.equilibrium_dense(net) is None
    assert naive.equilibrium_newton(net) is None
    x, ok = naive.integrate_ivp(net, t_end=1e4)
    assert not ok
    assert x[1] > 1e3  # grows linearly at rate 1/2


def test_unfed_dead_end_is_bounded_not_unique():
    # node 2 has no way out (a self-loop only) but nothing feeds it: L is singular, yet the
    # trajectory from 0 converges with x2 = 0 and x1 = 3 / 2
    net = lin(2, [[0, 1, 3], [1, 3, 2], [2, 2, 1]])
    np.testing.assert_array_equal(naive.reaches_excretion(net), [True, False])
    np.testing.assert_array_equal(naive.reachable_from_intake(net), [True, False])
    assert naive.labels(net) == (False, True)
    np.testing.assert_allclose(naive.equilibrium_dense(net), [1.5, 0.0], rtol=1e-12, atol=0)
    x, ok = naive.integrate_ivp(net)
    assert ok
    np.testing.assert_allclose(x, [1.5, 0.0], rtol=1e-8, atol=1e-12)


def test_unfed_node_that_reaches_excretion_is_unique():
    # node 2 is never fed but drains into 1: L is invertible, x2 = 0
    net = lin(2, [[0, 1, 2], [2, 1, 5], [1, 3, 4]])
    assert naive.labels(net) == (True, True)
    np.testing.assert_allclose(naive.equilibrium_dense(net), [0.5, 0.0], rtol=1e-12, atol=0)


def test_unfed_node_leading_into_dead_end():
    # 3 -> 2 and 2 is a dead end; neither is fed: bounded, not unique
    net = lin(3, [[0, 1, 1], [1, 4, 1], [3, 2, 1]])
    assert naive.labels(net) == (False, True)
    np.testing.assert_allclose(naive.equilibrium_dense(net), [1, 0, 0], rtol=1e-12, atol=0)


def test_self_loop_and_parallel_edges():
    # a self-loop carries nothing; parallel edges add up: x1 = 6 / (1 + 2)
    net = lin(1, [[0, 1, 6], [1, 1, 7], [1, 2, 1], [1, 2, 2]])
    np.testing.assert_allclose(naive.flux_balance(net, [2.0]), [0.0], atol=1e-15)
    np.testing.assert_allclose(naive.equilibrium_dense(net), [2.0], rtol=1e-12)


# ---- Michaelis-Menten ----------------------------------------------------------------

def test_mm_single_node_below_capacity():
    # phi = V x / (K + x)  ->  x = K phi / (V - phi) = 2 * 1 / (3 - 1) = 1
    net = mm(1, [[0, 1, 1, 0], [1, 2, 3, 2]])
    np.testing.assert_allclose(naive.equilibrium_newton(net), [1.0], rtol=1e-10)
    x, ok = naive.integrate_ivp(net)
    assert ok
    np.testing.assert_allclose(x, [1.0], rtol=1e-8)


@pytest.mark.parametrize("phi", [4.0, 3.0])  # past capacity V = 3, and exactly at it
def test_mm_single_node_at_or_past_capacity(phi):
    # no x >= 0 solves phi = 3 x / (2 + x); the algebraic "root" 2 phi / (3 - phi) < -K is not one
    net = mm(1, [[0, 1, phi, 0], [1, 2, 3, 2]])
    assert naive.equilibrium_newton(net) is None
    x, ok = naive.integrate_ivp(net)
    assert not ok
    assert x[0] > 1e3


def test_mm_chain_and_downstream_capacity():
    # 1 = 2 x1 / (1 + x1) -> x1 = 1;  1 = 3 x2 / (2 + x2) -> x2 = 1
    net = mm(2, [[0, 1, 1, 0], [1, 2, 2, 1], [2, 3, 3, 2]])
    np.testing.assert_allclose(naive.equilibrium_newton(net), [1, 1], rtol=1e-10)
    # node 1 passes phi = 2 on, node 2 can carry only 1.5
    net = mm(2, [[0, 1, 2, 0], [1, 2, 5, 1], [2, 3, 1.5, 1]])
    assert naive.equilibrium_newton(net) is None
    assert not naive.integrate_ivp(net)[1]


# ---- the Jacobian is the derivative of the flux balance ---------------------------------------

@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_jacobian_matches_finite_differences(kinetics):
    rng = np.random.default_rng(5)
    net = random_network(rng, 6, kinetics)
    x = rng.uniform(0.5, 3.0, net.n)
    J = naive.jacobian(net, x)
    h = 1e-6
    for j in range(net.n):
        e = np.zeros(net.n)
        e[j] = h
        col = (naive.flux_balance(net, x + e) - naive.flux_balance(net, x - e)) / (2 * h)
        np.testing.assert_allclose(J[:, j], col, rtol=1e-6, atol=1e-8)


# ---- random small networks: the two ground truths agree ---------------------------------

def random_network(rng, n, kinetics="linear", intake_scale=1.0):
    """Random directed edges (self-loops and parallel edges allowed), 1-2 intakes, ~n/3 exits."""
    m = int(rng.integers(n, 3 * n + 1))
    src = list(rng.integers(1, n + 1, m))
    dst = list(rng.integers(1, n + 1, m))
    for _ in range(int(rng.integers(1, 3))):
        src.append(0), dst.append(int(rng.integers(1, n + 1)))
    exits = np.flatnonzero(rng.random(n) < 0.3) + 1  # about a third of the nodes, at least one
    for u in exits if exits.size else rng.integers(1, n + 1, 1):
        src.append(int(u)), dst.append(n + 1)
    src, dst = np.array(src), np.array(dst)
    rate = np.exp(rng.uniform(np.log(0.1), np.log(10.0), src.size))
    rate[src == 0] *= intake_scale
    if kinetics == "linear":
        return Network(n, src, dst, rate).validate()
    km = np.where(src == 0, NAN, np.exp(rng.uniform(np.log(0.1), np.log(10.0), src.size)))
    return Network(n, src, dst, rate, km, kinetics).validate()


def test_ivp_agrees_with_dense_solve_on_random_networks():
    rng = np.random.default_rng(2024)
    counts = {(True, True): 0, (False, True): 0, (False, False): 0}
    for k in range(40):
        net = random_network(rng, int(rng.integers(2, 11)))
        unique, bounded = naive.labels(net)
        counts[unique, bounded] += 1
        x_dense = naive.equilibrium_dense(net)
        x_ivp, converged = naive.integrate_ivp(net)
        assert converged == bounded, k
        assert (x_dense is None) == (not bounded), k
        if bounded:
            assert np.all(x_dense >= 0), k
            assert np.abs(naive.flux_balance(net, x_dense)).sum() < 1e-10 * net.rate[net.is_intake].sum()
            assert rel_l1(x_ivp, x_dense) < 1e-6, (k, rel_l1(x_ivp, x_dense))
            np.testing.assert_allclose(naive.equilibrium_newton(net), x_dense, rtol=1e-7, atol=1e-12)
    assert counts[True, True] >= 10 and counts[False, False] >= 3, counts


def test_mm_newton_agrees_with_ivp_on_random_networks():
    rng = np.random.default_rng(77)
    found = over_capacity = 0
    for k in range(40):
        net = random_network(rng, int(rng.integers(2, 9)), "michaelis-menten", intake_scale=0.1)
        x_newton = naive.equilibrium_newton(net)
        x_ivp, converged = naive.integrate_ivp(net)
        assert converged == (x_newton is not None), k
        if converged:
            found += 1
            assert rel_l1(x_ivp, x_newton) < 1e-6, (k, rel_l1(x_ivp, x_newton))
        elif naive.labels(net)[1]:
            over_capacity += 1  # every fed node drains, yet the inflow exceeds some capacity
    assert found >= 10 and over_capacity >= 2, (found, over_capacity)
