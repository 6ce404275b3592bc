"""Small shared CLI helpers: JSON-lines output and per-file error reporting."""
import json
import sys
from contextlib import contextmanager

import click


@contextmanager
def jsonl_out(path):
    """Yield a write(record) function to `path` (or stdout), one flushed line per record."""
    f = open(path, "w") if path else sys.stdout
    try:
        def write(rec):
            f.write(json.dumps(rec, allow_nan=False) + "\n")
            f.flush()
        yield write
    finally:
        if path:
            f.close()


def report_failures(failures):
    """One line per failed file on stderr; a non-zero exit when there were any."""
    for msg in failures:
        click.echo(f"error: {msg}", err=True)
    if failures:
        click.echo(f"{len(failures)} file(s) failed", err=True)
        sys.exit(1)
