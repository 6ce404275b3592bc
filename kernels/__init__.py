"""Numba kernels - pure array arithmetic, parallel over networks, deterministic for a seed:
random graph families (`graphs`), the generation driver (`generator`), flux balances and
certificates (`kinetics`), reachability (`reach`), dense LU (`linalg`), equilibria
(`equilibrium`), the Rosenbrock ODE (`ode`), counter-based random streams (`rng`) and the
paper's tokenizer (`tokenize`)."""
