"""metabnet train: train a model on a directory of shards, or on networks generated as it goes."""
import itertools
from pathlib import Path

import click

from metabnet.cli._io import warn_unfinished
from metabnet.gen.config import FAMILIES, SIZES, WEIGHTS
from metabnet.learn.archs import ARCHS, DEFAULT_ARCH
from metabnet.network import KINETICS, Kinetics


def _defaults(key: str) -> str:
    """'flux 64, graph 256, ...': an Arch default of every architecture that has one."""
    return ", ".join(f"{a.name} {getattr(a, key)}" for a in ARCHS.values() if getattr(a, key))


def _choices(allowed):
    """A click callback splitting "a,b" into a tuple, each checked against `allowed`."""
    def check(ctx, param, value):
        items = tuple(v.strip() for v in value.split(",") if v.strip())
        bad = [v for v in items if v not in allowed]
        if bad or not items:
            raise click.BadParameter(f"{', '.join(bad) or 'nothing'}: choose from {', '.join(allowed)}")
        return items
    return check


@click.command()
@click.argument("data", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory: checkpoint.pt, model.pt, metrics.jsonl, curves.png.")
@click.option("--families", default="erdos", show_default=True, callback=_choices(FAMILIES),
              help="Without DATA: stream fresh networks of these families (comma-separated), "
                   "every combination with --sizes/--kinetics/--weights in turn.")
@click.option("--sizes", default="S", show_default=True, callback=_choices(SIZES), help="Without DATA: size classes.")
@click.option("--kinetics", default=Kinetics.LINEAR.value, show_default=True, callback=_choices([k.value for k in KINETICS]),
              help="Without DATA: kinetics (michaelis-menten S networks are labelled at 20,000-30,000/s "
                   "on 2 cores, linear ones at ~100,000/s: benchmarks/README.md).")
@click.option("--weights", default="integer", show_default=True, callback=_choices(WEIGHTS),
              help="Without DATA: rate distributions.")
@click.option("--mm-intake-scale", default=0.05, show_default=True,
              help="Without DATA: Michaelis-Menten networks draw intake rates times this (at 1, ~1.5% "
                   "of them have an equilibrium; at 0.05, ~15%).")
@click.option("--pack", type=click.IntRange(1), default=1, show_default=True,
              help="Without DATA: generate PACK batches at a time and cut them into batches of networks "
                   "of similar length (less padding; the seq2seq reads 100-900 tokens per S network).")
@click.option("--arch", type=click.Choice(list(ARCHS)), default=DEFAULT_ARCH, show_default=True,
              help="; ".join(f"{a.name}: {a.help}" for a in ARCHS.values()) + ".")
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
@click.option("--max-time", type=click.FloatRange(min=0, min_open=True),
              help="Stop after this many seconds (wall clock) with a checkpoint; --resume continues.")
@click.option("--val", type=click.Path(exists=True, path_type=Path),
              help="Validation shards (default: hold out --val-size networks of the last shard).")
@click.option("--val-size", default=2000, show_default=True)
@click.option("--eval-every", default=1000, show_default=True, help="Validate every N steps (and every epoch).")
@click.option("--ckpt-every", default=500, show_default=True, help="Checkpoint every N steps.")
@click.option("--log-every", default=50, show_default=True)
@click.option("--width", default=None, type=int,
              help=f"Model width d_model [default: {_defaults('default_width')}].")
@click.option("--heads", default=8, show_default=True, help="Attention heads (graph, seq2seq).")
@click.option("--layers", default=None, type=int,
              help=f"Encoder layers [default: {_defaults('default_layers')} (seq2seq: the paper's)].")
@click.option("--dec-layers", default=6, show_default=True, help="seq2seq decoder layers.")
@click.option("--struct", type=click.Choice(["adj", "spd", "none"]), default="adj", show_default=True,
              help="graph: attention bias from reactions (adj), plus hop distances clipped at 8 (spd), "
                   "or none (ablation).")
@click.option("--iters-extra", default=8, show_default=True,
              help="flux: iterate the tied step n + ITERS_EXTRA times (slow-mixing networks gain from more).")
@click.option("--dropout", default=0.0, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def train(data, out, families, sizes, kinetics, weights, mm_intake_scale, pack, arch, task, max_steps, batch_size, lr,
          warmup, device, compile_, resume, max_time, val, val_size, eval_every, ckpt_every, log_every, width, heads,
          layers, dec_layers, struct, iters_extra, dropout, seed, quiet):
    """Train a model on the shards in DATA (from `metabnet gen`) into --out; without DATA, on
    networks generated as training goes (--families, --sizes, --kinetics, --weights), so that
    no dataset is needed on disk.

    Streams shuffled batches across shards without loading the dataset; AdamW with warm-up
    and cosine decay, gradient clipping, bf16 autocast on GPU; validates every --eval-every
    steps and every epoch; Ctrl-C or SIGTERM (SLURM, Kubernetes) ends the step under way and
    saves a checkpoint (continue with --resume); model.pt is written with every checkpoint
    and `metabnet info --model` says whether its run finished.  Several GPUs:
    `torchrun --nproc_per_node K -m metabnet train ...`."""
    from metabnet.learn.model import ModelConfig
    from metabnet.learn.train import TrainConfig, train as run

    mixture = None if data else [dict(family=f, size=s, kinetics=k, weights=w,
                                      **({"intake_scale": mm_intake_scale} if k == Kinetics.MM else {}))
                                 for f, s, k, w in itertools.product(families, sizes, kinetics, weights)]
    a = ARCHS[arch]
    mc = ModelConfig(arch=arch, task=task, d_model=width or a.default_width, n_heads=heads,
                     n_enc=layers or a.default_layers, n_dec=dec_layers,
                     struct=struct, iters_extra=iters_extra, dropout=dropout)
    tc = TrainConfig(data=str(data) if data else None, mixture=mixture, out=str(out), batch_size=batch_size,
                     lr=lr, warmup=warmup, max_steps=max_steps, eval_every=eval_every, ckpt_every=ckpt_every,
                     log_every=log_every, val_size=val_size, val=str(val) if val else None,
                     seed=seed, device=device, compile=compile_, pack=pack, max_seconds=max_time)
    if data:
        warn_unfinished([data])
    try:
        last = run(tc, mc, resume=resume, progress=not quiet)
    except (FileExistsError, ValueError) as e:  # a run already there, no shards, bad settings or checkpoint
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM (metabnet.learn.train.Interrupted)
        import signal

        signum = getattr(e, "signum", signal.SIGINT)
        click.echo(f"interrupted ({signal.Signals(signum).name}): continue from {out / 'checkpoint.pt'} "
                   "with --resume", err=True)
        raise SystemExit(128 + signum) from None
    if last:
        shown = {k: v for k, v in last.items() if k.startswith(("accuracy", "within_0.05"))}
        click.echo(f"validation: {shown}  ->  {out / 'model.pt'}")
