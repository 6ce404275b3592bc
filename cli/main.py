"""`metabnet`: one click group; each subcommand lives in its own short module."""
import click

from metabnet import __version__
from metabnet.cli.bench import bench
from metabnet.cli.convert import convert
from metabnet.cli.eval import eval_
from metabnet.cli.export import export
from metabnet.cli.gen import gen
from metabnet.cli.info import info
from metabnet.cli.knockout import knockout
from metabnet.cli.score import score
from metabnet.cli.solve import solve
from metabnet.cli.train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="metabnet")
def main():
    """Generate labelled metabolic networks, compute their equilibria, and (with a trained
    Transformer) predict them.  Run `metabnet COMMAND --help` for each command."""


for command in (gen, solve, export, info, train, eval_, convert, score, knockout, bench):
    main.add_command(command)
