"""Dense LU without pivoting for the column-diagonally-dominant matrices of this model.

L^T, I + h d L^T and the Michaelis-Menten -J are all column diagonally dominant M-matrices
(every column sums to the excretion rate of that node, >= 0), so Gaussian elimination is
stable without row exchanges.  Zero multipliers are skipped: random networks are sparse.
``A`` is a 2-d scratch whose top-left k x k block is used.
"""
import numpy as np

from metabnet.kernels._jit import jit


@jit
def lu_factor(k, A):
    """In-place LU of A[:k, :k]; returns False on a zero or non-finite pivot."""
    for c in range(k):
        piv = A[c, c]
        if not (np.abs(piv) > 0.0) or not np.isfinite(piv):
            return False
        inv = 1.0 / piv
        for i in range(c + 1, k):
            f = A[i, c]
            if f != 0.0:
                f *= inv
                A[i, c] = f
                for j in range(c + 1, k):
                    A[i, j] -= f * A[c, j]
    return True


@jit
def lu_solve(k, A, b):
    """Solve in place with the factors from lu_factor: b <- A^-1 b."""
    for i in range(1, k):
        s = b[i]
        for j in range(i):
            s -= A[i, j] * b[j]
        b[i] = s
    for i in range(k - 1, -1, -1):
        s = b[i]
        for j in range(i + 1, k):
            s -= A[i, j] * b[j]
        b[i] = s / A[i, i]
