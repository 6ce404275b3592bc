"""metabnet info: what a shard or a model checkpoint holds."""
import json
from pathlib import Path

import click


@click.command()
@click.argument("shard", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_spec", is_flag=False, flag_value="default", metavar="[MODEL]",
              help="Describe a checkpoint instead (alone: the model shipped with metabnet, which "
                   "score, eval and knockout use by default).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def info(shard, model_spec, as_json):
    """Print SHARD's format version, generator config and statistics; or, with --model, what a
    model is and how it was trained."""
    if model_spec is not None:
        return _model_info(model_spec, as_json)
    if shard is None:
        raise click.UsageError("give a SHARD or --model")
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
        click.echo(json.dumps({"attrs": attrs, "datasets": datasets, "stats": stats}, indent=2))
        return
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
