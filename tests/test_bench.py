"""`metabnet bench`: a smoke run of the solve section on a tiny count, and the report's schema.
(Speeds are not asserted: tests must not fail because the machine is busy.)"""
import json

from click.testing import CliRunner

from metabnet.bench.suite import BENCHES, exponents
from metabnet.cli.bench import SECTIONS
from metabnet.cli.main import main


def test_sections_match():
    assert tuple(BENCHES) == SECTIONS


def test_quick_solve_report(tmp_path):
    r = CliRunner().invoke(main, ["bench", "--quick", "--only", "solve", "--fraction", "0.02", "--device", "cpu",
                                  "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert set(rep) == {"machine", "settings", "sections"} and list(rep["sections"]) == ["solve"]
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
    md = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "## Exact solving" in md and "metabnet solve (direct)" in md and md in r.output


def test_exponents_fit_a_power_law():
    rows = [{"n": n, "gen_s": 2e-6 * n ** 1.5, "solve_s": 1e-5 * n} for n in (32, 100, 1000)]
    ex = exponents(rows)
    assert abs(ex["gen"] - 1.5) < 1e-9 and abs(ex["solve"] - 1.0) < 1e-9 and "infer" not in ex
