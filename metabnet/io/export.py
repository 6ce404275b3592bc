"""Shard contents as DESIGN §5 records (network object + the labels `solve` would give)."""
from __future__ import annotations

import numpy as np

from metabnet.gen.shard import open_shard


def shard_records(path, limit: int | None = None):
    """Yield one dict per network of the shard at `path` (the first `limit`), read by slices."""
    with open_shard(path) as shard:
        mm = shard.config.kinetics == "michaelis-menten"
        method = "ode" if shard.config.method == "ode" else ("newton" if mm else "direct")
        for net, labels in shard.networks(limit):
            res = labels["residual"]
            yield {"file": str(path), **net.to_dict(),
                   "exists_unique": labels["exists_unique"], "exists_bounded": labels["exists_bounded"],
                   "x": labels["x"], "residual": res if labels["x"] is not None and np.isfinite(res) else None,
                   "method": method}
