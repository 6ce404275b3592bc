"""metabnet export: a shard's networks and labels as JSON lines."""
from pathlib import Path

import click

from metabnet.io.records import jsonl_out


@click.command()
@click.argument("shard", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON lines file (default: stdout).")
@click.option("--limit", type=click.IntRange(0), help="Export only the first LIMIT networks.")
def export(shard, out, limit):
    """Write the networks of SHARD as JSON lines: the network object of DESIGN §5 plus its
    stored labels under the keys of `metabnet solve`."""
    from metabnet.io.export import shard_records
    from metabnet.gen.shard import ShardError

    try:
        records = shard_records(shard, limit)
        with jsonl_out(out) as write:
            for rec in records:
                write(rec)
    except ShardError as e:
        raise click.ClickException(str(e)) from None
