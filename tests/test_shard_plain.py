"""Self-describing shards (issue 22): `gen --compression gzip|none` shards open in plain h5py
with no hdf5plugin (as R, Julia or MATLAB would read them), every dataset says what it holds,
and every field round-trips whatever the compression."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from metabnet.cli.main import main
from metabnet.gen.config import GenConfig
from metabnet.gen.dataset import Plan, run
from metabnet.gen.driver import generate
from metabnet.gen.shard import DESCRIPTIONS, read_shard, storage_dtypes

MM = GenConfig(kinetics="michaelis-menten", intake_scale=0.05)  # edge_km and float rates stored too

# plain h5py in a fresh interpreter: reads every dataset whole, fails if hdf5plugin was imported
PLAIN = """
import json, sys, h5py
f = h5py.File(sys.argv[1], "r")
out = {k: {"values": f[k][()].tolist(), "description": f[k].attrs.get("description"),
           "units": f[k].attrs.get("units")} for k in f}
assert "hdf5plugin" not in sys.modules and "metabnet" not in sys.modules
print(json.dumps(out))
"""


def plain_h5py(path, tmp_path):
    """What plain h5py reads from the shard at `path`, with no HDF5 plugin directory."""
    empty = tmp_path / "no-plugins"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "HDF5_PLUGIN_PATH": str(empty)}
    return subprocess.run([sys.executable, "-c", PLAIN, str(path)], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("compression", ["gzip", "none"])
@pytest.mark.parametrize("cfg", [GenConfig(), MM], ids=["linear", "mm"])
def test_gzip_and_none_shards_open_in_plain_h5py_and_describe_every_dataset(tmp_path, compression, cfg):
    run(Plan(tmp_path / compression, cfg, 300, seed=4, compression=compression), progress=False)
    path = tmp_path / compression / "shard-00000.h5"
    r = plain_h5py(path, tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want = generate(cfg, 300, seed=4, shard=0)
    assert set(got) == set(storage_dtypes(cfg))
    for k, d in got.items():
        assert d["description"] == DESCRIPTIONS[k][0] and len(d["description"]) > 10, k
        assert d["units"] == DESCRIPTIONS[k][1], k
        np.testing.assert_array_equal(np.array(d["values"], dtype=storage_dtypes(cfg)[k]),
                                      want[k].astype(storage_dtypes(cfg)[k]), err_msg=k)
    assert got["x"]["units"] == "concentration" and got["n"]["units"] is None
    with h5py.File(path) as f:
        want_filters = {"gzip": {"shuffle": (1,), "gzip": 1}, "none": {}}[compression]
        assert {k: v for k, v in f["edge_src"]._filters.items()} == want_filters


def test_the_default_zstd_shard_needs_the_plugin(tmp_path):
    """The check above can fail: plain h5py cannot read the default (Zstandard) shard."""
    run(Plan(tmp_path / "z", GenConfig(), 100, seed=4), progress=False)
    r = plain_h5py(tmp_path / "z" / "shard-00000.h5", tmp_path)
    assert r.returncode != 0 and "plugin" in r.stderr, r.stderr


@pytest.mark.parametrize("compression", ["zstd", "gzip", "none"])
def test_every_field_round_trips_under_every_compression(tmp_path, compression):
    run(Plan(tmp_path, MM, 500, seed=6, batch_size=200, compression=compression), progress=False)
    got, cfg, attrs = read_shard(tmp_path / "shard-00000.h5")
    whole = generate(MM, 500, seed=6, shard=0)
    assert cfg == MM and attrs["count"] == 500
    for k in whole:
        np.testing.assert_array_equal(got[k], whole[k].astype(got[k].dtype), err_msg=k)


def test_gen_compression_option(tmp_path):
    r = CliRunner().invoke(main, ["gen", "-o", str(tmp_path / "g"), "--count", "50", "-q", "--compression", "gzip"])
    assert r.exit_code == 0, r.output
    with h5py.File(tmp_path / "g" / "shard-00000.h5") as f:
        assert "gzip" in f["edge_rate"]._filters and "32015" not in f["edge_rate"]._filters
    r = CliRunner().invoke(main, ["gen", "-o", str(tmp_path / "b"), "--compression", "lz4"])
    assert r.exit_code == 2 and "--compression" in r.output


def test_an_unknown_compression_is_refused():
    with pytest.raises(ValueError, match="unknown compression 'lz4'"):
        Plan("out", GenConfig(), 10, compression="lz4")
