"""The rate-attention Transformer: existence and concentrations, linear and Michaelis-Menten.

A network's nodes 0..n+1 (intake, inner nodes, excretion; padded to T) are its tokens.
The model has two parts, run one after the other:

1. ``RateAlgebra`` - fixed, parameter-free attention (architecture, not training):
   - ``RateShares``: one attention head whose logits are the log rates of a node's reactions
     out (-inf where there is none): the softmax over its successors is exactly the rate
     share P[u, w] = g_uw / sum_w' g_uw' with g = rate (linear) or V / (K + x_u)
     (Michaelis-Menten: the share of each reaction's flux at the node's concentration x_u);
   - ``Multiscale``: the throughflow f (total flux through each inner node) solves
     f = phi + P^T f.  Its Neumann series sum_k (P^T)^k phi is summed by doubling - the lazy
     chain Q = (I + P) / 2 is squared, Q, Q^2, Q^4, ..., and f += Q^T f at each level - so
     level j covers 2^j steps: reachability in log2(T) levels, a chain that needs 10^6 steps
     to mix in 20.  Each network halts on its own when the mass still inside (max row sum of
     Q^(2^j) over inner nodes, a bound on f's relative error) falls below `tol`.  In float32 by default
     (AlgebraConfig.dtype; float64 gave the same accuracy on the test sets, 2-3x slower), but
     in float64 for stiff networks (a rate share below 1e-3: rates over 8 decades gave 64%
     within 0.1 in float32, 97% in float64);
   - ``Reach``: a boolean head iterated over the support of P (`can_exit`); networks where
     some inner node cannot exit have no equilibrium and skip the doubling;
   - ``Saturation``: the concentration from the throughflow, x solving
     x * sum_e g_e(x) = f (linear: x = f / d; one Michaelis-Menten reaction out:
     x = K f / (V - f)); Newton per node, within bounds the K's give.  A node whose inflow reaches its
     capacity sum V has no finite x (existence fails there);
   - Michaelis-Menten: shares depend on x, so the throughflow solves f = phi + F(f), with
     F_w(f) = sum_u v_uw(x_u(f_u)) the flux of each reaction at the x its source's throughflow
     gives.  From the doubling's f (shares at x = 0), Newton rounds: f += (I - D^T)^-1 r, with
     r = phi + P^T f - f the residual at the current x and D the same share head over
     g_e = dv_e/dx (a reaction's share of the node's change of outflux; a saturated node's
     x no longer moves, its row of D is P) - one batched dense solve per round.  A step that
     does not shrink sum |r| is halved (at most `mm_backtrack` times): an undamped step can
     jump between a saturated and an unsaturated state.  Each network halts when its log x
     moves less than `mm_tol` or its residual falls below `mm_rtol` of f, after at most
     `mm_rounds` rounds (3-5 on S networks; the shares-only fixed point took 12 and more);
   Its answer alone (the untrained model) is: exists iff every inner node can exit and none
   is saturated; x as computed.
2. ``RateTransformer`` - learned: pre-norm Transformer blocks (attention and MLP), one block
   weight-tied and iterated `n_enc` times, over node tokens embedded from local features
   and the algebra's per-node quantities.  Its attention heads are biased by the log shares
   (heads "out": a node over its successors, "in": over its predecessors, "all": every node of
   the network), so an untrained head already averages along P.  Zero-initialised outputs
   correct the algebra's log10 x, its "reached" (x > 0) and its per-node "ok" margin; the
   existence logit is the minimum of "ok" over inner nodes.

Inputs are the network alone (reactions, rates, Michaelis constants, local per-node sums).
Equivariant to relabelling the inner nodes.  Everything runs outside autocast; the per-node
quantities (x, f, capacities, Newton) in float64.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# Nothing from metabnet.learn.model is imported here (it imports this module): its
# TransformerModel passes the flux model's local node features and the concentration loss in.


@dataclass
class AlgebraConfig:
    """Settings of the fixed part (not learned; ModelConfig gives the learned part's sizes)."""
    levels_max: int = 64  # most doubling levels (2^64 steps of the lazy chain: x up to ~1e19 needs 60)
    tol: float = 1e-7  # a network's throughflow halts when the mass left inside is below this
    dtype: str = "float32"  # of the doubling (float64: 2-3x slower on CPU, for checks) ...
    stiff_share: float = 1e-3  # ... but float64 for networks with a rate share below this
    mm_rounds: int = 36  # Michaelis-Menten: the doubling, then Newton rounds on f, this many in all at most
    # (3-5 on most networks; near capacity the halved steps can need 20-30: 12 left 3 of 8,100 test
    # networks short of their saturated state, the model saying "exists")
    mm_tol: float = 3e-3  # ... a network stops when no log x moves more than this ...
    mm_rtol: float = 1e-7  # ... or its largest residual is below this fraction of its largest f
    mm_backtrack: int = 8  # a Newton step that does not shrink sum |r| is halved at most this many times
    newton: int = 30  # Newton steps of the per-node saturation readout at most
    newton_tol: float = 1e-10  # ... stopping when no x moves by more than this, relatively
    margin_scale: float = 10.0  # logit per unit of the untrained "ok" margin
    x_cap: float = 1e30  # concentration of a saturated node (stands for infinity)


# ---- the fixed algebra ------------------------------------------------------------------
class Graph(dict):
    """Dense per-network views of a padded batch (metabnet.learn.archs.node_arrays), float64:
    valid/inner/is_ex (B, T) masks, phi (B, T) intake rate into each node, and per edge
    (B, E): src, dst, rate, km (NaN: linear), mm (Michaelis-Menten), real (a real edge out
    of an inner node to another node, not intake, not a self-loop)."""

    @classmethod
    def of(cls, batch):
        n, src, dst, emask = batch["n"], batch["src"], batch["dst"], batch["emask"]
        B, E = src.shape
        T = int(batch["T"]) if "T" in batch else int(n.max()) + 2
        idx = torch.arange(T, device=n.device)[None, :]
        valid = idx <= n[:, None] + 1  # (B, T)
        is_ex = idx == n[:, None] + 1
        inner = valid & (idx > 0) & ~is_ex
        rate = torch.where(emask, batch["rate"].double(), torch.zeros_like(batch["rate"].double()))
        km = batch["km"].double()
        mm = emask & torch.isfinite(km) & (km > 0)
        intake = emask & (src == 0)
        real = emask & (src > 0) & (src != dst)
        phi = torch.zeros(B, T, dtype=torch.float64, device=n.device).scatter_add(
            1, dst, torch.where(intake, rate, torch.zeros_like(rate)))
        return cls(B=B, T=T, E=E, n=n, src=src, dst=dst, rate=rate, km=torch.where(mm, km, torch.ones_like(km)),
                   mm=mm, real=real, valid=valid, inner=inner, is_ex=is_ex, phi=phi)

    def take(self, idx) -> "Graph":
        """The networks `idx` (LongTensor; one may come more than once) of this batch."""
        if len(idx) == self["B"] and torch.equal(idx, torch.arange(len(idx), device=idx.device)):  # all of them
            return self
        sub = Graph({k: v[idx] if torch.is_tensor(v) else v for k, v in self.items()})
        sub["B"] = len(idx)
        return sub


class RateShares(nn.Module):
    """The rate-share head: softmax over a node's successors of log g (B, T, T), where
    g_e = rate (linear) or V / (K + x_src) (Michaelis-Menten: the share of each reaction's flux
    at the node's concentration x_src), and the per-node total sum_e g_e (B, T) - the softmax's
    normaliser.  deriv: g_e = dv_e/dx instead (rate, or V K / (K + x_src)^2), each reaction's
    share of the change of the node's outflux.  Rows without successors are zero."""

    def forward(self, g: Graph, x, deriv: bool = False):  # x (B, T) concentrations
        B, T = g["B"], g["T"]
        xs = torch.gather(x, 1, g["src"])  # (B, E) concentration at each reaction's source
        mm = g["rate"] * g["km"] / (g["km"] + xs) ** 2 if deriv else g["rate"] / (g["km"] + xs)
        ge = torch.where(g["mm"], mm, g["rate"])
        ge = torch.where(g["real"], ge, torch.zeros_like(ge))  # (B, E)
        dense = torch.zeros(B, T * T, dtype=ge.dtype, device=ge.device).scatter_add(
            1, g["src"] * T + g["dst"], ge).view(B, T, T)  # parallel reactions add
        total = dense.sum(-1)  # (B, T) the softmax's normaliser: sum_w exp(log g_uw)
        # softmax(log g) over successors, written as g / sum g (no exp/log of T x T; rows without
        # successors are zero)
        share = dense / torch.where(total > 0, total, torch.ones_like(total))[..., None]
        return share, total


class Reach(nn.Module):
    """can_exit (B, T): the inner nodes with a path to the excretion.  A boolean head over the
    support of P, iterated: a node exits when one of its successors does - one (T x T) by
    (T,) product per step, stopping when no node of the batch changes (at most T steps: the
    longest path), so its cost grows with the batch's longest path, not with T^3."""

    def forward(self, g: Graph, share):
        A = ((share > 0) & g["inner"][:, :, None]).float()  # (B, T, T) inner u -> w (0/1: exact in float32)
        ex = g["is_ex"]
        for _ in range(g["T"]):
            new = ex | (torch.bmm(A, ex.to(A.dtype)[..., None])[..., 0] > 0)  # (B, T)
            if torch.equal(new, ex):
                break
            ex = new
        return ex & g["inner"]


class Multiscale(nn.Module):
    """Throughflow by doubling (module doc), for networks whose every inner node can exit.
    Returns f (B, T) on inner nodes and levels (B,) used by each network."""

    def __init__(self, a: AlgebraConfig):
        super().__init__()
        self.a = a

    def forward(self, g: Graph, share):
        """Stiff networks (a rate share below AlgebraConfig.stiff_share: float32 would round
        1 - share to 1 and keep mass that leaves) in float64, the others in AlgebraConfig.dtype ..."""
        stiff = ((share > 0) & (share < self.a.stiff_share)).flatten(1).any(-1)  # (B,)
        f = torch.zeros(g["B"], g["T"], dtype=torch.float64, device=share.device)
        levels = torch.zeros(g["B"], dtype=torch.long, device=share.device)
        idx = torch.nonzero(~stiff)[:, 0]
        if len(idx):
            f[idx], levels[idx] = self.double(g.take(idx), share[idx], getattr(torch, self.a.dtype))
        # ... and in float64 too where that did not halt (a class that leaks too slowly for
        # float32's rounding of the mass kept: f doubles each level, to inf and NaN)
        again = stiff | (levels == self.a.levels_max) | ~torch.isfinite(f).all(-1)
        idx = torch.nonzero(again)[:, 0]
        if len(idx):
            f[idx], levels[idx] = self.double(g.take(idx), share[idx], torch.float64)
        return f, levels

    def double(self, g: Graph, share, dtype):
        B, T = g["B"], g["T"]
        dev = share.device
        live = torch.arange(B, device=dev)
        inner = g["inner"]
        P = share.to(dtype)
        eye = torch.eye(T, dtype=P.dtype, device=dev)
        Q = 0.5 * (eye * inner[:, :, None] + P * (inner[:, :, None] & inner[:, None, :]))  # (B, T, T) lazy chain
        f_l = (g["phi"] * inner).to(P.dtype)  # (B, T)
        f = torch.zeros(B, T, dtype=torch.float64, device=dev)
        levels = torch.zeros(B, dtype=torch.long, device=dev)
        finished = torch.zeros(B, dtype=torch.bool, device=dev)
        for j in range(self.a.levels_max):
            if len(live) == 0:
                break
            f_l = f_l + torch.bmm(f_l[:, None, :], Q)[:, 0]  # f += Q^T f: the next 2^j steps
            Q = torch.bmm(Q, Q)
            mass = Q.sum(-1).amax(-1)  # (b,) most mass still inside after 2^(j+1) steps
            done = ((mass < self.a.tol) | (j + 1 == self.a.levels_max)) & ~finished
            if done.any():  # record a network's answer when it halts ...
                d = live[done]
                f[d], levels[d] = f_l[done].double(), j + 1
                finished = finished | done
            if finished.sum() * 4 >= len(live):  # ... and drop halted ones from the batch in bulk
                going = ~finished
                live, Q, f_l, finished = live[going], Q[going], f_l[going], finished[going]
        return 0.5 * f * inner, levels  # lazy chain: its sum is 2 (I - P^T)^-1 phi


class Saturation(nn.Module):
    """x >= 0 solving F(x) = x * sum_e g_e(x) = f per node, and sat = f / capacity (capacity:
    sum V of Michaelis-Menten reactions out; 0 where a linear reaction leaves).  Newton per
    node, on h(x) = F / (capacity - F) = f / (capacity - f) where only Michaelis-Menten
    reactions leave (h is linear for one reaction or equal K's: exact in one step; close to
    linear otherwise), on F(x) = f elsewhere; kept within the bounds the K's give
    (K_min f / (cap - f) <= x <= K_max f / (cap - f); x <= f / linear rate)."""

    def __init__(self, a: AlgebraConfig):
        super().__init__()
        self.a = a

    def forward(self, g: Graph, f, x0=None):
        """x0 (B, T): a start (the previous Michaelis-Menten round's x) where it is finite."""
        B, T = g["B"], g["T"]
        zero = torch.zeros(B, T, dtype=torch.float64, device=f.device)
        mm, lin = g["mm"] & g["real"], ~g["mm"] & g["real"]
        src, rate, km = g["src"], g["rate"], g["km"]
        r_lin = zero.scatter_add(1, src, torch.where(lin, rate, 0 * rate))  # linear rate out
        v_mm = torch.where(mm, rate, 0 * rate)  # V of Michaelis-Menten reactions, 0 elsewhere
        cap = zero.scatter_add(1, src, v_mm)  # sum V out
        k_min = torch.full_like(zero, float("inf")).scatter_reduce(1, src, torch.where(mm, km, torch.full_like(km, float("inf"))), "amin")
        k_max = zero.scatter_reduce(1, src, torch.where(mm, km, 0 * km), "amax")
        pure = (r_lin == 0) & (cap > 0)
        sat = torch.where(pure, f / cap.clamp(min=1e-300), zero)
        free = (pure & (sat < 1)) | (r_lin > 0)  # a finite x exists
        tau = torch.where(pure & (sat < 1), f / (cap - f).clamp(min=1e-300), zero)  # h(x) at the root
        lb = torch.where(pure, k_min * tau, zero)  # bounds of x
        ub = torch.where(r_lin > 0, f / r_lin.clamp(min=1e-300), k_max * tau)
        x = lb if x0 is None else torch.where(free & (x0 < self.a.x_cap), x0.clamp(lb, ub), lb)
        safe_cap = (cap * pure).clamp(min=1e-300)
        for _ in range(self.a.newton if bool(mm.any()) else 1):  # linear: one step is exact
            xs = torch.gather(x, 1, src)
            inv = 1 / (km + xs)
            F_ = zero.scatter_add(1, src, v_mm * xs * inv) + r_lin * x  # outflux at x ...
            D = zero.scatter_add(1, src, v_mm * km * inv * inv) + r_lin  # ... and its derivative
            room = (cap - F_).clamp(min=1e-300)  # pure nodes: h = F / room, h' = cap F' / room^2
            step = torch.where(pure, (tau - F_ / room) * room * room / (safe_cap * D),
                               (f - F_) / D.clamp(min=1e-300))
            x_new = torch.where(free & (D > 0), torch.minimum(torch.maximum(x + step, lb), ub), x)
            if bool(((x_new - x).abs() <= self.a.newton_tol * x_new).all()):
                x = x_new
                break
            x = x_new
        x = torch.where(free, x, torch.where(f > 0, torch.full_like(x, self.a.x_cap), zero))
        return x.clamp(max=self.a.x_cap) * g["inner"], sat


class RateAlgebra(nn.Module):
    """shares -> throughflow -> x, once for linear networks, then Newton rounds for
    Michaelis-Menten ones; the throughflow only for networks whose every inner node can exit
    (the others have no equilibrium: f = 0).  Returns a dict of (B, T) float64 tensors: f, x,
    sat, can_exit, share (B, T, T) at the final x, and levels (B,): the doubling's, once per
    round (a feature of the learned part)."""

    def __init__(self, a: AlgebraConfig):
        super().__init__()
        self.a = a
        self.shares, self.reach = RateShares(), Reach()
        self.multiscale, self.saturation = Multiscale(a), Saturation(a)

    @torch.no_grad()
    def forward(self, g: Graph):
        B, T = g["B"], g["T"]
        dev = g["n"].device
        x = torch.zeros(B, T, dtype=torch.float64, device=dev)
        f = torch.zeros(B, T, dtype=torch.float64, device=dev)
        levels = torch.zeros(B, dtype=torch.long, device=dev)
        share, _ = self.shares(g, x)
        can_exit = self.reach(g, share)
        live = torch.nonzero(can_exit.eq(g["inner"]).all(-1))[:, 0]  # networks whose every inner node exits
        if len(live):
            f[live], levels[live] = self.multiscale(g.take(live), share[live])
        first = levels.clone()  # the doubling's levels; the Newton rounds each add them again
        x, sat = self.saturation(g, f)
        live = live[g["mm"][live].any(-1)]  # Michaelis-Menten ones go on
        r = torch.zeros(B, T, dtype=torch.float64, device=dev)
        if len(live):
            gl = g.take(live)
            share[live], r[live] = self.residual(gl, f[live], x[live])
        for _ in range(self.a.mm_rounds - 1):
            if len(live) == 0:
                break
            gl = g.take(live)
            f_new, x_new, sat_new, share[live], r[live] = self.newton(gl, f[live], x[live], share[live], r[live])
            f[live], sat[live], levels[live] = f_new, sat_new, levels[live] + first[live]
            inner = gl["inner"]
            moved = ((x_new.clamp(min=1e-300).log() - x[live].clamp(min=1e-300).log()).abs() * inner).amax(-1)
            x[live] = x_new
            going = (moved > self.a.mm_tol) & (r[live].abs().amax(-1) > self.a.mm_rtol * f_new.abs().amax(-1))
            live = live[going]
        return {"f": f, "x": x, "sat": sat, "can_exit": can_exit, "share": share, "levels": levels}

    def residual(self, g: Graph, f, x):
        """Shares P at x and the residual r = phi + P^T f - f (B, T) over inner nodes."""
        inner = g["inner"]
        share, _ = self.shares(g, x)
        P = share * (inner[:, :, None] & inner[:, None, :])
        return share, (g["phi"] + torch.bmm(f[:, None, :], P)[:, 0] - f) * inner

    def newton(self, g: Graph, f, x, share, r):
        """One Newton round (module doc) with step halving: f, x, sat, share, r at the new f.
        The halved steps of the networks whose whole step fails are tried in one batch (a network
        near capacity halves 8 times in most of its rounds: 8 passes of small ops, now one)."""
        inner = g["inner"]
        D, total = self.shares(g, x, deriv=True)
        D = torch.where(((x >= self.a.x_cap) | (total == 0))[..., None], share, D)
        D = D * (inner[:, :, None] & inner[:, None, :])
        eye = torch.eye(g["T"], dtype=D.dtype, device=D.device)
        step, info = torch.linalg.solve_ex(eye - D.transpose(1, 2), r)  # nonsingular: every inner node exits
        step = torch.where((info == 0)[:, None], step, torch.zeros_like(step)) * inner
        norm = r.abs().sum(-1)
        out = [torch.empty_like(t) for t in (f, x, f, share, r)]  # every network's row is written below
        todo = torch.arange(g["B"], device=f.device)
        K = self.a.mm_backtrack
        passes = [(K == 0, torch.ones(1, dtype=f.dtype, device=f.device))]  # the whole step; where it
        if K:  # fails, all the halvings at once, the smallest taken anyway
            passes.append((True, 0.5 ** torch.arange(1, K + 1, dtype=f.dtype, device=f.device)))
        for last, lam in passes:
            if len(todo) == 0:
                break
            m = len(todo)
            rows = todo.repeat(len(lam))  # candidate c * m + i: network todo[i], step lam[c]
            lam_r = lam.repeat_interleave(m)
            gt = g.take(rows)
            f_t = (f[rows] + lam_r[:, None] * step[rows]).clamp(min=0)
            x_t, sat_t = self.saturation(gt, f_t, x[rows])
            share_t, r_t = self.residual(gt, f_t, x_t)
            ok = (r_t.abs().sum(-1) <= norm[rows]).view(len(lam), m)
            ok[-1] |= last
            first = torch.where(ok.any(0), ok.float().argmax(0), -1)  # the largest step that shrinks |r|
            take = torch.nonzero(first >= 0)[:, 0]
            pick = first[take] * m + take
            for o, t in zip(out, (f_t, x_t, sat_t, share_t, r_t)):
                o[todo[take]] = t[pick]
            todo = todo[first < 0]
        return out


# ---- the learned Transformer ------------------------------------------------------------
HEAD_KINDS = ("out", "in", "all", "all")  # head h attends as HEAD_KINDS[h % 4]


class RateAttention(nn.Module):
    """Multi-head self-attention over node tokens with a per-head additive bias: "out" heads
    attend to successors with bias b_h * log P[u, w], "in" heads to predecessors with
    b_h * log P[w, u] (b_h learned, initially 1), "all" heads to every node of the network;
    every node also attends to itself (bias 0)."""

    def __init__(self, C: int, H: int):
        super().__init__()
        self.h = H
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.bias_scale = nn.Parameter(torch.ones(H))
        self.kinds = [HEAD_KINDS[h % 4] for h in range(H)]

    def bias(self, log_share, attend, valid):
        """(B, H, T, T) additive mask: log_share (B, T, T) finite (0 off the reactions),
        attend (B, T, T) bool successors or self, valid (B, T) the network's nodes."""
        B, T, _ = log_share.shape
        out_mask = torch.zeros_like(log_share).masked_fill_(~attend, float("-inf"))  # (B, T, T)
        all_mask = torch.zeros_like(log_share[:, :1]).masked_fill_(~valid[:, None, :], float("-inf"))  # (B, 1, T)
        bias = torch.empty(B, self.h, T, T, dtype=log_share.dtype, device=log_share.device)
        for h, kind in enumerate(self.kinds):  # each head written in place (no stack of copies)
            if kind == "out":
                bias[:, h] = out_mask + self.bias_scale[h] * log_share
            elif kind == "in":
                bias[:, h] = (out_mask + self.bias_scale[h] * log_share).transpose(1, 2)
            else:
                bias[:, h] = all_mask
        return bias  # (B, H, T, T)

    def forward(self, x, bias):
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.h, C // self.h).permute(2, 0, 3, 1, 4)  # (B, H, T, C/H) each
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class Block(nn.Module):
    """Pre-norm Transformer block: x + attn(LN x), then x + MLP(LN x)."""

    def __init__(self, C: int, H: int, mlp_ratio: int):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(C), RateAttention(C, H)
        self.ln2 = nn.LayerNorm(C)
        self.mlp = nn.Sequential(nn.Linear(C, mlp_ratio * C), nn.GELU(), nn.Linear(mlp_ratio * C, C))

    def forward(self, x, bias):
        x = x + self.attn(self.ln1(x), bias)
        return x + self.mlp(self.ln2(x))


ALG_FEATURES = 6  # per node from the algebra: log10 x, log10 f, log sat, can_exit, reached, levels


class RateTransformer(nn.Module):
    """The model (module doc).  Reads archs.node_arrays; returns logit (B,), log_x (B, T),
    reached (B, T) like FluxModel, plus the algebra's answer under "algebra"."""

    def __init__(self, c, local_features, value_loss, a: AlgebraConfig | None = None):
        """c: metabnet.learn.model.ModelConfig (d_model, n_heads, n_enc iterations, mlp_ratio,
        task); local_features: batch -> ((B, T, 9) features, ...); value_loss: (out, batch) ->
        the concentration loss."""
        super().__init__()
        self.config, self.algebra_config = c, a or AlgebraConfig()
        self.local_features, self.value_loss = local_features, value_loss
        C = c.d_model
        self.algebra = RateAlgebra(self.algebra_config)
        self.embed = nn.Linear(9 + ALG_FEATURES, C)  # FluxModel.graph's local features + the algebra's
        self.block = Block(C, c.n_heads, c.mlp_ratio)  # weight-tied, applied n_enc times
        self.ln = nn.LayerNorm(C)
        self.head = nn.Linear(C, 3)  # corrections: log10 x, reached, ok
        self.head.zero_init = True  # untrained: the algebra's answer (init_weights keeps it 0)

    def flops_per_example(self, tokens: int) -> float:
        """Learned part only (training FLOPs); the algebra adds ~2 T^3 per doubling level."""
        return 6 * tokens * sum(p.numel() for p in self.parameters()) * max(1, self.config.n_enc) + \
            12 * self.config.n_enc * self.config.d_model * tokens * tokens

    def forward(self, batch):
        with torch.autocast(batch["n"].device.type, enabled=False):
            return self._forward(batch)

    def _forward(self, batch):
        g = Graph.of(batch)
        alg = self.algebra(g)
        inner, valid = g["inner"], g["valid"]
        feats, *_ = self.local_features(batch)  # (B, T, 9) local features
        f, x, sat = alg["f"], alg["x"], alg["sat"]
        reached = (f > 0) & inner
        lx = torch.where(reached, x.clamp(min=1e-300).log10(), torch.full_like(x, -30.0)).clamp(-30, 30)
        lf = torch.where(reached, f.clamp(min=1e-300).log10(), torch.full_like(f, -30.0)).clamp(-30, 30)
        lsat = torch.where(sat > 0, sat.clamp(min=1e-300).log(), torch.full_like(sat, -30.0)).clamp(-30, 5)
        margin = torch.minimum(alg["can_exit"].double() * 2 - 1, -lsat.clamp(max=1))  # > 0: this node is fine
        af = torch.stack([lx / 10, lf / 10, lsat / 10, alg["can_exit"].double(), reached.double(),
                          alg["levels"][:, None].double().expand_as(lx) / 16], -1).float()
        h = self.embed(torch.cat([feats, af], -1)) * valid[..., None]  # (B, T, C)
        share = alg["share"].float()
        eye = torch.eye(g["T"], dtype=torch.bool, device=share.device)
        attend = (share > 0) | eye  # (B, T, T) successors and self
        log_share = torch.where(share > 0, share.clamp(min=1e-30).log(), torch.zeros_like(share))
        bias = self.block.attn.bias(log_share, attend, valid)  # (B, H, T, T)
        for _ in range(self.config.n_enc):
            h = self.block(h, bias)
        o = self.head(self.ln(h)).double()  # (B, T, 3)
        s = self.algebra_config.margin_scale
        ok = (s * margin + o[..., 2]).masked_fill(~inner, 1e4)
        out = {"logit": ok.amin(1).float(),
               "log_x": (lx + o[..., 0]).float(),
               "reached": (s * (reached.double() * 2 - 1) + o[..., 1]).float(),
               "algebra": alg}
        if "exists" in batch:
            out["loss"] = F.binary_cross_entropy_with_logits(out["logit"], batch["exists"].float())
            if self.config.task == "quanti":
                out["loss"] = out["loss"] + self.value_loss(out, batch)
        return out
