"""SBML files (DESIGN §5): one network per model, read and written with python-libsbml.

Reading.  Non-boundary species are the inner nodes 1..n, in document order (their names, or
ids where unnamed, go to ``net.meta["nodes"]``).  Boundary (or constant) species are the
outside world.  Every reaction becomes one edge, by its reactant R and product P:

- R a node, P a node          inner edge R -> P;
- no R or R a boundary        intake: the rate law must be a positive constant phi (numbers,
  species                     parameters, compartment sizes, boundary species values);
- R a node, no P or P a       excretion from R;
  boundary species

and the rate law of an inner or excretion edge must be mass action ``k*R`` or
Michaelis-Menten ``V*R/(K+R)`` in any arrangement of products and quotients (``R*k``,
``(V*R)/(R+K)``, ``c*k*R`` with a compartment c, ``V/(K+R)*R``, constant factors anywhere).
Laws are matched on libsbml's math AST, after function definitions are expanded; symbols
take their values from local parameters, then global parameters (assignment rules and
initial assignments of constants included), compartment sizes and boundary species.  Rates
are per unit volume: a law divided by the common size of the nodes' compartments.  A network
is either all mass action or all Michaelis-Menten (the Network model has one kinetics), so a
mixture is refused.  Initial concentrations are ignored (equilibria are from x(0) = 0).

The semantics are libRoadRunner's (the tests compare the two): a kinetic law's local
parameters shadow every other symbol, species included (a local parameter named like the
reactant is refused, the flux would not depend on it); Level 2 ``stoichiometryMath`` is
evaluated like any constant and held to stoichiometry 1; an unset Level 3 stoichiometry is 1;
``reversible`` alone changes nothing (the law is the flux); a ``conversionFactor`` (the
species' own, else the model's) multiplies a node's rate of change, so one common factor c
multiplies every rate, maximal rate and intake flux (K unchanged) and different factors on
different nodes are refused.  The text comes from read_text (a byte-order mark dropped,
UTF-16 decoded) and its XML declaration is made to say UTF-8; a non-ASCII file that declares
another encoding is refused.

Anything else - two reactants or two products, stoichiometry other than 1, a law that depends
on another species (a modifier that matters), time, delay, rateOf, avogadro, a reaction or
species-reference id or an unknown symbol, another law form (a reverse term included), a
non-positive or non-finite constant, an unknown species, rate rules, algebraic rules, events,
assignment rules on species, ``fast="true"`` reactions, and any SBML Level 3 package marked
``required="true"`` (comp submodels, distrib, multi, ...: metabnet implements none, and
libRoadRunner 2.10 silently drops comp submodels) - is refused with a FormatError naming the
file and the reaction, species, rule, event or package.

Writing.  An SBML Level 3 Version 1 document: one compartment ``cell`` of size 1, species
``S1..Sn`` (initial concentration 0, names from ``meta["nodes"]`` when given), one reaction
``R1..Rm`` per edge in edge order, intake as a reaction with no reactant and the constant law
``phi``, every constant a local parameter.  The model id is the network name made a valid
SId, its name the network name unchanged but for the characters XML cannot carry (control
characters, lone surrogates), which become U+FFFD; an unnamed network gets neither, and is
read back named after its file.  libsbml prints numbers with 15 significant digits;
the writer re-prints parameter values at full (repr) precision so that a round trip is exact.
"""
from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import libsbml

from metabnet.fileio import FormatError, number_text, read_text, write_text
from metabnet.network import Network, NetworkError

LEVEL, VERSION = 3, 1
COMPARTMENT = "cell"
_IGNORED_READ_ERRORS = {libsbml.MissingXMLEncoding}  # the XML spec makes encoding optional


class _Refuse(Exception):
    """A problem inside one reaction or rule; the caller adds the file and the element id."""


# ---- reading ---------------------------------------------------------------------------
def read(path, text: str | None = None) -> list[Network]:
    """The one network in the SBML file at `path` (its `text`, when already read), as a list;
    FormatError naming the file and the offending element on any problem."""
    path = Path(path)
    text = _utf8_declaration(path, read_text(path) if text is None else text)
    doc = libsbml.readSBMLFromString(text)
    _refuse_required_packages(path, doc)
    _raise_read_errors(path, doc)
    model = doc.getModel()
    if model is None:
        raise FormatError(path, "SBML document has no model")
    if model.getNumFunctionDefinitions():
        props = libsbml.ConversionProperties()
        props.addOption("expandFunctionDefinitions", True)
        if doc.convert(props) != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise FormatError(path, "SBML function definitions cannot be expanded")
        model = doc.getModel()
    try:
        return [_Model(path, model).network()]
    except RecursionError:  # outside a reaction (rules, initial assignments)
        raise FormatError(path, "SBML math nested too deeply to read "
                                f"(more than ~{sys.getrecursionlimit()} levels)") from None


_DECLARATION = re.compile(r"""<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([^"']*)\1""")


def _utf8_declaration(path, text: str) -> str:
    """`text` (decoded already, see read_text) with an XML declaration that says UTF-8, as
    libsbml reads the string it is given as UTF-8 whatever the declaration says: a file in
    UTF-16 with its byte-order mark reads right, and one that declares an encoding metabnet
    does not decode (ISO-8859-1, ...) is read only when it is plain ASCII, the same characters
    in either, and otherwise refused naming the encoding, never misread."""
    if not text.startswith("<?xml"):  # else libsbml adds a declaration line and shifts line numbers
        return '<?xml version="1.0" encoding="UTF-8"?>' + text
    m = _DECLARATION.match(text)
    if m is None:
        return text
    declared = m.group(2)
    if declared.upper().replace("_", "-") not in ("UTF-8", "UTF8", "UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32",
                                                  "ASCII", "US-ASCII") and not text.isascii():
        raise FormatError(path, f"the XML declaration says encoding {declared!r}; metabnet reads "
                                "UTF-8 (or UTF-16 with a byte-order mark): save the file as UTF-8")
    return text[:m.start(2)] + "UTF-8" + text[m.end(2):]


def _refuse_required_packages(path, doc) -> None:
    """FormatError naming the first SBML Level 3 package that the document marks
    required="true" (its math depends on it: comp submodels, distrib, multi, arrays, ...):
    metabnet implements none, and reading the core alone would give other dynamics.  Packages
    marked required="false" (layout, render, fbc bounds, groups) leave the math unchanged."""
    ns = doc.getNamespaces()
    if doc.getLevel() < 3 or ns is None:  # packages exist from Level 3 on
        return
    for i in range(ns.getNumNamespaces()):
        uri = ns.getURI(i)
        if libsbml.SBMLNamespaces.isSBMLNamespace(uri):  # the core itself
            continue
        if doc.isSetPackageRequired(uri) and doc.getPackageRequired(uri):
            name = ns.getPrefix(i) or uri
            raise FormatError(path, f"SBML package {name!r} ({uri}) is marked required: the model's "
                                    "math depends on it, and metabnet does not implement it")


def _raise_read_errors(path, doc) -> None:
    """FormatError for the first error libsbml met while parsing, with the line number where
    the XML itself is malformed (SBML structure errors name the element instead)."""
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR and err.getErrorId() not in _IGNORED_READ_ERRORS:
            msg = err.getMessage().split("Reference:")[0].strip().rstrip(".")
            line = (err.getLine() or None) if err.getCategory() == libsbml.LIBSBML_CAT_XML else None
            raise FormatError(path, f"not a valid SBML document: {msg}", line)


class _Model:
    """One libsbml Model being turned into a Network: symbol values and reaction shapes."""

    def __init__(self, path, model):
        self.path, self.model = path, model
        self.nodes = {}  # species id -> node number 1..n
        self.boundary = set()
        for sp in model.getListOfSpecies():
            if sp.getBoundaryCondition() or sp.getConstant():
                self.boundary.add(sp.getId())
            else:
                self.nodes[sp.getId()] = len(self.nodes) + 1
        self.rules = {r.getVariable(): r for r in model.getListOfRules() if r.isAssignment()}
        self.initial = {a.getSymbol(): a for a in model.getListOfInitialAssignments()}
        self._resolving = set()

    def fail(self, problem, element: str | None = None):
        where = f"{element}: " if element else ""
        raise FormatError(self.path, f"{where}{problem}")

    # -- whole model ---------------------------------------------------------------------
    def network(self) -> Network:
        """Check the model-wide rules, turn every reaction into an edge, validate."""
        m = self.model
        if m.getNumSpecies() == 0:
            self.fail("SBML model has no species")
        if m.getNumReactions() == 0:
            self.fail("SBML model has no reactions")
        if m.getNumEvents():
            self.fail("SBML events are not supported", f"event {m.getEvent(0).getId() or 1}")
        for rule in m.getListOfRules():
            kind = "rate rule" if rule.isRate() else "algebraic rule" if rule.isAlgebraic() else "assignment rule"
            if not rule.isAssignment() or rule.getVariable() in self.nodes or rule.getVariable() in self.boundary:
                self.fail(f"{kind} on {rule.getVariable() or 'the model'} changes the dynamics and is not supported",
                          f"{kind} {rule.getVariable()}".strip())
        self.volume = self._volume()
        scale = self._conversion_factor()
        ids, edges = [], []
        for i, r in enumerate(m.getListOfReactions(), 1):
            ids.append(r.getId() or f"#{i}")
            if r.isSetFast() and r.getFast():
                self.fail("fast=\"true\" (a reaction at equilibrium at all times) is not supported",
                          f"reaction {ids[-1]}")
            edges.append(self._catch(lambda: self._edge(r), f"reaction {ids[-1]}"))
        first = {}  # kinetics -> first reaction id with that law
        for rid, (_, _, kin, _, _) in zip(ids, edges):
            if kin is not None:
                first.setdefault(kin, rid)
        if len(first) > 1:
            self.fail(f"reaction {first['michaelis-menten']} has a Michaelis-Menten law but reaction "
                      f"{first['linear']} a mass-action law; a network is either all mass action or "
                      "all Michaelis-Menten")
        kinetics = next(iter(first), "linear")
        n = len(self.nodes)
        src = [0 if e[0] is None else e[0] for e in edges]
        dst = [n + 1 if e[1] is None else e[1] for e in edges]
        km = [e[4] for e in edges] if kinetics == "michaelis-menten" else None
        names = [sp.getName() or sp.getId() for sp in m.getListOfSpecies() if sp.getId() in self.nodes]
        name = m.getName() or m.getId() or self.path.stem
        net = Network(n, src, dst, [e[3] * scale for e in edges], km, kinetics, name, {"nodes": names})
        try:
            return net.validate()
        except NetworkError as e:
            raise FormatError(self.path, e) from None

    def _volume(self) -> float:
        """The common size of the compartments that hold the nodes (rates are per volume)."""
        sizes = {}
        for sp in self.model.getListOfSpecies():
            if sp.getId() not in self.nodes:
                continue
            c = sp.getCompartment()
            size = self._catch(lambda: self.value(c, {}), f"species {sp.getId()}")
            if not (math.isfinite(size) and size > 0):
                self.fail(f"compartment {c} must have a positive finite size, got {size}", f"species {sp.getId()}")
            if sp.getHasOnlySubstanceUnits() and size != 1:
                self.fail("a species in amount units is supported only in a compartment of size 1",
                          f"species {sp.getId()}")
            sizes[c] = size
        if len(set(sizes.values())) > 1:
            self.fail(f"species live in compartments of different sizes ({sizes}); not supported")
        return sizes.popitem()[1] if sizes else 1.0

    def _conversion_factor(self) -> float:
        """The conversion factor of the nodes (their own, else the model's; 1 without): it
        multiplies each node's rate of change.  One common factor c multiplies every rate
        constant, maximal rate and intake flux by c (K unchanged) - the same dynamics; nodes
        with different factors are refused, as a network has no per-node time scale."""
        factors = {}
        model_cf = self.model.getConversionFactor() if self.model.isSetConversionFactor() else None
        for sp in self.model.getListOfSpecies():
            if sp.getId() not in self.nodes:
                continue
            cf = sp.getConversionFactor() if sp.isSetConversionFactor() else model_cf
            where = f"species {sp.getId()}" + ("" if sp.isSetConversionFactor() else " (the model's conversionFactor)")
            x = 1.0 if cf is None else self._catch(lambda: self.value(cf, {}), where)
            if not (math.isfinite(x) and x > 0):
                self.fail(f"conversionFactor {cf} must be positive and finite, got {x}", where)
            factors.setdefault(x, (sp.getId(), cf))
        if len(factors) > 1:
            (x1, (s1, c1)), (x2, (s2, c2)) = list(factors.items())[:2]
            self.fail(f"species {s1} and {s2} have different conversion factors ({c1 or 'none'}: {x1:g}, "
                      f"{c2 or 'none'}: {x2:g}); a network has one time scale for all its nodes, so only a "
                      "common conversionFactor is supported")
        return next(iter(factors), 1.0)

    def _catch(self, fn, element):
        try:
            return fn()
        except _Refuse as e:
            self.fail(e, element)
        except RecursionError:
            self.fail(f"math nested too deeply to read (more than ~{sys.getrecursionlimit()} levels)", element)

    # -- one reaction --------------------------------------------------------------------
    def _edge(self, r) -> tuple:
        """(src node or None for intake, dst node or None for excretion, kinetics or None for
        intake, rate, K or NaN) of one reaction."""
        reactants = self._species_refs(r.getListOfReactants(), "reactant")
        products = self._species_refs(r.getListOfProducts(), "product")
        law = r.getKineticLaw()
        if law is None or law.getMath() is None:
            raise _Refuse("has no kinetic law")
        local = {p.getId(): p for p in law.getListOfParameters()}  # local parameters in L3 too
        u = reactants[0] if reactants and reactants[0] in self.nodes else None
        v = products[0] if products and products[0] in self.nodes else None
        if u is None and v is None:
            raise _Refuse("has no node species as reactant or product (it would go straight from "
                          "intake to excretion)")
        if u is None:  # intake: a constant flux
            self._only_constants(_names(law.getMath(), local), None)
            phi = self._eval(law.getMath(), local)
            return None, self.nodes[v], None, _positive(phi / self.volume, "intake flux phi"), math.nan
        if u in local:
            raise _Refuse(f"local parameter {u} of the kinetic law shadows reactant species {u}: in the "
                          f"law, {u} is the constant {local[u].getValue():g}, so the flux does not depend on the "
                          "species; not supported")
        kinetics, rate, km = self._law(law.getMath(), u, local)
        if kinetics == "michaelis-menten":
            km = _positive(km, "Michaelis constant K")
        rate = _positive(rate / self.volume, "rate constant k" if kinetics == "linear" else "maximal rate V")
        return self.nodes[u], None if v is None else self.nodes[v], kinetics, rate, km

    def _species_refs(self, refs, role) -> list[str]:
        """Species ids of the reactants or products; refuse two, unknown ones, stoichiometry != 1."""
        if len(refs) > 1:
            raise _Refuse(f"has {len(refs)} {role}s ({', '.join(s.getSpecies() for s in refs)}); "
                          f"an edge has one {role}")
        out = []
        for ref in refs:
            sid = ref.getSpecies()
            if sid not in self.nodes and sid not in self.boundary:
                raise _Refuse(f"unknown species {sid!r}")
            if ref.isSetStoichiometryMath():  # Level 2: a formula for the stoichiometry
                sm = ref.getStoichiometryMath()
                if sm.getMath() is None:
                    raise _Refuse(f"stoichiometryMath of {role} {sid} has no math")
                self._only_constants(_names(sm.getMath()), None)
                x = self._eval(sm.getMath(), {})
                if x != 1:
                    raise _Refuse(f"stoichiometryMath '{libsbml.formulaToL3String(sm.getMath())}' = {x:g} of "
                                  f"{role} {sid}; only stoichiometry 1 is supported")
            elif ref.isSetStoichiometry() and ref.getStoichiometry() != 1:
                raise _Refuse(f"stoichiometry {ref.getStoichiometry():g} of {role} {sid}; only 1 is supported")
            if ref.isSetId() and (ref.getId() in self.initial or ref.getId() in self.rules):
                raise _Refuse(f"variable stoichiometry of {role} {sid} is not supported")
            out.append(sid)
        return out

    def _law(self, math_ast, s: str, local) -> tuple[str, float, float]:
        """(kinetics, k or V, K or NaN) of a law of reactant `s`, matched on the AST: after
        flattening products and quotients, `s` must be one numerator factor, at most one
        denominator factor may be a sum K + s, and every other factor must be constant."""
        num, den = [], []
        _flatten(math_ast, num, den)
        coef, n_s, sums = 1.0, 0, []
        for node, up in [(f, True) for f in num] + [(f, False) for f in den]:
            names = _names(node, local)
            if s not in names:
                self._only_constants(names, s)
                x = self._eval(node, local)
                if not up and x == 0:
                    raise _Refuse(f"rate law '{libsbml.formulaToL3String(math_ast)}' divides by "
                                  f"'{libsbml.formulaToL3String(node)}', which is 0")
                coef = coef * x if up else coef / x
            elif up and node.getType() == libsbml.AST_NAME:
                n_s += 1
            elif not up and node.getType() == libsbml.AST_PLUS:
                sums.append(self._saturation(node, s, local))
            else:
                n_s = math.inf
        if n_s != 1 or len(sums) > 1:
            raise _Refuse(f"rate law '{libsbml.formulaToL3String(math_ast)}' is neither mass action "
                          f"k*{s} nor Michaelis-Menten V*{s}/(K+{s})")
        return ("michaelis-menten", coef, sums[0]) if sums else ("linear", coef, math.nan)

    def _saturation(self, node, s: str, local) -> float:
        """K of a denominator sum K + s (K the sum of the constant terms); refuse other sums."""
        terms = [node.getChild(i) for i in range(node.getNumChildren())]
        others = [t for t in terms if not (t.getType() == libsbml.AST_NAME and t.getName() == s)]
        if len(others) != len(terms) - 1 or not others or any(s in _names(t, local) for t in others):
            raise _Refuse(f"rate law denominator '{libsbml.formulaToL3String(node)}' is not of the form K+{s}")
        for t in others:
            self._only_constants(_names(t, local), s)
        return math.fsum(self._eval(t, local) for t in others)

    def _only_constants(self, names, s):
        for name in names:
            if name in self.nodes:
                raise _Refuse(f"rate law depends on species {name}" + (f" other than its reactant {s}" if s else "")
                              + " (a modifier or a second substrate); not supported")

    # -- values of symbols ---------------------------------------------------------------
    def _eval(self, node, local) -> float:
        try:
            return _evaluate(node, lambda name: self.value(name, local))
        except (ZeroDivisionError, OverflowError, ValueError) as e:
            raise _Refuse(f"cannot evaluate '{libsbml.formulaToL3String(node)}' ({e})") from None

    def value(self, name: str, local) -> float:
        """The constant value of a symbol: local parameter, assignment rule, initial assignment,
        global parameter, compartment size or boundary species value."""
        if name in local:
            return local[name].getValue()
        if name in self._resolving:
            raise _Refuse(f"the value of {name} depends on itself")
        self._resolving.add(name)
        try:
            return self._value(name)
        finally:
            self._resolving.discard(name)

    def _value(self, name: str) -> float:
        m = self.model
        for table in (self.rules, self.initial):
            if name in table and table[name].getMath() is not None:
                expr = table[name].getMath()
                self._only_constants(_names(expr), None)
                return self._eval(expr, {})
        if (p := m.getParameter(name)) is not None:
            if not p.isSetValue():
                raise _Refuse(f"parameter {name} has no value")
            return p.getValue()
        if (c := m.getCompartment(name)) is not None:
            if not c.isSetSize():
                raise _Refuse(f"compartment {name} has no size")
            return c.getSize()
        if (sp := m.getSpecies(name)) is not None and name in self.boundary:
            size = self.value(sp.getCompartment(), {})
            if sp.isSetInitialConcentration():
                conc = sp.getInitialConcentration()
                return conc * size if sp.getHasOnlySubstanceUnits() else conc
            if sp.isSetInitialAmount():
                amount = sp.getInitialAmount()
                return amount if sp.getHasOnlySubstanceUnits() else amount / size
            raise _Refuse(f"boundary species {name} has no initial value")
        raise _Refuse(f"unknown symbol {name!r} in a rate law")


def _positive(x: float, what: str) -> float:
    if not math.isfinite(x):
        raise _Refuse(f"{what} is not finite ({x})")
    if x <= 0:
        raise _Refuse(f"{what} must be positive, got {x:g}")
    return float(x)


def _flatten(node, num: list, den: list) -> None:
    """Split a product/quotient tree into numerator and denominator factors (unary minus
    becomes a factor -1)."""
    t = node.getType()
    kids = [node.getChild(i) for i in range(node.getNumChildren())]
    if t == libsbml.AST_TIMES:
        for k in kids:
            _flatten(k, num, den)
    elif t == libsbml.AST_DIVIDE and len(kids) == 2:
        _flatten(kids[0], num, den)
        _flatten(kids[1], den, num)
    elif t == libsbml.AST_MINUS and len(kids) == 1:
        minus_one = libsbml.ASTNode(libsbml.AST_INTEGER)
        minus_one.setValue(-1)
        num.append(minus_one)
        _flatten(kids[0], num, den)
    else:
        num.append(node)


def _names(node, local=()) -> set[str]:
    """Every symbol name in the tree (time and other csymbols included) but the ids in `local`
    (a kinetic law's local parameters, which shadow species and every other symbol)."""
    out = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.getType() in (libsbml.AST_NAME, libsbml.AST_NAME_TIME, libsbml.AST_NAME_AVOGADRO):
            out.add(n.getName() or "time")
        stack.extend(n.getChild(i) for i in range(n.getNumChildren()))
    return out.difference(local)


def _evaluate(node, lookup) -> float:
    """Arithmetic (+ - * / ^ and numbers) on constants; `lookup(name)` gives symbol values."""
    t = node.getType()
    kids = [_evaluate(node.getChild(i), lookup) for i in range(node.getNumChildren())]
    if node.isNumber():
        return float(node.getValue())
    if t == libsbml.AST_NAME:
        return float(lookup(node.getName()))
    if t == libsbml.AST_PLUS:
        return math.fsum(kids) if kids else 0.0
    if t == libsbml.AST_MINUS and len(kids) in (1, 2):
        return -kids[0] if len(kids) == 1 else kids[0] - kids[1]
    if t == libsbml.AST_TIMES:
        return math.prod(kids)
    if t == libsbml.AST_DIVIDE and len(kids) == 2:
        return kids[0] / kids[1]
    if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER) and len(kids) == 2:
        return math.pow(kids[0], kids[1])
    raise _Refuse(f"unsupported expression '{libsbml.formulaToL3String(node)}' in a constant")


# ---- writing ---------------------------------------------------------------------------
def write(path, net: Network) -> None:
    """Write one network to `path` as SBML (through a temporary name); FormatError on failure."""
    write_text(path, to_sbml(net))


def to_sbml(net: Network) -> str:
    """The SBML L3V1 document of one valid network, as text (see the module docstring)."""
    net.validate()
    doc = libsbml.SBMLDocument(LEVEL, VERSION)
    model = doc.createModel()
    if net.name:  # an unnamed network is read back named after its file, as in JSON
        _ok(model.setId(_sid(net.name)), model.setName(_xml_text(net.name)))
    comp = model.createCompartment()
    _ok(comp.setId(COMPARTMENT), comp.setSize(1.0), comp.setConstant(True), comp.setSpatialDimensions(3))
    labels = net.meta.get("nodes")
    labels = labels if isinstance(labels, list) and len(labels) == net.n else None
    for i in range(1, net.n + 1):
        sp = model.createSpecies()
        _ok(sp.setId(f"S{i}"), sp.setCompartment(COMPARTMENT), sp.setInitialConcentration(0.0),
            sp.setHasOnlySubstanceUnits(False), sp.setBoundaryCondition(False), sp.setConstant(False))
        if labels is not None:
            sp.setName(_xml_text(str(labels[i - 1])))
    values = []  # local parameter values in document order, for _full_precision
    mm = net.kinetics == "michaelis-menten"
    for i, (u, v, r, k) in enumerate(zip(net.src.tolist(), net.dst.tolist(), net.rate, net.km_or_nan()), 1):
        rx = model.createReaction()
        _ok(rx.setId(f"R{i}"), rx.setReversible(False), rx.setFast(False))
        if u != 0:
            _species_ref(rx.createReactant(), f"S{u}")
        if v != net.n + 1:
            _species_ref(rx.createProduct(), f"S{v}")
        if u == 0:
            params, formula = {"phi": r}, "phi"
        elif mm:
            params, formula = {"V": r, "K": k}, f"V * S{u} / (K + S{u})"
        else:
            params, formula = {"k": r}, f"k * S{u}"
        law = rx.createKineticLaw()
        for pid, x in params.items():
            p = law.createLocalParameter()
            _ok(p.setId(pid), p.setValue(float(x)))
            values.append(float(x))
        _ok(law.setMath(libsbml.parseL3Formula(formula)))
    return _full_precision(libsbml.writeSBMLToString(doc), values)


def _species_ref(ref, sid: str) -> None:
    _ok(ref.setSpecies(sid), ref.setStoichiometry(1.0), ref.setConstant(True))


def _ok(*codes) -> None:
    """libsbml setters return status codes; a failure here is a bug, not a user error."""
    for code in codes:
        if code not in (libsbml.LIBSBML_OPERATION_SUCCESS, None):
            raise RuntimeError(f"libsbml refused a value: {libsbml.OperationReturnValue_toString(code)}")


_LOCAL_VALUE = re.compile(r'(<localParameter\b[^>]*?\bvalue=")[^"]*(")')


def _full_precision(text: str, values: list[float]) -> str:
    """Re-print the local parameter values (libsbml keeps 15 digits) at repr precision."""
    it = iter(values)
    out, count = _LOCAL_VALUE.subn(lambda m: f"{m.group(1)}{number_text(next(it))}{m.group(2)}", text)
    if count != len(values):
        raise RuntimeError(f"SBML writer: {count} local parameter values printed, {len(values)} expected")
    return out


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(s: str) -> str:
    """`s` with every character that XML 1.0 cannot carry (control characters, NUL, lone
    surrogates, U+FFFE/U+FFFF) replaced by U+FFFD, so the document stays well-formed."""
    return _NOT_XML.sub("\ufffd", s)


def _sid(name: str) -> str:
    """`name` as an SBML SId: letters, digits and _, not starting with a digit."""
    sid = re.sub(r"[^A-Za-z0-9_]", "_", name) or "network"
    return "_" + sid if sid[0].isdigit() else sid
