"""docs/accuracy.md: the shipped model on every family, size and kinetics, beside the no-sink rule
and the baselines.

    bash benchmarks/accuracy.sh    # the test sets (testsets.sh: accsets), then this script

or by hand, on any shard folders of single family/size/kinetics named FAMILY-SIZE-KINETICS:

    python benchmarks/accuracy.py runs/acc/* --run runs/default --compare graph=runs/graph-mix/model.pt

Per set: the share with an equilibrium, the no-sink rule's accuracy (benchmarks/sink_rule.py),
the model's qualitative accuracy and its share of networks within relative L1 0.1/0.05/0.02;
then a side-by-side table of accuracy / within 0.1 of the model and of every checkpoint given
with --compare NAME=CKPT (on the first --share of each set's networks, the same for all), each
on the networks it answers as `metabnet score` decides
(kinetics and sizes it was trained on, what a shipped model's record lets it answer, its
architecture's limits and vocabulary: the others are counted as refused, by reason).  A model
that decodes its answer token by token (seq2seq) is scored on its first output token (N1 or
N0) for the qualitative task; its concentrations are decoded for --decode networks with an
equilibrium per set (0: not decoded; without a KV cache, greedy decoding of the 12n + 3
answer tokens costs minutes per network on one CPU thread).  How each was trained is read
from its checkpoint.  Then scoring speed (the model batched against the exact solver,
networks/s on the same networks), the learning curves of --run (and of each --compare run
that has curves.png beside it) and a parity plot of predicted against exact concentrations.
Writes OUT/accuracy.md, OUT/accuracy.json and OUT/accuracy-*.png.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import time
from collections import Counter
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sink_rule import no_sink  # noqa: E402  (benchmarks/, beside this script)

from metabnet.batch import take  # noqa: E402
from metabnet.learn.archs import ARCHS  # noqa: E402
from metabnet.learn.evaluate import evaluate_predictions, load_data  # noqa: E402
from metabnet.learn.predict import load_model, predict  # noqa: E402
from metabnet.learn.shipped import DEFAULT, describe, model_path  # noqa: E402
from metabnet.metrics import summary  # noqa: E402
from metabnet.score.scorer import ModelLimits  # noqa: E402
from metabnet.solve import solve  # noqa: E402
from metabnet.tokens import TOKEN_ID, VOCAB  # noqa: E402

TOLS = ("0.1", "0.05", "0.02")
SIZES = ("S", "M", "L")


def pct(v, digits=2):
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.{digits}f}%"


def answered(model, ckpt, b):
    """(mask of the networks of `b` the model answers, {refusal group: count}) as `metabnet
    score` decides (metabnet.score.scorer: ModelLimits, then the architecture's `readable`)."""
    limits, weighted = ModelLimits.of(model, ckpt), ckpt.get("weighted", True)
    arch = ARCHS[model.config.arch]
    reasons = [limits.reason(b.network(i), model.config, weighted) for i in range(len(b))]
    ok = np.array([r is None for r in reasons], bool)
    refused = Counter(r.refusal.group for r in reasons if r is not None)
    unread = ok & ~arch.readable(b, weighted)
    if unread.any():
        refused[arch.unreadable.group] += int(unread.sum())
    return ok & ~unread, dict(refused)


@torch.no_grad()
def first_token(model, ckpt, b, batch_size=64) -> tuple[np.ndarray, np.ndarray, Counter]:
    """The class a decoding model (seq2seq) writes first, greedily after <s>: N1 -> 1, N0 -> 0,
    any other token -> -1 (wrong); the class when only N1 and N0 compete (p(N1) >= p(N0));
    and a count of the first tokens it writes."""
    arch, cls, pair = ARCHS[model.config.arch], np.full(len(b), -1, np.int8), np.zeros(len(b), np.int8)
    n0, n1 = TOKEN_ID["N0"], TOKEN_ID["N1"]
    order, firsts = np.argsort(b["n"], kind="stable"), Counter()
    for k in range(0, len(b), batch_size):
        idx = order[k:k + batch_size]
        src = torch.from_numpy(arch.arrays(take(b, idx), model.config.task, ckpt.get("weighted", True))["src"])
        memory, mask = model.encode(src)
        logits = model.decode(torch.full((len(idx), 1), TOKEN_ID["<s>"]), memory, mask)[:, 0]  # (B, vocab)
        tok = logits.argmax(-1).numpy()
        cls[idx] = np.where(tok == n1, 1, np.where(tok == n0, 0, -1))
        pair[idx] = (logits[:, n1] >= logits[:, n0]).numpy()
        firsts.update(VOCAB[t] for t in tok.tolist())
    return cls, pair, firsts


def score_model(model, ckpt, b, decode=0):
    """One model on one set: {"count", "answered", "refused", "accuracy", "within_T"..., and for a
    decoding model "decoded" (networks whose concentrations were decoded)}, plus (kept networks,
    predictions) for the parity plot (None for a decoding model)."""
    ok, refused = answered(model, ckpt, b)
    out = {"count": len(b), "answered": int(ok.sum()), "refused": refused, "accuracy": None,
           **{f"within_{t}": None for t in TOLS}}
    if not ok.any():
        return out, None
    part = take(b, np.flatnonzero(ok))
    if not ARCHS[model.config.arch].decodes:
        rep, kept, pred = evaluate_predictions(model, ckpt, part)
        out.update(accuracy=rep["overall"]["accuracy"], **{f"within_{t}": rep["overall"].get(f"within_{t}") for t in TOLS})
        return out, (kept, pred)
    true = part["exists_unique"].astype(np.int8)
    cls, pair, firsts = first_token(model, ckpt, part)
    out.update(accuracy=summary(true, cls, np.full(len(part), np.nan))["accuracy"],
               accuracy_n1_n0=float(np.mean(pair == true)), first_tokens=dict(firsts), decoded=0)
    if decode and model.config.task == "quanti":
        some = take(part, np.flatnonzero(true == 1)[:decode])
        if len(some):
            o = evaluate_predictions(model, ckpt, some)[0]["overall"]
            out.update(decoded=len(some), **{f"within_{t}": o.get(f"within_{t}") for t in TOLS})
    return out, None


def evaluate_set(path, model, ckpt, compare, parity, decode=0, share=1.0):
    """The model on the whole set at every tolerance; then the model, the --compare checkpoints
    and the no-sink rule side by side on its first `share` of networks (the same for all)."""
    b = load_data([path])[0]
    family, size = Path(path).name.split("-")[:2]  # FAMILY-SIZE-KINETICS (family names have no "-")
    kinetics = str(b["kinetics"][0])
    t0 = time.perf_counter()
    main, (kept, pred) = score_model(model, ckpt, b)
    rule = no_sink(b) == b["exists_unique"]
    row = {"family": family, "size": size, "kinetics": kinetics, "count": len(b),
           "exists": float(b["exists_unique"].mean()), "sink_rule": float(np.mean(rule)),
           **{k: main[k] for k in ("answered", "refused", "accuracy")}, **{f"within_{t}": main[f"within_{t}"] for t in TOLS},
           "seconds": {"default": time.perf_counter() - t0}}
    if compare:
        k = min(len(b), max(1, int(np.ceil(share * len(b)))))
        sub = b if k == len(b) else take(b, np.arange(k))
        row["side"] = {"count": k, "sink_rule": float(np.mean(rule[:k])),
                       "default": main if k == len(b) else score_model(model, ckpt, sub)[0]}
        for name, (m, c, _) in compare.items():
            t0 = time.perf_counter()
            row["side"][name] = score_model(m, c, sub, decode)[0]
            row["seconds"][name] = time.perf_counter() - t0
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


def refusals(refused: dict) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in refused.items())


def table(rows, kinetics):
    """The model on one kinetics: every tolerance, beside the no-sink rule."""
    head = ["family", "size", "networks", "with eq.", "no-sink rule", "**model** accuracy",
            "within 0.1", "within 0.05", "within 0.02"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["kinetics"] != kinetics:
            continue
        networks = f"{r['count']:,}" + (f" ({refusals(r['refused'])} refused)" if r["refused"] else "")
        cells = [r["family"], r["size"], networks, pct(r["exists"], 1), pct(r["sink_rule"]),
                 f"**{pct(r['accuracy'])}**"] + [pct(r[f"within_{t}"]) for t in TOLS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cell(c: dict) -> str:
    """Accuracy / within 0.1 of one model on one set, or why it answers none or only part of it."""
    if not c["answered"]:
        return f"refused ({', '.join(c['refused'])})"
    accuracy, within = pct(c["accuracy"], 1), pct(c["within_0.1"], 1)
    if "decoded" in c:  # a decoding model: [N1 against N0 alone]; concentrations only where decoded
        accuracy += f" [{pct(c['accuracy_n1_n0'], 1)}]"
        within = f"{within} (of {c['decoded']})" if c["decoded"] else "not decoded"
    out = f"{accuracy} / {within}"
    return out + (f" on {c['answered']:,} ({refusals(c['refused'])} refused)" if c["refused"] else "")


def side_by_side(rows, kinetics, names):
    """Accuracy / within 0.1 of the model and of every --compare checkpoint, beside the no-sink rule."""
    head = ["family", "size", "networks", "no-sink rule", "**default**"] + list(names)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["kinetics"] != kinetics:
            continue
        side = r["side"]
        cells = [r["family"], r["size"], f"{side['count']:,}", pct(side["sink_rule"], 1), f"**{cell(side['default'])}**"]
        lines.append("| " + " | ".join(cells + [cell(side[n]) for n in names]) + " |")
    return "\n".join(lines)


def shape(c: dict) -> str:
    """The sizes that make a model what it is, from its model_config."""
    return {"seq2seq": f"width {c['d_model']}, {c['n_heads']} heads, {c['n_enc']} encoder and {c['n_dec']} decoder layers",
            "graph": f"width {c['d_model']}, {c['n_heads']} heads, {c['n_enc']} layers, structure {c['struct']}",
            "flux": f"width {c['d_model']}, a tied step iterated n + {c['iters_extra']} times",
            "transformer": f"width {c['d_model']}, one tied block iterated {c['n_enc']} times"}.get(c["arch"], f"width {c['d_model']}")


def mixture(ckpt: dict) -> list:
    return sorted(json.dumps(m, sort_keys=True) for m in ckpt.get("data_mixture") or [ckpt.get("data_config", {})])


def trained(name: str, ckpt: dict, path, reference: dict | None = None) -> str:
    """One line on how a checkpoint was trained, read from it: architecture, sizes, steps,
    networks, seconds of training, device and threads, its data (against the mixture of
    `reference`, the default's checkpoint, when given)."""
    c, st, tc = ckpt["model_config"], ckpt.get("state", {}), ckpt.get("train_config") or {}
    params = sum(v.numel() for v in ckpt["model"].values())
    threads = ckpt.get("threads")
    where = f"{tc.get('device', '?')}, " + (f"{threads} thread{'s' * (threads != 1)}" if threads else "threads not recorded")
    line = (f"- **{name}** (`{path}`): `--arch {c['arch']}`, {shape(c)}, task {c['task']}, {params:,} parameters; "
            f"{st.get('step', 0):,} step{'s' * (st.get('step', 0) != 1)} of {tc.get('batch_size', '?')} networks "
            f"({st.get('examples', 0):,}), "
            f"{st.get('elapsed', 0):,.0f} s of training ({where}); lr {tc.get('lr', '?')}, warm-up {tc.get('warmup', '?')}, "
            f"--max-steps {tc.get('max_steps', '?'):,}")
    if not st.get("finished"):
        line += f" — **unfinished**: stopped at step {st.get('step', 0):,} of {tc.get('max_steps', '?'):,}, evaluated as it stood"
    mix = ckpt.get("data_mixture") or [ckpt.get("data_config", {})]
    values = lambda key: ",".join(dict.fromkeys(str(m.get(key)) for m in mix))  # noqa: E731
    if reference is not None and mixture(ckpt) == mixture(reference):
        line += "; the same training mixture as the default"
    else:
        line += (f"; data: families {values('family')}; sizes {values('size')}; kinetics {values('kinetics')}; "
                 f"weights {values('weights')}" + (" (not the default's mixture)" if reference is not None else ""))
    shipped = ckpt.get("shipped")
    if shipped:
        line += f"; shipped {shipped['date']} (commit {shipped['commit']}): `{shipped['command']}`"
        if shipped.get("kinetics"):
            line += f"; answers {' and '.join(shipped['kinetics'])} kinetics only (score gives the rest to the solver)"
    return line + "."


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--model", default="default", help="checkpoint or `default` (the shipped model)")
    ap.add_argument("--run", type=Path, help="the model's run directory (curves.png)")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=CKPT")
    ap.add_argument("--decode", type=int, default=0, metavar="N",
                    help="decoding models (seq2seq): decode the concentrations of N networks with an equilibrium per set")
    ap.add_argument("--share", type=float, default=1.0, metavar="F",
                    help="side by side: on the first F of each set's networks (the same for every model)")
    ap.add_argument("--command", default="bash benchmarks/accuracy.sh", help="shown as the way to regenerate")
    ap.add_argument("--out", type=Path, default=Path("docs"))
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    path = model_path(a.model)
    model, ckpt = load_model(path)
    compare = {n: (*load_model(p), Path(p)) for n, p in (c.split("=", 1) for c in a.compare)}
    a.out.mkdir(parents=True, exist_ok=True)
    order = {f: k for k, f in enumerate(("erdos", "erdos_gnm", "scale_free", "small_world", "trap", "longpath",
                                         "bowtie", "layered", "modular"))}
    parity, rows = {}, []
    t0 = time.time()
    for s in a.sets:
        r = evaluate_set(s, model, ckpt, compare, parity, a.decode, a.share)
        rows.append(r)
        print(f"{s}: accuracy {pct(r['accuracy'])}, within 0.1 {pct(r['within_0.1'])}; "
              + "; ".join(f"{n} {cell(r['side'][n])}" for n in compare)
              + " (" + ", ".join(f"{k} {v:.1f} s" for k, v in r["seconds"].items()) + ")", flush=True)
    rows.sort(key=lambda r: (r["kinetics"], order.get(r["family"], 99), SIZES.index(r["size"])))
    speeds = [speed(s, model, ckpt) for s in a.sets if s.name in ("erdos-S-linear", "erdos-M-linear",
                                                                   "erdos-S-michaelis-menten")]
    parity_plot(parity, a.out / "accuracy-parity.png")
    if a.run and (a.run / "curves.png").exists():
        shutil.copyfile(a.run / "curves.png", a.out / "accuracy-curves.png")
    curves = {}  # --compare runs with learning curves beside their checkpoint
    for n, (_, _, p) in compare.items():
        if (p.parent / "curves.png").exists():
            curves[n] = f"accuracy-curves-{n}.png"
            shutil.copyfile(p.parent / "curves.png", a.out / curves[n])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}"
    seconds = {k: sum(r["seconds"][k] for r in rows) for k in rows[0]["seconds"]}
    (a.out / "accuracy.json").write_text(json.dumps({"model": describe(ckpt, path), "rows": rows, "speed": speeds,
                                                     "compare": {n: str(p) for n, (_, _, p) in compare.items()},
                                                     "seconds": seconds, "machine": machine},
                                                    indent=1, default=float) + "\n")

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
          "## Against the targets (issue 20)\n",
          f"- linear, existence ≥ 99.5% on every family at S, M and L: {targets('linear', SIZES, 'accuracy', 0.995)}",
          f"- linear, within 0.1 ≥ 95% at S and M: {targets('linear', ('S', 'M'), 'within_0.1', 0.95)}; "
          f"≥ 90% at L: {targets('linear', ('L',), 'within_0.1', 0.90)}",
          f"- Michaelis–Menten, existence ≥ 97% at S and M: {targets('michaelis-menten', ('S', 'M'), 'accuracy', 0.97)}; "
          f"within 0.1 ≥ 90%: {targets('michaelis-menten', ('S', 'M'), 'within_0.1', 0.90)} "
          f"(at L, not a target: existence {targets('michaelis-menten', ('L',), 'accuracy', 0.97)})\n",
          "## Linear kinetics\n", table(rows, "linear"), "",
          "## Michaelis–Menten kinetics\n", table(rows, "michaelis-menten"), ""]
    if compare:
        names = list(compare)
        decoding = [n for n, (m, _, _) in compare.items() if ARCHS[m.config.arch].decodes]
        md += ["## Side by side with the baselines\n",
               ("On every set's networks" if a.share >= 1 else
                f"On the first {a.share:.0%} of every set's networks (the same for every model and the rule; "
                "the tables above have the default on all of them)") + ". "
               "Each cell: qualitative accuracy / share within 0.1 (of the networks with an equilibrium), on the "
               "networks the model answers; the others are refused the way `metabnet score` refuses "
               "them (it gives them to the exact solver): kinetics or sizes beyond what the model was trained on "
               "or shipped to answer, or inputs outside its vocabulary.\n",
               trained("default", ckpt, "metabnet/learn/models/default.pt" if path == DEFAULT else path)]
        md += [trained(n, c, p, ckpt) for n, (_, c, p) in compare.items()]
        if decoding:
            firsts = {n: sum((Counter(r["side"][n].get("first_tokens", {})) for r in rows), Counter()) for n in decoding}
            md += [f"\n{', '.join(decoding)}: the qualitative answer is the first token it writes (greedily, after "
                   "`<s>`: `N1` or `N0`; any other token counts as wrong; in brackets the accuracy when only `N1` "
                   "and `N0` compete). The first tokens it wrote: "
                   + "; ".join(f"{n} " + ", ".join(f"`{t}` {k:,}" for t, k in f.most_common(4)) for n, f in firsts.items())
                   + ". "
                   + (f"Concentrations were decoded for the first {a.decode} networks with an equilibrium per set "
                      "(the cell says of how many)." if a.decode else
                      "Concentrations are not decoded here (`accuracy.py --decode N` does): greedy decoding of "
                      "its 12n + 3 answer tokens recomputes the whole prefix at every token (no KV cache), "
                      "tens of seconds to minutes per network on one CPU thread.")]
        md += ["", "Evaluation time on these sets: " + ", ".join(f"{k} {v:,.0f} s" for k, v in seconds.items()) + ".\n",
               "### Linear kinetics\n", side_by_side(rows, "linear", names), "",
               "### Michaelis–Menten kinetics\n", side_by_side(rows, "michaelis-menten", names), ""]
    md += ["## Scoring speed (same networks; model batched 256 at a time, exact solver one network at a time "
           "as `metabnet solve` does)\n",
           "| set | networks | model networks/s | exact solver networks/s |", "|---|---:|---:|---:|"]
    md += [f"| {s['set']} | {s['networks']} | {s['model_per_s']:,.0f} | {s['solver_per_s']:,.0f} |" for s in speeds]
    ood = a.out / "accuracy-ood.txt"
    if ood.exists():
        md += ["", "## Beyond the training distribution\n",
               "Settings the model never saw (accuracy.sh: 3 intakes and 3 excretions; 257–512 inner nodes, "
               "training had 32–64), `metabnet eval` and the no-sink rule:\n", "```", ood.read_text().strip(), "```"]
    md += ["", "## Pictures\n", "Learning curves of the training run: ![curves](accuracy-curves.png)\n"]
    md += [f"Learning curves of the {n} baseline: ![curves {n}]({png})\n" for n, png in curves.items()]
    md += ["Predicted against exact concentrations (log–log): ![parity](accuracy-parity.png)\n",
           "## The paper's seq2seq\n", "The paper's own model trained at its setting in one GPU run "
           "(`benchmarks/gpu_paper.sh`), beside this model on the same unweighted test sets: "
           "[paper-reproduction.md](paper-reproduction.md).\n"]
    (a.out / "accuracy.md").write_text("\n".join(md) + "\n")
    print(f"{a.out / 'accuracy.md'} written")


if __name__ == "__main__":
    main()
