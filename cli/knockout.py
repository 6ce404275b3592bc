"""metabnet knockout: every single (or double) reaction knock-out of one network, scored at once."""
from pathlib import Path

import click

from metabnet.cli._io import load_model_spec, model_option
from metabnet.io.records import jsonl_out


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="The network to knock out when FILE holds several.")
@model_option()
@click.option("--pairs", is_flag=True, help="Knock out every pair of reactions (m(m-1)/2 variants).")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON lines file (default: stdout): the intact network, then one line per knock-out.")
@click.option("--verify", is_flag=True, help="Add the exact solver's answer beside each model prediction.")
@click.option("--top", default=10, show_default=True, help="Rows of the printed table of largest effects.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", default=256, show_default=True, help="Networks per model batch.")
def knockout(file, name, model_spec, pairs, out, verify, top, device, batch_size):
    """Remove each reaction of the network in FILE in turn (intake and excretion included;
    with --pairs each pair), score all variants with the model (the shipped one by default; `--model solver`: the exact solver), and
    report which knock-outs destroy the equilibrium and how every concentration moves
    against the intact network (ratio and log2 fold change), as JSON lines and a table."""
    from metabnet.score import knockout as ko
    from metabnet.fileio import FormatError
    from metabnet.io.formats import read_networks
    from metabnet.progress import progress_bar
    from metabnet.score import Scorer, Tally

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
    from metabnet.learn.device import resolve_device

    device = resolve_device(device)
    model, ckpt = load_model_spec(model_spec, device)
    scorer = Scorer(model, ckpt, device, batch_size, verify=verify)
    tally = Tally(scorer)
    total = ko.count(net.m, pairs) + 1
    with jsonl_out(out) as write, progress_bar(total=total, unit="net", desc="knockout", enabled=out is not None) as bar:
        for rec in ko.run(net, scorer, pairs):
            if not rec["knockout"]:
                effects = ko.Effects(net, rec, top)
            write(rec)
            tally.add([rec])
            effects.add(rec)
            bar.update(1)
    click.echo(effects.table() + "\n" + tally.table(), err=out is None)
