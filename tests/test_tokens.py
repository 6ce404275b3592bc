"""The paper's token encoding: vocabulary, hand-worked floats, round trips, garbage in."""
import numpy as np
import pytest

from metabnet.fileio import FormatError
from metabnet.io.formats import read_token_json, write_token_json
from metabnet.network import Network, NetworkError
from metabnet.tokens import (TOKEN_ID, VOCAB, decode_float, decode_input, decode_output, encode_float,
                             encode_input, encode_output)
from test_formats import assert_same, random_network


def test_vocabulary():
    assert VOCAB[:21] == ["<s>", "</s>", "<pad>", "(", ")", *(f"<SPECIAL_{i}>" for i in range(10)),
                          "INT+", "INT-", "FLOAT+", "FLOAT-", ".", "10^"]
    assert VOCAB[21:31] == list("0123456789")
    assert VOCAB[31:] == [f"N{i}" for i in range(1000)] and len(VOCAB) == 1031
    assert all(TOKEN_ID[t] == i for i, t in enumerate(VOCAB)) and len(TOKEN_ID) == len(VOCAB)


GOLDEN_FLOATS = [  # value, precision, tokens (worked by hand)
    (0.0123, 3, "FLOAT+ 1 . 2 3 10^ INT- 2"),
    (0.0, 3, "FLOAT+ 0 . 0 0 10^ INT+ 0"),
    (-0.0, 3, "FLOAT+ 0 . 0 0 10^ INT+ 0"),
    (3.3333, 3, "FLOAT+ 3 . 3 3 10^ INT+ 0"),
    (-1234.5, 3, "FLOAT- 1 . 2 3 10^ INT+ 3"),
    (1.0, 3, "FLOAT+ 1 . 0 0 10^ INT+ 0"),
    (9.9996, 3, "FLOAT+ 1 . 0 0 10^ INT+ 1"),  # rounds up into the next decade
    (0.00999, 2, "FLOAT+ 1 . 0 10^ INT- 2"),
    (1e-12, 3, "FLOAT+ 1 . 0 0 10^ INT- 1 2"),
    (6.02e23, 4, "FLOAT+ 6 . 0 2 0 10^ INT+ 2 3"),
    (2.5, 1, "FLOAT+ 2 10^ INT+ 0"),  # exact tie: half to even
    (0.125, 2, "FLOAT+ 1 . 2 10^ INT- 1"),  # exact tie: half to even
    (0.135, 2, "FLOAT+ 1 . 4 10^ INT- 1"),  # 0.135 is 0.13500000000000000888 in binary
    (-7.77e-7, 3, "FLOAT- 7 . 7 7 10^ INT- 7"),
]


@pytest.mark.parametrize("x,precision,tokens", GOLDEN_FLOATS)
def test_golden_floats(x, precision, tokens):
    assert encode_float(x, precision) == tokens.split()
    assert decode_float(tokens.split()) == float(f"{x:.{precision - 1}e}")


def test_float_round_trip_and_errors():
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.standard_normal(500) * 10.0 ** rng.integers(-300, 300, 500), [5e-324, 1.7e308]])
    for x in xs:
        toks = encode_float(x)
        assert all(t in TOKEN_ID for t in toks)
        assert decode_float(toks) == float(f"{x:.2e}")
    for bad in [np.nan, np.inf, -np.inf]:
        with pytest.raises(ValueError):
            encode_float(bad)
    with pytest.raises(ValueError):
        encode_float(1.0, precision=0)


def test_encode_input_golden():
    # 0 -7-> 1 -3-> 2 -1-> out, plus 2 -2-> 1
    net = Network(2, [0, 1, 2, 2], [1, 2, 3, 1], [7, 3, 1, 2]).validate()
    assert encode_input(net) == "N2 N0 N1 N7 N1 N2 N3 N2 N3 N1 N2 N1 N2".split()
    assert encode_input(net, weighted=False) == "N2 N0 N1 N1 N2 N2 N3 N2 N1".split()
    assert_same(decode_input(encode_input(net)), net)
    unweighted = decode_input(encode_input(net, weighted=False))  # 8 tokens after N2: pairs
    np.testing.assert_array_equal(unweighted.rate, 1.0)


def test_encode_input_refuses():
    with pytest.raises(ValueError, match="not an integer"):
        encode_input(Network(1, [0, 1], [1, 2], [1.5, 1]))
    with pytest.raises(ValueError, match="not an integer"):
        encode_input(Network(1, [0, 1], [1, 2], [1000, 1]))
    with pytest.raises(ValueError, match="node ids"):
        encode_input(Network(999, [0, 999], [1, 1000], [1, 1]))
    with pytest.raises(ValueError, match="linear"):
        encode_input(Network(1, [0, 1], [1, 2], [1, 1], [np.nan, 1], "michaelis-menten"))
    big = Network(999, [0, 998], [1, 999], [1, 1]).validate()  # n = 999 without excretion fits
    assert decode_input(encode_input(big)).n == 999


@pytest.mark.parametrize("seed", range(40))
def test_input_round_trip(seed):
    rng = np.random.default_rng(seed)
    net = random_network(rng, "linear", integer=True, max_n=int(rng.choice([5, 60, 998])))
    assert_same(decode_input(encode_input(net)), net)
    assert_same(decode_input(" ".join(encode_input(net))), net)
    flat = decode_input(encode_input(net, weighted=False), weighted=False)
    np.testing.assert_array_equal(flat.src, net.src)
    np.testing.assert_array_equal(flat.rate, 1.0)


def test_decode_input_errors():
    with pytest.raises(ValueError, match="non-empty"):
        decode_input([])
    with pytest.raises(ValueError, match="not a node token"):
        decode_input("N2 N0 N1 5")
    with pytest.raises(ValueError, match="not a node token"):
        decode_input(["N2", "N1000", "N1"])
    with pytest.raises(ValueError, match="non-empty string or list of strings"):
        decode_input(["N2", 3])
    with pytest.raises(ValueError, match="whole"):
        decode_input("N2 N0 N1 N1 N1 N3 N1 N2", weighted=True)
    with pytest.raises(NetworkError, match="no intake"):
        decode_input("N2 N1 N2 N1 N2 N3 N1")


def test_output_golden_and_round_trip():
    assert encode_output(False) == ["N0"] and encode_output(False, [1.0]) == ["N0"]
    assert encode_output(True) == ["N1"]
    assert encode_output(True, [0.0123, -2]) == ("N1 <SPECIAL_3> FLOAT+ 1 . 2 3 10^ INT- 2 "
                                                 "<SPECIAL_3> FLOAT- 2 . 0 0 10^ INT+ 0").split()
    assert decode_output(["N0"]) == (0, None) and decode_output("N1") == (1, None)
    rng = np.random.default_rng(3)
    for _ in range(50):
        x = rng.lognormal(0, 5, rng.integers(1, 40))
        cls, got = decode_output(["<s>", *encode_output(True, x, 4), "</s>", "<pad>", "<pad>"])
        assert cls == 1 and got.dtype == np.float64
        np.testing.assert_array_equal(got, [float(f"{v:.3e}") for v in x])


@pytest.mark.parametrize("tokens,expected", [
    ([], (None, None)), ("", (None, None)), (None, (None, None)), (42, (None, None)),
    (["N2"], (None, None)), (["FLOAT+"], (None, None)), (["N1", 1], (None, None)),
    ("N0 <SPECIAL_3> FLOAT+ 1 10^ INT+ 0", (0, None)),
    ("N1 FLOAT+ 1 10^ INT+ 0", (1, None)),
    ("N1 <SPECIAL_3>", (1, None)),
    ("N1 <SPECIAL_3> FLOAT+ 1 10^ INT+", (1, None)),
    ("N1 <SPECIAL_3> FLOAT+ 1 . 10^ INT+ 0", (1, None)),
    ("N1 <SPECIAL_3> FLOAT+ 1 . 2 . 3 10^ INT+ 0", (1, None)),
    ("N1 <SPECIAL_3> FLOAT+ 10^ INT+ 0", (1, None)),
    ("N1 <SPECIAL_3> FLOAT+ 1 10^ INT+ 9 9 9", (1, None)),  # overflows: not a value
    ("N1 <SPECIAL_3> FLOAT+ 1 10^ N3 0", (1, None)),
    ("N1 <SPECIAL_3> FLOAT+ 1 10^ INT+ 0 <SPECIAL_3> <SPECIAL_3>", (1, None)),
])
def test_decode_output_malformed(tokens, expected):
    assert decode_output(tokens) == expected


@pytest.mark.parametrize("seed", range(200))
def test_decode_garbage_never_raises(seed):
    rng = np.random.default_rng(seed)
    junk = ["N1000", "", "x", " ", "1e5", "nan", "inf", "-", "N-1"]
    if seed % 2:  # a valid output, mutated a few times
        toks = encode_output(True, rng.lognormal(0, 20, rng.integers(1, 6)))
        for _ in range(rng.integers(1, 4)):
            i, op = int(rng.integers(len(toks) + 1)), rng.integers(3)
            tok = str(rng.choice(VOCAB[:40] + junk))
            if op == 0 and i < len(toks):
                del toks[i]
            elif op == 1:
                toks.insert(i, tok)
            elif i < len(toks):
                toks[i] = tok
    else:  # anything at all
        pool = VOCAB[:40] + ["N0", "N1", "N5"] + junk
        toks = [str(t) for t in rng.choice(pool, rng.integers(0, 30))]
    for candidate in (toks, " ".join(toks), toks + [None], [toks]):
        cls, values = decode_output(candidate)
        assert cls in (None, 0, 1)
        assert values is None or (values.dtype == np.float64 and np.all(np.isfinite(values)))
        try:
            decode_input(candidate)
        except ValueError:  # includes NetworkError: a clear refusal, never anything else
            pass


def test_token_json_file(tmp_path):
    path = tmp_path / "paper.json"
    path.write_text('{"data_input": [["N2 N0 N1 N3 N1 N2 N1 N2 N3 N4", "N1 <SPECIAL_3> FLOAT+ 1 . 5 0 10^ INT+ 0 '
                    '<SPECIAL_3> FLOAT+ 7 . 5 0 10^ INT- 1", "ex0"], '
                    '[["N1", "N0", "N1", "N2", "N1", "N2", "N1"], ["N0"], "ex1"], ["N1 N0 N1 N1 N2", ""]]}')
    (a, ca, xa, na), (b, cb, xb, nb), (c, cc, xc, nc) = read_token_json(path)
    assert (na, nb, nc) == ("ex0", "ex1", "paper#2") and (ca, cb, cc) == (1, 0, None)
    np.testing.assert_array_equal(xa, [1.5, 0.75])
    assert xb is None and xc is None
    assert (a.n, a.m, b.m, c.m) == (2, 3, 2, 2)
    np.testing.assert_array_equal(c.rate, 1.0)  # 4 tokens after N1: unweighted pairs
    np.testing.assert_array_equal(a.rate, [3, 1, 4])

    out = tmp_path / "again.json"
    write_token_json(out, [(a, ca, xa, na), (b, cb, xb, nb), (c, cc, xc, nc)])
    back = read_token_json(out)
    for (n1, c1, x1, m1), (n2, c2, x2, m2) in zip([(a, ca, xa, na), (b, cb, xb, nb), (c, cc, xc, nc)], back):
        assert_same(n1, n2)
        assert (c1, m1) == (c2, m2)
        assert (x1 is None and x2 is None) or np.array_equal(x1, x2)

    with pytest.raises(FormatError, match="example 0: network 'w': weight 2.5") as e:
        write_token_json(out, [(Network(1, [0, 1], [1, 2], [2.5, 1], name="w"), None, None, "w")])
    assert str(e.value).startswith(f"{out}: ")
