"""metabnet info: what a shard or a model checkpoint holds."""
import json
from pathlib import Path

import click


@click.command()
@click.argument("shards", metavar="[SHARDS]...", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--model", "model_spec", is_flag=False, flag_value="default", metavar="[MODEL]",
              help="Describe a checkpoint instead (alone: the model shipped with metabnet, which "
                   "score, eval and knockout use by default).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON instead of text: one object (a list of them for several shards).")
def info(shards, model_spec, as_json):
    """Print the format version, generator config and statistics of each of SHARDS (.h5
    files, or folders searched recursively for them, in the order given, a folder's sorted by
    path); or, with --model, what a model is and how it was trained."""
    if model_spec is not None:
        if shards:
            raise click.UsageError("give SHARDS or --model, not both")
        return _model_info(model_spec, as_json)
    if not shards:
        raise click.UsageError("give a SHARD or --model")
    from metabnet.cli._io import shard_files

    files = shard_files(shards)
    objs = [_shard_info(f, as_json) for f in files]
    if as_json:
        click.echo(json.dumps(objs[0] if len(objs) == 1 and not shards[0].is_dir() else objs, indent=2))


def _shard_info(shard: Path, as_json: bool) -> dict | None:
    """The JSON object of one shard, or (without `as_json`) its lines printed."""
    from metabnet.gen.dataset import summarize
    from metabnet.gen.shard import ShardError, open_shard

    try:
        with open_shard(shard) as reader:
            attrs, datasets = reader.attrs, reader.datasets()
        stats = summarize([shard])
    except ShardError as e:
        raise click.ClickException(str(e)) from None
    attrs["config"] = json.loads(attrs["config"])
    if as_json:
        return {"attrs": attrs, "datasets": datasets, "stats": stats}
    click.echo(f"{shard}: {attrs['magic']} format {attrs['format_version']}, {attrs['count']:,} networks "
               f"(seed {attrs['seed']}, shard {attrs['shard']}, {attrs.get('created_by', 'maker unknown')})")
    click.echo("config: " + ", ".join(f"{k}={v}" for k, v in attrs["config"].items()))
    click.echo("datasets: " + ", ".join(f"{k} {v}" for k, v in datasets.items()))
    click.echo("stats: " + json.dumps(stats))
    click.echo("labels: " + str(attrs.get("label_rules", "(not stated)")))


def _model_info(spec, as_json):
    from metabnet.cli._io import load_model_spec
    from metabnet.learn.shipped import describe, model_path

    if spec == "solver":
        raise click.UsageError("--model solver is not a model")
    _, ckpt = load_model_spec(spec, "cpu")
    if as_json:
        keep = {k: v for k, v in ckpt.items() if k != "model"}
        click.echo(json.dumps(keep, indent=2, default=str))
    else:
        click.echo(describe(ckpt, model_path(spec)))
