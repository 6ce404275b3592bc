"""docs/accuracy.md: the shipped model on every family, size and kinetics, beside the no-sink rule.

    bash benchmarks/accuracy.sh    # the test sets (testsets.sh: accsets), then this script

or by hand, on any shard folders of single family/size/kinetics named FAMILY-SIZE-KINETICS:

    python benchmarks/accuracy.py runs/acc/* --run runs/default --compare graph=runs/graph-cpu/model.pt

Per set: the share with an equilibrium, the no-sink rule's accuracy (benchmarks/sink_rule.py),
the model's qualitative accuracy and its share of networks within relative L1 0.1/0.05/0.02
(models given with --compare beside it), then scoring speed (the model batched against the
exact solver, networks/s on the same networks), the learning curves of --run and a parity
plot of predicted against exact concentrations.  Writes OUT/accuracy.md, OUT/accuracy.json
and OUT/accuracy-*.png.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sink_rule import no_sink  # noqa: E402  (benchmarks/, beside this script)

from metabnet.learn.evaluate import evaluate_predictions, load_data  # noqa: E402
from metabnet.learn.predict import load_model, predict  # noqa: E402
from metabnet.learn.shipped import describe, model_path  # noqa: E402
from metabnet.solve import solve  # noqa: E402

TOLS = ("0.1", "0.05", "0.02")
SIZES = ("S", "M", "L")


def pct(v, digits=2):
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.{digits}f}%"


def evaluate_set(path, model, ckpt, compare, parity):
    b = load_data([path])[0]
    family, size = Path(path).name.split("-")[:2]  # FAMILY-SIZE-KINETICS (family names have no "-")
    kinetics = str(b["kinetics"][0])
    rep, kept, pred = evaluate_predictions(model, ckpt, b)
    o = rep["overall"]
    row = {"family": family, "size": size, "kinetics": kinetics, "count": len(b),
           "exists": float(b["exists_unique"].mean()), "sink_rule": float(np.mean(no_sink(b) == b["exists_unique"])),
           "unreadable": rep["unreadable"], "accuracy": o["accuracy"], **{f"within_{t}": o.get(f"within_{t}") for t in TOLS}}
    for name, (m, c) in compare.items():
        r = evaluate_predictions(m, c, b)[0]
        row[name] = {"readable": len(b) - r["unreadable"], "accuracy": r["overall"]["accuracy"] if r["overall"]["count"] else None,
                     "within_0.1": r["overall"].get("within_0.1") if r["overall"]["count"] else None}
    rng = np.random.default_rng(0)
    for i in rng.permutation(np.flatnonzero(kept["exists_unique"]))[:40]:  # parity sample
        if pred["x"][i] is None:  # the model says "no equilibrium": nothing to plot
            continue
        x, xp = kept.x(i), np.asarray(pred["x"][i])
        pos = x > 0
        parity.setdefault((kinetics, size), []).append(np.stack([x[pos], xp[pos]]))
    return row


def speed(path, model, ckpt, limit=400):
    """Networks/s on the same networks: the model batched (256) and the exact solver one by one."""
    b = load_data([path])[0]
    nets = [b.network(i) for i in range(min(limit, len(b)))]
    from metabnet.batch import take
    part = take(b, np.arange(len(nets)))
    predict(model, take(part, np.arange(min(32, len(nets)))), weighted=ckpt.get("weighted", True))  # warm-up
    t = time.perf_counter()
    predict(model, part, batch_size=256, weighted=ckpt.get("weighted", True))
    t_model = time.perf_counter() - t
    solve(nets[0])  # warm-up (compiled kernels)
    t = time.perf_counter()
    for net in nets:
        solve(net)
    t_solve = time.perf_counter() - t
    return {"set": Path(path).name, "networks": len(nets), "model_per_s": len(nets) / t_model,
            "solver_per_s": len(nets) / t_solve}


def parity_plot(parity, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, kin in zip(axes, ("linear", "michaelis-menten")):
        for size, colour in zip(SIZES, ("tab:blue", "tab:orange", "tab:green")):
            pts = parity.get((kin, size))
            if not pts:
                continue
            xy = np.concatenate(pts, 1)
            ax.scatter(xy[0], xy[1], s=2, alpha=0.3, color=colour, label=f"{size} ({xy.shape[1]:,} nodes)", rasterized=True)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set(xscale="log", yscale="log", xlabel="exact x", ylabel="predicted x", title=kin)
        ax.legend(markerscale=5, fontsize=8)
    fig.suptitle("shipped model: predicted vs exact concentration (40 networks with an equilibrium per set)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def table(rows, kinetics, compare):
    head = ["family", "size", "networks", "with eq.", "no-sink rule", "**model** accuracy",
            "within 0.1", "within 0.05", "within 0.02"] + [f"{n} accuracy / within 0.1" for n in compare]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["kinetics"] != kinetics:
            continue
        cells = [r["family"], r["size"], f"{r['count']:,}", pct(r["exists"], 1), pct(r["sink_rule"]),
                 f"**{pct(r['accuracy'])}**"] + [pct(r[f"within_{t}"]) for t in TOLS]
        for n in compare:
            c = r[n]
            cells.append("not readable" if not c["readable"] else f"{pct(c['accuracy'])} / {pct(c['within_0.1'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--model", default="default", help="checkpoint or `default` (the shipped model)")
    ap.add_argument("--run", type=Path, help="the model's run directory (curves.png)")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=CKPT")
    ap.add_argument("--command", default="bash benchmarks/accuracy.sh", help="shown as the way to regenerate")
    ap.add_argument("--out", type=Path, default=Path("docs"))
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    path = model_path(a.model)
    model, ckpt = load_model(path)
    compare = {n: load_model(p) for n, p in (c.split("=", 1) for c in a.compare)}
    a.out.mkdir(parents=True, exist_ok=True)
    order = {f: k for k, f in enumerate(("erdos", "erdos_gnm", "scale_free", "small_world", "trap", "longpath",
                                         "bowtie", "layered", "modular"))}
    parity, rows = {}, []
    t0 = time.time()
    for s in a.sets:
        rows.append(evaluate_set(s, model, ckpt, compare, parity))
        print(f"{s}: accuracy {pct(rows[-1]['accuracy'])}, within 0.1 {pct(rows[-1]['within_0.1'])}", flush=True)
    rows.sort(key=lambda r: (r["kinetics"], order.get(r["family"], 99), SIZES.index(r["size"])))
    speeds = [speed(s, model, ckpt) for s in a.sets if s.name in ("erdos-S-linear", "erdos-M-linear",
                                                                   "erdos-S-michaelis-menten")]
    parity_plot(parity, a.out / "accuracy-parity.png")
    if a.run and (a.run / "curves.png").exists():
        shutil.copyfile(a.run / "curves.png", a.out / "accuracy-curves.png")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"
    (a.out / "accuracy.json").write_text(json.dumps({"model": describe(ckpt, path), "rows": rows, "speed": speeds,
                                                     "machine": machine}, indent=1, default=float) + "\n")

    def targets(kin, sizes, key, floor, families=None):
        sel = [r for r in rows if r["kinetics"] == kin and r["size"] in sizes and (families is None or r["family"] in families)]
        bad = [f"{r['family']}-{r['size']} {pct(r[key])}" for r in sel if r[key] is not None and r[key] < floor]
        return f"{len(sel) - len(bad)} of {len(sel)} sets" + (f" (below: {', '.join(bad)})" if bad else "")

    paper = ("erdos", "erdos_gnm", "scale_free", "small_world")
    hard = ("trap", "longpath", "bowtie", "layered", "modular")
    md = ["# Accuracy of the shipped model\n",
          f"Regenerate every number and picture here: `{a.command}` "
          f"({(time.time() - t0) / 60:.0f} min on the machine below; "
          f"{datetime.date.today().isoformat()}, {machine}, load average {os.getloadavg()[0]:.1f}).\n",
          "```\n" + describe(ckpt, path) + "\n```\n",
          "Test sets: `benchmarks/testsets.sh` `accsets` — every family at S, M and L (a quarter as many at L), "
          "linear and Michaelis–Menten (intake rates × 0.05, as in training), integer rates, seeds 2001 on "
          "(training draws seed 0). A network counts as right within 0.1 when the relative L1 error "
          "Σ|x̂ − x| / Σ|x| is below 0.1 (the paper's score); that share is over networks with an equilibrium. "
          "The no-sink rule — \"an equilibrium exists iff every inner node has an outgoing reaction\" — "
          "is the shortcut baseline every accuracy is quoted beside.\n",
          "## Against the targets (issue 13)\n",
          f"- qualitative ≥ 99.5% on the paper's families, S–L: linear {targets('linear', SIZES, 'accuracy', 0.995, paper)}; "
          f"Michaelis–Menten {targets('michaelis-menten', SIZES, 'accuracy', 0.995, paper)}",
          f"- qualitative ≥ 99% on every hard family, S–L: linear {targets('linear', SIZES, 'accuracy', 0.99, hard)}; "
          f"Michaelis–Menten {targets('michaelis-menten', SIZES, 'accuracy', 0.99, hard)}",
          f"- within 0.1 ≥ 95% on linear S/M: {targets('linear', ('S', 'M'), 'within_0.1', 0.95)}\n",
          "## Linear kinetics\n", table(rows, "linear", compare), "",
          "## Michaelis–Menten kinetics\n", table(rows, "michaelis-menten", compare), "",
          "## Scoring speed (same networks; model batched 256 at a time, exact solver one network at a time "
          "as `metabnet solve` does)\n",
          "| set | networks | model networks/s | exact solver networks/s |", "|---|---:|---:|---:|"]
    md += [f"| {s['set']} | {s['networks']} | {s['model_per_s']:,.0f} | {s['solver_per_s']:,.0f} |" for s in speeds]
    ood = a.out / "accuracy-ood.txt"
    if ood.exists():
        md += ["", "## Beyond the training distribution\n",
               "Settings the model never saw (accuracy.sh: 3 intakes and 3 excretions; 257–512 inner nodes, "
               "training had 32–64), `metabnet eval` and the no-sink rule:\n", "```", ood.read_text().strip(), "```"]
    md += ["", "## Pictures\n", "Learning curves of the training run: ![curves](accuracy-curves.png)\n",
           "Predicted against exact concentrations (log–log): ![parity](accuracy-parity.png)\n",
           "## The paper's seq2seq\n", "The paper's own model trained at its setting in one GPU run "
           "(`benchmarks/gpu_paper.sh`), beside this model on the same unweighted test sets: "
           "[paper-reproduction.md](paper-reproduction.md).\n"]
    (a.out / "accuracy.md").write_text("\n".join(md) + "\n")
    print(f"{a.out / 'accuracy.md'} written")


if __name__ == "__main__":
    main()
