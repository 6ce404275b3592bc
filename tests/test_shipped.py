"""The model shipped inside the package: it loads safely on a CPU, says how it was trained,
predicts on fresh networks - the paper's family and a sink-free hard one, where the no-sink
rule is at chance - and is what score, knockout and eval use without --model."""
import json

import torch
from click.testing import CliRunner

import metabnet
from metabnet.cli.main import main
from metabnet.learn.evaluate import evaluate
from metabnet.io.formats import write_networks
from metabnet.gen.config import GenConfig
from metabnet.learn.loader import GenStream
from metabnet.learn.predict import load_model
from metabnet.learn.shipped import DEFAULT
from test_score import networks


def test_shipped_checkpoint_loads_weights_only_and_says_how_it_was_trained():
    ckpt = torch.load(DEFAULT, map_location="cpu", weights_only=True)
    assert DEFAULT.stat().st_size < 20e6
    assert ckpt["shipped"]["version"] == metabnet.__version__ and "benchmarks/" in ckpt["shipped"]["command"]
    assert ckpt["data_mixture"] and ckpt["model_config"]["task"] == "quanti"
    r = CliRunner().invoke(main, ["info", "--model"])
    assert r.exit_code == 0 and "shipped default" in r.output and "command:" in r.output


def test_shipped_model_predicts_fresh_networks():
    model, ckpt = load_model(DEFAULT)
    data = GenStream([GenConfig(family="erdos"), GenConfig(family="trap")], 1, seed=4242).validation(400)
    rep = evaluate(model, ckpt, data)
    assert rep["unreadable"] == 0 and rep["overall"]["count"] == 400
    for family in ("erdos", "trap"):  # trap: every network sink-free, half without an equilibrium
        assert rep["by"]["family"][family]["accuracy"] >= 0.95, (family, rep["by"]["family"][family])
    assert rep["by"]["family"]["erdos"]["within_0.1"] >= 0.9


def test_score_and_knockout_use_it_by_default(tmp_path):
    nets = networks(4, seed=21)
    write_networks(tmp_path / "nets.jsonl", nets)
    r = CliRunner().invoke(main, ["score", str(tmp_path / "nets.jsonl")])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert [rec["method"] for rec in recs] == ["model"] * 4 and all(0 <= rec["p_exists"] <= 1 for rec in recs)
    write_networks(tmp_path / "one.jsonl", nets[:1])
    r = CliRunner().invoke(main, ["knockout", str(tmp_path / "one.jsonl")])
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert r.exit_code == 0 and len(recs) == nets[0].m + 1 and {rec["method"] for rec in recs} == {"model"}
    mm = networks(2, seed=22, kinetics="michaelis-menten", prefix="mm")
    write_networks(tmp_path / "mm.jsonl", mm)
    answers = torch.load(DEFAULT, map_location="cpu", weights_only=True)["shipped"].get("kinetics")
    r = CliRunner().invoke(main, ["score", str(tmp_path / "mm.jsonl")])
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if answers and "michaelis-menten" not in answers:  # kinetics it does not answer: the exact solver
        assert [rec["method"] for rec in recs] == ["solver"] * 2 and "answers linear only" in recs[0]["solver_reason"]
    r = CliRunner().invoke(main, ["eval", str(tmp_path / "nets.jsonl")])
    assert r.exit_code == 0 and "family=files" in r.output
