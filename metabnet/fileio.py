"""File I/O shared by every reader and writer of network files: the one-line `FormatError`,
reading text and JSON, writing through a temporary name (`AtomicFile`, `atomic_write`: the one way
every writer of metabnet writes a file), and numbers that read back exactly.

Imports nothing of the project's, so any module may use it.
"""
from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import re
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
    if isinstance(errors, Failures):
        return len(errors.files)
    return len({getattr(e, "path", str(e)) for e in errors})


class Failures:
    """The errors of a run (FormatErrors: one per bad file, JSON line or network), in bounded
    memory: each goes to `report` as it comes (the CLI prints it at once) and only their count
    and the files they name are kept; without `report` they are kept in order (a list for
    callers of the library).  `append` takes one; iterating gives those kept."""

    def __init__(self, report=None):
        self.report, self.kept, self.count, self.files = report, [], 0, set()

    def append(self, error) -> None:
        self.count += 1
        self.files.add(getattr(error, "path", str(error)))
        if self.report is None:
            self.kept.append(error)
        else:
            self.report(error)

    def __iadd__(self, errors):
        for e in errors:
            self.append(e)
        return self

    def __iter__(self):
        return iter(self.kept)

    def __len__(self) -> int:
        return self.count


def display_path(path) -> str:
    """`path` as printable text: bytes of a file name that are not UTF-8 (which Python keeps
    as lone surrogates) are shown as \\x escapes, so that messages and CSV cells encode."""
    s = str(path)
    try:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no byte gave
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


# Byte-order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32-LE"), (codecs.BOM_UTF32_BE, "UTF-32-BE"),
         (codecs.BOM_UTF8, "UTF-8"), (codecs.BOM_UTF16_LE, "UTF-16-LE"), (codecs.BOM_UTF16_BE, "UTF-16-BE"))


_LINE_BOM = re.compile("^\ufeff+", re.MULTILINE)


def decode_text(path, data: bytes) -> str:
    """The text of a file's bytes `data`, as users produce it: UTF-8, with or without a
    byte-order mark, or UTF-16 / UTF-32 with their byte-order mark (what Windows editors write
    as "Unicode"); the mark is dropped.  FormatError naming the encoding when the bytes do not
    decode, and for NUL characters, which no network file holds and which UTF-16 or UTF-32
    text without a byte-order mark shows as - never a misread."""
    encoding, bom = "UTF-8", b""
    for mark, name in _BOMS:
        if data.startswith(mark):
            encoding, bom = name, mark
            break
    try:
        text = data[len(bom):].decode(encoding.lower())
    except UnicodeDecodeError as e:
        what = "UTF-8" if not bom else f"{encoding} (its byte-order mark)"
        line = data[len(bom):len(bom) + e.start].decode(encoding.lower()).count("\n") + 1
        problem = f"not a {what} text file: byte 0x{data[len(bom) + e.start]:02x} at line {line} does not decode"
        if not bom:
            problem += "; save the file as UTF-8"
        raise FormatError(path, problem) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        hint = ("; is it UTF-16 or UTF-32 text without a byte-order mark? save it as UTF-8"
                if not bom else "")
        raise FormatError(path, f"not a text file: it holds NUL characters (line {line}){hint}")
    # files concatenated with `cat` carry their marks inside: a U+FEFF that begins a line is
    # a byte-order mark too, never part of a name or a number
    return _LINE_BOM.sub("", text)


# Most bytes of one network's text (a whole JSON, TSV or SBML file; one line of a JSON lines
# file): parsing takes about 20x the text in memory (a 43 MB JSON file of 1,000,000 nodes and
# 2,100,000 reactions peaked at 0.82 GB: benchmarks/huge_solve.py), so 64 MiB keeps reading
# near 1.3 GB, and a network at the solver's MAX_SPARSE (1,000,000 nodes) fits.
MAX_TEXT_BYTES = 64 << 20


def _too_large(size: int) -> str:
    return (f"{size / 2**20:,.0f} MiB of text for one network, more than the {MAX_TEXT_BYTES >> 20} MiB "
            "metabnet parses (about 20x that in memory); from Python, metabnet.Network(...) takes one "
            "as arrays and metabnet.solve_networks solves it")


def read_text(path) -> str:
    """The text of the file at `path` (see decode_text: UTF-8, a byte-order mark dropped, or
    UTF-16 / UTF-32 with one); FormatError when unreadable, larger than MAX_TEXT_BYTES, not
    text in those encodings, or empty."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_TEXT_BYTES:
            raise FormatError(path, _too_large(size))
        data = Path(path).read_bytes()
    except OSError as e:
        raise FormatError(path, f"cannot read file ({e.strerror or e})") from None
    text = decode_text(path, data)
    if not text.strip():
        raise FormatError(path, "file is empty")
    return text


def read_lines(path):
    """Yield (line number, text or FormatError) for every line of the text file at `path`, read
    a line at a time (memory bounded by the longest line; JSON lines files).  Each line is
    decoded on its own, as `decode_text` decodes a file (a byte-order mark at the start of the
    file or of a line dropped), so a line that does not decode is one FormatError for that
    line, and the lines after it are read; when the first line that holds anything does not
    decode, the file is not UTF-8 text (UTF-16 without its mark, Latin-1) and is refused whole.
    UTF-16 / UTF-32 files (with their mark) are decoded as a stream.  FormatError when the
    file cannot be opened or read."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(0)
            wide = next((name for mark, name in _BOMS if head.startswith(mark) and name != "UTF-8"), None)
            if wide:
                text = io.TextIOWrapper(f, encoding=wide.lower(), newline="\n")
                for lineno, line in enumerate(text, 1):
                    yield lineno, _LINE_BOM.sub("", line)
                return
            read = False  # a line decoded: the file is UTF-8 text
            for lineno, raw in enumerate(f, 1):
                if len(raw) > MAX_TEXT_BYTES:
                    yield lineno, FormatError(path, _too_large(len(raw)), lineno)
                    continue
                try:
                    text = decode_text(path, raw)
                except FormatError as e:
                    if not read:  # the first line decides the encoding: the whole file is not UTF-8
                        problem = e.problem.replace("line 1", f"line {lineno}")
                        raise FormatError(path, problem) from None
                    problem = e.problem.replace(" at line 1", "").replace(" (line 1)", "")  # this line's
                    yield lineno, FormatError(path, problem, lineno)
                    continue
                read = read or bool(text.strip())
                yield lineno, text
    except UnicodeDecodeError as e:
        raise FormatError(path, f"not {e.encoding} text ({e.reason})") from None
    except OSError as e:
        raise FormatError(path, f"cannot read file ({e.strerror or e})") from None


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


def temporary_name(path, suffix: str = ".tmp") -> Path:
    """The name beside `path` that a file is written under before the rename: NAME + suffix
    (``.tmp``; ``.part`` for result records, which keep what was written when a run stops)."""
    path = Path(path)
    return path.with_name(path.name + suffix)


class AtomicFile:
    """A file written under a temporary name beside `path` (`temporary_name`) and renamed onto
    `path` when complete (`commit`), so a killed or failed run never leaves a half-written
    `path`.  Whatever is at the temporary name already - the file of a killed run, or a
    symbolic link planted there - is removed first (removing a link leaves what it points to
    untouched); the file is then created exclusively and never through a link, by `open`
    (O_CREAT | O_EXCL | O_NOFOLLOW) or by a library that creates files itself in an exclusive
    mode (h5py's "w-", metabnet.gen.shard), so a link planted again in between makes the
    creation fail instead of being followed."""

    def __init__(self, path, suffix: str = ".tmp"):
        self.path = Path(path)
        self.tmp = temporary_name(self.path, suffix)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)

    def open(self, mode: str = "w", **kw):
        """The temporary file, created exclusively, as a file object ("w" text, "wb" bytes)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.tmp, flags, 0o666)
        try:
            return os.fdopen(fd, mode, **kw)
        except BaseException:
            os.close(fd)
            raise

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", suffix: str = ".tmp", keep_partial: bool = False, **kw):
    """Yield a file object (`AtomicFile.open`) that becomes `path` when the block ends without
    an error.  On an error the temporary file is removed, or with `keep_partial` kept (result
    records: the lines written so far).  OSError is raised as it comes."""
    file = AtomicFile(path, suffix)
    try:
        with file.open(mode, **kw) as f:
            yield f
    except BaseException:
        if not keep_partial:
            file.discard()
        raise
    file.commit()


@contextlib.contextmanager
def atomic_open(path, newline: str | None = None):
    """Yield a UTF-8 text file that becomes `path` only when the block ends without an
    error (`atomic_write`); OSError becomes FormatError."""
    try:
        with atomic_write(path, "w", encoding="utf-8", newline=newline) as f:
            yield f
    except OSError as e:
        raise FormatError(path, f"cannot write file ({e.strerror or e})") from None


def write_text(path, text: str) -> None:
    """Write through a temporary name and rename, so a killed run leaves no half file."""
    with atomic_open(path) as f:
        f.write(text)


def number_text(x) -> str:
    """A number that reads back exactly: integers without '.0', floats at repr precision."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)
