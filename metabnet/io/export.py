"""Shard contents as DESIGN §5 records (network object + the labels `solve` would give)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from metabnet.gen.shard import read_shard


def shard_records(path, limit: int | None = None):
    """Yield one dict per network of the shard at `path`."""
    batch, config, attrs = read_shard(path)
    stem = Path(path).stem
    mm = config.kinetics == "michaelis-menten"
    method = "ode" if config.method == "ode" else ("newton" if mm else "direct")
    count = len(batch) if limit is None else min(limit, len(batch))
    for i in range(count):
        net = batch.network(i, f"{stem}:{i}")
        x = batch.x(i)
        res = float(batch["residual"][i])
        yield {"file": str(path), **net.to_dict(),
               "exists_unique": bool(batch["exists_unique"][i]),
               "exists_bounded": bool(batch["exists_bounded"][i]),
               "x": None if x is None else [float(v) for v in x],
               "residual": res if x is not None and np.isfinite(res) else None,
               "method": method}
