"""Small shared CLI helper: reporting per-file errors."""
import sys

import click

from metabnet.fileio import failed_files


def report_failures(failures):
    """One line per error on stderr (FormatErrors or text); a count of the files they name
    and a non-zero exit when there were any."""
    for msg in failures:
        click.echo(f"error: {msg}", err=True)
    if failures:
        click.echo(f"{failed_files(failures)} file(s) failed", err=True)
        sys.exit(1)
