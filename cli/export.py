"""metabnet export: shards' networks and labels as records."""
from pathlib import Path

import click

from metabnet.cli._io import (check_outputs, force_option, format_option, quiet_option, record_outputs,
                              record_writer, shard_files)


@click.command()
@click.argument("shards", metavar="SHARDS...", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: JSON lines on stdout).")
@format_option()
@click.option("--limit", type=click.IntRange(0), help="Export only the first LIMIT networks of each shard.")
@force_option()
@quiet_option()
def export(shards, out, fmt, limit, force, quiet):
    """Write the networks of SHARDS (.h5 files, or folders searched recursively for them, in
    the order given, a folder's shards sorted by path) as records: the network object of a
    JSON network file (README, "Network files") plus its stored labels under the keys of
    `metabnet solve`.  With --format csv the labels only: one row per network and its
    concentrations in OUT's .x.csv (`metabnet convert` writes networks to other formats).
    OUT is refused if it exists or is an input (--force replaces it)."""
    from metabnet.fileio import FormatError
    from metabnet.gen.shard import ShardError
    from metabnet.io.export import shard_records
    from metabnet.io.records import SOLVE_CSV_COLUMNS
    from metabnet.progress import progress_bar

    outputs = record_outputs(out, fmt)
    output = record_writer(out, fmt, SOLVE_CSV_COLUMNS)
    check_outputs(outputs, shards, force)
    files = shard_files(shards)
    try:
        with output as write, progress_bar(unit="net", desc="export", enabled=out is not None and not quiet) as bar:
            for shard in files:
                for rec in shard_records(shard, limit):
                    write(rec)
                    bar.update(1)
    except (ShardError, FormatError) as e:
        raise click.ClickException(str(e)) from None
