"""Every size threshold of the exact solver, in one place: which networks go to the dense
kernels or to sparse matrices, and what is refused (read by metabnet.solve.dispatch,
metabnet.solve.sparse and metabnet.gen.driver as ``limits.NAME`` at call time, so that tests
can patch them here).  Sizes count inner nodes with reactions (metabnet.solve.dispatch)."""

MAX_NODES = 10_000_000  # inner nodes: x alone is 80 MB, its JSON about 200 MB
MAX_SPARSE = 1_000_000  # nodes with reactions: sparse matrices of O(reactions) (metabnet.solve.sparse)
DENSE_MAX = 8_192  # the dense kernels' limit (one n x n float64 matrix is then 512 MiB)
SPARSE_MIN = 600  # nodes from which metabnet.solve.dispatch goes to metabnet.solve.sparse (benchmarks/sparse_solve.py)
# Exact LUs of large sparse systems (metabnet.solve.sparse.Plan): the LU in the order of the
# network's strongly connected sets fills in only inside them and where their reactions lead
# (Plan.fill bounds its entries; an acyclic network adds none), so it is done first when it
# stays within LU_FIRST times the matrix's entries, and otherwise only as the fallback of the
# preconditioned iteration, within LU_FILL_MAX entries (a set of 9,217 random nodes: 9.1e7 by
# the bound, 1.9e7 in fact, 22 s and 0.55 GB).  A full sparse LU in SuperLU's COLAMD order fills in
# like n^2.5 on random networks: 8,000 nodes 12 s, 16,000 nodes 48 s and 1.15 GB peak, 30,000
# nodes several minutes and ~4 GB (2-core dev machine, benchmarks/README.md); it is tried on at
# most LU_MAX nodes.  Beyond both the network is refused (before Newton's first step with
# Michaelis-Menten kinetics, after the iteration's budget KRYLOV_WORK when linear).
LU_FIRST = 4
LU_FILL_MAX = 100_000_000
LU_MAX = 15_000
# Iterations times matrix entries that the preconditioned iterations of one solve may take, all
# tries together: 167 iterations for a 1,000,000-node, 2.1M-reaction network (random ones converge
# in 35, one-exit ones in 68; a refusal after 167 costs 40-60 s), capped at
# sparse.KRYLOV_ITER_MAX below ~130,000 entries (benchmarks/README.md, "Huge networks").
KRYLOV_WORK = 400_000_000
PROGRESS_MIN = 100_000  # nodes from which a sparse solve says its plan and shows its iterations (stderr)
KRYLOV_MIN = 800  # from here sparse linear systems go to preconditioned BiCGSTAB first (benchmarks/README.md)
# Linear networks of `gen` runs with n_max this large or more are made by the kernels without x
# (kernels.generator.M_DEFER: the labels are topological) and solved by metabnet.solve.sparse: the
# kernels' dense LU needs an n_max x n_max scratch per chunk of 32 networks and O(n^3) work.
SPARSE_LABEL_MIN = 2_000
