"""metabnet.solve.sparse against the dense kernels and numpy: the same labels, the same x, the same
Newton matrix; a hand-made 10,000-node network checked by its residual."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import metabnet.solve.dispatch as msolve
import naive
from metabnet.solve import limits, sparse
from metabnet.cli.main import main
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate
from metabnet.kernels import equilibrium as keq
from metabnet.kernels.kinetics import all_nodes, jacobian
from metabnet.kernels.reach import reachability
from metabnet.network import Network


def _batch(family, kinetics, count, seed, lo=30, hi=120):
    cfg = GenConfig(family=family, size="custom", n_min=max(lo, FAMILIES[family].min_nodes), n_max=hi,
                    kinetics=kinetics, intake_scale=0.05 if kinetics != "linear" else 1.0)
    return generate(cfg, count, seed=seed)


@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_newton_matrix_is_the_kernels_jacobian(kinetics):
    b = _batch("erdos", kinetics, 20, seed=3)
    rng = np.random.default_rng(0)
    for i in range(len(b)):
        net = b.network(i)
        n, km = net.n, net.km_or_nan()
        x = rng.uniform(0, 5, n)
        idx = np.empty(n + 2, np.int64)
        k = all_nodes(n, idx)
        dense = np.empty((n, n))
        jacobian(n, net.m, net.src, net.dst, net.rate, km, x, idx, k, -1.0, dense)
        ours = sparse.newton_matrix(n, net.src, net.dst, net.rate, km, x, idx, k).toarray()
        np.testing.assert_allclose(ours, dense, rtol=1e-14, atol=0, err_msg=f"network {i}")


# x agrees to 1e-6 (issue 12): slow-draining networks (x ~ 1e7) are ill-conditioned: numpy, the dense
# kernel and SuperLU differ there by up to ~1e-7 relative, each with its residual at rounding level
@pytest.mark.parametrize("krylov_min", [10**9, 1])  # sparse LU; preconditioned Krylov
@pytest.mark.parametrize("family", list(FAMILIES))
def test_linear_sparse_equals_dense_and_numpy(family, krylov_min, monkeypatch):
    monkeypatch.setattr(limits, "KRYLOV_MIN", krylov_min)
    b = _batch(family, "linear", 40, seed=11)
    methods = []
    for i in range(len(b)):
        net = b.network(i)
        d = keq.solve(net.n, net.src, net.dst, net.rate)
        s = sparse.solve(net.n, net.src, net.dst, net.rate)
        assert s[:2] == d[:2], f"{family} network {i}: labels {s[:2]} != dense {d[:2]}"
        ref = naive.equilibrium_dense(net)
        assert (s[2] is None) == (ref is None)
        if ref is not None:
            np.testing.assert_allclose(s[2], ref, rtol=1e-6, atol=1e-300, err_msg=f"{family} network {i}")
            np.testing.assert_allclose(s[2], d[2], rtol=1e-6, atol=1e-300)
            assert s[3] <= (1e-13 if s[5] == "sparse-lu" else sparse.KRYLOV_TOL)
            methods.append(s[5])
    want = "sparse-lu" if krylov_min > 1 else "sparse-ilu-krylov"  # Krylov may hand a system to the LU
    assert methods.count(want) >= (len(methods) if krylov_min > 1 else len(methods) // 2), methods


@pytest.mark.parametrize("family", ["erdos", "scale_free", "small_world", "trap", "bowtie", "modular"])
def test_michaelis_menten_sparse_newton_equals_dense(family):
    b = _batch(family, "michaelis-menten", 30, seed=5)
    agreed = 0
    for i in range(len(b)):
        net = b.network(i)
        km = net.km_or_nan()
        d = keq.solve(net.n, net.src, net.dst, net.rate, km)
        try:
            s = sparse.solve(net.n, net.src, net.dst, net.rate, km)
        except sparse.NeedsDense:  # handed to the dense kernels (metabnet.solve.dispatch): near capacity, stalls
            continue
        assert s[:2] == d[:2], f"{family} network {i}: labels {s[:2]} != dense {d[:2]}"
        if d[1]:
            np.testing.assert_allclose(s[2], d[2], rtol=1e-8, atol=1e-300)
        agreed += 1
    assert agreed >= len(b) // 3, f"{family}: sparse Newton decided only {agreed} of {len(b)}"


def _big(n, reactions, seed, kinetics="linear"):
    """Random inner edges, three intakes, an excretion out of each closed set until every
    node reaches excretion (the network of benchmarks/sparse_solve.py)."""
    rng = np.random.default_rng(seed)
    u, v = rng.integers(1, n + 1, reactions), rng.integers(1, n + 1, reactions)
    src = np.concatenate([[0, 0, 0], u[u != v]])
    dst = np.concatenate([[1, n // 2, n], v[u != v]])
    while True:
        stuck = np.flatnonzero(~reachability(n, src, dst)[0][1:n + 1]) + 1
        if not stuck.size:
            break
        src, dst = np.append(src, stuck[0]), np.append(dst, n + 1)
    rate = rng.integers(1, 100, src.size).astype(np.float64)
    km = None
    if kinetics != "linear":
        km = np.where(src == 0, np.nan, rng.uniform(0.1, 10.0, src.size))
        rate[src == 0] *= 0.01
    return Network(n, src, dst, rate, km, kinetics, f"big-{n}").validate()


def test_ten_thousand_nodes_by_residual():
    net = _big(10_000, 30_000, seed=2)
    r = msolve.solve(net)
    assert r["exists_unique"] and r["exists_bounded"] and r["method"] == "sparse-ilu-krylov"
    x = np.array(r["x"])
    f = naive.flux_balance(net, x)  # independent residual: each edge's flux on its own
    q = naive._edge_fluxes(net, x)
    gross = np.zeros(net.n + 2)
    np.add.at(gross, net.src, q)
    np.add.at(gross, net.dst, q)
    flowing = gross[1:-1] > 0  # nodes the intake does not reach carry nothing and stay at 0
    assert np.all(f[~flowing] == 0) and np.all(x[~flowing] == 0)
    rel = np.max(np.abs(f[flowing]) / gross[1:-1][flowing])
    assert rel <= 1e-10 and r["residual"] <= 1e-10, (rel, r["residual"])


def test_solve_sends_large_networks_to_sparse_and_agrees():
    for kinetics in ("linear", "michaelis-menten"):
        net = _big(limits.SPARSE_MIN + 50, 3 * (limits.SPARSE_MIN + 50), seed=4, kinetics=kinetics)
        r = msolve.solve(net)
        assert r["method"] in ("sparse-lu", "sparse-newton"), r["method"]
        d = keq.solve(net.n, net.src, net.dst, net.rate, net.km_or_nan())
        assert (r["exists_unique"], r["exists_bounded"]) == d[:2]
        np.testing.assert_allclose(r["x"], d[2], rtol=1e-9)


def test_dense_only_work_beyond_the_dense_limit_is_refused_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "DENSE_MAX", limits.SPARSE_MIN)
    net = _big(limits.SPARSE_MIN + 1, 3 * limits.SPARSE_MIN, seed=1)
    net.name = "wide"
    assert msolve.solve(net)["exists_unique"]  # direct: sparse
    k = limits.SPARSE_MIN
    with pytest.raises(msolve.SolveError, match=rf"^wide: {k + 1:,} nodes with reactions, more than the dense "
                                                rf"solver takes \({k:,}\) for the ODE$"):
        msolve.solve(net, method="ode")


def test_cli_solve_large_network(tmp_path):
    net = _big(4000, 12000, seed=6)
    (tmp_path / "big.json").write_text(json.dumps(net.to_dict()))
    r = CliRunner().invoke(main, ["solve", str(tmp_path / "big.json")])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.splitlines()[0])
    assert out["exists_unique"] and out["method"] == "sparse-ilu-krylov" and out["residual"] <= 1e-10


@pytest.mark.parametrize("family", ["erdos", "small_world", "trap"])
def test_gen_labelled_by_sparse_equals_the_kernels(family, monkeypatch):
    cfg = GenConfig(family=family, size="custom", n_min=40, n_max=90)
    dense = generate(cfg, 120, seed=8)
    monkeypatch.setattr(limits, "SPARSE_LABEL_MIN", 50)  # kernels.generator.M_DEFER, then metabnet.solve.sparse
    ours = generate(cfg, 120, seed=8)
    for k in dense:
        if k == "x":
            np.testing.assert_allclose(ours[k], dense[k], rtol=1e-6, atol=1e-300, err_msg=k)
        elif k == "residual":  # both at rounding level, NaN for the same networks
            np.testing.assert_array_equal(np.isnan(ours[k]), np.isnan(dense[k]))
        else:
            np.testing.assert_array_equal(ours[k], dense[k], err_msg=k)
    assert np.all(ours["residual"][ours["exists_bounded"]] <= 1e-12)


def test_gen_refuses_dense_only_labels_past_the_dense_limit():
    with pytest.raises(ValueError, match="need the dense solver, which takes 8,192 nodes"):
        generate(GenConfig(size="custom", n_min=9000, n_max=9000, kinetics="michaelis-menten"), 1)
