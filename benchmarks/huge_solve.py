"""`metabnet solve` on one huge network file: wall time, peak memory, and what the solver did.

Writes a network as JSON to --dir, runs `metabnet solve FILE` in a fresh process under
`/usr/bin/time -v` (Linux; NUMBA_NUM_THREADS=OMP_NUM_THREADS=1) with a --timeout, and prints
one JSON line: the network, the wall time and peak RSS of the whole command (reading the
JSON included), its exit code, the record's method and residual or the error line, and the
solver's plan line (stderr).  Shapes, every one linear with integer rates 1-99:

- random:    m random reactions (mean out-degree m/n), three intakes, an excretion out of
             every closed strongly connected set (so every node reaches excretion; with
             m = 2n about 13% of the nodes): one giant strongly connected set;
- one_exit:  the same graph, closed sets wired into the giant set instead, a single excretion;
- acyclic:   m/n reactions out of every node to nodes 1-49 further on, 1% of them turned
             backwards (small loops), numbered at random, 1% of the nodes excreting, plus the
             closed sets as above (the last nodes);
- revchain:  a chain with every reaction both ways, numbered at random: one strongly
             connected set of n nodes, diffusion-like (the preconditioned iteration's worst case).

    python benchmarks/huge_solve.py --shape random --nodes 100000 300000 1000000
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def _closed_sets(n, u, v):
    """One node of every strongly connected set that no reaction leaves (1-based ids)."""
    g = sp.csr_matrix((np.ones(u.size), (u - 1, v - 1)), shape=(n, n))
    count, label = connected_components(g, directed=True, connection="strong")
    leaves = label[u - 1] != label[v - 1]
    has_exit = np.zeros(count, bool)
    has_exit[label[u[leaves] - 1]] = True
    first = np.full(count, -1)
    first[label[::-1]] = np.arange(n)[::-1]
    return first[~has_exit] + 1, label


def network(shape: str, n: int, m: int, seed: int = 0) -> dict:
    """The network of `shape` (module doc) as the JSON object of DESIGN section 5."""
    rng = np.random.default_rng(seed)
    intake = [[1, 5.0], [1 + n // 3, 3.0], [1 + 2 * n // 3, 1.0]]
    if shape == "revchain":
        p = rng.permutation(n) + 1
        u, v = np.concatenate([p[:-1], p[1:]]), np.concatenate([p[1:], p[:-1]])
        return {"name": f"revchain-{n}", "kinetics": "linear", "n": n,
                "edges": np.stack([u, v, rng.integers(1, 100, u.size)], 1).tolist(),
                "intake": [[int(p[0]), 1.0]], "excretion": [[int(p[-1]), 1.0]]}
    if shape == "acyclic":
        u = np.repeat(np.arange(1, n + 1), max(1, m // n))
        v = u + rng.integers(1, 50, u.size)
        u, v = u[v <= n], v[v <= n]
        back = rng.random(u.size) < 0.01
        relabel = np.concatenate([[0], rng.permutation(n) + 1])
        u, v = relabel[np.where(back, v, u)], relabel[np.where(back, u, v)]
    else:
        u, v = rng.integers(1, n + 1, m), rng.integers(1, n + 1, m)
    u, v = u[u != v], v[u != v]
    closed, label = _closed_sets(n, u, v)
    if shape == "one_exit":
        giant = np.flatnonzero(label == np.argmax(np.bincount(label))) + 1
        closed = closed[label[closed - 1] != label[giant[0] - 1]]
        u, v = np.concatenate([u, closed]), np.concatenate([v, rng.choice(giant, closed.size)])
        exits = giant[:1]
    elif shape == "acyclic":
        exits = np.unique(np.concatenate([closed, rng.integers(1, n + 1, n // 100)]))
    else:
        exits = closed
    return {"name": f"{shape}-{n}", "kinetics": "linear", "n": n,
            "edges": np.stack([u, v, rng.integers(1, 100, u.size)], 1).tolist(), "intake": intake,
            "excretion": [[int(e), int(r)] for e, r in zip(exits, rng.integers(1, 100, exits.size))]}


def measure(path: Path, timeout: float, metabnet: str, *args) -> dict:
    """Wall time, peak RSS, exit code, record and stderr of `metabnet solve PATH` (GNU time -v)."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cmd = ["timeout", str(timeout), "/usr/bin/time", "-v", metabnet, "solve", str(path), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", r.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    seconds = None
    if wall:
        seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.group(1).split(":"))))
    out = {"exit": r.returncode, "wall_s": seconds, "peak_mb": round(int(rss.group(1)) / 1024) if rss else None}
    lines = [ln for ln in r.stderr.splitlines() if ln and not ln.startswith("\t") and "Command exited" not in ln]
    if r.stdout.strip():
        rec = json.loads(r.stdout.splitlines()[0])
        out.update(method=rec["method"], residual=rec["residual"], exists_unique=rec["exists_unique"])
    out["stderr"] = lines
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=["random", "one_exit", "acyclic", "revchain"], default="random")
    ap.add_argument("--nodes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--reactions", type=float, default=2.0, help="reactions per node (random shapes)")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--dir", type=Path, default=None, help="where the network files go (default: a temporary folder)")
    ap.add_argument("--metabnet", default=str(Path(sys.executable).with_name("metabnet")))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        for n in args.nodes:
            net = network(args.shape, n, int(args.reactions * n))
            path = folder / f"{net['name']}.json"
            path.write_text(json.dumps(net))
            reactions = len(net["edges"]) + len(net["intake"]) + len(net["excretion"])
            row = {"shape": args.shape, "n": n, "reactions": reactions, "file_mb": round(path.stat().st_size / 2**20, 1)}
            print(json.dumps({**row, **measure(path, args.timeout, args.metabnet)}), flush=True)


if __name__ == "__main__":
    main()
