"""How far a one-line local rule gets on the qualitative task: "an equilibrium exists iff every
inner node has an outgoing reaction" (no sink), on each shard folder given.

    python benchmarks/sink_rule.py runs/erdos-S-test runs/scale_free-S runs/trap-S ...

Prints, per folder: networks, share with an equilibrium (`exists_unique`; a constant answer
gets max(share, 1 - share)), share without a sink, and the rule's accuracy.
"""
import sys

import numpy as np

from metabnet.learn.loader import ShardIndex


def no_sink(batch) -> np.ndarray:
    out = np.empty(len(batch), bool)
    for i in range(len(batch)):
        n, e = int(batch["n"][i]), slice(batch["edge_ptr"][i], batch["edge_ptr"][i + 1])
        out[i] = (np.bincount(batch["edge_src"][e].astype(np.int64), minlength=n + 2)[1:n + 1] > 0).all()
    return out


if __name__ == "__main__":
    for path in sys.argv[1:]:
        index = ShardIndex(path)
        b = index.read_all()
        index.close()
        rule = no_sink(b)
        acc = np.mean(rule == b["exists_unique"])
        print(f"{path}: {len(b):,} networks, {100 * b['exists_unique'].mean():.1f}% with equilibrium, "
              f"{100 * rule.mean():.1f}% without a sink, no-sink rule accuracy {100 * acc:.2f}%")
