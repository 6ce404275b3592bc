"""Reachability by breadth-first search on a CSR built in caller-owned scratch.

Nodes are 0 (intake), 1..n (inner), n+1 (excretion); edges are (src[i], dst[i]), i < m.
"""
import numpy as np

from metabnet.kernels._jit import jit


@jit
def _bfs(n, m, frm, to, start, ptr, adj, queue, seen):
    """seen[v] = True for every v reachable from `start` following frm -> to."""
    nn = n + 2
    ptr[: nn + 1] = 0
    for i in range(m):
        ptr[frm[i] + 1] += 1
    for v in range(nn):
        ptr[v + 1] += ptr[v]
    queue[:nn] = ptr[:nn]  # write cursor per node
    for i in range(m):
        u = frm[i]
        adj[queue[u]] = to[i]
        queue[u] += 1
    seen[:nn] = False
    seen[start] = True
    queue[0] = start
    head, tail = 0, 1
    while head < tail:
        u = queue[head]
        head += 1
        for k in range(ptr[u], ptr[u + 1]):
            v = adj[k]
            if not seen[v]:
                seen[v] = True
                queue[tail] = v
                tail += 1


@jit
def _reach(n, m, src, dst, ptr, adj, queue, to_exc, from_in):
    """to_exc[v]: v has a path to excretion; from_in[v]: v is reachable from intake."""
    _bfs(n, m, dst, src, n + 1, ptr, adj, queue, to_exc)
    _bfs(n, m, src, dst, 0, ptr, adj, queue, from_in)


@jit
def topological_labels(n, to_exc, from_in):
    """(unique, bounded) by the topological rules of DESIGN §1."""
    unique = True
    bounded = True
    for v in range(1, n + 1):
        if not to_exc[v]:
            unique = False
            if from_in[v]:
                bounded = False
    return unique, bounded


def reachability(n, src, dst):
    """Public wrapper: (to_excretion, from_intake) boolean arrays over nodes 0..n+1."""
    src = np.ascontiguousarray(src, dtype=np.int32)
    dst = np.ascontiguousarray(dst, dtype=np.int32)
    if src.shape != dst.shape or src.ndim != 1:
        raise ValueError("src and dst must be 1-d arrays of the same length")
    if src.size and (src.min() < 0 or max(src.max(), dst.max()) > n + 1):
        raise ValueError(f"node ids must lie in 0..{n + 1}")
    m = src.shape[0]
    to_exc, from_in = np.empty(n + 2, np.bool_), np.empty(n + 2, np.bool_)
    _reach(n, m, src, dst, np.empty(n + 3, np.int64), np.empty(max(m, 1), np.int32),
           np.empty(n + 2, np.int64), to_exc, from_in)
    return to_exc, from_in

