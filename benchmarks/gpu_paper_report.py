"""Tables and curves of benchmarks/gpu_paper.py, from OUT/metrics.jsonl alone (no torch):
OUT/eval.md and OUT/curves.png.  With --check, also what a lent machine sends back: stray
temporary files removed, at most 8 files, each under 16 MB, plain names; exit code 1 if not.

    python benchmarks/gpu_paper_report.py OUT [--check]

metrics.jsonl holds one JSON object per line, by "kind": `info` (machine, settings; from
the prepare stage), `data_rate`, `testset`, `setup` (one per task: torch, device, peak,
parameters), `train` (the lines of `metabnet train`'s own log, with the task), `slice` (one
per checkpoint), `eval` (one per test set and checkpoint), `eval_skipped`, `stopped`.
A line cut short by a kill is skipped.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from metabnet.fileio import atomic_write, write_text

MAX_FILES, MAX_BYTES = 8, 16_000_000  # what comes back from a lent machine (16 MiB there; kept under 16 MB)
PAPER_POINTS = [(3_000_000, 0.98), (5_000_000, 0.99)]  # the paper's existence accuracy, balanced set
TOLS = ("0.1", "0.05", "0.02", "0.01")


def read(out: Path) -> list[dict]:
    rows = []
    path = Path(out) / "metrics.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "kind" in rec:
            rows.append(rec)
    return rows


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"


def _num(x, fmt="{:,.0f}") -> str:
    return "–" if x is None else fmt.format(x)


def _last(rows, **match):
    hits = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    return hits[-1] if hits else None


def header(rows: list[dict]) -> list[str]:
    info = _last(rows, kind="info") or {}
    lines = ["# The paper's seq2seq in the paper's setting, one GPU run (benchmarks/gpu_paper.sh)", ""]
    if info.get("tiny"):
        lines += ["**CPU REHEARSAL (`--tiny`): a tiny model on tiny networks for a few steps. These figures "
                  "test the script; they are not results.**", ""]
    lines += [f"Run: {info.get('date', '?')}, commit {info.get('commit', '?')}, host {info.get('host', '?')}, "
              f"{info.get('cpus', '?')} CPU cores, GPU: {info.get('gpu') or 'none'}.", ""]
    for task in ("quali", "quanti"):
        s = _last(rows, kind="setup", task=task)
        if s:
            peak = s.get("peak_tflops")
            lines.append(f"- {task}: device {s['device']} ({s.get('gpu') or 'no GPU'}), torch {s['torch']}, "
                         f"{s['params']:,} parameters, bf16 autocast {'on' if s['bf16'] else 'off'}, "
                         f"torch.compile {'on' if s['compile'] else 'off'}; MFU against "
                         + (f"{peak:g} TFLOP/s (dense bf16 peak)" if peak else "no known peak (no MFU)") + ".")
    m = info.get("model")
    if m:
        lines += ["", f"Model: the paper's encoder-decoder, {m['n_enc']} encoder and {m['n_dec']} decoder layers, "
                      f"width {m['d_model']}, {m['n_heads']} heads, at most {m['max_len']} tokens in or out. "
                      f"Adam (AdamW, weight decay 0, betas 0.9/0.98) at {info['lr']:g} after {info['warmup']} "
                      f"warm-up steps, constant; batch {info['batch_size']}; pools of {info['pack']} batches "
                      "sorted by length. Data: "
                      f"{info['data']}, generated as training goes (seed 0, test sets from seeds "
                      f"{info['test_seed']}+)."]
    rate = [r for r in rows if r["kind"] == "data_rate"]
    if rate:
        lines += ["", "Training batches made by the CPU (generator + tokenizer, one thread feeding Numba's "
                      f"{rate[-1]['numba_threads']}): "
                  + ", ".join(f"{r['task']} {r['examples_per_s']:,.0f} examples/s" for r in rate) + "."]
    return lines


def training_table(rows) -> list[str]:
    out = ["## Training", "",
           "| task | slices | steps | examples seen | examples/s (median log interval) | examples/s (whole stage) "
           "| model TFLOP/s | MFU | waiting for data | last loss |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for task in ("quali", "quanti"):
        s = _last(rows, kind="slice", task=task)
        if not s:
            out.append(f"| {task} | not run | | | | | | | | |")
            continue
        out.append(f"| {task} | {s['slice']} | {s['step']:,} | **{s['examples']:,}** | {_num(s.get('examples_per_s'))} "
                   f"| {_num(s.get('examples_per_s_stage'))} | {_num(s.get('model_tflops'), '{:.3g}')} "
                   f"| {_pct(s.get('mfu'))} | {_pct(s.get('data_wait_share'))} | {_num(s.get('loss'), '{:.4f}')} |")
    stops = [r for r in rows if r["kind"] == "stopped"]
    out += [""] + [f"- {r['task']}: {r['why']}" for r in stops]
    out += ["", "examples/s (median log interval): the training loop alone, interval by interval (the first holds "
                "torch.compile); whole stage: examples over the training time of the stage, compilation included. "
                "MFU: model FLOPs (6 x parameters x positions + attention, padded positions) over the peak. "
                "Waiting for data: the share of training time the loop waited for a batch."]
    return out


def eval_table(rows, task) -> list[str]:
    evals = [r for r in rows if r["kind"] == "eval" and r["task"] == task]
    if not evals:
        return [f"## {task}: no evaluation yet", ""]
    last_slice = max(r["slice"] for r in evals)
    cur = [r for r in evals if r["slice"] == last_slice]
    title = {"quali": "Qualitative task: does an equilibrium exist",
             "quanti": "Quantitative task: every concentration (relative L1 error within the tolerance)",
             "shipped": "The shipped model (`metabnet info --model`) on the same test sets"}[task]
    out = [f"## {title}", "", f"Checkpoint after {cur[0]['examples']:,} examples (slice {last_slice}).", ""]
    head = "| set | group | networks | with eq. | no-sink rule | **model** accuracy |"
    rule = "|---|---|---:|---:|---:|---:|"
    if task != "quali":
        head += "".join(f" within {t} |" for t in TOLS)
        rule += "---:|" * len(TOLS)
    out += [head, rule]
    for r in cur:
        line = (f"| {r['set']} | {r['group']} | {r['count']:,} | {_pct(r.get('share_exists'))} | {_pct(r.get('no_sink'))} "
                f"| **{_pct(r.get('accuracy'))}** |")
        if task != "quali":
            line += "".join(f" {_pct(r.get('within_' + t))} |" for t in TOLS)
        out.append(line)
    skipped = _last(rows, kind="eval_skipped", task=task, slice=last_slice)
    if skipped and skipped["sets"]:
        out += ["", f"Not evaluated at this checkpoint (out of time): {', '.join(skipped['sets'])}."]
    out.append("")
    return out


def curve_table(rows) -> list[str]:
    evals = [r for r in rows if r["kind"] == "eval" and r["task"] in ("quali", "quanti")]
    if not evals:
        return []
    sets = list(dict.fromkeys(r["set"] for r in evals))
    out = ["## Learning curves", "", "Accuracy (quali) and share within 0.1 (quanti) at each checkpoint, by examples seen.",
           "", "| task | slice | examples seen | " + " | ".join(sets) + " |", "|---|---:|---:|" + "---:|" * len(sets)]
    for task in ("quali", "quanti"):
        key = "accuracy" if task == "quali" else "within_0.1"
        for sl in sorted({r["slice"] for r in evals if r["task"] == task}):
            at = {r["set"]: r for r in evals if r["task"] == task and r["slice"] == sl}
            ex = next(iter(at.values()))["examples"]
            out.append(f"| {task} | {sl} | {ex:,} | " + " | ".join(_pct(at[s].get(key)) if s in at else "–" for s in sets)
                       + " |")
    out += ["", "The paper (Charton et al., arXiv 2112.03588): about 98% existence accuracy after 3M examples and "
                "99% after 5M, on a balanced set.", ""]
    return out


def write_tables(out: Path, rows: list[dict]):
    text = "\n".join(header(rows) + [""] + training_table(rows) + [""] + eval_table(rows, "quali")
                     + eval_table(rows, "quanti") + curve_table(rows)
                     + (eval_table(rows, "shipped") if _last(rows, kind="eval", task="shipped") else [])) + "\n"
    write_text(Path(out) / "eval.md", text)


def write_curves(out: Path, rows: list[dict]):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    a = axes[0]
    for task in ("quali", "quanti"):
        tr = [r for r in rows if r["kind"] == "train" and r["task"] == task]
        if tr:
            a.plot([r["examples"] for r in tr], [r["loss"] for r in tr], lw=0.8, label=task)
    a.set(xlabel="training examples", ylabel="training loss", yscale="log", title="training loss")
    for ax, task, key, title in ((axes[1], "quali", "accuracy", "existence accuracy"),
                                 (axes[2], "quanti", "within_0.1", "within 0.1 (quantitative)")):
        evals = [r for r in rows if r["kind"] == "eval" and r["task"] == task]
        for name in dict.fromkeys(r["set"] for r in evals):
            pts = [(r["examples"], r[key]) for r in evals if r["set"] == name and r.get(key) is not None]
            if pts:
                ax.plot(*zip(*pts), marker="o", ms=3, lw=2 if name == "erdos" else 0.8, label=name)
        rule = [r for r in evals if r["set"] == "erdos" and r.get("no_sink") is not None]
        if task == "quali":
            if rule:
                ax.axhline(rule[-1]["no_sink"], ls="--", c="gray", lw=0.8, label="no-sink rule (erdos)")
            ax.plot(*zip(*PAPER_POINTS), "k*", ms=9, label="paper (erdos)")
            ax.set_xscale("log")
        ax.set(xlabel="training examples", ylabel="share of test networks", ylim=(0, 1.02), title=title)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="lower right")
    if axes[0].lines:
        axes[0].legend()
    fig.tight_layout()
    with atomic_write(Path(out) / "curves.png", "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def write(out: Path):
    rows = read(out)
    write_tables(out, rows)
    write_curves(out, rows)


def check(out: Path) -> list[str]:
    """Remove stray temporary files; the problems with what would come back (none: [])."""
    for p in Path(out).glob("*.tmp"):
        p.unlink()
    files = sorted(p for p in Path(out).rglob("*") if p.is_file())
    problems = [] if len(files) <= MAX_FILES else [f"{len(files)} files (at most {MAX_FILES})"]
    for p in files:
        size = p.stat().st_size
        print(f"{size:>12,}  {p.relative_to(out)}")
        if size >= MAX_BYTES:
            problems.append(f"{p.name}: {size:,} bytes (under {MAX_BYTES:,})")
        if not re.fullmatch(r"[A-Za-z0-9._-]+", p.name) or p.parent != Path(out):
            problems.append(f"{p.relative_to(out)}: not a plain name at the top of the folder")
    return problems


if __name__ == "__main__":
    out = Path(sys.argv[1])
    write(out)
    if "--check" in sys.argv[2:]:
        bad = check(out)
        for line in bad:
            print(f"problem: {line}")
        sys.exit(1 if bad else 0)
