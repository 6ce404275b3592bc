"""The command line through click's CliRunner: gen -> info -> export -> solve, and bad input."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from metabnet.cli.main import main


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "data"
    r = CliRunner().invoke(main, ["gen", "--out", str(out), "--count", "300", "--shard-size", "200",
                                  "--n-min", "6", "--n-max", "14", "--seed", "4", "-q"])
    assert r.exit_code == 0, r.output
    return out, r.output


def test_gen_prints_summary_and_resumes(shards):
    out, text = shards
    assert "networks" in text and "300 in 2 shard(s)" in text and "networks/s" in text
    assert sorted(p.name for p in out.iterdir()) == [".metabnet.lock", "metabnet.json", "shard-00000.h5", "shard-00001.h5"]
    again = CliRunner().invoke(main, ["gen", "--out", str(out), "--count", "300", "--shard-size", "200",
                                      "--n-min", "6", "--n-max", "14", "--seed", "4", "-q"])
    assert again.exit_code == 0 and "0 written, 2 already complete" in again.output


def test_info(shards):
    out, _ = shards
    r = CliRunner().invoke(main, ["info", str(out / "shard-00001.h5"), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["attrs"]["format_version"] == 1 and d["attrs"]["count"] == 100
    assert d["attrs"]["config"]["n_min"] == 6 and d["stats"]["networks"] == 100


def test_export_then_solve_gives_the_stored_labels(shards, tmp_path):
    out, _ = shards
    exported = tmp_path / "nets.jsonl"
    r = CliRunner().invoke(main, ["export", str(out / "shard-00000.h5"), "--out", str(exported)])
    assert r.exit_code == 0, r.output
    stored = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(stored) == 200 and {"edges", "intake", "excretion", "exists_unique", "x"} <= set(stored[0])
    for method in ("direct", "ode"):
        r = CliRunner().invoke(main, ["solve", str(exported), "--method", method])
        assert r.exit_code == 0, r.output
        solved = [json.loads(line) for line in r.output.splitlines()]
        assert len(solved) == 200
        for a, b in zip(stored, solved):
            assert (a["exists_unique"], a["exists_bounded"]) == (b["exists_unique"], b["exists_bounded"])
            if a["x"] is not None:
                np.testing.assert_allclose(b["x"], a["x"], rtol=1e-6)


def test_solve_goes_on_past_bad_files(tmp_path):
    good = {"name": "toy", "kinetics": "linear", "n": 2, "edges": [[1, 2, 3.0]],
            "intake": [[1, 1.0]], "excretion": [[2, 0.5]]}
    (tmp_path / "a_good.json").write_text(json.dumps(good))
    (tmp_path / "b_broken.json").write_text("{not json")
    (tmp_path / "c_negative.json").write_text(json.dumps({**good, "edges": [[1, 2, -3.0]]}))
    r = CliRunner().invoke(main, ["solve", str(tmp_path)])
    assert r.exit_code == 1
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and np.allclose(lines[0]["x"], [1 / 3, 2.0]) and lines[0]["exists_unique"]
    err = r.stderr
    assert "b_broken.json" in err and "c_negative.json" in err and "2 file(s) failed" in err


def test_export_refuses_a_non_shard(tmp_path):
    (tmp_path / "x.h5").write_text("nope")
    r = CliRunner().invoke(main, ["export", str(tmp_path / "x.h5")])
    assert r.exit_code != 0 and "x.h5" in r.output


def test_gen_bad_option_is_one_clear_line(tmp_path):
    r = CliRunner().invoke(main, ["gen", "--out", str(tmp_path), "--n-min", "9", "--n-max", "3", "-q"])
    assert r.exit_code != 0 and "bad node range 9..3" in r.output


def test_help_explains():
    r = CliRunner().invoke(main, ["gen", "--help"])
    assert r.exit_code == 0 and "--balance" in r.output and "resumes" in r.output


def test_solve_and_score_a_folder_of_shards(shards, tmp_path):
    """A `metabnet gen` folder: both shards' networks are solved, in order and named SHARD:i,
    with the stored labels; the manifest metabnet.json is not taken for a network."""
    out, _ = shards
    exported = tmp_path / "stored.jsonl"
    for shard in ("shard-00000.h5", "shard-00001.h5"):
        r = CliRunner().invoke(main, ["export", str(out / shard)])
        assert r.exit_code == 0, r.output
        with exported.open("a") as f:
            f.write(r.output)
    stored = [json.loads(line) for line in exported.read_text().splitlines()]
    for command in ("solve", "score"):
        r = CliRunner().invoke(main, [command, str(out)] + (["--model", "solver"] if command == "score" else []))
        assert r.exit_code == 0, r.output
        got = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        assert [g["name"] for g in got] == [s["name"] for s in stored] == \
            [f"shard-0000{k}:{i}" for k, c in ((0, 200), (1, 100)) for i in range(c)]
        for a, b in zip(stored, got):
            assert (a["exists_unique"], a["exists_bounded"]) == (b["exists_unique"], b["exists_bounded"])
            if a["x"] is not None:
                np.testing.assert_allclose(b["x"], a["x"], rtol=1e-6)
    # named on its own, the manifest is one clear error, not "missing field 'n'"
    r = CliRunner().invoke(main, ["solve", str(out / "metabnet.json")])
    assert r.exit_code == 1 and "manifest" in r.stderr and "missing field" not in r.stderr


def test_manifest_is_recognised_by_content(tmp_path):
    from metabnet.io.formats import iter_network_files

    net = {"name": "toy", "n": 1, "edges": [], "intake": [[1, 1.0]], "excretion": [[1, 2.0]]}
    manifest = {"config": {"family": "erdos"}, "seed": 0, "count": 1, "shard_size": 10}
    for sub, content in (("a", manifest), ("b", net), ("c", "{broken")):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "metabnet.json").write_text(content if isinstance(content, str) else json.dumps(content))
    (tmp_path / "a" / "other.json").write_text(json.dumps(manifest))  # same content, another name
    got = [p.relative_to(tmp_path).as_posix() for p in iter_network_files(tmp_path)]
    assert got == ["a/other.json", "b/metabnet.json", "c/metabnet.json"]
    r = CliRunner().invoke(main, ["solve", str(tmp_path)])
    assert r.exit_code == 1 and r.stdout.count('"name": "toy"') == 1
    assert "other.json: the manifest of a `metabnet gen` shard folder" in r.stderr
    assert "c/metabnet.json" in r.stderr and "2 file(s) failed" in r.stderr


def test_a_bad_h5_file_in_a_folder_is_one_error(tmp_path):
    (tmp_path / "x.h5").write_text("nope")
    (tmp_path / "y.json").write_text(json.dumps(
        {"name": "y", "n": 1, "edges": [], "intake": [[1, 1.0]], "excretion": [[1, 2.0]]}))
    r = CliRunner().invoke(main, ["solve", str(tmp_path)])
    assert r.exit_code == 1 and '"name": "y"' in r.stdout
    assert "x.h5: not a readable HDF5 file" in r.stderr and "1 file(s) failed" in r.stderr


def test_the_exact_solver_runs_without_torch(tmp_path):
    # torch is an optional extra: `solve` and `score --model solver` must not need it
    import subprocess
    import sys
    from pathlib import Path

    data = Path(__file__).parent / "data" / "cycle_bottlenecks.jsonl"
    shim = ("import sys; sys.modules['torch'] = None; "  # any `import torch` raises ImportError
            "from metabnet.cli.main import main; main()")
    for args in (["solve", str(data)], ["score", "--model", "solver", str(data)]):
        r = subprocess.run([sys.executable, "-c", shim, *args], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, (args, r.stderr[-2000:])
        recs = [json.loads(line) for line in r.stdout.splitlines()]
        assert len(recs) == 3 and all(rec["method"] != "model" for rec in recs), args
