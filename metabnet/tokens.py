"""The paper's token encoding (DESIGN §4): the vocabulary, and encoding and decoding of
networks and answers; the pure-Python reference for the Numba tokenizer (kernels.tokenize).
Token JSON files are read and written in metabnet.io.formats; this module does no file I/O.

Input:  ``N{n}``, then ``N{u} N{v}`` for every edge in the network's own edge order (node 0 is
        the intake, n+1 the excretion), followed by the weight ``N{w}`` in a weighted graph.
Output: ``N1`` or ``N0``; quantitatively ``N1`` then ``<SPECIAL_3>`` and a float per inner node.
Float:  ``FLOAT+``/``FLOAT-``, the mantissa's characters one token each, ``10^``, then
        ``INT+``/``INT-`` and the exponent's digits: 0.0123 -> ``FLOAT+ 1 . 2 3 10^ INT- 2``.

Rounding: |x| is rounded to `precision` significant digits by Python's correctly rounded
``'%.{precision-1}e'`` formatting (half to even on the exact binary value, so 0.125 -> 1.2e-1
but 0.135 -> 1.4e-1), which puts the mantissa in [1, 10): 9.9996 -> ``1 . 0 0 10^ INT+ 1``.
Zero is ``FLOAT+ 0 . 0 0 10^ INT+ 0``; -0.0 is written as +0.
"""
from __future__ import annotations

import math
import re

import numpy as np

from metabnet.network import Network

MAX_ID = 999  # largest node id or weight the vocabulary can say
DIGITS = [str(d) for d in range(10)]
VOCAB: list[str] = ["<s>", "</s>", "<pad>", "(", ")", *(f"<SPECIAL_{i}>" for i in range(10)),
                    "INT+", "INT-", "FLOAT+", "FLOAT-", ".", "10^", *DIGITS,
                    *(f"N{i}" for i in range(MAX_ID + 1))]
TOKEN_ID: dict[str, int] = {t: i for i, t in enumerate(VOCAB)}
SEP = "<SPECIAL_3>"  # before every value of a quantitative output
_DIGIT_SET = set(DIGITS)


# ---- encoding --------------------------------------------------------------------------
def encode_input(net: Network, weighted: bool = True) -> list[str]:
    """`N{n}` then `N{u} N{v} [N{w}]` per edge; ValueError when an id or weight does not fit."""
    if net.is_mm:
        raise ValueError(f"network {net.name!r}: the token encoding covers linear kinetics only")
    ids = np.concatenate(([net.n], net.src, net.dst))
    if ids.min() < 0 or ids.max() > MAX_ID:
        raise ValueError(f"network {net.name!r}: node ids must lie in 0..{MAX_ID}, "
                         f"got {int(ids.min())}..{int(ids.max())}")
    toks = [f"N{net.n}"]
    for u, v, w in zip(net.src.tolist(), net.dst.tolist(), net.rate.tolist()):
        toks += [f"N{u}", f"N{v}"]
        if weighted:
            if not (w.is_integer() and 0 <= w <= MAX_ID):
                raise ValueError(f"network {net.name!r}: weight {w} is not an integer in 0..{MAX_ID}")
            toks.append(f"N{int(w)}")
    return toks


def encode_float(x, precision: int = 3) -> list[str]:
    """Sign, mantissa characters, `10^`, exponent sign and digits (rounding: module doc)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"cannot encode the non-finite value {x}")
    if precision < 1:
        raise ValueError(f"precision must be at least 1, got {precision}")
    mantissa, exponent = f"{abs(x):.{precision - 1}e}".split("e")
    e = int(exponent)
    return ["FLOAT-" if x < 0 else "FLOAT+", *mantissa, "10^", "INT-" if e < 0 else "INT+", *str(abs(e))]


def encode_output(exists: bool, x=None, precision: int = 3) -> list[str]:
    """`N0`, `N1`, or `N1` followed by `<SPECIAL_3>` + float for every value of `x`."""
    toks = ["N1" if exists else "N0"]
    for v in [] if x is None or not exists else x:
        toks += [SEP, *encode_float(v, precision)]
    return toks


# ---- decoding --------------------------------------------------------------------------
def _token_list(tokens) -> list[str] | None:
    """A space-separated string or an iterable of strings as a list; None for anything else."""
    if isinstance(tokens, str):
        return tokens.split()
    try:
        toks = list(tokens)
    except TypeError:
        return None
    return toks if all(isinstance(t, str) for t in toks) else None


def clean_tokens(tokens) -> list[str] | None:
    """Tokens without a leading `<s>`, without `</s>` and what follows, without trailing pads."""
    toks = _token_list(tokens)
    if toks and toks[0] == "<s>":
        toks = toks[1:]
    if toks and "</s>" in toks:
        toks = toks[:toks.index("</s>")]
    while toks and toks[-1] == "<pad>":
        toks.pop()
    return toks


def decode_float(toks) -> float | None:
    """Inverse of `encode_float`; None when malformed or not finite."""
    toks = _token_list(toks)
    if not toks or toks[0] not in ("FLOAT+", "FLOAT-") or "10^" not in toks:
        return None
    k = toks.index("10^")
    mantissa, esign, exponent = "".join(toks[1:k]), toks[k + 1:k + 2], toks[k + 2:]
    if (not set(toks[1:k]) <= _DIGIT_SET | {"."} or not re.fullmatch(r"\d+(\.\d+)?", mantissa)
            or esign not in (["INT+"], ["INT-"]) or not exponent or not set(exponent) <= _DIGIT_SET):
        return None
    sign, esign = "-" if toks[0] == "FLOAT-" else "", "-" if esign == ["INT-"] else ""
    x = float(f"{sign}{mantissa}e{esign}{''.join(exponent)}")
    return x if math.isfinite(x) else None


def decode_output(tokens) -> tuple[int | None, np.ndarray | None]:
    """(class, values) of an output sequence; never raises.  The class comes from the first
    token (None unless `N0`/`N1`); the values (float64) are None when there are none or when
    anything after `N1` is malformed.  A leading `<s>`, `</s>` onwards and pads are ignored."""
    toks = clean_tokens(tokens)
    if not toks or toks[0] not in ("N0", "N1"):
        return None, None
    cls = int(toks[0][1])
    if cls == 0 or len(toks) == 1 or toks[1] != SEP:
        return cls, None
    chunks = []
    for t in toks[1:]:
        if t == SEP:
            chunks.append([])
        else:
            chunks[-1].append(t)
    values = [decode_float(c) for c in chunks]
    return cls, None if None in values else np.array(values, dtype=np.float64)


def decode_input(tokens, weighted: bool | None = None) -> Network:
    """The network of an input sequence (linear kinetics; rates 1 when unweighted).  By
    default it is weighted when the tokens after `N{n}` are a multiple of 3 in number, which
    is ambiguous for an unweighted graph whose edge count is a multiple of 3: pass `weighted`
    then.  ValueError (NetworkError when the graph breaks a rule) if malformed."""
    toks = _token_list(tokens)
    if not toks:
        raise ValueError("input tokens must be a non-empty string or list of strings")
    for i, t in enumerate(toks):
        if not (t in TOKEN_ID and t.startswith("N")):
            raise ValueError(f"input token {i} ({t!r}) is not a node token N0..N{MAX_ID}")
    n, *rest = (int(t[1:]) for t in toks)
    if weighted is None:
        weighted = len(rest) % 3 == 0
    width = 3 if weighted else 2
    if len(rest) % width:
        raise ValueError(f"{len(rest)} tokens after N{n} do not make whole "
                         f"{'(u, v, w)' if weighted else '(u, v)'} edges")
    e = np.array(rest, dtype=np.int64).reshape(-1, width)
    rate = e[:, 2].astype(np.float64) if weighted else np.ones(len(e))
    return Network(n, e[:, 0], e[:, 1], rate).validate()
