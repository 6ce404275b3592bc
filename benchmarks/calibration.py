"""Calibration of a model's p_exists: how often an equilibrium exists among the networks to which
the model gives a probability p, by bins of p, on fresh networks of every family (the model
card's calibration table, docs/model-card.md).

    python benchmarks/calibration.py [--model default] [--count 300] [--sizes S,M]
                                     [--kinetics linear,michaelis-menten]

Networks the model does not answer (handed to the solver) are counted apart.  Prints a
markdown table per kinetics: bins, networks, mean p, observed share with an equilibrium, and
the expected calibration error (ECE: the networks-weighted mean of |mean p - observed|).
"""
import argparse
import time

import numpy as np

from metabnet.gen import FAMILIES, GenConfig, generate
from metabnet.score.api import score_networks

EDGES = np.linspace(0, 1, 11)


def collect(model: str, kinetics: str, sizes, count: int, seed: int):
    p, truth, refused = [], [], 0
    for size in sizes:
        for k, fam in enumerate(FAMILIES):
            extra = {"intake_scale": 0.05, "balance": "ratio"} if kinetics == "michaelis-menten" else {}
            b = generate(GenConfig(family=fam, size=size, kinetics=kinetics, **extra), count, seed=seed + k)
            recs = score_networks([b.network(i, name=f"{fam}-{i}") for i in range(len(b))], model=model)
            for i, r in enumerate(recs):
                if r["method"] != "model":
                    refused += 1
                    continue
                p.append(r["p_exists"])
                truth.append(bool(b["exists_unique"][i]))
    return np.array(p, float), np.array(truth, bool), refused


def table(p, truth) -> tuple[str, float]:
    rows, ece = ["| p_exists | networks | mean p | with equilibrium |", "|---|---:|---:|---:|"], 0.0
    which = np.clip(np.digitize(p, EDGES[1:-1]), 0, len(EDGES) - 2)
    for j in range(len(EDGES) - 1):
        sel = which == j
        if sel.any():
            mp, obs = p[sel].mean(), truth[sel].mean()
            ece += sel.sum() * abs(mp - obs)
            rows.append(f"| {EDGES[j]:.1f}–{EDGES[j + 1]:.1f} | {sel.sum():,} | {mp:.3f} | {obs:.3f} |")
    return "\n".join(rows), ece / max(1, len(p))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--count", type=int, default=300, help="networks per family and size")
    ap.add_argument("--sizes", default="S,M")
    ap.add_argument("--kinetics", default="linear,michaelis-menten")
    ap.add_argument("--seed", type=int, default=4242)
    a = ap.parse_args()
    for kin in a.kinetics.split(","):
        t = time.perf_counter()
        p, truth, refused = collect(a.model, kin, a.sizes.split(","), a.count, a.seed)
        print(f"\n### {kin}, sizes {a.sizes}, {a.count} networks per family and size "
              f"({time.perf_counter() - t:.0f} s)\n")
        if not len(p):
            print(f"the model answered none of them ({refused:,} went to the solver)")
            continue
        text, ece = table(p, truth)
        acc = ((p >= 0.5) == truth).mean()
        print(text)
        print(f"\nanswered by the model: {len(p):,} (solver: {refused:,}); accuracy at p >= 0.5: "
              f"{100 * acc:.2f}%; ECE {ece:.4f}")


if __name__ == "__main__":
    main()
