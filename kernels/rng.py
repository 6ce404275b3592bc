"""Counter-derived random streams (SplitMix64).

Each network owns a one-word state derived from (seed, shard, index), so a run gives the
same bytes whatever the number of threads.  The state lives in a caller-owned uint64[1].
"""
import numpy as np

from metabnet.kernels._jit import jit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@jit(inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def stream_seed(seed, shard, index):
    """The initial state of network `index` of `shard` in a run seeded with `seed`."""
    s = _mix(np.uint64(seed) + _GOLDEN)
    s = _mix(s ^ (np.uint64(shard) + _GOLDEN))
    return _mix(s ^ (np.uint64(index) + _GOLDEN))


@jit(inline="always")
def next_u64(state):
    z = state[0] + _GOLDEN
    state[0] = z
    return _mix(z)


@jit(inline="always")
def uniform(state):
    """A float64 in [0, 1)."""
    return np.float64(next_u64(state) >> _S11) * _INV53


@jit(inline="always")
def randint(state, lo, hi):
    """An integer in [lo, hi], both included."""
    return lo + np.int64(uniform(state) * (hi - lo + 1))


@jit(inline="always")
def log_uniform(state, lo, hi):
    return np.exp(np.log(lo) + uniform(state) * (np.log(hi) - np.log(lo)))
