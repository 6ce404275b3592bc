"""Hand-worked networks: exact equilibria and labels from both methods."""
import numpy as np
import pytest

from metabnet.network import Network
from metabnet.solve import solve


def net(n, edges, km=None, kinetics="linear"):
    e = np.array(edges, dtype=float)
    return Network(n, e[:, 0], e[:, 1], e[:, 2], None if km is None else np.array(km, float), kinetics)


GOLDEN = {
    # 0 -phi 2-> 1 -1-> 2 -4-> 3 -0.5-> out: the flux 2 passes every node, x = 2 / rate out
    "chain": (net(3, [[0, 1, 2], [1, 2, 1], [2, 3, 4], [3, 4, 0.5]]), True, True, [2.0, 0.5, 4.0]),
    # cycle 1->2->3->1 with exit from 3: x1 = x2 = 2 x3, 1 + x3 - x1 = 0 -> x3 = 1
    "cycle_one_exit": (net(3, [[0, 1, 1], [1, 2, 1], [2, 3, 1], [3, 1, 1], [3, 4, 1]]), True, True, [2.0, 2.0, 1.0]),
    # node 2 fed from 1 has no way out: it fills up for ever
    "no_way_out": (net(2, [[0, 1, 1], [1, 2, 1], [1, 3, 1]]), False, False, None),
    # node 2 has no way out but nothing feeds it: the trajectory converges with x2 = 0
    "unfed_dead_end": (net(2, [[0, 1, 3], [1, 3, 2], [2, 2, 1]]), False, True, [1.5, 0.0]),
    # Michaelis-Menten, below capacity: phi = V x / (K + x) -> x = K phi / (V - phi) = 2 * 1 / 2
    "mm_below_capacity": (net(1, [[0, 1, 1], [1, 2, 3]], [np.nan, 2.0], "michaelis-menten"), True, True, [1.0]),
    # Michaelis-Menten chain: 1 = 2 x1 / (1 + x1) -> x1 = 1; 1 = 3 x2 / (2 + x2) -> x2 = 1
    "mm_chain": (net(2, [[0, 1, 1], [1, 2, 2], [2, 3, 3]], [np.nan, 1.0, 2.0], "michaelis-menten"), True, True, [1.0, 1.0]),
    # past capacity: inflow 4 > V = 3 -> accumulates without bound
    "mm_past_capacity": (net(1, [[0, 1, 4], [1, 2, 3]], [np.nan, 2.0], "michaelis-menten"), False, False, None),
    # past capacity one step downstream: node 1 passes all of phi = 2 on, node 2 can carry 1.5
    "mm_downstream_capacity": (net(2, [[0, 1, 2], [1, 2, 5], [2, 3, 1.5]], [np.nan, 1.0, 1.0], "michaelis-menten"),
                               False, False, None),
}


@pytest.mark.parametrize("name", GOLDEN)
@pytest.mark.parametrize("method", ["direct", "ode"])
def test_golden(name, method):
    network, unique, bounded, x = GOLDEN[name]
    r = solve(network.validate(), method)
    assert (r["exists_unique"], r["exists_bounded"]) == (unique, bounded), name
    if x is None:
        assert r["x"] is None
    else:
        np.testing.assert_allclose(r["x"], x, rtol=1e-9, atol=1e-12)
        assert r["residual"] < 1e-12
