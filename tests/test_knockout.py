"""metabnet knockout: every single (and double) reaction knock-out of one network, each
variant's answer equal to solving it on its own, fold changes against the intact network."""
import json
import math
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner
from test_score import Oracle, checkpoint, networks

from metabnet.score import knockout as ko
from metabnet.cli.main import main
from metabnet.io.formats import write_networks
from metabnet.network import Network
from metabnet.score.scorer import Scorer
from metabnet.solve import solve

# 0 -2-> 1, 1 -1-> 2, 2 -1-> out, 1 -1-> out: x1 = 2 / 2 = 1, x2 = 1
BYPASS = Network(2, [0, 1, 2, 1], [1, 2, 3, 3], [2.0, 1.0, 1.0, 1.0], name="bypass")


def knock(args):
    r = CliRunner().invoke(main, ["knockout", *map(str, args)])
    return r, [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def test_variants_remove_exactly_the_knocked_out_reactions():
    net = networks(1, seed=11)[0]
    edges = Counter(zip(net.src.tolist(), net.dst.tolist(), net.rate.tolist()))
    for pairs, size in ((False, 1), (True, 2)):
        found = list(ko.variants(net, pairs))
        assert len(found) == ko.count(net.m, pairs) == (net.m * (net.m - 1) // 2 if pairs else net.m)
        assert [k for k, _ in found] == sorted({tuple(sorted(k)) for k, _ in found})  # each once, in order
        for removed, v in found:
            assert len(removed) == size and v.n == net.n and v.m == net.m - size
            left = Counter(zip(v.src.tolist(), v.dst.tolist(), v.rate.tolist()))
            gone = Counter((int(net.src[i]), int(net.dst[i]), float(net.rate[i])) for i in removed)
            assert left + gone == edges


def test_hand_worked_knockouts_of_a_bypass():
    recs = list(ko.run(BYPASS, Scorer()))
    intact, *rest = recs
    assert intact["knockout"] == [] and intact["x"] == pytest.approx([1.0, 1.0])
    by = {tuple(r["reactions"]): r for r in rest}
    assert list(by) == [("INTAKE->1",), ("1->2",), ("2->EXCRETION",), ("1->EXCRETION",)]
    no_intake = by[("INTAKE->1",)]  # nothing flows: every concentration falls to 0
    assert no_intake["exists_unique"] and no_intake["x"] == [0.0, 0.0] and no_intake["nodes_off"] == 2
    assert no_intake["ratio"] == [0.0, 0.0] and no_intake["log2fc"] == [None, None]
    cut = by[("1->2",)]  # all of phi leaves through 1's own exit: x1 = 2, node 2 unfed
    assert cut["ratio"] == pytest.approx([2.0, 0.0]) and cut["log2fc"][0] == pytest.approx(1.0)
    assert cut["log2fc"][1] is None
    assert cut["nodes_off"] == 1 and cut["most_changed"]["node"] == "1" and not cut["destroys"]
    dead_end = by[("2->EXCRETION",)]  # node 2 is fed and has no way out
    assert dead_end["destroys"] and dead_end["x"] is None and dead_end["ratio"] is None
    other = by[("1->EXCRETION",)]  # all of phi through node 2: x1 = 2, x2 = 2
    assert other["log2fc"] == pytest.approx([1.0, 1.0]) and other["max_abs_log2fc"] == pytest.approx(1.0)
    effects = ko.Effects(BYPASS, intact, top=3)
    for r in rest:
        effects.add(r)
    table = effects.table()
    assert "4 knock-outs: 1 destroy the equilibrium" in table and "destroy: 2->EXCRETION" in table
    rows = [line.split()[0] for line in table.splitlines()[-3:]]
    assert rows == ["INTAKE->1", "1->2", "1->EXCRETION"]  # two nodes off, one node off, then |log2FC| 1


@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_cli_knockouts_equal_solving_each_variant(tmp_path, kinetics):
    net = next(n for n in networks(10, seed=12, kinetics=kinetics, prefix="k") if solve(n)["exists_unique"])
    write_networks(tmp_path / "net.json", net)
    r, recs = knock([tmp_path / "net.json", "--model", "solver"])
    assert r.exit_code == 0, r.output
    assert len(recs) == net.m + 1 and recs[0]["knockout"] == []
    intact = solve(net)
    assert recs[0]["x"] == intact["x"]
    for (removed, variant), rec in zip(ko.variants(net), recs[1:]):
        alone = solve(variant)
        assert rec["knockout"] == list(removed)
        assert (rec["exists_unique"], rec["exists_bounded"], rec["x"]) == \
            (alone["exists_unique"], alone["exists_bounded"], alone["x"])
        assert rec["destroys"] == (intact["exists_unique"] and not alone["exists_unique"])
        if intact["x"] is not None and alone["x"] is not None:
            for a, b, ratio in zip(intact["x"], alone["x"], rec["ratio"]):
                assert ratio == (b / a if a > 0 else None)
    destroyed = sum(rec["destroys"] for rec in recs)
    assert f"{net.m:,} knock-outs: {destroyed:,} destroy" in r.stderr
    assert intact["exists_unique"] and destroyed >= 1  # removing an only excretion reaction destroys


def test_pairs(tmp_path):
    net = networks(1, seed=14, n_min=4, n_max=4)[0]
    write_networks(tmp_path / "net.jsonl", [net, networks(1, seed=15, prefix="other")[0]])
    r, _ = knock([tmp_path / "net.jsonl", "--pairs", "--model", "solver"])
    assert r.exit_code != 0 and "holds 2 networks" in r.output
    r, recs = knock([tmp_path / "net.jsonl", "--pairs", "--name", net.name, "--model", "solver"])
    assert r.exit_code == 0, r.output
    m = net.m
    assert len(recs) - 1 == m * (m - 1) // 2
    assert sorted(tuple(rec["knockout"]) for rec in recs[1:]) == [(i, j) for i in range(m) for j in range(i + 1, m)]
    first = recs[1]
    alone = solve(next(v for k, v in ko.variants(net, pairs=True) if list(k) == first["knockout"]))
    assert first["x"] == alone["x"]


def test_knockouts_scored_by_a_model(tmp_path):
    net = networks(1, seed=16)[0]
    recs = list(ko.run(net, Scorer(Oracle(0.0), {}, verify=True)))
    assert all(r["method"] == "model" for r in recs)
    for r in recs:
        assert r["exists_unique"] == r["exact"]["exists_unique"]
        if r["x"] is not None:  # the oracle: exact x through float32 log10
            np.testing.assert_allclose(r["x"], r["exact"]["x"], rtol=1e-5, atol=1.1e-6)
    write_networks(tmp_path / "net.json", net)
    r, recs = knock([tmp_path / "net.json", "--model", checkpoint(tmp_path / "m.pt"), "--verify",
                     "--out", tmp_path / "ko.jsonl"])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in (tmp_path / "ko.jsonl").read_text().splitlines()]
    assert len(recs) == net.m + 1 and {rec["method"] for rec in recs} == {"model"}
    for (_, variant), rec in zip(ko.variants(net), recs[1:]):
        assert rec["exact"]["x"] == solve(variant)["x"]
    assert "knock-outs" in r.stdout and "verify: model vs exact solver" in r.stdout
    assert all(rec["log2fc"] is None or all(v is None or math.isfinite(v) for v in rec["log2fc"]) for rec in recs)
