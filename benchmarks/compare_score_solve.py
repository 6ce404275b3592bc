"""Network-by-network check of `metabnet score --verify --refine` against `metabnet solve` on
the same folder (benchmarks/score_folder.sh), and the figures of the run.

    python benchmarks/compare_score_solve.py WORKDIR CKPT

WORKDIR holds solve.jsonl, score.jsonl, their stderr (solve.err, score.err), their wall times
(solve.seconds, score.seconds) and score's summary table (score.txt); CKPT is the checkpoint
score used (for its task: with x or existence only).  Checks, each one printed with its count
of mismatches:

- both commands give the same networks in the same order (file, name) and report the same
  failed files with the same messages;
- score's exact answer (under "exact") equals solve's: both labels, and x to the last bit;
- the refined answer (the solver started from the model's x) has solve's labels and x to
  1e-9 relative L1;
- score's summary table says what its records say, and its counts of networks with and
  without an equilibrium are solve's.

Then the figures: networks, failed files, throughput of each command (networks per second of
wall time, start-up and file reading included), the model's accuracy against the exact
solver and the share of its x within 0.1 / 0.05 relative L1 (computed here from the records,
independently of metabnet.score), and the Newton iterations a warm start from the model's x
saved (solver iterations: Newton steps, plus ODE steps where Newton stalled; split into the
warm starts that certified the equilibrium and those that certified nothing, after which the
cold solve decided).  The exit code is 1 when any check failed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REFINE_TOL = 1e-9  # relative L1 between the refined x and solve's


def rel_l1(x_true, x) -> float:
    """sum|x - x_true| / sum|x_true|; inf for a missing, short or non-finite x."""
    if x is None or x_true is None or len(x) != len(x_true) or None in x:
        return float("inf")
    t, p = np.asarray(x_true, np.float64), np.asarray(x, np.float64)
    den, num = np.abs(t).sum(), np.abs(p - t).sum()
    return float(num / den) if den > 0 else (0.0 if num == 0 else float("inf"))


def model_task(ckpt: Path) -> str:
    import torch

    return torch.load(ckpt, map_location="cpu", weights_only=True)["model_config"]["task"]


def reason_kind(reason: str) -> str:
    """'93 inner nodes (the model was trained on at most 64)' -> 'too many nodes'."""
    for pattern, kind in ((r"^\d+ inner nodes", "too many nodes"), (r"kinetics \(the model", "other kinetics"),
                          (r"^\d+ tokens", "too long")):
        if re.search(pattern, reason):
            return kind
    return reason


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def errors(path: Path) -> list[str]:
    return sorted(line[len("error: "):] for line in path.read_text().splitlines() if line.startswith("error: "))


def summary_numbers(text: str) -> dict:
    """The figures of score's summary table (metabnet.score.runs.Tally.table) that records can check."""
    out = {}
    for key, pattern in (("networks", r"networks scored\s+([\d,]+)"),
                         ("with", r"with an equilibrium\s+([\d,]+)"), ("without", r"\n\s+without\s+([\d,]+)"),
                         ("failed", r"files failed\s+([\d,]+)"),
                         ("verify_count", r"verify: model vs exact solver\s+([\d,]+) networks")):
        m = re.search(pattern, text)
        if m:
            out[key] = int(m.group(1).replace(",", ""))
    m = re.search(r"accuracy ([\d.]+)%", text)
    if m:
        out["accuracy"] = float(m.group(1)) / 100
    m = re.search(r"within [\d. /]+?\s+([\d.]+)% / ([\d.]+)%", text)
    if m:
        out["within_0.1"], out["within_0.05"] = float(m.group(1)) / 100, float(m.group(2)) / 100
    num = lambda v: int(v.replace(",", ""))  # noqa: E731
    for kin, k, cold, warm in re.findall(r"refine, (\S+)\s+([\d,]+) warm starts: solver iterations "
                                         r"cold ([\d,]+) -> warm ([\d,]+)", text):
        out[f"iterations_{kin}"] = (num(k), num(cold), num(warm))
        m = re.search(r"refine, " + re.escape(kin) + r".*?\n\s+certified from the model's x\s+([\d,]+): "
                      r"cold ([\d,]+) -> warm ([\d,]+)", text)
        out[f"certified_{kin}"] = tuple(map(num, m.groups())) if m else (0, 0, 0)
    return out


class Checks:
    def __init__(self):
        self.failed = 0

    def __call__(self, what: str, bad: int, of: int, example=None) -> None:
        self.failed += bad > 0
        line = f"  {'ok  ' if not bad else 'FAIL'} {what}: {bad:,} mismatch(es) of {of:,}"
        print(line + (f"  first: {example}" if bad and example is not None else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("ckpt", type=Path)
    args = ap.parse_args()
    w = args.workdir
    quanti = model_task(args.ckpt) == "quanti"
    solve, score = read_jsonl(w / "solve.jsonl"), read_jsonl(w / "score.jsonl")
    solve_err, score_err = errors(w / "solve.err"), errors(w / "score.err")
    seconds = {k: float((w / f"{k}.seconds").read_text()) for k in ("solve", "score")}
    table = summary_numbers((w / "score.txt").read_text())
    check = Checks()

    print("checks")
    keys = [(r["file"], r["name"]) for r in solve], [(r["file"], r["name"]) for r in score]
    order = sum(a != b for a, b in zip(*keys)) + abs(len(solve) - len(score))
    check("same networks in the same order (file, name)", order, max(len(solve), len(score)),
          next(((a, b) for a, b in zip(*keys) if a != b), None))
    differ = sorted(set(solve_err) ^ set(score_err))
    check("same failed files, same messages", len(differ), len(set(solve_err) | set(score_err)), differ[:1] or None)

    labels = ("exists_unique", "exists_bounded")
    bad_exact, bad_refined, worst_refined, refined = [], [], 0.0, 0
    for s, r in zip(solve, score):
        e = r.get("exact")
        if e is None or any(e[k] != s[k] for k in labels) or e["x"] != s["x"]:
            bad_exact.append(s["name"])
        if r["method"] == "model+solver":
            refined += 1
            err = 0.0 if s["x"] is None and r["x"] is None else rel_l1(s["x"], r["x"])
            worst_refined = max(worst_refined, err)
            if any(r[k] != s[k] for k in labels) or err > REFINE_TOL:
                bad_refined.append(s["name"])
    n = min(len(solve), len(score))
    check("score's exact answer = solve's (labels, x bit for bit)", len(bad_exact), n, bad_exact[:1] or None)
    check(f"refined answer = solve's (labels, x to {REFINE_TOL:g}; worst {worst_refined:.1e})",
          len(bad_refined), refined, bad_refined[:1] or None)

    # the model's own answers against the exact ones (solve's records)
    true, pred, err = [], [], []
    for s, r in zip(solve, score):
        if r["method"] == "model":
            exists, x = r["exists_unique"], r["x"]
        elif r["method"] == "model+solver":
            exists, x = r["model"]["exists_unique"], r["model"]["x"]
        else:
            continue
        true.append(s["exists_unique"])
        pred.append(exists)
        if s["exists_unique"]:
            err.append(rel_l1(s["x"], x) if exists else float("inf"))
    accuracy = float(np.mean(np.equal(true, pred))) if true else None
    within = {t: float(np.mean(np.less(err, t))) if err else None for t in (0.1, 0.05)}

    # kinetics -> {all, certified, fell back (warm start certified nothing)} -> [networks, cold, warm]
    iters, newton_only = {}, 0  # newton_only: cold Newton stalled (the ODE decided), the warm start did not
    for r in score:
        ref = r.get("refine")
        if ref and ref["start"] == "model":
            group = "fell back" if "+" in ref["solver"] else "certified"
            newton_only += group == "certified" and "ode" in (r.get("exact") or {}).get("solver", "")
            for g in ("all", group):
                it = iters.setdefault(r["kinetics"], {}).setdefault(g, [0, 0, 0])
                for i, v in enumerate((1, ref["iterations_cold"], ref["iterations_warm"])):
                    it[i] += v

    with_eq = sum(s["exists_unique"] for s in solve)
    want = {"networks": len(score), "with": with_eq, "without": len(solve) - with_eq, "failed": len(solve_err)}
    if true:
        want["verify_count"], want["accuracy"] = len(true), accuracy
    if err and quanti:
        want.update({f"within_{t}": v for t, v in within.items()})
    for kin, it in iters.items():
        if kin != "linear":
            want[f"iterations_{kin}"] = tuple(it["all"])
            want[f"certified_{kin}"] = tuple(it.get("certified", (0, 0, 0)))
    off = {k: (table.get(k), v) for k, v in want.items()
           if not (isinstance(v, float) and table.get(k) is not None and abs(table[k] - v) <= 0.0005)
           and table.get(k) != v}
    check("score's summary table = its records and solve's counts", len(off), len(want),
          "; ".join(f"{k}: table {a} vs {b}" for k, (a, b) in off.items()) or None)

    by_method = Counter(r["method"] for r in score)
    reasons = Counter(reason_kind(r["solver_reason"]) for r in score if r.get("solver_reason"))
    why = "; ".join(f"{k}: {v:,}" for k, v in reasons.most_common())
    speed = {k: f"{seconds[k]:.1f} s wall, {len(recs) / seconds[k]:,.1f} networks/s"
             for k, recs in (("solve", solve), ("score", score))}
    print("\nfigures")
    rows = [("networks", f"{len(solve):,} (solve) / {len(score):,} (score)"),
            ("  with an equilibrium (exact)", f"{with_eq:,}"),
            ("  answered by the model", f"{by_method['model'] + by_method['model+solver']:,}"),
            ("  by the solver alone", f"{by_method['solver']:,}" + (f"  ({why})" if why else "")),
            ("failed files", f"{len(solve_err):,} (solve) / {len(score_err):,} (score)"),
            ("agreement, exact answers", f"{n - len(bad_exact):,} / {n:,}"),
            ("agreement, refined answers", f"{refined - len(bad_refined):,} / {refined:,}"),
            ("solve", speed["solve"]),
            ("score --verify --refine", speed["score"]),
            ("model accuracy vs exact", f"{100 * accuracy:.2f}% of {len(true):,}" if true else "- (no model answer)")]
    if err and quanti:
        rows.append(("model x within 0.1 / 0.05 rel. L1", f"{100 * within[0.1]:.2f}% / {100 * within[0.05]:.2f}%  "
                                                          f"(of {len(err):,} with an equilibrium)"))
    elif true:
        rows.append(("model x within 0.1 / 0.05 rel. L1", "- (existence-only model)"))
    for kin, it in sorted(iters.items()):
        if kin == "linear":
            rows.append(("warm start, linear", f"{it['all'][0]:,} networks: one LU each, nothing to save"))
            continue
        for g, label in (("all", f"warm start, {kin}"), ("certified", "  certified from the model's x"),
                         ("fell back", "  certified nothing: cold solve")):
            if g in it:
                k, cold, warm = it[g]
                change = ("-" if not cold else f"{1 - warm / cold:.1%} saved" if warm <= cold
                          else f"{warm / cold - 1:.1%} more")
                rows.append((label, f"{k:,} networks: solver iterations cold {cold:,} -> warm {warm:,} ({change})"))
        rows.append(("  cold needed the ODE, warm did not", f"{newton_only:,} networks"))
    if not iters:
        rows.append(("warm start", "- (no model x to start from)"))
    for k, v in rows:
        print(f"  {k:<38}{v}")
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
