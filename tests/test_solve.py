"""The solver sizes its work by reactions: nodes no reaction touches cost nothing, and what
cannot fit is refused with one line naming the file."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from metabnet.cli.main import main
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.network import Network
from metabnet.solve import SolveError, limits, solve


def test_a_billion_nodes_is_refused_naming_the_file(tmp_path):
    big = {"name": "huge", "n": 10**9, "edges": [[1, 2, 1.0]], "intake": [[1, 2.0]], "excretion": [[2, 1.0]]}
    (tmp_path / "huge.json").write_text(json.dumps(big))
    (tmp_path / "ok.json").write_text(json.dumps({**big, "name": "ok", "n": 2}))
    r = CliRunner().invoke(main, ["solve", str(tmp_path)])
    assert r.exit_code == 1
    assert [json.loads(line)["name"] for line in r.stdout.splitlines()] == ["ok"]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {tmp_path / 'huge.json'}: huge: 1,000,000,000 inner nodes, more than the "
                      "solver takes (10,000,000: the answer alone would not fit)"], r.stderr


@pytest.mark.parametrize("method", ["direct", "ode"])
def test_many_untouched_nodes_cost_nothing(method):
    # 0 -2-> 7 -1-> 300000 -4-> out, and 299,998 nodes without a reaction
    n = 300_000
    net = Network(n, [0, 7, n], [7, n, n + 1], [2.0, 1.0, 4.0]).validate()
    r = solve(net, method)
    assert (r["exists_unique"], r["exists_bounded"]) == (False, True)  # untouched nodes never drain
    x = np.array(r["x"])
    assert x.shape == (n,) and np.count_nonzero(x) == 2
    np.testing.assert_allclose([x[6], x[n - 1]], [2.0, 0.5], rtol=1e-9)


@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_isolated_nodes_change_nothing_else(kinetics):
    cfg = GenConfig(size="custom", n_min=10, n_max=20, kinetics=kinetics, intake_scale=0.02)
    b = generate(cfg, 30, seed=4)
    for i in range(len(b)):
        net = b.network(i)
        wide = Network(net.n + 3, net.src, np.where(net.dst == net.n + 1, net.n + 4, net.dst), net.rate,
                       net.km, kinetics)
        a, w = solve(net), solve(wide)
        assert w["exists_unique"] is False and w["exists_bounded"] == a["exists_bounded"]
        if a["x"] is not None:
            assert w["x"] == a["x"] + [0.0, 0.0, 0.0] and w["residual"] == a["residual"]
            assert w["iterations"] == a["iterations"] and w["method"] == a["method"]
        wide_x0 = solve(wide, x0=np.ones(wide.n))
        assert wide_x0["exists_bounded"] == a["exists_bounded"]


def test_too_many_nodes_with_reactions_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "MAX_SPARSE", 5)
    net = Network(6, [0, 1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 7], np.ones(7), name="chain")
    net.meta["file"] = "chain.json"
    with pytest.raises(SolveError, match=r"^chain: 6 nodes with reactions, more than the sparse "
                                         r"solver takes \(5\)$"):
        solve(net)
    assert solve(Network(5, [0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], np.ones(6)))["exists_unique"]
