"""The notebook API: what the commands do, as functions that return records, DataFrames and a
plot.  `import metabnet` makes them available as metabnet.read, metabnet.solve, ... without
loading anything heavy until one is called (metabnet/__init__.py).  (Not metabnet.solve and
metabnet.score: those are the sub-packages.)

    nets = metabnet.read_networks("pathway.json")  # a file or a folder: a list of Network
    recs = metabnet.solve_networks(nets)        # the exact solver: one record per network
    recs = metabnet.score_networks(nets)        # the shipped model (model="solver": the solver)
    kos = metabnet.knockouts(nets[0])           # every single knock-out, the intact network first
    metabnet.to_frame(kos)                      # pandas: one row per record
    metabnet.concentrations(kos, "log2fc")      # pandas: one row per record, one column per node
    metabnet.plot_knockouts(kos)                # heat map of log2 fold changes

Records are the dicts of DESIGN §5 (`metabnet solve` and `metabnet score` write the same as
JSON lines).  Each record of a network whose nodes have names carries them under "nodes", so
the DataFrames are labelled by name (by node number 1..n otherwise).  pandas and matplotlib
come with `pip install "metabnet[notebook]"`.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

from metabnet.io import formats
from metabnet.network import Network
from metabnet.score import knockout as ko
from metabnet.score.scorer import Scorer
from metabnet.solve import solve

NOTEBOOK = 'pip install "metabnet[notebook]"'


def read_networks(path) -> list[Network]:
    """Every network in the file at `path`, or in the network files under the folder `path`
    (recursively, as `metabnet solve` finds them); FormatError naming the first bad file."""
    path = Path(path)
    files = formats.iter_network_files([path]) if path.is_dir() else [path]
    return [net for f in files for net in formats.read_networks(f)]


def solve_networks(networks, method: str = "direct"):
    """The exact answer: one record for a Network, a list of records for a list of them."""
    one = isinstance(networks, Network)
    recs = [_named(solve(net, method), net) for net in ([networks] if one else networks)]
    return recs[0] if one else recs


def score_networks(networks, model: str = "default", verify: bool = False, device: str = "cpu", batch_size: int = 256):
    """What `metabnet score` answers: the model's prediction for each network (`model`: a
    checkpoint path, "default" for the shipped model, "solver" for the exact solver alone), the
    solver's answer where the model cannot take the network; with `verify` the exact answer
    beside it.  One record for a Network, a list for a list."""
    one = isinstance(networks, Network)
    nets = [networks] if one else list(networks)
    recs = [_named(r, net) for r, net in zip(_scorer(model, device, batch_size, verify).score(nets), nets)]
    return recs[0] if one else recs


def knockouts(net: Network, model: str = "solver", pairs: bool = False, device: str = "cpu") -> list[dict]:
    """Every knock-out of one reaction (or, with `pairs`, two) of `net`, as `metabnet knockout`
    writes them: the intact network's record first (knockout []), then one per variant with
    the reactions removed, whether the equilibrium is destroyed or created, and each node's
    ratio and log2 fold change against the intact network.  The exact solver by default."""
    return [_named(r, net) for r in ko.run(net, _scorer(model, device, 256, False), pairs)]


def to_frame(records):
    """A pandas DataFrame with one row per record and its single values as columns (name, n,
    exists_unique, residual, method, ...; for knock-outs the reactions removed, destroys,
    nodes_off, ...), indexed by `label`.  Per-node values: `concentrations`."""
    pd = _need("pandas", "DataFrames")
    recs = _records(records)
    nested = {k for r in recs for k, v in r.items() if isinstance(v, (list, dict))}  # x, ratio, exact, ...
    rows = []
    for rec in recs:
        row = {k: v for k, v in rec.items() if k not in nested}
        if "reactions" in rec:
            row["reactions"] = " + ".join(rec["reactions"])
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index([label(r) for r in recs], name="record"))


def concentrations(records, values: str = "x"):
    """A pandas DataFrame with one row per record (indexed by `label`) and one column per
    node, named by the node's name where the network has names (else its number 1..n):
    `values` "x" the concentrations; for knock-out records also "ratio" or "log2fc" against
    the intact network.  NaN where there is no value (no equilibrium, or a ratio undefined)."""
    pd = _need("pandas", "DataFrames")
    recs = _records(records)
    rows = [dict(zip(nodes(r), _floats(r.get(values), r["n"]))) for r in recs]
    columns = list(dict.fromkeys(name for r in recs for name in nodes(r)))
    frame = pd.DataFrame(rows, columns=columns, index=pd.Index([label(r) for r in recs], name="record"))
    frame.columns.name = "node"
    return frame.astype(float)


def plot_knockouts(records, ax=None, top: int | None = 40):
    """A heat map of knock-out records (`knockouts`): one row per knock-out, one column per
    node, coloured by the log2 fold change of its concentration against the intact network;
    black where the knock-out switches the node off (ratio 0), grey where there is no value
    (no equilibrium).  With `top`, the knock-outs with the largest effects only.  Returns the
    matplotlib Axes."""
    _need("matplotlib", "the plot")
    import matplotlib.pyplot as plt
    import numpy as np

    recs = [r for r in _records(records) if r.get("knockout")]
    if not recs:
        raise ValueError("no knock-out records to plot (metabnet.knockouts gives them)")
    ratio = concentrations(recs, "ratio")
    if top is not None and len(recs) > top:
        effect = (ratio == 0).sum(axis=1) * 1e3 + np.log2(ratio.where(ratio > 0)).abs().max(axis=1).fillna(0)
        ratio = ratio.loc[effect.sort_values(ascending=False, kind="stable").index[:top]]
    lfc = np.log2(ratio.where(ratio > 0).to_numpy(dtype=float))
    bound = max(1.0, float(np.nanmax(np.abs(lfc)))) if np.isfinite(lfc).any() else 1.0
    lfc[(ratio == 0).to_numpy()] = -np.inf  # switched off: below the colour range
    cmap = plt.get_cmap("RdBu_r").with_extremes(under="black", bad="lightgrey")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.35 * ratio.shape[1] + 2), max(2.5, 0.3 * len(ratio) + 1.5)))
    im = ax.imshow(np.ma.masked_invalid(np.where(np.isneginf(lfc), -2 * bound, lfc)), cmap=cmap,
                   vmin=-bound, vmax=bound, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(ratio.shape[1]), [str(c) for c in ratio.columns], rotation=90)
    ax.set_yticks(range(len(ratio)), [str(i) for i in ratio.index])
    ax.set(xlabel="node", ylabel="knock-out", title="log2 fold change against the intact network")
    ax.figure.colorbar(im, ax=ax, extend="min", label="log2 fold change (black: switched off)")
    return ax


def label(rec: dict) -> str:
    """A record's row label: the reactions a knock-out removed ("intact" for the intact
    network), else the network's name."""
    if "knockout" in rec:
        return " + ".join(rec["reactions"]) if rec["knockout"] else "intact"
    return str(rec.get("name"))


def nodes(rec: dict) -> list[str]:
    """The names of a record's n nodes: its "nodes" (or the keys of x where x is keyed by
    name), else "1".."n"."""
    names = rec.get("nodes")
    if isinstance(rec.get("x"), dict):
        names = list(rec["x"])
    return [str(s) for s in names] if names and len(names) == rec["n"] else [str(v) for v in range(1, rec["n"] + 1)]


# ---- helpers -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _scorer(model: str, device: str, batch_size: int, verify: bool) -> Scorer:
    """A Scorer for a --model value (the checkpoint loaded once per session)."""
    from metabnet.learn.shipped import model_path

    path = model_path(model)
    if path is None:
        return Scorer(verify=verify)
    from metabnet.learn.predict import load_model

    m, ckpt = load_model(path, device)
    return Scorer(m, ckpt, device, batch_size, verify=verify)


def _named(rec: dict, net: Network) -> dict:
    """The record with the network's node names under "nodes" where it has names of its own."""
    if rec.get("nodes") is None and net.nodes is not None:
        rec["nodes"] = list(net.nodes)
    return rec


def _records(records) -> list[dict]:
    return [records] if isinstance(records, dict) else list(records)


def _floats(values, n: int) -> list[float]:
    """n floats from a list (or a dict keyed by name) of values, NaN for None or missing."""
    if isinstance(values, dict):
        values = list(values.values())
    if values is None or len(values) != n:
        return [math.nan] * n
    return [math.nan if v is None else float(v) for v in values]


def _need(module: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{module} is needed for {what}: {NOTEBOOK}") from None
