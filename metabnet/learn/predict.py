"""Predictions of a trained model for a Batch of networks, and checkpoint loading."""
from __future__ import annotations

import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch

from metabnet.batch import Batch, take
from metabnet.learn.archs import ARCHS
from metabnet.learn.model import ModelConfig, build


# What a checkpoint's model_config may ask for (`load_model`): a field outside its bounds is
# refused when the checkpoint is loaded, not met later as a model that never finishes
# (a billion flux iterations) or cannot be built.  Each bound is well past anything trained.
CONFIG_BOUNDS = {"d_model": (1, 8192), "n_heads": (1, 256), "n_enc": (0, 128), "n_dec": (0, 128),
                 "mlp_ratio": (1, 64), "dropout": (0.0, 1.0), "vocab": (1, 1 << 20), "max_len": (1, 1 << 16),
                 "spd_max": (1, 1024), "iters_extra": (0, 4096), "iters_max": (1, 16_384)}
META_TYPES = {"weighted": bool, "data_config": dict, "data_mixture": list, "state": dict, "shipped": dict,
              "train_config": dict, "threads": int}  # the other fields a checkpoint may hold, read by score, eval, info


class CheckpointError(ValueError):
    """A file that is not a usable metabnet checkpoint; ``str()`` is one line naming it."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: not a usable metabnet checkpoint ({' '.join(str(problem).split())[:300]})")


def _torch_load(path, device):
    """torch.load of tensors and plain values only (weights_only: nothing in the file is ever
    run); CheckpointError on anything else, without torch's advice to load it unsafely."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except EOFError:
        raise CheckpointError(path, "the file is empty or cut short") from None
    except OSError as e:
        raise CheckpointError(path, f"cannot read it ({e.strerror or e})") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds on a file that is not its own
        msg = str(e)
        if "weights_only" in msg or "Unsupported global" in msg:
            raise CheckpointError(path, "it holds objects other than tensors and plain values; refused "
                                        "unread (a checkpoint of `metabnet train` holds none)") from None
        raise CheckpointError(path, f"not a torch checkpoint: {type(e).__name__}: "
                                    f"{msg.splitlines()[0] if msg else ''}") from None


def check_config(fields: dict, where) -> dict:
    """`fields` of a ModelConfig checked against CONFIG_BOUNDS, in one place for every loaded
    checkpoint and every override; CheckpointError naming the field."""
    known = set(ModelConfig.__dataclass_fields__)
    for key, value in fields.items():
        if key not in known:
            raise CheckpointError(where, f"model_config has an unknown field {key!r}")
        if key in CONFIG_BOUNDS:
            lo, hi = CONFIG_BOUNDS[key]
            kind = float if isinstance(lo, float) else int
            ok = isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
            if not ok or not lo <= value <= hi:
                raise CheckpointError(where, f"model_config {key} = {value!r}, expected "
                                             f"{'a number' if kind is float else 'an integer'} in [{lo}, {hi}]")
        elif not isinstance(value, str):
            raise CheckpointError(where, f"model_config {key} = {value!r}, expected a name")
    return fields


def load_model(path, device="cpu", **config) -> tuple[torch.nn.Module, dict]:
    """The model of a checkpoint (metabnet train's checkpoint.pt or model.pt) and its metadata.
    `config`: ModelConfig fields to change that do not change the weights (such as the flux
    model's iters_extra: a weight-tied step may be iterated longer than in training).

    Trusts nothing in the file: only tensors and plain values are unpickled, every config
    field is checked against CONFIG_BOUNDS (`check_config`, overrides too), the metadata
    against META_TYPES and the generator configs it names, the weights must fit the model
    exactly and be finite; anything else is one CheckpointError (a ValueError) naming the file."""
    from metabnet.gen.config import GenConfig

    ckpt = _torch_load(path, device)
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model_config"), dict) \
            or not isinstance(ckpt.get("model"), dict):
        raise CheckpointError(path, "expected a dict with 'model_config' and 'model' (weights)")
    for key, kind in META_TYPES.items():
        if ckpt.get(key) is not None and not isinstance(ckpt[key], kind):
            raise CheckpointError(path, f"{key!r} must be a {kind.__name__}, got {type(ckpt[key]).__name__}")
    for d in (ckpt.get("data_mixture") or []) + ([ckpt["data_config"]] if ckpt.get("data_config") else []):
        try:
            GenConfig.from_json(json.dumps(d))
        except (TypeError, ValueError) as e:
            raise CheckpointError(path, f"bad data config ({e})") from None
    fields = check_config({**ckpt["model_config"], **config}, path)
    try:
        model = build(ModelConfig(**fields))
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(path, f"the weights do not fit its model_config: {why}") from None
    if not all(torch.isfinite(p).all() for p in model.state_dict().values() if p.is_floating_point()):
        raise CheckpointError(path, "its weights hold NaN or infinite values")
    return model.to(device).eval(), ckpt


def save_compact(src, dst, dtype=torch.bfloat16) -> int:
    """Write the checkpoint at `src` (checkpoint.pt or model.pt of `metabnet train`) to `dst`
    in compact form: the weights and configs only (no optimizer or RNG state), floating-point
    weights in `dtype` (tied weights stored once), the zip entries deflated.  `load_model`
    reads it like any checkpoint, into full-precision modules (torch.load reads deflated zip
    entries).  Written through a temporary name; returns its size in bytes."""
    from metabnet.fileio import atomic_write

    ckpt = _torch_load(src, "cpu")
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        raise CheckpointError(src, "expected a dict with 'model' (weights)")
    cast = {}  # one converted tensor per storage, so that tied weights stay one
    weights = {}
    for k, v in ckpt["model"].items():
        key = (v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape))
        if key not in cast:
            cast[key] = v.to(dtype) if v.is_floating_point() else v
        weights[k] = cast[key]
    raw = io.BytesIO()
    torch.save({**{k: v for k, v in ckpt.items() if k not in ("model", "optim", "rng")}, "model": weights}, raw)
    packed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as zin, \
            zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    with atomic_write(dst, "wb") as f:
        f.write(packed.getvalue())
    return len(packed.getvalue())


def to_device(arrays: dict, device) -> dict:
    return {k: torch.from_numpy(v).to(device) if isinstance(v, np.ndarray) else v for k, v in arrays.items()}


SIZE_SPREAD = 1.25  # a batch's largest network has at most this many times the nodes of its smallest (+ 8)


def size_batches(n: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices of networks with n inner nodes, sorted by size and cut into batches of at most
    `batch_size` networks of similar size (largest <= SIZE_SPREAD x smallest + 8 nodes), and
    of at most batch_size x 64^2 padded node pairs: the dense models' work and memory grow with
    B T^2 and more, so a 600-node network is never padded beside small ones, nor batched by
    the hundred."""
    order = np.argsort(n, kind="stable")
    budget = batch_size * 64 ** 2
    out, start = [], 0
    for k in range(1, len(order) + 1):
        if k < len(order):
            lo, hi = int(n[order[start]]) + 2, int(n[order[k]]) + 2
            if k - start < batch_size and hi <= SIZE_SPREAD * lo + 8 and (k + 1 - start) * hi * hi <= budget:
                continue
        out.append(order[start:k])
        start = k
    return out


@contextmanager
def batch_workers(device, count: int):
    """map(fn, items) in order: on the CPU, over one thread per torch thread, each running its
    items' ops on one thread (the batched ops of these models are too small to split well
    within an op - 2 threads per op: ~1.2x one; 2 batches at once: ~1.5x); on a GPU, or with one
    thread or item, the plain map.  Restores torch's thread count."""
    threads = torch.get_num_threads()
    if str(device) != "cpu" or threads < 2 or count < 2:
        yield map
        return
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(min(threads, count)) as pool:
            yield pool.map
    finally:
        torch.set_num_threads(threads)


def predict(model, batch: Batch, device="cpu", batch_size: int = 256, beam: int = 1,
            weighted: bool = True, progress=None) -> dict:
    """{"cls" (N,) int8 (-1: unreadable output), "p_exists" (N,) float64, "x" list of arrays
    or None} for every network of `batch`, in batches of similar size (`size_batches`), several
    at once on the CPU (`batch_workers`)."""
    c = model.config
    arch = ARCHS[c.arch]
    model.eval()
    N = len(batch)
    cls, p = np.full(N, -1, np.int8), np.full(N, np.nan)
    xs: list = [None] * N

    def one(idx):
        with torch.no_grad(), torch.autocast("cuda", torch.bfloat16, enabled=str(device).startswith("cuda")):
            part = take(batch, idx)
            return idx, arch.predict(model, to_device(arch.arrays(part, c.task, weighted), device), part, beam)

    parts = size_batches(batch["n"], batch_size)
    with batch_workers(device, len(parts)) as run:
        for idx, (p_idx, cls_idx, x) in run(one, parts):
            p[idx], cls[idx] = p_idx, cls_idx
            for r, i in enumerate(idx):
                xs[i] = x[r]
            if progress:
                progress(len(idx))
    return {"cls": cls, "p_exists": p, "x": xs}
