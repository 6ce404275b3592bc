"""The paper's scores (DESIGN §3), overall and broken down by group.

- accuracy: predicted class (equilibrium or not) equals the true `exists_unique`;
- within tol: among networks with an equilibrium, the share whose prediction says "exists",
  has exactly n values and a relative L1 error sum|x^ - x| / sum|x| below tol.
"""
from __future__ import annotations

import numpy as np

TOLERANCES = (0.1, 0.05, 0.02, 0.01)


def rel_l1(x_true, x_pred) -> float:
    """Relative L1 error; inf when a prediction is missing, of the wrong length or not finite."""
    if x_pred is None or x_true is None or len(x_pred) != len(x_true):
        return float("inf")
    x_true, x_pred = np.asarray(x_true, np.float64), np.asarray(x_pred, np.float64)
    if not np.isfinite(x_pred).all():
        return float("inf")
    den = np.abs(x_true).sum()
    num = np.abs(x_pred - x_true).sum()
    return float(num / den) if den > 0 else (0.0 if num == 0 else float("inf"))


def answer_error(true_exists: bool, quanti: bool, err) -> float:
    """The error `summary` reads for one answer, from its relative L1 error `err` (None: the
    predicted x is missing or unusable): NaN where there is no value to score (no true
    equilibrium, or a model of existence only), inf where x is missing."""
    if not (true_exists and quanti):
        return float("nan")
    return float("inf") if err is None else float(err)


def summary(true_cls, pred_cls, err) -> dict:
    """Counts, accuracy and the within-tolerance shares of one group.  `err` is the relative
    L1 error of each network (NaN where there is no true equilibrium or no quantitative task)."""
    true_cls, pred_cls, err = np.asarray(true_cls), np.asarray(pred_cls), np.asarray(err, np.float64)
    out = {"count": int(true_cls.size), "share_exists": _share(true_cls == 1),
           "accuracy": _share(pred_cls == true_cls)}
    q = (true_cls == 1) & ~np.isnan(err)
    if q.any():
        e = np.where(pred_cls[q] == 1, err[q], np.inf)
        out["quanti_count"] = int(q.sum())
        out.update({f"within_{t}": _share(e < t) for t in TOLERANCES})
        out["median_rel_l1"] = float(np.median(e))
    return out


def _share(mask) -> float | None:
    return round(float(np.mean(mask)), 6) if np.size(mask) else None


def report(true_cls, pred_cls, err, groups: dict[str, np.ndarray]) -> dict:
    """{"overall": summary, "by": {group: {value: summary}}} over every value of every group,
    and, for the true class, accuracy on each class ("by": {"class": ...})."""
    true_cls, pred_cls, err = map(np.asarray, (true_cls, pred_cls, err))
    groups = {"class": np.where(true_cls == 1, "exists", "none"), **groups}
    by = {}
    for name, values in groups.items():
        values = np.asarray(values).astype(str)
        by[name] = {v: summary(true_cls[values == v], pred_cls[values == v], err[values == v])
                    for v in sorted(set(values.tolist()))}
    return {"overall": summary(true_cls, pred_cls, err), "by": by}


def format_table(rep: dict) -> str:
    """A fixed-width table: one row for all networks, then one per group value."""
    cols = ["count", "accuracy"] + [f"within_{t}" for t in TOLERANCES]
    head = f"{'group':<24}" + "".join(f"{c:>12}" for c in cols)
    rows = [head, "-" * len(head)]

    def row(label, s):
        cells = []
        for c in cols:
            v = s.get(c)
            cells.append(f"{'-':>12}" if v is None else f"{v:>12,}" if c == "count" else f"{100 * v:>11.2f}%")
        return f"{label:<24}" + "".join(cells)

    rows.append(row("all", rep["overall"]))
    for name, values in rep["by"].items():
        for v, s in values.items():
            rows.append(row(f"{name}={v}", s))
    return "\n".join(rows)
