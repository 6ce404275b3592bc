"""Small shared CLI helpers: JSON-lines output and per-file error reporting."""
import json
import os
import sys
from contextlib import contextmanager

import click


@contextmanager
def jsonl_out(path):
    """Yield a write(record) function to `path` (or stdout), one flushed line per record.

    A file is written as `path`.part and renamed to `path` once every record is written; an
    interrupted or killed run leaves the .part file (whole lines, the records written so
    far), never a `path` that looks complete."""
    part = path.with_name(path.name + ".part") if path else None
    f = open(part, "w") if path else sys.stdout

    def write(rec):
        f.write(json.dumps(rec, allow_nan=False) + "\n")
        f.flush()

    try:
        yield write
    finally:
        if path:
            f.close()
    if path:
        os.replace(part, path)


def report_failures(failures):
    """One line per failed file on stderr; a non-zero exit when there were any."""
    for msg in failures:
        click.echo(f"error: {msg}", err=True)
    if failures:
        click.echo(f"{len(failures)} file(s) failed", err=True)
        sys.exit(1)
