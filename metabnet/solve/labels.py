"""Labelled Batches of given networks: the labels a file carries, else the exact solver's."""
from __future__ import annotations

from metabnet.batch import Batch, as_batch
from metabnet.network import Network
from metabnet.solve.dispatch import solve


def networks_batch(nets: list[Network], family: str = "files") -> Batch:
    """CSR Batch of Network objects with labels: those a token JSON file carries
    (meta "exists_unique" / "x"), else computed by the exact solver."""
    labels = []
    for net in nets:
        if net.meta.get("exists_unique") is not None:
            x = net.meta.get("x")
            labels.append((net.meta["exists_unique"], x is not None, x))
        else:
            r = solve(net)
            labels.append((r["exists_unique"], r["exists_bounded"], r["x"]))
    return as_batch(nets, labels, family)
