"""SBML: exact round trips, the law forms a reader meets in other tools' files, a one-line error
naming the file and the reaction for every kind of bad file, `metabnet convert` across all
formats, and libRoadRunner's steady state of the exported model against metabnet.solve.dispatch."""
import math
import pickle

import libsbml
import numpy as np
import pytest
from click.testing import CliRunner
from test_formats import assert_same, check_bad_file, random_network, relabel_by_first_appearance

from metabnet.io import sbml
from metabnet.cli.main import main
from metabnet.fileio import FormatError
from metabnet.io.formats import read_networks, write_networks
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.network import Network
from metabnet.solve import solve

KINETICS = ("linear", "michaelis-menten")


def generated(kinetics: str, count: int, seed: int, n_max: int = 30) -> list[Network]:
    """Labelled random networks that all have a unique equilibrium, rates log-uniform."""
    cfg = GenConfig(size="custom", n_min=3, n_max=n_max, kinetics=kinetics, weights="log-uniform",
                    w_min=0.1, w_max=10, intake_scale=1.0 if kinetics == "linear" else 0.05,
                    balance="ratio", ratio=1.0)
    batch = generate(cfg, count, seed=seed)
    return [batch.network(i, f"{kinetics}-{seed}-{i}") for i in range(count)]


# ---- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(40))
def test_round_trip_random(tmp_path, seed):
    rng = np.random.default_rng(seed)
    net = random_network(rng, KINETICS[seed % 2], name=f"net {seed}: ß/α")  # name needs sanitising
    if seed % 3 == 0:
        net.meta["nodes"] = [f"metabolite <{i}> & co" for i in range(1, net.n + 1)]
    path = tmp_path / ("model.xml" if seed % 2 else "model.sbml")
    write_networks(path, net)
    (back,) = read_networks(path)
    assert_same(net, back)  # exact: values are re-printed at repr precision
    assert back.meta["file"] == str(path)
    want = net.meta.get("nodes", [f"S{i}" for i in range(1, net.n + 1)])
    assert back.meta["nodes"] == want


@pytest.mark.parametrize("kinetics", KINETICS)
def test_round_trip_generated(tmp_path, kinetics):
    for net in generated(kinetics, 30, seed=2, n_max=60):
        write_networks(tmp_path / "g.xml", net)
        assert_same(net, read_networks(tmp_path / "g.xml")[0])


def test_unnamed_network_is_named_after_its_file(tmp_path):
    net = random_network(np.random.default_rng(1), name="")
    write_networks(tmp_path / "pathway.xml", net)
    assert read_networks(tmp_path / "pathway.xml")[0].name == "pathway"


def test_written_document_is_valid_sbml():
    net = Network(2, [0, 1, 2, 1], [1, 2, 3, 1], [2.5, 1 / 3, 7, 1], [np.nan, 0.1, 4, 2],
                  "michaelis-menten", "2 step pathway").validate()
    text = sbml.to_sbml(net)
    doc = libsbml.readSBMLFromString(text)
    doc.checkConsistency()
    errors = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
              if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    assert not errors
    assert (doc.getLevel(), doc.getVersion()) == (3, 1)
    m = doc.getModel()
    assert (m.getId(), m.getName()) == ("_2_step_pathway", "2 step pathway")
    assert m.getNumCompartments() == 1 and m.getCompartment(0).getSize() == 1
    assert [s.getInitialConcentration() for s in m.getListOfSpecies()] == [0, 0]
    intake, inner, excretion, loop = m.getListOfReactions()
    assert intake.getNumReactants() == 0 and intake.getProduct(0).getSpecies() == "S1"
    assert libsbml.formulaToL3String(intake.getKineticLaw().getMath()) == "phi"
    assert libsbml.formulaToL3String(inner.getKineticLaw().getMath()) == "V * S1 / (K + S1)"
    assert excretion.getNumProducts() == 0 and excretion.getReactant(0).getSpecies() == "S2"
    assert loop.getReactant(0).getSpecies() == loop.getProduct(0).getSpecies() == "S1"
    assert 'value="0.3333333333333333"' in text  # libsbml alone would print 0.333333333333333


@pytest.mark.parametrize("name,sid", [("", "network"), ("glycolysis", "glycolysis"), ("9x", "_9x"),
                                      ("a b-c.d", "a_b_c_d"), ("ü", "_")])
def test_model_id_is_a_valid_sid(name, sid):
    assert sbml._sid(name) == sid
    assert libsbml.SyntaxChecker.isValidSBMLSId(sid)


# ---- what other tools write ------------------------------------------------------------------
def sbml_text(reactions, species=("A", "B"), boundary=(), params=None, size=1.0, level=(3, 1), edit=None):
    """An SBML document built with libsbml: `reactions` are (id, reactants, products, law
    formula[, local parameters]); boundary species start at 2; `edit(model)` adds the rest."""
    doc = libsbml.SBMLDocument(*level)
    m = doc.createModel()
    m.setId("hand_made")
    c = m.createCompartment()
    c.setId("c"), c.setSize(size), c.setConstant(True)
    for sid in (*species, *boundary):
        sp = m.createSpecies()
        sp.setId(sid), sp.setCompartment("c"), sp.setInitialConcentration(2.0 if sid in boundary else 0.5)
        sp.setBoundaryCondition(sid in boundary), sp.setHasOnlySubstanceUnits(False), sp.setConstant(False)
    for pid, value in (params or {}).items():
        p = m.createParameter()
        p.setId(pid), p.setValue(value), p.setConstant(True)
    for rid, reactants, products, formula, *local in reactions:
        r = m.createReaction()
        r.setId(rid), r.setReversible(False), r.setFast(False)
        for sids, create in ((reactants, r.createReactant), (products, r.createProduct)):
            for s in sids:
                ref = create()
                ref.setSpecies(s), ref.setStoichiometry(1), ref.setConstant(True)
        law = r.createKineticLaw()
        assert law.setMath(libsbml.parseL3Formula(formula)) == libsbml.LIBSBML_OPERATION_SUCCESS, formula
        for pid, value in (local[0] if local else {}).items():
            p = law.createLocalParameter() if level[0] == 3 else law.createParameter()
            p.setId(pid), p.setValue(value)
    if edit:
        edit(m)
    return libsbml.writeSBMLToString(doc)


def _initial_assignment(m):
    a = m.createInitialAssignment()
    a.setSymbol("k2"), a.setMath(libsbml.parseL3Formula("2 * kin"))


def _function_mm(m):
    f = m.createFunctionDefinition()
    f.setId("henri_mm"), f.setMath(libsbml.parseL3Formula("lambda(S, Vm, Km, Vm * S / (Km + S))"))


# a linear model in a compartment of size 2 (laws are amounts per time, rates per volume)
LINEAR_FORMS = sbml_text(
    [("Rin", ["X"], ["A"], "kin * X"),  # boundary reactant: phi = 3 * 2 / 2
     ("R1", ["A"], ["B"], "c * k1 * A", {"k1": 0.5}),  # compartment-scaled: k = 0.5
     ("R2", ["B"], [], "B * k2"),  # k2 = 2 * kin by initial assignment: k = 6 / 2
     ("R3", ["A"], ["Y"], "(A * 4) / 2 / c")],  # boundary product = excretion: k = 1 / 2
    boundary=("X", "Y"), params={"kin": 3.0, "k2": 0.0}, size=2.0, edit=_initial_assignment)
LINEAR_WANT = Network(2, [0, 1, 2, 1], [1, 2, 3, 3], [3, 0.5, 3, 0.5], name="hand_made")

# a Michaelis-Menten model in SBML L2V4 with a function definition, as COPASI writes them
MM_FORMS = sbml_text(
    [("Rin", [], ["A"], "1.5"),
     ("R1", ["A"], ["B"], "(V * A) / (A + K)", {"V": 4.0, "K": 0.25}),
     ("R2", ["B"], ["A"], "Vb / (Kb + B) * B", {"Kb": 3.0}),
     ("R3", ["B"], [], "henri_mm(B, 2, Kx + 1)", {"Kx": 0.5})],
    params={"Vb": 0.75}, level=(2, 4), edit=_function_mm)
MM_WANT = Network(2, [0, 1, 2, 2], [1, 2, 1, 3], [1.5, 4, 0.75, 2], [np.nan, 0.25, 3, 1.5],
                  "michaelis-menten", "hand_made")


@pytest.mark.parametrize("text,want", [(LINEAR_FORMS, LINEAR_WANT), (MM_FORMS, MM_WANT)], ids=KINETICS)
def test_reads_other_law_forms(tmp_path, text, want):
    path = tmp_path / "other.xml"
    path.write_text(text)
    (net,) = read_networks(path)
    assert_same(want, net)
    assert net.meta["nodes"] == ["A", "B"]


def test_modifier_not_in_the_law_and_missing_encoding_are_fine(tmp_path):
    def modifier(m):
        m.getReaction("R1").createModifier().setSpecies("B")

    text = sbml_text([("Rin", [], ["A"], "1"), ("R1", ["A"], [], "k * A", {"k": 2.0})], edit=modifier)
    path = tmp_path / "mod.sbml"
    path.write_text(text.replace(' encoding="UTF-8"', ""))
    (net,) = read_networks(path)
    np.testing.assert_array_equal(net.rate, [1, 2])


# ---- bad files -----------------------------------------------------------------------------
IN = ("Rin", [], ["A"], "1")
OUT = ("Rout", ["B"], [], "k * B", {"k": 1.0})


def _event(m):
    e = m.createEvent()
    e.setId("pulse"), e.setUseValuesFromTriggerTime(True)
    t = e.createTrigger()
    t.setMath(libsbml.parseL3Formula("time > 1")), t.setInitialValue(False), t.setPersistent(True)


def _rate_rule(m):
    r = m.createRateRule()
    r.setVariable("B"), r.setMath(libsbml.parseL3Formula("1"))


def _stoichiometry(m):
    m.getReaction("R1").getProduct(0).setStoichiometry(2)


BAD = [  # file name, content, words in the problem (the element id among them), line or None
    ("malformed.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<sbml>\n<model', "not a valid SBML document", 3),
    ("mismatched.sbml", '\n\n<sbml>\n</model>', "not a valid SBML document", 4),
    ("not_sbml.xml", "<html><body/></html>", "not a valid SBML document"),
    ("no_model.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="http://www.sbml.org/sbml/'
                     'level3/version1/core" level="3" version="1"/>', "must contain a <model> element"),
    ("no_model_l3v2.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<sbml xmlns="http://www.sbml.org/sbml/'
                          'level3/version2/core" level="3" version="2"/>', "SBML document has no model"),
    ("empty_model.xml", sbml_text([], species=()), "no species"),
    ("no_reactions.xml", sbml_text([]), "no reactions"),
    ("two_products.xml", sbml_text([IN, ("R1", ["A"], ["A", "B"], "k * A", {"k": 1.0}), OUT]),
     "reaction R1: has 2 products (A, B)"),
    ("two_reactants.xml", sbml_text([IN, ("R1", ["A", "B"], ["B"], "k * A * B", {"k": 1.0}), OUT]),
     "reaction R1: has 2 reactants"),
    ("negative.xml", sbml_text([IN, ("R1", ["A"], ["B"], "k * A", {"k": -1.0}), OUT]),
     "reaction R1: rate constant k must be positive"),
    ("zero_intake.xml", sbml_text([("Rin", [], ["A"], "phi", {"phi": 0.0}), ("R1", ["A"], ["B"], "A"), OUT]),
     "reaction Rin: intake flux phi must be positive"),
    ("infinite.xml", sbml_text([IN, ("R1", ["A"], ["B"], "k * A", {"k": math.inf}), OUT]),
     "reaction R1: rate constant k is not finite"),
    ("nan.xml", sbml_text([IN, ("R1", ["A"], ["B"], "k * A", {"k": math.nan}), OUT]),
     "reaction R1: rate constant k is not finite"),
    ("bad_km.xml", sbml_text([IN, ("R1", ["A"], ["B"], "V * A / (K + A)", {"V": 1.0, "K": -2.0}),
                              ("Rout", ["B"], [], "B / (1 + B)")]), "reaction R1: Michaelis constant K"),
    ("square.xml", sbml_text([IN, ("R1", ["A"], ["B"], "k * A^2", {"k": 1.0}), OUT]),
     "reaction R1: rate law 'k * A^2' is neither mass action"),
    ("twice.xml", sbml_text([IN, ("R1", ["A"], ["B"], "k * A * A", {"k": 1.0}), OUT]),
     "reaction R1: rate law"),
    ("hill.xml", sbml_text([IN, ("R1", ["A"], ["B"], "V * A / (K + 2 * A)", {"V": 1.0, "K": 1.0}), OUT]),
     "reaction R1: rate law denominator"),
    ("reversible.xml", sbml_text([IN, ("R1", ["A"], ["B"], "k * A - k * B", {"k": 1.0}), OUT]),
     "reaction R1: rate law 'k * A - k * B'"),
    ("modifier.xml", sbml_text([IN, ("R1", ["A"], ["B"], "k * A * B", {"k": 1.0}), OUT]),
     "reaction R1: rate law depends on species B other than its reactant A"),
    ("intake_law.xml", sbml_text([("Rin", [], ["A"], "k * B", {"k": 1.0}), OUT]),
     "reaction Rin: rate law depends on species B"),
    ("time.xml", sbml_text([("Rin", [], ["A"], "time"), ("R1", ["A"], [], "A")]),
     "reaction Rin: unsupported expression 'time'"),
    ("unknown_param.xml", sbml_text([IN, ("R1", ["A"], ["B"], "kcat * A"), OUT]),
     "reaction R1: unknown symbol 'kcat'"),
    ("unknown_species.xml", sbml_text([IN, ("R1", ["A"], ["Z"], "A"), OUT]),
     "reaction R1: unknown species 'Z'"),
    ("no_law.xml", sbml_text([IN, ("R1", ["A"], ["B"], "A"), OUT],
                             edit=lambda m: m.getReaction("R1").unsetKineticLaw()), "reaction R1: has no kinetic law"),
    ("stoichiometry.xml", sbml_text([IN, ("R1", ["A"], ["B"], "A"), OUT], edit=_stoichiometry),
     "reaction R1: stoichiometry 2"),
    ("straight.xml", sbml_text([IN, ("R1", ["X"], [], "1"), OUT], boundary=("X",)),
     "reaction R1: has no node species"),
    ("mixed.xml", sbml_text([IN, ("R1", ["A"], ["B"], "A"), ("R2", ["B"], [], "B / (1 + B)")]),
     "reaction R2 has a Michaelis-Menten law but reaction R1 a mass-action law"),
    ("no_intake.xml", sbml_text([("R1", ["A"], ["B"], "A"), OUT]), "no intake"),
    ("rate_rule.xml", sbml_text([IN, OUT], edit=_rate_rule), "rate rule B"),
    ("event.xml", sbml_text([IN, OUT], edit=_event), "event pulse"),
]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_file(tmp_path, case):
    name, content, problem, *line = case
    e = check_bad_file(tmp_path / name, content, problem, line[0] if line else None)
    assert str(pickle.loads(pickle.dumps(e))) == str(e)


def test_write_refuses_several_networks(tmp_path):
    rng = np.random.default_rng(0)
    two = [random_network(rng, name=f"n{i}") for i in range(2)]
    for name in ("two.xml", "two.sbml"):
        with pytest.raises(FormatError, match="holds exactly one network, got 2") as e:
            write_networks(tmp_path / name, two)
        assert str(e.value).startswith(str(tmp_path / name))
    assert not list(tmp_path.iterdir())


# ---- metabnet convert ----------------------------------------------------------------------
def convert(*args):
    return CliRunner().invoke(main, ["convert", *map(str, args)])


@pytest.mark.parametrize("kinetics", KINETICS)
def test_convert_round_trip_all_formats(tmp_path, kinetics):
    rng = np.random.default_rng(5)
    net, _ = relabel_by_first_appearance(random_network(rng, kinetics, integer=True, name="chain"))
    chain = ["chain.json", "chain.xml", "chain.tsv", "chain.sbml", "chain.jsonl"]
    if kinetics == "linear":
        chain += ["chain.tokens.json", "chain.SBML"]  # the paper's encoding: integer linear only
    write_networks(tmp_path / chain[0], net)
    for a, b in zip(chain, chain[1:]):
        r = convert(tmp_path / a, tmp_path / b)
        assert r.exit_code == 0, r.output
        assert f"1 network(s) written to {tmp_path / b}" in r.output
        (back,) = read_networks(tmp_path / b)
        assert_same(net, back)


def test_convert_to_folder(tmp_path):
    rng = np.random.default_rng(6)
    nets = [random_network(rng, name=name) for name in ["glycolysis", "TCA cycle", "glycolysis", "α/β"]]
    write_networks(tmp_path / "many.jsonl", nets)
    r = convert(tmp_path / "many.jsonl", tmp_path / "one.xml")
    assert r.exit_code == 1 and "holds 4 networks" in r.output and "--to" in r.output
    assert not (tmp_path / "one.xml").exists()
    paper = [random_network(rng, "linear", integer=True, name=f"p{i}") for i in range(3)]
    write_networks(tmp_path / "paper.jsonl", paper)
    r = convert(tmp_path / "paper.jsonl", tmp_path / "all.tokens.json")  # token JSON holds many
    assert r.exit_code == 0 and "3 network(s) written" in r.output, r.output
    for net, back in zip(paper, read_networks(tmp_path / "all.tokens.json"), strict=True):
        assert_same(net, back)
    r = convert(tmp_path / "many.jsonl", tmp_path / "out", "--to", "sbml")
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["TCA_cycle.sbml", "glycolysis-2.sbml", "glycolysis.sbml", "network4.sbml"]
    for net, f in zip(nets, ["glycolysis", "TCA_cycle", "glycolysis-2", "network4"]):
        (back,) = read_networks(tmp_path / "out" / f"{f}.sbml")
        assert_same(net, back)


def test_convert_errors(tmp_path):
    (tmp_path / "bad.xml").write_text({b[0]: b[1] for b in BAD}["two_products.xml"])
    (tmp_path / "file.txt").write_text("x")
    write_networks(tmp_path / "ok.json", random_network(np.random.default_rng(0), name="ok"))
    cases = [(["missing.json", "x.json"], "missing.json: cannot read file"),
             (["bad.xml", "x.json"], "bad.xml: reaction R1: has 2 products"),
             (["file.txt", "x.json"], "unknown file type"),
             (["ok.json", "x.csv"], "x.csv: cannot write '.csv'"),
             (["ok.json", "file.txt", "--to", "xml"], "file.txt: --to needs a folder")]
    for args, problem in cases:
        r = convert(*(tmp_path / a for a in args[:2]), *args[2:])
        assert r.exit_code == 1 and problem in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xml", "file.txt", "ok.json"]


# ---- libRoadRunner: an independent simulator agrees with metabnet.solve.dispatch ---------------------------
def roadrunner_steady_state(text: str, species: list[str]) -> tuple[np.ndarray, str]:
    """Concentrations of `species` at libRoadRunner's steady state: NLEQ2 at relative tolerance
    1e-12 from x(0) = 0, or, where it fails, CVODE from x(0) = 0 to t = 1e6 at 1e-12 / 1e-15."""
    roadrunner = pytest.importorskip("roadrunner")
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)
    rr = roadrunner.RoadRunner(text)
    solver = rr.getSteadyStateSolver()
    solver.setValue("relative_tolerance", 1e-12)  # 1e-14 makes NLEQ2 run out of iterations
    solver.setValue("auto_moiety_analysis", False)  # an open network with an equilibrium has none
    try:
        rr.steadyState()
        how = "steady-state solver"
    except RuntimeError:
        rr.resetAll()
        rr.integrator.relative_tolerance = 1e-12
        rr.integrator.absolute_tolerance = 1e-15
        rr.simulate(0, 1e6, 2)
        how = "simulation"
    return np.array([rr[f"[{s}]"] for s in species]), how


def assert_close(got: np.ndarray, want: np.ndarray, what: str):
    """Per-species relative error below 1e-6; species whose exact value is 0 (not reached from
    the intake) must be below 1e-9 of the largest concentration."""
    pos = want > 0
    rel = np.abs(got - want)[pos] / want[pos]
    assert rel.max() < 1e-6, f"{what}: per-species relative error {rel.max():.2e}"
    assert np.all(np.abs(got[~pos]) < 1e-9 * want.max()), f"{what}: {got[~pos]} where 0 expected"


@pytest.mark.parametrize("kinetics", KINETICS)
def test_roadrunner_steady_state_equals_solve(kinetics):
    pytest.importorskip("roadrunner")
    used = []
    for net in generated(kinetics, 12, seed=7):
        exact = solve(net)
        assert exact["exists_unique"] and exact["residual"] < 1e-12
        species = [f"S{i}" for i in range(1, net.n + 1)]
        got, how = roadrunner_steady_state(sbml.to_sbml(net), species)
        assert_close(got, np.array(exact["x"]), f"{net.name} ({how})")
        used.append(how)
    assert used.count("steady-state solver") >= len(used) // 2, used


@pytest.mark.parametrize("text", [LINEAR_FORMS, MM_FORMS], ids=KINETICS)
def test_roadrunner_agrees_with_the_reader(tmp_path, text):
    """The reader's semantics (boundary values, initial assignments, function definitions,
    law forms) give the equilibrium libRoadRunner finds in the same file.  (A common compartment
    volume only rescales time, so the exact rates in test_reads_other_law_forms check it.)"""
    pytest.importorskip("roadrunner")
    path = tmp_path / "other.xml"
    path.write_text(text.replace('initialConcentration="0.5"', 'initialConcentration="0"'))
    (net,) = read_networks(path)
    got, how = roadrunner_steady_state(path.read_text(), net.meta["nodes"])
    assert_close(got, np.array(solve(net)["x"]), f"hand-made {net.kinetics} model ({how})")
