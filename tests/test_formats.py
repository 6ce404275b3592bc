"""Network files: round trips of every format and a one-line error for every kind of bad file."""
import json
import pickle

import numpy as np
import pytest

from metabnet.fileio import FormatError
from metabnet.io.formats import iter_network_files, read_networks, write_networks
from metabnet.network import Network

SEEDS = range(40)


def random_network(rng, kinetics=None, integer=None, max_n=12, name="") -> Network:
    """Intake, inner and excretion edges in the order `Network.from_dict` rebuilds them;
    every inner node is on some edge (so a TSV keeps n)."""
    n = int(rng.integers(1, max_n + 1))
    kinetics = kinetics or str(rng.choice(["linear", "michaelis-menten"]))
    integer = bool(rng.integers(2)) if integer is None else integer
    intake = [(0, int(v)) for v in rng.integers(1, n + 1, size=rng.integers(1, 3))]
    inner = [tuple(map(int, e)) for e in rng.integers(1, n + 1, size=(rng.integers(0, 3 * n + 1), 2))]
    seen = {v for e in intake + inner for v in e}
    exc = [(int(u), n + 1) for u in rng.integers(1, n + 1, size=rng.integers(0, 3))]
    exc += [(u, n + 1) for u in range(1, n + 1) if u not in seen and (u, n + 1) not in exc]
    edges = np.array(intake + inner + exc, dtype=np.int32).reshape(-1, 2)
    m = len(edges)
    rate = rng.integers(1, 100, m).astype(float) if integer else 10 ** rng.uniform(-3, 3, m)
    km = None
    if kinetics == "michaelis-menten":
        km = np.where(edges[:, 0] == 0, np.nan, 10 ** rng.uniform(-2, 2, m))
    return Network(n, edges[:, 0], edges[:, 1], rate, km, kinetics, name).validate()


def assert_same(a: Network, b: Network):
    assert (a.n, a.kinetics, a.name) == (b.n, b.kinetics, b.name)
    np.testing.assert_array_equal(a.src, b.src)
    np.testing.assert_array_equal(a.dst, b.dst)
    np.testing.assert_array_equal(a.rate, b.rate)  # exact: floats are written at repr precision
    np.testing.assert_array_equal(a.km_or_nan(), b.km_or_nan())


def relabel_by_first_appearance(net: Network) -> tuple[Network, list[str]]:
    order = {}
    for u, v in zip(net.src.tolist(), net.dst.tolist()):
        for x in (u, v):
            if 1 <= x <= net.n:
                order.setdefault(x, len(order) + 1)
    perm = np.arange(net.n + 2)
    for old, new in order.items():
        perm[old] = new
    return (Network(net.n, perm[net.src], perm[net.dst], net.rate, net.km, net.kinetics, net.name),
            [str(x) for x in order])


# ---- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_json_round_trip(tmp_path, seed):
    net = random_network(np.random.default_rng(seed), name=f"net{seed}")
    path = tmp_path / "one.json"
    write_networks(path, net)
    (back,) = read_networks(path)
    assert_same(net, back)
    assert back.meta["file"] == str(path)


def test_jsonl_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    nets = [random_network(rng, name=f"n{i}") for i in range(60)]
    path = tmp_path / "many.jsonl"
    write_networks(path, nets)
    back = read_networks(path)
    assert len(back) == len(nets)
    for a, b in zip(nets, back):
        assert_same(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_tsv_round_trip(tmp_path, seed):
    net = random_network(np.random.default_rng(seed), name="graph")
    path = tmp_path / "graph.tsv"
    write_networks(path, net)
    (back,) = read_networks(path)
    want, names = relabel_by_first_appearance(net)
    assert_same(want, back)
    assert back.meta["nodes"] == names
    # written TSV is first-appearance numbered already: a second round trip is the identity
    write_networks(path, back)
    assert_same(back, read_networks(path)[0])


@pytest.mark.parametrize("seed", SEEDS)
def test_token_json_round_trip(tmp_path, seed):
    rng = np.random.default_rng(seed)
    nets = [random_network(rng, "linear", integer=True, name=f"g{i}") for i in range(5)]
    nets[1].meta.update(exists_unique=False)
    nets[2].meta.update(exists_unique=True)
    x = 10 ** rng.uniform(-5, 5, nets[3].n)
    nets[3].meta.update(exists_unique=True, x=x)
    path = tmp_path / "set.tokens.json"
    write_networks(path, nets)
    back = read_networks(path)
    for a, b in zip(nets, back):
        assert_same(a, b)
    assert [b.meta["exists_unique"] for b in back] == [None, False, True, True, None]
    np.testing.assert_allclose(back[3].meta["x"], x, rtol=5e-3)
    assert back[2].meta["x"] is None


def test_read_defaults_and_tsv_dialects(tmp_path):
    body = {"n": 1, "intake": [[1, 2]], "excretion": [[1, 0.5]]}
    (tmp_path / "plain.json").write_text(json.dumps(body))
    assert read_networks(tmp_path / "plain.json")[0].name == "plain"
    (tmp_path / "lines.jsonl").write_text("\n" + json.dumps(body) + "\n\n" + json.dumps({**body, "name": "b"}) + "\n")
    assert [net.name for net in read_networks(tmp_path / "lines.jsonl")] == ["lines#2", "b"]

    (tmp_path / "mm.tsv").write_text(
        "# glycolysis, sort of\nsrc dst rate K\nINTAKE  glucose 2\nglucose g6p 5 1.5\n42\tEXCRETION\t3\t0.25\n"
        "g6p 42 1e-3 7\n")
    (net,) = read_networks(tmp_path / "mm.tsv")
    assert (net.n, net.kinetics, net.name) == (3, "michaelis-menten", "mm")
    assert net.meta["nodes"] == ["glucose", "g6p", "42"]
    np.testing.assert_array_equal(net.src, [0, 1, 3, 2])
    np.testing.assert_array_equal(net.dst, [1, 2, 4, 3])
    np.testing.assert_array_equal(net.rate, [2, 5, 3, 1e-3])
    np.testing.assert_array_equal(net.km, [np.nan, 1.5, 0.25, 7])

    (tmp_path / "tabs.tsv").write_text("src\tdst\trate\nINTAKE\tD-glucose 6-phosphate\t1\nD-glucose 6-phosphate\tEXCRETION\t1\n")
    (net,) = read_networks(tmp_path / "tabs.tsv")
    assert net.kinetics == "linear" and net.meta["nodes"] == ["D-glucose 6-phosphate"]


def test_iter_network_files(tmp_path):
    for rel in ["b.json", "a/x.jsonl", "a/deep/y.TSV", "a/z.sbml", "a/notes.txt", "a/.hidden/h.json", "c.xml"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    got = iter_network_files([tmp_path / "a", tmp_path / "b.json", tmp_path / "a" / "x.jsonl",
                              tmp_path / "a" / "notes.txt", str(tmp_path / "a")])
    want = ["a/deep/y.TSV", "a/notes.txt", "a/x.jsonl", "a/z.sbml", "b.json"]
    assert got == sorted(tmp_path / w for w in want)
    assert iter_network_files(tmp_path) == sorted(tmp_path / w for w in [*want[:1], *want[2:], "c.xml"])


def test_write_errors(tmp_path):
    rng = np.random.default_rng(0)
    two = [random_network(rng) for _ in range(2)]
    float_rates = random_network(rng, "linear", integer=False)
    bad = Network(1, [0], [1], [np.nan])
    cases = [("one.json", two, "exactly one"), ("one.tsv", two, "exactly one"), ("x.csv", two, "cannot write"),
             ("e.jsonl", [], "no network"), ("t.tokens.json", [float_rates], "not an integer"),
             ("nan.jsonl", [bad], "not finite"), ("missing/dir/a.json", two[:1], "cannot write file")]
    for name, nets, problem in cases:
        with pytest.raises(FormatError) as e:
            write_networks(tmp_path / name, nets)
        assert problem in str(e.value) and "\n" not in str(e.value) and name in str(e.value)
    assert not list((tmp_path).glob("*.json"))


# ---- bad files -----------------------------------------------------------------------------
GOOD = {"n": 2, "edges": [[1, 2, 1]], "intake": [[1, 1]], "excretion": [[2, 1]]}
BAD = [  # file name, content, words in the problem, line number or None
    ("malformed.json", '{"n": 2,', "malformed JSON", None),
    ("list.json", "[1, 2]", "expected a JSON object", None),
    ("missing_n.json", '{"intake": [[1, 1]]}', "missing field 'n'", None),
    ("short_row.json", '{"n": 2, "edges": [[1, 2]], "intake": [[1, 1]]}', "edges[0]", None),
    ("negative.json", json.dumps({**GOOD, "edges": [[1, 2, -1]]}), "must be positive", None),
    ("zero.json", json.dumps({**GOOD, "intake": [[1, 0]]}), "must be positive", None),
    ("nan.json", '{"n": 1, "intake": [[1, NaN]], "excretion": [[1, 1]]}', "not finite", None),
    ("inf.json", '{"n": 1, "intake": [[1, Infinity]], "excretion": [[1, 1]]}', "not finite", None),
    ("unknown_node.json", json.dumps({**GOOD, "edges": [[1, 5, 1]]}), "unknown node", None),
    ("node_zero_dst.json", json.dumps({**GOOD, "intake": [[0, 1]]}), "unknown node", None),
    ("node_negative.json", json.dumps({**GOOD, "edges": [[-1, 2, 1]]}), "unknown node", None),
    ("node_nan.json", '{"n": 2, "edges": [[NaN, 2, 1]], "intake": [[1, 1]]}', "invalid node id", None),
    ("node_huge.json", json.dumps({**GOOD, "edges": [[2**40, 2, 1]]}), "invalid node id", None),
    ("no_intake.json", json.dumps({**GOOD, "intake": []}), "no intake", None),
    ("mm_no_k.json", json.dumps({**GOOD, "kinetics": "michaelis-menten"}), "edges[0]", None),
    ("empty.json", "", "file is empty", None),
    ("blank.jsonl", "\n  \n", "file is empty", None),
    ("bad_line.jsonl", json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + '\n{"n": 2, \n', "malformed JSON", 4),
    ("bad_rate_line.jsonl", json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "excretion": [[2, -3]]}),
     "must be positive", 2),
    ("wrong_type.jsonl", "3\n", "expected a JSON object", 1),
    ("empty.tsv", "", "file is empty", None),
    ("header_only.tsv", "# nothing\nsrc\tdst\trate\n", "no reactions", None),
    ("columns.tsv", "INTAKE\ta\t1\na\tb\n", "got 2", 2),
    ("five_columns.tsv", "INTAKE a 1\na b 1 2 3\n", "got 5", 2),
    ("empty_column.tsv", "INTAKE\ta\t1\na\t\t1\n", "empty", 2),
    ("text_rate.tsv", "src dst rate\nINTAKE a fast\n", "'fast' is not a number", 2),
    ("negative.tsv", "INTAKE a 1\na EXCRETION -2\n", "must be positive", 2),
    ("zero.tsv", "INTAKE a 0\n", "must be positive", 1),
    ("nan.tsv", "INTAKE a nan\n", "not finite", 1),
    ("inf.tsv", "INTAKE a 1\na b inf\n", "not finite", 2),
    ("bad_k.tsv", "INTAKE a 1\na b 1 -1\n", "K must be positive", 2),
    ("missing_k.tsv", "INTAKE a 1\na b 1 2\nb EXCRETION 1\n", "no K", 3),
    ("backwards.tsv", "INTAKE a 1\nEXCRETION a 1\n", "nothing leaves EXCRETION", 2),
    ("straight.tsv", "INTAKE EXCRETION 1\n", "straight from INTAKE to EXCRETION", 1),
    ("no_intake.tsv", "a EXCRETION 1\n", "no intake", None),
    ("model.xml", "<sbml/>", "SBML", None),
    ("model.sbml", "<sbml/>", "SBML", None),
    ("notes.txt", "hello", "unknown file type", None),
    ("tok_shape.json", '{"data_input": {"a": 1}}', "data_input", None),
    ("tok_empty.json", '{"data_input": []}', "no examples", None),
    ("tok_row.json", '{"data_input": [["N1 N0 N1 N1 N1 N2 N1"]]}', "data_input[0] must be", None),
    ("tok_input.json", '{"data_input": [["N1 N0 N1 N1 N1 N2 N1", "N0", "a"], ["N1 N0 FLOAT+", "N0", "b"]]}',
     "data_input[1]: input token 2", None),
    ("tok_count.json", '{"data_input": [["N1 N0 N1 N1 N1 N2", "N0", "a"]]}', "do not make whole", None),
    ("tok_node.json", '{"data_input": [["N1 N0 N1 N1 N1 N3 N1", "N0", "a"]]}', "unknown node", None),
    ("tok_output.json", '{"data_input": [["N1 N0 N1 N1 N1 N2 N1", "N1 <SPECIAL_3> FLOAT+ 1", "a"]]}',
     "malformed output", None),
    ("tok_values.json",
     '{"data_input": [["N1 N0 N1 N1 N1 N2 N1", "N1 <SPECIAL_3> FLOAT+ 1 10^ INT+ 0 <SPECIAL_3> FLOAT+ 1 10^ INT+ 0"]]}',
     "2 output values for 1 inner nodes", None),
    ("tok_name.json", '{"data_input": [["N1 N0 N1 N1 N1 N2 N1", "N0", [1]]]}', "name", None),
]


@pytest.mark.parametrize("name,content,problem,line", BAD, ids=[b[0] for b in BAD])
def test_bad_file(tmp_path, name, content, problem, line):
    check_bad_file(tmp_path / name, content, problem, line)


def check_bad_file(path, content, problem, line=None):
    """Reading `content` from `path` raises one FormatError line, `path[:line]: ...problem...`;
    returns the error."""
    path.write_text(content)
    with pytest.raises(FormatError) as info:
        read_networks(path)
    e = info.value
    where = str(path) if line is None else f"{path}:{line}"
    assert str(e).startswith(where + ": ") and "\n" not in str(e), str(e)
    assert problem in e.problem and (e.path, e.line) == (str(path), line), str(e)
    assert str(pickle.loads(pickle.dumps(e))) == str(e)
    return e


def test_unreadable_files(tmp_path):
    (tmp_path / "folder.json").mkdir()
    (tmp_path / "binary.tsv").write_bytes(b"\x80\xfe\x00garbage")  # \xff\xfe would be a UTF-16 byte-order mark
    for name, problem in [("missing.json", "cannot read file"), ("folder.json", "cannot read file"),
                          ("binary.tsv", "not a UTF-8")]:
        with pytest.raises(FormatError, match=problem) as e:
            read_networks(tmp_path / name)
        assert str(e.value).startswith(f"{tmp_path / name}: ")
