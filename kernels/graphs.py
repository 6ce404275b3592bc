"""Random directed graph families on inner nodes 1..n (DESIGN §2).

Each ``_family`` kernel writes edges into ``src``/``dst`` from position 0 and returns the
edge count.  Edges come out sorted by (src, dst) with no self-loops or duplicates.
``mark`` is an (n_max * n_max) boolean scratch that is all False on entry and on exit.
"""
import numpy as np

from metabnet.kernels._jit import jit
from metabnet.kernels.rng import randint, uniform

ERDOS, ERDOS_GNM, SMALL_WORLD, SCALE_FREE = 0, 1, 2, 3
# scale-free growth probabilities (Bollobas et al.; networkx scale_free_graph defaults)
_SF_ALPHA, _SF_BETA, _SF_DELTA_IN = 0.41, 0.54, 0.2


@jit
def _emit_marked(n, mark, src, dst, cap):
    """Write the marked pairs (u, v) in sorted order, clearing the marks."""
    m = 0
    for u in range(n):
        row = u * n
        for v in range(n):
            if mark[row + v]:
                mark[row + v] = False
                if m < cap:
                    src[m] = u + 1
                    dst[m] = v + 1
                    m += 1
    return m


@jit
def _erdos(n, m_target, state, src, dst, cap):
    """Directed G(n, p), p = m / (n (n - 1)), by geometric skipping over ordered pairs."""
    pairs = n * (n - 1)
    p = min(1.0, m_target / pairs)
    m = 0
    if p <= 0.0:
        return 0
    log_q = np.log1p(-p) if p < 1.0 else -np.inf
    k = -1
    while True:
        k += 1 + (0 if p >= 1.0 else np.int64(np.log1p(-uniform(state)) / log_q))
        if k >= pairs or m >= cap:
            return m
        u = k // (n - 1)
        v = k % (n - 1)
        v += v >= u
        src[m] = u + 1
        dst[m] = v + 1
        m += 1


@jit
def _erdos_gnm(n, m_target, state, src, dst, mark, cap):
    """Exactly m distinct ordered pairs, uniformly."""
    m = min(m_target, n * (n - 1))
    chosen = 0
    while chosen < m:
        u = randint(state, 0, n - 1)
        v = randint(state, 0, n - 2)
        v += v >= u
        if not mark[u * n + v]:
            mark[u * n + v] = True
            chosen += 1
    return _emit_marked(n, mark, src, dst, cap)


@jit
def _small_world(n, m_target, state, src, dst, mark, cap):
    """Watts-Strogatz ring of even degree k ~ 2m/n, rewiring probability beta ~ U[0, 1],
    then every undirected edge gets a random direction."""
    half = max(1, min((n - 1) // 2, np.int64(np.round(m_target / n))))
    beta = uniform(state)
    # the undirected ring: an edge {a, b} is marked both as (a, b) and (b, a)
    for u in range(n):
        for j in range(1, half + 1):
            v = (u + j) % n
            mark[u * n + v] = True
            mark[v * n + u] = True
    for j in range(1, half + 1):
        for u in range(n):
            v = (u + j) % n
            if uniform(state) < beta:
                deg = 0
                for w in range(n):
                    deg += mark[u * n + w]
                if deg >= n - 1:
                    continue
                w = randint(state, 0, n - 1)
                while w == u or mark[u * n + w]:
                    w = randint(state, 0, n - 1)
                mark[u * n + v] = False
                mark[v * n + u] = False
                mark[u * n + w] = True
                mark[w * n + u] = True
    # orient: keep (a, b) with a < b, then flip a coin for the direction
    for a in range(n):
        for b in range(a + 1, n):
            if mark[a * n + b]:
                mark[b * n + a] = False
                if uniform(state) < 0.5:
                    mark[a * n + b] = False
                    mark[b * n + a] = True
    return _emit_marked(n, mark, src, dst, cap)


@jit
def _pick_by_degree(state, ends, n_edges, n_nodes, delta):
    """A node chosen with probability proportional to (degree + delta); ``ends`` holds the
    endpoint of every edge on the counted side."""
    total = n_edges + delta * n_nodes
    r = uniform(state) * total
    if r < n_edges:
        return ends[min(np.int64(r), n_edges - 1)]
    return min(np.int64((r - n_edges) / delta), n_nodes - 1) if delta > 0 else ends[0]


@jit
def _scale_free(n, m_target, state, src, dst, mark, raw_src, raw_dst):
    """Directed scale-free growth from a 3-cycle until n nodes, then preferential edges
    between existing nodes until m raw edges; self-loops dropped, parallel edges merged."""
    raw_cap = raw_src.shape[0]
    raw_src[0], raw_dst[0] = 0, 1
    raw_src[1], raw_dst[1] = 1, 2
    raw_src[2], raw_dst[2] = 2, 0
    e = 3
    nodes = min(3, n)
    while (nodes < n or e < m_target) and e < raw_cap:
        r = uniform(state) if nodes < n else _SF_ALPHA  # after growth, only beta steps
        if r < _SF_ALPHA:  # new node -> existing (by in-degree)
            w = _pick_by_degree(state, raw_dst, e, nodes, _SF_DELTA_IN)
            raw_src[e], raw_dst[e] = nodes, w
            nodes += 1
        elif r < _SF_ALPHA + _SF_BETA:  # existing (by out-degree) -> existing (by in-degree)
            v = raw_src[randint(state, 0, e - 1)]
            w = _pick_by_degree(state, raw_dst, e, nodes, _SF_DELTA_IN)
            raw_src[e], raw_dst[e] = v, w
        else:  # existing (by out-degree) -> new node
            v = raw_src[randint(state, 0, e - 1)]
            raw_src[e], raw_dst[e] = v, nodes
            nodes += 1
        e += 1
    for i in range(e):
        u, v = raw_src[i], raw_dst[i]
        if u != v and u < n and v < n:
            mark[u * n + v] = True
    return _emit_marked(n, mark, src, dst, src.shape[0])


@jit
def random_graph(family, n, m_target, state, src, dst, mark, raw_src, raw_dst):
    """Dispatch on the family code; returns the number of inner edges written."""
    cap = src.shape[0]
    if family == ERDOS:
        return _erdos(n, m_target, state, src, dst, cap)
    if family == ERDOS_GNM:
        return _erdos_gnm(n, m_target, state, src, dst, mark, cap)
    if family == SMALL_WORLD:
        return _small_world(n, m_target, state, src, dst, mark, cap)
    return _scale_free(n, m_target, state, src, dst, mark, raw_src, raw_dst)
