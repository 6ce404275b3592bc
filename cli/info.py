"""metabnet info: what a shard holds."""
import json
from pathlib import Path

import click


@click.command()
@click.argument("shard", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def info(shard, as_json):
    """Print SHARD's format version, generator config and statistics."""
    from metabnet.dataset import summarize
    from metabnet.shard import ShardError, open_shard

    try:
        with open_shard(shard) as f:
            attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
            datasets = {k: f"{f[k].dtype} {f[k].shape}" for k in f}
        stats = summarize([shard])
    except ShardError as e:
        raise click.ClickException(str(e)) from None
    attrs["config"] = json.loads(attrs["config"])
    if as_json:
        click.echo(json.dumps({"attrs": attrs, "datasets": datasets, "stats": stats}, indent=2))
        return
    click.echo(f"{shard}: {attrs['magic']} format {attrs['format_version']}, {attrs['count']:,} networks "
               f"(seed {attrs['seed']}, shard {attrs['shard']}, {attrs.get('created_by', 'maker unknown')})")
    click.echo("config: " + ", ".join(f"{k}={v}" for k, v in attrs["config"].items()))
    click.echo("datasets: " + ", ".join(f"{k} {v}" for k, v in datasets.items()))
    click.echo("stats: " + json.dumps(stats))
    click.echo("labels: " + str(attrs.get("label_rules", "(not stated)")))
