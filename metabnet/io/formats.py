"""Network files (DESIGN §5): read and write .json, .jsonl, .tsv, the paper's token JSON and
SBML (.xml/.sbml, in metabnet.io.sbml); read the HDF5 shards of `metabnet gen` (.h5) too,
each format chosen by the `FORMATS` registry.

Every problem with a file becomes one `FormatError` whose message is a single line,
``path: problem`` or ``path:line: problem``, so a batch can report it and go on.

TSV holds one network, one reaction per line: ``src<TAB>dst<TAB>rate`` (whitespace also
separates columns when a line has no tab).  A 4th column K makes the file Michaelis-Menten
(rate is then V); intake lines need no K, and a K given there is ignored.  ``INTAKE`` and
``EXCRETION`` are the special nodes; every other name (string or integer) is an inner node,
numbered 1..n in order of first appearance; the names are kept in ``net.meta["nodes"]``.
Lines starting with ``#`` and a header ``src dst rate [K]`` are skipped.  A written TSV
names inner nodes 1..n, so a node with no reaction is lost, and reading it back numbers the
nodes by first appearance again.

A shard (.h5) gives all its networks, named ``STEM:i`` as `metabnet export` names them, with
the stored labels in ``meta["exists_unique"]`` and ``meta["x"]`` (read by metabnet.gen.shard,
the format's owner).  A folder of shards also holds the run's manifest ``metabnet.json``;
`iter_network_files` leaves it out, and reading it as a network says what it is.

`FORMATS` is the one list of formats: every reader, writer, folder walk and help text asks it.
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from metabnet.fileio import FormatError, display_path, load_json, number_text, parse_json, read_text, write_text
from metabnet.network import Network, NetworkError
from metabnet.tokens import clean_tokens, decode_input, decode_output, encode_input, encode_output

_HEADERS = (["src", "dst", "rate"], ["src", "dst", "rate", "k"])
_SPECIAL = ("INTAKE", "EXCRETION")


# ---- reading ---------------------------------------------------------------------------
def read_networks(path, errors: list | None = None) -> list[Network]:
    """All networks in the file at `path`, its format chosen by extension (`FORMATS`);
    FormatError on any problem.

    With a list `errors`, the bad lines of a JSON lines file are appended to it (one
    FormatError each) and the networks of its good lines returned; without, the first bad
    line raises."""
    path = Path(path)
    fmt = format_of(path)
    if fmt is None or fmt.read is None:
        suffix = path.suffix.lower()
        raise FormatError(path, f"unknown file type {suffix or '(no extension)'!r} "
                                f"(expected one of {' '.join(suffixes(read=True))})")
    if not fmt.text:
        return fmt.read(path, None, errors)
    text = read_text(path)
    try:
        nets = fmt.read(path, text, errors)
    except (ArithmeticError, RecursionError) as e:  # a safety net: the readers refuse what they know
        raise FormatError(path, f"cannot read file ({type(e).__name__}: {e})") from None
    for net in nets:
        net.meta["file"] = display_path(path)
    return nets


def iter_network_files(paths, shards: bool = True, exclude=()) -> list[Path]:
    """The files named in `paths` plus the network files (a readable format of `FORMATS`;
    with `shards` also .h5 shards) found under the folders among them, recursively, skipping
    hidden entries and the manifest of a shard folder; sorted, without duplicates.  A named
    file is kept whatever its extension (or existence) so that reading it reports the
    problem.  The files in `exclude` (a run's own outputs, which may lie in an input folder)
    are left out."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    skip = {Path(p).resolve() for p in exclude if p is not None}
    found = set()
    for p in map(Path, paths):
        if not p.is_dir():
            found.add(p)
            continue
        for f in p.rglob("*"):
            fmt = format_of(f)
            if (fmt is not None and fmt.read is not None and (shards or fmt.text) and f.is_file()
                    and not any(part.startswith(".") for part in f.relative_to(p).parts)
                    and not is_manifest(f)):
                found.add(f)
    return sorted(f for f in found if not skip or f.resolve() not in skip)


def is_manifest(path) -> bool:
    """Whether `path` is the manifest `metabnet gen` writes beside its shards (named
    metabnet.gen.dataset.MANIFEST and holding what `looks_like_manifest` there recognises).  Only
    files of that name are opened, so a walk over many files stays cheap."""
    from metabnet.gen.dataset import MANIFEST, looks_like_manifest  # gen loads numba: cached after a first walk

    path = Path(path)
    if path.name != MANIFEST:
        return False
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # reading it as a network reports the problem
    return looks_like_manifest(obj)


def _looks_like_manifest(obj) -> bool:
    if not isinstance(obj, dict) or "n" in obj:  # a network (or not an object): no need to ask
        return False
    from metabnet.gen.dataset import looks_like_manifest  # gen loads numba: only for such objects

    return looks_like_manifest(obj)


def _network(obj, path: Path, name: str, line: int | None = None) -> Network:
    try:
        net = Network.from_dict(obj)
    except NetworkError as e:
        raise FormatError(path, e, line) from None
    except (ValueError, TypeError, OverflowError) as e:  # int(NaN), beyond int32
        raise FormatError(path, f"invalid node id ({e})", line) from None
    net.name = net.name or name
    return net


def _read_json(path: Path, text: str, errors=None) -> list[Network]:
    obj = parse_json(path, text)
    if _looks_like_manifest(obj):
        raise FormatError(path, "the manifest of a `metabnet gen` shard folder, not a network; "
                                "give the folder or its .h5 shards")
    if isinstance(obj, dict) and "data_input" in obj:
        return [net for net, *_ in parse_token_json(obj, path)]
    return [_network(obj, path, path.stem)]


def _read_jsonl(path: Path, text: str, errors: list | None = None) -> list[Network]:
    """The networks of a JSON lines file; with `errors`, every bad line goes there (see
    read_networks) instead of raising."""
    nets, bad = [], []
    for lineno, line in enumerate(text.split("\n"), 1):  # not splitlines: JSON may hold U+2028
        if line.strip():
            try:
                nets.append(_network(parse_json(path, line, lineno), path, f"{path.stem}#{lineno}", lineno))
            except FormatError as e:
                if errors is None:
                    raise
                bad.append(e)
    if errors is not None:
        errors += bad
    return nets


def _read_shard(path: Path, text=None, errors=None) -> list[Network]:
    from metabnet.gen.shard import ShardError, open_shard  # gen loads numba: only for shards

    try:
        with open_shard(path) as shard:
            nets = []
            for net, labels in shard.networks():
                net.meta.update(file=str(path), exists_unique=labels["exists_unique"], x=labels["x"])
                nets.append(net)
    except ShardError as e:
        msg = str(e)
        raise FormatError(path, msg[len(f"{path}: "):] if msg.startswith(f"{path}: ") else msg) from None
    except (OSError, KeyError, ValueError) as e:
        raise FormatError(path, f"cannot read shard ({e})") from None
    return nets


def _read_sbml(path: Path, text: str, errors=None) -> list[Network]:
    from metabnet.io import sbml  # libsbml loads only for SBML files

    return sbml.read(path, text)


def _positive(path, lineno: int, what: str, s: str) -> float:
    try:
        x = float(s)
    except ValueError:
        raise FormatError(path, f"{what} {s!r} is not a number", lineno) from None
    if not math.isfinite(x):
        raise FormatError(path, f"{what} is not finite ({s})", lineno)
    if x <= 0:
        raise FormatError(path, f"{what} must be positive, got {s}", lineno)
    return x


def _read_tsv(path: Path, text: str, errors=None) -> list[Network]:
    rows, names, mm = [], {}, False
    for lineno, line in enumerate(text.split("\n"), 1):
        cols = [c.strip() for c in line.split("\t")] if "\t" in line else line.split()
        while cols and not cols[-1]:
            cols.pop()
        if not cols or cols[0].startswith("#"):
            continue
        if not rows and [c.lower() for c in cols] in _HEADERS:
            mm = len(cols) == 4
            continue
        if len(cols) not in (3, 4) or not all(cols):
            raise FormatError(path, f"expected 3 columns (src dst rate) or 4 (src dst V K), got "
                                    f"{len(cols)}{'' if all(cols) else ' with an empty one'}", lineno)
        u, v = cols[0], cols[1]
        if u == "EXCRETION" or v == "INTAKE":
            raise FormatError(path, f"reaction {u} -> {v}: nothing leaves EXCRETION or enters INTAKE", lineno)
        if (u, v) == _SPECIAL:
            raise FormatError(path, "reaction goes straight from INTAKE to EXCRETION", lineno)
        for node in (u, v):
            if node not in _SPECIAL:
                names.setdefault(node, len(names) + 1)
        rate = _positive(path, lineno, "rate", cols[2])
        km = _positive(path, lineno, "K", cols[3]) if len(cols) == 4 and u != "INTAKE" else math.nan
        mm |= len(cols) == 4
        rows.append((lineno, u, v, rate, km))
    if not rows:
        raise FormatError(path, "no reactions in file")
    if mm:
        for lineno, u, _, _, km in rows:
            if u != "INTAKE" and math.isnan(km):
                raise FormatError(path, "Michaelis-Menten file (K column) but no K on this line", lineno)
    ids = {**names, "INTAKE": 0, "EXCRETION": len(names) + 1}
    _, us, vs, rates, kms = zip(*rows)
    net = Network(len(names), [ids[u] for u in us], [ids[v] for v in vs], rates, kms if mm else None,
                  "michaelis-menten" if mm else "linear", path.stem, {"nodes": list(names)})
    try:
        net.validate()
    except NetworkError as e:
        raise FormatError(path, e) from None
    return [net]


# ---- token JSON files (DESIGN §4) ------------------------------------------------------------------
def parse_token_json(obj, path, weighted: bool | None = None) -> list[tuple]:
    """(network, class or None, values or None, name) for every example of a parsed
    ``{"data_input": [[input_tokens, output_tokens, name], ...]}``; FormatError naming `path`
    and the example on any problem.  Labels also go to ``meta["exists_unique"]`` / ``meta["x"]``."""
    rows = obj.get("data_input") if isinstance(obj, dict) else None
    if not isinstance(rows, list):
        raise FormatError(path, 'expected {"data_input": [[input_tokens, output_tokens, name], ...]}')
    if not rows:
        raise FormatError(path, "no examples in data_input")
    examples = []
    for i, row in enumerate(rows):
        where = f"data_input[{i}]"
        if not isinstance(row, list) or len(row) not in (2, 3):
            raise FormatError(path, f"{where} must be [input_tokens, output_tokens, name]")
        try:
            net = decode_input(row[0], weighted)
        except ValueError as e:
            raise FormatError(path, f"{where}: {e}") from None
        out = clean_tokens(row[1])
        cls, x = decode_output(out) if out else (None, None)
        if out is None or (out and (cls is None or (len(out) > 1 and x is None))):
            raise FormatError(path, f"{where}: malformed output tokens")
        if x is not None and len(x) != net.n:
            raise FormatError(path, f"{where}: {len(x)} output values for {net.n} inner nodes")
        name = row[2] if len(row) == 3 else f"{Path(path).stem}#{i}"
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise FormatError(path, f"{where}: name must be a string")
        net.name = str(name)
        net.meta.update(file=str(path), exists_unique=None if cls is None else bool(cls), x=x)
        examples.append((net, cls, x, net.name))
    return examples


def read_token_json(path, weighted: bool | None = None) -> list[tuple]:
    """The examples of a token JSON file as (network, class or None, values or None, name)."""
    return parse_token_json(load_json(path), path, weighted)


def write_token_json(path, examples, weighted: bool = True, precision: int = 3) -> None:
    """Write (network, class or None, values or None, name) examples as token JSON, token
    sequences as space-separated strings; no output tokens where the class is None."""
    rows = []
    for i, (net, cls, x, name) in enumerate(examples):
        try:
            out = [] if cls is None else encode_output(bool(cls), x, precision)
            rows.append([" ".join(encode_input(net, weighted)), " ".join(out),
                         net.name if name is None else str(name)])
        except ValueError as e:
            raise FormatError(path, f"example {i}: {e}") from None
    write_text(path, json.dumps({"data_input": rows}) + "\n")


# ---- writing ---------------------------------------------------------------------------
def write_networks(path, networks) -> None:
    """Write `networks` (a Network or a list) to `path`, its format chosen by extension
    (`FORMATS`): .json, .tsv and .xml/.sbml hold exactly one, .jsonl and .tokens.json (the
    paper's token JSON, labels taken from ``meta["exists_unique"]`` and ``meta["x"]`` when
    present) any number.  FormatError on any problem."""
    path = Path(path)
    nets = [networks] if isinstance(networks, Network) else list(networks)
    if not nets:
        raise FormatError(path, "no network to write")
    for net in nets:
        try:
            net.validate()
        except NetworkError as e:
            raise FormatError(path, f"network {net.name!r}: {e}") from None
    fmt = format_of(path)
    if fmt is None or fmt.write is None:
        suffix = path.suffix.lower()
        raise FormatError(path, f"cannot write {suffix or 'a file without extension'!r} "
                                f"(expected {', '.join(suffixes(write=True)[:-1])} or {suffixes(write=True)[-1]})")
    if fmt.one and len(nets) != 1:
        raise FormatError(path, f"a {path.suffix.lower()} file holds exactly one network, got {len(nets)} (use .jsonl)")
    fmt.write(path, nets)


def _write_json_lines(path: Path, nets) -> None:
    write_text(path, "".join(json.dumps(net.to_dict(), allow_nan=False) + "\n" for net in nets))


def _write_tokens(path: Path, nets) -> None:
    write_token_json(path, [(net, net.meta.get("exists_unique"), net.meta.get("x"), net.name) for net in nets])


def _write_tsv(path: Path, nets) -> None:
    write_text(path, _tsv(nets[0]))


def _write_sbml(path: Path, nets) -> None:
    from metabnet.io import sbml

    sbml.write(path, nets[0])


# ---- the registry ------------------------------------------------------------------------
@dataclass(frozen=True)
class Format:
    """A network file format: the endings of its file names (lower case; the longest that
    matches wins, so .tokens.json is not .json), how to read it - (path, text, errors) ->
    networks, text None for a binary format - and write it - (path, networks) -, whether a
    file holds exactly one network, and whether `convert --to` writes folders of it."""
    name: str
    suffixes: tuple[str, ...]
    read: Callable | None
    write: Callable | None
    help: str  # how help texts name it
    one: bool = False
    text: bool = True
    folder: bool = False


FORMATS = (
    Format("json", (".json",), _read_json, _write_json_lines, ".json", one=True, folder=True),
    Format("jsonl", (".jsonl",), _read_jsonl, _write_json_lines, ".jsonl", folder=True),
    Format("tsv", (".tsv",), _read_tsv, _write_tsv, ".tsv", one=True, folder=True),
    Format("sbml", (".xml", ".sbml"), _read_sbml, _write_sbml, "SBML .xml/.sbml", one=True, folder=True),
    Format("tokens", (".tokens.json",), _read_json, _write_tokens,  # DESIGN §4; any .json reads as one too
           "the paper's token JSON (.tokens.json)"),
    Format("shard", (".h5",), _read_shard, None, "HDF5 shards of `metabnet gen` (.h5)", text=False),
)
FOLDER_FORMATS = tuple(s[1:] for f in FORMATS if f.folder for s in f.suffixes)  # convert --to: NAME.FORMAT


def format_of(path) -> Format | None:
    """The format of the file at `path` by its name's ending, or None."""
    name = Path(path).name.lower()
    found = [(len(s), f) for f in FORMATS for s in f.suffixes if name.endswith(s) and len(name) > len(s)]
    return max(found, key=lambda x: x[0])[1] if found else None


def describe(formats=FORMATS, one: bool = False) -> str:
    """The `formats` for a help text (with `one`, those that hold one network say so):
    ".json, .jsonl, ... and HDF5 shards of `metabnet gen` (.h5)"."""
    names = [f.help + (" (one network)" if f.one and one else "") for f in formats]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def readable() -> list[Format]:
    return [f for f in FORMATS if f.read]


def suffixes(read: bool = False, write: bool = False) -> list[str]:
    """The file name endings of the formats that can be read (and/or written), in FORMATS
    order; .tokens.json is left out of the readable ones, which read it as .json."""
    return [s for f in FORMATS if (f.read or not read) and (f.write or not write)
            and not (read and f.name == "tokens") for s in f.suffixes]


MAX_STEM = 100  # characters of a network name kept in its file name (file systems stop at 255 bytes)


def file_stems(nets) -> list[str]:
    """One file name stem per network, after its name: letters, digits, '_', '.' and '-' kept,
    every other run of characters made '_', at most MAX_STEM characters, ``network{i}`` when
    nothing is left, and made unique (``-2``, ``-3``, ...) ignoring case, since names that
    differ only in case clash on some disks."""
    stems, used = [], set()
    for i, net in enumerate(nets, 1):
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", net.name)[:MAX_STEM].strip("._") or f"network{i}"
        name, k = stem, 1
        while name.lower() in used:
            k += 1
            name = f"{stem}-{k}"
        used.add(name.lower())
        stems.append(name)
    return stems


def write_folder(folder, nets, fmt: str, progress=None) -> tuple[list[Path], list[FormatError]]:
    """Write each network to its own file FOLDER/STEM.FMT (`file_stems`; FMT one of
    FOLDER_FORMATS), creating the folder; returns the files written and the networks that
    could not be (one FormatError each), after trying every one.  progress(1) per network."""
    folder = Path(folder)
    if fmt not in FOLDER_FORMATS:
        raise FormatError(folder, f"cannot write a folder of {fmt!r} files (expected one of {', '.join(FOLDER_FORMATS)})")
    if folder.exists() and not folder.is_dir():
        raise FormatError(folder, "a folder of networks was asked for, and this is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FormatError(folder, f"cannot make the folder ({e.strerror or e})") from None
    paths, errors = [], []
    for net, stem in zip(nets, file_stems(nets)):
        path = folder / f"{stem}.{fmt}"
        try:
            write_networks(path, net)
            paths.append(path)
        except FormatError as e:
            errors.append(e)
        if progress:
            progress(1)
    return paths, errors


def _tsv(net: Network) -> str:
    mm = net.kinetics == "michaelis-menten"
    names = {0: "INTAKE", net.n + 1: "EXCRETION"}
    lines = ["src\tdst\trate" + ("\tK" if mm else "")]
    for u, v, r, k in zip(net.src.tolist(), net.dst.tolist(), net.rate, net.km_or_nan()):
        cols = [names.get(u, str(u)), names.get(v, str(v)), number_text(r)]
        if mm and u != 0:
            cols.append(number_text(k))
        lines.append("\t".join(cols))
    return "\n".join(lines) + "\n"
