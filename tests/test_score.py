"""metabnet score: files and folders in, one record per network out, in order; the solver
without a model, model predictions with a residual self-check, --verify against the exact
solver, --refine from the model's x, CSV output, bad files reported and skipped."""
import csv
import json
import math
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import SMALL, TINY, Oracle, checkpoint, networks
from metabnet.cli.main import main
from metabnet.io.formats import iter_network_files, read_networks, write_networks
from metabnet.gen.config import GenConfig
from metabnet.metrics import TOLERANCES, rel_l1, summary
from metabnet.learn.model import ModelConfig
from metabnet.network import Network
from metabnet.score import score_files
from metabnet.score.scorer import ModelLimits, Scorer, flux_residual
from metabnet.solve import solve


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Good files of every format and size, and bad ones; returns (folder, good names in order)."""
    d = tmp_path_factory.mktemp("nets")
    lin = networks(12, seed=1)
    write_networks(d / "a.jsonl", lin[:6])
    (d / "b").mkdir()
    write_networks(d / "b" / "one.json", lin[6])
    write_networks(d / "b" / "two.tsv", lin[7])
    write_networks(d / "c_mm.jsonl", networks(5, seed=2, kinetics="michaelis-menten", prefix="mm"))
    write_networks(d / "d_big.json", networks(1, seed=3, prefix="big", n_min=20, n_max=20)[0])
    write_networks(d / "e.tokens.json", lin[8:])
    (d / "bad_broken.json").write_text("{not json")
    good = {"name": "neg", "n": 2, "edges": [[1, 2, -3.0]], "intake": [[1, 1.0]], "excretion": [[2, 0.5]]}
    (d / "bad_negative.json").write_text(json.dumps(good))
    (d / "bad_empty.tsv").write_text("")
    names = []
    for f in iter_network_files([d]):
        if not f.name.startswith("bad"):
            names += [net.name for net in read_networks(f)]
    return d, names


def run(*args):
    return CliRunner().invoke(main, ["score", *map(str, args)])


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---- files, order, errors --------------------------------------------------------------
def test_folder_with_bad_files_scores_the_good_ones_in_order(folder, tmp_path):
    d, names = folder
    r = run(d, "--out", tmp_path / "o.jsonl")
    assert r.exit_code == 1
    for bad in ("bad_broken.json", "bad_negative.json", "bad_empty.tsv"):
        assert sum(bad in line for line in r.stderr.splitlines()) == 1, r.stderr
    assert "rate must be positive" in r.stderr and "3 file(s) failed" in r.stderr
    recs = records(tmp_path / "o.jsonl")
    assert [x["name"] for x in recs] == names and len(names) == 12 + 5 + 1
    assert {"file", "name", "n", "kinetics", "exists_unique", "exists_bounded", "x", "residual",
            "method", "p_exists"} <= set(recs[0])
    assert "networks scored" in r.stdout and f"{len(names)}" in r.stdout and "files failed" in r.stdout


def test_solver_only_equals_metabnet_solve(folder, tmp_path):
    d, _ = folder
    assert run(d, "--model", "solver", "--out", tmp_path / "s.jsonl").exit_code == 1  # the bad files
    assert CliRunner().invoke(main, ["solve", str(d), "--out", str(tmp_path / "solve.jsonl")]).exit_code == 1
    score = records(tmp_path / "s.jsonl")
    solved = records(tmp_path / "solve.jsonl")
    assert len(score) == len(solved) > 0
    for a, b in zip(score, solved):
        assert (a["file"], a["name"], a["n"], a["kinetics"]) == (b["file"], b["name"], b["n"], b["kinetics"])
        assert (a["exists_unique"], a["exists_bounded"], a["x"]) == (b["exists_unique"], b["exists_bounded"], b["x"])
        assert a["method"] == "solver" and a["solver"] == b["method"] and a["p_exists"] is None
        if a["x"] is not None:
            assert a["residual"] < 1e-13
    assert sum(a["exists_unique"] for a in score) >= 3  # not a vacuous comparison


def test_results_are_written_chunk_by_chunk_and_kept_when_interrupted(folder):
    d, names = folder
    files = [d / "a.jsonl", d / "b" / "one.json", d / "b" / "two.tsv"]

    def interrupted():
        yield from files
        raise KeyboardInterrupt

    written = []
    with pytest.raises(KeyboardInterrupt):
        score_files(interrupted(), Scorer(), written.append, chunk=2)
    assert [r["name"] for r in written] == names[:8]
    again = []
    tally = score_files(files, Scorer(), again.append, chunk=4096)
    assert again == written and tally.count == 8


# ---- the residual self-check -----------------------------------------------------------
def test_residual_of_exact_and_perturbed_x():
    chain = Network(3, [0, 1, 2, 3], [1, 2, 3, 4], [2.0, 1.0, 4.0, 0.5])  # x = 2, 0.5, 4
    assert flux_residual(chain, [2.0, 0.5, 4.0]) == 0.0
    # x1 = 3: imbalances -1, +1, 0 over gross fluxes 5, 5, 4
    assert flux_residual(chain, [3.0, 0.5, 4.0]) == pytest.approx(2 / 14)
    assert flux_residual(chain, [2.0, 0.5]) is None and flux_residual(chain, None) is None
    assert flux_residual(chain, [2.0, math.nan, 4.0]) is None
    rng = np.random.default_rng(0)
    for net in networks(30, seed=4) + networks(20, seed=5, kinetics="michaelis-menten"):
        r = solve(net)
        if r["x"] is None:
            continue
        x = np.array(r["x"])
        assert flux_residual(net, x) < 1e-13
        assert flux_residual(net, x * rng.uniform(0.7, 1.3, net.n)) > 1e-3


def test_flag_residual_marks_poor_predictions():
    nets = [n for n in networks(20, seed=6) if solve(n)["exists_unique"]]
    good = Scorer(Oracle(1e-9), {}, flag_residual=1e-6).score(nets)
    poor = Scorer(Oracle(0.3), {}, flag_residual=1e-6).score(nets)
    assert all(r["method"] == "model" and r["residual"] < 1e-6 and not r["flagged"] for r in good)
    assert all(r["residual"] > 1e-6 and r["flagged"] for r in poor)


# ---- with a model ----------------------------------------------------------------------
def test_model_predictions_in_order_with_solver_for_what_it_cannot_take(folder):
    d, names = folder
    nets = [net for f in iter_network_files([d]) if not f.name.startswith("bad") for net in read_networks(f)]
    nets = nets[::-1]  # sizes in no order: the model's batches are sorted, the records are not
    ckpt = {"weighted": True, "data_config": json.loads(GenConfig(**SMALL).to_json())}
    recs = Scorer(Oracle(0.01), ckpt, batch_size=4, verify=True).score(nets)
    assert [r["name"] for r in recs] == [net.name for net in nets]
    for net, r in zip(nets, recs):
        if net.kinetics != "linear" or net.n > 12:
            assert r["method"] == "solver" and r["exists_unique"] == r["exact"]["exists_unique"]
            assert ("kinetics" in r["solver_reason"]) if net.n <= 12 else ("20 inner nodes" in r["solver_reason"])
        else:
            assert r["method"] == "model" and r["exists_unique"] == r["exact"]["exists_unique"]
            assert r["exists_bounded"] is None and 0 <= r["p_exists"] <= 1
            if r["exact"]["exists_unique"]:
                assert r["rel_l1"] == pytest.approx(0.01, rel=1e-3)  # the oracle's +-1% on every node
                assert r["rel_l1"] == rel_l1(r["exact"]["x"], r["x"])


def test_model_limits():
    seq = ModelConfig(arch="seq2seq", task="quanti", **TINY)
    graph = ModelConfig(arch="graph", task="quanti", **TINY)
    flux = ModelConfig(arch="flux", task="quanti", d_model=8, iters_max=16, iters_extra=4)
    small = networks(1, seed=1)[0]
    # <s> N{n} (u v w)* </s>, padded to a multiple of 16 as the model reads it; N1 and 12 tokens a value
    need = max(-(-(3 + 3 * small.m) // 16) * 16, 12 * small.n + 3)
    assert ModelLimits(64, ("linear",)).reason(small, replace(seq, max_len=need), True) is None
    assert f"{need} tokens" in ModelLimits(64, ("linear",)).reason(small, replace(seq, max_len=need - 1), True).text
    assert ModelLimits(64, ("linear",)).reason(small, replace(graph, max_len=need - 1), True) is None
    assert "trained on at most 4" in ModelLimits(4, None).reason(small, graph, True).text
    assert "kinetics" in ModelLimits(None, ("michaelis-menten",)).reason(small, graph, True).text
    tight = replace(flux, iters_max=small.n + 3)  # one node short: n + iters_extra iterations needed
    assert f"the flux model iterates at most {small.n + 3} times" in ModelLimits(None, None).reason(small, tight, True).text
    assert ModelLimits(None, None).reason(small, replace(flux, iters_max=small.n + 4), True) is None


def test_verify_reports_what_metrics_computes(folder, tmp_path):
    d, names = folder
    ckpt = checkpoint(tmp_path / "model.pt")
    r = run(d, "--model", ckpt, "--verify", "--out", tmp_path / "v.jsonl", "--batch-size", "3")
    assert r.exit_code == 1, r.output
    recs = records(tmp_path / "v.jsonl")
    assert [x["name"] for x in recs] == names
    model = [x for x in recs if x["method"] == "model"]
    assert len(model) == 12 and {x["solver_reason"] for x in recs if x["method"] == "solver"} == {
        "michaelis-menten kinetics (the model answers linear only)",
        "20 inner nodes (the model was trained on at most 12)"}
    true = [int(x["exact"]["exists_unique"]) for x in model]
    pred = [int(x["exists_unique"]) for x in model]
    err = [np.nan if not t else rel_l1(x["exact"]["x"], x["x"]) for t, x in zip(true, model)]
    s = summary(true, pred, err)
    assert f"accuracy {100 * s['accuracy']:.1f}%" in r.stdout
    assert s.get("quanti_count", 0) > 0, "no network with an equilibrium: the value scores go unchecked"
    assert " / ".join(f"{100 * s[f'within_{t}']:.1f}%" for t in TOLERANCES) in r.stdout
    for x in model:
        if x["exact"]["exists_unique"] and x["x"] is not None:
            assert x["rel_l1"] == pytest.approx(rel_l1(x["exact"]["x"], x["x"]))


# ---- refine ----------------------------------------------------------------------------
def test_refine_returns_the_exact_equilibrium_and_counts_iterations():
    nets = networks(25, seed=7, kinetics="michaelis-menten") + networks(10, seed=8)
    scorer = Scorer(Oracle(0.05), {}, refine=True, verify=True)
    recs = scorer.score(nets)
    cold = warm = 0
    for net, r in zip(nets, recs):
        exact = solve(net)
        assert r["method"] == "model+solver" and r["exists_unique"] == exact["exists_unique"]
        assert r["exists_bounded"] == exact["exists_bounded"]
        if exact["x"] is not None:
            np.testing.assert_allclose(r["x"], exact["x"], rtol=1e-9, atol=1e-300)
            assert r["residual"] < 1e-13 and r["rel_l1"] < 1e-9
            assert r["model"]["rel_l1"] == pytest.approx(0.05, rel=1e-3)
        it = r["refine"]
        assert it["iterations_cold"] == exact["iterations"]
        if net.kinetics == "linear":
            assert it["iterations_cold"] == it["iterations_warm"] == (1 if exact["x"] is not None else 0)
        elif exact["exists_unique"]:
            assert it["start"] == "model" and it["solver"] == "newton-warm"
            cold, warm = cold + it["iterations_cold"], warm + it["iterations_warm"]
    assert warm < cold, (warm, cold)
    from metabnet.score import Tally
    tally = Tally(scorer)
    tally.add(recs)
    text = tally.table()
    assert f"cold {cold:,}" in text and "one LU each" in text and "accuracy 100.0%" in text
    mm = tally.as_dict()["refine"]["michaelis-menten"]  # every warm start certified: none fell back
    assert (mm["certified_cold"], mm["certified_warm"], mm["fell_back"]) == (cold, warm, 0)
    assert mm["certified"] == mm["networks"] == sum(r["refine"]["start"] == "model" for r in recs[:25])
    assert f"certified from the model's x      {mm['certified']:,}: cold {cold:,} -> warm {warm:,}" in text


def test_refine_cli_with_a_checkpoint(tmp_path):
    nets = networks(12, seed=9, kinetics="michaelis-menten")
    write_networks(tmp_path / "mm.jsonl", nets)
    ckpt = checkpoint(tmp_path / "mm.pt", kinetics="michaelis-menten")
    r = run(tmp_path / "mm.jsonl", "--model", ckpt, "--refine", "--out", tmp_path / "r.jsonl")
    assert r.exit_code == 0, r.output
    for net, rec in zip(nets, records(tmp_path / "r.jsonl")):
        exact = solve(net)
        assert rec["exists_unique"] == exact["exists_unique"] and rec["method"] == "model+solver"
        if exact["x"] is not None:
            np.testing.assert_allclose(rec["x"], exact["x"], rtol=1e-9)
        assert isinstance(rec["refine"]["iterations_warm"], int)
    assert "refine" in r.stdout
    r = run(tmp_path / "mm.jsonl", "--model", "solver", "--refine")
    assert r.exit_code != 0 and "--refine needs a model" in r.output


# ---- CSV -------------------------------------------------------------------------------
def test_csv_output_matches_json_lines(folder, tmp_path):
    d, names = folder
    run(d, "--model", "solver", "--verify", "--out", tmp_path / "j.jsonl")
    r = run(d, "--model", "solver", "--verify", "--format", "csv", "--out", tmp_path / "c.csv")
    assert r.exit_code == 1
    recs = records(tmp_path / "j.jsonl")
    with open(tmp_path / "c.csv") as f:
        rows = list(csv.DictReader(f))
    with open(tmp_path / "c.x.csv") as f:
        xrows = list(csv.DictReader(f))
    assert [row["name"] for row in rows] == names
    for row, rec in zip(rows, recs):
        assert row["exists_unique"] == str(rec["exists_unique"]).lower() and int(row["n"]) == rec["n"]
        assert row["exact_exists_unique"] == row["exists_unique"] and row["method"] == "solver"
    expect = [(rec["name"], k + 1, v) for rec in recs if rec["x"] for k, v in enumerate(rec["x"])]
    assert [(row["name"], int(row["node"]), float(row["x"])) for row in xrows] == expect
    assert all(row["x_exact"] == row["x"] for row in xrows)
    r = run(d, "--format", "csv")
    assert r.exit_code != 0 and "needs --out" in r.output
