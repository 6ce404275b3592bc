"""Generator settings (DESIGN §2): graph families, size classes, weights, kinetics, balance.

`GenConfig` is the one description of a run; it travels as JSON into every shard and is
packed into the float vector the Numba driver reads (`kernels.generator.C_*`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from metabnet.kernels import generator as kg
from metabnet.kernels import graphs
from metabnet.network import KINETICS, Kinetics

@dataclass(frozen=True)
class Family:
    name: str
    code: int  # kernels.graphs family code
    about: str
    hard: bool = False  # built whole by kernels.graphs.hard_network, 1-4 intakes/excretions by default
    min_nodes: int = 1  # smallest network the construction supports


FAMILIES = {f.name: f for f in (
    Family("erdos", graphs.ERDOS, "directed G(n, p) with p = m / (n (n - 1)); the training default",
           min_nodes=2),  # p needs n - 1 > 0
    Family("erdos_gnm", graphs.ERDOS_GNM, "directed G(n, m): exactly m distinct edges"),
    Family("small_world", graphs.SMALL_WORLD,
           "Watts-Strogatz ring of degree ~2m/n, rewiring p ~ U[0,1], random edge directions"),
    Family("scale_free", graphs.SCALE_FREE,
           "directed scale-free growth (alpha .41, beta .54, gamma .05), loops dropped, parallels merged"),
    Family("trap", graphs.TRAP,
           "sink-free; by a coin, half carry a closed strongly connected set (2..n/3 nodes) that the "
           "intake reaches and nothing leaves, half the same with one exit, repaired to reach excretion",
           hard=True, min_nodes=4),
    Family("longpath", graphs.LONGPATH,
           "chains, ladders, cycles of cycles: >= 20 stages, forward edges advance one stage, so some "
           "node lies >= 20 hops from the intake; by a coin, a closed block of stages out there, or "
           "the same with one exit, repaired (keeping the rule) to reach excretion",
           hard=True, min_nodes=20),
    Family("bowtie", graphs.BOWTIE,
           "fan-in DAG from the intakes, strongly connected core, fan-out DAG to the excretions; by a "
           "coin, repaired to reach excretion or given a closed dead end (1 in 4: a sink)",
           hard=True, min_nodes=4),
    Family("layered", graphs.LAYERED,
           "4-12 layers, edges mostly one layer on, some skipping, some feeding back; classes as bowtie",
           hard=True, min_nodes=4),
    Family("modular", graphs.MODULAR,
           "2-8 dense modules, each around a cycle, joined by a chain of single links plus ~5% random "
           "links; classes as bowtie",
           hard=True, min_nodes=4),
)}
HARD_ENDS = 4  # hard families: 1..4 intake and excretion edges unless --intake-max/--excretion-max
SIZES = {"S": (32, 64), "M": (64, 128), "L": (128, 256)}  # inner nodes, both ends included
WEIGHTS = {"unweighted": kg.W_UNWEIGHTED, "integer": kg.W_INTEGER, "log-uniform": kg.W_LOG_UNIFORM}
BALANCES = {"none": kg.B_NONE, "redeem": kg.B_REDEEM, "drop": kg.B_DROP, "ratio": kg.B_RATIO}
METHODS = {"direct": kg.M_DIRECT, "ode": kg.M_ODE}


@dataclass(frozen=True)
class GenConfig:
    family: str = "erdos"  # one of FAMILIES
    size: str = "S"  # S, M, L, or "custom" with n_min/n_max
    n_min: int | None = None  # custom inner-node range (overrides size)
    n_max: int | None = None
    m_min: float = 2.0  # edges m = round(U[m_min, m_max] * n)
    m_max: float = 4.0
    intake: int = 1  # intake edges, to distinct random inner nodes
    excretion: int = 1  # excretion edges, from distinct random inner nodes
    intake_max: int | None = None  # draw intake..intake_max per network (None: intake; hard families 4)
    excretion_max: int | None = None  # likewise for excretion edges
    weights: str = "integer"  # unweighted (all 1) | integer (w_min..w_max) | log-uniform
    w_min: float = 1.0
    w_max: float = 99.0
    intake_scale: float = 1.0  # intake rates phi are drawn as weights, then multiplied by this
    kinetics: str = "linear"  # linear | michaelis-menten (rates are V, K ~ log-U[k_min, k_max])
    k_min: float = 0.1
    k_max: float = 10.0
    balance: str = "redeem"  # none | redeem (p_redeem) | drop (keep p_keep of negatives) | ratio
    p_redeem: float = 0.4  # the paper's redemption probability
    p_keep: float = 0.2  # drop mode keeps 1 in 5 networks without equilibrium
    ratio: float = 0.5  # ratio mode: exact share of networks with a unique equilibrium
    method: str = "direct"  # direct (solve / Newton) | ode (Rosenbrock to steady state)

    def __post_init__(self):
        lo, hi = self.node_range
        checks = [
            (self.family in FAMILIES, f"unknown family {self.family!r} (choose from {', '.join(FAMILIES)})"),
            (self.size in SIZES or self.size == "custom", f"unknown size {self.size!r} (S, M, L or custom)"),
            (self.size != "custom" or None not in (self.n_min, self.n_max),
             "size custom needs both n_min and n_max (--n-min, --n-max)"),
            (1 <= lo <= hi <= 65_000, f"bad node range {lo}..{hi}"),
            (0 < self.m_min <= self.m_max, f"bad edge factor range {self.m_min}..{self.m_max}"),
            (self.intake >= 1 and self.excretion >= 1, "need at least one intake and one excretion edge"),
            (self.intake_range[0] <= self.intake_range[1] and self.excretion_range[0] <= self.excretion_range[1],
             "intake/excretion maximum below the minimum"),
            (self.family not in FAMILIES or lo >= FAMILIES[self.family].min_nodes,
             f"family {self.family} needs networks of at least "
             f"{FAMILIES[self.family].min_nodes if self.family in FAMILIES else 0} inner nodes"),
            (self.weights in WEIGHTS, f"unknown weights {self.weights!r} ({', '.join(WEIGHTS)})"),
            (0 < self.w_min <= self.w_max, f"bad weight range {self.w_min}..{self.w_max}"),
            (self.intake_scale > 0, "intake scale must be positive"),
            (self.kinetics in KINETICS, f"unknown kinetics {self.kinetics!r}"),
            (0 < self.k_min <= self.k_max, f"bad K range {self.k_min}..{self.k_max}"),
            (self.balance in BALANCES, f"unknown balance {self.balance!r} ({', '.join(BALANCES)})"),
            (0 <= self.p_redeem <= 1 and 0 <= self.p_keep <= 1 and 0 <= self.ratio <= 1,
             "probabilities must lie in [0, 1]"),
            (self.method in METHODS, f"unknown method {self.method!r} ({', '.join(METHODS)})"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    @property
    def node_range(self) -> tuple[int, int]:
        lo, hi = SIZES.get(self.size, (1, 1))
        return (self.n_min if self.n_min is not None else lo, self.n_max if self.n_max is not None else hi)

    def _ends(self, lo: int, hi: int | None) -> tuple[int, int]:
        if hi is not None:
            return lo, hi
        return (lo, max(lo, HARD_ENDS)) if self.family in FAMILIES and FAMILIES[self.family].hard else (lo, lo)

    @property
    def intake_range(self) -> tuple[int, int]:
        """Intake edges per network, both ends included."""
        return self._ends(self.intake, self.intake_max)

    @property
    def excretion_range(self) -> tuple[int, int]:
        return self._ends(self.excretion, self.excretion_max)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GenConfig":
        d = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def vector(self) -> np.ndarray:
        """The float64 settings vector of kernels.generator."""
        c = np.zeros(kg.C_SIZE)
        lo, hi = self.node_range
        c[kg.C_FAMILY] = FAMILIES[self.family].code
        c[kg.C_N_LO], c[kg.C_N_HI] = lo, hi
        c[kg.C_M_LO], c[kg.C_M_HI] = self.m_min, self.m_max
        c[kg.C_N_INTAKE], c[kg.C_N_INTAKE_HI] = self.intake_range
        c[kg.C_N_EXCRETION], c[kg.C_N_EXCRETION_HI] = self.excretion_range
        c[kg.C_WEIGHTS], c[kg.C_W_LO], c[kg.C_W_HI] = WEIGHTS[self.weights], self.w_min, self.w_max
        c[kg.C_KINETICS], c[kg.C_K_LO], c[kg.C_K_HI] = Kinetics(self.kinetics).code, self.k_min, self.k_max
        c[kg.C_BALANCE], c[kg.C_P_REDEEM], c[kg.C_P_KEEP] = BALANCES[self.balance], self.p_redeem, self.p_keep
        c[kg.C_RATIO], c[kg.C_METHOD] = self.ratio, METHODS[self.method]
        c[kg.C_INTAKE_SCALE] = self.intake_scale
        return c
