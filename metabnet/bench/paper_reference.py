"""A plain Python + networkx generator in the style of the paper (Charton et al., arXiv 2112.03588).

This is the baseline that metabnet's Numba generator is measured against: one graph at a
time, networkx for the graph and the reachability labels, a dense numpy solve for the
equilibrium.  It follows DESIGN §2 for S-size `erdos` networks with integer rates 1-99:

- n uniform in [32, 64], m = round(U[2, 4] n), directed G(n, p) with p = m / (n (n - 1)),
  relabelled to inner nodes 1..n, a weight 1-99 on every edge;
- one intake edge 0 -> random inner node and one random inner node -> excretion n + 1,
  each with a weight 1-99;
- label: an equilibrium exists iff every inner node has a path to n + 1 (the paper's code);
- with probability 0.4 a graph without one is redeemed: add an edge from a random failing
  node to a random other inner node (weight 1-99) until every node reaches excretion;
- equilibrium: solve L^T x = phi densely, L = D_out - A + diag(e).

    python -m metabnet.bench.paper_reference --count 2000 --seed 0
"""
import argparse
import random
import time

import networkx as nx
import numpy as np

N_MIN, N_MAX = 32, 64  # size class S
DEG_MIN, DEG_MAX = 2.0, 4.0  # m = round(U[2, 4] n)
W_MIN, W_MAX = 1, 99  # integer rates
P_REDEEM = 0.4


def random_network(rng: random.Random) -> nx.DiGraph:
    """Inner graph on 1..n plus intake 0 and excretion n+1, every edge weighted 1-99."""
    n = rng.randint(N_MIN, N_MAX)
    m = round(rng.uniform(DEG_MIN, DEG_MAX) * n)
    g0 = nx.gnp_random_graph(n, m / (n * (n - 1)), seed=rng.getrandbits(32), directed=True)
    g = nx.DiGraph()  # relabel 0..n-1 -> 1..n (by hand: nx.relabel_nodes costs as much as gnp)
    g.add_nodes_from(range(n + 2))
    g.add_weighted_edges_from((u + 1, v + 1, rng.randint(W_MIN, W_MAX)) for u, v in g0.edges)
    g.add_edge(0, rng.randint(1, n), weight=rng.randint(W_MIN, W_MAX))  # intake
    g.add_edge(rng.randint(1, n), n + 1, weight=rng.randint(W_MIN, W_MAX))  # excretion
    g.graph["n"] = n
    return g


def failing_nodes(g: nx.DiGraph) -> list:
    """Inner nodes with no path to the excretion node."""
    n = g.graph["n"]
    reach = nx.ancestors(g, n + 1)
    return [v for v in range(1, n + 1) if v not in reach]


def redeem(g: nx.DiGraph, rng: random.Random) -> None:
    """Add edges from failing nodes to random inner nodes until every node reaches excretion."""
    n = g.graph["n"]
    failing = failing_nodes(g)
    while failing:
        u = rng.choice(failing)
        v = rng.choice([w for w in range(1, n + 1) if w != u])
        g.add_edge(u, v, weight=rng.randint(W_MIN, W_MAX))  # an existing edge gets a new weight
        failing = failing_nodes(g)


def equilibrium(g: nx.DiGraph) -> np.ndarray:
    """Solve L^T x = phi densely (every inner node reaches excretion, so L is invertible)."""
    n = g.graph["n"]
    LT = np.zeros((n, n))
    phi = np.zeros(n)
    for u, v, w in g.edges(data="weight"):
        if u == 0:
            phi[v - 1] += w
        elif v == n + 1:
            LT[u - 1, u - 1] += w
        else:
            LT[u - 1, u - 1] += w
            LT[v - 1, u - 1] -= w
    return np.linalg.solve(LT, phi)


def generate(count: int, seed: int = 0) -> list[dict]:
    """`count` labelled networks: dicts with n, edges [(u, v, w)], exists, x (list or None)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        g = random_network(rng)
        exists = not failing_nodes(g)
        if not exists and rng.random() < P_REDEEM:
            redeem(g, rng)
            exists = True
        n = g.graph["n"]
        edges = list(g.edges(data="weight"))  # intake, inner and excretion edges
        out.append({"n": n, "edges": edges, "exists": exists,
                    "x": equilibrium(g).tolist() if exists else None})
    return out


def throughput(count: int, seed: int = 0) -> float:
    """Networks per second: generation, labels and equilibria, in memory, one process."""
    t0 = time.perf_counter()
    generate(count, seed)
    return count / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2000, help="networks to generate")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    args = ap.parse_args()
    t0 = time.perf_counter()
    nets = generate(args.count, args.seed)
    seconds = time.perf_counter() - t0
    share = sum(d["exists"] for d in nets) / len(nets)
    print(f"{args.count} networks in {seconds:.2f} s: {args.count / seconds:.0f} networks/s "
          f"({share:.1%} with an equilibrium)")


if __name__ == "__main__":
    main()
