"""metabnet convert: a network file in another format (json, jsonl, tsv, SBML, token JSON)."""
import re
from pathlib import Path

import click

FOLDER_FORMATS = ("json", "jsonl", "tsv", "xml", "sbml")  # --to FORMAT writes NAME.FORMAT
_ONE_PER_FILE = (".json", ".tsv", ".xml", ".sbml")


@click.command()
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, path_type=Path))
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
    named after the network.  Errors name the file and the problem; the exit code is then 1."""
    from metabnet.fileio import FormatError
    from metabnet.formats import read_networks, write_networks

    try:
        nets = read_networks(src)
        if fmt is None:
            one_per_file = out.suffix.lower() in _ONE_PER_FILE and not out.name.lower().endswith(".tokens.json")
            if one_per_file and len(nets) != 1:
                raise click.ClickException(
                    f"{src}: holds {len(nets)} networks but a {out.suffix} file holds one; "
                    "write .jsonl, or a folder with --to FORMAT")
            write_networks(out, nets)
            targets = [out]
        else:
            targets = _write_folder(out, nets, f".{fmt}")
    except FormatError as e:
        raise click.ClickException(str(e)) from None
    where = out if len(targets) == 1 else f"{len(targets)} files in {out}"
    click.echo(f"{src}: {len(nets)} network(s) written to {where}")


def _write_folder(folder: Path, nets, ext: str) -> list[Path]:
    """One file per network in `folder`, named after the network (made unique)."""
    from metabnet.formats import write_networks

    if folder.exists() and not folder.is_dir():
        raise click.ClickException(f"{folder}: --to needs a folder, and this is a file")
    folder.mkdir(parents=True, exist_ok=True)
    paths, used = [], set()
    for i, net in enumerate(nets, 1):
        stem = name = re.sub(r"[^A-Za-z0-9_.-]+", "_", net.name).strip("._") or f"network{i}"
        k = 1
        while name.lower() in used:  # names differing only in case would clash on some disks
            k += 1
            name = f"{stem}-{k}"
        used.add(name.lower())
        paths.append(folder / f"{name}{ext}")
        write_networks(paths[-1], net)
    return paths
