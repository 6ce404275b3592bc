"""Huge networks (issue 21): a network inside the documented limits is either solved, with a
plan line and progress on stderr when it is long, or refused in one line naming the file, the
network and the limit - after bounded work, never a full LU that runs for hours.

The limits are patched small (metabnet.solve.limits is read at call time) so that the same
paths run here on networks of a few thousand nodes; benchmarks/huge_solve.py measures the
1,000,000-node ones.  Nothing here is timed."""
import json

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from click.testing import CliRunner
from scipy.sparse.csgraph import connected_components

import naive
from metabnet.cli.main import main
from metabnet.kernels import equilibrium as keq
from metabnet.network import Network
from metabnet.solve import limits, solve, sparse


def _closed_sets(n, u, v):
    """One node (1-based) of every strongly connected set that no reaction leaves."""
    count, label = connected_components(sp.csr_matrix((np.ones(u.size), (u - 1, v - 1)), shape=(n, n)),
                                        directed=True, connection="strong")
    leaves = label[u - 1] != label[v - 1]
    has_exit = np.zeros(count, bool)
    has_exit[label[u[leaves] - 1]] = True
    first = np.full(count, -1)
    first[label[::-1]] = np.arange(n)[::-1]
    return first[~has_exit] + 1


def _network(shape, n, seed=0, kinetics="linear", name=None):
    """random: 2n random reactions (a giant strongly connected set), an excretion out of every
    closed set; acyclic: two reactions out of each node to nodes 1-49 further on, 1% turned
    back (small loops), numbered at random (benchmarks/huge_solve.py)."""
    rng = np.random.default_rng(seed)
    if shape == "acyclic":
        u = np.repeat(np.arange(1, n + 1), 2)
        v = u + rng.integers(1, 50, u.size)
        u, v = u[v <= n], v[v <= n]
        back = rng.random(u.size) < 0.01
        relabel = np.concatenate([[0], rng.permutation(n) + 1])
        u, v = relabel[np.where(back, v, u)], relabel[np.where(back, u, v)]
    else:
        u, v = rng.integers(1, n + 1, 2 * n), rng.integers(1, n + 1, 2 * n)
        u, v = u[u != v], v[u != v]
    exits = _closed_sets(n, u, v)
    if shape == "acyclic":
        exits = np.unique(np.concatenate([exits, rng.integers(1, n + 1, n // 100)]))
    intake = np.array([1, 1 + n // 3, 1 + 2 * n // 3])
    src = np.concatenate([np.zeros(3, np.int64), u, exits])
    dst = np.concatenate([intake, v, np.full(exits.size, n + 1)])
    rate = rng.integers(1, 100, src.size).astype(np.float64)
    km = None
    if kinetics != "linear":
        km = np.where(src == 0, np.nan, rng.uniform(0.1, 10.0, src.size))
        rate[src == 0] *= 0.01
    return Network(n, src, dst, rate, km, kinetics, name or f"{shape}-{n}").validate()


def _write(tmp_path, net):
    path = tmp_path / f"{net.name}.json"
    path.write_text(json.dumps(net.to_dict()))
    return path


def _matrix(net):
    """(-J at 0 on the nodes the intake reaches, its right-hand side, their ids) by the solver's own System."""
    s = sparse._System(net.n, net.src, net.dst, net.rate, net.km_or_nan())
    x = np.zeros(net.n)
    f, _, _ = s.balance(x)
    return sparse.newton_matrix(s.n, s.src, s.dst, s.rate, s.km, x, s.idx, s.k).tocsc(), f[s.active - 1], s.active


def _fixed_point(net):
    """x by the fixed point x = D^-1 (phi + offdiag x) from 0 (monotone for these M-matrices):
    an obviously-correct reference that needs no factorization."""
    A, b, active = _matrix(net)
    d = A.diagonal()
    N = sp.diags(d) - A
    y = np.zeros_like(b)
    for _ in range(5000):
        y, last = (b + N @ y) / d, y
        if np.array_equal(y, last) or np.max(np.abs(y - last)) <= 1e-15 * np.max(y):
            break
    x = np.zeros(net.n)
    x[active - 1] = y
    return x


def _independent_residual(net, x):
    """max over flowing nodes of |dx/dt| / gross flux, each edge's flux on its own (tests/naive.py)."""
    f = naive.flux_balance(net, x)
    q = naive._edge_fluxes(net, x)
    gross = np.zeros(net.n + 2)
    np.add.at(gross, net.src, q)
    np.add.at(gross, net.dst, q)
    flowing = gross[1:-1] > 0
    return float(np.max(np.abs(f[flowing]) / gross[1:-1][flowing]))


# ---- the plan: strongly connected sets, their order, the LU's bound -------------------------
@pytest.mark.parametrize("shape,n,seed", [("acyclic", 3000, 1), ("acyclic", 5000, 2), ("random", 1500, 3),
                                          ("random", 400, 4)])
def test_lu_in_the_sets_order_is_exact_and_within_its_bound(shape, n, seed):
    net = _network(shape, n, seed)
    A, b, _ = _matrix(net)
    plan = sparse.Plan(A)
    P = A[plan.order][:, plan.order]
    assert sp.triu(P, 1).nnz == sp.triu(P, 1).multiply(_same_set(A, plan)).nnz  # above the diagonal: inside sets only
    lu = sparse._ordered_lu(A, plan.order)
    assert lu.L.nnz + lu.U.nnz <= plan.fill, (lu.L.nnz + lu.U.nnz, plan.fill)
    x = sparse._in_order(lu.solve, plan.order)(b)
    np.testing.assert_allclose(x, sla.spsolve(A, b), rtol=1e-10, atol=0)
    if shape == "acyclic":  # small loops: the bound stays near A's own entries, the LU comes first
        assert plan.cheap and plan.largest < 50 and plan.fill <= 2 * (A.nnz + A.shape[0])
    else:
        assert not plan.cheap and plan.largest > n // 3


def _same_set(A, plan):
    """1 where row and column lie in one strongly connected set (the permuted pattern of A)."""
    _, label = connected_components(A, directed=True, connection="strong")
    lab = label[plan.order]
    P = A[plan.order][:, plan.order].tocoo()
    keep = lab[P.row] == lab[P.col]
    return sp.csr_matrix((np.ones(keep.sum()), (P.row[keep], P.col[keep])), shape=A.shape)


# ---- solved right ---------------------------------------------------------------------------
def test_fifty_thousand_random_nodes_against_a_reference():
    """A giant strongly connected set and three intakes (a right-hand side of three entries, on
    which BiCGSTAB from 0 breaks down): the preconditioned iteration, refined against the
    kernels' residual, gives the fixed point's x."""
    net = _network("random", 50_000, seed=5)
    r = solve(net)
    assert r["exists_unique"] and r["method"] == "sparse-ilu-krylov", r["method"]
    x = np.array(r["x"])
    np.testing.assert_allclose(x, _fixed_point(net), rtol=1e-9, atol=1e-300)
    assert r["residual"] <= sparse.KRYLOV_TOL and _independent_residual(net, x) <= 1e-10


def test_fifty_thousand_nearly_acyclic_nodes_against_scipy():
    net = _network("acyclic", 50_000, seed=6)
    r = solve(net)
    assert r["exists_unique"] and r["method"] == "sparse-lu", r["method"]
    A, b, active = _matrix(net)
    want = np.zeros(net.n)
    want[active - 1] = sla.spsolve(A, b)  # SuperLU in its own COLAMD order
    np.testing.assert_allclose(r["x"], want, rtol=1e-10, atol=1e-300)
    assert r["residual"] <= 1e-13 and _independent_residual(net, np.array(r["x"])) <= 1e-13


def test_michaelis_menten_newton_in_the_sets_order_equals_the_dense_kernels(monkeypatch):
    net = _network("acyclic", 1200, seed=7, kinetics="michaelis-menten")
    monkeypatch.setattr(limits, "KRYLOV_MIN", 100)  # the Plan from here (the intake reaches ~600 nodes)
    calls = []
    real = sparse._ordered_lu
    monkeypatch.setattr(sparse, "_ordered_lu", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(sparse, "_lu_solve", lambda *a: pytest.fail("a full LU where the cheap one fits"))
    r = solve(net)
    assert r["method"] == "sparse-newton" and calls
    d = keq.solve(net.n, net.src, net.dst, net.rate, net.km_or_nan())
    assert (r["exists_unique"], r["exists_bounded"]) == d[:2]
    np.testing.assert_allclose(r["x"], d[2], rtol=1e-8, atol=1e-300)


# ---- refused in one line, after bounded work -------------------------------------------------
def _no_exact_lu(monkeypatch):
    """Limits under which no exact LU fits a 2,000-node random network, and LUs that fail the test."""
    monkeypatch.setattr(limits, "LU_MAX", 500)
    monkeypatch.setattr(limits, "LU_FILL_MAX", 10_000)
    monkeypatch.setattr(sparse, "_lu_solve", lambda *a: pytest.fail("full LU past limits.LU_MAX"))
    monkeypatch.setattr(sparse, "_ordered_lu", lambda *a: pytest.fail("LU past limits.LU_FILL_MAX"))


def test_iteration_that_does_not_converge_is_refused_within_its_budget(tmp_path, monkeypatch):
    net = _network("random", 2000, seed=8, name="stubborn")
    path = _write(tmp_path, net)
    _no_exact_lu(monkeypatch)
    entries = _matrix(net)[0].nnz
    monkeypatch.setattr(limits, "KRYLOV_WORK", 7 * entries)  # 7 iterations in all
    monkeypatch.setattr(sparse, "KRYLOV_TOL", 0.0)  # nothing is accepted: as on a network that defeats it
    iterations = []
    for name in ("bicgstab", "gmres"):
        def counted(*a, _real=getattr(sla, name), callback=None, **kw):
            return _real(*a, callback=lambda *c: (iterations.append(1), callback(*c)), **kw)
        monkeypatch.setattr(sla, name, counted)
    r = CliRunner().invoke(main, ["solve", str(path)])
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.output
    line = errors[0]
    for part in (str(path), "stubborn", "did not converge in 7 iterations", "limits.LU_FILL_MAX = 10,000",
                 "limits.LU_MAX = 500", "largest strongly connected set"):
        assert part in line, (part, line)
    assert len(iterations) <= 7 + 100  # the budget, plus at most one GMRES cycle past it
    assert not r.stdout.strip()  # no record


def test_michaelis_menten_refused_before_any_factorization(tmp_path, monkeypatch):
    net = _network("random", 2000, seed=9, kinetics="michaelis-menten", name="saturating")
    path = _write(tmp_path, net)
    _no_exact_lu(monkeypatch)
    monkeypatch.setattr(sla, "spilu", lambda *a, **k: pytest.fail("no incomplete LU either"))
    r = CliRunner().invoke(main, ["solve", str(path)])
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert r.exit_code == 1 and len(errors) == 1 and "Traceback" not in r.output, r.output
    for part in (str(path), "saturating", "Newton's steps need an exact LU", "limits.LU_FILL_MAX"):
        assert part in errors[0], (part, errors[0])


def test_singular_incomplete_factor_is_one_try_not_an_error(monkeypatch):
    """SuperLU's "Factor is exactly singular" from an incomplete LU skips that preconditioner."""
    net = _network("random", 2000, seed=10)
    real = sla.spilu

    def spilu(A, **opts):
        if opts.get("permc_spec") == "NATURAL":
            raise RuntimeError("Factor is exactly singular")
        return real(A, **opts)
    monkeypatch.setattr(sla, "spilu", spilu)
    r = solve(net)
    assert r["exists_unique"] and r["residual"] <= sparse.KRYLOV_TOL


# ---- said up front, progress shown ------------------------------------------------------------
def test_long_solve_says_its_plan_and_progress_on_stderr(tmp_path, monkeypatch):
    net = _network("random", 3000, seed=11, name="long")
    path = _write(tmp_path, net)
    monkeypatch.setattr(limits, "PROGRESS_MIN", 1000)
    r = CliRunner().invoke(main, ["solve", str(path)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["method"] == "sparse-ilu-krylov"
    lines = r.stderr.splitlines()
    assert lines[0].startswith("solve long: ") and "largest strongly connected set" in lines[0], lines
    assert "preconditioned iteration, at most" in lines[0] and "iterations" in lines[0], lines
    assert lines[-1].startswith("solve long: done, "), lines
    r = CliRunner().invoke(main, ["solve", "-q", str(path)])
    assert r.exit_code == 0 and not r.stderr, r.stderr
    monkeypatch.setattr(limits, "PROGRESS_MIN", 10_000)  # below it: silent
    r = CliRunner().invoke(main, ["solve", str(path)])
    assert r.exit_code == 0 and not r.stderr, r.stderr


def test_score_with_the_shipped_model_hands_a_huge_network_to_the_solver(tmp_path, monkeypatch):
    """The shipped transformer holds T x T matrices: a network past its limit never reaches it."""
    import metabnet.learn.predict
    from metabnet.learn.archs import TransformerArch

    net = _network("random", TransformerArch.limit + 1000, seed=12, name="wide")
    path = _write(tmp_path, net)
    monkeypatch.setattr(metabnet.learn.predict, "predict", lambda *a, **k: pytest.fail("the model got a huge network"))
    monkeypatch.setattr(limits, "PROGRESS_MIN", 1000)
    r = CliRunner().invoke(main, ["score", str(path)])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout.splitlines()[0])
    assert rec["method"] == "solver" and "dense T x T" in rec["solver_reason"] and rec["exists_unique"]
    assert r.stderr.startswith("solve wide: "), r.stderr
