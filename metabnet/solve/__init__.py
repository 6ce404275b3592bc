"""The exact solver of given networks: `solve` answers a Network with the records of DESIGN §5,
choosing dense kernels or sparse matrices by size (`dispatch`, `sparse`)."""
from metabnet.solve.dispatch import SolveError, solve

__all__ = ["SolveError", "solve"]
