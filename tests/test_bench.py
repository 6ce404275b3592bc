"""`metabnet bench`: a smoke run of the solve section on a tiny count, and the report's schema.
(Speeds are not asserted: tests must not fail because the machine is busy.)"""
import json
import re

import numpy as np

from click.testing import CliRunner

from metabnet.bench import references as ref
from metabnet.bench.suite import AGREE, HEAVY_MIN, Settings, _networks, exponents, same_network_ratio
from metabnet.gen.config import GenConfig
from metabnet.metrics import rel_l1
from metabnet.solve import solve
from metabnet.cli.main import main


def test_quick_solve_report(tmp_path):
    r = CliRunner().invoke(main, ["bench", "--quick", "--only", "solve", "--fraction", "0.02", "--device", "cpu",
                                  "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert set(rep) == {"machine", "settings", "conditions", "sections"} and list(rep["sections"]) == ["solve"]
    c = rep["conditions"]
    assert {"date", "commit", "host", "load_avg", "load_avg_after"} <= set(c) and len(c["load_avg"]) == 3
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", c["commit"]) and c["date"].startswith("20")
    assert {"cpu", "cores", "gpu", "python", "versions"} <= set(rep["machine"])
    rows = rep["sections"]["solve"]["rows"]
    tools = {r["tool"] for r in rows}
    assert {"metabnet solve (direct)", "numpy.linalg.solve (dense LU)", "scipy spsolve (SuperLU)"} <= tools
    for row in rows:
        assert row["kinetics"] in ("linear", "michaelis-menten")
        if "missing" in row:  # an optional reference not installed: said, not failed
            assert "pip install" in row["missing"]
            continue
        assert row["networks"] >= 2 and row["per_s"] > 0
        if not row.get("batched"):
            assert 0 < row["median_us"] <= row["p99_us"] and 0 <= row["agree"] <= row["networks"]
    direct = [r for r in rows if r["tool"] == "metabnet solve (direct)"]
    assert all(r["agree"] == r["networks"] and r["vs_metabnet"] == 1.0 for r in direct)
    exact = [r for r in rows if r["tool"] in ("numpy.linalg.solve (dense LU)", "scipy spsolve (SuperLU)")]
    assert all(r["agree"] == r["networks"] for r in exact)  # independent exact solves agree with metabnet
    for row in rows:  # each ratio is taken against metabnet on the same networks
        if "vs_metabnet" in row:
            assert abs(row["vs_metabnet"] * row["metabnet_median_us"] / row["median_us"] - 1) < 1e-9, row
            assert row["ratio_q25"] <= row["ratio_q75"]
    mm = [r for r in rows if r["kinetics"] == "michaelis-menten"]
    assert any(r["tool"].startswith("scipy.optimize.root (hybr") for r in mm)
    root = next(r for r in mm if r["tool"].startswith("scipy.optimize.root"))
    assert root["agree"] >= root["networks"] // 2  # hybr from 0 fails on a few MM networks (~1 in 25)
    md = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "## Exact solving" in md and "metabnet solve (direct)" in md and md in r.output
    assert f"commit {c['commit']}" in md and "load average" in md and "scipy.optimize.root" in md


def test_exponents_fit_a_power_law():
    rows = [{"n": n, "gen_s": 2e-6 * n ** 1.5, "solve_s": 1e-5 * n} for n in (32, 100, 1000)]
    ex = exponents(rows)
    assert abs(ex["gen"] - 1.5) < 1e-9 and abs(ex["solve"] - 1.0) < 1e-9 and "infer" not in ex


def test_the_newton_type_comparator_agrees_with_metabnet_on_mm_networks():
    nets = _networks(GenConfig(kinetics="michaelis-menten", intake_scale=0.05), 25, seed=11)
    assert len(nets) == 25 and all(net.is_mm for net in nets)
    solved = 0
    for net in nets:
        try:
            x = ref.scipy_root(net)
        except RuntimeError:  # hybr from x = 0 does not always converge: bench counts it as not agreeing
            continue
        solved += 1
        assert rel_l1(solve(net)["x"], x) < AGREE, net.name  # what bench counts as agreeing
    assert solved >= 20, f"scipy.optimize.root converged on {solved} of 25"


def test_ratios_come_from_the_same_networks():
    metabnet_s = [1.0, 1.0, 1.0] + [100.0] * 97  # metabnet on all networks; the tool on the first 3
    r = same_network_ratio([2.0, 3.0, 4.0], metabnet_s)
    assert r["vs_metabnet"] == 3.0 and r["ratio_q25"] == 2.5 and r["ratio_q75"] == 3.5
    assert np.median(metabnet_s) == 100.0  # dividing by all networks' median would have said 0.03


def test_slow_tools_get_enough_networks_for_a_median_and_a_spread():
    assert Settings(quick=True).count(100, HEAVY_MIN) >= 30 and HEAVY_MIN >= 30
