"""The CPU rehearsal of benchmarks/gpu_paper.sh (issue 23): the same script with --tiny and
--device cpu runs every stage and writes every file the GPU run sends back, well formed."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from metabnet.cli.main import main
from metabnet.learn.predict import load_model

ROOT = Path(__file__).resolve().parents[1]
FILES = ["curves.png", "eval.md", "log.txt", "metrics.jsonl", "quali.pt", "quanti.pt"]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpu_paper")
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    r = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_paper.sh"), str(tmp / "out"), "--tiny", "--device", "cpu",
                        "--work", str(tmp / "work")], env=env, capture_output=True, encoding="utf-8", errors="replace", timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp / "out" / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    return tmp / "out", rows, r.stdout


def test_every_file_comes_back(rehearsal):
    out, _, stdout = rehearsal
    assert sorted(p.name for p in out.iterdir()) == FILES  # at most 8 come back from a lent machine
    assert all(0 < p.stat().st_size < 16_000_000 for p in out.iterdir())
    for stage in ("prepare", "quali", "quanti", "report"):
        assert f"== {stage}: at most" in stdout and f"== {stage}: exit code" not in stdout
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "== quanti: at most" in (out / "log.txt").read_text(encoding="utf-8")


def test_metrics_record_every_slice_and_evaluation(rehearsal):
    _, rows, _ = rehearsal
    kinds = [r["kind"] for r in rows]
    assert kinds.count("info") == 1 and kinds.count("data_rate") == 2 and kinds.count("testset") == 9
    info = rows[kinds.index("info")]
    assert info["tiny"] and info["model"]["max_len"] == 320 and info["data"].startswith("family erdos")
    for r in (r for r in rows if r["kind"] == "data_rate"):
        assert r["examples_per_s"] > 0
    for r in (r for r in rows if r["kind"] == "testset"):
        assert r["networks"] > 0 and 0 <= r["no_sink"] <= 1 and 0 < r["share_exists"] < 1
    for task in ("quali", "quanti"):
        setup = [r for r in rows if r["kind"] == "setup" and r["task"] == task]
        assert len(setup) == 1 and setup[0]["device"] == "cpu" and not setup[0]["bf16"] and setup[0]["params"] > 0
        slices = [r for r in rows if r["kind"] == "slice" and r["task"] == task]
        assert [(s["slice"], s["step"], s["examples"]) for s in slices] == [(1, 2, 16), (2, 4, 32)]
        assert all(s["examples_per_s"] > 0 and s["model_tflops"] > 0 and s["mfu"] is None for s in slices)
        trained = [r for r in rows if r["kind"] == "train" and r["task"] == task]
        assert [r["step"] for r in trained] == [1, 2, 3, 4] and all(r["loss"] > 0 for r in trained)
        evals = [r for r in rows if r["kind"] == "eval" and r["task"] == task]
        assert {r["slice"] for r in evals} == {1, 2} and evals[0]["set"] == "erdos"  # the paper's distribution first
        for r in evals:
            assert r["count"] > 0 and 0 <= r["accuracy"] <= 1 and 0 <= r["no_sink"] <= 1
            assert ("within_0.1" in r) == (task == "quanti" and r.get("quanti_count", 0) > 0)
        assert len([r for r in rows if r["kind"] == "eval_skipped" and r["task"] == task]) == 2


def test_tables_say_it_is_a_rehearsal(rehearsal):
    out, _, _ = rehearsal
    text = (out / "eval.md").read_text(encoding="utf-8")
    assert "CPU REHEARSAL" in text and "not results" in text
    for heading in ("## Training", "## Qualitative task", "## Quantitative task", "## Learning curves"):
        assert heading in text
    assert "| erdos | paper |" in text and "no known peak" in text


@pytest.mark.parametrize("task", ["quali", "quanti"])
def test_checkpoints_load_in_bf16_and_eval_reads_them(rehearsal, task, make_shards):
    out, _, _ = rehearsal
    raw = torch.load(out / f"{task}.pt", weights_only=True)
    assert {v.dtype for v in raw["model"].values()} == {torch.bfloat16} and "optim" not in raw
    model, ck = load_model(out / f"{task}.pt")
    c = model.config
    assert (c.arch, c.task, c.n_enc, c.n_dec, c.d_model) == ("seq2seq", task, 1, 1, 32)
    assert ck["weighted"] is False and ck["state"]["step"] == 4 and ck["state"]["finished"]
    shards = make_shards(12, 7, 12, n_min=8, n_max=12, weights="unweighted")
    res = CliRunner().invoke(main, ["eval", "--model", str(out / f"{task}.pt"), str(shards), "-q"])
    assert res.exit_code == 0, res.output
    assert "accuracy" in res.output and "family=erdos" in res.output
