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


# ---- hard families (DESIGN §2: they defeat local shortcuts) -------------------------------
#
# A hard family builds the whole network: inner edges through ``mark`` (an n x n boolean
# adjacency matrix on 0-based inner nodes, cleared again by ``_emit_marked``), and its own
# intake targets ``ins[:n_in]`` and excretion sources ``exs[:n_ex]`` (1-based node ids).
# ``rank[v]`` (1-based v) is the node's place in the shape: its stage on a long path (every
# forward edge advances one stage at most, repairs included, so the diameter survives), or
# fan-in / core / fan-out, layer, module.  Each network's class (with or without equilibrium)
# is a coin the caller draws; the construction makes it so: no later redemption.

TRAP, LONGPATH, BOWTIE, LAYERED, MODULAR = 4, 5, 6, 7, 8
LONGPATH_STAGES = 20  # stage 19 is >= 20 hops from the intake node


@jit(inline="always")
def _add(n, mark, u, v):
    """Mark edge u -> v (0-based); 1 if it is new and not a self-loop, else 0."""
    if u == v or mark[u * n + v]:
        return 0
    mark[u * n + v] = True
    return 1


@jit
def _mark_bfs(n, mark, seeds, n_seeds, forward, seen, queue):
    """seen[v] for every 0-based v reachable from the 1-based `seeds` (forward) or reaching
    them (backward); queue[:count] lists them in BFS order; returns the count."""
    seen[:n] = False
    tail = 0
    for j in range(n_seeds):
        s = seeds[j] - 1
        if not seen[s]:
            seen[s] = True
            queue[tail] = s
            tail += 1
    head = 0
    while head < tail:
        u = queue[head]
        head += 1
        for v in range(n):
            if not seen[v] and (mark[u * n + v] if forward else mark[v * n + u]):
                seen[v] = True
                queue[tail] = v
                tail += 1
    return tail


@jit
def _shuffle(state, a, lo, hi, k):
    """Partial Fisher-Yates on a[lo:hi]: a[lo:lo+k] becomes k random distinct entries."""
    for j in range(lo, min(lo + k, hi)):
        r = randint(state, j, hi - 1)
        a[j], a[r] = a[r], a[j]


@jit
def _pick_into(state, pool, lo, hi, k, out, tmp):
    """out[:k] = k distinct random entries of pool[lo:hi] (+1: 1-based ids); pool untouched."""
    size = hi - lo
    tmp[:size] = pool[lo:hi]
    _shuffle(state, tmp, 0, size, k)
    for j in range(k):
        out[j] = tmp[j] + 1


@jit
def _out_empty(n, mark, u):
    for v in range(n):
        if mark[u * n + v]:
            return False
    return True


@jit
def _repair(state, n, mark, exs, n_ex, rank, ranked, seen, queue):
    """Edges from random nodes that cannot reach excretion to random nodes that can, until
    every node can (the construction's redemption); returns the edges added.  `ranked`: the
    failing node is one of highest rank and the target's rank is at most its rank + 1, so
    every forward edge still advances one stage at most (such a target always exists: every
    node of the next rank, or an excretion source, reaches excretion)."""
    added = 0
    while True:
        good = _mark_bfs(n, mark, exs, n_ex, False, seen, queue)
        if good == n:
            return added
        top = -1
        if ranked:
            for v in range(n):
                if not seen[v]:
                    top = max(top, rank[v + 1])
        count = 0
        for v in range(n):
            count += not seen[v] and (top < 0 or rank[v + 1] == top)
        j = randint(state, 0, count - 1)
        u = 0
        for v in range(n):
            if not seen[v] and (top < 0 or rank[v + 1] == top):
                if j == 0:
                    u = v
                    break
                j -= 1
        w = queue[randint(state, 0, good - 1)]
        while ranked and rank[w + 1] > top + 1:
            w = queue[randint(state, 0, good - 1)]
        added += _add(n, mark, u, w)


@jit
def _feed_sinks(state, n, mark, exs, n_ex, rank, same, aux):
    """Give every node without an outgoing reaction (no excretion source) one: to a random
    node of the same rank (`same`: a module) or of a lower one (feedback to an earlier layer,
    or from fan-out back to the core or fan-in), so no local rule spots the class."""
    aux[:n] = False
    for j in range(n_ex):
        aux[exs[j] - 1] = True
    for u in range(n):
        if aux[u] or not _out_empty(n, mark, u):
            continue
        r = rank[u + 1]
        count = 0
        for v in range(n):
            count += v != u and (rank[v + 1] == r if same else rank[v + 1] < r)
        j = randint(state, 0, (count if count > 0 else n - 1) - 1)
        for v in range(n):
            if v != u and (count == 0 or (rank[v + 1] == r if same else rank[v + 1] < r)):
                if j == 0:
                    _add(n, mark, u, v)
                    break
                j -= 1


@jit
def _settle(state, n, mark, positive, ins, n_in, exs, n_ex, seen, aux, queue):
    """The class the coin chose, for the shape families: with equilibrium, repair every node
    until it reaches excretion; without, if every node already does, close a dead end: from
    a node the intake reaches, a set of 2-6 nodes along its successors (no excretion source)
    loses every exit and becomes a cycle; one time in four a single node, a sink.  Returns
    the repair edges."""
    if positive:
        return _repair(state, n, mark, exs, n_ex, queue, False, seen, queue)
    if _mark_bfs(n, mark, exs, n_ex, False, seen, queue) < n:
        return 0
    aux[:n] = False
    for j in range(n_ex):
        aux[exs[j] - 1] = True
    reached = _mark_bfs(n, mark, ins, n_in, True, seen, queue)
    count = 0
    for j in range(reached):
        count += not aux[queue[j]]
    u = -1
    if count > 0:
        j = randint(state, 0, count - 1)
        for q in range(reached):
            if not aux[queue[q]]:
                if j == 0:
                    u = queue[q]
                    break
                j -= 1
    else:
        for v in range(n):
            if not aux[v]:
                u = v
    if u < 0:
        return 0
    want = 1 if uniform(state) < 0.25 else randint(state, 2, 6)
    seen[:n] = False  # the set: queue[:size], grown breadth-first along successors
    seen[u] = True
    queue[0] = u
    size, head = 1, 0
    while head < size and size < want:
        x = queue[head]
        head += 1
        for v in range(n):
            if size < want and mark[x * n + v] and not seen[v] and not aux[v]:
                seen[v] = True
                queue[size] = v
                size += 1
    for j in range(size):
        x = queue[j]
        for v in range(n):
            if not seen[v]:
                mark[x * n + v] = False
    if size > 1:
        for j in range(size):
            _add(n, mark, queue[j], queue[(j + 1) % size])
    return 0


@jit
def _trap(n, m_target, n_in, n_ex, positive, state, src, dst, mark, raw_src, raw_dst, ins, exs,
          perm, in_trap, seen, queue):
    """Sink-free networks with a closed class T (2..n/3 nodes, strongly connected, no edge in
    or out except 1-2 entries at a random depth from the intake, or an intake into T).
    Without equilibrium (`positive` False) T keeps no exit: the intake reaches it and mass
    piles up there.  With one, T gets one exit edge and the construction repairs every node
    until it reaches excretion, so both classes look alike locally.  Leaves the edges in
    `mark`; returns the repair edges."""
    k = min(randint(state, 2, max(2, n // 3)), n - max(n_in, n_ex))
    # a paper-family graph to carve the trap from, with more edges for those the cut removes
    cut = 2.0 * k * (n - k) / (n * (n - 1))
    base = randint(state, 0, SCALE_FREE)
    mb = random_graph(base, n, np.int64(np.round(m_target / (1.0 - cut))), state, src, dst, mark,
                      raw_src, raw_dst)
    for e in range(mb):
        mark[(src[e] - 1) * n + dst[e] - 1] = True
    for v in range(n):
        perm[v] = v
    _shuffle(state, perm, 0, n, n)
    in_trap[:n] = False
    for j in range(k):
        in_trap[perm[j]] = True
    for j in range(k):  # cut T off, then close it into a cycle
        u = perm[j]
        for v in range(n):
            if not in_trap[v]:
                mark[u * n + v] = False
                mark[v * n + u] = False
    for j in range(k):
        _add(n, mark, perm[j], perm[(j + 1) % k])
    _pick_into(state, perm, k, n, n_in, ins, raw_dst)
    _pick_into(state, perm, k, n, n_ex, exs, raw_dst)
    if uniform(state) < 0.1:  # the trap right at an intake (the others stay outside T)
        ins[0] = perm[randint(state, 0, k - 1)] + 1
    is_exc = seen  # scratch: excretion sources
    is_exc[:n] = False
    for j in range(n_ex):
        is_exc[exs[j] - 1] = True
    for j in range(k, n):  # no sink outside T: an edge to a random node outside T
        u = perm[j]
        if not is_exc[u] and _out_empty(n, mark, u):
            v = perm[randint(state, k, n - 2)]
            _add(n, mark, u, v if v != u else perm[n - 1])
    reached = _mark_bfs(n, mark, ins, n_in, True, seen, queue)
    entered = False
    for j in range(reached):
        entered = entered or in_trap[queue[j]]
    if not entered:  # 1 or 2 entries from nodes at a random depth behind the intake
        for _ in range(randint(state, 1, 2)):
            _add(n, mark, queue[randint(state, 0, reached - 1)], perm[randint(state, 0, k - 1)])
    repairs = 0
    if positive:
        good = _mark_bfs(n, mark, exs, n_ex, False, seen, queue)
        repairs += _add(n, mark, perm[randint(state, 0, k - 1)], queue[randint(state, 0, good - 1)])
        repairs += _repair(state, n, mark, exs, n_ex, queue, False, seen, queue)
    return repairs


@jit
def _stage_node(state, perm, start, s):
    """A random node (0-based) of stage s."""
    return perm[start[s] + randint(state, 0, start[s + 1] - start[s] - 1)]


@jit
def _longpath(n, m_target, n_in, n_ex, positive, state, mark, ins, exs, rank, perm, start, tmp, seen,
              queue):
    """Stages 0..L-1 (L >= 20) of 1-4 nodes, the intake targets as stage 0: every node has a
    parent one stage back, and every other forward edge advances one stage at most, so stage
    s lies s + 1 hops from the intake.  Shapes: chain (width 1), ladder (width 2), cycles of
    cycles (segments of 3-8 stages closed by a back edge, in a ring), mixed (widths 1-4); the
    rest of the m edges go back (feedback), across a stage or forward by one.

    A block of consecutive stages a..b (b >= 19, >= 2 nodes) is closed into a cycle with
    every exit removed: >= 20 hops from the intake, fed by it.  Without equilibrium it stays
    closed; with one it gets one exit and the construction repairs every node until it
    reaches excretion (keeping the stage rule).  Returns the repair edges."""
    for v in range(n):
        perm[v] = v
    _shuffle(state, perm, 0, n, n)
    shape = randint(state, 0, 3)
    wmax = max(1, (n - n_in) // (LONGPATH_STAGES - 1))
    w_lo, w_hi = 1, 1  # chain
    if shape == 1:
        w_lo = w_hi = min(2, wmax)
    elif shape == 2:
        w_hi = min(2, wmax)
    elif shape == 3:
        w_hi = min(4, wmax)
    start[0], start[1] = 0, n_in
    L = 1
    j = n_in
    while j < n:
        j = min(n, j + randint(state, w_lo, w_hi))
        L += 1
        start[L] = j
    for s in range(L):
        for i in range(start[s], start[s + 1]):
            rank[perm[i] + 1] = s
    for i in range(n_in):
        ins[i] = perm[i] + 1
    fwd, back = tmp[:n], tmp[n:2 * n]  # forward / feedback out-edges per node
    fwd[:] = 0
    back[:] = 0
    used = 0
    for s in range(1, L):  # the spanning parents
        for i in range(start[s], start[s + 1]):
            u = _stage_node(state, perm, start, s - 1)
            fwd[u] += _add(n, mark, u, perm[i])
    used = n - n_in
    if shape == 2:  # cycles of cycles
        a = 1
        while a < L - 2:
            b = min(L - 1, a + randint(state, 2, 7))
            used += _add(n, mark, _stage_node(state, perm, start, b), _stage_node(state, perm, start, a))
            a = b + 1
        used += _add(n, mark, _stage_node(state, perm, start, L - 1), _stage_node(state, perm, start, 1))
    # Feedback only from a share q of the nodes, on no more edges than they feed forward on:
    # with feedback everywhere x follows a random walk in log space along the path (1e17
    # between the ends of a 50-node chain); chains are sparser than m for it.
    q = 0.1 + 0.3 * uniform(state)
    may_back = tmp[2 * n:3 * n]
    for v in range(n):
        may_back[v] = uniform(state) < q
    p_same = 0.0 if shape == 0 else (0.2 if shape == 1 else 0.1)
    p_fwd = 0.5
    p_long = 0.03
    tries = 0
    while used < m_target and tries < 8 * m_target:
        tries += 1
        u = perm[randint(state, 0, n - 1)]
        s = rank[u + 1]
        r = uniform(state)
        if r < p_same:
            t = s
        elif r < p_same + p_fwd:
            t = min(s + 1, L - 1)
        elif r < p_same + p_fwd + p_long:
            t = randint(state, 0, s)
        else:
            t = max(0, s - randint(state, 1, 3))
        if t < s and (back[u] >= fwd[u] or not may_back[u]):
            continue
        new = _add(n, mark, u, _stage_node(state, perm, start, t))
        used += new
        if t > s:
            fwd[u] += new
        elif t < s:
            back[u] += new
    # the closed block: stages a..b, perm[start[a]:start[b + 1]]
    b = randint(state, LONGPATH_STAGES - 1, L - 1)
    a = b - randint(state, 0, 3)
    while start[b + 1] - start[a] < 2:
        a -= 1
    lo, hi = start[a], start[b + 1]
    for i in range(lo, hi):
        u = perm[i]
        for v in range(n):
            if rank[v + 1] < a or rank[v + 1] > b:
                mark[u * n + v] = False
        _add(n, mark, u, perm[i + 1] if i + 1 < hi else perm[lo])  # the cycle (stage order)
    # excretion sources: outside the block, the first in the farthest stage outside it
    pool = 0
    for i in range(n_in, n):
        if i < lo or i >= hi:
            tmp[pool] = perm[i]
            pool += 1
    far = start[L - 1] if b < L - 1 else start[a - 1]
    exs[0] = perm[randint(state, far, (start[L] if b < L - 1 else start[a]) - 1)] + 1
    _shuffle(state, tmp, 0, pool, pool)
    k = 1
    for i in range(pool):
        if k < n_ex and tmp[i] + 1 != exs[0]:
            exs[k] = tmp[i] + 1
            k += 1
    if not positive:
        return 0
    u = perm[randint(state, start[b], hi - 1)]  # the exit: one stage on, or back before a
    if b < L - 1:
        v = _stage_node(state, perm, start, b + 1)
    else:
        v = perm[randint(state, 0, lo - 1)]
    return _add(n, mark, u, v) + _repair(state, n, mark, exs, n_ex, rank, True, seen, queue)


@jit
def _cuts(state, n, k, start):
    """start[0..k]: k consecutive non-empty blocks of 0..n-1 at k - 1 distinct random cut
    points (uniform compositions); start[k + 1:k + n] is scratch."""
    pool = start[k + 1:k + n]
    for i in range(n - 1):
        pool[i] = i + 1
    _shuffle(state, pool, 0, n - 1, k - 1)
    cuts = np.sort(pool[:k - 1])
    start[0], start[k] = 0, n
    for b in range(1, k):
        start[b] = cuts[b - 1]


@jit
def _block_node(state, perm, start, b):
    return perm[start[b] + randint(state, 0, start[b + 1] - start[b] - 1)]


@jit
def _fill_distinct(state, n, ends, first, k):
    """ends[first:k]: random nodes (1-based) distinct from each other and from ends[:first]."""
    for i in range(first, k):
        while True:
            v = randint(state, 1, n)
            dup = False
            for q in range(i):
                dup = dup or ends[q] == v
            if not dup:
                break
        ends[i] = v


@jit
def _place_ends(state, n, n_in, n_ex, perm, lo_in, hi_in, lo_ex, hi_ex, ins, exs, tmp):
    """Intake targets: min(n_in, |block|) random ones from perm[lo_in:hi_in], the rest
    anywhere; excretion sources likewise from perm[lo_ex:hi_ex]; each kind distinct."""
    first = min(n_in, hi_in - lo_in)
    _pick_into(state, perm, lo_in, hi_in, first, ins, tmp)
    _fill_distinct(state, n, ins, first, n_in)
    first = min(n_ex, hi_ex - lo_ex)
    _pick_into(state, perm, lo_ex, hi_ex, first, exs, tmp)
    _fill_distinct(state, n, exs, first, n_ex)


@jit
def _bowtie(n, m_target, n_in, n_ex, state, mark, ins, exs, rank, perm, start, tmp):
    """Fan-in (a DAG from the intakes into the core), a strongly connected core (a cycle plus
    most of the m edges), fan-out (a DAG out of the core towards the excretions), a little
    feedback from fan-out to core and shortcuts from fan-in to fan-out."""
    for v in range(n):
        perm[v] = v
    _shuffle(state, perm, 0, n, n)
    c = randint(state, max(2, n // 5), max(2, n // 2))
    a = max(1, np.int64((n - c) * (0.3 + 0.4 * uniform(state))))
    a = min(a, n - c)
    start[0], start[1], start[2], start[3] = 0, a, a + c, n
    for b in range(3):  # rank: 0 fan-in, 1 core, 2 fan-out
        for i in range(start[b], start[b + 1]):
            rank[perm[i] + 1] = b
    used = 0
    for i in range(a, a + c):  # the core cycle
        used += _add(n, mark, perm[i], perm[a + (i - a + 1) % c])
    for i in range(a):  # fan-in: a parent earlier in the fan-in (unless an intake root), a
        if i >= min(n_in, a):  # child later in the fan-in or in the core
            used += _add(n, mark, perm[randint(state, 0, i - 1)], perm[i])
        used += _add(n, mark, perm[i], perm[randint(state, i + 1, a + c - 1)])
    for i in range(a + c, n):  # fan-out: a parent in the core or earlier in the fan-out
        used += _add(n, mark, perm[randint(state, a, i - 1)], perm[i])
    tries = 0
    while used < m_target and tries < 8 * m_target:
        tries += 1
        r = uniform(state)
        if r < 0.6:  # core
            u, v = _block_node(state, perm, start, 1), _block_node(state, perm, start, 1)
        elif r < 0.75:  # fan-in, forward
            i = randint(state, 0, a - 1)
            u, v = perm[i], perm[randint(state, i + 1, a + c - 1)]
        elif r < 0.9 and a + c < n:  # fan-out, forward
            i = randint(state, a + c, n - 1)
            u, v = perm[randint(state, a, i - 1)], perm[i]
        elif r < 0.95 and a + c < n:  # feedback: fan-out -> core
            u, v = _block_node(state, perm, start, 2), _block_node(state, perm, start, 1)
        else:  # shortcut: fan-in -> anywhere downstream
            i = randint(state, 0, a - 1)
            u, v = perm[i], perm[randint(state, i + 1, n - 1)]
        used += _add(n, mark, u, v)
    roots = min(n_in, a)  # the intakes feed the fan-in's roots (the rest: anywhere)
    for i in range(roots):
        ins[i] = perm[i] + 1
    _fill_distinct(state, n, ins, roots, n_in)
    lo_ex = a + c if a + c < n else a
    first = min(n_ex, n - lo_ex)
    _pick_into(state, perm, lo_ex, n, first, exs, tmp)
    _fill_distinct(state, n, exs, first, n_ex)
    return used


@jit
def _layered(n, m_target, n_in, n_ex, state, mark, ins, exs, rank, perm, start, tmp):
    """4-12 layers, the first one the intake targets: every node has a parent in the layer
    before and most a child in the next, most other edges go one layer on, some skip a layer,
    some feed back to an earlier layer, a few stay in the layer; the excretions leave the
    last layer (those beyond its size: anywhere)."""
    for v in range(n):
        perm[v] = v
    _shuffle(state, perm, 0, n, n)
    k = min(randint(state, 4, max(4, min(12, n // 3))), n - n_in + 1)
    _cuts(state, n - n_in, k - 1, start[1:])
    start[0] = 0
    for b in range(1, k + 1):
        start[b] += n_in
    for b in range(k):
        for i in range(start[b], start[b + 1]):
            rank[perm[i] + 1] = b
    for i in range(n_in):
        ins[i] = perm[i] + 1
    used = 0
    for b in range(1, k):
        for i in range(start[b], start[b + 1]):
            used += _add(n, mark, _block_node(state, perm, start, b - 1), perm[i])
    for b in range(k - 1):
        for i in range(start[b], start[b + 1]):
            if uniform(state) < 0.8:
                used += _add(n, mark, perm[i], _block_node(state, perm, start, b + 1))
    tries = 0
    while used < m_target and tries < 8 * m_target:
        tries += 1
        b = randint(state, 0, k - 1)
        r = uniform(state)
        if r < 0.55:
            t = min(b + 1, k - 1)
        elif r < 0.65:
            t = min(b + 2, k - 1)
        elif r < 0.85:
            t = randint(state, 0, b)  # feedback
        else:
            t = b
        used += _add(n, mark, _block_node(state, perm, start, b), _block_node(state, perm, start, t))
    first = min(n_ex, n - start[k - 1])
    _pick_into(state, perm, start[k - 1], n, first, exs, tmp)
    _fill_distinct(state, n, exs, first, n_ex)
    return used


@jit
def _modular(n, m_target, n_in, n_ex, state, mark, ins, exs, rank, perm, start, tmp):
    """2-8 modules, each a dense random graph around a cycle; a chain of single links (3 in 4
    forward) joins consecutive modules, and ~5% of the edges link random modules."""
    for v in range(n):
        perm[v] = v
    _shuffle(state, perm, 0, n, n)
    k = min(n // 2, randint(state, 2, max(2, min(8, n // 5))))
    _cuts(state, n, k, start)
    for b in range(k):
        for i in range(start[b], start[b + 1]):
            rank[perm[i] + 1] = b
    used = 0
    for b in range(k):
        size = start[b + 1] - start[b]
        for i in range(start[b], start[b + 1]):
            if size > 1:
                used += _add(n, mark, perm[i], perm[start[b] + (i - start[b] + 1) % size])
        if b > 0:
            u, v = _block_node(state, perm, start, b - 1), _block_node(state, perm, start, b)
            used += _add(n, mark, u, v) if uniform(state) < 0.75 else _add(n, mark, v, u)
    tries = 0
    while used < m_target and tries < 8 * m_target:
        tries += 1
        b = randint(state, 0, k - 1)
        t = randint(state, 0, k - 1) if uniform(state) < 0.05 else b
        used += _add(n, mark, _block_node(state, perm, start, b), _block_node(state, perm, start, t))
    _place_ends(state, n, n_in, n_ex, perm, 0, n, 0, n, ins, exs, tmp)
    return used


@jit
def hard_network(family, n, m_target, n_in, n_ex, positive, state, src, dst, mark, raw_src, raw_dst,
                 ins, exs, rank, perm, seen, aux, queue):
    """Build a hard-family network: inner edges into src/dst (sorted, as random_graph), intake
    targets into ins[:n_in], excretion sources into exs[:n_ex] (1-based), stages into rank.
    `positive`: build it with an equilibrium (every node reaches excretion), else without.
    Scratch: perm (n_max), seen / aux (bool, n_max), queue (n_max), raw_src / raw_dst
    (>= n_max + 2).  Returns (inner edges, repair edges)."""
    rank[: n + 2] = 0
    if family == TRAP:
        base_cap = src.shape[0] - 2 * n - 4  # room for the cycle, sink fixes, entries, repairs
        repairs = _trap(n, m_target, n_in, n_ex, positive, state, src[:base_cap], dst[:base_cap], mark,
                        raw_src, raw_dst, ins, exs, perm, aux, seen, queue)
    elif family == LONGPATH:
        repairs = _longpath(n, m_target, n_in, n_ex, positive, state, mark, ins, exs, rank, perm,
                            raw_src, raw_dst, seen, queue)
    else:
        if family == BOWTIE:
            _bowtie(n, m_target, n_in, n_ex, state, mark, ins, exs, rank, perm, raw_src, raw_dst)
        elif family == LAYERED:
            _layered(n, m_target, n_in, n_ex, state, mark, ins, exs, rank, perm, raw_src, raw_dst)
        else:
            _modular(n, m_target, n_in, n_ex, state, mark, ins, exs, rank, perm, raw_src, raw_dst)
        _feed_sinks(state, n, mark, exs, n_ex, rank, family == MODULAR, aux)
        repairs = _settle(state, n, mark, positive, ins, n_in, exs, n_ex, seen, aux, queue)
    return _emit_marked(n, mark, src, dst, src.shape[0]), repairs
