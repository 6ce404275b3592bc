"""metabnet solve: exact equilibria of network files."""
from pathlib import Path

import click

from metabnet.cli._io import report_failures
from metabnet.io.formats import describe, readable


@click.command(help=f"""Compute the exact equilibrium of every network in PATHS, one JSON line each (DESIGN §5
    keys).  PATHS are files or folders (searched recursively) of {describe(readable())}: a shard
    gives every network, named SHARD:i; a shard folder's manifest is skipped; OUT is never read
    as input.  A bad file (or JSON line) gets one error line on stderr; the others go on; the
    exit code is 1 if any failed.""")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON lines file (default: stdout).")
@click.option("--method", type=click.Choice(["direct", "ode"]), default="direct", show_default=True,
              help="direct: LU solve (linear) or continuation + Newton with divergence "
                   "certificates (Michaelis-Menten); "
                   "ode: Rosenbrock integration from x(0)=0 to steady state.")
def solve(paths, out, method):
    from metabnet.fileio import FormatError
    from metabnet.io.formats import iter_network_files
    from metabnet.progress import progress_bar
    from metabnet.io.records import jsonl_out
    from metabnet.score import solve_files

    files = iter_network_files(paths, exclude=[out])
    try:
        with jsonl_out(out) as write, progress_bar(total=len(files), unit="file", desc="solve",
                                                   enabled=out is not None) as bar:
            failures = solve_files(files, write, method, bar.update)
    except FormatError as e:  # the output cannot be written
        raise click.ClickException(str(e)) from None
    report_failures(failures)
