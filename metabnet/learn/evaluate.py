"""`metabnet eval`: the paper's scores of a checkpoint on shards, network files or token JSON,
broken down by class, family, size bucket and kinetics."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from metabnet.learn.archs import ARCHS
from metabnet.batch import Batch, concat, take
from metabnet.solve import networks_batch
from metabnet.fileio import FormatError
from metabnet.io.formats import iter_network_files, read_networks
from metabnet.gen.shard import ShardError
from metabnet.learn.loader import ShardIndex, size_bucket
from metabnet.metrics import answer_error, rel_l1, report


def load_data(paths, limit: int | None = None, exclude=()) -> tuple[Batch, list[str]]:
    """All networks of `paths` (shard files or folders of shards; network files or folders
    of them, but not the files in `exclude`, such as the run's own report) as one Batch, and
    the error lines of files (and JSON lines) that could not be read."""
    parts, errors, files = [], [], []
    for p in map(Path, paths):
        if p.suffix == ".h5" or (p.is_dir() and any(p.glob("*.h5"))):
            try:
                index = ShardIndex(p)
            except ShardError as e:  # one failure among the others
                errors.append(str(e))
                continue
            try:
                parts.append(index.read_all())
            except ShardError as e:
                errors.append(str(e))
            finally:
                index.close()
        else:
            files.append(p)
    nets, bad = [], []  # bad: FormatErrors of files and of JSON lines (their good lines are read)
    found = iter_network_files(files, shards=False, exclude=exclude, errors=bad) if files else []
    for f in found:  # shards: read above
        try:
            nets += read_networks(f, bad)
        except FormatError as e:
            bad.append(e)
    errors += map(str, bad)
    if nets:
        parts.append(networks_batch(nets))
    if not parts:
        raise FormatError(", ".join(map(str, paths)), "no networks to evaluate")
    data = concat(parts) if len(parts) > 1 else parts[0]
    if limit is not None and limit < len(data):
        data = take(data, np.random.default_rng(0).choice(len(data), limit, replace=False))
    return data, errors


def score_batch(model, data: Batch, device="cpu", batch_size: int = 256, beam: int = 1, weighted: bool = True,
                progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """The evaluation loop: the model's predictions on `data` (metabnet.learn.predict.predict)
    and, per network, (true class, predicted class, error) as metabnet.metrics.summary reads
    them; returns those three arrays and the predictions."""
    from metabnet.learn.predict import predict

    pred = predict(model, data, device, batch_size, beam, weighted, progress)
    true = data["exists_unique"].astype(np.int8)
    quanti = model.config.task == "quanti"
    err = np.array([answer_error(t, quanti, rel_l1(data.x(i), pred["x"][i]) if t and quanti else None)
                    for i, t in enumerate(true)], np.float64)
    return true, pred["cls"], err, pred


def evaluate(model, ckpt: dict, data: Batch, device="cpu", batch_size: int = 256, beam: int = 1,
             progress=None) -> dict:
    """The report of metabnet.metrics plus the count of networks the model cannot read."""
    return evaluate_predictions(model, ckpt, data, device, batch_size, beam, progress)[0]


def evaluate_predictions(model, ckpt: dict, data: Batch, device="cpu", batch_size: int = 256, beam: int = 1,
                         progress=None) -> tuple[dict, Batch, dict]:
    """(the report of `evaluate`, the networks the model can read, its predictions on them).
    Networks outside its vocabulary (`unreadable`) or too large for it (`too_large`: the
    seq2seq's max_len, the flux model's iterations) are left out and counted."""
    weighted = ckpt.get("weighted", True)
    arch = ARCHS[model.config.arch]
    readable = arch.readable(data, weighted)
    fits = arch.fits(data, model.config, weighted)
    ok = readable & fits
    data = take(data, np.flatnonzero(ok))
    true, cls, err, pred = score_batch(model, data, device, batch_size, beam, weighted, progress)
    groups = {"family": data["family"], "size": size_bucket(data["n"]), "kinetics": data["kinetics"]}
    rep = report(true, cls, err, groups)
    rep["unreadable"] = int((~readable).sum())
    rep["too_large"] = int((readable & ~fits).sum())
    rep["model"] = {"arch": model.config.arch, "task": model.config.task}
    return rep, data, pred
