"""Small shared CLI helpers: the options every command spells the same way (--quiet,
--format, --force), the one check of what a command may write (`check_outputs`), reporting
per-file errors, choosing a model."""
import os
import sys
from pathlib import Path

import click

from metabnet.fileio import Failures, failed_files


def _echo_error(msg):
    click.echo(f"error: {msg}", err=True)


def failure_log() -> Failures:
    """The errors of a run, each printed on stderr as it comes (one line), counted for the end."""
    return Failures(report=_echo_error)


def quiet_option():
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar.")


def force_option():
    return click.option("--force", is_flag=True,
                        help="Write OUT even if it exists or is also an input (replacing it once the run ends).")


def format_option():
    """--format of the commands that write records (solve, score, knockout, export)."""
    return click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True,
                        help="jsonl: one JSON object per line; csv (needs --out): one row per network in OUT, "
                             "concentrations in OUT's stem + .x.csv (file,name,node,node_name,x...).")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_outputs(outputs, inputs=(), force: bool = False, replace_input: bool = True) -> None:
    """Refuse, in one line naming it, every file of `outputs` (None entries ignored) that is
    also one of `inputs` (the same file by resolved path or inode, or inside an input folder)
    or that already exists - unless `force`.  With `replace_input` False (convert) an output
    that is an input is refused even with `force`.  Every command that writes files calls it
    before reading anything."""
    inputs = [Path(p) for p in inputs if p is not None]
    for out in (Path(p) for p in outputs if p is not None):
        source = next((p for p in inputs if _same(out, p)
                       or (p.is_dir() and out.resolve().is_relative_to(p.resolve()) and out.exists())), None)
        if source is not None and not replace_input:
            raise click.ClickException(f"{out}: is also the input {source}; choose another output")
        if force:
            continue
        if source is not None:
            what = "is also an input" if _same(out, source) else f"lies in the input folder {source}"
            raise click.ClickException(f"{out}: {what}; choose another output, or --force to replace it")
        if out.exists() or out.is_symlink():
            raise click.ClickException(f"{out}: exists; choose another output, or --force to replace it")


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


def model_option(solver: bool = True, default: str = "default"):
    """The --model option of score, knockout and eval (metabnet.learn.shipped)."""
    extra = "; `solver`: the exact solver alone" if solver else ""
    return click.option("--model", "model_spec", default=default, show_default=True, metavar="MODEL",
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


def record_outputs(out, fmt: str) -> list:
    """The files a --out/--format pair writes: OUT, and with csv OUT's .x.csv."""
    from metabnet.io.records import x_csv_path

    return [] if out is None else [out, x_csv_path(out)] if fmt == "csv" else [out]


def record_writer(out, fmt: str, columns=None, **flags):
    """The writer of records for --out and --format (metabnet.io.records): a context manager
    yielding write(record); csv needs an --out."""
    from metabnet.io.records import CSV_COLUMNS, csv_out, jsonl_out

    if fmt != "csv":
        return jsonl_out(out)
    if out is None:
        raise click.UsageError("--format csv needs --out (it writes two files)")
    return csv_out(out, columns=columns or CSV_COLUMNS, **flags)


def shard_files(paths) -> list:
    """The .h5 shards of `paths` (files, or folders searched recursively) in the order given,
    a folder's sorted by path; a usage error naming a folder that holds none."""
    from metabnet.io.formats import iter_network_files

    files = []
    for p in paths:
        found = [f for f in iter_network_files([p]) if not Path(p).is_dir() or f.suffix == ".h5"]
        if not found:
            raise click.UsageError(f"{p}: holds no .h5 shards")
        files += found
    return files
