"""Predictions of a trained model for a Batch of networks, and checkpoint loading."""
from __future__ import annotations

import numpy as np
import torch

from metabnet.batch import Batch, take
from metabnet.loader import model_arrays
from metabnet.model import ModelConfig, build
from metabnet.tokens import TOKEN_ID


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when a GPU is visible, else "cpu"; any other name as given."""
    return device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")


def load_model(path, device="cpu") -> tuple[torch.nn.Module, dict]:
    """The model of a checkpoint (metabnet train's checkpoint.pt or model.pt) and its metadata."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    model = build(ModelConfig(**ckpt["model_config"]))
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
    model.eval()
    N = len(batch)
    cls, p = np.full(N, -1, np.int8), np.full(N, np.nan)
    xs: list = [None] * N
    order = np.argsort(batch["n"], kind="stable")
    for k in range(0, N, batch_size):
        idx = order[k:k + batch_size]
        part = take(batch, idx)
        t = to_device(model_arrays(part, c.arch, c.task, weighted), device)
        with torch.autocast("cuda", torch.bfloat16, enabled=str(device).startswith("cuda")):
            if c.arch == "graph":
                _graph(model, t, part, idx, cls, p, xs)
            else:
                _seq2seq(model, t, part, idx, cls, p, xs, beam)
        if progress:
            progress(len(idx))
    return {"cls": cls, "p_exists": p, "x": xs}


def _graph(model, t, part, idx, cls, p, xs):
    out = model(t)
    prob = torch.sigmoid(out["logit"].float()).cpu().numpy()
    p[idx], cls[idx] = prob, prob >= 0.5
    if model.config.task == "quanti":
        x = torch.pow(10.0, out["log_x"].float()).cpu().numpy()
        for r, i in enumerate(idx):
            xs[i] = x[r, 1:part["n"][r] + 1].astype(np.float64) if prob[r] >= 0.5 else None


def _seq2seq(model, t, part, idx, cls, p, xs, beam):
    from metabnet.kernels.tokenize import decode_outputs

    src = t["src"]
    memory, mask = model.encode(src)
    first = model.decode(torch.full((len(src), 1), TOKEN_ID["<s>"], device=src.device), memory, mask)
    two = first[:, 0, [TOKEN_ID["N0"], TOKEN_ID["N1"]]].float().softmax(-1)[:, 1]
    p[idx] = two.cpu().numpy()
    max_len = 3 if model.config.task == "quali" else int(part["n"].max()) * 12 + 3
    toks = model.generate(src, max_len, beam, encoded=(memory, mask)).cpu().numpy()
    c, values, count = decode_outputs(toks)
    cls[idx] = c
    for r, i in enumerate(idx):
        xs[i] = values[r, :count[r]].copy() if c[r] == 1 and count[r] else None
