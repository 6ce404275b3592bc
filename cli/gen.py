"""metabnet gen: a directory of labelled HDF5 shards."""
from pathlib import Path

import click

from metabnet.gen.config import BALANCES, FAMILIES, METHODS, SIZES, WEIGHTS, GenConfig
from metabnet.network import KINETICS

_d = GenConfig()


@click.command()
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory of shards (created; a rerun resumes, skipping complete shards).")
@click.option("--count", "-n", type=click.IntRange(1), default=10_000, show_default=True, help="Networks in all.")
@click.option("--family", type=click.Choice(list(FAMILIES)), default=_d.family, show_default=True,
              help="Graph family. Hard ones: trap (sink-free, closed classes), longpath (>= 20 hops), "
                   "bowtie, layered, modular; 1-4 intake/excretion edges, balanced by construction.")
@click.option("--size", type=click.Choice([*SIZES, "custom"]), default=_d.size, show_default=True,
              help="Size class: S 32-64, M 64-128, L 128-256 inner nodes.")
@click.option("--n-min", type=click.IntRange(1), help="Custom inner-node range (overrides --size).")
@click.option("--n-max", type=click.IntRange(1))
@click.option("--m-min", type=float, default=_d.m_min, show_default=True, help="Edges m = round(U[m-min, m-max] n).")
@click.option("--m-max", type=float, default=_d.m_max, show_default=True)
@click.option("--intake", type=click.IntRange(1), default=1, show_default=True, help="Intake edges.")
@click.option("--excretion", type=click.IntRange(1), default=1, show_default=True, help="Excretion edges.")
@click.option("--intake-max", type=click.IntRange(1),
              help="Draw intake..intake-max intake edges per network [default: --intake; hard families 4].")
@click.option("--excretion-max", type=click.IntRange(1),
              help="Draw excretion..excretion-max excretion edges per network [default: as --intake-max].")
@click.option("--weights", type=click.Choice(list(WEIGHTS)), default=_d.weights, show_default=True)
@click.option("--w-min", type=float, default=_d.w_min, show_default=True)
@click.option("--w-max", type=float, default=_d.w_max, show_default=True)
@click.option("--intake-scale", type=float, default=_d.intake_scale, show_default=True,
              help="Multiply intake rates by this (Michaelis-Menten networks need less inflow "
                   "than their capacity: try 0.05).")
@click.option("--kinetics", type=click.Choice([k.value for k in KINETICS]), default=_d.kinetics, show_default=True)
@click.option("--k-min", type=float, default=_d.k_min, show_default=True, help="Michaelis constants K ~ log-U[k-min, k-max].")
@click.option("--k-max", type=float, default=_d.k_max, show_default=True)
@click.option("--balance", type=click.Choice(list(BALANCES)), default=_d.balance, show_default=True,
              help="redeem: repair a network without equilibrium with prob. --p-redeem (paper); "
                   "drop: keep only --p-keep of them; ratio: exactly --ratio with equilibrium. "
                   "Hard families build each network's class from a coin (50/50, or --ratio exactly "
                   "under ratio), so redeem and none mean 50/50 there.")
@click.option("--p-redeem", type=float, default=_d.p_redeem, show_default=True)
@click.option("--p-keep", type=float, default=_d.p_keep, show_default=True)
@click.option("--ratio", type=float, default=_d.ratio, show_default=True)
@click.option("--method", type=click.Choice(list(METHODS)), default=_d.method, show_default=True,
              help="Label method: direct solve / Newton, or ODE integration to steady state.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--shard-size", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--threads", type=click.IntRange(1), help="Numba threads (default: all cores).")
@click.option("--scheduler", metavar="ADDRESS", help="Run shards as tasks on this Dask scheduler.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def gen(out, count, seed, shard_size, threads, scheduler, quiet, **settings):
    """Generate COUNT random networks with labels and equilibria into HDF5 shards in OUT.

    Every network's random stream derives from (seed, shard, index): the same command gives
    the same bytes on any number of threads or workers.  Ends with a summary table."""
    from metabnet.gen.dataset import Plan, run

    if threads:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    if settings["n_min"] is not None or settings["n_max"] is not None:  # a custom range
        lo, hi = SIZES[settings["size"]] if settings["size"] in SIZES else (1, 1)
        settings.update(size="custom", n_min=settings["n_min"] or lo, n_max=settings["n_max"] or hi)
    try:
        config = GenConfig(**settings)
        plan = Plan(out, config, count, seed, shard_size)
        summary = run(plan, scheduler=scheduler, progress=not quiet)
    except (ValueError, RuntimeError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(format_summary(summary))


def format_summary(s: dict) -> str:
    n = s["networks"]
    pct = (lambda k: f"{k:,} ({100 * k / n:.1f}%)") if n else str
    rows = [
        ("networks", f"{n:,} in {s['shards']} shard(s); {s['written_shards']} written, {s['skipped_shards']} already complete"),
        ("unique equilibrium", pct(s["exists_unique"])),
        ("bounded from x(0)=0", pct(s["exists_bounded"])),
        ("redeemed", pct(s["redeemed_networks"])),
        ("inner nodes", "{min} / {mean} / {max} (min / mean / max)".format(**s["nodes"])),
        ("edges", "{min} / {mean} / {max} (min / mean / max)".format(**s["edges"])),
        ("max residual", f"{s['max_residual']:.2e}" if s["max_residual"] is not None else "-"),
        ("solver failures", str(s["solver_failures"])),
        ("throughput", f"{s['networks_per_s']:,.0f} networks/s ({s['generated']:,} in {s['seconds']:.2f} s)"
         if s["networks_per_s"] else "nothing generated"),
    ]
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)
