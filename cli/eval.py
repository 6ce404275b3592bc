"""metabnet eval: the paper's scores of a checkpoint, broken down by group."""
import json
from pathlib import Path

import click

from metabnet.cli._io import check_outputs, force_option, load_model_spec, model_option, quiet_option, warn_unfinished


@click.command("eval")
@click.argument("data", nargs=-1, required=True,
                type=click.Path(exists=True, readable=False, path_type=Path))  # unreadable: one failure
@model_option(solver=False)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON report (refused if it exists or is an input; --force replaces it).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--beam", type=click.IntRange(1), default=1, show_default=True,
              help="seq2seq beam width (1: greedy).")
@click.option("--limit", type=click.IntRange(1), help="Evaluate a random sample of this many networks.")
@click.option("--iters-extra", type=click.IntRange(0),
              help="flux model: iterate n + ITERS_EXTRA times instead of the trained count (more mixes slow "
                   "networks further; other models ignore it).")
@force_option()
@quiet_option()
def eval_(data, model_spec, out, device, batch_size, beam, limit, iters_extra, force, quiet):
    """Score a model (--model: the shipped one, or model.pt / checkpoint.pt of `metabnet train`)
    on DATA: shard files or folders, network files or folders (labels computed by the exact
    solver), or the paper's token JSON.  Prints accuracy and the share of value predictions within relative
    L1 0.1 / 0.05 / 0.02 / 0.01 by class, family, size (S <= 64 < M <= 128 < L) and kinetics."""
    from metabnet.learn.evaluate import evaluate, load_data
    from metabnet.fileio import FormatError, write_text
    from metabnet.metrics import format_table
    from metabnet.learn.device import resolve_device
    from metabnet.progress import progress_bar

    if model_spec == "solver":
        raise click.UsageError("eval scores a model: give --model a checkpoint or `default`")
    check_outputs([out], data, force)
    device = resolve_device(device)
    warn_unfinished(data)
    try:
        nets, errors = load_data(data, limit, exclude=[out])
    except (FormatError, ValueError) as e:
        raise click.ClickException(str(e))
    model, ckpt = load_model_spec(model_spec, device, **({} if iters_extra is None else {"iters_extra": iters_extra}))
    with progress_bar(total=len(nets), unit="net", desc="eval", enabled=not quiet) as bar:
        rep = evaluate(model, ckpt, nets, device, batch_size, beam, bar.update)
    rep["files_failed"] = errors
    click.echo(format_table(rep))
    if rep["unreadable"]:
        click.echo(f"{rep['unreadable']} network(s) the {rep['model']['arch']} model cannot read were left out")
    if rep["too_large"]:
        click.echo(f"{rep['too_large']} network(s) too large for the {rep['model']['arch']} model were left out")
    if out:  # through a temporary name: a killed run leaves no half report
        try:
            write_text(out, json.dumps(rep, indent=2) + "\n")
        except FormatError as e:
            raise click.ClickException(str(e)) from None
    for e in errors:
        click.echo(f"error: {e}", err=True)
    if errors:
        raise SystemExit(1)
