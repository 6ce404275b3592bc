"""The Numba tokenizer (kernels/tokenize.py) against the pure-Python reference, row by row."""
import numba
import numpy as np
import pytest

from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.kernels.tokenize import decode_outputs, encode_inputs, encode_outputs
from metabnet.tokens import TOKEN_ID, VOCAB, decode_output, encode_float, encode_input, encode_output

PAD = TOKEN_ID["<pad>"]


def ref_rows(rows, width):
    """Reference token lists framed by <s> ... </s> as padded ids, plus lengths."""
    ids = [[TOKEN_ID[t] for t in ["<s>", *r, "</s>"]] for r in rows]
    out = np.full((len(ids), width), PAD, np.int32)
    for i, r in enumerate(ids):
        out[i, :len(r)] = r
    return out, np.array([len(r) for r in ids], np.int32)


def assert_rows(tokens, lengths, rows):
    want, want_len = ref_rows(rows, tokens.shape[1])
    assert tokens.dtype == np.int32 and lengths.dtype == np.int32
    assert tokens.shape[1] == want_len.max(initial=0)
    bad = np.flatnonzero((tokens != want).any(axis=1) | (lengths != want_len))
    assert not bad.size, f"row {bad[0]}: {[VOCAB[t] for t in tokens[bad[0]]]} != {rows[bad[0]]}"


def assert_decoded(tokens, lengths=None):
    cls, values, count = decode_outputs(tokens, lengths)
    assert cls.dtype == np.int8 and values.dtype == np.float64 and count.dtype == np.int32
    assert values.shape == (len(tokens), count.max(initial=0))
    for i, row in enumerate(tokens.tolist()):
        row = row if lengths is None else row[:lengths[i]]
        c, v = decode_output([VOCAB[t] if 0 <= t < len(VOCAB) else "<unk>" for t in row])
        assert cls[i] == (-1 if c is None else c), (i, row)
        assert count[i] == (0 if v is None else len(v)), (i, row)
        assert np.isnan(values[i, count[i]:]).all()
        if v is not None:  # bit for bit, -0.0 included
            assert values[i, :count[i]].view(np.int64).tolist() == v.view(np.int64).tolist(), (i, row)


BATCHES = [(fam, size, w, seed) for fam in ("erdos", "scale_free") for size in ("S", "M")
           for w in ("integer", "unweighted") for seed in (1, 2)]


@pytest.fixture(scope="module", params=BATCHES, ids=lambda p: "-".join(map(str, p)))
def batch(request):
    fam, size, w, seed = request.param
    return generate(GenConfig(family=fam, size=size, weights=w), 60, seed=seed)


@pytest.mark.parametrize("weighted", [True, False])
def test_inputs_match_reference(batch, weighted):
    tokens, lengths = encode_inputs(batch["n"], batch["edge_ptr"], batch["edge_src"], batch["edge_dst"],
                                    batch["edge_rate"], weighted)
    assert_rows(tokens, lengths, [encode_input(batch.network(i), weighted) for i in range(len(batch))])


def test_inputs_any_dtypes(batch):
    ref = encode_inputs(batch["n"], batch["edge_ptr"], batch["edge_src"], batch["edge_dst"], batch["edge_rate"])
    for node, rate in ((np.uint16, np.float32), (np.int32, np.float64)):
        got = encode_inputs(batch["n"].astype(np.int64), batch["edge_ptr"], batch["edge_src"].astype(node),
                            batch["edge_dst"].astype(node), batch["edge_rate"].astype(rate))
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])


@pytest.mark.parametrize("label", ["exists_unique", "exists_bounded"])
def test_outputs_match_reference_and_decode(batch, label):
    exists = batch[label]
    for quantitative, precision in ((False, 3), (True, 1), (True, 3), (True, 5)):
        tokens, lengths = encode_outputs(exists, batch["n"], batch["node_ptr"], batch["x"], quantitative, precision)
        assert_rows(tokens, lengths, [encode_output(bool(exists[i]), batch.x(i) if quantitative else None,
                                                    precision) for i in range(len(batch))])
        assert_decoded(tokens, lengths)


def float_rows(x, precision):
    """Each value its own one-node network."""
    x = np.asarray(x, np.float64)
    return encode_outputs(np.ones(len(x), bool), np.ones(len(x), np.int32), np.arange(len(x) + 1), x,
                          True, precision)


TIES = [0.125, 0.135, 9.9995, 9.9996, 1.005, 2.5e-5, 99.95, 5e-324, 2.5, 0.5, 1.5, 1e22, 1e23, 9.5,
        0.0, -0.0, 1.0, 5e-310, 2.2250738585072014e-308, 1.7976931348623157e308, 999.5, 1e-300, 1e300]


def test_floats_match_reference():
    rng = np.random.default_rng(7)
    rand = 10.0 ** rng.uniform(-300, 300, 3000) * rng.choice([-1, 1], 3000)
    near = [float(f"{rng.integers(1, 10)}.{rng.integers(0, 10 ** 5):05d}5e{rng.integers(-30, 30)}")
            for _ in range(2000)]  # decimal ties that are not exact in binary
    dyadic = rng.integers(1, 10 ** 6, 1000) / 2.0 ** rng.integers(0, 12, 1000)  # exact binary ties
    x = np.concatenate([TIES, np.negative(TIES), rand, near, dyadic, rng.uniform(0, 10, 500)])
    for precision in (1, 2, 3, 4, 5, 17):
        tokens, lengths = float_rows(x, precision)
        assert_rows(tokens, lengths, [["N1", "<SPECIAL_3>", *encode_float(v, precision)] for v in x])
        assert_decoded(tokens, lengths)


def test_decoded_values_round_trip():
    x = np.array([0.0123, 3.3333, -1234.5, 6.02e23, 1e-12, 0.0, 9.9996])
    cls, values, count = decode_outputs(*float_rows(x, 3))
    assert cls.tolist() == [1] * 7 and count.tolist() == [1] * 7
    assert values[:, 0].tolist() == [0.0123, 3.33, -1230.0, 6.02e23, 1e-12, 0.0, 10.0]


def test_decode_fuzz():
    rng = np.random.default_rng(11)
    b = generate(GenConfig(), 40, seed=5)
    good, lengths = encode_outputs(b["exists_unique"], b["n"], b["node_ptr"], b["x"], True)
    rows, lens = [], []
    for _ in range(40):  # mutated valid sequences
        t = good.copy()
        idx = rng.integers(0, t.size, 3 * len(t))
        t.flat[idx] = rng.choice([*range(32), 1031, -7, 2 ** 31 - 1], len(idx))
        rows.append(t)
        lens.append(rng.integers(0, t.shape[1] + 1, len(t)))
    short = rng.choice(np.r_[0:33, 1031, -1], (4000, 24))  # random sequences of relevant ids
    short[:, 0] = rng.choice([0, 31, 32, 32, 32], 4000)
    short[:, 1:] = np.where(rng.random((4000, 23)) < 0.15, TOKEN_ID["<SPECIAL_3>"], short[:, 1:])
    assert_decoded(short)
    t = random_float_rows(rng, 3000, values=2)  # one mutation in half the rows, no <s> in some
    hit = rng.random(len(t)) < 0.5
    t[hit, rng.integers(0, t.shape[1], hit.sum())] = rng.choice([*range(33), 1031, -1], hit.sum())
    t[rng.random(len(t)) < 0.2, 0] = 31 + rng.integers(0, 3)
    assert_decoded(t, rng.integers(t.shape[1] // 2, t.shape[1] + 1, len(t)))
    assert_decoded(np.concatenate(rows), np.concatenate(lens))
    assert_decoded(rng.integers(-5, 1100, (300, 40)))
    assert_decoded(np.zeros((3, 0), np.int64))
    assert_decoded(rng.integers(0, 40, (50, 30), dtype=np.uint8))


def random_float_rows(rng, count, values=3):
    """Well-formed outputs with 1..21-digit mantissas and 1..4-digit exponents, as token ids."""
    rows = []
    for _ in range(count):
        row = ["N1"]
        for _ in range(rng.integers(1, values + 1)):
            mant = [str(d) for d in rng.integers(0, 10, rng.integers(1, 22))]
            if rng.random() < 0.6:
                mant += ["."] + [str(d) for d in rng.integers(0, 10, rng.integers(1, 8))]
            exp = [str(d) for d in rng.integers(0, 10, rng.integers(1, 5 if rng.random() < 0.3 else 2))]
            row += ["<SPECIAL_3>", str(rng.choice(["FLOAT+", "FLOAT-"])), *mant, "10^",
                    str(rng.choice(["INT+", "INT-"])), *exp]
        rows.append(row)
    return ref_rows(rows, max(map(len, rows)) + 3)[0]


def test_decode_long_mantissas_and_exponents():
    assert_decoded(random_float_rows(np.random.default_rng(3), 1500))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                    reason="Numba has one thread here: 1 vs N threads would compare 1 with 1")
def test_same_result_for_any_thread_count():
    b = generate(GenConfig(), 200, seed=9)
    args = b["exists_unique"], b["n"], b["node_ptr"], b["x"], True
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = encode_outputs(*args)[0]
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = encode_outputs(*args)[0]
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many)


def test_errors():
    ptr = np.array([0, 2])
    good = dict(n=[3], edge_ptr=ptr, edge_src=np.array([0, 1], np.uint16), edge_dst=np.array([1, 4], np.uint16),
                edge_rate=np.array([2.0, 3.0]))
    assert encode_inputs(**good)[1].tolist() == [9]
    for change in (dict(n=[1000]), dict(edge_dst=np.array([1, 1000], np.uint16)), dict(n=[-1]),
                   dict(edge_rate=np.array([2.0, 1.5])), dict(edge_rate=np.array([2.0, 1000.0])),
                   dict(edge_rate=np.array([-1.0, 1.0])), dict(edge_rate=np.array([np.nan, 1.0])),
                   dict(max_len=8), dict(edge_ptr=np.array([0, 3])), dict(edge_src=np.array([0.0, 1.0]))):
        with pytest.raises(ValueError):
            encode_inputs(**{**good, **change})
    assert encode_inputs(**{**good, "edge_rate": np.array([2.0, 1.5])}, weighted=False)[1].tolist() == [7]
    x = np.array([1.0, np.inf, 2.0])
    for bad in (dict(x=x), dict(x=np.array([1.0, np.nan, 2.0])), dict(precision=0), dict(max_len=5),
                dict(n=[2])):
        with pytest.raises(ValueError):
            encode_outputs(**{**dict(exists=[True], n=[3], node_ptr=[0, 3], x=np.ones(3), quantitative=True), **bad})
    assert encode_outputs([False], [3], [0, 3], x, True)[1].tolist() == [3]  # not encoded: not checked
    with pytest.raises(ValueError):
        decode_outputs(np.zeros(5, np.int32))
    with pytest.raises(ValueError):
        decode_outputs(np.zeros((2, 5), np.int32), [6, 1])
