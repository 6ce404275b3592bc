"""Scoring networks: a trained model's answer for each one, or the exact solver's where there
is no model or the model cannot take the network.

Every answer is a record with the keys of DESIGN §5 (``file name n kinetics exists_unique
exists_bounded nodes x residual method``; ``nodes`` names the entries of x) plus ``p_exists``, the model's probability that an
equilibrium exists (null for solver answers):

``why`` is the solver's reason where its answer has no equilibrium (metabnet.solve.why),
null for the model's own predictions and where there is an equilibrium.

- ``method`` "model": the model's prediction.  The model predicts one label, the paper's
  ``unique``; ``exists_bounded`` is null.  ``x`` is null when the model says there is no
  equilibrium or was trained for existence only.
- ``method`` "solver": the exact solver's answer (kernels.equilibrium), the solver's own
  method under ``solver``; with a model, ``solver_reason`` says why the model did not take it
  (`ModelLimits.reason`: among others a network without reactions or without intake, which
  no model was trained on - knock-outs make them - goes to the solver).
- ``method`` "model+solver" (refine): the exact equilibrium, found by Newton started from the
  model's x; the raw prediction is kept under ``model`` and the iteration counts of a cold
  and a warm start under ``refine`` (Newton iterations, plus ODE steps where Newton stalled;
  linear kinetics take one LU solve, 1 iteration, whatever the start).

``residual`` is a cheap self-check of x under the network's own balance: the share of all
flux it leaves unbalanced (`flux_residual`), ~1e-16 at an exact equilibrium.  With a flag
tolerance each record says whether it is ``flagged``.  With verify the exact answer sits
under ``exact`` and ``rel_l1`` is the relative L1 error of x against it (metabnet.metrics).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from metabnet.learn.archs import ARCHS, Reason, Refusal
from metabnet.gen.config import GenConfig
from metabnet.kernels.kinetics import balance
from metabnet.metrics import rel_l1
from metabnet.network import Network
from metabnet.solve import solve

WARM_FELL_BACK = "newton-warm+"  # metabnet.kernels.equilibrium.how_name: a warm start certified nothing


class Record(dict):
    """One answer: the keys written (module doc), and beside them, unwritten, what a run's
    summary counts: why the model did not take the network, and whether a warm start fell
    back to the cold solve (None where there was no warm start)."""
    refusal: Refusal | None = None
    fell_back: bool | None = None


def flux_residual(net: Network, x) -> float | None:
    """sum_v |dx_v/dt| / sum_v (gross flux through v) at concentrations x: the share of all
    flux that x leaves unbalanced, between 0 (an equilibrium) and 1.  None when x is missing,
    of the wrong length or not finite.  Unlike the solver's per-node maximum
    (kernels.kinetics.rel_residual), a node at negligible concentration - such as a
    model's floor of 1e-6 where the intake never reaches - cannot dominate it."""
    if x is None or len(x) != net.n:
        return None
    x = np.array(x, np.float64)  # None -> NaN
    if not np.isfinite(x).all():
        return None
    f, gross = np.empty(net.n), np.empty(net.n)
    balance(net.n, net.m, net.src, net.dst, net.rate, net.km_or_nan(), x, f, gross)
    total = gross.sum()  # >= sum |f| (triangle inequality, node by node)
    return float(np.abs(f).sum() / total) if total > 0 else 0.0


@dataclass(frozen=True)
class ModelLimits:
    """What a checkpoint's model can take: its architecture and the data it was trained on."""
    n_max: int | None  # most inner nodes in the training data (None: unknown, or any size)
    kinetics: tuple | None  # kinetics of the training data (None: unknown)

    @classmethod
    def of(cls, model, ckpt: dict) -> "ModelLimits":
        """From the checkpoint's training data: a shard run's config, or a stream's mixture."""
        data = ckpt.get("data_mixture") or ([ckpt["data_config"]] if ckpt.get("data_config") else [])
        cfgs = [GenConfig.from_json(json.dumps(d)) for d in data]
        if not cfgs:
            return cls(None, None)
        sized = ARCHS[model.config.arch].sized_by_training
        answers = ckpt.get("shipped", {}).get("kinetics")  # a shipped model may answer fewer than it saw
        return cls(max(c.node_range[1] for c in cfgs) if sized else None,
                   tuple(answers) if answers else tuple(sorted({c.kinetics for c in cfgs})))

    def reason(self, net: Network, config, weighted: bool) -> Reason | None:
        """Why the model cannot take `net` (None when it can); the architecture's `readable`
        (metabnet.learn.archs) adds its vocabulary limits on top."""
        if net.m == 0:
            return Refusal.NO_REACTIONS.because()
        if not net.is_intake.any():  # models never saw one: knock-outs make them
            return Refusal.NO_INTAKE.because()
        if self.kinetics is not None and net.kinetics not in self.kinetics:
            return Refusal.KINETICS.because(kinetics=net.kinetics, answers=" and ".join(self.kinetics))
        if self.n_max is not None and net.n > self.n_max:
            return Refusal.TRAINED_SIZE.because(n=net.n, n_max=self.n_max)
        return ARCHS[config.arch].too_large(net, config, weighted)


@dataclass
class Prediction:
    """One model answer: the class, its probability and x (None entries: not finite)."""
    exists: bool
    p: float | None
    x: list | None


@dataclass
class Scorer:
    """Scores lists of networks (`score`): with a model (metabnet.learn.predict.load_model) its
    predictions, else the exact solver's answers.  See the module doc for the records."""
    model: object = None
    ckpt: dict | None = None
    device: str = "cpu"
    batch_size: int = 256
    beam: int = 1
    verify: bool = False  # the exact answer beside each record
    refine: bool = False  # the model's x as the exact solver's start
    flag_residual: float | None = None  # flag records whose residual exceeds this
    progress: object = None  # the exact solver's progress for long solves (metabnet.solve.solve)

    def __post_init__(self):
        if self.refine and self.model is None:
            raise ValueError("refine needs a model: its predictions are the solver's starting points")
        self.weighted = bool((self.ckpt or {}).get("weighted", True))
        self.limits = ModelLimits.of(self.model, self.ckpt or {}) if self.model is not None else None

    def score(self, nets: list[Network]) -> list[Record]:
        """One record per network, in the order given.  Model predictions run in batches of
        networks of similar size (metabnet.learn.predict sorts by n, then restores the order)."""
        preds, reasons = self._predict(nets)
        return [self._record(net, p, r) for net, p, r in zip(nets, preds, reasons)]

    def _predict(self, nets):
        preds, reasons = [None] * len(nets), [None] * len(nets)
        if self.model is None or not nets:
            return preds, reasons
        from metabnet.batch import as_batch
        from metabnet.learn.predict import predict

        config = self.model.config
        reasons = [self.limits.reason(net, config, self.weighted) for net in nets]
        take = [i for i, r in enumerate(reasons) if r is None]
        if not take:
            return preds, reasons
        batch = as_batch([nets[i] for i in take])
        arch = ARCHS[config.arch]
        ok = arch.readable(batch, self.weighted)
        for i in np.asarray(take)[~ok]:
            reasons[i] = arch.unreadable.because()
        take = [i for i, good in zip(take, ok) if good]
        if not take:
            return preds, reasons
        if not ok.all():
            batch = as_batch([nets[i] for i in take])
        out = predict(self.model, batch, self.device, self.batch_size, self.beam, self.weighted)
        for r, i in enumerate(take):
            if out["cls"][r] < 0:
                reasons[i] = Refusal.UNDECODED.because()
                continue
            x = out["x"][r]
            p = float(out["p_exists"][r])
            preds[i] = Prediction(bool(out["cls"][r] == 1), p if np.isfinite(p) else None, _values(x))
        return preds, reasons

    def _record(self, net: Network, pred: Prediction | None, reason: Reason | None) -> Record:
        rec = Record(file=net.meta.get("file"), name=net.name, n=net.n, kinetics=net.kinetics, nodes=net.nodes)
        exact = solve(net, progress=self.progress) if pred is None or self.verify or self.refine else None
        if pred is None:
            rec.update(_answer(net, exact), method="solver", p_exists=None, solver=exact["method"])
            if self.model is not None:
                rec["solver_reason"], rec.refusal = reason.text, reason.refusal
        elif self.refine:
            start = pred.x if pred.x is not None and len(pred.x) == net.n and None not in pred.x else None
            final = solve(net, x0=start, progress=self.progress) if start is not None else exact
            rec.update(_answer(net, final), method="model+solver", p_exists=pred.p)
            rec["model"] = {"exists_unique": pred.exists, "x": pred.x, "residual": flux_residual(net, pred.x),
                            "rel_l1": _rel_l1(exact, pred.x)}
            rec["refine"] = {"start": "model" if start is not None else "none",
                             "iterations_cold": exact["iterations"], "iterations_warm": final["iterations"],
                             "solver": final["method"]}
            if start is not None:
                rec.fell_back = final["method"].startswith(WARM_FELL_BACK)
        else:
            rec.update(exists_unique=pred.exists, exists_bounded=None, x=pred.x,
                       residual=flux_residual(net, pred.x), why=None, method="model", p_exists=pred.p)
        if self.verify:
            rec["exact"] = {**_answer(net, exact), "solver": exact["method"]}
            rec["rel_l1"] = _rel_l1(exact, rec["x"])
        if self.flag_residual is not None:
            rec["flagged"] = rec["x"] is not None and (rec["residual"] is None or rec["residual"] > self.flag_residual)
        return rec


def _values(x) -> list | None:
    """A predicted x as a JSON-ready list: floats, None where not finite."""
    if x is None:
        return None
    x = np.asarray(x, np.float64)
    return x.tolist() if np.isfinite(x).all() else [v if np.isfinite(v) else None for v in x.tolist()]


def _answer(net: Network, s: dict) -> dict:
    return {"exists_unique": s["exists_unique"], "exists_bounded": s["exists_bounded"], "x": s["x"],
            "residual": flux_residual(net, s["x"]), "why": s["why"]}


def _rel_l1(exact: dict, x) -> float | None:
    """Relative L1 error of x where the exact answer has a (unique) equilibrium; None where
    it has none, or where x is missing or unusable (metabnet.metrics counts that as wrong)."""
    if not exact["exists_unique"] or x is None or None in x:
        return None
    e = rel_l1(exact["x"], x)
    return e if np.isfinite(e) else None
