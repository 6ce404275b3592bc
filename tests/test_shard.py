"""HDF5 shards: every field round-trips, a killed run resumes, Dask tasks give the same bytes."""
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import metabnet.dataset as dataset
from metabnet.dataset import Plan, run
from metabnet.generate import GenConfig, generate
from metabnet.shard import FORMAT_VERSION, MAGIC, ShardError, ShardWriter, open_shard, read_shard


@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_round_trip_every_field(tmp_path, kinetics):
    cfg = GenConfig(kinetics=kinetics, weights="log-uniform", w_min=0.1, w_max=10, intake_scale=0.1)
    a = generate(cfg, 300, seed=3, shard=1)
    b = generate(cfg, 200, seed=3, shard=1, start=300)
    w = ShardWriter(tmp_path / "s.h5", cfg, 3, 1, 0)
    w.append(a)
    w.append(b)
    w.close()
    got, cfg2, attrs = read_shard(tmp_path / "s.h5")
    whole = generate(cfg, 500, seed=3, shard=1)
    assert cfg2 == cfg and attrs["count"] == 500 and attrs["magic"] == MAGIC
    assert attrs["format_version"] == FORMAT_VERSION and attrs["seed"] == 3 and attrs["shard"] == 1
    for k in whole:
        if k == "edge_km" and kinetics == "linear":
            assert np.isnan(got[k]).all()
            continue
        np.testing.assert_array_equal(got[k], whole[k].astype(got[k].dtype), err_msg=k)
    for i in (0, 299, 300, 499):
        assert got.network(i, kinetics).to_dict() == whole.network(i, kinetics).to_dict()


def test_node_values_only_for_bounded(tmp_path):
    b = generate(GenConfig(), 400, seed=1)
    lengths = np.diff(b["node_ptr"])
    np.testing.assert_array_equal(lengths, np.where(b["exists_bounded"], b["n"], 0))
    assert np.isfinite(b["x"]).all() and (b["x"] >= 0).all()


def test_not_a_shard(tmp_path):
    (tmp_path / "junk.h5").write_text("hello")
    with pytest.raises(ShardError, match="junk.h5"):
        open_shard(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["a"] = [1]
    with pytest.raises(ShardError, match="not a metabnet shard"):
        open_shard(tmp_path / "other.h5")


def _bytes(path):
    with h5py.File(path) as f:
        return {k: f[k][()].tobytes() for k in f}


def test_resume_after_kill(tmp_path, monkeypatch):
    cfg = GenConfig(size="custom", n_min=10, n_max=20)
    plan = Plan(tmp_path / "run", cfg, count=250, seed=9, shard_size=100, batch_size=40)
    reference = Plan(tmp_path / "ref", cfg, count=250, seed=9, shard_size=100, batch_size=40)
    run(reference, progress=False)

    real = dataset.generate
    calls = {"n": 0}

    def dying(*a, **k):  # killed during the 5th batch = inside the second shard
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(dataset, "generate", dying)
    with pytest.raises(KeyboardInterrupt):
        run(plan, progress=False)
    monkeypatch.setattr(dataset, "generate", real)
    done = sorted(p.name for p in plan.out.iterdir())
    assert done == ["metabnet.json", "shard-00000.h5"], done  # no half shard under a final name
    (plan.out / "shard-00001.h5.tmp").write_bytes(b"partial garbage from a SIGKILL")
    summary = run(plan, progress=False)
    assert summary["skipped_shards"] == 1 and summary["written_shards"] == 2
    assert summary["networks"] == 250
    assert not list(plan.out.glob("*.tmp"))
    for s in range(3):
        assert _bytes(plan.path(s)) == _bytes(reference.path(s))
    again = run(plan, progress=False)
    assert again["written_shards"] == 0 and again["generated"] == 0


def test_other_run_in_same_directory_is_refused(tmp_path):
    run(Plan(tmp_path, GenConfig(), count=10), progress=False)
    with pytest.raises(ValueError, match="another run"):
        run(Plan(tmp_path, GenConfig(family="small_world"), count=10), progress=False)
    assert json.loads((tmp_path / "metabnet.json").read_text())["config"]["family"] == "erdos"


def test_dask_local_cluster_gives_the_same_shards(tmp_path):
    distributed = pytest.importorskip("distributed")
    cfg = GenConfig(size="custom", n_min=10, n_max=20)
    local = Plan(tmp_path / "local", cfg, count=120, seed=2, shard_size=50)
    remote = Plan(tmp_path / "dask", cfg, count=120, seed=2, shard_size=50)
    run(local, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        summary = run(remote, scheduler=cluster.scheduler_address, progress=False)
    assert summary["written_shards"] == 3 and summary["networks"] == 120
    for s in range(3):
        assert _bytes(local.path(s)) == _bytes(remote.path(s))
