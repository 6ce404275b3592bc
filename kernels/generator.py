"""The parallel generation driver: random networks, labels and equilibria, one network per
``prange`` work item, written into padded per-network rows.

Network ``start + i`` of ``shard`` draws every random number from its own stream
``stream_seed(seed, shard, start + i)``, and scratch space is allocated once per chunk, so
the bytes out do not depend on the number of threads.  The generator settings arrive as a
float64 vector indexed by the ``C_*`` constants (built by ``metabnet.gen.config.GenConfig``).
"""
import numpy as np
from numba import prange

from metabnet.kernels._jit import jit, pjit
from metabnet.kernels.equilibrium import BEYOND as SOLVE_BEYOND
from metabnet.kernels.equilibrium import FAILED as SOLVE_FAILED
from metabnet.kernels.equilibrium import METHOD_DIRECT, METHOD_ODE, label
from metabnet.kernels.graphs import LONGPATH, TRAP, hard_network, random_graph
from metabnet.kernels.reach import _bfs, _reach, topological_labels
from metabnet.kernels.rng import log_uniform, randint, stream_seed, uniform

(C_FAMILY, C_N_LO, C_N_HI, C_M_LO, C_M_HI, C_N_INTAKE, C_N_EXCRETION, C_WEIGHTS, C_W_LO,
 C_W_HI, C_KINETICS, C_K_LO, C_K_HI, C_BALANCE, C_P_REDEEM, C_P_KEEP, C_RATIO, C_METHOD,
 C_INTAKE_SCALE, C_N_INTAKE_HI, C_N_EXCRETION_HI, C_SIZE) = range(22)
W_UNWEIGHTED, W_INTEGER, W_LOG_UNIFORM = 0, 1, 2
B_NONE, B_REDEEM, B_DROP, B_RATIO = 0, 1, 2, 3
M_DIRECT, M_ODE, M_DEFER = 0, 1, 2  # M_DEFER: linear labels only, x NaN (metabnet.gen.driver solves)
FLAG_SOLVER_FAILED, FLAG_ATTEMPTS_EXHAUSTED = 1, 2
MAX_ATTEMPTS = 10_000
CHUNK = 32


def capacity(cfg):
    """Edge slots per network: intake + inner (at most ceil(m_hi n) or a full ring) +
    redemption edges (at most 2 n) + excretion; the hard families' structural edges (spanning
    parents, cycles, sink fixes, repairs) take at most 2 n more."""
    n_hi = int(cfg[C_N_HI])
    extra = 2 * n_hi if cfg[C_FAMILY] >= TRAP else 0
    return int(cfg[C_N_INTAKE_HI] + cfg[C_N_EXCRETION_HI] + np.ceil(cfg[C_M_HI] * n_hi) + 3 * n_hi + 4
               + extra)


@jit(inline="always")
def _rate(state, cfg):
    """One rate, rounded to float32 so that the stored value is the one solved with."""
    w = cfg[C_WEIGHTS]
    if w == W_UNWEIGHTED:
        return 1.0
    if w == W_INTEGER:
        return np.float64(randint(state, np.int64(cfg[C_W_LO]), np.int64(cfg[C_W_HI])))
    return np.float64(np.float32(log_uniform(state, cfg[C_W_LO], cfg[C_W_HI])))


@jit(inline="always")
def _km(state, cfg, intake):
    if cfg[C_KINETICS] == 0 or intake:
        return np.nan
    return np.float64(np.float32(log_uniform(state, cfg[C_K_LO], cfg[C_K_HI])))


@jit
def _pick_distinct(state, n, k, perm):
    """Partial Fisher-Yates: perm[:k] are k distinct inner nodes (1..n)."""
    for v in range(n):
        perm[v] = v + 1
    for j in range(k):
        r = randint(state, j, n - 1)
        perm[j], perm[r] = perm[r], perm[j]


@jit
def _redeem(state, cfg, n, m, n_exc, src, dst, rate, km, to_exc, cap):
    """Add an edge from a random failing node to a random inner node (keeping the excretion
    edges last); returns the new edge count, or m when no slot is left."""
    if m >= cap:
        return m
    failing = 0
    for v in range(1, n + 1):
        failing += not to_exc[v]
    j = randint(state, 0, failing - 1)
    u = 0
    for v in range(1, n + 1):
        if not to_exc[v]:
            if j == 0:
                u = v
                break
            j -= 1
    w = randint(state, 1, n - 1)
    w += w >= u
    pos = m - n_exc
    for e in range(m, pos, -1):  # shift the excretion edges one slot right
        src[e], dst[e], rate[e], km[e] = src[e - 1], dst[e - 1], rate[e - 1], km[e - 1]
    src[pos], dst[pos] = u, w
    rate[pos] = _rate(state, cfg)
    km[pos] = _km(state, cfg, False)
    return m + 1


@jit
def _ends_count(state, lo, hi, n):
    """How many intake (excretion) edges: lo..hi, at most n; no draw when lo == hi."""
    k = np.int64(lo) if hi <= lo else randint(state, np.int64(lo), np.int64(hi))
    return min(k, n)


@jit
def _hard(state, cfg, n, m_target, positive, src, dst, cap, mark, scratch_i, ends, to_exc, from_in):
    """A hard-family network (kernels.graphs.hard_network) with intake edges first and
    excretion edges last; returns (m, n_in, n_ex, repair edges)."""
    ptr, adj, queue, idx, perm, raw_src, raw_dst, rank = scratch_i
    fam = np.int64(cfg[C_FAMILY])
    keep = 19 if fam == LONGPATH else 2  # nodes beyond the ends: 19 stages, or a trap of 2
    n_in = min(_ends_count(state, cfg[C_N_INTAKE], cfg[C_N_INTAKE_HI], n), n - keep)
    n_ex = min(_ends_count(state, cfg[C_N_EXCRETION], cfg[C_N_EXCRETION_HI], n), n - keep)
    ins, exs = ends[0], ends[1]
    mi, repairs = hard_network(fam, n, m_target, n_in, n_ex, positive, state, src[n_in:cap - n_ex],
                               dst[n_in:cap - n_ex], mark, raw_src, raw_dst, ins, exs, rank, perm,
                               to_exc, from_in, queue)
    for j in range(n_in):
        src[j], dst[j] = 0, ins[j]
    m = n_in + mi
    for j in range(n_ex):
        src[m], dst[m] = exs[j], n + 1
        m += 1
    return m, n_in, n_ex, repairs


@jit
def _one_network(gi, seed, shard, cfg, state, src, dst, rate, km, x, scratch_i, iw, comp,
                 mark, A, work, to_exc, from_in, ends):
    """Generate and label network `gi`; returns (n, m, unique, bounded, residual,
    redeemed edges, iterations, attempts, flags).  A network whose label the solver cannot
    certify (an equilibrium, if any, past kinetics.SLACK_MIN of a capacity) is drawn again,
    like one the balance drops: no stored label is a guess."""
    ptr, adj, queue, idx, perm, raw_src, raw_dst, rank = scratch_i
    fam = np.int64(cfg[C_FAMILY])
    cap = src.shape[0]
    state[0] = stream_seed(seed, shard, gi)
    ratio = cfg[C_RATIO]
    target = np.int64(np.floor((gi + 1) * ratio)) - np.int64(np.floor(gi * ratio))
    balance = cfg[C_BALANCE]
    n, m, unique, bounded, res, redeemed, it, flags = 0, 0, False, False, np.nan, 0, 0, 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        n = randint(state, np.int64(cfg[C_N_LO]), np.int64(cfg[C_N_HI]))
        m_target = np.int64(np.round((cfg[C_M_LO] + uniform(state) * (cfg[C_M_HI] - cfg[C_M_LO])) * n))
        redeemed = 0
        if fam >= TRAP:
            # a hard family's class is a coin (the exact share in ratio mode), built in, not
            # redeemed; `redeemed` counts the construction's repair edges
            positive = target == 1 if balance == B_RATIO else uniform(state) < 0.5
            m, n_in, n_ex, redeemed = _hard(state, cfg, n, m_target, positive, src, dst, cap, mark,
                                            scratch_i, ends, to_exc, from_in)
        else:
            n_in = _ends_count(state, cfg[C_N_INTAKE], cfg[C_N_INTAKE_HI], n)
            n_ex = _ends_count(state, cfg[C_N_EXCRETION], cfg[C_N_EXCRETION_HI], n)
            _pick_distinct(state, n, n_in, perm)
            for j in range(n_in):
                src[j], dst[j] = 0, perm[j]
            mi = random_graph(fam, n, m_target, state, src[n_in:cap - n_ex],
                              dst[n_in:cap - n_ex], mark, raw_src, raw_dst)
            _pick_distinct(state, n, n_ex, perm)
            m = n_in + mi
            for j in range(n_ex):
                src[m], dst[m] = perm[j], n + 1
                m += 1
        for e in range(m):
            rate[e] = _rate(state, cfg)
            if src[e] == 0 and cfg[C_INTAKE_SCALE] != 1.0:
                rate[e] = np.float64(np.float32(rate[e] * cfg[C_INTAKE_SCALE]))
            km[e] = _km(state, cfg, src[e] == 0)
        _reach(n, m, src, dst, ptr, adj, queue, to_exc, from_in)
        unique, bounded = topological_labels(n, to_exc, from_in)
        if fam < TRAP and not unique and ((balance == B_REDEEM and uniform(state) < cfg[C_P_REDEEM])
                           or (balance == B_RATIO and target == 1)):
            while not unique:
                m_new = _redeem(state, cfg, n, m, n_ex, src, dst, rate, km, to_exc, cap)
                if m_new == m:
                    break
                m = m_new
                redeemed += 1
                if to_exc[dst[m - n_ex - 1]]:  # the new edge reaches excretion: update
                    _bfs(n, m, dst, src, n + 1, ptr, adj, queue, to_exc)
                    unique, bounded = topological_labels(n, to_exc, from_in)
            _reach(n, m, src, dst, ptr, adj, queue, to_exc, from_in)
            unique, bounded = topological_labels(n, to_exc, from_in)
        flags = 0
        if cfg[C_METHOD] == M_DEFER:  # linear: the labels are the topological ones above;
            x[:n] = np.nan  # metabnet.gen.driver solves x sparsely afterwards
            res, it = np.nan, 0
        else:
            method = METHOD_ODE if cfg[C_METHOD] == M_ODE else METHOD_DIRECT
            unique, bounded, res, it, _, status = label(n, m, src, dst, rate, km, to_exc, from_in, method, False,
                                                        idx, A, x, work, iw, comp)
            if status == SOLVE_BEYOND:
                continue  # no label can be certified (equilibrium past the range): draw again
            if status == SOLVE_FAILED or (bounded and not (res <= 1e-8)):
                flags |= FLAG_SOLVER_FAILED
        if balance == B_DROP and not unique and uniform(state) >= cfg[C_P_KEEP]:
            continue
        if balance == B_RATIO and np.int64(unique) != target:
            continue
        return n, m, unique, bounded, res, redeemed, it, attempt, flags
    return n, m, unique, bounded, res, redeemed, it, MAX_ATTEMPTS, flags | FLAG_ATTEMPTS_EXHAUSTED


@pjit
def _generate(seed, shard, start, cfg, out_n, out_m, out_src, out_dst, out_rate, out_km, out_x,
              out_unique, out_bounded, out_res, out_redeemed, out_iters, out_attempts, out_flags):
    count, cap = out_src.shape
    n_max = out_x.shape[1]
    n_chunks = (count + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        # scratch, once per chunk
        state = np.empty(1, np.uint64)
        raw_cap = 8 * n_max + cap + 16
        scratch_i = (np.empty(n_max + 3, np.int64), np.empty(cap, np.int32), np.empty(n_max + 2, np.int64),
                     np.empty(n_max + 2, np.int64), np.empty(n_max, np.int64),
                     np.empty(raw_cap, np.int64), np.empty(raw_cap, np.int64), np.empty(n_max + 2, np.int64))
        ends = np.empty((2, n_max), np.int64)  # hard families: intake targets, excretion sources
        iw = np.empty((7, n_max + 3), np.int64)  # label: strongly connected components
        comp = np.empty(n_max + 2, np.int64)
        mark = np.zeros(n_max * n_max, np.bool_)
        a_n = 1 if cfg[C_METHOD] == M_DEFER else n_max  # no dense solve: no n_max^2 scratch
        A = np.empty((a_n, a_n))
        work = np.empty((8, n_max))
        to_exc = np.empty(n_max + 2, np.bool_)
        from_in = np.empty(n_max + 2, np.bool_)
        src = np.empty(cap, np.int32)
        dst = np.empty(cap, np.int32)
        rate = np.empty(cap)
        km = np.empty(cap)
        x = np.empty(n_max)
        for i in range(c * CHUNK, min(count, (c + 1) * CHUNK)):
            n, m, unique, bounded, res, redeemed, it, attempts, flags = _one_network(
                start + i, seed, shard, cfg, state, src, dst, rate, km, x, scratch_i, iw, comp,
                mark, A, work, to_exc, from_in, ends)
            out_n[i], out_m[i] = n, m
            out_src[i, :m] = src[:m]
            out_dst[i, :m] = dst[:m]
            out_rate[i, :m] = rate[:m]
            out_km[i, :m] = km[:m]
            out_x[i, :n] = x[:n]
            out_unique[i], out_bounded[i], out_res[i] = unique, bounded, res
            out_redeemed[i], out_iters[i], out_attempts[i], out_flags[i] = redeemed, it, attempts, flags


@pjit
def _compact(m, ptr, rows, out):
    """out[ptr[i]:ptr[i+1]] = rows[i, :m[i]] for a padded 2-d array."""
    for i in prange(m.shape[0]):
        out[ptr[i]:ptr[i + 1]] = rows[i, :m[i]]


def generate(seed, shard, start, count, cfg, node_dtype=np.int32, rate_dtype=np.float32):
    """Public wrapper: networks start..start+count-1 of a shard as a dict of CSR arrays,
    keyed as the datasets of a shard (metabnet.gen.shard); node ids and rates are stored as
    `node_dtype` and `rate_dtype` (the caller's choice: metabnet.gen.shard.storage_dtypes)."""
    cfg = np.ascontiguousarray(cfg, dtype=np.float64)
    if cfg.shape != (C_SIZE,):
        raise ValueError(f"cfg must be a float64 vector of length {C_SIZE}")
    n_max, cap = int(cfg[C_N_HI]), capacity(cfg)
    o = dict(n=np.empty(count, np.int32), m=np.empty(count, np.int32),
             src=np.empty((count, cap), np.int32), dst=np.empty((count, cap), np.int32),
             rate=np.empty((count, cap), np.float32), km=np.empty((count, cap), np.float32),
             x=np.empty((count, n_max)), unique=np.empty(count, np.bool_),
             bounded=np.empty(count, np.bool_), residual=np.empty(count),
             redeemed=np.empty(count, np.int16), iterations=np.empty(count, np.int32),
             attempts=np.empty(count, np.int32), flags=np.empty(count, np.uint8))
    _generate(np.uint64(seed), np.uint64(shard), np.uint64(start), cfg, o["n"], o["m"], o["src"],
              o["dst"], o["rate"], o["km"], o["x"], o["unique"], o["bounded"], o["residual"],
              o["redeemed"], o["iterations"], o["attempts"], o["flags"])
    edge_ptr = np.zeros(count + 1, np.int64)
    np.cumsum(o["m"], out=edge_ptr[1:])
    node_ptr = np.zeros(count + 1, np.int64)  # node values only for bounded networks
    n_values = np.where(o["bounded"], o["n"], 0).astype(np.int32)
    np.cumsum(n_values, out=node_ptr[1:])
    out = {"n": o["n"], "exists_unique": o["unique"], "exists_bounded": o["bounded"]}
    for k in ("residual", "redeemed", "iterations", "attempts", "flags"):
        out[k] = o[k]
    out["edge_ptr"], out["node_ptr"] = edge_ptr, node_ptr
    for k, dtype in (("src", node_dtype), ("dst", node_dtype), ("rate", rate_dtype), ("km", np.float32)):
        out["edge_" + k] = np.empty(edge_ptr[-1], dtype)
        _compact(o["m"], edge_ptr, o[k], out["edge_" + k])
    out["x"] = np.empty(node_ptr[-1])
    _compact(n_values, node_ptr, o["x"], out["x"])
    return out
