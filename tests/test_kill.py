"""Real kills: `gen`, `train`, `score --out` and `convert --to` run as subprocesses and are
killed with SIGKILL at seeded random moments (train also stopped with SIGINT, Ctrl-C), then
rerun or resumed.  The result must equal an uninterrupted run, and no file under its final
name may ever hold part of its content: everything is written under a temporary name and
renamed when whole.  The kill moments are drawn as points of progress (shards written,
training steps logged, records or files written), so that they land inside the work on a
fast machine as on a loaded one."""
import hashlib
import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from helpers import logged_step, metrics, signal_when, start, train_args
from metabnet.cli.main import main
from metabnet.io.formats import read_networks, write_networks
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.gen.shard import read_shard

MOMENTS = random.Random(20261129)  # the kill moments, seeded


@pytest.fixture(scope="module", autouse=True)
def warm_numba_cache_and_one_torch_thread():
    """Compile (or load) the Numba kernels once, so the subprocesses find them cached; train
    on one torch thread in this process, as the subprocesses do."""
    generate(GenConfig(size="custom", n_min=8, n_max=12), 4, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def invoke(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


def digest(folder: Path, pattern="*") -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob(pattern))}


# ---- gen ---------------------------------------------------------------------------------
GEN = ["--count", 6000, "--shard-size", 1000, "--n-min", 8, "--n-max", 16, "--seed", 5, "-q"]


@pytest.fixture(scope="module")
def gen_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen_ref")
    invoke("gen", "--out", out, *GEN)
    return digest(out, "shard-*.h5")


@pytest.mark.parametrize("kill", range(2))
def test_gen_killed_then_rerun_gives_the_same_bytes(tmp_path, gen_reference, kill):
    reference, whole = gen_reference, MOMENTS.randint(0, 4)  # of 6 shards
    out = tmp_path / "gen"
    proc = start("gen", "--out", out, *GEN)
    killed = signal_when(proc, lambda: len(list(out.glob("shard-*.h5"))) >= whole and any(out.glob("*.tmp")),
                         MOMENTS.uniform(0.0, 0.05))
    assert killed, "gen finished before the kill: raise --count"
    for p in out.glob("shard-*.h5"):  # a final name always holds a whole shard
        read_shard(p)
    if (out / "metabnet.json").exists():
        json.loads((out / "metabnet.json").read_text())
    invoke("gen", "--out", out, *GEN)
    assert digest(out, "shard-*.h5") == reference
    assert not list(out.glob("*.tmp"))


def test_second_gen_into_a_busy_folder_is_refused(tmp_path):
    out = tmp_path / "gen"
    proc = start("gen", "--out", out, *GEN)
    try:
        t0 = time.monotonic()
        while not any(out.glob("*.tmp")) and time.monotonic() - t0 < 120:
            time.sleep(0.005)
        r = CliRunner().invoke(main, ["gen", "--out", str(out), *map(str, GEN)])
        running = proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
    assert running, "the first gen finished too soon to test the lock"
    assert r.exit_code == 1 and f"{out} is in use by another metabnet gen (pid {proc.pid})" in r.output


# ---- train -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shards(make_shards):
    return make_shards(160, 3, 80, size="custom", n_min=8, n_max=12)


@pytest.fixture(scope="module")
def train_reference(shards, tmp_path_factory):
    out = tmp_path_factory.mktemp("train_ref")
    invoke(*train_args(shards, out))
    return out


def same_run(a: Path, b: Path):
    """The same weights and the same logged losses and validations, no step twice."""
    wa = torch.load(a / "model.pt", weights_only=True)["model"]
    wb = torch.load(b / "model.pt", weights_only=True)["model"]
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    timed = ("examples_per_s", "elapsed_s", "train_config", "data_wait_s", "model_tflops", "mfu")
    strip = lambda rows: [{k: v for k, v in r.items() if k not in timed}  # noqa: E731
                          for r in rows]
    ra, rb = metrics(a), metrics(b)
    assert strip(ra) == strip(rb)
    steps = [(r["split"], r["step"]) for r in rb]
    assert len(steps) == len(set(steps)), "a step logged twice"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_train_killed_then_resumed_equals_uninterrupted(shards, train_reference, tmp_path, sig):
    reference, step = train_reference, MOMENTS.choice([6, 9, 12, 15, 18])  # of 30
    out = tmp_path / "run"
    proc = start(*train_args(shards, out))
    ckpt = out / "checkpoint.pt"
    killed = signal_when(proc, lambda: logged_step(out) >= step, MOMENTS.uniform(0.0, 0.05), sig=sig)
    assert killed, "train finished before the signal: raise --max-steps"
    stderr = proc.stderr.read()
    if sig == signal.SIGINT:  # Ctrl-C: checkpoint at the step it stopped, exit 130
        assert proc.returncode == 130, stderr[-2000:]
        assert "continue from" in stderr and "Traceback" not in stderr, stderr[-2000:]
        stopped = torch.load(ckpt, weights_only=True)["state"]["step"]  # where it stopped, not before
        assert stopped >= max(r["step"] for r in metrics(out) if r["split"] == "train")
    else:
        assert proc.returncode == -signal.SIGKILL
    for line in (out / "metrics.jsonl").read_text().splitlines():
        json.loads(line)  # no record cut in half
    torch.load(ckpt, weights_only=True)  # whole: written under a temporary name
    r = CliRunner().invoke(main, [str(a) for a in train_args(shards, out)] + ["--resume"])
    assert r.exit_code == 0, r.output
    same_run(reference, out)
    assert not list(out.glob("*.tmp*"))


# ---- score --out ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def score_input(tmp_path_factory):
    d = tmp_path_factory.mktemp("score_in")
    b = generate(GenConfig(size="custom", n_min=8, n_max=20), 16_384, seed=8)
    write_networks(d / "nets.jsonl", [b.network(i, name=f"n{i}") for i in range(len(b))])
    ref = d.parent / (d.name + "_ref.jsonl")
    invoke("score", d, "--model", "solver", "--out", ref)
    return d, ref


@pytest.mark.parametrize("kill", range(2))
def test_score_killed_leaves_whole_records_and_rerun_is_identical(score_input, tmp_path, kill):
    d, ref = score_input
    size = MOMENTS.uniform(0.05, 0.7) * ref.stat().st_size  # written 4,096 records at a time
    out = tmp_path / "scores.jsonl"
    part = out.with_name(out.name + ".part")
    proc = start("score", d, "--model", "solver", "--out", out)
    killed = signal_when(proc, lambda: part.exists() and part.stat().st_size >= size, 0.0)
    assert killed, "score finished before the kill: give it more networks"
    assert not out.exists(), "a killed score left a final-named output"
    lines = part.read_text().splitlines(keepends=True)
    assert lines and all(line.endswith("\n") for line in lines)
    assert [json.loads(line) for line in lines] == [json.loads(line) for line in ref.read_text().splitlines()[:len(lines)]]
    invoke("score", d, "--model", "solver", "--out", out)
    assert out.read_bytes() == ref.read_bytes() and not part.exists()


# ---- convert --to (folder mode) ---------------------------------------------------------
@pytest.fixture(scope="module")
def convert_input(tmp_path_factory):
    d = tmp_path_factory.mktemp("convert")
    b = generate(GenConfig(size="custom", n_min=8, n_max=20, weights="log-uniform", w_min=0.1, w_max=10),
                 6000, seed=9)
    src = d / "many.jsonl"
    write_networks(src, [b.network(i, name=f"net {i}") for i in range(len(b))])
    invoke("convert", src, d / "ref", "--to", "json")
    return src, digest(d / "ref")


@pytest.mark.parametrize("kill", range(2))
def test_convert_folder_killed_then_rerun_gives_the_same_files(convert_input, tmp_path, kill):
    src, reference = convert_input
    files = MOMENTS.randint(1, len(reference) * 2 // 3)
    out = tmp_path / "out"
    proc = start("convert", src, out, "--to", "json")
    killed = signal_when(proc, lambda: out.exists() and len(os.listdir(out)) >= files, 0.0)
    assert killed, "convert finished before the kill: give it more networks"
    written = sorted(out.glob("*.json"))  # final names: every one a whole network
    assert 0 < len(written) < len(reference)
    for p in written:
        (net,) = read_networks(p)
        assert p.stem == net.name.replace(" ", "_")
    r = CliRunner().invoke(main, ["convert", str(src), str(out), "--to", "json"])
    assert r.exit_code == 1 and "exists; choose another output, or --force" in r.output  # issue 22
    invoke("convert", src, out, "--to", "json", "--force")
    assert digest(out) == reference  # and no temporary file left over
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
