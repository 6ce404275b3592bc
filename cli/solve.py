"""metabnet solve: exact equilibria of network files."""
import functools
from pathlib import Path

import click

from metabnet.cli._io import (check_outputs, failure_log, force_option, format_option, quiet_option, record_outputs,
                              record_writer, report_failures)
from metabnet.io.formats import describe, readable


@click.command(help=f"""Compute the exact equilibrium of every network in PATHS, one record each
    (the keys are listed in README, "Result records"; `residual` is the solver's worst node:
    max |dx_v/dt| over the gross flux through v).  PATHS are files or folders (searched
    recursively) of {describe(readable())}: a shard gives every network, named SHARD:i; a
    shard folder's manifest is skipped.  Records follow the order of PATHS (a folder's files
    sorted by path).  OUT is refused if it exists or is an input (--force replaces it), and is
    never read from an input folder.  A bad file (or JSON line) gets one error line on
    stderr; the others go on; the exit code is 1 if any failed.  A network of 100,000 nodes or
    more says on stderr what its solve will do and can cost, then shows the iterations (-q:
    silent); one no solve within metabnet/solve/limits.py finishes is refused in one line.""")
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: JSON lines on stdout).")
@format_option()
@click.option("--method", type=click.Choice(["direct", "ode"]), default="direct", show_default=True,
              help="direct: LU solve (linear) or continuation + Newton with divergence "
                   "certificates (Michaelis-Menten); "
                   "ode: Rosenbrock integration from x(0)=0 to steady state.")
@force_option()
@quiet_option()
def solve(paths, out, fmt, method, force, quiet):
    from metabnet.fileio import FormatError
    from metabnet.io.formats import iter_network_files
    from metabnet.io.records import SOLVE_CSV_COLUMNS
    from metabnet.progress import progress_bar
    from metabnet.score import solve_files

    outputs = record_outputs(out, fmt)
    check_outputs(outputs, paths, force)
    output = record_writer(out, fmt, SOLVE_CSV_COLUMNS)
    failures = failure_log()  # each error printed as it comes
    files = iter_network_files(paths, exclude=outputs, errors=failures)
    try:
        with output as write, progress_bar(unit="net", desc="solve", enabled=out is not None and not quiet) as bar:
            solve_files(files, write, method, bar.update, failures,
                        solver_progress=functools.partial(progress_bar, enabled=not quiet))
    except FormatError as e:  # the output cannot be written
        raise click.ClickException(str(e)) from None
    report_failures(failures)
