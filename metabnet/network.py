"""One metabolic network: inner nodes 1..n, intake node 0, excretion node n+1 (DESIGN §1).

Every reaction is one edge ``src -> dst`` in a single edge list:

- ``src == 0``      intake edge, constant flux ``rate`` into ``dst``;
- ``dst == n + 1``  excretion edge, flux ``rate * x_src`` (or ``V x / (K + x)``);
- otherwise         inner edge, flux ``rate * x_src`` (or ``V x / (K + x)``).

For Michaelis-Menten kinetics ``rate`` holds V and ``km`` holds K (NaN on intake edges,
whose flux is constant).  Parallel edges add up; a self-loop carries no net flux.

Accepted numbers (`Network.validate`; every reader validates, so a file outside them gets a
one-line error, never a wrong label):

- every rate (k, V, intake phi, excretion e) and every Michaelis constant K is finite and
  lies in [RATE_MIN, RATE_MAX] = [1e-12, 1e12]: no subnormal or zero rate (a rate of 1e-320
  made x overflow and the label false), no overflow in x or in a flux;
- within one network, the rates of the non-intake reactions (k or V, e) span at most a
  factor RATE_SPREAD = 1e9, and so do the Michaelis constants.  Beyond it the LU solve loses
  the smallest rates beside the largest ones: a network with rates spanning 1e24 was
  labelled "no equilibrium" where it has one on ~1% of small random networks, and x drifts
  from the exact value.  Within these bounds the labels of random networks with rates
  spread that far and placed anywhere in the range (550 in the test, ~2,000 when the bounds
  were chosen) agree with the graph rule (linear) and with ODE
  integration (Michaelis-Menten), tests/test_robust.py::test_accepted_range_gives_right_labels.
  x itself is as accurate as the spread allows: about 1e-8 relative for rates spanning 1e6
  (measured against exact rational solves), less for wider spreads.

Michaelis-Menten kinetics add a limit on x, not on the inputs: near a node's capacity
x = K phi / (V - phi) (one reaction out) grows without bound, and double precision resolves
it to about 2e-16 x / K relative at worst.  The solvers certify an equilibrium while every node keeps 1e-12 of its
capacity unused (x <= 1e12 K; kernels.kinetics.SLACK_MIN) and certify "no equilibrium" at or
past capacity; in between they raise kernels.equilibrium.BeyondRange (one error line in
`solve`), never a label (tests/test_mm_large.py).

Rescaling units moves every rate (time) or every K and x (concentration) by one factor,
which keeps the spread: a model outside the range can usually be brought into it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Kinetics(StrEnum):
    """How a reaction's flux depends on its substrate; the value is the JSON / CLI spelling."""
    LINEAR = "linear"  # rate * x
    MM = "michaelis-menten"  # V x / (K + x)

    @property
    def code(self) -> int:
        """The kernels' code (metabnet.kernels.generator C_KINETICS): 0 linear, 1 Michaelis-Menten."""
        return KINETICS.index(self)


KINETICS = tuple(Kinetics)
RATE_MIN, RATE_MAX = 1e-12, 1e12  # accepted rates, intakes and Michaelis constants (module doc)
RATE_SPREAD = 1e9  # largest / smallest non-intake rate (and K) of one network


class NetworkError(ValueError):
    """A network that breaks the model's rules; the message says which rule."""


@dataclass
class Network:
    n: int
    src: np.ndarray  # (m,) int32, 0 = intake, n+1 = excretion
    dst: np.ndarray  # (m,) int32
    rate: np.ndarray  # (m,) float64: a_uv, phi_v or e_v (V for Michaelis-Menten)
    km: np.ndarray | None = None  # (m,) float64 Michaelis constants K, None for linear
    kinetics: Kinetics = Kinetics.LINEAR  # a valid spelling given as a str becomes the member
    name: str = ""
    meta: dict = field(default_factory=dict)  # free-form (source file, family, ...)

    def __post_init__(self):
        self.n = int(self.n)
        self.src = np.ascontiguousarray(self.src, dtype=np.int32)
        self.dst = np.ascontiguousarray(self.dst, dtype=np.int32)
        self.rate = np.ascontiguousarray(self.rate, dtype=np.float64)
        if self.km is not None:
            self.km = np.ascontiguousarray(self.km, dtype=np.float64)
        if self.kinetics in KINETICS:  # anything else is left for `validate` to name
            self.kinetics = Kinetics(self.kinetics)

    # ---- views -------------------------------------------------------------------
    @property
    def m(self) -> int:
        return int(self.src.shape[0])

    @property
    def is_mm(self) -> bool:
        """Michaelis-Menten kinetics (else linear)."""
        return self.kinetics == Kinetics.MM

    @property
    def is_intake(self) -> np.ndarray:
        return self.src == 0

    @property
    def is_excretion(self) -> np.ndarray:
        return self.dst == self.n + 1

    @property
    def is_inner(self) -> np.ndarray:
        return ~(self.is_intake | self.is_excretion)

    def km_or_nan(self) -> np.ndarray:
        """K for every edge, NaN where the flux is linear or constant (kernel input)."""
        if self.km is None:
            return np.full(self.m, np.nan)
        return self.km

    # ---- checks ------------------------------------------------------------------
    def validate(self) -> "Network":
        """Raise NetworkError naming the first broken rule; return self when valid."""
        n, m = self.n, self.m
        if self.kinetics not in KINETICS:
            raise NetworkError(f"unknown kinetics {self.kinetics!r} (expected one of {', '.join(KINETICS)})")
        if n < 1:
            raise NetworkError(f"network has no inner node (n={n})")
        if not (self.dst.shape == self.rate.shape == (m,)):
            raise NetworkError("edge arrays have different lengths")
        if m == 0:
            raise NetworkError("network has no reactions")
        for i in range(m):
            u, v = int(self.src[i]), int(self.dst[i])
            if not (0 <= u <= n) or not (1 <= v <= n + 1):
                raise NetworkError(f"reaction {i}: unknown node in edge {u}->{v} (inner nodes are 1..{n})")
            if u == 0 and v == n + 1:
                raise NetworkError(f"reaction {i}: edge goes straight from intake to excretion")
        if not np.all(np.isfinite(self.rate)):
            i = int(np.flatnonzero(~np.isfinite(self.rate))[0])
            raise NetworkError(f"reaction {i}: rate is not finite ({self.rate[i]})")
        if np.any(self.rate <= 0):
            i = int(np.flatnonzero(self.rate <= 0)[0])
            raise NetworkError(f"reaction {i}: rate must be positive, got {self.rate[i]}")
        if not np.any(self.is_intake):
            raise NetworkError("network has no intake reaction")
        _in_range(self.rate, np.arange(m), "rate")
        rows = np.flatnonzero(~self.is_intake)
        _spread(self.rate[rows], rows, "rates of the non-intake reactions")
        if self.is_mm:
            if self.km is None or self.km.shape != (m,):
                raise NetworkError("Michaelis-Menten network needs a K for every reaction")
            k = self.km[rows]
            if not np.all(np.isfinite(k)) or np.any(k <= 0):
                bad = int(rows[np.flatnonzero(~(np.isfinite(k) & (k > 0)))[0]])
                raise NetworkError(f"reaction {bad}: Michaelis constant K must be positive and finite, got {self.km[bad]}")
            _in_range(k, rows, "Michaelis constant K")
            _spread(k, rows, "Michaelis constants")
        elif self.km is not None:
            raise NetworkError("linear network must not carry Michaelis constants")
        return self

    # ---- DESIGN §5 JSON object -------------------------------------------------------
    def to_dict(self) -> dict:
        mm = self.is_mm
        edges, intake, excretion = [], [], []
        for i in range(self.m):
            u, v, r = int(self.src[i]), int(self.dst[i]), _num(self.rate[i])
            tail = [r, _num(self.km[i])] if mm else [r]
            if u == 0:
                intake.append([v, r])
            elif v == self.n + 1:
                excretion.append([u, *tail])
            else:
                edges.append([u, v, *tail])
        return {"name": self.name, "kinetics": self.kinetics, "n": self.n,
                "edges": edges, "intake": intake, "excretion": excretion}

    @classmethod
    def from_dict(cls, d: dict) -> "Network":
        """Build from the DESIGN §5 object; raise NetworkError on any malformed field."""
        if not isinstance(d, dict):
            raise NetworkError("expected a JSON object for a network")
        kinetics = d.get("kinetics", Kinetics.LINEAR)
        if kinetics not in KINETICS:
            raise NetworkError(f"unknown kinetics {kinetics!r}")
        mm = kinetics == Kinetics.MM
        try:
            n = d["n"]
        except KeyError:
            raise NetworkError("missing field 'n'") from None
        if not isinstance(n, int) or isinstance(n, bool):
            raise NetworkError(f"field 'n' must be an integer, got {n!r}")
        src, dst, rate, km = [], [], [], []

        def take(key, width_lin, width_mm, make):
            rows = d.get(key, [])
            if not isinstance(rows, list):
                raise NetworkError(f"field {key!r} must be a list")
            for j, row in enumerate(rows):
                want = width_mm if mm else width_lin
                if not isinstance(row, list) or len(row) != want:
                    raise NetworkError(f"{key}[{j}] must be a list of {want} numbers, got {row!r}")
                if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row):
                    raise NetworkError(f"{key}[{j}] holds a non-number: {row!r}")
                u, v, r, k = make(row)
                if u != int(u) or v != int(v):
                    raise NetworkError(f"{key}[{j}]: node ids must be integers, got {row!r}")
                src.append(int(u)); dst.append(int(v)); rate.append(float(r)); km.append(float(k))

        nan = float("nan")
        take("intake", 2, 2, lambda r: (0, r[0], r[1], nan))
        take("edges", 3, 4, lambda r: (r[0], r[1], r[2], r[3] if mm else nan))
        take("excretion", 2, 3, lambda r: (r[0], n + 1, r[1], r[2] if mm else nan))
        name = d.get("name", "")
        if not isinstance(name, str):
            raise NetworkError("field 'name' must be a string")
        return cls(n, np.array(src, dtype=np.int32), np.array(dst, dtype=np.int32),
                   np.array(rate, dtype=np.float64), np.array(km) if mm else None,
                   kinetics, name).validate()


def _in_range(values: np.ndarray, rows: np.ndarray, what: str) -> None:
    """NetworkError naming the first value outside [RATE_MIN, RATE_MAX] (module doc)."""
    out = np.flatnonzero((values < RATE_MIN) | (values > RATE_MAX))
    if out.size:
        i = int(out[0])
        raise NetworkError(f"reaction {int(rows[i])}: {what} {values[i]:g} is outside the accepted range "
                           f"[{RATE_MIN:g}, {RATE_MAX:g}] (rescale the units)")


def _spread(values: np.ndarray, rows: np.ndarray, what: str) -> None:
    """NetworkError when `values` span more than RATE_SPREAD (module doc)."""
    if values.size < 2:
        return
    lo, hi = int(np.argmin(values)), int(np.argmax(values))
    if values[hi] > RATE_SPREAD * values[lo]:
        raise NetworkError(f"{what} span a factor {values[hi] / values[lo]:.3g} (reaction {int(rows[lo])}: "
                           f"{values[lo]:g}, reaction {int(rows[hi])}: {values[hi]:g}); at most {RATE_SPREAD:g} "
                           "is accepted, beyond it the solver's answers lose their accuracy")


def _num(v) -> float | int:
    """A rate as JSON: integers stay integers (the paper's 1-99 weights)."""
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f
