"""The exact solver of given networks: `solve` answers a Network with the records of DESIGN §5,
choosing dense kernels or sparse matrices by size (`dispatch`, `sparse`);
`networks_batch` labels a list of them as one Batch (`labels`)."""
from metabnet.solve.dispatch import SolveError, solve
from metabnet.solve.labels import networks_batch

__all__ = ["SolveError", "networks_batch", "solve"]
