"""docs/network.schema.json, the JSON Schema of the network file (DESIGN §5), agrees with the
reader: every network metabnet writes is valid, and every object the schema refuses, the
reader refuses too."""
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from metabnet.gen import GenConfig, generate
from metabnet.io import read_networks, write_networks
from metabnet.fileio import FormatError

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "network.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

BAD = {
    "no n": {"edges": [[1, 2, 1.0]]},
    "n not an integer": {"n": 2.5},
    "unknown kinetics": {"n": 2, "kinetics": "hill"},
    "linear edge of 4": {"n": 2, "edges": [[1, 2, 1.0, 3.0]]},
    "Michaelis-Menten edge of 3": {"n": 2, "kinetics": "michaelis-menten", "edges": [[1, 2, 1.0]]},
    "zero rate": {"n": 2, "edges": [[1, 2, 0.0]]},
    "rate past 1e12": {"n": 2, "edges": [[1, 2, 1e13]]},
    "a string rate": {"n": 2, "intake": [[1, "1"]]},
    "name not a string": {"n": 1, "name": 3},
    "node past an integer": {"n": 2, "excretion": [[1.5, 1.0]]},
}


@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
def test_what_metabnet_writes_is_valid(tmp_path, kinetics):
    b = generate(GenConfig(size="custom", n_min=4, n_max=30, kinetics=kinetics, weights="log-uniform"), 40, seed=2)
    nets = [b.network(i, name=f"n{i}") for i in range(len(b))]
    write_networks(tmp_path / "all.jsonl", nets)
    for line in (tmp_path / "all.jsonl").read_text().splitlines():
        VALIDATOR.validate(json.loads(line))
    assert [n.name for n in read_networks(tmp_path / "all.jsonl")] == [n.name for n in nets]


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_reader_refuses_what_the_schema_refuses(tmp_path, case):
    obj = BAD[case]
    assert not VALIDATOR.is_valid(obj), case
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    with pytest.raises(FormatError):
        read_networks(tmp_path / "bad.json")


def test_the_schema_accepts_names_and_both_widths():
    ok = {"name": "toy", "kinetics": "michaelis-menten", "n": 2, "nodes": ["Glc", "G6P"],
          "edges": [[1, 2, 3.0, 0.5]], "intake": [[1, 1.0]], "excretion": [[2, 4.0, 0.2]],
          "reactions": ["hexokinase", "uptake", "export"]}
    VALIDATOR.validate(ok)
    VALIDATOR.validate({"n": 1, "intake": [[1, 1]], "excretion": [[1, 2]]})
    assert np.isfinite(SCHEMA["$defs"]["rate"]["maximum"])
