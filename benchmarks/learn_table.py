"""Side-by-side tables and learning curves of trained runs (benchmarks/README.md, Learning).

    python benchmarks/learn_table.py runs/flux-cpu runs/graph-cpu --sink runs/sink_rule.txt \
        --png benchmarks/results/cpu/flux-vs-graph.png

Reads each run's eval.json (`metabnet eval ... --out`) and metrics.jsonl, and the no-sink
rule's accuracy per test set (`benchmarks/sink_rule.py` output).  Prints, per family and per
size, each run's accuracy beside the rule's, and the share within 0.1 / 0.05 / 0.02 relative
L1 with the median; draws validation accuracy and median relative L1 against examples seen.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def sink_rule(path) -> dict:
    """{(family, size): accuracy} from sink_rule.py's lines (test set folders named FAMILY-SIZE[-test])."""
    out = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"\S*/([a-z_]+)-([SML])(?:-test)?: .*no-sink rule accuracy ([\d.]+)%", line)
        if m:
            out[(m[1], m[2])] = float(m[3])
    return out


def cell(v, pct=True):
    return "–" if v is None else (f"{100 * v:.2f}%" if pct else f"{v:.3f}")


def tables(runs: list[Path], sink: dict) -> str:
    reps = {r.name: json.loads((r / "eval.json").read_text()) for r in runs}
    names = list(reps)
    lines = []
    for group in ("family", "size"):
        keys = sorted({k for rep in reps.values() for k in rep["by"][group]})
        head = f"| {group} | count | " + " | ".join(f"{n} accuracy" for n in names) + " | no-sink rule |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for k in keys:
            rule = [v for (f, s), v in sink.items() if (f if group == "family" else s) == k]
            count = next(rep["by"][group][k]["count"] for rep in reps.values() if k in rep["by"][group])
            acc = [cell(reps[n]["by"][group].get(k, {}).get("accuracy")) for n in names]
            rule_cell = "–" if not rule else f"{min(rule):.2f}%" if len(rule) == 1 else f"{min(rule):.2f}–{max(rule):.2f}%"
            lines.append(f"| {k} | {count:,} | " + " | ".join(acc) + f" | {rule_cell} |")
        lines.append("")
        head = f"| {group} | " + " | ".join(f"{n} within 0.1 / 0.05 / 0.02 (median)" for n in names) + " |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for k in keys:
            row = []
            for n in names:
                s = reps[n]["by"][group].get(k, {})
                row.append(" / ".join(cell(s.get(f"within_{t}")) for t in (0.1, 0.05, 0.02))
                           + f" ({cell(s.get('median_rel_l1'), pct=False)})" if "within_0.1" in s else "–")
            lines.append(f"| {k} | " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def curves(runs: list[Path], png: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for r in runs:
        rows = [json.loads(s) for s in (r / "metrics.jsonl").read_text().splitlines() if s]
        val = [x for x in rows if x["split"] == "val"]
        ex = [x["examples"] for x in val]
        a.plot(ex, [x["accuracy"] for x in val], marker="o", ms=3, label=r.name)
        b.plot(ex, [min(x.get("median_rel_l1", 10), 10) for x in val], marker="o", ms=3, label=r.name)
    a.set(xlabel="training examples", ylabel="validation accuracy (existence)", title="existence")
    b.set(xlabel="training examples", ylabel="median relative L1 of x (validation)", yscale="log",
          title="concentrations")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--sink", type=Path, help="sink_rule.py output on the same test sets")
    ap.add_argument("--png", type=Path, help="learning curves of the runs")
    args = ap.parse_args()
    print(tables(args.runs, sink_rule(args.sink) if args.sink else {}))
    if args.png:
        curves(args.runs, args.png)


if __name__ == "__main__":
    main()
