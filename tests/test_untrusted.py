"""Untrusted input, class by class (issue 21): every input a user can hand metabnet - a shard,
a token JSON or JSON lines file, a checkpoint, a folder, an option - either gives the right
answer or is refused in one line naming the file or option, with a non-zero exit code; never
a traceback, a wrong answer with exit 0, unbounded memory or work that cannot finish.

The inputs are crafted here: shards edited with h5py, checkpoints made with torch.save of odd
objects and raw bytes, JSON lines files of 300,000 bad lines measured in a subprocess."""
import json
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from metabnet.cli.main import main
from metabnet.gen.config import GenConfig
from metabnet.gen.dataset import Plan, run
from metabnet.learn.model import ModelConfig, build
from metabnet.network import RATE_MAX, Network, check_networks

CHAIN = {"name": "chain", "n": 2, "edges": [[1, 2, 1.0]], "intake": [[1, 2.0]], "excretion": [[2, 0.5]]}


def cli(*args):
    """Run metabnet in-process; (exit code, stdout + stderr)."""
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert not (r.exception and not isinstance(r.exception, SystemExit)), (r.output, r.exception)
    assert "Traceback" not in r.output, r.output
    return r.exit_code, r.output


def refused(code, output, *names, exit_code=None):
    """Exactly one error line, naming each of `names`, and a non-zero exit."""
    assert code != 0 if exit_code is None else code == exit_code, output
    lines = [line for line in output.splitlines() if line.startswith(("Error", "error"))]
    assert len(lines) == 1, output
    for name in names:
        assert str(name) in lines[0], (name, output)
    return lines[0]


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    run(Plan(out, GenConfig(n_min=4, n_max=8, weights="integer"), 40, seed=2, shard_size=20), progress=False)
    return out


def _edited(shard_dir, tmp_path, edit):
    """A copy of the first shard, edited by edit(h5py.File)."""
    path = tmp_path / "edited.h5"
    path.write_bytes((shard_dir / "shard-00000.h5").read_bytes())
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _replace(f, name, values):
    del f[name]
    f.create_dataset(name, data=values, maxshape=(None,), chunks=True)


# ---- 1. every reader holds every network to Network.validate ---------------------------
@pytest.mark.parametrize("case", ["rate_above_range", "spread_1e20", "float_node_id", "node_out_of_range",
                                  "no_intake"])
def test_shard_networks_are_held_to_validate(shard_dir, tmp_path, case):
    def edit(f):
        rate = f["edge_rate"][()].astype(np.float64)
        src, ptr = f["edge_src"][()].astype(np.float64), f["edge_ptr"][()]
        a, b = ptr[3], ptr[4]  # network 3
        inner = a + np.flatnonzero(src[a:b] > 0)
        if case == "rate_above_range":
            rate[inner[0]] = RATE_MAX * 10
        elif case == "spread_1e20":  # both inside the range, spanning 1e20... scaled into it
            rate[inner[0]], rate[inner[1]] = 1e-10, 1e10
        if case in ("rate_above_range", "spread_1e20"):
            _replace(f, "edge_rate", rate.astype(np.float32))
        elif case == "float_node_id":
            src[inner[0]] += 0.5  # 2.5 would be read as node 2
            _replace(f, "edge_src", src)
        elif case == "node_out_of_range":
            dst = f["edge_dst"][()].astype(np.int64)
            dst[inner[0]] = 250
            _replace(f, "edge_dst", dst.astype(np.uint8))
        else:
            src[a + np.flatnonzero(src[a:b] == 0)] = src[inner[0]]
            _replace(f, "edge_src", src.astype(np.uint8))

    path = _edited(shard_dir, tmp_path, edit)
    line = refused(*cli("score", "--model", "solver", path), path, "network 3")
    for cmd in (["export", path], ["solve", path]):
        assert refused(*cli(*cmd), path, "network 3")
    assert "rate" in line or "node" in line or "intake" in line


def test_check_networks_agrees_with_validate():
    """The vectorised check refuses exactly the networks Network.validate refuses."""
    rng = np.random.default_rng(1)
    nets = []
    for i in range(300):
        n = int(rng.integers(1, 6))
        m = int(rng.integers(1, 8))
        src, dst = rng.integers(-1, n + 2, m), rng.integers(0, n + 3, m)
        rate = 10.0 ** rng.uniform(-14, 14, m) * rng.choice([1, 1, 1, -1], m)
        nets.append(Network(n, src, dst, rate))
    for net in nets:
        try:
            net.validate()
            ok = True
        except ValueError:
            ok = False
        ep = np.array([0, net.m])
        assert (check_networks([net.n], ep, net.src, net.dst, net.rate) is None) == ok, net


def test_token_json_network_out_of_range_is_refused(tmp_path):
    path = tmp_path / "bad.tokens.json"
    path.write_text(json.dumps({"data_input": [["N2 N0 N1 N7 N1 N9 N7", "N1", "bad"]]}))
    refused(*cli("score", "--model", "solver", path), path)


def test_shard_config_that_is_not_an_object(shard_dir, tmp_path):
    for text in ("[1, 2]", "3", "null", '"erdos"'):
        path = _edited(shard_dir, tmp_path, lambda f: f.attrs.__setitem__("config", text))
        assert "config" in refused(*cli("info", path), path)
        refused(*cli("score", "--model", "solver", path), path)


# ---- 2. bounded resources ----------------------------------------------------------------
# Runs `python -m metabnet ARGS` with its output in files and prints the child's peak RSS (KB)
# and exit code: the wrapper's own children are only this one.
MEASURE = textwrap.dedent("""
    import resource, subprocess, sys
    with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as err:
        code = subprocess.run([sys.executable, "-m", "metabnet", *sys.argv[3:]], stdout=out, stderr=err).returncode
    print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
""")


def _peak(tmp_path, *args):
    """(exit code, peak RSS in MB, stdout, stderr) of `metabnet ARGS` in a fresh process."""
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", MEASURE, out, err, *map(str, args)], capture_output=True,
                       text=True, env=env, timeout=300)
    code, kb = map(int, r.stdout.split())
    return code, kb / 1024, out.read_text(), err.read_text()


def test_jsonl_of_300000_bad_lines_streams_in_bounded_memory(tmp_path):
    good = json.dumps(CHAIN).encode()
    small, path = tmp_path / "one.jsonl", tmp_path / "many.jsonl"
    small.write_bytes(good + b"\n" + b'{"n": 0}\n')
    with open(path, "wb") as f:
        f.write(good + b"\n")
        for i in range(300_000):
            f.write(b'{"n": 0, "pad": "%s"}\n' % (b"x" * 20) if i % 3 else b'{"n": \xff\xfe}\n')
        f.write(good + b"\n")
    code, base, _, _ = _peak(tmp_path, "solve", small)
    assert code == 1
    code, peak, out, err = _peak(tmp_path, "solve", path)
    assert code == 1 and "Traceback" not in err, err[-2000:]
    assert peak - base < 100, f"peak memory {peak:.0f} MB reading 300,000 bad lines, {base:.0f} MB for one"
    assert len(out.splitlines()) == 2  # both good networks solved
    lines = err.splitlines()
    assert len(lines) == 300_001 and lines[-1] == "300,000 error(s) in 1 file(s) failed", lines[-3:]
    assert lines[0].startswith(f"error: {path}:2: ") and "UTF-8" in lines[0]  # each error as it comes


def test_one_non_utf8_line_is_one_error(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(CHAIN).encode() + b"\n" + b'{"name": "caf\xe9"}\n'
                     + json.dumps({**CHAIN, "name": "last"}).encode() + b"\n")
    code, out = cli("solve", path)
    assert code == 1
    names = [json.loads(line)["name"] for line in out.splitlines() if line.startswith("{")]
    assert names == ["chain", "last"], out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{path}:2:" in errors[0] and "UTF-8" in errors[0], out


def _big_network(tmp_path, reactions):
    n = reactions // 2
    net = {"name": "big", "n": n, "intake": [[1, 1.0]], "excretion": [[v, 1.0] for v in range(1, n + 1)],
           "edges": [[v, v % n + 1, 1.0] for v in range(1, reactions - n)]}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(net))
    return path


def test_knockout_pairs_beyond_the_bound_is_refused_with_its_cost(tmp_path):
    path = _big_network(tmp_path, 1500)  # 1,124,250 pairs
    code, out = cli("knockout", path, "--pairs", "--model", "solver")
    assert code == 2 and "1,124,250 knock-outs" in out and "records about" in out and "--limit" in out, out
    code, out = cli("knockout", path, "--pairs", "--model", "solver", "--limit", "3", "--top", "2")
    assert code == 0, out
    assert sum(line.startswith("{") for line in out.splitlines()) == 4  # intact + 3


def test_network_whose_solve_cannot_finish_is_refused(tmp_path, monkeypatch):
    """Past limits.LU_MAX nodes a system the iteration cannot solve is refused, not handed to
    a full LU that runs for hours (a 100,000-node one did not finish in 5 minutes)."""
    from metabnet.solve import limits, sparse

    n = 700  # >= limits.SPARSE_MIN: the sparse path
    net = {"name": "long", "n": n, "intake": [[1, 1.0]], "excretion": [[n, 1.0]],
           "edges": [[v, v + 1, 1.0] for v in range(1, n)]}
    path = tmp_path / "long.json"
    path.write_text(json.dumps(net))
    monkeypatch.setattr(sparse, "_krylov_solve", lambda *a: None)  # as on the networks that defeat it
    monkeypatch.setattr(limits, "LU_MAX", 500)
    line = refused(*cli("solve", path), path, "long", "700 nodes", "LU")
    assert "reasonable time" in line
    monkeypatch.setattr(limits, "LU_MAX", 1000)
    code, out = cli("solve", path)
    assert code == 0 and json.loads(out)["exists_unique"], out


def _model_ckpt(**meta):
    mc = ModelConfig(arch="flux", d_model=16, n_heads=2, n_enc=1)
    return {"model_config": mc.to_dict(), "model": build(mc).state_dict(), **meta}


@pytest.mark.parametrize("case", [
    "json", "random_bytes", "empty", "list", "no_model", "billion_iterations", "negative_width", "unknown_field",
    "string_width", "wrong_shapes", "state_not_dict", "mixture_str", "bad_data_config", "nan_weights",
    "tensor_config", "pickled_class"])
def test_bad_checkpoints_are_one_line(tmp_path, case):
    path = tmp_path / "model.pt"
    good = _model_ckpt()
    odd = {
        "list": [1, 2, 3],
        "no_model": {"model_config": good["model_config"]},
        "billion_iterations": {**good, "model_config": {**good["model_config"], "iters_max": 10**9}},
        "negative_width": {**good, "model_config": {**good["model_config"], "d_model": -16}},
        "unknown_field": {**good, "model_config": {**good["model_config"], "evil": 1}},
        "string_width": {**good, "model_config": {**good["model_config"], "d_model": "16"}},
        "wrong_shapes": {**good, "model_config": {**good["model_config"], "d_model": 32, "n_heads": 2}},
        "state_not_dict": {**good, "state": [1]},
        "mixture_str": {**good, "data_mixture": "erdos"},
        "bad_data_config": {**good, "data_config": {"family": "nonsense"}},
        "nan_weights": {**good, "model": {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                                          for k, v in good["model"].items()}},
        "tensor_config": {**good, "model_config": torch.zeros(3)},
        "pickled_class": {**good, "extra": GenConfig()},
    }
    if case == "json":
        path.write_text(json.dumps({"model_config": {}, "model": {}}))
    elif case == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif case == "empty":
        path.write_bytes(b"")
    else:
        torch.save(odd[case], path)
    net = tmp_path / "net.json"
    net.write_text(json.dumps(CHAIN))
    for cmd in (["score", "--model", path, net], ["info", "--model", path]):
        code, out = cli(*cmd)
        line = refused(code, out, path, exit_code=1)
        assert "weights_only=False" not in out and "Aborted" not in out, out
        assert "checkpoint" in line


def test_eval_iters_extra_beyond_bounds_is_refused(tmp_path, shard_dir):
    path = tmp_path / "model.pt"
    torch.save(_model_ckpt(), path)
    code, out = cli("eval", shard_dir, "--model", path, "--iters-extra", 10**9)
    assert "iters_extra" in refused(code, out, path)


# ---- 3. every exception from a file or an option is one line -----------------------------
@pytest.mark.parametrize("args,option", [
    (["score", "--model", "solver", "--batch-size", "0"], "--batch-size"),
    (["score", "--model", "solver", "--batch-size", "-3"], "--batch-size"),
    (["score", "--beam", "0"], "--beam"),
    (["knockout", "--top", "0"], "--top"),
    (["knockout", "--batch-size", "0"], "--batch-size"),
])
def test_option_ranges(tmp_path, args, option):
    net = tmp_path / "net.json"
    net.write_text(json.dumps(CHAIN))
    code, out = cli(*args, net)
    assert code == 2 and option in out, out


def test_gen_seed_beyond_64_bits_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    code, text = cli("gen", "--out", out, "--count", "10", "--seed", 2**64, "-q")
    assert code == 2 and "--seed" in text, text
    assert not out.exists() or not any(out.iterdir())
    with pytest.raises(ValueError, match="seed"):
        Plan(out, GenConfig(), 10, seed=2**64)


def test_folder_without_network_files_fails(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    for cmd in ("solve", "score"):
        code, out = cli(cmd, *(["--model", "solver"] if cmd == "score" else []), tmp_path / "empty")
        assert code == 1 and "no network files" in out and str(tmp_path / "empty") in out, out


def test_unreadable_subfolder_is_a_failure(tmp_path, monkeypatch):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "net.json").write_text(json.dumps(CHAIN))
    walk = os.walk

    def denied(top, onerror=None, **kw):  # what os.walk meets in a folder without read permission
        for root, dirs, files in walk(top, onerror=onerror, **kw):
            if root.endswith("sub"):
                onerror(PermissionError(13, "Permission denied", root))
                continue
            yield root, dirs, files
    if os.geteuid() != 0:
        os.chmod(tmp_path / "d" / "sub", 0)
    else:  # root reads everything: simulate the refusal
        monkeypatch.setattr(os, "walk", denied)
    try:
        code, out = cli("solve", tmp_path / "d")
    finally:
        os.chmod(tmp_path / "d" / "sub", 0o755)
    assert code == 1 and '"chain"' in out, out
    assert "sub" in refused(code, out, "cannot read folder")


def test_unreadable_named_file_is_one_failure_among_others(tmp_path, monkeypatch):
    good, bad = tmp_path / "good.json", tmp_path / "secret.json"
    good.write_text(json.dumps(CHAIN))
    bad.write_text(json.dumps(CHAIN))
    if os.geteuid() != 0:
        os.chmod(bad, 0)
    else:  # root reads everything: simulate the refusal at the two places that look
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: str(p) != str(bad) and real_access(p, mode, **kw))
        import pathlib
        real_read = pathlib.Path.read_bytes
        monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")) if str(self) == str(bad) else real_read(self))
    code, out = cli("solve", good, bad)
    assert code == 1 and '"chain"' in out, out
    refused(code, out, bad, "Permission denied")


def test_csv_cells_that_look_like_formulas_are_escaped(tmp_path):
    nets = [{**CHAIN, "name": name} for name in ("=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "-5", "plain")]
    src = tmp_path / "nets.jsonl"
    src.write_text("".join(json.dumps(n) + "\n" for n in nets))
    out = tmp_path / "out.csv"
    code, text = cli("score", "--model", "solver", "--format", "csv", "--out", out, src)
    assert code == 0, text
    import csv
    rows = list(csv.DictReader(out.open()))
    assert [r["name"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'@SUM(A1)", "-5", "plain"]
    xrows = list(csv.DictReader(out.with_suffix(".x.csv").open()))
    assert xrows[0]["name"].startswith("'=")


# ---- 4. resume and unfinished folders ----------------------------------------------------------
def _train(data, out, *extra):
    return cli("train", data, "--out", out, "--arch", "flux", "--width", "16", "--heads", "2", "--layers", "1",
               "--max-steps", "4", "--batch-size", "8", "--val-size", "8", "--device", "cpu", "--no-compile",
               "-q", "--eval-every", "100", "--ckpt-every", "2", *extra)


def test_resume_with_other_settings_is_refused(shard_dir, tmp_path):
    out = tmp_path / "run"
    code, text = _train(shard_dir, out)
    assert code == 0, text
    before = (out / "checkpoint.pt").read_bytes()
    for extra, named in ((["--lr", "1e-2"], "lr"), (["--seed", "7"], "seed"), (["--batch-size", "4"], "batch-size")):
        args = [a for a in extra]
        code, text = _train(shard_dir, out, "--resume", *args)
        line = refused(code, text, out / "checkpoint.pt", named)
        assert "other settings" in line
    other = tmp_path / "other"
    run(Plan(other, GenConfig(n_min=4, n_max=8), 20, seed=9, shard_size=20), progress=False)
    assert "data" in refused(*_train(other, out, "--resume"), "checkpoint.pt")
    assert (out / "checkpoint.pt").read_bytes() == before  # the record is untouched
    code, text = _train(shard_dir, out, "--resume", "--max-steps", "6")  # the same run, longer: fine
    assert code == 0, text


def test_resume_without_checkpoint_says_so(shard_dir, tmp_path):
    code, text = _train(shard_dir, tmp_path / "fresh", "--resume")
    assert "no checkpoint" in refused(code, text, "--resume")
    assert not (tmp_path / "fresh" / "model.pt").exists()


def test_half_generated_folder_is_named(shard_dir, tmp_path):
    half = tmp_path / "half"
    half.mkdir()
    for f in ("metabnet.json", "shard-00000.h5"):
        (half / f).write_bytes((shard_dir / f).read_bytes())  # the manifest promises 2 shards
    code, out = cli("score", "--model", "solver", half)
    assert code == 0 and "warning:" in out and "1 are missing" in out and str(half) in out, out
    path = tmp_path / "model.pt"
    torch.save(_model_ckpt(), path)
    code, out = cli("eval", half, "--model", path)
    assert code == 0 and "1 are missing" in out, out
    code, out = _train(half, tmp_path / "run")
    assert code == 0 and "1 are missing" in out, out


def test_text_past_the_parse_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    """A network file, or a JSON lines line, past fileio.MAX_TEXT_BYTES is one error naming it
    (parsing would take ~20x the text in memory); the other lines are read."""
    from metabnet import fileio
    from metabnet.fileio import FormatError
    from metabnet.io.formats import read_networks

    small, big = json.dumps(CHAIN), json.dumps({**CHAIN, "name": "x" * 400})
    monkeypatch.setattr(fileio, "MAX_TEXT_BYTES", 200)
    (tmp_path / "big.json").write_text(big)
    with pytest.raises(FormatError, match=r"big\.json.*more than the 0 MiB metabnet parses"):
        read_networks(tmp_path / "big.json")
    (tmp_path / "mixed.jsonl").write_text(small + "\n" + big + "\n" + small + "\n")
    errors = []
    nets = read_networks(tmp_path / "mixed.jsonl", errors)
    assert len(nets) == 2 and len(errors) == 1 and "mixed.jsonl:2:" in str(errors[0])
