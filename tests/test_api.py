"""The notebook API (metabnet.score.api, issue 22): the README example runs as it stands, the
functions give the commands' records, DataFrames are labelled by node names, and `import
metabnet` stays light."""
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import metabnet
from metabnet.score import api
from metabnet.score import knockout as ko
from metabnet.score import Scorer
from metabnet.solve import solve

README = Path(__file__).resolve().parents[1] / "README.md"
GLYCOLYSIS = "INTAKE\tglc\t1\nglc\tg6p\t2\ng6p\tf6p\t1.5\nf6p\tg6p\t0.5\ng6p\tpgl\t1\nf6p\tEXCRETION\t1\npgl\tEXCRETION\t0.8\n"


def readme_example() -> str:
    section = README.read_text(encoding="utf-8").split("### In a notebook: the Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def pathway(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "glycolysis.tsv").write_text(GLYCOLYSIS)
    return tmp_path / "glycolysis.tsv"


def test_the_readme_example_runs(pathway):
    pytest.importorskip("pandas")
    import matplotlib

    matplotlib.use("Agg")
    scope = {}
    exec(compile(readme_example(), "README.md", "exec"), scope)  # noqa: S102 - the documented example
    assert (pathway.parent / "knockouts.png").stat().st_size > 1000
    exact, fold, table = scope["exact"], scope["fold"], scope["table"]
    np.testing.assert_allclose(exact["x"], [0.5, 0.5, 0.5, 0.625])  # the values README states
    assert exact["nodes"] == ["glc", "g6p", "f6p", "pgl"] and list(fold.columns) == exact["nodes"]
    assert set(table.index[table["destroys"]]) == {"glc->g6p", "pgl->EXCRETION"}
    assert table.loc["g6p->f6p", "nodes_off"] == 1 and math.isnan(fold.loc["g6p->f6p", "f6p"])
    assert scope["predicted"][0]["method"] in ("model", "solver")


def test_the_functions_give_the_commands_records(pathway):
    net = metabnet.read_networks(pathway)[0]
    assert metabnet.read_networks(pathway.parent)[0].to_dict() == net.to_dict()  # a folder
    rec = metabnet.solve_networks(net)
    want = solve(net)
    assert rec == want
    assert metabnet.solve_networks([net, net]) == [rec, rec]
    assert metabnet.score_networks(net, model="solver")["x"] == Scorer().score([net])[0]["x"]
    kos = metabnet.knockouts(net)
    assert [r["reactions"] for r in kos] == [r["reactions"] for r in ko.run(net, Scorer())]
    assert len(kos) == net.m + 1 and kos[0]["knockout"] == []


def test_frames_use_names_when_present_and_node_numbers_otherwise(pathway):
    pd = pytest.importorskip("pandas")
    net = metabnet.read_networks(pathway)[0]
    named = metabnet.concentrations(metabnet.solve_networks([net]))
    assert list(named.columns) == ["glc", "g6p", "f6p", "pgl"] and list(named.index) == ["glycolysis"]
    bare = metabnet.Network(net.n, net.src, net.dst, net.rate, None, "linear", "bare")
    plain = metabnet.concentrations(metabnet.solve_networks([bare]))
    assert list(plain.columns) == ["1", "2", "3", "4"]
    np.testing.assert_allclose(plain.to_numpy(), named.to_numpy())
    keyed = {**solve(bare), "x": {"a": 1.0, "b": None}, "n": 2}  # x keyed by name (a later record form)
    got = metabnet.concentrations([keyed])
    assert list(got.columns) == ["a", "b"] and got.iloc[0, 0] == 1.0 and math.isnan(got.iloc[0, 1])
    frame = metabnet.to_frame(metabnet.knockouts(net))
    assert isinstance(frame, pd.DataFrame) and "x" not in frame and frame.loc["intact", "nodes_off"] == 0


def test_a_missing_pandas_is_one_clear_error(pathway, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(ImportError, match=r'pandas is needed for DataFrames: pip install "metabnet\[notebook\]"'):
        metabnet.to_frame([])


def test_import_metabnet_stays_light_until_a_function_is_used():
    code = ("import sys, metabnet; light = not {'numba', 'scipy', 'h5py', 'torch'} & set(sys.modules); "
            "f = metabnet.solve_networks; print(light, 'numba' in sys.modules, f.__module__, "
            "sorted(set(metabnet.API) - set(dir(metabnet))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "metabnet.score.api", "[]"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        metabnet.nothing  # noqa: B018
    assert all(getattr(metabnet, name) is getattr(api, name) for name in metabnet.API)
