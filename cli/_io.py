"""Small shared CLI helpers: reporting per-file errors, choosing a model."""
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


def model_option(solver: bool = True):
    """The --model option of score, knockout and eval (metabnet.learn.shipped)."""
    extra = "; `solver`: the exact solver alone" if solver else ""
    return click.option("--model", "model_spec", default="default", show_default=True, metavar="MODEL",
                        help=f"A checkpoint of `metabnet train` (model.pt); `default`: the model shipped "
                             f"with metabnet (`metabnet info --model`){extra}.")


def load_model_spec(spec, device, **config):
    """(model, checkpoint) for a --model value, (None, None) for `solver`; one-line errors."""
    from metabnet.learn.shipped import model_path

    try:
        path = model_path(spec)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None
    if path is None:
        return None, None
    from metabnet.learn.predict import load_model

    try:
        return load_model(path, device, **config)
    except (RuntimeError, KeyError, ValueError, OSError) as e:
        raise click.ClickException(f"{path}: not a metabnet checkpoint ({str(e).splitlines()[0]})") from None
