"""Generator kernels against slow references, statistics per family, balance, determinism."""
from dataclasses import replace

import networkx as nx
import numba
import numpy as np
import pytest
from scipy import stats

import naive
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate
from metabnet.kernels.reach import reachability

KINETICS = ["linear", "michaelis-menten"]


@pytest.fixture(scope="module", params=list(FAMILIES))
def family_batch(request):
    lo = max(8, FAMILIES[request.param].min_nodes)
    cfg = GenConfig(family=request.param, size="custom", n_min=lo, n_max=max(40, lo + 20), balance="none")
    return cfg, generate(cfg, 300, seed=11)


def test_structure_and_reachability_match_networkx(family_batch):
    cfg, b = family_batch
    for i in range(len(b)):
        net = b.network(i).validate()
        inner = net.is_inner
        pairs = set(zip(net.src[inner].tolist(), net.dst[inner].tolist()))
        assert len(pairs) == inner.sum(), "parallel edges"
        assert not np.any(net.src[inner] == net.dst[inner]), "self-loop"
        assert cfg.intake_range[0] <= net.is_intake.sum() <= cfg.intake_range[1]
        assert cfg.excretion_range[0] <= net.is_excretion.sum() <= cfg.excretion_range[1]
        to_exc, from_in = reachability(net.n, net.src, net.dst)
        np.testing.assert_array_equal(to_exc[1:-1], naive.reaches_excretion(net))
        np.testing.assert_array_equal(from_in[1:-1], naive.reachable_from_intake(net))
        assert (bool(b["exists_unique"][i]), bool(b["exists_bounded"][i])) == naive.labels(net)


def test_equilibria_match_dense_solve(family_batch):
    _, b = family_batch
    checked = 0
    for i in range(len(b)):
        net = b.network(i)
        ref = naive.equilibrium_dense(net)
        x = b.x(i)
        assert (ref is None) == (x is None)
        if x is not None:
            np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(naive.flux_balance(net, x), 0, atol=1e-9 * max(1, np.abs(x).max()))
            checked += 1
    assert checked > 20


def test_edge_counts_follow_size_rule():
    """m = round(U[2,4] n) edges on average for the G(n,p) families (DESIGN §2)."""
    for fam in ("erdos", "erdos_gnm"):
        b = generate(GenConfig(family=fam, balance="none"), 4000, seed=3)
        n = b["n"].astype(float)
        inner = np.diff(b["edge_ptr"]) - 2
        ratio = inner / n
        assert 2.8 < ratio.mean() < 3.2, (fam, ratio.mean())
        assert b["n"].min() == 32 and b["n"].max() == 64
    gnm = generate(GenConfig(family="erdos_gnm", balance="none"), 200, seed=4)
    assert np.all(np.diff(gnm["edge_ptr"]) - 2 <= 4 * 64)


def test_scale_free_is_heavy_tailed():
    b = generate(GenConfig(family="scale_free", size="custom", n_min=200, n_max=200, balance="none"), 50, seed=5)
    maxdeg, meandeg = [], []
    for i in range(len(b)):
        net = b.network(i)
        indeg = np.bincount(net.dst[net.is_inner], minlength=net.n + 2)[1:-1]
        maxdeg.append(indeg.max())
        meandeg.append(indeg.mean())
    assert np.mean(maxdeg) > 8 * np.mean(meandeg), "no hubs in scale_free graphs"


def _small_world_reference(rng, count, lo=32, hi=64):
    """networkx's Watts-Strogatz graphs with the generator's draws (n ~ U{lo..hi}, ring degree
    2 round(m / n) with m = round(U[2, 4] n), rewiring beta ~ U[0, 1]), each edge oriented
    by a fair coin: (n, half degree, src, dst) with nodes 0..n-1 on the ring."""
    out = []
    for _ in range(count):
        n = int(rng.integers(lo, hi + 1))
        half = max(1, min((n - 1) // 2, round(round(rng.uniform(2, 4) * n) / n)))
        g = nx.watts_strogatz_graph(n, 2 * half, rng.uniform(), seed=int(rng.integers(2**31)))
        e = np.array([(a, b) if rng.random() < 0.5 else (b, a) for a, b in g.edges()])
        out.append((n, half, e[:, 0], e[:, 1]))
    return out


def _small_world_stats(graphs):
    """Pooled in- and out-degree counts, and each graph's share of edges still on the ring
    lattice (|a - b| mod n <= half degree): what a rewiring bias would move."""
    indeg, outdeg, ring = [], [], []
    for n, half, src, dst in graphs:
        indeg.append(np.bincount(dst, minlength=n))
        outdeg.append(np.bincount(src, minlength=n))
        gap = (src - dst) % n
        ring.append(np.mean(np.minimum(gap, n - gap) <= half))
    return np.concatenate(indeg), np.concatenate(outdeg), np.array(ring)


def _same_counts(a, b, cap=12):
    """p-value of a chi-square test that two samples of counts share one distribution."""
    a, b = np.minimum(a, cap), np.minimum(b, cap)
    table = np.array([np.bincount(a, minlength=cap + 1), np.bincount(b, minlength=cap + 1)])
    return stats.chi2_contingency(table[:, table.sum(0) > 0])[1]


def test_small_world_degrees_and_rewiring_match_networkx():
    """In- and out-degree distributions and the share of edges left on the ring agree with
    networkx's Watts-Strogatz graphs drawn the same way (a rewiring bias, a lopsided coin for
    directions or a wrong ring degree would each show)."""
    count = 300
    b = generate(GenConfig(family="small_world", balance="none"), count, seed=6)
    ours = []
    for i in range(count):
        net = b.network(i)
        inner = net.is_inner
        half, rest = divmod(int(inner.sum()), net.n)  # rewiring keeps n * ring degree / 2 edges
        assert rest == 0 and 2 <= half <= 4, (i, net.n, inner.sum())
        ours.append((net.n, half, net.src[inner] - 1, net.dst[inner] - 1))
    ref = _small_world_reference(np.random.default_rng(6), count)
    (ia, oa, ra), (ib, ob, rb) = _small_world_stats(ours), _small_world_stats(ref)
    assert _same_counts(ia, ib) > 1e-3, "in-degree distribution differs from networkx's"
    assert _same_counts(oa, ob) > 1e-3, "out-degree distribution differs from networkx's"
    assert stats.ks_2samp(ra, rb).pvalue > 1e-3, f"ring share {ra.mean():.3f} vs networkx {rb.mean():.3f}"
    assert 0.3 < ra.mean() < 0.8 and ra.min() < 0.2 and ra.max() > 0.95, "beta is not spread over [0, 1]"


@pytest.mark.parametrize("balance,expect", [("redeem", (0.45, 0.55)), ("none", (0.10, 0.25)), ("drop", (0.40, 0.60))])
def test_class_balance(balance, expect):
    b = generate(GenConfig(balance=balance), 8000, seed=1)
    share = b["exists_unique"].mean()
    assert expect[0] < share < expect[1], f"{balance}: share with equilibrium {share:.3f} outside {expect}"
    if balance == "none":
        assert b["redeemed"].max() == 0
    if balance == "redeem":
        assert 0.25 < (b["redeemed"] > 0).mean() < 0.40


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 1.0])
def test_ratio_balance_is_exact(ratio):
    count = 1000
    b = generate(GenConfig(balance="ratio", ratio=ratio), count, seed=2)
    assert b["exists_unique"].sum() == int(np.floor(count * ratio))


def test_multiple_intake_and_excretion_edges():
    b = generate(GenConfig(intake=3, excretion=2, balance="none"), 500, seed=8)
    for i in range(0, 500, 50):
        net = b.network(i)
        assert len(set(net.dst[net.is_intake])) == 3 and len(set(net.src[net.is_excretion])) == 2
    assert b["exists_unique"].mean() > generate(GenConfig(balance="none"), 500, seed=8)["exists_unique"].mean()


@pytest.mark.parametrize("weights", ["unweighted", "integer", "log-uniform"])
def test_weights(weights):
    cfg = GenConfig(weights=weights, w_min=0.01 if weights == "log-uniform" else 1, w_max=99)
    r = generate(cfg, 400, seed=9)["edge_rate"].astype(np.float64)
    if weights == "unweighted":
        assert np.all(r == 1)
    elif weights == "integer":
        assert np.all(r == np.round(r)) and r.min() == 1 and r.max() == 99
    else:
        assert r.min() >= 0.01 and r.max() <= 99 and np.median(np.log10(r)) == pytest.approx(np.log10(0.01 * 99) / 2, abs=0.05)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                    reason="Numba has one thread here: 1 vs N threads would compare 1 with 1")
@pytest.mark.parametrize("kinetics", KINETICS)
def test_same_bytes_on_one_or_two_threads(kinetics):
    cfg = GenConfig(family="scale_free", kinetics=kinetics, intake_scale=0.05)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = generate(cfg, 200, seed=5, shard=3, start=1000)
        numba.set_num_threads(2)
        two = generate(cfg, 200, seed=5, shard=3, start=1000)
    finally:
        numba.set_num_threads(before)
    for k in one:
        assert one[k].tobytes() == two[k].tobytes(), k


def test_network_depends_only_on_seed_shard_index():
    cfg = GenConfig()
    whole = generate(cfg, 100, seed=4, shard=2)
    tail = generate(cfg, 40, seed=4, shard=2, start=60)
    i = 60
    assert whole.network(i).to_dict() == tail.network(0).to_dict()
    other = generate(cfg, 100, seed=4, shard=1)
    assert whole.network(0).to_dict() != other.network(0).to_dict()


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="unknown family"):
        GenConfig(family="lattice")
    with pytest.raises(ValueError, match="node range"):
        GenConfig(size="custom", n_min=10, n_max=5)
    with pytest.raises(ValueError, match="balance"):
        replace(GenConfig(), balance="halve")


# ---- the Michaelis-Menten Newton kernel against scipy, every family and size class --------
MM_COUNTS = {"S": 50, "M": 8, "L": 2}  # networks per family, half with an equilibrium
MM_INTAKE = {"S": 0.01, "M": 0.004, "L": 0.001}  # less inflow for larger networks: both classes


@pytest.mark.parametrize("size", list(MM_COUNTS))
def test_mm_newton_matches_scipy_root(size):
    """kernels.equilibrium's damped Newton against naive.equilibrium_newton (scipy's root on
    log x): the same verdict and the same equilibrium, on every family."""
    found = lost = 0
    for k, family in enumerate(FAMILIES):
        cfg = GenConfig(family=family, size=size, kinetics="michaelis-menten", intake_scale=MM_INTAKE[size],
                        balance="ratio", ratio=0.5)
        b = generate(cfg, MM_COUNTS[size], seed=100 + k, shard=7)
        for i in range(len(b)):
            net = b.network(i)
            ref = naive.equilibrium_newton(net)
            x = b.x(i)
            where = f"{family} {size} network {i} (n={net.n})"
            assert (x is None) == (ref is None), where
            assert not b["flags"][i] & 1, where
            if x is not None:
                found += 1
                assert np.abs(x - ref).sum() <= 1e-7 * np.abs(ref).sum(), where
                assert b["residual"][i] < 1e-9, where
            else:
                lost += 1
    assert found == lost == len(FAMILIES) * MM_COUNTS[size] // 2, (found, lost)
