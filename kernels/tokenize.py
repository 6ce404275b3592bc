"""Batch tokenizer: the token encoding of `metabnet.tokens` (DESIGN §4) on CSR arrays.

Bit for bit equal to the pure-Python reference.  Floats are rounded in compiled code; the
few values whose scaled mantissa lies within rounding error of a tie (or whose decimal
exponent is beyond +-300 from the mantissa) are redone by Python's `'%.{p-1}e'`.
Decoding parses digits to an integer mantissa and a power of ten, which is correctly
rounded for up to 15 significant digits and |exponent| <= 22; other rows go to
`tokens.decode_output`.  Float kernels run without fastmath (`arcp` would break division).
"""
import math

import numpy as np
from numba import prange

from metabnet import tokens as _ref
from metabnet.kernels._jit import jit, pjit

_T = _ref.TOKEN_ID
BOS, EOS, PAD, SEP = _T["<s>"], _T["</s>"], _T["<pad>"], _T[_ref.SEP]
INT_P, INT_M, FLT_P, FLT_M, DOT, TEN = (_T[t] for t in ("INT+", "INT-", "FLOAT+", "FLOAT-", ".", "10^"))
D0, N0 = _T["0"], _T["N0"]
MAX_ID = _ref.MAX_ID
assert all(_T[str(d)] == D0 + d for d in range(10)) and all(_T[f"N{i}"] == N0 + i for i in range(MAX_ID + 1))
P10 = np.array([float(f"1e{k}") for k in range(301)])  # correctly rounded; exact up to 1e22
TIE_TOL = 1e-15  # relative error bound of the scaled mantissa (~2.3e-16) with margin
MAX_PRECISION = 18  # mantissas are int64


def _check_ptr(ptr, count, total, name):
    ptr = np.asarray(ptr)
    if ptr.ndim != 1 or len(ptr) != count + 1 or not np.issubdtype(ptr.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of shape ({count + 1},)")
    ptr = ptr.astype(np.int64, copy=False)
    if count and (ptr[0] < 0 or ptr[-1] > total or np.any(np.diff(ptr) < 0)):
        raise ValueError(f"{name} must be non-decreasing within 0..{total}")
    return ptr


def _width(lengths, max_len):
    longest = int(lengths.max(initial=0))
    if max_len is not None and longest > max_len:
        raise ValueError(f"a sequence of {longest} tokens does not fit max_len={max_len}")
    return longest if max_len is None else int(max_len)


# ---- inputs ------------------------------------------------------------------------------
@pjit
def _input_kernel(n, edge_ptr, src, dst, rate, weighted, tokens, status):
    """Row i: <s> N{n} (N{u} N{v} [N{w}])* </s> <pad>...; status 1 bad id, 2 bad weight."""
    for i in prange(len(n)):
        row = tokens[i]
        ok_ids = 0 <= n[i] <= MAX_ID
        ok_w = True
        row[0], row[1] = BOS, N0 + n[i]
        pos = 2
        for j in range(edge_ptr[i], edge_ptr[i + 1]):
            u, v = np.int64(src[j]), np.int64(dst[j])
            ok_ids = ok_ids and 0 <= u <= MAX_ID and 0 <= v <= MAX_ID
            row[pos], row[pos + 1] = N0 + u, N0 + v
            pos += 2
            if weighted:
                w = np.float64(rate[j])
                ok_w = ok_w and 0.0 <= w <= MAX_ID and w == math.floor(w)
                row[pos] = N0 + np.int64(w) if ok_w else PAD
                pos += 1
        row[pos] = EOS
        row[pos + 1:] = PAD
        status[i] = 0 if ok_ids and ok_w else (1 if not ok_ids else 2)


def encode_inputs(n, edge_ptr, edge_src, edge_dst, edge_rate, weighted=True, max_len=None):
    """(tokens int32 (N, L), lengths int32 (N,)): `<s>` + tokens.encode_input + `</s>`, padded."""
    n = np.asarray(n)
    if n.ndim != 1 or not np.issubdtype(n.dtype, np.integer):
        raise ValueError("n must be a 1-d integer array")
    src, dst, rate = (np.ascontiguousarray(a) for a in (edge_src, edge_dst, edge_rate))
    if not (src.ndim == dst.ndim == rate.ndim == 1 and len(src) == len(dst) == len(rate)):
        raise ValueError("edge_src, edge_dst and edge_rate must be 1-d arrays of one length")
    if not (np.issubdtype(src.dtype, np.integer) and np.issubdtype(dst.dtype, np.integer)
            and (np.issubdtype(rate.dtype, np.integer) or np.issubdtype(rate.dtype, np.floating))):
        raise ValueError("edge_src/edge_dst must be integer and edge_rate numeric")
    ptr = _check_ptr(edge_ptr, len(n), len(src), "edge_ptr")
    lengths = (3 + (3 if weighted else 2) * np.diff(ptr)).astype(np.int32)
    tokens = np.empty((len(n), _width(lengths, max_len)), np.int32)
    status = np.empty(len(n), np.int8)
    _input_kernel(n.astype(np.int64), ptr, src, dst, rate, bool(weighted), tokens, status)
    bad = np.flatnonzero(status)
    if bad.size:
        i = bad[0]
        what = f"node ids must lie in 0..{MAX_ID}" if status[i] == 1 else \
            f"weights must be integers in 0..{MAX_ID}"
        raise ValueError(f"network {i}: {what}")
    return tokens, lengths


# ---- outputs -----------------------------------------------------------------------------
@jit(fastmath=False)
def _scale(a, k):
    """a * 10**k for |k| <= 300 (one or two roundings), NaN beyond."""
    if k > 300 or k < -300:
        return np.nan
    return a * P10[k] if k >= 0 else a / P10[-k]


@pjit(fastmath=False)
def _round_kernel(x, node_ptr, encode, p, mant, expo, flag):
    """|x| = mant * 10**(expo - p + 1) rounded to p digits; flag 1: redo in Python, 2: not finite."""
    lo, hi = P10[p - 1], P10[p]
    for i in prange(len(encode)):
        if not encode[i]:
            continue
        for j in range(node_ptr[i], node_ptr[i + 1]):
            a = abs(x[j])
            if not math.isfinite(a):
                flag[j] = 2
                continue
            if a == 0.0:
                mant[j], expo[j] = 0, 0
                continue
            e = int(math.floor(math.log10(a)))
            s = _scale(a, p - 1 - e)
            if s >= hi:
                e += 1
                s = _scale(a, p - 1 - e)
            elif s < lo:
                e -= 1
                s = _scale(a, p - 1 - e)
            f = s - math.floor(s) if lo <= s < hi else 0.5  # NaN beyond +-300: redo
            if abs(f - 0.5) <= TIE_TOL * s or not lo <= s < hi:
                flag[j] = 1
                continue
            m = np.int64(math.floor(s)) + (1 if f > 0.5 else 0)
            if m == np.int64(hi):
                m, e = np.int64(lo), e + 1
            mant[j], expo[j] = m, e


@pjit
def _output_kernel(exists, encode, node_ptr, x, mant, expo, p, tokens, lengths, write):
    """Lengths (write False) or rows (write True) of `<s> N0|N1 [<SEP> float]* </s> <pad>...`."""
    for i in prange(len(exists)):
        pos = 2
        if write:
            tokens[i, 0], tokens[i, 1] = BOS, N0 + (1 if exists[i] else 0)
        for j in range(node_ptr[i], node_ptr[i + 1] if encode[i] else node_ptr[i]):
            e = abs(expo[j])
            nd = 1 + (e >= 10) + (e >= 100)
            if write:
                row = tokens[i]
                row[pos], row[pos + 1] = SEP, FLT_M if x[j] < 0.0 else FLT_P
                pos += 2
                div = np.int64(P10[p - 1])
                for d in range(p):
                    row[pos] = D0 + (mant[j] // div) % 10
                    div //= 10
                    pos += 1
                    if d == 0 and p > 1:
                        row[pos] = DOT
                        pos += 1
                row[pos], row[pos + 1] = TEN, INT_M if expo[j] < 0 else INT_P
                pos += 2
                for d in range(nd - 1, -1, -1):
                    row[pos + d] = D0 + e % 10
                    e //= 10
                pos += nd
            else:
                pos += 4 + p + (p > 1) + nd  # <SEP> sign mantissa 10^ INT± digits
        if write:
            tokens[i, pos] = EOS
            tokens[i, pos + 1:] = PAD
        else:
            lengths[i] = pos + 1


def encode_outputs(exists, n, node_ptr, x, quantitative, precision=3, max_len=None):
    """(tokens int32 (N, L), lengths int32 (N,)): `<s>` + tokens.encode_output + `</s>`, padded."""
    exists = np.asarray(exists).astype(np.bool_)
    n = np.asarray(n)
    x = np.ascontiguousarray(x, dtype=np.float64)
    if exists.ndim != 1 or n.shape != exists.shape or x.ndim != 1:
        raise ValueError("exists and n must be 1-d of one length, x 1-d")
    if not 1 <= precision <= MAX_PRECISION:
        raise ValueError(f"precision must lie in 1..{MAX_PRECISION}, got {precision}")
    ptr = _check_ptr(node_ptr, len(n), len(x), "node_ptr")
    encode = exists & bool(quantitative)
    if np.any((np.diff(ptr) != n) & encode):
        raise ValueError("a network that exists must have n values in x")
    mant, expo = np.zeros(len(x), np.int64), np.zeros(len(x), np.int32)
    flag = np.zeros(len(x), np.int8)
    _round_kernel(x, ptr, encode, precision, mant, expo, flag)
    if np.any(flag == 2):
        raise ValueError(f"cannot encode the non-finite value {x[np.argmax(flag == 2)]}")
    for j in np.flatnonzero(flag):
        m, e = ("%.*e" % (precision - 1, abs(x[j]))).split("e")
        mant[j], expo[j] = int(m.replace(".", "")), int(e)
    lengths = np.empty(len(n), np.int32)
    _output_kernel(exists, encode, ptr, x, mant, expo, precision, np.empty((len(n), 0), np.int32), lengths, False)
    tokens = np.empty((len(n), _width(lengths, max_len)), np.int32)
    _output_kernel(exists, encode, ptr, x, mant, expo, precision, tokens, lengths, True)
    return tokens, lengths


# ---- decoding ----------------------------------------------------------------------------
@jit(fastmath=False)
def _parse_float(row, a, b):
    """(value, status) of row[a:b] as tokens.decode_float: 0 ok, 1 malformed, 2 ask Python."""
    if b <= a or (row[a] != FLT_P and row[a] != FLT_M):
        return 0.0, 1
    k = a + 1
    while k < b and row[k] != TEN:
        k += 1
    if k + 2 >= b or (row[k + 1] != INT_P and row[k + 1] != INT_M):
        return 0.0, 1
    m, whole, frac, big = np.int64(0), 0, -1, False  # frac: digits after '.', -1 if none
    for t in range(a + 1, k):
        d = row[t] - D0
        if row[t] == DOT:
            if frac >= 0 or whole == 0:
                return 0.0, 1
            frac = 0
        elif 0 <= d <= 9:
            if frac < 0:
                whole += 1
            else:
                frac += 1
            if m >= 10 ** 14:
                big = True
            else:
                m = m * 10 + d
        else:
            return 0.0, 1
    if whole == 0 or frac == 0:
        return 0.0, 1
    ex = 0
    for t in range(k + 2, b):
        d = row[t] - D0
        if not 0 <= d <= 9:
            return 0.0, 1
        if ex < 100_000:
            ex = ex * 10 + d
    ex = (-ex if row[k + 1] == INT_M else ex) - max(frac, 0)
    if m != 0 and (big or ex > 22 or ex < -22):
        return 0.0, 2
    v = 0.0 if m == 0 else (m * P10[ex] if ex >= 0 else m / P10[-ex])
    return (-v if row[a] == FLT_M else v), 0


@pjit(fastmath=False)
def _decode_kernel(tokens, lengths, cls, values, count, slow):
    """tokens.decode_output per row; slow[i] when Python must parse row i."""
    for i in prange(tokens.shape[0]):
        row = tokens[i]
        a, b = 0, lengths[i]
        if b > a and row[a] == BOS:
            a += 1
        for k in range(a, b):
            if row[k] == EOS:
                b = k
                break
        while b > a and row[b - 1] == PAD:
            b -= 1
        if b == a or (row[a] != N0 and row[a] != N0 + 1):
            continue
        cls[i] = row[a] - N0
        if cls[i] == 0 or b - a == 1 or row[a + 1] != SEP:
            continue
        c, k, status = 0, a + 1, 0
        while k < b and status == 0:
            end = k + 1
            while end < b and row[end] != SEP:
                end += 1
            v, status = _parse_float(row, k + 1, end)
            if status == 0:
                values[i, c] = v
                c += 1
            k = end
        if status:
            values[i, :c] = np.nan
            slow[i], c = status == 2, 0
        count[i] = c


def decode_outputs(tokens, lengths=None):
    """(cls int8 (N,) -1 for None, values float64 (N, K) NaN-padded, count int32 (N,)), row i
    as tokens.decode_output(tokens[i, :lengths[i]]); never raises on an integer array."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError("tokens must be a 2-d integer array")
    if tokens.dtype not in (np.int32, np.int64):
        tokens = tokens.astype(np.int64)  # uint64 beyond 2**63 wraps to negative: still no token
    tokens = np.ascontiguousarray(tokens)
    N, L = tokens.shape
    lengths = np.full(N, L, np.int64) if lengths is None else np.asarray(lengths).astype(np.int64)
    if lengths.shape != (N,) or np.any((lengths < 0) | (lengths > L)):
        raise ValueError(f"lengths must have shape ({N},) and lie in 0..{L}")
    cls, count = np.full(N, -1, np.int8), np.zeros(N, np.int32)
    values = np.full((N, (L - 1) // 6 + 1), np.nan)
    slow = np.zeros(N, np.bool_)
    _decode_kernel(tokens, lengths, cls, values, count, slow)
    for i in np.flatnonzero(slow):
        row = [_ref.VOCAB[t] if 0 <= t < len(_ref.VOCAB) else "<unk>" for t in tokens[i, :lengths[i]].tolist()]
        c, v = _ref.decode_output(row)
        if v is not None:
            values[i, :len(v)], count[i] = v, len(v)
    K = int(count.max(initial=0))
    return cls, np.ascontiguousarray(values[:, :K]), count
