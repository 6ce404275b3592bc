"""File I/O shared by every reader and writer of network files: the one-line `FormatError`,
reading text and JSON, writing through a temporary name, and numbers that read back exactly.

Imports nothing of the project's, so any module may use it.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


class FormatError(ValueError):
    """A file that cannot be read or written as networks; ``str()`` is one line,
    ``path: problem`` or ``path:line: problem``."""

    def __init__(self, path, problem, line: int | None = None):
        self.path, self.line = display_path(path), line
        self.problem = " ".join(str(problem).split())  # one line, whatever the cause said
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {self.problem}")

    def __reduce__(self):  # picklable across processes (Dask workers)
        return type(self), (self.path, self.problem, self.line)


def failed_files(errors) -> int:
    """How many files the errors name (a JSON lines file may give several FormatErrors)."""
    return len({getattr(e, "path", str(e)) for e in errors})


def display_path(path) -> str:
    """`path` as printable text: bytes of a file name that are not UTF-8 (which Python keeps
    as lone surrogates) are shown as \\x escapes, so that messages and CSV cells encode."""
    s = str(path)
    try:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no byte gave
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def read_text(path) -> str:
    """The UTF-8 text of the file at `path`; FormatError when unreadable, not UTF-8 or empty."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise FormatError(path, f"cannot read file ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise FormatError(path, "not a UTF-8 text file") from None
    if not text.strip():
        raise FormatError(path, "file is empty")
    return text


def parse_json(path, text: str, line: int | None = None):
    """The JSON value of `text` (read from `path`, at `line` of a JSON lines file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = f"column {e.colno}" if line else f"line {e.lineno} column {e.colno}"
        raise FormatError(path, f"malformed JSON: {e.msg} ({where})", line) from None
    except (ValueError, RecursionError) as e:  # e.g. an integer with too many digits
        raise FormatError(path, f"malformed JSON: {e}", line) from None


def load_json(path):
    """The JSON value in the file at `path`; FormatError when unreadable, empty or malformed."""
    return parse_json(path, read_text(path))


def temporary_name(path) -> Path:
    """The hidden name beside `path` that a file is written under before the rename."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp")


@contextlib.contextmanager
def atomic_open(path, newline: str | None = None):
    """Yield a text file (UTF-8) that becomes `path` only when the block ends without an
    error: it is written under `temporary_name(path)` and renamed, so a killed or failed run
    never leaves a half-written `path`.  OSError becomes FormatError."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with open(tmp, "w", encoding="utf-8", newline=newline) as f:
            yield f
        os.replace(tmp, path)
    except OSError as e:
        raise FormatError(path, f"cannot write file ({e.strerror or e})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_text(path, text: str) -> None:
    """Write through a temporary name and rename, so a killed run leaves no half file."""
    with atomic_open(path) as f:
        f.write(text)


def number_text(x) -> str:
    """A number that reads back exactly: integers without '.0', floats at repr precision."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)
