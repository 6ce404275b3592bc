"""The hard families (trap, longpath, bowtie, layered, modular) against networkx references:
closed classes, diameter, several intakes/excretions, labels, balance, determinism, the
pipeline from `metabnet gen` to the per-family columns `metabnet eval` groups by."""
import json
import numba
import numpy as np
import pytest
from click.testing import CliRunner

import naive
from metabnet.cli.main import main
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate
from metabnet.kernels import generator as kg

HARD = [f for f in FAMILIES if FAMILIES[f].hard]
SHAPES = ["bowtie", "layered", "modular"]


def small(family, **kw):
    """A custom size just above the family's minimum: fast for the networkx references."""
    lo = max(8, FAMILIES[family].min_nodes)
    return GenConfig(family=family, size="custom", n_min=lo, n_max=lo + 24, **kw)


no_sink, intake_distance, fed_closed_classes = naive.no_sink, naive.intake_distances, naive.fed_closed_classes


def test_hard_families_are_registered():
    assert set(HARD) == {"trap", "longpath", "bowtie", "layered", "modular"}
    assert all(FAMILIES[f].about for f in HARD)


@pytest.mark.parametrize("weights", ["unweighted", "integer", "log-uniform"])
def test_trap_is_sink_free_and_its_label_is_the_coin(weights):
    b = generate(GenConfig(family="trap", weights=weights, w_min=0.01 if weights == "log-uniform" else 1), 600, seed=7)
    sink_free = np.mean([no_sink(b.network(i)) for i in range(len(b))])
    assert sink_free >= 0.99, f"only {sink_free:.1%} of trap networks have no sink"
    coin = b["redeemed"] > 0  # built with an equilibrium: the construction added repair edges
    np.testing.assert_array_equal(coin, b["exists_unique"])
    np.testing.assert_array_equal(b["exists_bounded"], b["exists_unique"])  # the intake feeds the trap
    assert 0.45 < coin.mean() < 0.55, coin.mean()


def test_trap_closed_class_present_and_fed_iff_no_equilibrium():
    b = generate(small("trap"), 250, seed=12)
    sizes, depths = [], []
    for i in range(len(b)):
        net = b.network(i)
        closed = fed_closed_classes(net)
        assert bool(closed) == (not b["exists_unique"][i]), i
        if closed:
            d = intake_distance(net)
            sizes.append(max(len(c) for c in closed))
            depths.append(min(d[v] for c in closed for v in c))
            assert min(len(c) for c in closed) >= 2  # sink-free: no closed class of one node
    assert min(sizes) == 2 and max(sizes) >= 8, "trap sizes do not vary"
    assert min(depths) == 1 and max(depths) >= 4, "trap depths do not vary"


@pytest.mark.parametrize("size", ["S", "M"])
def test_longpath_diameter_at_least_20(size):
    b = generate(GenConfig(family="longpath", size=size), 60, seed=size == "M")
    for i in range(len(b)):
        net = b.network(i)
        d = intake_distance(net)
        assert max(d[v] for v in range(1, net.n + 1) if v in d) >= 20, i
        if not b["exists_unique"][i]:  # the closed block reaches >= 20 hops out
            assert any(max(d[v] for v in c) >= 20 for c in fed_closed_classes(net)), i
    assert 0.35 < b["exists_unique"].mean() < 0.65


def test_longpath_label_is_the_coin_and_mostly_sink_free():
    b = generate(GenConfig(family="longpath"), 400, seed=3)
    np.testing.assert_array_equal(b["redeemed"] > 0, b["exists_unique"])
    assert np.mean([no_sink(b.network(i)) for i in range(len(b))]) >= 0.95


@pytest.mark.parametrize("family", HARD)
def test_several_intakes_and_excretions(family):
    b = generate(small(family), 200, seed=5)
    n_in, n_ex = [], []
    for i in range(len(b)):
        net = b.network(i).validate()
        ins, exs = net.dst[net.is_intake], net.src[net.is_excretion]
        assert len(set(ins.tolist())) == len(ins) and len(set(exs.tolist())) == len(exs)
        n_in.append(len(ins))
        n_ex.append(len(exs))
    assert set(n_in) == set(n_ex) == {1, 2, 3, 4}
    fixed = generate(GenConfig(family=family, intake=2, intake_max=2, excretion=3, excretion_max=3), 30, seed=5)
    for i in range(len(fixed)):
        net = fixed.network(i)
        assert net.is_intake.sum() == 2 and net.is_excretion.sum() == 3


def test_paper_family_draws_a_range_of_ends():
    b = generate(GenConfig(intake=1, intake_max=3, excretion=2, excretion_max=2), 300, seed=4)
    counts = {int(b.network(i).is_intake.sum()) for i in range(len(b))}
    assert counts == {1, 2, 3}
    # without a range, the paper families keep the bytes they had (no extra draw)
    v = GenConfig().vector()
    assert v[kg.C_N_INTAKE_HI] == v[kg.C_N_INTAKE] == 1 and v[kg.C_N_EXCRETION_HI] == v[kg.C_N_EXCRETION] == 1


@pytest.mark.parametrize("family", HARD)
def test_labels_and_equilibria_match_naive_over_seeds(family):
    for seed in range(4):
        b = generate(small(family), 40, seed=100 + seed)
        for i in range(len(b)):
            net = b.network(i)
            assert (bool(b["exists_unique"][i]), bool(b["exists_bounded"][i])) == naive.labels(net), (seed, i)
            ref, x = naive.equilibrium_dense(net), b.x(i)
            assert (ref is None) == (x is None)
            if x is not None:
                np.testing.assert_allclose(x, ref, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("family", HARD)
def test_michaelis_menten_labels_match_naive(family):
    cfg = small(family, kinetics="michaelis-menten", intake_scale=0.05)
    b = generate(cfg, 30, seed=8)
    assert not (b["flags"] & 1).any()
    for i in range(len(b)):
        net = b.network(i)
        ref = naive.equilibrium_newton(net)
        assert (ref is not None) == bool(b["exists_bounded"][i]), i
        if ref is not None:
            np.testing.assert_allclose(b.x(i), ref, rtol=1e-6)


@pytest.mark.parametrize("family", HARD)
def test_every_size_and_custom_range(family):
    for size, count in (("S", 40), ("M", 20), ("L", 6)):
        b = generate(GenConfig(family=family, size=size), count, seed=2)
        lo, hi = GenConfig(size=size).node_range
        assert lo <= b["n"].min() and b["n"].max() <= hi
        assert np.nanmax(b["residual"]) < 1e-8 and not b["flags"].any()
    lo = FAMILIES[family].min_nodes
    b = generate(GenConfig(family=family, size="custom", n_min=lo, n_max=lo), 20, seed=2)
    assert (b["n"] == lo).all()
    with pytest.raises(ValueError, match="at least"):
        GenConfig(family=family, size="custom", n_min=lo - 1, n_max=lo + 5)


@pytest.mark.parametrize("family", ["trap", "bowtie"])
def test_ratio_balance_is_exact(family):
    b = generate(GenConfig(family=family, balance="ratio", ratio=0.3), 500, seed=6)
    assert b["exists_unique"].sum() == 150


@pytest.mark.parametrize("family", SHAPES)
def test_shapes_are_balanced(family):
    b = generate(GenConfig(family=family), 600, seed=9)
    assert 0.42 < b["exists_unique"].mean() < 0.58


def test_layered_and_bowtie_intakes_feed_the_network():
    """Intake targets are the first layer / the fan-in roots: most nodes are fed."""
    for family in ("layered", "bowtie"):
        b = generate(GenConfig(family=family), 100, seed=10)
        fed = [naive.reachable_from_intake(b.network(i)).mean() for i in range(len(b))]
        assert np.median(fed) > 0.8, (family, np.median(fed))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="Numba has one thread")
@pytest.mark.parametrize("family", HARD)
def test_same_bytes_on_one_or_more_threads(family):
    cfg = GenConfig(family=family)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = generate(cfg, 150, seed=5, shard=2, start=300)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = generate(cfg, 150, seed=5, shard=2, start=300)
    finally:
        numba.set_num_threads(before)
    for k in one:
        assert one[k].tobytes() == many[k].tobytes(), k
    tail = generate(cfg, 50, seed=5, shard=2, start=400)
    assert one.network(100).to_dict() == tail.network(0).to_dict()


def test_gen_export_and_eval_columns(tmp_path):
    from metabnet.learn.loader import ShardIndex

    out = tmp_path / "trap"
    r = CliRunner().invoke(main, ["gen", "--out", str(out), "--family", "trap", "--count", "60",
                                  "--size", "M", "--intake-max", "2", "--seed", "3", "-q"])
    assert r.exit_code == 0, r.output
    assert "unique equilibrium" in r.output
    index = ShardIndex(out)
    data = index.read_all()
    index.close()
    assert set(data["family"]) == {"trap"}  # what `metabnet eval` groups its family table by
    r = CliRunner().invoke(main, ["export", str(out / "shard-00000.h5")])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.output.splitlines()]
    assert len(recs) == 60 and all(1 <= len(rec["intake"]) <= 2 for rec in recs)
    assert [rec["exists_unique"] for rec in recs] == data["exists_unique"].tolist()


@pytest.mark.parametrize("family,most", [("trap", 0.56), ("longpath", 0.65), ("bowtie", 0.75),
                                         ("layered", 0.75), ("modular", 0.75)])
def test_no_sink_rule_is_near_chance(family, most):
    """The point of the hard families: "exists iff no inner node is a sink" (right 99%+ of the
    time on the paper's distribution) is not much better than a coin here."""
    b = generate(GenConfig(family=family), 600, seed=13)
    rule = np.array([no_sink(b.network(i)) for i in range(len(b))])
    acc = np.mean(rule == b["exists_unique"])
    assert acc < most, f"{family}: no-sink rule right {acc:.1%}"


def test_closed_class_reference_is_the_bounded_rule():
    """naive.fed_closed_classes (used above) agrees with the labels on the paper's families."""
    for family in ("erdos", "scale_free"):
        b = generate(GenConfig(family=family, size="custom", n_min=6, n_max=20, balance="none"), 150, seed=14)
        for i in range(len(b)):
            assert bool(fed_closed_classes(b.network(i))) == (not b["exists_bounded"][i]), (family, i)
