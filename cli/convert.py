"""metabnet convert: a network file in another format (json, jsonl, tsv, SBML, token JSON)."""
from pathlib import Path

import click

from metabnet.cli._io import report_failures
from metabnet.io.formats import FOLDER_FORMATS

_ONE_PER_FILE = (".json", ".tsv", ".xml", ".sbml")


@click.command()
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, readable=False, path_type=Path))
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--to", "fmt", type=click.Choice(FOLDER_FORMATS),
              help="Make OUT a folder (created if missing) and write each network of IN to its own "
                   "file OUT/NAME.FORMAT (xml and sbml are both SBML).")
def convert(src, out, fmt):
    """Convert the networks in IN to OUT, each format chosen by extension: .json and .tsv
    (one network), .jsonl (any number), .xml/.sbml (SBML, one network), .tokens.json (the
    paper's token JSON; IN may also be any token JSON file, or an HDF5 shard of `metabnet
    gen`, whose stored labels go into a token JSON OUT).  A file holding several networks
    goes to one .jsonl file, or with --to FORMAT to a folder OUT of one file per network,
    named after the network (at most 100 characters of it, made unique); a network that
    cannot be written there gets an error line and the others go on.  Errors name the file
    and the problem; the exit code is then 1."""
    from metabnet.fileio import FormatError
    from metabnet.io.formats import read_networks, write_folder, write_networks
    from metabnet.progress import progress_bar

    if fmt is not None and out.exists() and not out.is_dir():
        raise click.ClickException(f"{out}: --to needs a folder, and this is a file")
    try:
        nets = read_networks(src)
        if fmt is None:
            one_per_file = out.suffix.lower() in _ONE_PER_FILE and not out.name.lower().endswith(".tokens.json")
            if one_per_file and len(nets) != 1:
                raise click.ClickException(
                    f"{src}: holds {len(nets)} networks but a {out.suffix} file holds one; "
                    "write .jsonl, or a folder with --to FORMAT")
            write_networks(out, nets)
            targets, failures = [out], []
        else:
            with progress_bar(total=len(nets), unit="net", desc="convert") as bar:
                targets, failures = write_folder(out, nets, fmt, bar.update)
    except FormatError as e:
        raise click.ClickException(str(e)) from None
    if fmt is None:
        click.echo(f"{src}: {len(nets)} network(s) written to {out}")
    else:
        click.echo(f"{src}: {len(targets)} network(s) written to {len(targets)} files in {out}")
    report_failures(failures)
