"""metabnet bench: generation, solver and inference speed beside the tools users would pick instead."""
from pathlib import Path

import click

from metabnet.bench import SECTIONS


@click.command()
@click.option("--quick", is_flag=True, help="Fewer networks and sizes (about 10 minutes on 2 loaded cores, 2026-12-03).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-report"),
              show_default=True, help="Folder for bench.json, bench.md and the plots.")
@click.option("--only", default=",".join(SECTIONS), show_default=True,
              help=f"Sections to run, comma-separated: {', '.join(SECTIONS)}.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the models run (infer, scale).")
@click.option("--model", "model_spec", default="default", show_default=True,
              help="The checkpoint timed in infer and scale (`default`: the shipped model).")
@click.option("--fraction", type=float, default=1.0, show_default=True,
              help="Multiply every network count (a smoke run: 0.05).")
def bench(quick, out, only, device, model_spec, fraction):
    """Measure, in one run and on the same networks: generation throughput to HDF5 (by family,
    size, kinetics, method and threads) against the paper-style Python + networkx generator;
    exact solving per network against numpy, scipy (spsolve, solve_ivp LSODA and BDF),
    libRoadRunner and COPASI, with how many of their answers agree; model latency and batched
    throughput with the accuracy reached; and cost against network size (32 to 10,000 nodes,
    log-log fit).  References that are not installed are reported as missing
    (`pip install -e ".[bench]"`).  Prints the table and writes OUT/bench.json, OUT/bench.md
    and OUT/scale.png."""
    from metabnet.bench import suite as b
    from metabnet.learn.device import resolve_device

    sections = [x.strip() for x in only.split(",") if x.strip()]
    bad = [x for x in sections if x not in SECTIONS]
    if bad or not sections:
        raise click.BadParameter(f"{', '.join(bad) or 'nothing'}: choose from {', '.join(SECTIONS)}", param_hint="--only")
    s = b.Settings(quick=quick, scale=fraction, device=resolve_device(device), model=model_spec)
    rep = b.run(sections, s, echo=lambda msg: click.echo(msg, err=True))
    click.echo(b.write(rep, out))
    click.echo(f"written: {out / 'bench.json'}, {out / 'bench.md'}", err=True)
