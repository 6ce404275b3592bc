"""Runs over files: `solve_files` (what `metabnet solve` does) and `score_files` (what
`metabnet score` does) read networks in chunks, answer them and write each record as it
comes; `Tally` counts a run and prints its summary table."""
from __future__ import annotations

import time
from collections import Counter


from metabnet.fileio import Failures, FormatError, failed_files
from metabnet.io.formats import iter_networks
from metabnet.metrics import TOLERANCES, answer_error, summary
from metabnet.network import Kinetics
from metabnet.score.scorer import Record, Scorer
from metabnet.solve import solve

# refine, per kinetics: warm starts, and iterations of a cold and a warm start, in all and split
# into the warm starts that certified the equilibrium and those that fell back to the cold solve
_REFINE_KEYS = ("networks", "iterations_cold", "iterations_warm", "certified", "certified_cold",
                "certified_warm", "fell_back", "fell_back_cold", "fell_back_warm")


def read_chunks(files, size: int = 4096, errors=None):
    """Yield lists of about `size` networks from `files` in order, each file read a network at
    a time (metabnet.io.formats.iter_networks: a JSON lines file a line at a time), so memory
    stays bounded whatever the files' sizes.  A file that cannot be read gives one FormatError
    in `errors` and is skipped, a JSON lines file one per bad line (its good lines are read)."""
    errors = Failures() if errors is None else errors
    nets = []
    for f in files:
        try:
            for net in iter_networks(f, errors):
                nets.append(net)
                if len(nets) >= size:
                    yield nets
                    nets = []
        except FormatError as e:
            errors.append(e)
    if nets:
        yield nets


def solve_files(files, write, method: str = "direct", progress=None, failures=None, solver_progress=None):
    """Solve every network of `files` exactly, in order, calling write(record) for each
    (metabnet.solve.dispatch records), one network at a time; returns the errors
    (`failures`, a metabnet.fileio.Failures or a list; a new Failures by default), one per bad
    file or JSON line or network the solver could not decide, each naming its file.
    progress(1) is called per network; `solver_progress` goes to metabnet.solve.solve (a long
    solve says what it will do and shows its iterations on it)."""
    failures = Failures() if failures is None else failures
    for path in files:
        try:
            for net in iter_networks(path, failures):
                try:
                    write(solve(net, method, progress=solver_progress))
                except RuntimeError as e:  # the ODE reached no verdict
                    failures.append(FormatError(path, e))
                except ValueError as e:  # a record JSON cannot hold (a value past the accepted range)
                    failures.append(FormatError(path, f"network {net.name!r}: {e}"))
                if progress:
                    progress(1)
        except FormatError as e:
            failures.append(e)
    return failures


def score_files(files, scorer: Scorer, write, progress=None, chunk: int = 4096, failures=None) -> "Tally":
    """Score every network of `files` in order, calling write(record) for each as soon as its
    chunk is scored (so an interrupted run keeps what it wrote); returns the run's Tally, whose
    `failures` are `failures` (a metabnet.fileio.Failures: errors reported as they come)."""
    tally = Tally(scorer, failures)
    for nets in read_chunks(files, chunk, tally.failures):
        try:
            records = scorer.score(nets)
        except RuntimeError:  # a network the exact solver cannot decide: score one by one
            records = []
            for net in nets:
                try:
                    records += scorer.score([net])
                except RuntimeError as e:  # e.g. kernels.equilibrium.BeyondRange
                    tally.failures.append(FormatError(net.meta.get("file") or net.name, e))
        for rec in records:
            write(rec)
        tally.add(records)
        if progress:
            progress(len(nets))
    return tally


class Tally:
    """Counts over the records of a run, and the summary table printed at its end."""

    def __init__(self, scorer: Scorer, failures=None):
        self.scorer = scorer
        self.start = time.perf_counter()
        self.methods, self.reasons = Counter(), Counter()
        self.failures = Failures() if failures is None else failures  # FormatErrors
        self.exists = self.flagged = 0
        self.true, self.pred, self.err = [], [], []  # verify: the model's answers vs the exact ones
        self.iterations = {}  # refine: kinetics -> Counter of _REFINE_KEYS

    def add(self, records: list[Record]) -> None:
        for rec in records:
            self.methods[rec["method"]] += 1
            self.exists += bool(rec["exists_unique"])
            self.flagged += bool(rec.get("flagged"))
            if rec.refusal is not None:
                self.reasons[rec.refusal.group] += 1
            if rec["method"] == "model" and "exact" in rec:
                self._check(rec["exact"], rec["exists_unique"], rec["rel_l1"])
            elif rec["method"] == "model+solver":  # the refined answer is exact
                self._check(rec, rec["model"]["exists_unique"], rec["model"]["rel_l1"])
            if rec.fell_back is not None:  # refine, started from the model's x
                r, group = rec["refine"], "fell_back" if rec.fell_back else "certified"
                self.iterations.setdefault(rec["kinetics"], Counter()).update(
                    {"networks": 1, "iterations_cold": r["iterations_cold"],
                     "iterations_warm": r["iterations_warm"], group: 1,
                     f"{group}_cold": r["iterations_cold"], f"{group}_warm": r["iterations_warm"]})

    def _check(self, exact: dict, exists: bool, err: float | None) -> None:
        """One model answer against the exact one, as metabnet.metrics.summary reads it."""
        self.true.append(int(exact["exists_unique"]))
        self.pred.append(int(exists))
        self.err.append(answer_error(exact["exists_unique"], self.scorer.model.config.task == "quanti", err))

    @property
    def count(self) -> int:
        return sum(self.methods.values())

    def as_dict(self) -> dict:
        seconds = time.perf_counter() - self.start
        out = {"networks": self.count, "by_method": dict(self.methods), "with_equilibrium": self.exists,
               "without_equilibrium": self.count - self.exists, "solver_reasons": dict(self.reasons),
               "files_failed": failed_files(self.failures), "seconds": round(seconds, 3),
               "networks_per_s": round(self.count / seconds, 1) if seconds > 0 else None}
        if self.scorer.flag_residual is not None:
            out["flagged"] = self.flagged
        if self.true:
            out["verify"] = summary(self.true, self.pred, self.err)
        if self.iterations:
            out["refine"] = {k: {key: v[key] for key in _REFINE_KEYS} for k, v in self.iterations.items()}
        return out

    def table(self) -> str:
        d, s, W = self.as_dict(), self.scorer, 36
        rows = [("networks scored", f"{d['networks']:,}")]
        if s.model is not None:
            by_model = self.methods["model"] + self.methods["model+solver"]
            rows.append(("  by the model", f"{by_model:,}" + ("  (refined by the exact solver)" if s.refine else "")))
            why = "; ".join(f"{k}: {v:,}" for k, v in self.reasons.most_common())
            rows.append(("  by the solver alone", f"{self.methods['solver']:,}" + (f"  ({why})" if why else "")))
        else:
            rows.append(("  by the solver alone", f"{self.methods['solver']:,}  (no model given)"))
        rows += [("  with an equilibrium", f"{d['with_equilibrium']:,}"),
                 ("  without", f"{d['without_equilibrium']:,}")]
        if "flagged" in d:
            rows.append((f"  flagged (residual > {s.flag_residual:g})", f"{d['flagged']:,}"))
        rows += [("files failed", f"{d['files_failed']:,}"),
                 ("time", f"{d['seconds']:.2f} s  ({d['networks_per_s'] or 0:,.1f} networks/s)")]
        lines = [f"{k:<{W}}{v}" for k, v in rows]
        if "verify" in d:
            v = d["verify"]
            lines.append(f"{'verify: model vs exact solver':<{W}}{v['count']:,} networks, "
                         f"accuracy {_pct(v['accuracy'])}")
            if "quanti_count" in v:
                shares = " / ".join(_pct(v[f"within_{t}"]) for t in TOLERANCES)
                lines.append(f"{'  within ' + ' / '.join(map(str, TOLERANCES)):<{W}}{shares}"
                             f"  (of {v['quanti_count']:,} with an equilibrium; median {v['median_rel_l1']:.3g})")
        elif s.verify:
            lines.append(f"{'verify':<{W}}every answer is the exact solver's (no model predictions to check)")
        for kin, it in sorted(self.iterations.items()):
            if kin == Kinetics.LINEAR:
                lines.append(f"{'refine, linear':<{W}}{it['networks']:,} networks: direct solve, one LU each; "
                             "a start saves nothing")
                continue
            lines.append(f"{'refine, ' + kin:<{W}}{it['networks']:,} warm starts: solver iterations "
                         f"{_change(it['iterations_cold'], it['iterations_warm'])}")
            for group, label in (("certified", "certified from the model's x"),
                                 ("fell_back", "certified nothing: cold solve")):
                if it[group]:
                    lines.append(f"{'  ' + label:<{W}}{it[group]:,}: "
                                 f"{_change(it[group + '_cold'], it[group + '_warm'])}")
        if s.refine and not self.iterations:
            lines.append(f"{'refine':<{W}}no model x to start from (existence-only model or none predicted)")
        return "\n".join(lines)


def _change(cold: int, warm: int) -> str:
    """'cold 1,200 -> warm 300 (75% saved)'."""
    if not cold:
        how = "nothing to save"
    else:
        how = f"{1 - warm / cold:.0%} saved" if warm <= cold else f"{warm / cold - 1:.0%} more"
    return f"cold {cold:,} -> warm {warm:,} ({how})"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"
