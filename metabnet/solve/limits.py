"""Every size threshold of the exact solver, in one place: which networks go to the dense
kernels or to sparse matrices, and what is refused (read by metabnet.solve.dispatch,
metabnet.solve.sparse and metabnet.gen.driver as ``limits.NAME`` at call time, so that tests
can patch them here).  Sizes count inner nodes with reactions (metabnet.solve.dispatch)."""

MAX_NODES = 10_000_000  # inner nodes: x alone is 80 MB, its JSON about 200 MB
MAX_SPARSE = 1_000_000  # nodes with reactions: sparse matrices of O(reactions) (metabnet.solve.sparse)
DENSE_MAX = 8_192  # the dense kernels' limit (one n x n float64 matrix is then 512 MiB)
SPARSE_MIN = 600  # nodes from which metabnet.solve.dispatch goes to metabnet.solve.sparse (benchmarks/sparse_solve.py)
KRYLOV_MIN = 800  # from here sparse linear systems go to preconditioned BiCGSTAB first (benchmarks/README.md)
# Linear networks of `gen` runs with n_max this large or more are made by the kernels without x
# (kernels.generator.M_DEFER: the labels are topological) and solved by metabnet.solve.sparse: the
# kernels' dense LU needs an n_max x n_max scratch per chunk of 32 networks and O(n^3) work.
SPARSE_LABEL_MIN = 2_000
