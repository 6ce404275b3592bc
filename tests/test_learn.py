"""Learning: data stream, metrics, both models overfitting a tiny set, exact resume, DDP, eval."""
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from metabnet.cli.main import main
from metabnet.gen.config import GenConfig
from metabnet.batch import take
from metabnet.learn.archs import ARCHS, node_arrays
from metabnet.learn.loader import GenStream, ShardIndex, Stream
from metabnet.metrics import rel_l1, report, summary
from metabnet.learn.model import ModelConfig, build, init_weights
from metabnet.learn.predict import load_model, save_compact, to_device
from metabnet.learn.train import TrainConfig, train

TINY = dict(d_model=32, n_heads=4, n_enc=2, n_dec=2)


@pytest.fixture(scope="module")
def shards(make_shards):
    return make_shards(3000, 3, 1000)  # the paper's S networks, 3 shards


@pytest.fixture(scope="module")
def tiny(make_shards):
    return make_shards(64, 5, 64, n_min=8, n_max=12)


def _tc(data, out, **kw):
    base = dict(batch_size=16, lr=3e-3, warmup=10, log_every=5, eval_every=10**6, ckpt_every=10,
                val_size=64, val=str(data), block=32, window=2, device="cpu", compile=False,
                val_each_epoch=False)
    return TrainConfig(data=str(data), out=str(out), **{**base, **kw})


def _train_losses(run_dir):
    rows = [json.loads(s) for s in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "val"]


# ---- data stream -------------------------------------------------------------------------
def test_stream_visits_every_training_network_once_per_epoch(shards):
    index = ShardIndex(shards)
    s = Stream(index, batch_size=50, seed=1, block=128, window=3, holdout=200)
    seen = [b["edge_ptr"][-1] for _, _, b in s.batches(0)]
    keys = set()
    for _, _, b in s.batches(0):
        for i in range(len(b)):
            e = slice(b["edge_ptr"][i], b["edge_ptr"][i + 1])
            keys.add((int(b["n"][i]), b["edge_src"][e].tobytes(), b["edge_dst"][e].tobytes(), b["edge_rate"][e].tobytes()))
    assert len(seen) >= 2800 // 50 - 3 * 8  # only each window's remainder is dropped
    assert len(keys) > 0.9 * 2800
    # the held-out tail never appears in training
    val = s.validation()
    assert len(val) == 200
    vkeys = {(int(val["n"][i]), val["edge_src"][val["edge_ptr"][i]:val["edge_ptr"][i + 1]].tobytes())
             for i in range(len(val))}
    assert not vkeys & {(k[0], k[1]) for k in keys}
    # same seed and epoch: same order; other epoch: another order
    first = lambda e: next(iter(s.batches(e)))[2]["n"].tolist()  # noqa: E731
    assert first(0) == first(0) and first(0) != first(1)
    index.close()


def test_ranks_split_batches_of_a_single_process(shards):
    index = ShardIndex(shards)
    one = list(Stream(index, 40, seed=2, block=256, window=2).batches(0))
    r0 = list(Stream(index, 20, seed=2, block=256, window=2, rank=0, world=2).batches(0))
    r1 = list(Stream(index, 20, seed=2, block=256, window=2, rank=1, world=2).batches(0))
    assert len(one) == len(r0) == len(r1)
    for (_, _, a), (_, _, b), (_, _, c) in zip(one, r0, r1):
        assert a["n"].tolist() == b["n"].tolist() + c["n"].tolist()
    index.close()


def test_gen_stream_cycles_the_mixture_and_resumes_exactly():
    mix = [GenConfig(n_min=8, n_max=12), GenConfig(family="small_world", size="custom", n_min=20, n_max=24)]
    s = GenStream(mix, batch_size=5, seed=2)
    first = [b for _, b in zip(range(6), s.batches())]
    assert [j for _, j, _ in first] == list(range(6))
    for _, j, b in first:
        assert len(b) == 5 and set(b["family"]) == {mix[j % 2].family}
        assert b["n"].min() >= mix[j % 2].node_range[0] and b["n"].max() <= mix[j % 2].node_range[1]
    again = [b for _, b in zip(range(2), s.batches(0, 0, 4))]  # resumed at batch 4
    for (_, _, a), (_, _, b) in zip(first[4:], again):
        assert all(np.array_equal(a[k], b[k]) for k in ("n", "edge_src", "edge_rate", "x"))
    assert not np.array_equal(first[0][2]["edge_rate"][:20], first[2][2]["edge_rate"][:20])  # fresh networks
    ranks = [GenStream(mix, 5, 2, rank=r, world=2) for r in (0, 1)]
    r0, r1 = (next(iter(r.batches(0, 0, 2)))[2] for r in ranks)
    assert not np.array_equal(r0["edge_rate"][:10], r1["edge_rate"][:10])
    val = s.validation(7)
    assert len(val) == 7 and sorted(set(val["family"])) == ["erdos", "small_world"]
    train_keys = {b["edge_rate"].tobytes() for _, _, b in first}
    assert val["edge_rate"].tobytes() not in train_keys


def test_gen_stream_packs_batches_by_length_and_resumes_exactly():
    seq = ARCHS["seq2seq"]
    cfg = GenConfig(weights="unweighted")
    length = lambda b: seq.lengths(b, "quali", False)  # noqa: E731
    s = GenStream([cfg], batch_size=8, seed=3, pack=4, length=length)
    first = [b for _, b in zip(range(8), s.batches())]
    pool = GenStream([cfg], batch_size=32, seed=3).batches()  # the same networks, unsorted
    whole = next(pool)[2]
    assert sorted(length(whole).tolist()) == sorted(np.concatenate([length(b) for _, _, b in first[:4]]).tolist())
    spans = [np.ptp(length(b)) for _, _, b in first[:4]]
    assert max(spans) < np.ptp(length(whole)) / 2, spans  # each batch is a slice of the sorted pool
    again = [b for _, b in zip(range(3), s.batches(0, 0, 5))]  # resumed at batch 5, inside the second pool
    for (_, j, a), (_, k, b) in zip(first[5:], again):
        assert j == k and all(np.array_equal(a[key], b[key]) for key in ("n", "edge_src", "edge_dst", "x"))
    assert np.array_equal(length(first[0][2]), seq.lengths(first[0][2], "quali", False))
    quanti = 3 + 2 * np.diff(whole["edge_ptr"]) + 12 * whole["n"] + 3  # input tokens + the longest answer
    assert seq.lengths(whole, "quanti", False).tolist() == quanti.tolist()
    with pytest.raises(ValueError, match="length function"):
        GenStream([cfg], 8, pack=2)


def test_train_in_time_slices_with_a_hook_and_a_time_limit(tmp_path):
    """ckpt_every, the hook after every checkpoint; max_seconds ends the call with a checkpoint,
    unfinished, and resume continues; the log lines give the data wait and the model FLOP rate."""
    mix = [dict(size="custom", n_min=8, n_max=12, weights="unweighted")]
    base = dict(data=None, mixture=mix, batch_size=8, lr=1e-3, warmup=2, max_steps=6, log_every=2, eval_every=10**6,
                ckpt_every=2, val_size=8, device="cpu", compile=False, pack=2)
    mc = ModelConfig(arch="seq2seq", **{**TINY, "n_enc": 1, "n_dec": 1})
    calls = []

    def hook(model, state, last):  # evaluates, as benchmarks/gpu_paper.py does; the loop restores train mode
        calls.append((state["step"], last, model.training))
        model.eval()

    train(TrainConfig(out=str(tmp_path / "a"), **base), mc, progress=False, on_checkpoint=hook)
    assert calls == [(2, False, True), (4, False, True), (6, True, True)]
    rows = [json.loads(s) for s in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if r["split"] == "train"]
    assert len(logged) == 3 and all(r["data_wait_s"] >= 0 and r["model_tflops"] > 0 and "mfu" not in r for r in logged)

    calls.clear()
    tc = TrainConfig(out=str(tmp_path / "b"), **{**base, "max_seconds": 1e-9})  # out of time after one step
    train(tc, mc, progress=False, on_checkpoint=hook)
    assert calls == [(1, True, True)]
    ck = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    assert ck["state"]["step"] == 1 and not ck["state"].get("finished")
    train(TrainConfig(out=str(tmp_path / "b"), **base), mc, resume=True, progress=False)  # more time: finishes
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    assert b["state"]["finished"] and b["state"]["step"] == 6
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k  # the same batches as without the stop
    with pytest.raises(ValueError, match="pack must be at least 1 and applies to generated networks only"):
        train(TrainConfig(out=str(tmp_path / "c"), **{**base, "data": str(tmp_path)}), mc, progress=False)


def test_compact_checkpoint_keeps_the_model_in_bf16(tiny, tmp_path):
    train(_tc(tiny, tmp_path / "run", max_steps=4, val_size=16), ModelConfig(arch="seq2seq", **TINY), progress=False)
    full = tmp_path / "run" / "checkpoint.pt"
    size = save_compact(full, tmp_path / "small.pt")
    assert size == (tmp_path / "small.pt").stat().st_size < full.stat().st_size / 4  # no optimizer, half the bytes
    raw = torch.load(tmp_path / "small.pt", weights_only=True)
    assert {"optim", "rng"}.isdisjoint(raw) and raw["state"] == torch.load(full, weights_only=True)["state"]
    assert {v.dtype for v in raw["model"].values()} == {torch.bfloat16}
    assert raw["model"]["tok.weight"].data_ptr() == raw["model"]["head.weight"].data_ptr()  # tied: stored once
    with zipfile.ZipFile(tmp_path / "small.pt") as z:
        assert any(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())
    model, ck = load_model(tmp_path / "small.pt")
    ref, _ = load_model(full)
    for k, v in ref.state_dict().items():
        assert model.state_dict()[k].dtype == torch.float32
        assert torch.equal(model.state_dict()[k], v.to(torch.bfloat16).float()), k
    index = ShardIndex(tiny)
    data = index.read_all()
    index.close()
    from metabnet.learn.predict import predict
    assert predict(model, data)["cls"].shape == (len(data),)
    res = CliRunner().invoke(main, ["info", "--model", str(tmp_path / "small.pt")])
    assert res.exit_code == 0 and "seq2seq" in res.output, res.output


def test_train_streams_generated_networks_without_data(tmp_path):
    args = ["train", "--out", str(tmp_path / "run"), "--families", "erdos,small_world", "--sizes", "S",
            "--task", "quanti", "--max-steps", "4", "--batch-size", "4", "--val-size", "8", "--width", "16",
            "--warmup", "2", "--device", "cpu", "-q", "--pack", "2", "--max-time", "600"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    ck = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert ck["model_config"]["arch"] == "flux" and ck["train_config"]["data"] is None
    assert ck["train_config"]["pack"] == 2 and ck["train_config"]["max_seconds"] == 600 and ck["state"]["finished"]
    assert [m["family"] for m in ck["data_mixture"]] == ["erdos", "small_world"]
    assert ck["threads"] == torch.get_num_threads()  # how it was trained, for docs/accuracy.md
    bad = CliRunner().invoke(main, args[:3] + ["--families", "erdos,nope"])
    assert bad.exit_code == 2 and "nope: choose from" in bad.output


def test_node_arrays_place_labels_at_node_columns(shards):
    index = ShardIndex(shards)
    b = index.read(0, 0, 50)
    floored, exact = node_arrays(b), node_arrays(b, floor=None)
    assert b["x"].min() == 0  # some node the intake never reaches
    for i in range(len(b)):
        m = b["edge_ptr"][i + 1] - b["edge_ptr"][i]
        assert floored["emask"][i].sum() == m
        assert (floored["src"][i, :m] == b["edge_src"][b["edge_ptr"][i]:b["edge_ptr"][i + 1]]).all()
        n = b["n"][i]
        if b["exists_unique"][i]:
            x = b.x(i)
            np.testing.assert_allclose(floored["log_x"][i, 1:n + 1], np.maximum(np.log10(np.maximum(x, 1e-300)), -6), rtol=1e-6)
            assert floored["xmask"][i].sum() == n
            # without a floor: x > 0 regressed, x = 0 only under zmask (the "reached" target)
            assert exact["xmask"][i, 1:n + 1].tolist() == (x > 0).tolist() and exact["zmask"][i].sum() == n
            np.testing.assert_allclose(exact["log_x"][i, 1:n + 1][x > 0], np.log10(x[x > 0]), rtol=1e-6)
        else:
            assert not floored["xmask"][i].any() and not exact["zmask"][i].any()
    index.close()


@pytest.mark.parametrize("arch", ["graph", "flux"])
def test_single_pass_models_are_equivariant_to_node_relabelling(shards, arch):
    index = ShardIndex(shards)
    b = index.read(0, 0, 8)
    model = init_weights(build(ModelConfig(arch=arch, task="quanti", **TINY))).eval()
    arrays = ARCHS[arch].arrays
    base = model(to_device(arrays(b, "quanti"), "cpu"))
    rng = np.random.default_rng(0)
    relabeled = take(b, np.arange(len(b)))
    for i in range(len(b)):
        n = int(b["n"][i])
        perm = np.concatenate([[0], 1 + rng.permutation(n), [n + 1]])  # new id of each old id
        e = slice(b["edge_ptr"][i], b["edge_ptr"][i + 1])
        relabeled["edge_src"][e] = perm[b["edge_src"][e]]
        relabeled["edge_dst"][e] = perm[b["edge_dst"][e]]
        out = model(to_device(arrays(take(relabeled, [i]), "quanti"), "cpu"))  # alone: no batch effect
        assert torch.allclose(out["logit"], base["logit"][i:i + 1], atol=1e-5)
        assert torch.allclose(out["log_x"][0, perm[1:n + 1]], base["log_x"][i, 1:n + 1], atol=1e-5)
    index.close()


# ---- metrics -----------------------------------------------------------------------------
def test_readable_counts_each_networks_own_rates_even_without_edges():
    """seq2seq reads integer rates up to 999 only; a network with no edges has no bad rate,
    whether it comes first, between others or last (np.add.reduceat got these wrong)."""
    from metabnet.batch import as_batch
    from metabnet.network import Network

    good = Network(2, [0, 1, 2], [1, 2, 3], [1.0, 5.0, 7.0])
    frac = Network(1, [0, 1], [1, 2], [1.0, 2.5])
    big = Network(1, [0, 1], [1, 2], [1.0, 1000.0])
    empty = Network(1, [], [], [])
    mm = Network(1, [0, 1], [1, 2], [1.0, 2.0], [np.nan, 1.0], "michaelis-menten")
    nets = [empty, good, empty, frac, empty, big, good, mm, empty]
    want = [True, True, True, False, True, False, True, False, True]
    seq = ARCHS["seq2seq"]
    assert seq.readable(as_batch(nets), True).tolist() == want
    assert seq.readable(as_batch([empty, empty]), True).tolist() == [True, True]
    assert seq.readable(as_batch(nets), False).tolist() == [k != "michaelis-menten" for k in
                                                             (net.kinetics for net in nets)]
    assert ARCHS["graph"].readable(as_batch(nets), True).all() and ARCHS["flux"].readable(as_batch(nets), True).all()


def test_rel_l1_and_summary():
    assert rel_l1([1, 1], [1.1, 0.9]) == pytest.approx(0.1)
    assert rel_l1([1, 2], [1]) == float("inf") and rel_l1([1], None) == float("inf")
    assert rel_l1([1], [np.nan]) == float("inf") and rel_l1([0, 0], [0, 0]) == 0.0
    s = summary([1, 1, 0, 1], [1, 0, 0, 1], [0.03, 0.0, np.nan, 0.2])
    assert s["accuracy"] == 0.75 and s["quanti_count"] == 3
    assert s["within_0.1"] == pytest.approx(1 / 3) and s["within_0.01"] == 0  # the class-0 miss counts wrong
    rep = report([1, 0], [1, 1], [np.nan, np.nan], {"family": np.array(["a", "b"])})
    assert rep["by"]["family"]["a"]["accuracy"] == 1 and rep["by"]["family"]["b"]["accuracy"] == 0
    assert rep["by"]["class"]["none"]["count"] == 1


# ---- training ----------------------------------------------------------------------------
@pytest.mark.parametrize("arch,task", [("flux", "quali"), ("flux", "quanti"), ("graph", "quali"), ("graph", "quanti"),
                                       ("seq2seq", "quali")])
def test_tiny_model_overfits_tiny_set(tiny, tmp_path, arch, task):
    steps = {"quali": 150, "quanti": 250}[task] + (50 if arch == "seq2seq" else 0)
    width, lr = (64, 1e-3) if arch == "seq2seq" else (32, 3e-3)
    last = train(_tc(tiny, tmp_path, max_steps=steps, lr=lr),
                 ModelConfig(arch=arch, task=task, **{**TINY, "d_model": width}), progress=False)
    losses, vals = _train_losses(tmp_path)
    assert np.mean(losses[-3:]) < np.mean(losses[:2]) / 5, f"loss {losses[:2]} -> {losses[-3:]}"
    assert last["accuracy"] >= 0.95, f"training-set accuracy {last['accuracy']}"
    if task == "quanti":
        assert last["median_rel_l1"] < 0.6, last  # from ~1 at initialisation
    assert (tmp_path / "curves.png").stat().st_size > 1000
    model, ck = load_model(tmp_path / "model.pt")
    assert model.config.arch == arch and ck["state"]["step"] == steps
    if arch == "seq2seq":  # beam search agrees with greedy decoding on what it memorised
        from metabnet.learn.predict import predict
        index = ShardIndex(tiny)
        data = index.read_all()
        index.close()
        beam = predict(model, data, beam=3)
        assert np.mean(beam["cls"] == data["exists_unique"]) >= 0.95
        assert ((beam["p_exists"] >= 0.5) == (beam["cls"] == 1)).mean() >= 0.95


def test_resume_after_kill_reproduces_uninterrupted_run(tiny, tmp_path):
    mc = ModelConfig(task="quanti", **TINY)
    train(_tc(tiny, tmp_path / "a", max_steps=40), mc, progress=False)
    train(_tc(tiny, tmp_path / "b", max_steps=40), mc, progress=False, stop_after=27)  # "killed" at 27
    with pytest.raises(FileExistsError):
        train(_tc(tiny, tmp_path / "b", max_steps=40), mc, progress=False)
    train(_tc(tiny, tmp_path / "b", max_steps=40), mc, resume=True, progress=False)  # from step 20
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert _train_losses(tmp_path / "a")[0] == _train_losses(tmp_path / "b")[0]


def test_ddp_gloo_two_processes_equal_one_process_with_double_batch(tiny, tmp_path):
    args = ["train", str(tiny), "--max-steps", "6", "--width", "32", "--heads", "4", "--layers", "2",
            "--device", "cpu", "--no-compile", "--val", str(tiny), "--val-size", "64", "-q", "--warmup", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(29500 + os.getpid() % 1000), "-m", "metabnet"]
    r = subprocess.run(cmd + args + ["--out", str(tmp_path / "ddp"), "--batch-size", "8"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    res = CliRunner().invoke(main, args + ["--out", str(tmp_path / "one"), "--batch-size", "16"])
    assert res.exit_code == 0, res.output
    a = torch.load(tmp_path / "ddp" / "model.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "one" / "model.pt", weights_only=True)["model"]
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k


# ---- eval --------------------------------------------------------------------------------
def test_eval_cli_on_shards_network_files_and_token_json(tiny, tmp_path):
    train(_tc(tiny, tmp_path / "run", max_steps=30), ModelConfig(task="quanti", **TINY), progress=False)
    files = tmp_path / "files"
    files.mkdir()
    index = ShardIndex(tiny)
    b = index.read(0, 0, 10)
    index.close()
    from metabnet.io.formats import write_networks
    nets = [b.network(i, name=f"net{i}") for i in range(10)]
    write_networks(files / "some.jsonl", nets[:6])
    for i, net in enumerate(nets[6:]):
        net.meta.update(exists_unique=bool(b["exists_unique"][6 + i]), x=b.x(6 + i) if b["exists_unique"][6 + i] else None)
    write_networks(files / "rest.tokens.json", nets[6:])
    (files / "bad.json").write_text("{not json")
    rep_path = files / "rep.json"  # inside an input folder: never read as a network
    for force in ([], ["--force"]):  # a second run replaces its report only with --force (issue 22)
        res = CliRunner().invoke(main, ["eval", "--model", str(tmp_path / "run" / "model.pt"), str(tiny), str(files),
                                        "--out", str(rep_path), *force])
        assert res.exit_code == 1  # the bad file
        assert "bad.json" in res.output and "family=erdos" in res.output and "family=files" in res.output
        assert "rep.json" not in res.output
    assert sorted(p.name for p in files.iterdir()) == ["bad.json", "rep.json", "rest.tokens.json", "some.jsonl"]
    rep = json.loads(rep_path.read_text())
    assert rep["overall"]["count"] == 64 + 10
    assert set(rep["by"]) == {"class", "family", "size", "kinetics"}
    assert rep["by"]["family"]["files"]["count"] == 10 and "within_0.05" in rep["overall"]


def test_eval_leaves_out_networks_longer_than_the_seq2seq_reads(tiny, tmp_path):
    index = ShardIndex(tiny)
    data = index.read_all()
    index.close()
    longest = -(-(3 + 3 * np.diff(data["edge_ptr"])) // 16) * 16  # weighted inputs, padded (answers are shorter)
    for max_len, left_out in ((int(np.median(longest)), int((longest > int(np.median(longest))).sum())), (16, len(data))):
        mc = ModelConfig(arch="seq2seq", max_len=max_len, **TINY)
        path = tmp_path / f"len{max_len}.pt"
        torch.save({"model_config": mc.to_dict(), "model": init_weights(build(mc)).state_dict(), "weighted": True}, path)
        assert int((~ARCHS["seq2seq"].fits(data, mc, True)).sum()) == left_out
        res = CliRunner().invoke(main, ["eval", "--model", str(path), str(tiny), "-q"])
        assert res.exit_code == 0, res.output
        assert f"{left_out} network(s) too large for the seq2seq model were left out" in res.output


# ---- errors and reruns -------------------------------------------------------------------
def test_train_errors_are_one_line(tiny, tmp_path):
    def train_cli(*args):
        r = CliRunner().invoke(main, ["train", *map(str, args), "--width", "16", "--heads", "2",
                                      "--layers", "1", "--device", "cpu", "--no-compile", "-q"])
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), (r.output, r.exception)  # no traceback
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
        return lines[0]

    (tmp_path / "empty").mkdir()
    assert "no *.h5 shards" in train_cli(tmp_path / "empty", "--out", tmp_path / "a")
    assert "batch-size must be at least 1, got 0" in train_cli(tiny, "--out", tmp_path / "b", "--batch-size", "0")
    assert "applies to generated networks only (no DATA), got 2" in train_cli(tiny, "--out", tmp_path / "d", "--pack", "2")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "checkpoint.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    line = train_cli(tiny, "--out", tmp_path / "c", "--resume", "--val", tiny, "--batch-size", "16")
    assert f"{tmp_path / 'c' / 'checkpoint.pt'}: not a readable checkpoint" in line


def test_resuming_a_finished_run_changes_nothing(tiny, tmp_path):
    mc = ModelConfig(task="quanti", **TINY)
    first = train(_tc(tiny, tmp_path, max_steps=12), mc, progress=False)
    metrics = (tmp_path / "metrics.jsonl").read_text()
    weights = torch.load(tmp_path / "model.pt", weights_only=True)["model"]
    again = train(_tc(tiny, tmp_path, max_steps=12), mc, resume=True, progress=False)
    assert again == first and (tmp_path / "metrics.jsonl").read_text() == metrics
    assert len(_train_losses(tmp_path)[1]) == 1  # one validation row, not two
    for k, v in torch.load(tmp_path / "model.pt", weights_only=True)["model"].items():
        assert torch.equal(v, weights[k]), k


def test_flux_model_iterates_longer_when_asked(shards, tmp_path):
    """`metabnet eval --iters-extra`: the same weights, more iterations of the tied step."""
    mc = ModelConfig(arch="flux", task="quanti", d_model=16)
    model = init_weights(build(mc))
    torch.save({"model_config": mc.to_dict(), "model": model.state_dict()}, tmp_path / "model.pt")
    index = ShardIndex(shards)
    b = index.read(0, 0, 6)
    index.close()
    short, _ = load_model(tmp_path / "model.pt")
    long, _ = load_model(tmp_path / "model.pt", iters_extra=40)
    assert short.config.iters_extra == 8 and long.config.iters_extra == 40
    assert long.iterations(50) == 90 and short.iterations(50) == 58
    t = to_device(ARCHS["flux"].arrays(b, "quanti"), "cpu")
    with torch.no_grad():
        a, c = short(t)["log_x"], long(t)["log_x"]
    assert torch.isfinite(c).all() and not torch.allclose(a, c)
    res = CliRunner().invoke(main, ["eval", "--model", str(tmp_path / "model.pt"), str(shards), "--limit", "20",
                                    "--iters-extra", "40"])
    assert res.exit_code == 0, res.output


def test_seq2seq_refuses_a_mixture_it_cannot_read_before_training():
    """seq2seq's tokens hold linear networks with integer rates: a Michaelis-Menten or
    log-uniform component is refused up front, naming it, not minutes into the run."""
    from metabnet.learn.train import check_readable

    ok = [GenConfig(family="erdos", size="S")]
    check_readable("seq2seq", ok, True, seed=0)
    for bad in (GenConfig(kinetics="michaelis-menten"), GenConfig(weights="log-uniform")):
        with pytest.raises(ValueError, match=f"seq2seq cannot read .*{bad.kinetics}/{bad.weights}"):
            check_readable("seq2seq", ok + [bad], True, seed=0)
    check_readable("transformer", [GenConfig(kinetics="michaelis-menten")], True, seed=0)
