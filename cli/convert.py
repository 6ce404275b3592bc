"""metabnet convert: a network file in another format (metabnet.io.formats.FORMATS)."""
from pathlib import Path

import click

from metabnet.cli._io import report_failures
from metabnet.io.formats import FOLDER_FORMATS, FORMATS, describe, format_of


@click.command(help=f"""Convert the networks in IN to OUT, each format chosen by extension:
    {describe([f for f in FORMATS if f.write], one=True)}; IN may also be any token JSON file,
    or (read only) {describe([f for f in FORMATS if not f.write])}, whose stored labels go into
    a token JSON OUT.  A file holding several networks goes to one
    .jsonl file, or with --to FORMAT to a folder OUT of one file per network, named after the
    network (at most 100 characters of it, made unique); a network that cannot be written
    there gets an error line and the others go on.  Errors name the file and the problem; the
    exit code is then 1.""")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, readable=False, path_type=Path))
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--to", "fmt", type=click.Choice(FOLDER_FORMATS),
              help="Make OUT a folder (created if missing) and write each network of IN to its own "
                   "file OUT/NAME.FORMAT (xml and sbml are both SBML).")
def convert(src, out, fmt):
    from metabnet.fileio import FormatError
    from metabnet.io.formats import read_networks, write_folder, write_networks
    from metabnet.progress import progress_bar

    if fmt is not None and out.exists() and not out.is_dir():
        raise click.ClickException(f"{out}: --to needs a folder, and this is a file")
    try:
        nets = read_networks(src)
        if fmt is None:
            if (fmt_out := format_of(out)) is not None and fmt_out.one and len(nets) != 1:
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
