"""One object per model architecture, found by name in `ARCHS`: its model class (by name, in
metabnet.learn.model), its defaults and help text, what the model reads (its padded input
arrays), how its output becomes predictions, which networks it can read and how large they
may be.  Every rule that differs between architectures lives here, so the rest of the code
never branches on the name; a new architecture is one more entry of `ARCHS` (and its class).

- ``flux`` and ``graph`` read node-padded arrays (`node_arrays`) and answer in one pass;
- ``transformer`` reads node arrays too: a fixed rate algebra, then a learned correction;
- ``seq2seq`` reads the paper's tokens (metabnet.kernels.tokenize) and decodes its answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from metabnet.batch import LOG_X_FLOOR, Batch, ranges
from metabnet.network import Kinetics


class Refusal(Enum):
    """Why a model does not take a network (the exact solver answers it instead): the group
    the summary of `metabnet score` counts it under, and the message its record gives."""
    NO_REACTIONS = ("no reactions", "no reactions")
    NO_INTAKE = ("no intake", "no intake reaction (every concentration is 0: the exact solver says so exactly)")
    KINETICS = ("other kinetics", "{kinetics} kinetics (the model answers {answers} only)")
    TRAINED_SIZE = ("too many nodes", "{n} inner nodes (the model was trained on at most {n_max})")
    ITERATIONS = ("too many nodes",
                  "{n} inner nodes (the flux model iterates at most {iters_max} times: {limit} nodes)")
    DENSE = ("too many nodes", "{n} inner nodes (the transformer model holds dense T x T matrices: at most {limit})")
    TOKENS = ("too long", "{tokens} tokens (the model reads and writes at most {max_len})")
    VOCABULARY = ("outside the vocabulary",
                  "outside the seq2seq vocabulary (node ids and integer rates up to 999, linear kinetics)")
    UNDECODED = ("the model's output could not be decoded", "the model's output could not be decoded")

    def __init__(self, group: str, template: str):
        self.group, self.template = group, template

    def because(self, **fields) -> "Reason":
        """This refusal with its message filled in from `fields`."""
        return Reason(self, self.template.format(**fields))


@dataclass(frozen=True)
class Reason:
    refusal: Refusal
    text: str  # the record's solver_reason


def _round_up(k, m):
    return max(m, -(-k // m) * m)


def node_arrays(batch: Batch, floor: float | None = LOG_X_FLOOR) -> dict:
    """Padded arrays for the single-pass models: nodes padded to T = n_max + 2 (multiple of
    8), edges to E (multiple of 32).  Targets: exists_unique; log10 x at node columns of
    networks with a unique equilibrium, under `xmask`.  With a `floor`, x = 0 is regressed
    to it (graph model); without, `xmask` holds only x > 0 and `zmask` every inner node of
    those networks, so that "reached" (x > 0) is learned apart (flux model)."""
    B = len(batch)
    n = batch["n"].astype(np.int64)
    m = np.diff(batch["edge_ptr"])
    T, E = _round_up(int(n.max()) + 2, 8), _round_up(int(m.max()), 32)
    e, row, pos = ranges(batch["edge_ptr"], np.arange(B))
    src, dst = np.zeros((B, E), np.int64), np.zeros((B, E), np.int64)
    rate, km = np.ones((B, E), np.float32), np.full((B, E), np.nan, np.float32)
    emask = np.zeros((B, E), bool)
    src[row, pos], dst[row, pos] = batch["edge_src"][e], batch["edge_dst"][e]
    rate[row, pos], km[row, pos], emask[row, pos] = batch["edge_rate"][e], batch["edge_km"][e], True
    exists = batch["exists_unique"].astype(bool)
    log_x, xmask, zmask = np.zeros((B, T), np.float32), np.zeros((B, T), bool), np.zeros((B, T), bool)
    have = np.flatnonzero(exists & (np.diff(batch["node_ptr"]) == n))
    v, vrow, vpos = ranges(batch["node_ptr"], have)
    x = batch["x"][v].astype(np.float64)
    with np.errstate(divide="ignore"):
        lx = np.log10(x)
    r, c = have[vrow], vpos + 1  # node v at column v
    if floor is not None:
        log_x[r, c], xmask[r, c] = np.maximum(lx, floor), True
    else:
        pos_x = x > 0
        log_x[r[pos_x], c[pos_x]], xmask[r[pos_x], c[pos_x]], zmask[r, c] = lx[pos_x], True, True
    return {"n": n, "src": src, "dst": dst, "rate": rate, "km": km, "emask": emask,
            "exists": exists, "log_x": log_x, "xmask": xmask, "zmask": zmask, "T": T}


class Arch:
    """The single-pass default: node arrays in, existence logit and log10 x per node out."""
    name = ""
    model = ""  # its nn.Module class in metabnet.learn.model
    help = ""  # one clause for `metabnet train --arch`
    default_layers = 0  # encoder layers when the user gives none (0: the model has no layers)
    default_width = 256  # d_model when the user gives none
    sized_by_training = True  # refuses networks larger than any it was trained on
    decodes = False  # writes its answer token by token (slow: benchmarks and validation take fewer)
    no_cpu_compile = ""  # why torch.compile is not tried on the CPU ("" when it is)
    unreadable: Refusal | None = None  # why `readable` refuses a network
    floor: float | None = LOG_X_FLOOR

    def arrays(self, batch: Batch, task: str, weighted: bool = True) -> dict:
        return node_arrays(batch, self.floor)

    def positions(self, arrays: dict) -> int:
        """Positions one example of these arrays occupies (for FLOP counts)."""
        return int(arrays["T"])

    def lengths(self, batch: Batch, task: str, weighted: bool = True) -> np.ndarray:
        """Positions each network needs, whatever its label (batches packed by length,
        metabnet.learn.loader.GenStream): here its nodes, intake and excretion included."""
        return np.asarray(batch["n"], np.int64) + 2

    def predict(self, model, t: dict, part: Batch, beam: int = 1):
        """(p_exists (B,), cls (B,) int8 with -1 for an unreadable answer, x: list of arrays or None)."""
        import torch

        out = model(t)
        prob = torch.sigmoid(out["logit"].float()).cpu().numpy()
        xs = [None] * len(prob)
        if model.config.task == "quanti":
            x = self.concentrations(out)
            for r in range(len(prob)):
                xs[r] = x[r, 1:part["n"][r] + 1].astype(np.float64) if prob[r] >= 0.5 else None
        return prob, (prob >= 0.5).astype(np.int8), xs

    def concentrations(self, out) -> np.ndarray:
        import torch

        return torch.pow(10.0, out["log_x"].float()).cpu().numpy()

    def readable(self, batch: Batch, weighted: bool) -> np.ndarray:
        """Networks whose inputs the model can represent (all, but for seq2seq)."""
        return np.ones(len(batch), bool)

    def size_limit(self, config) -> int | None:
        """Most inner nodes the model itself can take, whatever it was trained on (None: any)."""
        return None

    def too_large(self, net, config, weighted: bool) -> Reason | None:
        """Why `net` is too large for the model itself, whatever it was trained on (or None)."""
        return None

    def fits(self, batch: Batch, config, weighted: bool) -> np.ndarray:
        """Which networks of `batch` the model itself can take (`too_large`, for a whole batch)."""
        limit = self.size_limit(config)
        return np.ones(len(batch), bool) if limit is None else np.asarray(batch["n"]) <= limit

    def decode_limit(self, task: str) -> bool:
        """Whether validation should be capped at TrainConfig.val_decode networks (slow decoding)."""
        return self.decodes and task == "quanti"

    def describe(self, config: dict) -> str:
        """What `metabnet info --model` adds about a model of this architecture (its config dict)."""
        return ""


class GraphArch(Arch):
    name = "graph"
    model = "GraphModel"
    help = "one pass over node tokens with structural attention"
    default_layers = 6


class FluxArch(Arch):
    name = "flux"
    model = "FluxModel"
    help = ("a weight-tied step iterated n + --iters-extra times that diffuses flux along the reactions "
            "(any size)")
    floor = None
    default_width = 64
    sized_by_training = False  # its iterations grow with the network: any size up to too_large
    no_cpu_compile = "torch.compile unrolls the tied step's n + k iterations (minutes of compiling per network size)"

    def concentrations(self, out) -> np.ndarray:
        import torch

        x = torch.pow(10.0, out["log_x"].float().clamp(max=38))
        return torch.where(out["reached"] > 0, x, torch.zeros_like(x)).cpu().numpy()

    def size_limit(self, config):
        return config.iters_max - config.iters_extra

    def too_large(self, net, config, weighted):
        limit = self.size_limit(config)
        if net.n > limit:
            return Refusal.ITERATIONS.because(n=net.n, iters_max=config.iters_max, limit=limit)
        return None

    def describe(self, config):
        return f", iterations n + {config['iters_extra']}"


class Seq2SeqArch(Arch):
    name = "seq2seq"
    model = "Seq2Seq"
    help = "the paper's encoder-decoder over its token encoding"
    default_layers = 2
    decodes = True
    unreadable = Refusal.VOCABULARY

    def arrays(self, batch, task, weighted=True):
        """Token arrays (the paper's encoding), padded to a multiple of 16 so a compiled
        model sees few shapes."""
        from metabnet.kernels.tokenize import encode_inputs, encode_outputs

        src, _ = encode_inputs(batch["n"], batch["edge_ptr"], batch["edge_src"], batch["edge_dst"],
                               batch["edge_rate"], weighted)
        tgt, _ = encode_outputs(batch["exists_unique"], batch["n"], batch["node_ptr"], batch["x"],
                                task == "quanti")
        pad = lambda a: np.pad(a, ((0, 0), (0, _round_up(a.shape[1], 16) - a.shape[1])),  # noqa: E731
                               constant_values=2)  # <pad>
        return {"src": pad(src).astype(np.int64), "tgt": pad(tgt).astype(np.int64),
                "exists": batch["exists_unique"].astype(bool)}

    def positions(self, arrays):
        return int(arrays["src"].shape[1] + arrays["tgt"].shape[1])

    def lengths(self, batch, task, weighted=True):
        """Input tokens plus the longest answer its size allows: the same for both classes, so
        that batches packed by length keep networks with and without an equilibrium."""
        m = np.diff(np.asarray(batch["edge_ptr"], np.int64))
        return 3 + (3 if weighted else 2) * m + self.answer_length(np.asarray(batch["n"], np.int64), task)

    @staticmethod
    def answer_length(n, task: str):
        """Tokens of the longest answer for n inner nodes (an int or an array): <s> N1
        (SPECIAL_3 + 12-token float) * n </s>."""
        return 12 * n + 3 if task == "quanti" else 3 + 0 * n

    def predict(self, model, t, part, beam=1):
        import torch

        from metabnet.kernels.tokenize import decode_outputs
        from metabnet.tokens import TOKEN_ID

        src = t["src"]
        memory, mask = model.encode(src)
        first = model.decode(torch.full((len(src), 1), TOKEN_ID["<s>"], device=src.device), memory, mask)
        prob = first[:, 0, [TOKEN_ID["N0"], TOKEN_ID["N1"]]].float().softmax(-1)[:, 1].cpu().numpy()
        max_len = self.answer_length(int(part["n"].max()), model.config.task)
        toks = model.generate(src, max_len, beam, encoded=(memory, mask)).cpu().numpy()
        cls, values, count = decode_outputs(toks)
        xs = [values[r, :count[r]].copy() if cls[r] == 1 and count[r] else None for r in range(len(cls))]
        return prob, cls, xs

    def readable(self, batch, weighted):
        """Linear kinetics with node ids and (weighted) integer rates within N0..N999."""
        ptr = batch["edge_ptr"]

        def none_in_edges(bad):  # no True among each network's edges (any may have none)
            c = np.concatenate([[0], np.cumsum(bad)])
            return c[ptr[1:]] == c[ptr[:-1]]

        if "kinetics" in batch:
            ok = batch["kinetics"] == Kinetics.LINEAR
        else:  # a generated batch: Michaelis-Menten edges carry a finite K (Batch.network)
            ok = none_in_edges(np.isfinite(batch["edge_km"].astype(np.float64)))
        ok &= batch["n"] + 1 <= 999
        if weighted:
            r = batch["edge_rate"].astype(np.float64)
            ok &= none_in_edges((r != np.round(r)) | (r > 999))
        return ok

    @staticmethod
    def input_width(m, weighted: bool):
        """Positions the input of m reactions takes in `arrays`: its tokens padded to a multiple of 16."""
        return -(-(3 + (3 if weighted else 2) * m) // 16) * 16

    def fits(self, batch, config, weighted):
        m, n = np.diff(np.asarray(batch["edge_ptr"], np.int64)), np.asarray(batch["n"], np.int64)
        return np.maximum(self.input_width(m, weighted), self.answer_length(n, config.task)) <= config.max_len

    def too_large(self, net, config, weighted):
        longest = max(self.input_width(net.m, weighted), self.answer_length(net.n, config.task))
        if longest > config.max_len:
            return Refusal.TOKENS.because(tokens=longest, max_len=config.max_len)
        return None



class TransformerArch(FluxArch):
    """The rate-attention Transformer (metabnet.learn.transformer): node arrays as flux, dense
    T x T matrices per network."""
    name = "transformer"
    model = "TransformerModel"
    help = ("a fixed rate-attention algebra (throughflow by doubling, Michaelis-Menten Newton "
            "rounds) corrected by one weight-tied pre-norm Transformer block")
    default_width = 32
    default_layers = 2  # iterations of its one weight-tied block
    limit = 2048  # inner nodes: its doubling holds T x T matrices per network

    def size_limit(self, config):
        return self.limit

    def too_large(self, net, config, weighted):
        if net.n > self.limit:
            return Refusal.DENSE.because(n=net.n, limit=self.limit)
        return None

    def describe(self, config):
        return ("\nwhat it is: a fixed, solver-like algebra with no parameters (rate shares, throughflow "
                "f = phi + P^T f by doubling, reach to the excretion, Michaelis-Menten Newton rounds "
                "on f with a saturation readout) that gives nearly all of its accuracy untrained, plus a small learned "
                f"correction: one weight-tied pre-norm Transformer block iterated {config['n_enc']} times, "
                "attention biased by the log rate shares; at most "
                f"{self.limit} inner nodes (dense T x T matrices)")


ARCHS = {a.name: a for a in (FluxArch(), GraphArch(), Seq2SeqArch(), TransformerArch())}
DEFAULT_ARCH = "flux"  # what `metabnet train` trains when --arch is not given
