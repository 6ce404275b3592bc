"""metabnet knockout: every single (or double) reaction knock-out of one network, scored at once."""
from pathlib import Path

import click

from metabnet.cli._io import (check_outputs, format_option, load_model_spec, model_option,
                              quiet_option, record_outputs, record_writer)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="The network to knock out when FILE holds several.")
@model_option(default="solver")
@click.option("--pairs", is_flag=True, help="Knock out every pair of reactions (m(m-1)/2 variants; more than "
                   "1,000,000 knock-outs need --limit or --force).")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: JSON lines on stdout): the intact network, then one record per knock-out.")
@format_option()
@click.option("--verify", is_flag=True, help="Add the exact solver's answer beside each model prediction.")
@click.option("--top", type=click.IntRange(1), default=10, show_default=True,
              help="Rows of the printed table of largest effects.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True,
              help="Networks per model batch.")
@click.option("--limit", type=click.IntRange(1), help="Score only the first LIMIT knock-outs.")
@click.option("--force", is_flag=True,
              help="Replace OUT if it exists, and score more knock-outs than the usual bound (see --pairs).")
@quiet_option()
def knockout(file, name, model_spec, pairs, out, fmt, verify, top, device, batch_size, limit, force, quiet):
    """Remove each reaction of the network in FILE in turn (intake and excretion included;
    with --pairs each pair), answer every variant with the exact solver (or with --model
    the model's prediction, where the model takes the variant), and report which
    knock-outs destroy the equilibrium and how every concentration moves against the intact
    network (ratio and log2 fold change), as records and a table.  OUT is refused if it
    exists or is FILE (--force replaces it)."""
    from metabnet.score import knockout as ko
    from metabnet.fileio import FormatError
    from metabnet.io.formats import read_networks
    from metabnet.io.records import CSV_COLUMNS, KNOCKOUT_CSV_COLUMNS
    from metabnet.progress import progress_bar
    from metabnet.score import Scorer, Tally

    outputs = record_outputs(out, fmt)
    output = record_writer(out, fmt, CSV_COLUMNS + KNOCKOUT_CSV_COLUMNS, verify=verify)
    check_outputs(outputs, [file], force)
    try:
        nets = read_networks(file)
    except FormatError as e:
        raise click.ClickException(str(e))
    if name is not None:
        nets = [net for net in nets if net.name == name]
        if not nets:
            raise click.ClickException(f"{file}: no network named {name!r}")
    if len(nets) != 1:
        raise click.UsageError(f"{file} holds {len(nets)} networks: choose one with --name")
    net = nets[0]
    total, size = ko.cost(net, pairs, limit)
    if total > ko.MAX_VARIANTS:
        what = f"{total:,} knock-outs of {net.name!r} ({net.m:,} reactions{', pairs' if pairs else ''}), " \
               f"records about {_bytes(size)}"
        if not force:
            raise click.UsageError(f"{what}: more than {ko.MAX_VARIANTS:,}; choose a --limit, or pass --force")
        click.echo(f"knockout: {what}", err=True)
    from metabnet.learn.device import resolve_device

    device = resolve_device(device)
    model, ckpt = load_model_spec(model_spec, device)
    scorer = Scorer(model, ckpt, device, batch_size, verify=verify)
    tally = Tally(scorer)
    total += 1
    try:
        with output as write, progress_bar(total=total, unit="net", desc="knockout",
                                           enabled=out is not None and not quiet) as bar:
            for rec in ko.run(net, scorer, pairs, limit=limit):
                if not rec["knockout"]:
                    effects = ko.Effects(net, rec, top)
                write(rec)
                tally.add([rec])
                effects.add(rec)
                bar.update(1)
    except FormatError as e:  # the output cannot be written
        raise click.ClickException(str(e)) from None
    click.echo(effects.table() + "\n" + tally.table(), err=out is None)


def _bytes(n: int) -> str:
    return next(f"{n / 1024 ** k:,.1f} {u}" for k, u in ((4, "TB"), (3, "GB"), (2, "MB"), (1, "KB"), (0, "B"))
                if n >= 1024 ** k or k == 0)
