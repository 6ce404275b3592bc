"""metabnet solve: exact equilibria of network files."""
from pathlib import Path

import click

from metabnet.cli._io import jsonl_out, report_failures


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON lines file (default: stdout).")
@click.option("--method", type=click.Choice(["direct", "ode"]), default="direct", show_default=True,
              help="direct: LU solve (linear) or damped Newton (Michaelis-Menten); "
                   "ode: Rosenbrock integration from x(0)=0 to steady state.")
def solve(paths, out, method):
    """Compute the exact equilibrium of every network in PATHS, one JSON line each (DESIGN §5
    keys).  PATHS are files or folders (searched recursively) of .json, .jsonl, .tsv, SBML
    (.xml/.sbml), the paper's token JSON and HDF5 shards of `metabnet gen` (.h5: every network
    of the shard, named SHARD:i; a shard folder's metabnet.json manifest is skipped).  A bad
    file gets one error line on stderr; the others go on; the exit code is 1 if any failed."""
    from tqdm.auto import tqdm

    from metabnet.fileio import FormatError
    from metabnet.formats import iter_network_files, read_networks
    from metabnet.solve import solve as solve_net

    failures = []
    files = iter_network_files(paths)
    with jsonl_out(out) as write:
        for path in tqdm(files, unit="file", disable=None if out else True, desc="solve"):
            try:
                nets = read_networks(path)
                for net in nets:
                    write(solve_net(net, method))
            except (FormatError, RuntimeError) as e:
                failures.append(str(e))
    report_failures(failures)
