"""The one place where compile flags live.

fastmath never includes ``nnan``/``ninf``: divergence and NaN detection must keep working.
"""
from functools import partial

import numba

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

jit = partial(numba.njit, cache=True, nogil=True, fastmath=FASTMATH)
pjit = partial(numba.njit, cache=True, nogil=True, fastmath=FASTMATH, parallel=True)
