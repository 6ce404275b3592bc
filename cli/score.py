"""metabnet score: a model's (or the exact solver's) answer for every network in files and folders."""
import csv
from contextlib import contextmanager
from pathlib import Path

import click

from metabnet.cli._io import jsonl_out, report_failures


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--model", "checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Checkpoint of `metabnet train` (model.pt).  Without it the exact solver scores.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: JSON lines on stdout).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
              help="csv: one row per network in OUT, concentrations in OUT's stem + .x.csv (file,name,node,x...).")
@click.option("--verify", is_flag=True, help="Add the exact solver's answer and the relative L1 error of x.")
@click.option("--refine", is_flag=True,
              help="Start the exact solver from the model's x and return the certified equilibrium; "
                   "reports the Newton iterations a cold and a warm start take (Michaelis-Menten: "
                   "linear networks are solved directly, one LU, whatever the start).")
@click.option("--flag-residual", type=float, metavar="TOL",
              help="Flag answers whose residual exceeds TOL.  The residual of every answer is the "
                   "share of all flux its x leaves unbalanced (0 at an equilibrium, at most 1).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", default=256, show_default=True, help="Networks per model batch.")
@click.option("--beam", default=1, show_default=True, help="seq2seq beam width (1: greedy).")
def score(paths, checkpoint, out, fmt, verify, refine, flag_residual, device, batch_size, beam):
    """Say for every network in PATHS (files or folders, searched recursively, of .json, .jsonl,
    .tsv, SBML .xml/.sbml, the paper's token JSON and HDF5 shards of `metabnet gen` - .h5:
    every network of the shard, named SHARD:i; a shard folder's metabnet.json manifest is
    skipped) whether an equilibrium exists and what the concentrations are:
    the model's prediction, or the exact solver's answer without --model or where the model
    cannot take a network (too many nodes, kinetics it was not trained on, beyond the seq2seq
    vocabulary; method "solver").  Records keep the input order and are written as they are
    scored; a summary table follows.  A bad file gets one error line and the others go on;
    the exit code is 1 if any failed."""
    from tqdm.auto import tqdm

    from metabnet.formats import iter_network_files
    from metabnet.score import Scorer, score_files

    if fmt == "csv" and not out:
        raise click.UsageError("--format csv needs --out (it writes two files)")
    if refine and not checkpoint:
        raise click.UsageError("--refine needs --model: the model's predictions are the solver's starting points")
    model, ckpt = None, None
    if checkpoint:
        from metabnet.predict import load_model, resolve_device

        device = resolve_device(device)
        model, ckpt = load_model(checkpoint, device)
    scorer = Scorer(model, ckpt, device, batch_size, beam, verify, refine, flag_residual)
    output = csv_out(out, scorer) if fmt == "csv" else jsonl_out(out)
    with output as write, tqdm(unit="net", desc="score", disable=None if out else True) as bar:
        tally = score_files(iter_network_files(paths), scorer, write, bar.update)
    click.echo(tally.table(), err=out is None)
    report_failures(tally.failures)


@contextmanager
def csv_out(path: Path, scorer):
    """Yield write(record): one row per network in `path`, one per concentration in
    `path` with suffix .x.csv; both flushed per record."""
    cols = ["file", "name", "n", "kinetics", "exists_unique", "exists_bounded", "residual", "method",
            "p_exists", "solver", "solver_reason"]
    xcols, vecs = ["file", "name", "node", "x"], ["x"]
    if scorer.flag_residual is not None:
        cols.append("flagged")
    if scorer.verify:
        cols += ["exact_exists_unique", "exact_exists_bounded", "exact_residual", "rel_l1"]
        xcols.append("x_exact")
        vecs.append("exact_x")
    if scorer.refine:
        cols += ["model_exists_unique", "model_residual", "model_rel_l1", "start", "iterations_cold",
                 "iterations_warm"]
        xcols.append("x_model")
        vecs.append("model_x")
    xpath = path.with_suffix(".x.csv")
    with open(path, "w", newline="") as f, open(xpath, "w", newline="") as fx:
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
                    xrows.writerow([_cell(rec["file"]), rec["name"], node + 1,
                                    *(_cell(None if v is None or len(v) <= node else v[node]) for v in vectors)])
            f.flush()
            fx.flush()

        yield write


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v
