"""The three models: the paper's encoder-decoder, a graph Transformer and the flux network.

- ``flux`` (the default): a weight-tied message-passing network that computes global
  quantities by iterating one step ``n + iters_extra`` times (see `FluxModel`).
- ``seq2seq``: the paper's encoder-decoder over the token encoding of DESIGN §4 (metabnet.tokens):
  input tokens -> encoder; the decoder writes the answer token by token (greedy or beam search).
- ``graph``: an encoder-only model that reads the network once.  Its tokens are the nodes
  0..n+1 (intake, inner nodes, excretion); each starts from a type embedding plus the summed
  embeddings of its outgoing and incoming reactions (continuous log-rate features, so any
  rate is representable, unlike the paper's integer tokens N0..N999).  Structure enters as an
  attention bias, per head: a node attends to its reaction partners with a bias computed from
  the rate of the reaction (and, with ``struct="spd"``, to every node by its shortest-path
  distance, clipped at ``spd_max`` hops).  One forward pass gives the existence logit (from
  pooled nodes) and, for the quantitative task, log10 of every inner node's concentration.

Node ids carry no meaning in the graph model: it is equivariant to relabelling the nodes.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from metabnet.learn.archs import ARCHS, DEFAULT_ARCH
from metabnet.learn.transformer import RateTransformer
from metabnet.tokens import TOKEN_ID, VOCAB

EDGE_FEATURES = 5  # per reaction: log rate (or log V), log K, is Michaelis-Menten, is intake, is excretion
NODE_FEATURES = 9  # flux model, per node: log out/in rate sums, out/in degrees, 4 type flags, mean log K


@dataclass
class ModelConfig:
    arch: str = DEFAULT_ARCH  # a name of metabnet.learn.archs.ARCHS: flux | graph | seq2seq
    task: str = "quali"  # quali: existence only | quanti: existence and concentrations
    d_model: int = 256  # width (the paper: 256; the flux model: 64 is plenty)
    n_heads: int = 8  # attention heads (the paper: 8)
    n_enc: int = 6  # encoder layers (the paper's seq2seq: 2; the graph model's only stack)
    n_dec: int = 6  # decoder layers (seq2seq only; the paper: 6)
    mlp_ratio: int = 4  # hidden width of the MLPs = mlp_ratio * d_model
    dropout: float = 0.0  # on attention outputs and MLPs
    vocab: int = len(VOCAB)  # seq2seq token vocabulary (metabnet.tokens)
    max_len: int = 4096  # seq2seq: longest input or output sequence (learned positions)
    struct: str = "adj"  # graph: attention bias from adjacency (adj), + clipped distances (spd), none
    spd_max: int = 8  # graph, struct=spd: distances beyond this share one bias
    iters_extra: int = 8  # flux: iterations = inner nodes of the largest network in the batch + this
    iters_max: int = 2048  # flux: at most this many iterations (the documented size limit)

    def __post_init__(self):
        if self.arch not in ARCHS or self.task not in ("quali", "quanti"):
            raise ValueError(f"unknown arch/task {self.arch}/{self.task}")
        if self.struct not in ("adj", "spd", "none") or self.d_model % self.n_heads:
            raise ValueError("struct must be adj|spd|none and d_model divisible by n_heads")

    def to_dict(self) -> dict:
        return asdict(self)


# ---- shared blocks ---------------------------------------------------------------------
class Attention(nn.Module):
    """Multi-head attention of x over itself (or over `memory`), with an additive bias/mask."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.h = c.n_heads
        self.q = nn.Linear(c.d_model, c.d_model)
        self.kv = nn.Linear(c.d_model, 2 * c.d_model)
        self.proj = nn.Linear(c.d_model, c.d_model)
        self.dropout = c.dropout

    def forward(self, x, memory=None, mask=None, causal=False):
        B, T, C = x.shape
        mem = x if memory is None else memory
        S = mem.shape[1]
        q = self.q(x).view(B, T, self.h, C // self.h).transpose(1, 2)  # (B, h, T, C/h)
        k, v = self.kv(mem).view(B, S, 2, self.h, C // self.h).permute(2, 0, 3, 1, 4)  # (B, h, S, C/h) each
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class MLP(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.fc = nn.Linear(c.d_model, c.mlp_ratio * c.d_model)
        self.proj = nn.Linear(c.mlp_ratio * c.d_model, c.d_model)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x):
        return self.drop(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention to an encoder memory, MLP."""

    def __init__(self, c: ModelConfig, cross: bool = False):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(c.d_model), Attention(c)
        self.ln_x, self.cross = (nn.LayerNorm(c.d_model), Attention(c)) if cross else (None, None)
        self.ln2, self.mlp = nn.LayerNorm(c.d_model), MLP(c)

    def forward(self, x, mask=None, causal=False, memory=None, memory_mask=None):
        x = x + self.attn(self.ln1(x), mask=mask, causal=causal)
        if self.cross is not None:
            x = x + self.cross(self.ln_x(x), memory=memory, mask=memory_mask)
        return x + self.mlp(self.ln2(x))


def _key_mask(valid):
    """(B, S) bool of real keys -> (B, 1, 1, S) additive mask: 0 where valid, -inf elsewhere."""
    return torch.zeros(valid.shape, dtype=torch.float32, device=valid.device).masked_fill(
        ~valid, float("-inf"))[:, None, None, :]


# ---- the paper's encoder-decoder -------------------------------------------------------
class Seq2Seq(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        self.tok = nn.Embedding(c.vocab, c.d_model)
        self.pos = nn.Embedding(c.max_len, c.d_model)
        self.encoder = nn.ModuleList(Block(c) for _ in range(c.n_enc))
        self.decoder = nn.ModuleList(Block(c, cross=True) for _ in range(c.n_dec))
        self.ln_enc, self.ln_dec = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.vocab, bias=False)
        self.head.weight = self.tok.weight  # tied input/output embeddings

    def flops_per_example(self, tokens: int) -> float:
        return transformer_flops(self, self.config.n_enc + self.config.n_dec, tokens)

    def embed(self, tokens):
        T = tokens.shape[1]
        return self.tok(tokens) + self.pos(torch.arange(T, device=tokens.device))  # (B, T, C)

    def encode(self, src):
        mask = _key_mask(src != TOKEN_ID["<pad>"])
        h = self.embed(src)
        for block in self.encoder:
            h = block(h, mask=mask)
        return self.ln_enc(h), mask

    def decode(self, tgt, memory, memory_mask):
        h = self.embed(tgt)
        for block in self.decoder:
            h = block(h, causal=True, memory=memory, memory_mask=memory_mask)
        return self.head(self.ln_dec(h))  # (B, T, vocab)

    def forward(self, batch):
        """Teacher-forced logits and the token cross-entropy (pads ignored)."""
        memory, mask = self.encode(batch["src"])
        tgt = batch["tgt"]
        logits = self.decode(tgt[:, :-1], memory, mask)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), tgt[:, 1:].flatten(),
                               ignore_index=TOKEN_ID["<pad>"])
        return {"logits": logits, "loss": loss}

    @torch.no_grad()
    def generate(self, src, max_len: int, beam: int = 1, encoded=None):
        """Decoded output tokens (B, <= max_len) starting with `<s>`; greedy when beam == 1,
        else beam search keeping `beam` hypotheses per input (the best by mean log-prob).
        `encoded`: the (memory, mask) of `self.encode(src)` when the caller already has it."""
        bos, eos, pad = TOKEN_ID["<s>"], TOKEN_ID["</s>"], TOKEN_ID["<pad>"]
        B = src.shape[0]
        memory, mask = encoded if encoded is not None else self.encode(src)
        memory, mask = memory.repeat_interleave(beam, 0), mask.repeat_interleave(beam, 0)
        out = torch.full((B * beam, 1), bos, dtype=torch.long, device=src.device)
        score = torch.zeros(B, beam, device=src.device)
        score[:, 1:] = float("-inf")  # all beams start identical: keep one alive at first
        done = torch.zeros(B * beam, dtype=torch.bool, device=src.device)
        for _ in range(max_len - 1):
            logp = self.decode(out, memory, mask)[:, -1].float().log_softmax(-1)  # (B*beam, vocab)
            logp[done] = float("-inf")
            logp[done, pad] = 0.0  # finished hypotheses only extend with pads, at no cost
            cand = (score.view(-1, 1) + logp).view(B, -1)  # (B, beam*vocab)
            score, idx = cand.topk(beam, dim=-1)
            parent = (idx // logp.shape[-1] + torch.arange(B, device=src.device)[:, None] * beam).view(-1)
            nxt = (idx % logp.shape[-1]).view(-1, 1)
            out, done = torch.cat([out[parent], nxt], 1), done[parent] | (nxt[:, 0] == eos)
            if done.all():
                break
        length = (out != pad).sum(1).clamp(min=1).view(B, beam).float()
        best = (score / length).argmax(-1) + torch.arange(B, device=src.device) * beam
        return out[best]


# ---- the single-pass graph model -------------------------------------------------------
class GraphModel(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        C, H = c.d_model, c.n_heads
        self.node_type = nn.Embedding(4, C)  # intake, inner, excretion, padding
        self.edge_embed = nn.Sequential(nn.Linear(EDGE_FEATURES, C), nn.GELU(), nn.Linear(C, 2 * C))
        self.edge_bias = nn.Sequential(nn.Linear(EDGE_FEATURES, C), nn.GELU(), nn.Linear(C, 2 * H))
        self.self_bias = nn.Parameter(torch.zeros(H))
        self.spd_bias = nn.Embedding(c.spd_max + 2, H) if c.struct == "spd" else None
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_enc))
        self.ln = nn.LayerNorm(C)
        self.exists = nn.Sequential(nn.Linear(2 * C, C), nn.GELU(), nn.Linear(C, 1))
        self.log_x = nn.Linear(C, 1) if c.task == "quanti" else None  # log10 x per node

    def flops_per_example(self, tokens: int) -> float:
        return transformer_flops(self, self.config.n_enc, tokens)

    @staticmethod
    def edge_features(batch):
        """(B, E, 5): log rate, log K (0 for linear reactions and intake), MM, intake, excretion flags."""
        km = batch["km"]
        mm = torch.isfinite(km) & (km > 0)
        return torch.stack([batch["rate"].clamp(min=1e-30).log(), torch.where(mm, km, torch.ones_like(km)).log(),
                            mm.float(), (batch["src"] == 0).float(),
                            (batch["dst"] == batch["n"][:, None] + 1).float()], -1)

    def _distances(self, adj, valid):
        """(B, T, T) hops from i to j along reactions, clipped at spd_max (+1 = farther/never)."""
        d_max = self.config.spd_max
        dist = torch.full(adj.shape, d_max + 1, device=adj.device, dtype=torch.long)
        reach = torch.eye(adj.shape[1], device=adj.device, dtype=torch.bool).expand_as(adj) & valid[:, :, None]
        dist[reach] = 0
        step = adj.float()
        for d in range(1, d_max + 1):
            reach_new = (reach.float() @ step > 0) & ~reach
            dist[reach_new] = d
            reach = reach | reach_new
        return dist

    def forward(self, batch):
        """batch: n (B,), src/dst (B, E) node ids in 0..n+1, rate/km (B, E), emask (B, E) real
        edges, and optionally exists (B,), log_x (B, T) targets with xmask (B, T)."""
        n, src, dst, emask = batch["n"], batch["src"], batch["dst"], batch["emask"]
        B, E = src.shape
        T = batch["T"] if "T" in batch else int(n.max()) + 2
        C, H = self.config.d_model, self.config.n_heads
        idx = torch.arange(T, device=n.device)[None, :]  # node ids (1, T)
        valid = idx <= n[:, None] + 1  # (B, T)
        ntype = torch.where(idx == 0, 0, torch.where(idx <= n[:, None], 1, torch.where(valid, 2, 3)))

        f = self.edge_features(batch)  # (B, E, EDGE_FEATURES)
        f_out, f_in = (self.edge_embed(f) * emask[..., None]).chunk(2, -1)  # (B, E, C) each
        h = self.node_type(ntype)  # (B, T, C)
        h = h.scatter_add(1, src[..., None].expand(B, E, C), f_out)
        h = h.scatter_add(1, dst[..., None].expand(B, E, C), f_in)

        if self.config.struct == "none":
            bias = torch.zeros(B, T * T, H, device=n.device)
        else:  # receiver attends sender with b_in, sender attends receiver with b_out
            b_in, b_out = (self.edge_bias(f) * emask[..., None]).chunk(2, -1)  # (B, E, H) each
            bias = torch.zeros(B, T * T, H, device=n.device, dtype=b_in.dtype)
            bias = bias.index_put((torch.arange(B, device=n.device)[:, None], dst * T + src), b_in, accumulate=True)
            bias = bias.index_put((torch.arange(B, device=n.device)[:, None], src * T + dst), b_out, accumulate=True)
        bias = bias.view(B, T, T, H).permute(0, 3, 1, 2)  # (B, H, T, T): row attends column
        bias = bias + torch.diag_embed(self.self_bias[None, :, None].expand(B, H, T))
        if self.spd_bias is not None:
            adj = torch.zeros(B, T * T, device=n.device, dtype=torch.bool)
            adj[torch.arange(B, device=n.device)[:, None].expand(B, E)[emask], (src * T + dst)[emask]] = True
            dist = self._distances(adj.view(B, T, T), valid)  # (B, T, T)
            bias = bias + self.spd_bias(dist).permute(0, 3, 1, 2) + self.spd_bias(dist.transpose(1, 2)).permute(0, 3, 1, 2)
        mask = bias.masked_fill(~valid[:, None, None, :], float("-inf"))

        for block in self.blocks:
            h = block(h, mask=mask)
        h = self.ln(h)  # (B, T, C)
        w = valid[..., None].float()
        pooled = torch.cat([(h * w).sum(1) / w.sum(1), h.masked_fill(~valid[..., None], -1e4).amax(1)], -1)
        out = {"logit": self.exists(pooled)[:, 0]}  # (B,)
        if self.log_x is not None:
            out["log_x"] = self.log_x(h)[..., 0]  # (B, T)
        if "exists" in batch:
            out["loss"] = F.binary_cross_entropy_with_logits(out["logit"].float(), batch["exists"].float())
            if self.config.task == "quanti":
                xm = batch["xmask"]
                err = (out["log_x"].float() - batch["log_x"]).square() * xm
                out["loss"] = out["loss"] + err.sum() / xm.sum().clamp(min=1)
        return out


# ---- the flux network ----------------------------------------------------------------
class FluxStep(nn.Module):
    """One iteration: diffuse, aggregate, correct.  Half the channels (the "mass" channels)
    take a lazy step of flux along the reactions, h_v <- (h_v + sum_u P_uv h_u) / 2 with
    P_uv = rate_uv / (total outflow rate of u), including a renewal reaction excretion ->
    intake; the other half (the "potential" channels) average over successors,
    h_u <- (h_u + sum_w P_uw h_w) / 2, the excretion keeping its value.  A learned max over
    successors carries "can reach" signals at one hop per iteration.  An MLP (zero-initialised output) then corrects every
    channel from the node's own state - so an untrained model already diffuses flux, and
    training learns what to do with it."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        C = c.d_model
        self.succ = nn.Linear(C, C)  # message for the max over successors
        self.ln = nn.LayerNorm(2 * C)
        self.mlp = nn.Sequential(nn.Linear(2 * C, 2 * C), nn.GELU(), nn.Linear(2 * C, C))
        self.mlp[2].zero_init = True  # the step starts as pure diffusion (init_weights keeps it 0)
        keep = torch.ones(C)
        keep[0] = keep[-1] = 0.0  # the MLP never writes the two pure channels (FluxModel doc)
        self.register_buffer("keep", keep, persistent=False)

    def forward(self, h, g):
        """h (N, C) node states of the whole batch; g: the flattened graph of `FluxModel.graph`."""
        half = h.shape[1] // 2
        fwd = torch.zeros_like(h[:, :half]).index_add_(0, g["dst_all"], g["p_all"] * h[g["src_all"], :half])
        bwd = torch.zeros_like(h[:, half:]).index_add_(0, g["bsrc"], g["bp"] * h[g["bdst"], half:])
        msg = self.succ(h)[g["dst"]]  # (E, C)
        best = torch.full_like(h, -1e4).scatter_reduce_(0, g["src"][:, None].expand_as(msg), msg, "amax")
        best = torch.where(best > -1e3, best, torch.zeros_like(best))  # nodes without successors: 0
        h = torch.cat([0.5 * (h[:, :half] + fwd), 0.5 * (h[:, half:] + bwd)], -1)
        return h + self.mlp(self.ln(torch.cat([h, best], -1))) * self.keep


class FluxModel(nn.Module):
    """Existence and concentrations computed by iterating one `FluxStep`.

    Two channels are pure diffusion, never written by the MLP: channel 0 starts as a unit mass
    on every node and flows forward (its ratios converge to the renewal chain's stationary
    mass pi); the last starts as 1 at the excretion, which keeps it (absorbing), and
    averages backward (a node's value is its chance of reaching the excretion within the
    iterations so far: exactly 0 for a node that cannot).  The heads read their logarithms
    beside the learned channels.

    Why: the throughflow f_v = x_v * d_v (d_v: total outflow rate of v) solves
    f = phi + P^T f.  Its Neumann series needs thousands of steps on the paper's networks
    (spectral radius ~0.995), but the renewal chain - excretion fed back to the intake - is
    mixed after ~20-40 lazy steps, and its stationary mass pi gives
    x_v = Phi * pi_v / (pi_0 * d_v) (Phi: total intake rate, node 0: the intake).  So the
    model reads pi_v / pi_0 from channel 0 and learns a correction from all channels.
    Reachability (existence) needs one iteration per hop: iterations = n + iters_extra, so
    depth grows with the network; a network needs more than iters_max iterations only
    beyond iters_max - iters_extra inner nodes (the documented limit; score refuses larger).
    After every iteration each channel is divided by its RMS over the network's nodes, which
    keeps ratios between nodes (all the readout uses) and the recurrence bounded.  The model
    runs in fp32 even under autocast: bf16's 8-bit mantissa would blur the diffusion.

    Inputs are the network alone: per node its type and local rate sums and degrees, per
    reaction its rate (P is the rate over its source's summed rates).  Equivariant to
    relabelling the inner nodes."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        C = c.d_model
        self.embed = nn.Linear(NODE_FEATURES, C)
        self.step = FluxStep(c)
        self.ln = nn.LayerNorm(2 * C)
        self.head = nn.Sequential(nn.Linear(2 * C + 2, 2 * C), nn.GELU(),
                                  nn.Linear(2 * C, 3))  # log10 x correction, reached, ok

    def flops_per_example(self, tokens: int) -> float:
        """The step's parameters count once per iteration; there is no attention."""
        step = count_params(self.step)
        return 6 * tokens * (step * self.iterations(tokens - 2) + count_params(self) - step)

    def iterations(self, n):
        """Iterations for a network of n inner nodes (int or tensor)."""
        return (n + self.config.iters_extra).clamp(max=self.config.iters_max) if torch.is_tensor(n) else \
            min(n + self.config.iters_extra, self.config.iters_max)

    @staticmethod
    def graph(batch):
        """Node features (B, T, NODE_FEATURES), masks and the batch's reactions as one flat
        graph over B*T nodes: (src, dst, p) real reactions, (*_all) plus the renewal ones
        (excretion -> intake), (b*) plus the excretion's loop for backward averaging."""
        n, src, dst, emask = batch["n"], batch["src"], batch["dst"], batch["emask"]
        B, E = src.shape
        T = batch["T"] if "T" in batch else int(n.max()) + 2
        idx = torch.arange(T, device=n.device)[None, :]
        valid = idx <= n[:, None] + 1  # (B, T)
        is_in, is_ex = (idx == 0).expand(B, T), idx == n[:, None] + 1
        inner = valid & ~is_in & ~is_ex
        rate = torch.where(emask, batch["rate"].float(), torch.zeros_like(batch["rate"].float()))
        km = batch["km"].float()
        mm = emask & torch.isfinite(km) & (km > 0)
        zeros = torch.zeros(B, T, device=n.device)
        out_sum, in_sum = zeros.scatter_add(1, src, rate), zeros.scatter_add(1, dst, rate)
        out_deg, in_deg = zeros.scatter_add(1, src, emask.float()), zeros.scatter_add(1, dst, emask.float())
        log_k = zeros.scatter_add(1, src, torch.where(mm, km.clamp(min=1e-30).log(), torch.zeros_like(km)))
        log_out = torch.where(out_sum > 0, out_sum.clamp(min=1e-30).log(), zeros)
        log_in = torch.where(in_sum > 0, in_sum.clamp(min=1e-30).log(), zeros)
        feats = torch.stack([log_out / 4, log_in / 4, out_deg.log1p(), in_deg.log1p(), is_in.float(),
                             is_ex.float(), inner.float(), ((out_sum == 0) & inner).float(),
                             log_k / out_deg.clamp(min=1) / 4], -1)  # (B, T, NODE_FEATURES)
        p = rate / torch.gather(out_sum, 1, src).clamp(min=1e-30)  # (B, E) share of the source's outflow
        off = (torch.arange(B, device=n.device) * T)[:, None]
        g = {"src": (src + off)[emask], "dst": (dst + off)[emask], "p": p[emask][:, None]}
        renew_src, renew_dst = n + 1 + off[:, 0], off[:, 0]  # excretion -> intake, P = 1
        g["src_all"], g["dst_all"] = torch.cat([g["src"], renew_src]), torch.cat([g["dst"], renew_dst])
        g["p_all"] = torch.cat([g["p"], torch.ones(B, 1, device=n.device)])
        g["bsrc"], g["bdst"] = torch.cat([g["src"], renew_src]), torch.cat([g["dst"], renew_src])  # excretion absorbs
        g["bp"] = g["p_all"]
        return feats, valid, inner, log_out, g

    def forward(self, batch):
        """batch as for GraphModel; targets exists (B,), log_x (B, T) with xmask (nodes with
        x > 0) and zmask (B, T) (inner nodes of networks with an equilibrium: reached or not)."""
        with torch.autocast(batch["n"].device.type, enabled=False):
            return self._forward(batch)

    def _forward(self, batch):
        feats, valid, inner, log_out, g = self.graph(batch)
        B, T, _ = feats.shape
        C = self.config.d_model
        w = valid.reshape(B * T, 1).float()
        count = valid.sum(1).view(B, 1, 1).float()
        h = self.embed(feats)  # pure channels: a unit mass on every node, and 1 at the excretion only
        h = torch.cat([torch.ones_like(h[..., :1]), h[..., 1:-1], feats[..., 5:6]], -1)  # feature 5: is_ex
        h = h.reshape(B * T, C) * w
        own = self.iterations(batch["n"])  # (B,): each network stops after its own count,
        for it in range(int(own.max())):  # so its answer does not depend on the batch
            new = self.step(h, g).view(B, T, C) * valid[..., None]
            new = new / (new.square().sum(1, keepdim=True) / count).add(1e-12).sqrt()  # RMS over its nodes
            h = torch.where((it < own)[:, None, None], new, h.view(B, T, C)).view(B * T, C)
        h = h.view(B, T, C).float()
        ln_pi = (h[..., 0].abs() + 1e-30).log()  # (B, T)
        ln_pi = ln_pi - ln_pi[:, :1]  # relative to the intake
        ln_reach = (h[..., -1].abs() + 1e-30).log()  # 0 (ln: -69) exactly where excretion is out of reach
        logs = torch.stack([ln_pi.clamp(-60, 60) / 10, ln_reach.clamp(-69, 10) / 10], -1)
        o = self.head(torch.cat([self.ln(torch.cat([h, h[:, :1].expand(B, T, C)], -1)), logs], -1)).float()
        ln_x = ln_pi + log_out[:, :1] - log_out  # ln(Phi pi_v / (pi_0 d_v))
        out = {"logit": o[..., 2].masked_fill(~inner, 1e4).amin(1),  # every inner node must be "ok"
               "log_x": ln_x / math.log(10) + o[..., 0], "reached": o[..., 1]}
        if "exists" in batch:
            out["loss"] = F.binary_cross_entropy_with_logits(out["logit"], batch["exists"].float())
            if self.config.task == "quanti":
                out["loss"] = out["loss"] + concentration_loss(out, batch)
        return out


class TransformerModel(RateTransformer):
    """The rate-attention Transformer (metabnet.learn.transformer) reading the flux model's
    local node features, trained with its concentration loss."""

    def __init__(self, c: ModelConfig):
        super().__init__(c, FluxModel.graph, concentration_loss)


def concentration_loss(out, batch):
    """Per network with an equilibrium: mean |error of log10 x| over its reached nodes, plus
    the relative L1 error of x (the paper's score), plus the cross-entropy of "reached"
    (x > 0) over its inner nodes - no floor regression for x = 0.  All in fp32."""
    xm, zm = batch["xmask"], batch["zmask"]
    d = (out["log_x"] - batch["log_x"]).float()
    log_l1 = (d.abs().clamp(max=3) * xm).sum() / xm.sum().clamp(min=1)  # a wild node costs at most 3 decades
    x_true = torch.where(xm, torch.pow(10.0, batch["log_x"].float()), torch.zeros_like(d))
    x_pred = torch.where(xm, torch.pow(10.0, out["log_x"].float().clamp(-30, 30)), torch.zeros_like(d))
    nets = xm.any(1)
    rel = ((x_pred - x_true).abs().sum(1) / x_true.sum(1).clamp(min=1e-30))[nets]
    rel = rel.clamp(max=10).mean() if nets.any() else d.sum() * 0
    reach = F.binary_cross_entropy_with_logits(out["reached"][zm], xm[zm].float()) if zm.any() else d.sum() * 0
    return log_l1 + rel + 0.1 * reach


def build(config: ModelConfig) -> nn.Module:
    """The model of `config.arch`: the class its entry of metabnet.learn.archs.ARCHS names."""
    return globals()[ARCHS[config.arch].model](config)


def transformer_flops(model: nn.Module, layers: int, tokens: int) -> float:
    """Approximate training FLOPs per example of `tokens` positions (model FLOP utilisation):
    nanoGPT's 6 * params * tokens plus attention over `layers` layers."""
    return 6 * count_params(model) * tokens + 12 * layers * model.config.d_model * tokens * tokens


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def init_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic init: normal(0, 0.02) linears/embeddings (zeros where a module is marked
    `zero_init`), zero biases (GPT-2 style)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            with torch.no_grad():
                scale = 0.0 if getattr(m, "zero_init", False) else 0.02
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * scale)
                if getattr(m, "bias", None) is not None:
                    m.bias.zero_()
    return model
