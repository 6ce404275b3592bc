"""What users of the CLI meet (issue 22): bad option combinations end in one line naming the
problem, and leave nothing behind; no command writes over an input or an existing file
unless --force; knockout answers exactly by default; the same options (-q, --format,
folders) on every command; help texts that hold; SIGTERM during train checkpoints."""
from click.testing import CliRunner

from metabnet.cli.main import main


def test_gen_custom_size_needs_a_node_range(tmp_path):
    out = tmp_path / "data"
    for args in (["--size", "custom"], ["--n-min", "1", "--n-max", "1"]):
        r = CliRunner().invoke(main, ["gen", "--out", str(out), "--count", "10", "-q", *args])
        assert r.exit_code == 1 and r.output.startswith("Error: ") and len(r.output.splitlines()) == 1, r.output
        assert "n_min" in r.output or "at least 2 inner nodes" in r.output, r.output
        assert not out.exists(), "a refused run leaves no folder or manifest"


# ---- nothing overwritten -----------------------------------------------------------------
import json
import signal

import pytest
import torch

from metabnet.gen.config import GenConfig
from metabnet.gen.dataset import Plan, run
from metabnet.io.formats import write_networks
from metabnet.network import Network
from metabnet.score.scorer import Scorer
from helpers import Oracle, checkpoint, logged_step, metrics, networks, signal_when, start, train_args

PATHWAY = {"n": 4, "edges": [[1, 2, 1.0], [2, 3, 2.0], [3, 4, 1.5]], "intake": [[1, 2.0]],
           "excretion": [[4, 1.0]], "name": "pathway"}


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(r, *words):
    assert r.exit_code != 0 and len(r.output.strip().splitlines()) == 1, r.output
    assert all(w in r.output for w in words), r.output


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    run(Plan(out, GenConfig(size="custom", n_min=8, n_max=12), 160, seed=3, shard_size=80), progress=False)
    return out


@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "pathway.json"
    path.write_text(json.dumps(PATHWAY))
    return path


@pytest.mark.parametrize("command", ["solve", "score"])
def test_an_output_that_is_the_input_is_refused(net_file, command):
    before = net_file.read_bytes()
    extra = ["--model", "solver"] if command == "score" else []
    r = cli(command, net_file, "-o", net_file, *extra)
    one_line_error(r, str(net_file), "is also an input", "--force")
    assert net_file.read_bytes() == before
    # the same file by another path (a relative one, through a symbolic link)
    link = net_file.with_name("link.json")
    link.symlink_to(net_file)
    r = cli(command, link, "-o", net_file, *extra)
    one_line_error(r, "is also an input")
    assert net_file.read_bytes() == before
    # --force: read, then replaced by the records once the run ends
    r = cli(command, net_file, "-o", net_file, *extra, "--force")
    assert r.exit_code == 0, r.output
    rec = json.loads(net_file.read_text())
    assert rec["name"] == "pathway" and rec["x"] == [2.0, 1.0, 4 / 3, 2.0]


def test_convert_never_writes_over_its_input(net_file, tmp_path):
    before = net_file.read_bytes()
    for force in ([], ["--force"]):
        one_line_error(cli("convert", net_file, net_file, *force), str(net_file), "is also the input")
        assert net_file.read_bytes() == before
    # nor through a folder: pathway.json in the folder it is read from
    one_line_error(cli("convert", tmp_path, tmp_path, "--to", "json", "--force"), "is also the input")
    assert net_file.read_bytes() == before


@pytest.mark.parametrize("command", ["solve", "score", "knockout", "export", "convert", "eval"])
def test_an_existing_output_is_refused_without_force(net_file, shards, tmp_path, command):
    out = tmp_path / "out.json"
    out.write_text("precious\n")
    src = shards / "shard-00000.h5" if command == "export" else net_file
    if command == "eval":
        extra = ["--model", checkpoint(tmp_path / "m.pt"), "--device", "cpu"]
    else:
        extra = ["--model", "solver"] if command == "score" else []
    args = [command, src, out] if command == "convert" else [command, src, "-o", out]
    r = cli(*args, *extra)
    one_line_error(r, str(out), "exists", "--force")
    assert out.read_text() == "precious\n"
    r = cli(*args, *extra, "--force")
    assert r.exit_code == 0, r.output
    assert out.read_text() != "precious\n"


def test_an_existing_output_in_an_input_folder(tmp_path):
    folder = tmp_path / "nets"
    write_networks(folder / "a.json", networks(1, seed=1)[0]) if folder.mkdir() is None else None
    out = folder / "out.jsonl"
    assert cli("solve", folder, "-o", out).exit_code == 0
    before = out.read_text()
    one_line_error(cli("solve", folder, "-o", out), str(out), "lies in the input folder")
    r = cli("solve", folder, "-o", out, "--force")
    assert r.exit_code == 0 and out.read_text() == before, r.output  # never read as an input


def test_gen_refuses_a_folder_of_other_files(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    one_line_error(cli("gen", "--out", out, "--count", "10", "--size", "custom", "--n-min", "4", "--n-max", "6",
                       "-q"), str(out), "exists", "--force")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    r = cli("gen", "--out", out, "--count", "10", "--size", "custom", "--n-min", "4", "--n-max", "6", "-q",
            "--force")
    assert r.exit_code == 0 and (out / "notes.txt").read_text() == "mine", r.output
    # a rerun is a resume, not an overwrite
    r = cli("gen", "--out", out, "--count", "10", "--size", "custom", "--n-min", "4", "--n-max", "6", "-q")
    assert r.exit_code == 0 and "1 already complete" in r.output, r.output


# ---- correct defaults ----------------------------------------------------------------------
def test_knockout_of_the_only_intake_gives_zeros_by_default(net_file):
    r = cli("knockout", net_file)
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert {rec["method"] for rec in recs} == {"solver"}  # the exact solver unless --model
    intake = next(rec for rec in recs if rec["reactions"] == ["INTAKE->1"])
    assert intake["x"] == [0.0, 0.0, 0.0, 0.0] and intake["exists_unique"] and intake["nodes_off"] == 4
    assert recs[0]["x"] == [2.0, 1.0, 4 / 3, 2.0]


def test_a_model_hands_networks_without_intake_or_reactions_to_the_solver():
    net = networks(1, seed=16)[0]
    keep = net.src != 0
    no_intake = Network(net.n, net.src[keep], net.dst[keep], net.rate[keep], None, net.kinetics, "no intake")
    empty = Network(net.n, net.src[:0], net.dst[:0], net.rate[:0], None, net.kinetics, "empty")
    recs = Scorer(Oracle(0.0), {}).score([net, no_intake, empty])
    assert [r["method"] for r in recs] == ["model", "solver", "solver"]
    assert "no intake" in recs[1]["solver_reason"] and recs[2]["solver_reason"] == "no reactions"
    assert recs[1]["x"] == [0.0] * net.n


# ---- the same options everywhere ----------------------------------------------------------
def progress_lines(r, desc):
    return [line for line in r.stderr.splitlines() if line.startswith(f"{desc}: ")]


def test_quiet_on_every_command_with_progress(shards, net_file, tmp_path):
    model = checkpoint(tmp_path / "m.pt")
    runs = {"solve": ["solve", shards, "-o", tmp_path / "s.jsonl"],
            "score": ["score", net_file, "--model", "solver", "-o", tmp_path / "sc.jsonl"],
            "knockout": ["knockout", net_file, "-o", tmp_path / "k.jsonl"],
            "export": ["export", shards, "-o", tmp_path / "e.jsonl"],
            "convert": ["convert", net_file, tmp_path / "c", "--to", "tsv"],
            "eval": ["eval", shards, "--model", model, "--device", "cpu"]}
    for desc, args in runs.items():
        r = cli(*args)
        assert r.exit_code == 0 and progress_lines(r, desc), (desc, r.output)
        r = cli(*args, "-q", "--force")
        assert r.exit_code == 0 and not progress_lines(r, desc), (desc, r.output)


def test_progress_counts_networks(shards, tmp_path):
    """160 networks in 2 shards: the bar counts the networks, not the 2 files."""
    r = cli("solve", shards, "-o", tmp_path / "s.jsonl")
    assert r.exit_code == 0 and "done, 160 net in" in progress_lines(r, "solve")[-1], r.stderr
    r = cli("score", shards, "--model", "solver", "-o", tmp_path / "sc.jsonl")
    assert r.exit_code == 0 and "done, 160 net in" in progress_lines(r, "score")[-1], r.stderr


@pytest.mark.parametrize("command", ["solve", "score", "knockout", "export"])
def test_format_csv_on_every_command_that_writes_records(command, net_file, shards, tmp_path):
    src = shards / "shard-00000.h5" if command == "export" else net_file
    out = tmp_path / "out.csv"
    r = cli(command, src, "-o", out, "--format", "csv", *(["--model", "solver"] if command == "score" else []))
    assert r.exit_code == 0, r.output
    rows = out.read_text().splitlines()
    head = rows[0].split(",")
    assert head[:4] == ["file", "name", "n", "kinetics"] and "exists_unique" in head
    xrows = out.with_suffix(".x.csv").read_text().splitlines()
    assert xrows[0].startswith("file,name,node,node_name,x")
    if command == "export":
        assert len(rows) == 81 and len(xrows) > 80
    else:
        first = dict(zip(head, rows[1].split(",")))
        assert first["name"] == "pathway" and first["exists_unique"] == "true"
        assert [float(x.split(",")[4]) for x in xrows[1:5]] == [2.0, 1.0, 4 / 3, 2.0]  # after node_name
    if command == "knockout":
        assert "reactions" in head and len(rows) == 1 + 1 + 5  # header, intact, 5 knock-outs
    r = cli(command, src, "--format", "csv")
    assert r.exit_code == 2 and "Error: --format csv needs --out" in r.output, r.output


def test_info_export_convert_take_folders(shards, tmp_path):
    r = cli("info", shards, "--json")
    assert r.exit_code == 0, r.output
    infos = json.loads(r.output)
    assert [i["attrs"]["count"] for i in infos] == [80, 80]
    r = cli("info", shards)
    assert r.exit_code == 0 and r.output.count("networks (seed 3") == 2
    r = cli("export", shards, "-o", tmp_path / "all.jsonl", "-q")
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert len(recs) == 160 and recs[0]["file"].endswith("shard-00000.h5") and recs[-1]["file"].endswith("shard-00001.h5")
    folder = tmp_path / "nets"
    folder.mkdir()
    write_networks(folder / "b.jsonl", networks(2, seed=5, prefix="b"))
    (folder / "a.json").write_text(json.dumps(PATHWAY))
    r = cli("convert", folder, tmp_path / "all.tsv.jsonl")
    assert r.exit_code == 0 and "3 network(s) written" in r.output, r.output
    names = [json.loads(line)["name"] for line in (tmp_path / "all.tsv.jsonl").read_text().splitlines()]
    assert names == ["pathway", "b0", "b1"]  # a folder's files in path order


def test_records_follow_the_order_of_the_arguments(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_networks(a, networks(1, seed=1, prefix="a")[0])
    write_networks(b, networks(1, seed=2, prefix="b")[0])
    for command in ("solve", "score"):
        r = cli(command, b, a, *(["--model", "solver"] if command == "score" else []))
        names = [json.loads(line)["name"] for line in r.stdout.splitlines() if line.startswith("{")]
        assert r.exit_code == 0 and names == ["b0", "a0"], r.output


# ---- text that holds -----------------------------------------------------------------------
def test_help_texts_hold():
    for command in main.commands:
        text = cli(command, "--help").output
        assert "DESIGN" not in text and "../shared" not in text, command
    assert "170" not in cli("train", "--help").output
    assert "input order" not in cli("score", "--help").output


# ---- SIGTERM during train --------------------------------------------------------------------
def test_sigterm_checkpoints_and_resume_continues(shards, tmp_path):
    out = tmp_path / "run"
    proc = start(*train_args(shards, out))
    assert signal_when(proc, lambda: (out / "checkpoint.pt").exists(), 0.0, sig=signal.SIGTERM)
    stderr = proc.stderr.read()
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "interrupted (SIGTERM): continue from" in stderr and "Traceback" not in stderr, stderr[-2000:]
    stopped = torch.load(out / "checkpoint.pt", weights_only=True)["state"]["step"]
    assert 0 < stopped < 30 and stopped >= logged_step(out)
    r = cli("info", "--model", out / "model.pt")
    assert r.exit_code == 0 and f"UNFINISHED: stopped at step {stopped} of 30" in r.output, r.output
    r = cli(*train_args(shards, out), "--resume")
    assert r.exit_code == 0, r.output
    state = torch.load(out / "model.pt", weights_only=True)["state"]
    assert state["step"] == 30 and state["finished"]
    assert "UNFINISHED" not in cli("info", "--model", out / "model.pt").output
    steps = [(m["split"], m["step"]) for m in metrics(out)]
    assert len(steps) == len(set(steps)) and max(s for _, s in steps) == 30
