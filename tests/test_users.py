"""What users of the CLI meet (issue 22): bad option combinations end in one line naming the
problem, and leave nothing behind."""
from click.testing import CliRunner

from metabnet.cli.main import main


def test_gen_custom_size_needs_a_node_range(tmp_path):
    out = tmp_path / "data"
    for args in (["--size", "custom"], ["--n-min", "1", "--n-max", "1"]):
        r = CliRunner().invoke(main, ["gen", "--out", str(out), "--count", "10", "-q", *args])
        assert r.exit_code == 1 and r.output.startswith("Error: ") and len(r.output.splitlines()) == 1, r.output
        assert "n_min" in r.output or "at least 2 inner nodes" in r.output, r.output
        assert not out.exists(), "a refused run leaves no folder or manifest"
