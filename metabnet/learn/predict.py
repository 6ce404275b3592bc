"""Predictions of a trained model for a Batch of networks, and checkpoint loading."""
from __future__ import annotations

import numpy as np
import torch

from metabnet.batch import Batch, take
from metabnet.learn.archs import ARCHS
from metabnet.learn.model import ModelConfig, build


def load_model(path, device="cpu", **config) -> tuple[torch.nn.Module, dict]:
    """The model of a checkpoint (metabnet train's checkpoint.pt or model.pt) and its metadata.
    `config`: ModelConfig fields to change that do not change the weights (such as the flux
    model's iters_extra: a weight-tied step may be iterated longer than in training)."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    model = build(ModelConfig(**{**ckpt["model_config"], **config}))
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt


def to_device(arrays: dict, device) -> dict:
    return {k: torch.from_numpy(v).to(device) if isinstance(v, np.ndarray) else v for k, v in arrays.items()}


@torch.no_grad()
def predict(model, batch: Batch, device="cpu", batch_size: int = 256, beam: int = 1,
            weighted: bool = True, progress=None) -> dict:
    """{"cls" (N,) int8 (-1: unreadable output), "p_exists" (N,) float64, "x" list of arrays
    or None} for every network of `batch`.  Networks are sorted by size into batches so that
    padding stays small."""
    c = model.config
    arch = ARCHS[c.arch]
    model.eval()
    N = len(batch)
    cls, p = np.full(N, -1, np.int8), np.full(N, np.nan)
    xs: list = [None] * N
    order = np.argsort(batch["n"], kind="stable")
    for k in range(0, N, batch_size):
        idx = order[k:k + batch_size]
        part = take(batch, idx)
        t = to_device(arch.arrays(part, c.task, weighted), device)
        with torch.autocast("cuda", torch.bfloat16, enabled=str(device).startswith("cuda")):
            p[idx], cls[idx], x = arch.predict(model, t, part, beam)
        for r, i in enumerate(idx):
            xs[i] = x[r]
        if progress:
            progress(len(idx))
    return {"cls": cls, "p_exists": p, "x": xs}
