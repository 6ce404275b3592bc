"""The rate-attention Transformer (metabnet.learn.transformer): shapes, equivariance to relabelling
inner nodes, its fixed algebra against numpy references, and a two-step training run."""
from pathlib import Path

import numpy as np
import pytest
import torch

from metabnet.learn.archs import ARCHS
from metabnet.batch import as_batch
from metabnet.gen import GenConfig, generate
from metabnet.learn.model import ModelConfig, build, init_weights
from metabnet.learn.predict import to_device
from metabnet.learn.train import TrainConfig, train
from metabnet.learn.transformer import AlgebraConfig, Graph

torch.set_num_threads(1)
TINY = dict(arch="transformer", task="quanti", d_model=16, n_heads=4, n_enc=2)


def _model(seed=0, **kw):
    return init_weights(build(ModelConfig(**{**TINY, **kw})), seed).eval()


def _arrays(b):
    return to_device(ARCHS["transformer"].arrays(b, "quanti"), "cpu")


def _data(name):
    """The networks of tests/data/NAME."""
    from metabnet.io.formats import read_networks

    return read_networks(Path(__file__).parent / "data" / name)


def _algebra_exists(alg, inner):
    """The untrained verdict: every inner node can exit and none is saturated (B,)."""
    return alg["can_exit"].eq(inner).all(-1) & ((alg["sat"] < 1) | ~inner).all(-1)


@pytest.fixture(scope="module")
def linear():
    return generate(GenConfig(n_min=8, n_max=14), 24, seed=11)


@pytest.fixture(scope="module")
def mm():
    return generate(GenConfig(n_min=8, n_max=14, kinetics="michaelis-menten", intake_scale=0.05,
                              balance="ratio"), 24, seed=12)


def test_shapes(linear):
    t = _arrays(linear)
    with torch.no_grad():
        out = _model()(t)
    B, T = len(linear), int(t["T"])
    assert out["logit"].shape == (B,) and out["log_x"].shape == (B, T) and out["reached"].shape == (B, T)
    assert torch.isfinite(out["logit"]).all() and torch.isfinite(out["log_x"]).all()
    t2 = _arrays(linear)
    model = _model().train()
    loss = model(t2)["loss"]
    loss.backward()
    assert torch.isfinite(loss) and model.embed.weight.grad is not None


def _relabel(net, perm):
    """The same network with inner node v renamed perm[v - 1] (intake 0 and excretion n+1 kept)."""
    m = np.concatenate([[0], perm, [net.n + 1]])
    return type(net)(net.n, m[net.src], m[net.dst], net.rate, net.km, net.kinetics)


@pytest.mark.parametrize("which", ["linear", "mm"])
def test_equivariant_to_relabelling_inner_nodes(which, linear, mm):
    b = linear if which == "linear" else mm
    rng = np.random.default_rng(0)
    nets = [b.network(i) for i in range(6)]
    perms = [rng.permutation(net.n) + 1 for net in nets]
    model = _model(seed=3)
    with torch.no_grad():  # a trained-looking model: random, non-zero heads
        model.head.weight.normal_(0, 0.1)
        a = model(_arrays(as_batch(nets)))
        p = model(_arrays(as_batch([_relabel(n, q) for n, q in zip(nets, perms)])))
    assert torch.allclose(a["logit"], p["logit"], rtol=1e-4, atol=1e-4)
    for i, (net, q) in enumerate(zip(nets, perms)):
        assert np.allclose(a["log_x"][i, 1:net.n + 1].numpy(), p["log_x"][i, q].numpy(), rtol=1e-4, atol=1e-4)


def _reference_linear(net):
    """numpy: throughflow f = (I - P^T)^-1 phi and x = f / d over inner nodes (None when some
    inner node cannot reach the excretion), by a dense solve and a reverse search."""
    n = net.n
    A = np.zeros((n + 2, n + 2))
    for u, v, r in zip(net.src, net.dst, net.rate):
        if u != v:
            A[u, v] += r
    reach = {n + 1}
    changed = True
    while changed:
        changed = False
        for u in range(1, n + 1):
            if u not in reach and any(A[u, w] > 0 for w in reach):
                reach.add(u)
                changed = True
    if len(reach) < n + 1:
        return None
    d = A[1:n + 1].sum(1)
    P = A[1:n + 1, 1:n + 1] / d[:, None]
    f = np.linalg.solve(np.eye(n) - P.T, A[0, 1:n + 1])
    return f / d


def test_untrained_algebra_matches_numpy_linear(linear):
    with torch.no_grad():
        out = _model()(_arrays(linear))
    for i in range(len(linear)):
        net = linear.network(i)
        ref = _reference_linear(net)
        assert (ref is not None) == bool(out["logit"][i] > 0) == bool(linear["exists_unique"][i])
        if ref is not None:
            x = 10.0 ** out["log_x"][i, 1:net.n + 1].double().numpy()
            x[out["reached"][i, 1:net.n + 1].numpy() <= 0] = 0
            assert np.abs(x - ref).sum() / np.abs(ref).sum() < 1e-3
            assert np.abs(x - linear.x(i)).sum() / np.abs(linear.x(i)).sum() < 1e-3


def test_algebra_float64_matches_solver_michaelis_menten(mm):
    """The fixed algebra alone (float64 doubling) against the exact solver's labels."""
    model = _model()
    model.algebra.a.dtype = "float64"
    with torch.no_grad():
        out = model(_arrays(mm))
    assert ((out["logit"] > 0).numpy() == mm["exists_unique"]).mean() >= 0.9
    alg = out["algebra"]
    for i in np.flatnonzero(mm["exists_unique"] & (out["logit"] > 0).numpy()):
        x, ref = alg["x"][i, 1:mm["n"][i] + 1].numpy(), mm.x(i)
        assert np.abs(x - ref).sum() / np.abs(ref).sum() < 1e-2


def test_saturated_node_has_no_equilibrium():
    """One Michaelis-Menten reaction out of node 1 with V below the intake: inflow reaches
    capacity, the algebra says no; with V above it, x = K f / (V - f)."""
    from metabnet.network import Kinetics, Network

    def net(v):  # intake 0 -> 1 (phi 1), 1 -> excretion 2 (V, K 2)
        return Network(1, np.array([0, 1]), np.array([1, 2]), np.array([1.0, v]), np.array([np.nan, 2.0]),
                       Kinetics.MM)
    b = as_batch([net(0.5), net(3.0)])
    with torch.no_grad():
        out = _model()(_arrays(b))
    assert out["logit"][0] < 0 < out["logit"][1]
    assert abs(10 ** out["log_x"][1, 1].item() - 2.0 * 1 / (3.0 - 1)) < 1e-5


def test_halting_levels_grow_with_mixing_not_batch(linear):
    """A network's levels are its own: the same with any batch around it."""
    with torch.no_grad():
        a = _model().algebra(Graph.of(_arrays(linear)))["levels"]
        one = _model().algebra(Graph.of(_arrays(as_batch([linear.network(0)]))))["levels"]
    assert int(one[0]) == int(a[0]) and int(a.max()) < AlgebraConfig().levels_max


def test_train_two_steps(tmp_path):
    tc = TrainConfig(data=None, mixture=[dict(n_min=8, n_max=12), dict(n_min=8, n_max=12, kinetics="michaelis-menten",
                                                                    intake_scale=0.05)],
                     out=str(tmp_path / "run"), batch_size=8, max_steps=2, warmup=1, val_size=8,
                     log_every=1, device="cpu", compile=False)
    last = train(tc, ModelConfig(**TINY), progress=False)
    assert "accuracy" in last and (tmp_path / "run" / "model.pt").exists()


def test_two_reactions_out_golden():
    """Node 1 with intake 1 and two Michaelis-Menten reactions to the excretion (V 2, K 1 and
    V 3, K 2): x solves 2x/(1+x) + 3x/(2+x) = 1, i.e. 4x^2 + 4x - 2 = 0, x = (sqrt 3 - 1) / 2."""
    from metabnet.network import Kinetics, Network

    net = Network(1, np.array([0, 1, 1]), np.array([1, 2, 2]), np.array([1.0, 2.0, 3.0]),
                  np.array([np.nan, 1.0, 2.0]), Kinetics.MM)
    with torch.no_grad():
        out = _model()(_arrays(as_batch([net])))
    assert out["logit"][0] > 0
    assert abs(10 ** out["log_x"][0, 1].item() - (3 ** 0.5 - 1) / 2) < 1e-5


def test_closed_class_cannot_exit():
    """0 -> 1, 1 -> 2 <-> 3 (a closed class the intake reaches), 1 -> excretion 4: nodes 2 and 3
    cannot exit, node 1 can; no equilibrium."""
    from metabnet.network import Network

    net = Network(3, np.array([0, 1, 2, 3, 1]), np.array([1, 2, 3, 2, 4]), np.ones(5))
    g = Graph.of(_arrays(as_batch([net])))
    with torch.no_grad():
        alg = _model().algebra(g)
        out = _model()(_arrays(as_batch([net])))
    assert alg["can_exit"][0, 1:4].tolist() == [True, False, False]
    assert out["logit"][0] < 0


def test_reach_matches_reverse_search(linear):
    g = Graph.of(_arrays(linear))
    with torch.no_grad():
        can_exit = _model().algebra(g)["can_exit"]
    for i in range(len(linear)):
        net = linear.network(i)
        reach, changed = {net.n + 1}, True
        while changed:
            changed = False
            for u, v in zip(net.src, net.dst):
                if 0 < u <= net.n and u != v and v in reach and u not in reach:
                    reach.add(int(u))
                    changed = True
        assert can_exit[i, 1:net.n + 1].tolist() == [v in reach for v in range(1, net.n + 1)]


def _balance(net, x):
    """numpy: the largest |inflow - outflow| over inner nodes at concentrations x (n,), relative
    to the intake, each reaction's flux rate * x (linear) or V x / (K + x) (Michaelis-Menten)."""
    xs = np.concatenate([[1.0], x, [0.0]])[net.src]  # intake reactions carry their rate
    km = np.nan_to_num(net.km, nan=0.0)
    mm = (net.km > 0) & (net.src > 0)
    v = np.where(mm, net.rate * xs / np.where(mm, km + xs, 1.0), net.rate * xs)
    net_in = np.zeros(net.n + 2)
    np.add.at(net_in, net.dst, v)
    np.add.at(net_in, net.src, -v)
    return np.abs(net_in[1:net.n + 1]).max() / net.rate[net.src == 0].sum()


@pytest.mark.parametrize("family", ["erdos", "trap", "longpath"])
def test_newton_rounds_balance_every_node_michaelis_menten(family):
    """The algebra's Newton rounds (float32 doubling, then float64 rounds) against numpy's flux
    balance and the exact solver's labels: existence right on every network, and where there is
    an equilibrium every node balanced (to 1e-4 of the intake) and x within 1e-4 of the solver's."""
    b = generate(GenConfig(family=family, n_min=20, n_max=32, kinetics="michaelis-menten", intake_scale=0.05,
                           balance="ratio"), 64, seed=13)
    with torch.no_grad():
        alg = _model().algebra(Graph.of(_arrays(b)))
    inner = Graph.of(_arrays(b))["inner"]
    exists = _algebra_exists(alg, inner).numpy()
    assert (exists == b["exists_unique"]).all() and 10 < exists.sum() < 54
    for i in np.flatnonzero(exists):
        net, x = b.network(i), alg["x"][i, 1:b["n"][i] + 1].numpy()
        assert _balance(net, x) < 1e-4
        assert np.abs(x - b.x(i)).sum() / np.abs(b.x(i)).sum() < 1e-4


def test_size_batches_cover_every_network_once_with_little_padding():
    from metabnet.learn.predict import SIZE_SPREAD, size_batches

    rng = np.random.default_rng(0)
    n = np.concatenate([rng.integers(32, 65, 300), rng.integers(300, 601, 12), rng.integers(64, 257, 50)])
    parts = size_batches(n, 64)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(n)))
    for idx in parts:
        lo, hi = n[idx].min() + 2, n[idx].max() + 2
        assert len(idx) <= 64 and hi <= SIZE_SPREAD * lo + 8 and (len(idx) == 1 or len(idx) * hi * hi <= 64 * 64 ** 2)
    assert [len(p) for p in size_batches(np.full(130, 40), 64)] == [64, 64, 2] and size_batches(np.zeros(0, int), 8) == []


def test_predict_runs_batches_at_once_in_order_and_restores_threads(linear, mm):
    """Several size batches on two worker threads: the same answers, bit for bit, as one after
    the other on one thread, in the networks' order; torch's thread count is given back."""
    from metabnet.batch import concat
    from metabnet.learn.predict import predict

    b = concat([linear, mm])
    model = _model(seed=1)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = predict(model, b, batch_size=8)
        torch.set_num_threads(2)
        two = predict(model, b, batch_size=8)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert (one["cls"] == two["cls"]).all() and np.array_equal(one["p_exists"], two["p_exists"])
    assert all(np.array_equal(a, c) for a, c in zip(one["x"], two["x"]))


def test_slow_leak_redoubled_in_float64():
    """Four Michaelis-Menten networks (trap and longpath; no equilibrium, every node can exit)
    whose mass leaks too slowly for float32: that doubling never halts and its f overflows to
    NaN (the model said "exists").  They are doubled again in float64: f finite, and no
    equilibrium, as the exact solver says."""
    from metabnet.solve import solve
    from metabnet.learn.transformer import Multiscale, RateShares

    nets = _data("slow_leak_no_equilibrium.jsonl")
    b = as_batch(nets)
    g = Graph.of(_arrays(b))
    share, _ = RateShares()(g, torch.zeros(g["B"], g["T"], dtype=torch.float64))
    a = AlgebraConfig()
    _, levels32 = Multiscale(a).double(g, share, torch.float32)
    assert (levels32 == a.levels_max).any()  # the float32 pass alone fails on some
    with torch.no_grad():
        out = _model()(_arrays(b))
    assert torch.isfinite(out["algebra"]["f"]).all()
    assert not any(solve(net)["exists_unique"] for net in nets)
    assert (out["logit"] < 0).all()


def test_slow_saturation_gets_the_rounds_it_needs():
    """Three Michaelis-Menten networks without equilibrium (erdos, scale_free, erdos_gnm) whose
    Newton steps are halved many times on the way to the saturated state: 12 rounds end with
    every node below capacity ("exists"); the default rounds reach the saturation, as the exact
    solver says."""
    from metabnet.learn.transformer import RateAlgebra
    from metabnet.solve import solve

    nets = _data("slow_saturation_no_equilibrium.jsonl")
    g = Graph.of(_arrays(as_batch(nets)))
    inner = g["inner"]

    def exists(a):
        with torch.no_grad():
            alg = RateAlgebra(a)(g)
        return _algebra_exists(alg, inner).tolist()

    assert any(exists(AlgebraConfig(mm_rounds=12)))
    assert not any(exists(AlgebraConfig())) and not any(solve(net)["exists_unique"] for net in nets)


def test_halved_steps_tried_at_once_match_one_by_one(mm):
    """RateAlgebra.newton tries the halved steps of the networks whose whole step fails in one
    batch (Graph.take with repeated rows): the same f as halving one step at a time, in numpy;
    over 6 rounds of the test networks and of the three slow to saturate, whose whole steps fail."""
    from metabnet.learn.transformer import RateAlgebra

    slow = _data("slow_saturation_no_equilibrium.jsonl")
    g = Graph.of(_arrays(as_batch([mm.network(i) for i in range(len(mm))] + slow)))
    alg = RateAlgebra(AlgebraConfig(dtype="float64"))
    with torch.no_grad():
        share, _ = alg.shares(g, torch.zeros(g["B"], g["T"], dtype=torch.float64))
        g = g.take(torch.nonzero(alg.reach(g, share).eq(g["inner"]).all(-1))[:, 0])
        f, _ = alg.multiscale(g, alg.shares(g, torch.zeros(g["B"], g["T"], dtype=torch.float64))[0])
        x, _ = alg.saturation(g, f)
        share, r = alg.residual(g, f, x)
    inner = g["inner"].numpy()
    assert g["B"] >= 4
    halved = 0
    for _ in range(6):
        with torch.no_grad():
            f_new, x_new, _, share_new, r_new = alg.newton(g, f, x, share, r)
            D, _ = alg.shares(g, x, deriv=True)
        for i in range(g["B"]):
            v = np.flatnonzero(inner[i])
            Di = np.where((x[i].numpy() >= alg.a.x_cap)[:, None], share[i].numpy(), D[i].numpy())[np.ix_(v, v)]
            step = np.linalg.solve(np.eye(len(v)) - Di.T, r[i].numpy()[v])  # a saturated row: P
            norm = np.abs(r[i].numpy()).sum()
            one = g.take(torch.tensor([i]))
            for k in range(alg.a.mm_backtrack + 1):  # the first halving that shrinks sum |r|, or the last
                ft = f[i].numpy().copy()
                ft[v] = np.maximum(ft[v] + 0.5 ** k * step, 0)
                xt, _ = alg.saturation(one, torch.from_numpy(ft)[None], x[i:i + 1])
                _, rt = alg.residual(one, torch.from_numpy(ft)[None], xt)
                if float(rt.abs().sum()) <= norm or k == alg.a.mm_backtrack:
                    break
            halved += k > 0
            assert np.allclose(f_new[i].numpy(), ft, rtol=1e-9, atol=1e-12)
        f, x, share, r = f_new, x_new, share_new, r_new
    assert halved >= 3


def test_graph_take_repeats_rows(mm):
    """Graph.take with as many indices as networks but not all of them: those rows, not the batch."""
    g = Graph.of(_arrays(mm))
    idx = torch.zeros(g["B"], dtype=torch.long)  # network 0, B times
    sub = g.take(idx)
    assert sub["B"] == g["B"] and torch.equal(sub["n"], g["n"][idx]) and torch.equal(sub["src"], g["src"][idx])
    assert g.take(torch.arange(g["B"])) is g
