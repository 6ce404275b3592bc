"""metabnet score: a model's (or the exact solver's) answer for every network in files and folders."""
import functools
from pathlib import Path

import click

from metabnet.cli._io import (check_outputs, failure_log, force_option, format_option, load_model_spec, model_option,
                              quiet_option, record_outputs, record_writer, report_failures, warn_unfinished)
from metabnet.io.formats import describe, readable


@click.command(help=f"""Say for every network in PATHS (files or folders, searched recursively, of
    {describe(readable())}: a shard gives every network, named SHARD:i; a shard folder's
    manifest is skipped) whether an equilibrium exists and what the concentrations are:
    the model's prediction (the shipped model unless --model says otherwise), or the exact
    solver's answer with `--model solver` or where the model cannot take a network (too many nodes, kinetics it was not trained on, beyond the seq2seq
    vocabulary, no intake or no reactions; method "solver").  Records follow the order of PATHS (a folder's files
    sorted by path) and are written as they are scored; a summary table follows.  `residual`
    is the share of all flux an answer's x leaves unbalanced (README, "Result records").  OUT
    (and its .x.csv) is refused if it exists or is an input (--force replaces it), and is
    never read from an input folder.  A bad
    file (or JSON line) gets one error line and the others go on; the exit code is 1 if any
    failed.""")
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False, path_type=Path))
@model_option()
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: JSON lines on stdout).")
@format_option()
@click.option("--verify", is_flag=True, help="Add the exact solver's answer and the relative L1 error of x.")
@click.option("--refine", is_flag=True,
              help="Start the exact solver from the model's x and return the certified equilibrium; "
                   "reports the Newton iterations a cold and a warm start take (Michaelis-Menten: "
                   "linear networks are solved directly, one LU, whatever the start).")
@click.option("--flag-residual", type=float, metavar="TOL",
              help="Flag answers whose residual exceeds TOL.  The residual of every answer is the "
                   "share of all flux its x leaves unbalanced (0 at an equilibrium, at most 1).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True,
              help="Networks per model batch.")
@click.option("--beam", type=click.IntRange(1), default=1, show_default=True,
              help="seq2seq beam width (1: greedy).")
@force_option()
@quiet_option()
def score(paths, model_spec, out, fmt, verify, refine, flag_residual, device, batch_size, beam, force, quiet):
    from metabnet.fileio import FormatError
    from metabnet.io.formats import iter_network_files
    from metabnet.progress import progress_bar
    from metabnet.score import Scorer, score_files

    if refine and model_spec == "solver":
        raise click.UsageError("--refine needs a model: its predictions are the solver's starting points")
    outputs = record_outputs(out, fmt)
    output = record_writer(out, fmt, flag=flag_residual is not None, verify=verify, refine=refine)
    check_outputs(outputs, paths, force)
    from metabnet.learn.device import resolve_device

    device = resolve_device(device)
    model, ckpt = load_model_spec(model_spec, device)
    scorer = Scorer(model, ckpt, device, batch_size, beam, verify, refine, flag_residual,
                    progress=functools.partial(progress_bar, enabled=not quiet))
    warn_unfinished(paths)
    failures = failure_log()  # each error printed as it comes
    files = iter_network_files(paths, exclude=outputs, errors=failures)
    try:
        with output as write, progress_bar(unit="net", desc="score", enabled=out is not None and not quiet) as bar:
            tally = score_files(files, scorer, write, bar.update, failures=failures)
    except FormatError as e:  # the output cannot be written
        raise click.ClickException(str(e)) from None
    click.echo(tally.table(), err=out is None)
    report_failures(tally.failures)
