"""Small shared CLI helpers: reporting per-file errors, choosing a model."""
import sys

import click

from metabnet.fileio import Failures, failed_files


def _echo_error(msg):
    click.echo(f"error: {msg}", err=True)


def failure_log() -> Failures:
    """The errors of a run, each printed on stderr as it comes (one line), counted for the end."""
    return Failures(report=_echo_error)


def report_failures(failures):
    """One line per error on stderr (FormatErrors or text; those of a `failure_log` were
    printed as they came); a count of the files they name and a non-zero exit when there were
    any."""
    for msg in failures:
        _echo_error(msg)
    if failures:
        errors = f"{len(failures):,} error(s) in " if isinstance(failures, Failures) else ""
        click.echo(f"{errors}{failed_files(failures)} file(s) failed", err=True)
        sys.exit(1)


def warn_unfinished(paths):
    """A warning line on stderr for each shard folder in `paths` that a `gen` has not finished."""
    from metabnet.gen.dataset import unfinished

    for line in unfinished(paths):
        click.echo(f"warning: {line}", err=True)


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
    from metabnet.learn.predict import CheckpointError, load_model

    try:
        return load_model(path, device, **config)
    except CheckpointError as e:  # one line naming the file
        raise click.ClickException(str(e)) from None
    except (RuntimeError, KeyError, ValueError, OSError) as e:
        raise click.ClickException(f"{path}: not a metabnet checkpoint ({str(e).splitlines()[0]})") from None
