"""Helpers shared by test modules: networks to test with, hand-made models and checkpoints,
and the checks of network files."""
import json
import os
import pickle
import signal
import subprocess
import sys
import time

import libsbml

import numpy as np
import pytest
import torch

from metabnet.fileio import FormatError
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.io.formats import read_networks
from metabnet.learn.model import ModelConfig, build, init_weights
from metabnet.network import Network
from metabnet.solve import solve

TINY = dict(d_model=32, n_heads=4, n_enc=2, n_dec=2)
SMALL = dict(size="custom", n_min=6, n_max=12)
MM = dict(kinetics="michaelis-menten", balance="ratio", ratio=0.8)


def networks(count, seed, kinetics="linear", prefix="net", **kw):
    cfg = GenConfig(**{**SMALL, **(MM if kinetics != "linear" else {}), **kw})
    b = generate(cfg, count, seed=seed)
    return [b.network(i, name=f"{prefix}{i}") for i in range(count)]


class Oracle(torch.nn.Module):
    """A stand-in graph model that answers with the exact solver, each x multiplied by
    (1 + noise) on odd nodes and (1 - noise) on even ones: with it, what `score` reports
    is known in advance, and any mix-up of networks, nodes or order shows."""

    def __init__(self, noise=0.0):
        super().__init__()
        self.config = ModelConfig(arch="graph", task="quanti", **TINY)
        self.noise = noise

    def forward(self, t):
        B, T = len(t["n"]), t["T"]
        logit, log_x = torch.full((B,), -10.0), torch.full((B, T), -6.0)
        for b in range(B):
            e, n = t["emask"][b].numpy(), int(t["n"][b])
            km = t["km"][b].numpy()[e].astype(np.float64)
            mm = np.isfinite(km).any()
            net = Network(n, t["src"][b].numpy()[e], t["dst"][b].numpy()[e], t["rate"][b].numpy()[e],
                          km if mm else None, "michaelis-menten" if mm else "linear")
            r = solve(net)
            if r["exists_unique"]:
                logit[b] = 10.0
                x = np.array(r["x"]) * (1 + self.noise * np.where(np.arange(1, n + 1) % 2, 1, -1))
                log_x[b, 1:n + 1] = torch.from_numpy(np.log10(np.maximum(x, 1e-6)))
        return {"logit": logit, "log_x": log_x}


def checkpoint(path, kinetics="linear", n_max=12, arch="graph"):
    """An untrained tiny model saved as `metabnet train` saves model.pt."""
    mc = ModelConfig(arch=arch, task="quanti", **TINY)
    model = init_weights(build(mc))
    data = GenConfig(size="custom", n_min=6, n_max=n_max, kinetics=kinetics)
    torch.save({"model_config": mc.to_dict(), "weighted": True, "data_config": json.loads(data.to_json()),
                "model": model.state_dict()}, path)
    return path


def random_network(rng, kinetics=None, integer=None, max_n=12, name="") -> Network:
    """Intake, inner and excretion edges in the order `Network.from_dict` rebuilds them;
    every inner node is on some edge (so a TSV keeps n)."""
    n = int(rng.integers(1, max_n + 1))
    kinetics = kinetics or str(rng.choice(["linear", "michaelis-menten"]))
    integer = bool(rng.integers(2)) if integer is None else integer
    intake = [(0, int(v)) for v in rng.integers(1, n + 1, size=rng.integers(1, 3))]
    inner = [tuple(map(int, e)) for e in rng.integers(1, n + 1, size=(rng.integers(0, 3 * n + 1), 2))]
    seen = {v for e in intake + inner for v in e}
    exc = [(int(u), n + 1) for u in rng.integers(1, n + 1, size=rng.integers(0, 3))]
    exc += [(u, n + 1) for u in range(1, n + 1) if u not in seen and (u, n + 1) not in exc]
    edges = np.array(intake + inner + exc, dtype=np.int32).reshape(-1, 2)
    m = len(edges)
    rate = rng.integers(1, 100, m).astype(float) if integer else 10 ** rng.uniform(-3, 3, m)
    km = None
    if kinetics == "michaelis-menten":
        km = np.where(edges[:, 0] == 0, np.nan, 10 ** rng.uniform(-2, 2, m))
    return Network(n, edges[:, 0], edges[:, 1], rate, km, kinetics, name).validate()


def assert_same(a: Network, b: Network):
    assert (a.n, a.kinetics, a.name) == (b.n, b.kinetics, b.name)
    np.testing.assert_array_equal(a.src, b.src)
    np.testing.assert_array_equal(a.dst, b.dst)
    np.testing.assert_array_equal(a.rate, b.rate)  # exact: floats are written at repr precision
    np.testing.assert_array_equal(a.km_or_nan(), b.km_or_nan())


def relabel_by_first_appearance(net: Network) -> tuple[Network, list[str]]:
    order = {}
    for u, v in zip(net.src.tolist(), net.dst.tolist()):
        for x in (u, v):
            if 1 <= x <= net.n:
                order.setdefault(x, len(order) + 1)
    perm = np.arange(net.n + 2)
    for old, new in order.items():
        perm[old] = new
    return (Network(net.n, perm[net.src], perm[net.dst], net.rate, net.km, net.kinetics, net.name),
            [str(x) for x in order])


def check_bad_file(path, content, problem, line=None):
    """Reading `content` from `path` raises one FormatError line, `path[:line]: ...problem...`;
    returns the error."""
    path.write_text(content)
    with pytest.raises(FormatError) as info:
        read_networks(path)
    e = info.value
    where = str(path) if line is None else f"{path}:{line}"
    assert str(e).startswith(where + ": ") and "\n" not in str(e), str(e)
    assert problem in e.problem and (e.path, e.line) == (str(path), line), str(e)
    assert str(pickle.loads(pickle.dumps(e))) == str(e)
    return e


# ---- what other tools write ------------------------------------------------------------------
def sbml_text(reactions, species=("A", "B"), boundary=(), params=None, size=1.0, level=(3, 1), edit=None):
    """An SBML document built with libsbml: `reactions` are (id, reactants, products, law
    formula[, local parameters]); boundary species start at 2; `edit(model)` adds the rest."""
    doc = libsbml.SBMLDocument(*level)
    m = doc.createModel()
    m.setId("hand_made")
    c = m.createCompartment()
    c.setId("c"), c.setSize(size), c.setConstant(True)
    for sid in (*species, *boundary):
        sp = m.createSpecies()
        sp.setId(sid), sp.setCompartment("c"), sp.setInitialConcentration(2.0 if sid in boundary else 0.5)
        sp.setBoundaryCondition(sid in boundary), sp.setHasOnlySubstanceUnits(False), sp.setConstant(False)
    for pid, value in (params or {}).items():
        p = m.createParameter()
        p.setId(pid), p.setValue(value), p.setConstant(True)
    for rid, reactants, products, formula, *local in reactions:
        r = m.createReaction()
        r.setId(rid), r.setReversible(False), r.setFast(False)
        for sids, create in ((reactants, r.createReactant), (products, r.createProduct)):
            for s in sids:
                ref = create()
                ref.setSpecies(s), ref.setStoichiometry(1), ref.setConstant(True)
        law = r.createKineticLaw()
        assert law.setMath(libsbml.parseL3Formula(formula)) == libsbml.LIBSBML_OPERATION_SUCCESS, formula
        for pid, value in (local[0] if local else {}).items():
            p = law.createLocalParameter() if level[0] == 3 else law.createParameter()
            p.setId(pid), p.setValue(value)
    if edit:
        edit(m)
    return libsbml.writeSBMLToString(doc)


# ---- libRoadRunner: an independent simulator agrees with metabnet.solve.dispatch ---------------------------
def roadrunner_steady_state(text: str, species: list[str]) -> tuple[np.ndarray, str]:
    """Concentrations of `species` at libRoadRunner's steady state: NLEQ2 at relative tolerance
    1e-12 from x(0) = 0, or, where it fails, CVODE from x(0) = 0 to t = 1e6 at 1e-12 / 1e-15."""
    roadrunner = pytest.importorskip("roadrunner")
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)
    rr = roadrunner.RoadRunner(text)
    solver = rr.getSteadyStateSolver()
    solver.setValue("relative_tolerance", 1e-12)  # 1e-14 makes NLEQ2 run out of iterations
    solver.setValue("auto_moiety_analysis", False)  # an open network with an equilibrium has none
    try:
        rr.steadyState()
        how = "steady-state solver"
    except RuntimeError:
        rr.resetAll()
        rr.integrator.relative_tolerance = 1e-12
        rr.integrator.absolute_tolerance = 1e-15
        rr.simulate(0, 1e6, 2)
        how = "simulation"
    return np.array([rr[f"[{s}]"] for s in species]), how


def assert_close(got: np.ndarray, want: np.ndarray, what: str):
    """Per-species relative error below 1e-6; species whose exact value is 0 (not reached from
    the intake) must be below 1e-9 of the largest concentration."""
    pos = want > 0
    rel = np.abs(got - want)[pos] / want[pos]
    assert rel.max() < 1e-6, f"{what}: per-species relative error {rel.max():.2e}"
    assert np.all(np.abs(got[~pos]) < 1e-9 * want.max()), f"{what}: {got[~pos]} where 0 expected"


# torch's thread count decides the order of float sums: one thread here and in subprocesses
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "metabnet", *map(str, args)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def signal_when(proc, ready, delay: float, sig=signal.SIGKILL, timeout: float = 120) -> bool:
    """Wait until ready() holds, `delay` more seconds, then send `sig`; True when the
    process was still running then (False: it finished first, nothing was killed)."""
    t0 = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before it started work: {proc.stderr.read()[-2000:]}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("never started work")
        time.sleep(0.005)
    time.sleep(delay)
    alive = proc.poll() is None
    if alive:
        proc.send_signal(sig)
    proc.wait(timeout=timeout)
    return alive


def train_args(data, out):
    return ["train", data, "--out", out, "--max-steps", 30, "--batch-size", 8, "--width", 16,
            "--layers", 1, "--heads", 2, "--task", "quanti", "--ckpt-every", 4, "--log-every", 3,
            "--eval-every", 10, "--val", data, "--val-size", 16, "--warmup", 5, "--device", "cpu",
            "--no-compile", "-q"]


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def logged_step(run_dir) -> int:
    """The last training step logged so far (0 before any; a line being written is skipped)."""
    try:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return 0
    steps = [0]
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("split") == "train":
            steps.append(rec["step"])
    return max(steps)
