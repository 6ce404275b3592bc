"""Per-file problems never stop a batch, numbers outside the accepted range are refused
clearly, outputs are never read back as inputs, and progress stays quiet in logs (issue 10,
items 6 and 7, the format side)."""
import csv
import io
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

import naive
from metabnet.io import sbml
from metabnet.cli.main import main
from metabnet.fileio import FormatError, atomic_open, display_path
from metabnet.io.formats import MAX_STEM, file_stems, read_networks, write_folder, write_networks
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.kernels.equilibrium import BeyondRange
from metabnet.network import RATE_MAX, RATE_MIN, RATE_SPREAD, Network, NetworkError
from metabnet.progress import LogProgress, progress_bar
from metabnet.solve import solve

OK = Network(2, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0], name="ok")


def run(*args):
    return CliRunner().invoke(main, [*map(str, args)])


# ---- the accepted numeric range (metabnet.network) ---------------------------------------
def _chain(rates, km=None):
    return Network(2, [0, 1, 2], [1, 2, 3], rates, km, "michaelis-menten" if km is not None else "linear")


@pytest.mark.parametrize("rates, km, problem", [
    ([1.0, 2.0, 1e-320], None, "outside the accepted range"),  # subnormal
    ([1e200, 2.0, 1e-200], None, "outside the accepted range"),
    ([1.0, 2.0, 0.99e-12], None, "outside the accepted range"),
    ([1.0, 1.01e12, 1.0], None, "outside the accepted range"),
    ([1.0, 1e-5, 1e5], None, r"span a factor 1e\+10"),
    ([0.5, 1.0, 1.0], [np.nan, 1.0, 1e-300], "Michaelis constant K 1e-300 is outside the accepted range"),
    ([0.5, 1.0, 1.0], [np.nan, 1e-6, 1e4], "Michaelis constants span a factor"),
])
def test_outside_the_range_is_refused(rates, km, problem):
    with pytest.raises(NetworkError, match=problem):
        _chain(rates, km).validate()


def test_the_ends_of_the_range_are_accepted_and_solved():
    for scale in (RATE_MIN, RATE_MAX / RATE_SPREAD, 1.0, RATE_SPREAD * RATE_MIN, RATE_MAX):
        net = _chain([RATE_MAX if scale == RATE_MIN else RATE_MIN, scale, scale]).validate()
        r = solve(net)
        assert r["exists_unique"] and r["exists_bounded"] and np.isfinite(r["x"]).all()
        json.dumps(r, allow_nan=False)
    _chain([1.0, 1.0, RATE_SPREAD]).validate()  # the spread itself is accepted


def _spread_out(net, rng, span):
    """`net` with rates (and K) log-uniform over a window of `span` decades placed anywhere
    in the accepted range; intakes anywhere in it."""
    inner = net.src != 0
    lo = rng.uniform(np.log10(RATE_MIN), np.log10(RATE_MAX) - span)
    net.rate = np.where(inner, 10 ** rng.uniform(lo, lo + span, net.m),
                        10 ** rng.uniform(np.log10(RATE_MIN), np.log10(RATE_MAX), net.m))
    if net.km is not None:
        klo = rng.uniform(np.log10(RATE_MIN), np.log10(RATE_MAX) - span)
        net.km = np.where(inner, 10 ** rng.uniform(klo, klo + span, net.m), np.nan)
    return net.validate()


@pytest.mark.slow
def test_accepted_range_gives_right_labels():
    """Rates spread as far as accepted, placed anywhere in the range: the labels of linear
    networks are the graph rule's, those of Michaelis-Menten networks the ODE's."""
    rng = np.random.default_rng(10)
    span = np.log10(RATE_SPREAD)
    b = generate(GenConfig(size="custom", n_min=3, n_max=40, balance="ratio"), 400, seed=11)
    for i in range(len(b)):
        net = _spread_out(b.network(i), rng, span)
        r = solve(net)
        assert (r["exists_unique"], r["exists_bounded"]) == naive.labels(net), i
        assert r["x"] is None or np.isfinite(r["x"]).all()
    b = generate(GenConfig(size="custom", n_min=3, n_max=12, kinetics="michaelis-menten", balance="ratio"),
                 150, seed=12)
    decided = beyond = 0
    for i in range(len(b)):
        net = _spread_out(b.network(i), rng, span)
        try:
            r = solve(net)
        except BeyondRange:  # no certified verdict (near capacity, or divergence unproved)
            beyond += 1
            continue
        try:
            ode = solve(net, "ode")
        except RuntimeError:  # the reference integrator reached no verdict
            continue
        decided += 1
        assert (r["exists_unique"], r["exists_bounded"]) == (ode["exists_unique"], ode["exists_bounded"]), i
    assert decided >= 120, f"the ODE decided only {decided} of 150"
    assert beyond <= 10, beyond


# ---- bad files do not stop a batch --------------------------------------------------------
def _zero_denominator(text):
    bad = text.replace("<ci> k </ci>", '<apply><divide/><ci> k </ci><cn type="integer"> 0 </cn></apply>', 1)
    assert bad != text
    return bad


def _deep(text, depth=3000):
    math = "<ci> k </ci>"
    for _ in range(depth):
        math = f"<apply><times/><cn> 1 </cn>{math}</apply>"
    return text.replace("<ci> k </ci>", math, 1)


@pytest.fixture
def folder(tmp_path):
    """Good and bad network files; returns (folder, good records expected, problems by file)."""
    d = tmp_path / "in"
    d.mkdir()
    write_networks(d / "ok.json", OK)
    write_networks(d / os.fsdecode(b"n\xff.json"), OK)  # a file name that is not UTF-8
    line = json.dumps(OK.to_dict())
    (d / "lines.jsonl").write_text(f"{line}\n{{bad\n{line}\n[1]\n{line}\n")
    bad = {"big.json": {"n": 1, "intake": [[1, 1e200]], "excretion": [[1, 1e-200]]},
           "k300.json": {"n": 1, "kinetics": "michaelis-menten", "intake": [[1, 0.5]], "excretion": [[1, 1, 1e-300]]},
           "subnormal.json": {"n": 1, "intake": [[1, 1]], "excretion": [[1, 1e-320]]}}
    for name, obj in bad.items():
        (d / name).write_text(json.dumps(obj))
    text = sbml.to_sbml(OK)
    (d / "zero.xml").write_text(_zero_denominator(text))
    (d / "deep.xml").write_text(_deep(text))
    problems = {"lines.jsonl:2": "malformed JSON", "lines.jsonl:4": "expected a JSON object",
                "big.json": "outside the accepted range", "k300.json": "outside the accepted range",
                "subnormal.json": "outside the accepted range", "zero.xml": "reaction R2: rate law",
                "deep.xml": "reaction R2: math nested too deeply"}
    return d, 5, problems


def _check_errors(stderr, d, problems, extra=()):
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(problems) + len(extra), stderr
    for where, problem in problems.items():
        assert any(f"{d / where}: " in e and problem in e for e in errors), (where, stderr)
    assert f"{len({w.split(':')[0] for w in problems}) + len(extra)} file(s) failed" in stderr


@pytest.mark.parametrize("command", ["solve", "score"])
def test_bad_files_do_not_stop_a_batch(folder, command, tmp_path):
    d, good, problems = folder
    missing = tmp_path / "missing.json"  # a named file that cannot be read is one error too
    r = run(command, d, missing)
    assert r.exit_code == 1
    records = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(records) == good and all(rec["exists_unique"] for rec in records)
    assert sum(rec["file"] == str(d / "lines.jsonl") for rec in records) == 3  # its good lines
    assert display_path(d / os.fsdecode(b"n\xff.json")) in {rec["file"] for rec in records}
    _check_errors(r.stderr, d, problems, extra=[missing])
    assert f"{missing}: cannot read file" in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_named_unreadable_file_is_one_error(tmp_path):
    write_networks(tmp_path / "ok.json", OK)
    locked = tmp_path / "locked.json"
    write_networks(locked, OK)
    locked.chmod(0)
    r = run("solve", locked, tmp_path / "ok.json")
    assert r.exit_code == 1 and f"{locked}: cannot read file" in r.stderr
    assert len([line for line in r.stdout.splitlines() if line.startswith("{")]) == 1


def test_score_csv_with_bad_files_and_a_non_utf8_name(folder):
    d, good, problems = folder
    out = d / "scores.csv"  # inside the input folder: never read as input
    r = run("score", d, "--format", "csv", "--out", out)
    assert r.exit_code == 1, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == good and "n\\xff.json" in {os.path.basename(row["file"]) for row in rows}
    xrows = list(csv.DictReader((d / "scores.x.csv").open(encoding="utf-8")))
    assert len(xrows) == 2 * good
    _check_errors(r.stderr, d, problems)


def test_jsonl_reports_every_bad_line_and_keeps_the_good_ones(tmp_path):
    line = json.dumps(OK.to_dict())
    path = tmp_path / "some.jsonl"
    path.write_text(f"{line}\n{{bad\n{line}\n{json.dumps({'n': 1})}\n")
    errors = []
    nets = read_networks(path, errors)
    assert len(nets) == 2 and [e.line for e in errors] == [2, 4]
    assert all(isinstance(e, FormatError) and str(e).startswith(f"{path}:") for e in errors)
    with pytest.raises(FormatError, match=":2: malformed JSON"):  # without a list: the first raises
        read_networks(path)


# ---- outputs are never read back as inputs ------------------------------------------------
@pytest.mark.parametrize("command, out", [("solve", "res.jsonl"), ("score", "res.jsonl"), ("score", "res.json")])
def test_out_inside_an_input_folder_is_not_read(tmp_path, command, out):
    for i in range(3):
        write_networks(tmp_path / f"net{i}.json", OK)
    for force in ([], ["--force"]):  # the second run finds the first run's output in the folder (issue 22: --force)
        r = run(command, tmp_path, "--out", tmp_path / out, *force)
        assert r.exit_code == 0, r.output
        assert len((tmp_path / out).read_text().splitlines()) == 3


# ---- convert: names XML cannot carry, long names, a folder goes on ------------------------
@pytest.mark.parametrize("name", ["a\x01b", "a\x00b", "a\ud800b", "a\ufffeb", "ctl\x1f\x7f"])
def test_sbml_names_xml_cannot_carry(tmp_path, name):
    net = Network(2, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0], name=name, nodes=[name, "b"])
    write_networks(tmp_path / "n.xml", net)
    (back,) = read_networks(tmp_path / "n.xml")
    clean = sbml._xml_text(name)
    assert "\ufffd" in clean and back.name == clean and back.nodes == [clean, "b"]
    np.testing.assert_array_equal(back.rate, net.rate)


def test_convert_folder_with_long_names_and_a_bad_network(tmp_path):
    names = ["x" * 300, "x" * 300, "fine", "ctl\x01"]
    nets = [Network(2, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0], name=n) for n in names]
    write_networks(tmp_path / "many.jsonl", nets)
    r = run("convert", tmp_path / "many.jsonl", tmp_path / "out", "--to", "xml")
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted(["x" * MAX_STEM + ".xml", "x" * MAX_STEM + "-2.xml", "fine.xml", "ctl.xml"])
    for f in files:
        read_networks(tmp_path / "out" / f)
    assert file_stems(nets) == ["x" * MAX_STEM, "x" * MAX_STEM + "-2", "fine", "ctl"]
    # a network that cannot be written is one error; the others are written
    (tmp_path / "out2").mkdir()
    (tmp_path / "out2" / "fine.json").mkdir()  # in the way of one file
    paths, errors = write_folder(tmp_path / "out2", nets, "json")
    assert len(paths) == 3 and len(errors) == 1 and "fine.json" in str(errors[0])


# ---- writes through a temporary name ------------------------------------------------------
def test_atomic_open_leaves_nothing_half_written(tmp_path):
    path = tmp_path / "report.json"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(path) as f:
            f.write("{half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with atomic_open(path) as f:
        f.write("{}")
    assert path.read_text() == "{}" and list(tmp_path.iterdir()) == [path]


# a symbolic link planted at the temporary name an output is written under is never followed
# (issue 21): the file it points to stays as it was, and the output is written whole
@pytest.mark.parametrize("command, temporary", [
    (["solve"], "out.jsonl.part"),
    (["score", "--model", "solver"], "out.jsonl.part"),
    (["score", "--model", "solver", "--format", "csv"], "out.x.csv.part"),
    (["convert"], "out.jsonl.tmp"),
    (["convert", "--to", "json"], "folder/ok.json.tmp"),
])
def test_a_link_planted_at_the_temporary_name_is_not_followed(tmp_path, command, temporary):
    src = tmp_path / "in" / "nets.jsonl"
    src.parent.mkdir()
    write_networks(src, [OK])
    out = tmp_path / ("folder" if "--to" in command else "out.jsonl")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "folder").mkdir()
    link = tmp_path / temporary
    link.symlink_to(victim)
    args = [command[0], src, out, *command[1:]] if command[0] == "convert" else [*command, src, "--out", out]
    r = run(*args)
    assert r.exit_code == 0, r.output
    assert victim.read_text() == "precious\n" and not link.is_symlink()
    if command[0] == "convert":
        names = [net.name for net in read_networks(out / "ok.json" if out.is_dir() else out)]
    elif "csv" in command:
        names = [row["name"] for row in csv.DictReader(io.StringIO(out.read_text()))]
    else:
        names = [json.loads(line)["name"] for line in out.read_text().splitlines()]
    assert names == ["ok"]


def test_atomic_write_never_creates_through_a_link(tmp_path):
    from metabnet.fileio import AtomicFile

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    file = AtomicFile(tmp_path / "out.txt")
    file.tmp.symlink_to(victim)  # planted after the temporary name was cleared
    with pytest.raises(FileExistsError):
        file.open("w")
    assert victim.read_text() == "precious"


# ---- progress in logs ---------------------------------------------------------------------
def test_progress_is_a_few_lines_when_stderr_is_not_a_terminal():
    log = io.StringIO()
    bar = progress_bar(total=100_000, desc="gen", unit="net", file=log)
    assert isinstance(bar, LogProgress)
    with bar:
        for _ in range(100_000):
            bar.update(1)
    assert log.getvalue().count("\n") == 1 and log.getvalue().startswith("gen: done, 100,000/100,000 net")
    t = [0.0]
    log = io.StringIO()
    with LogProgress(total=10, desc="train", unit="step", file=log, interval=30, clock=lambda: t[0]) as bar:
        for _ in range(10):
            t[0] += 10
            bar.update(1)
            bar.set_postfix(loss="0.1")
    lines = log.getvalue().splitlines()
    assert len(lines) == 4 and lines[0].startswith("train: 3/10 step in 30 s") and "loss 0.1" in lines[-1]
    quiet = io.StringIO()
    with progress_bar(total=10, file=quiet, enabled=False) as bar:
        bar.update(10)
    assert quiet.getvalue() == ""


def test_score_log_has_one_progress_line(tmp_path):
    for i in range(20):
        write_networks(tmp_path / f"net{i}.json", OK)
    r = run("score", tmp_path, "--out", tmp_path / "res.jsonl")
    assert r.exit_code == 0 and r.stderr.count("score:") == 1 and "score: done, 20 net" in r.stderr, r.stderr
