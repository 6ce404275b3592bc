"""HDF5 shards: every field round-trips, a killed run resumes, Dask tasks give the same bytes."""
import json
import os
import re

import h5py
import numpy as np
import pytest

import metabnet.gen.dataset as dataset
from metabnet.gen.dataset import Plan, run
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.gen.shard import FORMAT_VERSION, MAGIC, ShardError, ShardWriter, open_shard, read_shard


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
        assert got.network(i).to_dict() == whole.network(i).to_dict()


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
    assert done == [dataset.LOCK, "metabnet.json", "shard-00000.h5"], done  # no half shard under a final name
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


def test_second_gen_into_a_locked_folder_is_refused(tmp_path):
    from click.testing import CliRunner

    from metabnet.cli.main import main

    with dataset._locked(tmp_path / "out"):  # as a running `gen` holds it
        r = CliRunner().invoke(main, ["gen", "--out", str(tmp_path / "out"), "--count", "5", "-q"])
    assert r.exit_code == 1, r.output
    assert r.output.strip() == f"Error: {tmp_path / 'out'} is in use by another metabnet gen (pid {os.getpid()})"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [dataset.LOCK]  # nothing touched
    r = CliRunner().invoke(main, ["gen", "--out", str(tmp_path / "out"), "--count", "5", "-q"])
    assert r.exit_code == 0, r.output  # released


def test_deleted_or_truncated_manifest(tmp_path):
    cfg = GenConfig(size="custom", n_min=5, n_max=9)
    run(Plan(tmp_path, cfg, count=30, seed=1, shard_size=20), progress=False)
    manifest = tmp_path / dataset.MANIFEST
    text = manifest.read_text()
    manifest.unlink()
    with pytest.raises(ValueError, match=r"shard-00000.h5: a shard of another run \(seed 1 \(this run: 2\)\)"):
        run(Plan(tmp_path, cfg, count=30, seed=2, shard_size=20), progress=False)
    with pytest.raises(ValueError, match=r"config differs in n_max"):
        run(Plan(tmp_path, GenConfig(size="custom", n_min=5, n_max=10), count=30, seed=1, shard_size=20),
            progress=False)
    again = run(Plan(tmp_path, cfg, count=30, seed=1, shard_size=20), progress=False)  # the same run: resumes
    assert again["skipped_shards"] == 2 and manifest.read_text() == text
    manifest.write_text(text[:len(text) // 2])
    with pytest.raises(ValueError) as e:
        run(Plan(tmp_path, cfg, count=30, seed=1, shard_size=20), progress=False)
    assert str(e.value).startswith(f"{manifest}: unreadable manifest")


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


# ---- a shard is not trusted: every field is checked before a value is used ------------------
def _edit(key, fn):
    def change(f, tmp):
        data = f[key][()]
        fn(data)
        f[key][...] = data
    return change


def _edge(key, net, value, offset=1):
    """Set the `offset`-th edge of network `net` in dataset `key` to `value`."""
    def change(f, tmp):
        f[key][int(f["edge_ptr"][net]) + offset] = value
    return change


def _external(f, tmp):
    """edge_rate re-made as HDF5 external storage: raw bytes of a file beside the shard."""
    secret = tmp / "secret.bin"
    secret.write_bytes(np.arange(f["edge_rate"].shape[0], dtype=np.float32).tobytes())
    n, dtype = f["edge_rate"].shape[0], np.float32
    del f["edge_rate"]
    f.create_dataset("edge_rate", shape=(n,), dtype=dtype, external=[(str(secret), 0, 4 * n)])


def _virtual(f, tmp):
    with h5py.File(tmp / "other.h5", "w") as g:
        g["edge_rate"] = f["edge_rate"][()]
    layout = h5py.VirtualLayout(shape=f["edge_rate"].shape, dtype=f["edge_rate"].dtype)
    layout[:] = h5py.VirtualSource(str(tmp / "other.h5"), "edge_rate", shape=f["edge_rate"].shape)
    del f["edge_rate"]
    f.create_virtual_dataset("edge_rate", layout)


def _link(f, tmp):
    with h5py.File(tmp / "other.h5", "w") as g:
        g["edge_rate"] = f["edge_rate"][()]
    del f["edge_rate"]
    f["edge_rate"] = h5py.ExternalLink(str(tmp / "other.h5"), "edge_rate")


def _put(**attrs):
    def change(f, tmp):
        f.attrs.update(attrs)
    return change


def _swap_ptr(p):
    p[3], p[4] = p[4], p[3]


TAMPER = {
    "external storage": (_external, "external storage"),
    "virtual dataset": (_virtual, "virtual storage"),
    "external link": (_link, "ExternalLink"),
    "negative rate": (_edge("edge_rate", 3, -2.0), "network 3: rate not positive"),
    "nan rate": (_edge("edge_rate", 5, np.nan), "network 5: rate not positive"),
    "zero K": (_edge("edge_km", 6, 0.0, 2), "network 6: Michaelis constant"),
    "non-monotone pointer": (_edit("edge_ptr", _swap_ptr), "'edge_ptr' is not 41 non-decreasing"),
    "node id": (_edge("edge_dst", 7, 200), "network 7: node id out of range"),
    "inner node count": (_edit("n", lambda a: a.__setitem__(2, 0)), "network 2: has no inner node"),
    "equilibrium": (_edit("x", lambda a: a.__setitem__(-1, -1.0)), "network 39: equilibrium not finite"),
    "label": (_edit("exists_bounded", lambda a: a.__setitem__(4, False)), "network 4: exists_unique without"),
    "x length": (_edit("node_ptr", lambda a: a.__setitem__(9, a[9] - 1)), "network 8: equilibrium of the wrong"),
    "missing dataset": (lambda f, tmp: f.__delitem__("residual"), "missing dataset(s) residual"),
    "missing km": (lambda f, tmp: f.__delitem__("edge_km"), "missing dataset(s) edge_km"),
    "garbage config": (_put(config="{not json"), "bad config attribute"),
    "bad config value": (_put(config='{"family": "lattice"}'), "unknown family"),
    "count": (_put(count=41), "holds 40 values for 41 networks"),
    "seed": (_put(seed="x"), "attribute 'seed'"),
    "version": (_put(format_version=7), "format version 7"),
}


@pytest.mark.parametrize("what", list(TAMPER))
def test_tampered_shard_gives_one_error_line_naming_it(tmp_path, what):
    from click.testing import CliRunner

    from metabnet.cli.main import main
    from metabnet.io.formats import FormatError, read_networks
    from metabnet.learn.loader import ShardIndex

    change, problem = TAMPER[what]
    cfg = GenConfig(size="custom", n_min=8, n_max=12, weights="log-uniform", w_min=0.5, w_max=5,
                    kinetics="michaelis-menten", intake_scale=0.05, balance="ratio", ratio=1.0)
    path = tmp_path / "s.h5"
    w = ShardWriter(path, cfg, 1, 0, 0)
    w.append(generate(cfg, 40, seed=1))
    w.close()
    read_shard(path)  # the untouched shard is fine
    with h5py.File(path, "r+") as f:
        change(f, tmp_path)
    with pytest.raises(ShardError) as e:
        read_shard(path)
    assert str(e.value).startswith(f"{path}: ") and problem in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(FormatError, match=re.escape(problem)):
        read_networks(path)
    with pytest.raises(ShardError, match="s.h5"):
        index = ShardIndex(path)
        index.read_all()
    r = CliRunner().invoke(main, ["export", str(path)])
    assert r.exit_code == 1 and r.output.strip().splitlines() == [f"Error: {e.value}"], r.output


def test_zstd_shards_read_by_plain_h5py_and_gzip_shards_still_read(tmp_path):
    import subprocess
    import sys

    cfg = GenConfig()
    a = generate(cfg, 300, seed=2)
    w = ShardWriter(tmp_path / "zstd.h5", cfg, 2, 0, 0)
    w.append(a)
    w.close()
    with h5py.File(tmp_path / "zstd.h5") as f:
        assert f["edge_src"]._filters == {"shuffle": (1,), "32015": (1,)}  # Zstandard level 1
    code = ("import hdf5plugin, h5py, sys; f = h5py.File(sys.argv[1]); "
            "print(int(f['edge_src'][()].astype('int64').sum()), int(f['n'][()].sum()))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "zstd.h5")], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [str(int(a["edge_src"].astype(np.int64).sum())), str(int(a["n"].sum()))]
    old = ShardWriter(tmp_path / "gzip.h5", cfg, 2, 0, 0, {"compression": "gzip", "compression_opts": 1,
                                                            "shuffle": True})
    old.append(a)
    old.close()
    got, _, _ = read_shard(tmp_path / "gzip.h5")
    for k in ("n", "edge_src", "edge_dst", "edge_rate", "x", "exists_unique"):
        np.testing.assert_array_equal(got[k], a[k].astype(got[k].dtype), err_msg=k)


# ---- declared sizes are checked against the file before anything is read (issue 21) --------
def _small_shard(path):
    cfg = GenConfig(size="custom", n_min=8, n_max=12)
    w = ShardWriter(path, cfg, 1, 0, 0)
    w.append(generate(cfg, 40, seed=1))
    w.close()


def _declare(name, length):
    """Replace dataset `name` by a compressed one that declares `length` values and stores none."""
    def change(f):
        dtype = f[name].dtype
        del f[name]
        f.create_dataset(name, shape=(length,), maxshape=(None,), dtype=dtype, chunks=(1 << 16,),
                         compression="gzip")
    return change


def _grow_count(f):
    for name in ("n", "exists_unique", "exists_bounded", "residual", "redeemed", "iterations", "attempts",
                 "flags", "edge_ptr", "node_ptr"):
        _declare(name, 10**9 + (name.endswith("_ptr")))(f)
    f.attrs["count"] = 10**9


@pytest.mark.parametrize("change, problem", [
    (_declare("x", 10**10), "dataset 'x' declares 10,000,000,000 values"),
    (_declare("edge_src", 5 * 10**9), "dataset 'edge_src' declares 5,000,000,000 values"),
    (_grow_count, "declares 1,000,000,000 values"),
    (lambda f: f.create_dataset("extra", data=np.zeros(3)), "unknown dataset 'extra'"),
], ids=["x", "edges", "count", "unknown"])
def test_a_shard_declaring_more_than_it_can_hold_is_refused(tmp_path, change, problem):
    from click.testing import CliRunner

    from metabnet.cli.main import main

    path = tmp_path / "bomb.h5"
    _small_shard(path)
    with h5py.File(path, "r+") as f:
        change(f)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(ShardError) as e:
        open_shard(path)
    assert str(e.value).startswith(f"{path}: ") and problem in str(e.value) and "\n" not in str(e.value)
    for command in (["info", str(path)], ["export", str(path)], ["solve", str(path)]):
        r = CliRunner().invoke(main, command)
        assert r.exit_code == 1 and problem in r.output, (command, r.output)


def test_a_slice_reads_only_its_networks(tmp_path, monkeypatch):
    path = tmp_path / "s.h5"
    _small_shard(path)
    whole, _, _ = read_shard(path)
    with open_shard(path) as shard:
        part = shard.read(10, 13)
        assert len(part) == 3 and part["edge_ptr"][0] == 0
        for i in range(3):
            assert part.network(i).to_dict() == whole.network(10 + i).to_dict()
        np.testing.assert_array_equal(part["x"], whole["x"][whole["node_ptr"][10]:whole["node_ptr"][13]])
        firsts = [a for a, _ in shard.slices()]
        assert firsts == [0]
        monkeypatch.setattr("metabnet.gen.shard.SLICE_EDGES", 100)  # slices of at most 100 edges
        sizes = [(a, len(b), int(b["edge_ptr"][-1])) for a, b in shard.slices()]
        assert sum(k for _, k, _ in sizes) == 40 and all(m <= 100 for _, _, m in sizes) and len(sizes) > 1
