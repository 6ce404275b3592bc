"""Result records (DESIGN §5) written as they come: JSON lines, or two CSV files.

Each writer is a context manager that yields ``write(record)``; every record is flushed as
soon as it is written, to ``OUT.part``, renamed to ``OUT`` once every record is written: an
interrupted or killed run leaves the .part file (whole lines, the records written so far),
never an ``OUT`` that looks complete.  File names in records
are printable (non-UTF-8 bytes as \\x escapes, metabnet.fileio.display_path).
"""
from __future__ import annotations

import contextlib
import csv
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from metabnet.fileio import FormatError, atomic_write, display_path

# one CSV row per network: these columns, then those of the options in use
CSV_COLUMNS = ("file", "name", "n", "kinetics", "exists_unique", "exists_bounded", "residual", "method",
               "p_exists", "solver", "solver_reason")
CSV_FLAG_COLUMNS = ("flagged",)
CSV_VERIFY_COLUMNS = ("exact_exists_unique", "exact_exists_bounded", "exact_residual", "rel_l1")
CSV_REFINE_COLUMNS = ("model_exists_unique", "model_residual", "model_rel_l1", "start", "iterations_cold",
                      "iterations_warm")


def x_csv_path(path) -> Path:
    """The concentrations file beside the CSV file `path`: its stem + .x.csv."""
    return Path(path).with_suffix(".x.csv")


PART = ".part"  # OUT is written as OUT.part (metabnet.fileio.atomic_write, kept when a run stops)


@contextmanager
def _out(path, **kw):
    """A text file for `path`, written as OUT.part and renamed to OUT at the end of the block
    (metabnet.fileio.atomic_write); the .part file stays when the block fails."""
    try:
        writer = atomic_write(path, "w", suffix=PART, keep_partial=True, encoding="utf-8", **kw)
        f = writer.__enter__()
    except OSError as e:
        raise FormatError(path, f"cannot write file ({e.strerror or e})") from None
    with contextlib.ExitStack() as stack:
        stack.push(writer.__exit__)  # leaving: the rename, or the .part kept on an error
        yield f


@contextmanager
def jsonl_out(path=None):
    """Yield write(record) to `path` (or stdout), one flushed JSON line per record."""
    with (_out(path) if path else contextlib.nullcontext(sys.stdout)) as f:
        def write(rec):
            f.write(json.dumps(rec, allow_nan=False) + "\n")
            f.flush()
        yield write


@contextmanager
def csv_out(path, flag: bool = False, verify: bool = False, refine: bool = False):
    """Yield write(record): one row per network in `path`, one per concentration in
    `x_csv_path(path)` (file, name, node, x, and x_exact / x_model with `verify` / `refine`);
    the columns of `flag`, `verify` and `refine` runs (metabnet.score) are added."""
    cols = list(CSV_COLUMNS) + list(CSV_FLAG_COLUMNS if flag else ()) + list(CSV_VERIFY_COLUMNS if verify else ()) \
        + list(CSV_REFINE_COLUMNS if refine else ())
    xcols, vecs = ["file", "name", "node", "x"], ["x"]
    if verify:
        xcols.append("x_exact")
        vecs.append("exact_x")
    if refine:
        xcols.append("x_model")
        vecs.append("model_x")
    with _out(path, newline="") as f, _out(x_csv_path(path), newline="") as fx:
        rows, xrows = csv.writer(f), csv.writer(fx)
        rows.writerow(cols)
        xrows.writerow(xcols)

        def write(rec):
            flat = {**rec, **{f"exact_{k}": v for k, v in (rec.get("exact") or {}).items()},
                    **{f"model_{k}": v for k, v in (rec.get("model") or {}).items()}, **(rec.get("refine") or {})}
            rows.writerow([_cell(flat.get(c)) for c in cols])
            vectors = [flat.get(c) for c in vecs]
            if any(v is not None for v in vectors):
                for node in range(rec["n"]):
                    xrows.writerow([_cell(rec["file"]), _cell(rec["name"]), node + 1,
                                    *(_cell(None if v is None or len(v) <= node else v[node]) for v in vectors)])
            f.flush()
            fx.flush()

        yield write


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return display_path(v)  # any text: a lone surrogate cannot be encoded
    return v
