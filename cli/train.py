"""metabnet train: train the graph or seq2seq model on a directory of shards."""
from pathlib import Path

import click


@click.command()
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory: checkpoint.pt, model.pt, metrics.jsonl, curves.png.")
@click.option("--arch", type=click.Choice(["graph", "seq2seq"]), default="graph", show_default=True,
              help="graph: one pass over node tokens with structural attention; "
                   "seq2seq: the paper's encoder-decoder over its token encoding.")
@click.option("--task", type=click.Choice(["quali", "quanti"]), default="quali", show_default=True,
              help="quali: does an equilibrium exist; quanti: also every concentration.")
@click.option("--max-steps", default=20_000, show_default=True, help="Optimizer steps.")
@click.option("--batch-size", default=128, show_default=True, help="Networks per step (per GPU).")
@click.option("--lr", default=3e-4, show_default=True, help="Peak AdamW learning rate.")
@click.option("--warmup", default=500, show_default=True, help="Linear warm-up steps, then cosine decay.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--compile/--no-compile", "compile_", default=None,
              help="torch.compile the model (default: on for CUDA, off on CPU).")
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where its checkpoint stopped.")
@click.option("--val", type=click.Path(exists=True, path_type=Path),
              help="Validation shards (default: hold out --val-size networks of the last shard).")
@click.option("--val-size", default=2000, show_default=True)
@click.option("--eval-every", default=1000, show_default=True, help="Validate every N steps (and every epoch).")
@click.option("--ckpt-every", default=500, show_default=True, help="Checkpoint every N steps.")
@click.option("--log-every", default=50, show_default=True)
@click.option("--width", default=256, show_default=True, help="Model width d_model.")
@click.option("--heads", default=8, show_default=True)
@click.option("--layers", default=None, type=int,
              help="Encoder layers [default: graph 6, seq2seq 2 (the paper)].")
@click.option("--dec-layers", default=6, show_default=True, help="seq2seq decoder layers.")
@click.option("--struct", type=click.Choice(["adj", "spd", "none"]), default="adj", show_default=True,
              help="graph: attention bias from reactions (adj), plus hop distances clipped at 8 (spd), "
                   "or none (ablation).")
@click.option("--dropout", default=0.0, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def train(data, out, arch, task, max_steps, batch_size, lr, warmup, device, compile_, resume, val,
          val_size, eval_every, ckpt_every, log_every, width, heads, layers, dec_layers, struct,
          dropout, seed, quiet):
    """Train a model on the shards in DATA (from `metabnet gen`) into --out.

    Streams shuffled batches across shards without loading the dataset; AdamW with warm-up
    and cosine decay, gradient clipping, bf16 autocast on GPU; validates every --eval-every
    steps and every epoch; Ctrl-C saves a checkpoint.  Several GPUs:
    `torchrun --nproc_per_node K -m metabnet train ...`."""
    from metabnet.model import ModelConfig
    from metabnet.train import TrainConfig, train as run

    mc = ModelConfig(arch=arch, task=task, d_model=width, n_heads=heads,
                     n_enc=layers or (6 if arch == "graph" else 2), n_dec=dec_layers,
                     struct=struct, dropout=dropout)
    tc = TrainConfig(data=str(data), out=str(out), batch_size=batch_size, lr=lr, warmup=warmup,
                     max_steps=max_steps, eval_every=eval_every, ckpt_every=ckpt_every,
                     log_every=log_every, val_size=val_size, val=str(val) if val else None,
                     seed=seed, device=device, compile=compile_)
    try:
        last = run(tc, mc, resume=resume, progress=not quiet)
    except (FileExistsError, ValueError) as e:  # a run already there, no shards, bad settings or checkpoint
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        click.echo(f"interrupted: continue from {out / 'checkpoint.pt'} with --resume", err=True)
        raise SystemExit(130) from None
    if last:
        shown = {k: v for k, v in last.items() if k.startswith(("accuracy", "within_0.05"))}
        click.echo(f"validation: {shown}  ->  {out / 'model.pt'}")
