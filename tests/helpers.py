"""Helpers shared by test modules: networks to test with, hand-made models and checkpoints,
and the checks of network files."""
import json
import pickle

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
