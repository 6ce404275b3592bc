"""Untrusted and unusual network files (issue 21, "confident wrong answers"): a file is either
read with the meaning its author gave it - the same network as the plain UTF-8 file, or for SBML
the equilibrium libRoadRunner finds in the same document - or refused in one line that names
the file and what is not supported.  Never a different answer with exit code 0.

Encodings: a byte-order mark (UTF-8, at the start of the file or of any line, as `cat` leaves
them), UTF-16 / UTF-32 with their mark, and the forms that cannot be read (UTF-16 without a
mark, Latin-1, an XML declaration naming another encoding), in every text format.
SBML: each construct that changes the dynamics, crafted on a small model.
"""
import codecs
import os
import subprocess
import sys

import libsbml
import numpy as np
import pytest
from test_formats import assert_same
from test_sbml import assert_close, roadrunner_steady_state, sbml_text

from metabnet.fileio import FormatError, decode_text
from metabnet.io import sbml
from metabnet.io.formats import read_networks, write_networks
from metabnet.network import Network
from metabnet.solve import solve

FORMATS = ("json", "jsonl", "tsv", "xml", "sbml")


def example() -> Network:
    """A small linear network with an equilibrium and non-ASCII names."""
    return Network(3, [0, 1, 2, 1, 3], [1, 2, 3, 3, 4], [2.0, 1.0, 0.5, 0.25, 3.0], None, "linear",
                   "réseau", {"nodes": ["Aé", "B", "ζ"]})


def refused(path, *words) -> FormatError:
    """Reading `path` raises one FormatError line that names the file and every one of `words`."""
    with pytest.raises(FormatError) as info:
        read_networks(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    return info.value


# ---- encodings -------------------------------------------------------------------------------
def _bom_utf8(text):
    return codecs.BOM_UTF8 + text.encode()


def _bom_utf8_twice(text):
    return codecs.BOM_UTF8 * 2 + text.encode()


def _bom_every_line(text):  # files concatenated with `cat`, each with its mark
    return b"".join(codecs.BOM_UTF8 + line.encode() for line in text.splitlines(keepends=True))


def _utf16(text):  # Python writes the native-order mark: what Windows "Unicode" is
    return text.encode("utf-16")


def _utf16_le(text):
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def _utf16_be(text):
    return codecs.BOM_UTF16_BE + text.encode("utf-16-be")


def _utf32(text):
    return text.encode("utf-32")


def _utf32_be(text):
    return codecs.BOM_UTF32_BE + text.encode("utf-32-be")


def _crlf_bom(text):
    return codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode()


READABLE = [_bom_utf8, _bom_utf8_twice, _bom_every_line, _utf16, _utf16_le, _utf16_be, _utf32, _utf32_be,
            _crlf_bom]


def _declare(text: str, encoding: str) -> str:
    """An XML document's text whose declaration names `encoding` (as an editor saving in that
    encoding writes it)."""
    return text.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("encode", READABLE, ids=lambda f: f.__name__.strip("_"))
def test_byte_order_marks_and_utf16_read_as_the_plain_file(tmp_path, fmt, encode):
    plain = tmp_path / f"plain.{fmt}"
    write_networks(plain, example())
    (want,) = read_networks(plain)
    text = plain.read_text(encoding="utf-8")
    if fmt in ("xml", "sbml") and encode.__name__.startswith(("_utf16", "_utf32")):
        text = _declare(text, "UTF-16" if "16" in encode.__name__ else "UTF-32")
    path = tmp_path / "other" / f"plain.{fmt}"  # the same stem: a TSV is named after its file
    path.parent.mkdir()
    path.write_bytes(encode(text))
    (got,) = read_networks(path)
    assert_same(want, got)
    assert got.name == want.name == ("plain" if fmt == "tsv" else "réseau")
    assert got.meta.get("nodes") == want.meta.get("nodes")
    assert not any("\ufeff" in str(s) for s in got.meta.get("nodes", []))


def test_tsv_bom_gives_the_equilibrium_of_the_plain_file(tmp_path):
    """The issue's example: a mark made an extra node "\\ufeffA" and "no equilibrium"."""
    text = "A\tB\t1\nINTAKE\tA\t1\nB\tEXCRETION\t1\n"
    (tmp_path / "plain.tsv").write_text(text, encoding="utf-8")
    (tmp_path / "bom.tsv").write_bytes(codecs.BOM_UTF8 + text.encode())
    plain, bom = (read_networks(tmp_path / f)[0] for f in ("plain.tsv", "bom.tsv"))
    assert bom.n == plain.n == 2 and bom.meta["nodes"] == ["A", "B"]
    assert solve(bom)["x"] == solve(plain)["x"] == [1.0, 1.0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_utf16_without_a_mark_is_refused_naming_the_encoding(tmp_path, fmt):
    plain = tmp_path / f"n.{fmt}"
    write_networks(plain, example())
    text = plain.read_text(encoding="utf-8")
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le"):
        path = tmp_path / f"{codec}.{fmt}"
        ascii_text = text.replace("Aé", "A").replace("ζ", "C").replace("réseau", "reseau")
        for body in (ascii_text, text):
            path.write_bytes(body.encode(codec))
            e = refused(path)
            assert "UTF-16" in e.problem or "UTF-8" in e.problem, e


LATIN1 = {
    "json": '{"name": "réseau", "kinetics": "linear", "n": 1, "edges": [], "intake": [[1, 1]], "excretion": [[1, 1]]}',
    "jsonl": '{"name": "réseau", "kinetics": "linear", "n": 1, "edges": [], "intake": [[1, 1]], "excretion": [[1, 1]]}\n',
    "tsv": "Aé\tB\t1\nINTAKE\tAé\t1\nB\tEXCRETION\t1\n",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_latin1_is_refused_not_misread(tmp_path, fmt):
    if fmt in LATIN1:
        text = LATIN1[fmt]
    else:
        text = _declare(sbml.to_sbml(example()).replace("ζ", "z"), "ISO-8859-1")
    path = tmp_path / f"latin1.{fmt}"
    path.write_bytes(text.encode("latin-1"))
    refused(path, "UTF-8", "line")


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "latin1"])
def test_sbml_declaring_another_encoding(tmp_path, encoding):
    """libsbml decodes by the declaration: UTF-8 text under a Latin-1 declaration would become
    mojibake names.  Plain ASCII reads the same in either; anything else is refused."""
    text = _declare(sbml.to_sbml(example()), encoding)
    path = tmp_path / "declared.xml"
    path.write_text(text, encoding="utf-8")
    refused(path, repr(encoding), "UTF-8")
    ascii_net = example()
    ascii_net.meta["nodes"], ascii_net.name = ["A", "B", "C"], "ascii"
    path.write_text(_declare(sbml.to_sbml(ascii_net), encoding), encoding="ascii")
    (got,) = read_networks(path)
    assert_same(ascii_net, got)
    assert got.meta["nodes"] == ["A", "B", "C"]


def test_decode_text_unit():
    assert decode_text("f", codecs.BOM_UTF8 + b"a\n\xef\xbb\xbfb") == "a\nb"
    assert decode_text("f", "x\u2028y".encode("utf-16")) == "x\u2028y"
    assert decode_text("f", b"a \xef\xbb\xbf b") == "a \ufeff b"  # only a line's first mark is one
    with pytest.raises(FormatError, match="NUL"):
        decode_text("f", "abc".encode("utf-16-le"))
    with pytest.raises(FormatError, match="UTF-16-LE"):
        decode_text("f", codecs.BOM_UTF16_LE + b"\x00\xd8a")  # a lone surrogate


# ---- SBML constructs -----------------------------------------------------------------------------
# A chain: intake 2 -> A, A -> B at k = 1 (a local parameter), B -> out at 0.5: A = 2, B = 4.
BASE = [("in", [], ["A"], "2"), ("r", ["A"], ["B"], "k * A", {"k": 1.0}), ("out", ["B"], [], "k * B", {"k": 0.5})]


def _param(m, pid, value, constant=True):
    p = m.createParameter()
    p.setId(pid), p.setValue(value), p.setConstant(constant)
    return p


def _law(m, rid, formula):
    assert m.getReaction(rid).getKineticLaw().setMath(libsbml.parseL3Formula(formula)) == 0, formula


def _local(m, rid, pid, value):
    p = m.getReaction(rid).getKineticLaw().createLocalParameter()
    p.setId(pid), p.setValue(value)


def _species(m, sid, boundary=True, amount=None, conc=1.0):
    sp = m.createSpecies()
    sp.setId(sid), sp.setCompartment("c"), sp.setBoundaryCondition(boundary)
    sp.setHasOnlySubstanceUnits(False), sp.setConstant(False)
    sp.setInitialAmount(amount) if amount is not None else sp.setInitialConcentration(conc)
    return sp


def _stoichiometry_math(formula):
    def edit(m):
        ref = m.getReaction("r").getProduct(0)
        ref.unsetStoichiometry()
        ref.createStoichiometryMath().setMath(libsbml.parseL3Formula(formula))
    return edit


def _conversion_factor(value, species=("A", "B"), model=False):
    def edit(m):
        _param(m, "cf", value)
        if model:
            m.setConversionFactor("cf")
        for s in species:
            m.getSpecies(s).setConversionFactor("cf")
    return edit


def _chain(*edits):
    def edit(m):
        for e in edits:
            e(m)
    return edit


def _event(m):
    e = m.createEvent()
    e.setId("pulse"), e.setUseValuesFromTriggerTime(True)
    t = e.createTrigger()
    t.setMath(libsbml.parseL3Formula("time > 1")), t.setPersistent(True), t.setInitialValue(False)
    a = e.createEventAssignment()
    a.setVariable("kk"), a.setMath(libsbml.parseL3Formula("5"))
    _param(m, "kk", 1.0, False)
    _law(m, "r", "kk * A")


def _rule(kind, variable, formula, law=True):
    def edit(m):
        if variable == "kk":
            _param(m, "kk", 1.0, False)
        if variable == "X":
            _species(m, "X")
            _law(m, "in", "2 * X")
        r = {"rate": m.createRateRule, "assignment": m.createAssignmentRule, "algebraic": m.createAlgebraicRule}[kind]()
        if kind != "algebraic":
            r.setVariable(variable)
        r.setMath(libsbml.parseL3Formula(formula))
        if law and variable == "kk" or kind == "algebraic":
            _param(m, "kk", 1.0, False) if m.getParameter("kk") is None else None
            _law(m, "r", "kk * A")
    return edit


def _initial_assignment(symbol, formula, law=None):
    def edit(m):
        if symbol == "kk":
            _param(m, "kk", 1.0)
        a = m.createInitialAssignment()
        a.setSymbol(symbol), a.setMath(libsbml.parseL3Formula(formula))
        if law:
            _law(m, "r", law)
    return edit


def _function_mm(m):
    f = m.createFunctionDefinition()
    f.setId("mm"), f.setMath(libsbml.parseL3Formula("lambda(x, v, kk, v * x / (kk + x))"))
    _law(m, "in", "1")
    _law(m, "r", "mm(A, 3, 2)")
    _law(m, "out", "mm(B, 3, 2)")


def _self_loop(m):
    r = m.createReaction()
    r.setId("loop"), r.setReversible(False), r.setFast(False)
    for create in (r.createReactant, r.createProduct):
        ref = create()
        ref.setSpecies("A"), ref.setStoichiometry(1), ref.setConstant(True)
    r.createKineticLaw().setMath(libsbml.parseL3Formula("3 * A"))


def _size(size, hosu=False):
    def edit(m):
        m.getCompartment("c").setSize(size)
        for s in "AB":
            m.getSpecies(s).setHasOnlySubstanceUnits(hosu)
    return edit


def _second_compartment(m):
    c = m.createCompartment()
    c.setId("c2"), c.setSize(2.0), c.setConstant(True)
    m.getSpecies("B").setCompartment("c2")


# (id, edit, level, local parameters of reaction r) of documents that metabnet reads: each must
# give libRoadRunner's steady state
AGREES = [
    ("local_shadows_modifier_species", None, (3, 1), {"k": 1.0, "B": 3.0}, "k * A * B"),
    ("local_shadows_global_parameter", lambda m: _param(m, "k", 100.0), (3, 1), None, None),
    ("local_shadows_compartment", None, (3, 1), {"k": 1.0, "c": 4.0}, "c * k * A"),
    ("local_shadows_species_in_intake", lambda m: (_law(m, "in", "A"), _local(m, "in", "A", 2.0)), (3, 1), None, None),
    ("stoichiometry_math_one", _stoichiometry_math("p / 2"), (2, 4), None, None),
    ("unset_stoichiometry", lambda m: m.getReaction("r").getProduct(0).unsetStoichiometry(), (3, 1), None, None),
    ("model_conversion_factor", _conversion_factor(3.0, species=(), model=True), (3, 1), None, None),
    ("species_conversion_factors_equal", _conversion_factor(0.25), (3, 1), None, None),
    ("conversion_factor_by_initial_assignment",
     _chain(_conversion_factor(1.0, model=True, species=()), _initial_assignment("cf", "p * 3")), (3, 1), None, None),
    ("reversible_flag_alone", lambda m: m.getReaction("r").setReversible(True), (3, 1), None, None),
    ("initial_assignment_parameter", _initial_assignment("kk", "4", law="kk * A"), (3, 1), None, None),
    ("initial_assignment_compartment", _initial_assignment("c", "2"), (3, 1), None, None),
    ("assignment_rule_constant", _rule("assignment", "kk", "p ^ 2"), (3, 1), None, None),
    ("function_definition", _function_mm, (3, 1), None, None),
    ("compartment_size_2", _size(2.0), (3, 1), None, None),
    ("compartment_size_1_amounts", _size(1.0, hosu=True), (3, 1), None, None),
    ("boundary_amount_in_size_2", _chain(_size(2.0), lambda m: _species(m, "X", amount=3.0),
                                         lambda m: _law(m, "in", "2 * X")), (3, 1), None, None),
    ("non_constant_parameter_without_rule", lambda m: (_param(m, "kk", 2.0, False), _law(m, "r", "kk * A")),
     (3, 1), None, None),
    ("self_loop", _self_loop, (3, 1), None, None),
    ("zero_dimensional_compartment", lambda m: m.getCompartment("c").setSpatialDimensions(0), (3, 1), None, None),
    ("level_2_local_parameters", None, (2, 4), {"k": 1.0, "B": 3.0}, "k * A * B"),
]


def _document(edit, level, local=None, law=None):
    reactions = [list(r) for r in BASE]
    if local is not None:
        reactions[1][4] = local
    if law is not None:
        reactions[1][3] = law
    return sbml_text([tuple(r) for r in reactions], params={"p": 2.0}, level=level, edit=edit)


@pytest.mark.parametrize("case", AGREES, ids=[c[0] for c in AGREES])
def test_sbml_construct_gives_libroadrunners_equilibrium(tmp_path, case):
    pytest.importorskip("roadrunner")
    _, edit, level, local, law = case
    text = _document(edit, level, local, law)
    path = tmp_path / "model.xml"
    path.write_text(text)
    (net,) = read_networks(path)
    exact = solve(net)
    assert exact["exists_unique"], exact
    got, how = roadrunner_steady_state(text, ["A", "B"])
    assert_close(np.array(exact["x"]), got, f"{case[0]} ({how})")


def test_conversion_factor_scales_every_rate(tmp_path):
    """dx/dt = c * f(x): every k, V and phi times c, K unchanged - the same dynamics."""
    path = tmp_path / "cf.xml"
    path.write_text(_document(_conversion_factor(3.0, species=(), model=True), (3, 1)))
    (net,) = read_networks(path)
    np.testing.assert_array_equal(net.rate, [6.0, 3.0, 1.5])


def _comp_document(required=True, submodel=True) -> str:
    """The base chain with a comp submodel holding a second drain of A (4*A): flattened, as the
    SBML spec means it, A = 2/5; libRoadRunner 2.10 drops the submodel and finds A = 2."""
    doc = libsbml.readSBMLFromString(_document(None, (3, 1)))
    assert doc.enablePackage(libsbml.CompExtension.getXmlnsL3V1V1(), "comp", True) == 0
    doc.setPackageRequired("comp", required)
    if submodel:
        md = doc.getPlugin("comp").createModelDefinition()
        md.setId("sub")
        c = md.createCompartment()
        c.setId("c"), c.setSize(1), c.setConstant(True)
        sp = md.createSpecies()
        sp.setId("A"), sp.setCompartment("c"), sp.setInitialConcentration(0)
        sp.setHasOnlySubstanceUnits(False), sp.setBoundaryCondition(False), sp.setConstant(False)
        r = md.createReaction()
        r.setId("drain"), r.setReversible(False), r.setFast(False)
        ref = r.createReactant()
        ref.setSpecies("A"), ref.setStoichiometry(1), ref.setConstant(True)
        r.createKineticLaw().setMath(libsbml.parseL3Formula("4 * A"))
    m = doc.getModel()
    if submodel:
        s = m.getPlugin("comp").createSubmodel()
        s.setId("s1"), s.setModelRef("sub")
        for sid in ("A", "c"):
            re = m.getElementBySId(sid).getPlugin("comp").createReplacedElement()
            re.setSubmodelRef("s1"), re.setIdRef(sid)
    return libsbml.writeSBMLToString(doc)


def _package_document(prefix: str, required: bool) -> str:
    text = _document(None, (3, 1))
    uri = f"http://www.sbml.org/sbml/level3/version1/{prefix}/version1"
    return text.replace('level="3" version="1"',
                        f'xmlns:{prefix}="{uri}" level="3" version="1" {prefix}:required="{str(required).lower()}"', 1)


# (id, document, words the one-line refusal must hold)
REFUSED = [
    ("local_shadows_reactant", _document(None, (3, 1), {"k": 1.0, "A": 3.0}), ["reaction r", "local parameter A",
                                                                             "shadows"]),
    ("local_shadows_reactant_l2", _document(None, (2, 4), {"k": 1.0, "A": 3.0}), ["reaction r", "shadows"]),
    ("stoichiometry_math_2", _document(_stoichiometry_math("2"), (2, 4)), ["reaction r", "stoichiometryMath"]),
    ("stoichiometry_math_p", _document(_stoichiometry_math("p"), (2, 4)), ["reaction r", "stoichiometryMath"]),
    ("stoichiometry_math_species", _document(_stoichiometry_math("B"), (2, 4)), ["reaction r", "species B"]),
    ("stoichiometry_2", _document(lambda m: m.getReaction("r").getProduct(0).setStoichiometry(2), (3, 1)),
     ["reaction r", "stoichiometry 2"]),
    ("comp_submodel_required", _comp_document(), ["package 'comp'", "required"]),
    ("comp_required_without_submodel", _comp_document(submodel=False), ["package 'comp'", "required"]),
    ("unknown_package_required", _package_document("foo", True), ["package 'foo'", "required"]),
    ("distrib_required", _package_document("distrib", True), ["package 'distrib'", "required"]),
    ("conversion_factors_differ", _document(_conversion_factor(3.0, species=("B",)), (3, 1)),
     ["conversion factors", "species A", "B"]),
    ("model_and_species_conversion_factors_differ",
     _document(_chain(_conversion_factor(3.0, species=(), model=True),
                      lambda m: (_param(m, "cf2", 2.0), m.getSpecies("A").setConversionFactor("cf2"))), (3, 1)),
     ["conversion factors", "cf2"]),
    ("conversion_factor_zero", _document(_conversion_factor(0.0), (3, 1)), ["conversionFactor cf", "positive"]),
    ("conversion_factor_negative", _document(_conversion_factor(-1.0, species=(), model=True), (3, 1)),
     ["conversionFactor cf", "positive"]),
    ("conversion_factor_unknown", _document(lambda m: m.getSpecies("A").setConversionFactor("nope"), (3, 1)),
     ["species A", "nope"]),
    ("fast_reaction", _document(lambda m: m.getReaction("r").setFast(True), (3, 1)), ["reaction r", "fast"]),
    ("event", _document(_event, (3, 1)), ["event pulse", "events"]),
    ("rate_rule_parameter", _document(_rule("rate", "kk", "0.1"), (3, 1)), ["rate rule kk"]),
    ("rate_rule_boundary_species", _document(_rule("rate", "X", "0.01"), (3, 1)), ["rate rule X"]),
    ("rate_rule_unused_parameter", _document(_rule("rate", "kk", "0.1", law=False), (3, 1)), ["rate rule kk"]),
    ("algebraic_rule", _document(_rule("algebraic", None, "kk - 2"), (3, 1)), ["algebraic rule"]),
    ("assignment_rule_on_node", _document(_rule("assignment", "B", "2"), (3, 1)), ["assignment rule B"]),
    ("assignment_rule_on_time", _document(_rule("assignment", "kk", "1 + time"), (3, 1)), ["reaction r", "time"]),
    ("assignment_rule_on_species", _document(_rule("assignment", "kk", "B + 1"), (3, 1)), ["reaction r", "species B"]),
    ("initial_assignment_on_species", _document(_initial_assignment("kk", "4 * B", law="kk * A"), (3, 1)),
     ["reaction r", "species B"]),
    ("delay_of_reactant", _document(lambda m: _law(m, "r", "k * delay(A, 1)"), (3, 1)), ["reaction r", "delay"]),
    ("delay_of_constant", _document(lambda m: _law(m, "r", "k * delay(p, 1) * A"), (3, 1)), ["reaction r", "delay"]),
    ("piecewise_in_time", _document(lambda m: _law(m, "r", "piecewise(1, time > 5, 2) * A"), (3, 1)),
     ["reaction r", "time"]),
    ("reverse_term", _document(lambda m: (m.getReaction("r").setReversible(True), _law(m, "r", "k * A - 0.1 * B")),
                               (3, 1)), ["reaction r", "k * A - 0.1 * B"]),
    ("rate_of", _document(lambda m: _law(m, "r", "k * A + rateOf(B)"), (3, 2)), ["reaction r", "rateOf"]),
    ("avogadro", _document(lambda m: _law(m, "r", "k * A * avogadro / avogadro"), (3, 1)), ["reaction r", "avogadro"]),
    ("species_reference_id", _document(lambda m: (m.getReaction("r").getProduct(0).setId("sr"),
                                                  _law(m, "r", "sr * A")), (3, 1)), ["reaction r", "'sr'"]),
    ("reaction_id_in_law", _document(lambda m: _law(m, "r", "out / B * A"), (3, 1)), ["reaction r", "'out'"]),
    ("compartments_of_different_sizes", _document(_second_compartment, (3, 1)), ["compartments of different sizes"]),
    ("amounts_in_size_2", _document(_size(2.0, hosu=True), (3, 1)), ["species A", "amount units"]),
    ("two_reactants", sbml_text([BASE[0], ("r", ["A", "B"], [], "k * A", {"k": 1.0}), BASE[2]]),
     ["reaction r", "2 reactants"]),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_sbml_construct_is_refused_naming_it(tmp_path, case):
    _, text, words = case
    path = tmp_path / "model.xml"
    path.write_text(text)
    refused(path, *words)


def test_comp_submodel_changes_the_answer():
    """Why comp is refused: flattened as the spec means it, the model has the submodel's drain
    too (another equilibrium); reading the core alone, as libRoadRunner 2.10 does, ignores it."""
    doc = libsbml.readSBMLFromString(_comp_document())
    props = libsbml.ConversionProperties()
    props.addOption("flatten comp", True)
    assert doc.convert(props) == libsbml.LIBSBML_OPERATION_SUCCESS
    assert doc.getModel().getNumReactions() == 4  # in, r, out and the submodel's drain


def test_packages_not_required_are_read(tmp_path):
    """required="false" means the math does not depend on the package (layout, render, ...)."""
    path = tmp_path / "layout.xml"
    path.write_text(_package_document("layout", False))
    (net,) = read_networks(path)
    assert solve(net)["x"] == [2.0, 4.0]


# ---- the command line ------------------------------------------------------------------------------
def _solve_cli(path):
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "metabnet", "solve", str(path)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_refuses_in_one_line_and_reads_marked_files(tmp_path):
    for name, text in [("shadow.xml", REFUSED[0][1]), ("comp.xml", _comp_document()),
                       ("stoich.xml", REFUSED[2][1])]:
        (tmp_path / name).write_text(text)
    (tmp_path / "nomark16.tsv").write_bytes("A\tB\t1\nINTAKE\tA\t1\nB\tEXCRETION\t1\n".encode("utf-16-le"))
    for name in ("shadow.xml", "comp.xml", "stoich.xml", "nomark16.tsv"):
        r = _solve_cli(tmp_path / name)
        assert r.returncode != 0 and r.stdout == "", (name, r)
        assert "Traceback" not in r.stderr, r.stderr
        errors = [line for line in r.stderr.splitlines() if str(tmp_path / name) in line]
        assert len(errors) == 1, r.stderr
    (tmp_path / "bom.tsv").write_bytes(_utf16("A\tB\t1\nINTAKE\tA\t1\nB\tEXCRETION\t1\n"))
    r = _solve_cli(tmp_path / "bom.tsv")
    assert r.returncode == 0, r.stderr
    assert '"x": [1.0, 1.0]' in r.stdout and '"n": 2' in r.stdout, r.stdout
