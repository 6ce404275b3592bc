"""Names end to end (node names, reaction ids through every format, solve, score, knockout,
convert) and why a network has no equilibrium (metabnet.solve.why), against networkx."""
import csv
import itertools
import json

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner
from helpers import random_network

from metabnet.cli.main import main
from metabnet.fileio import FormatError
from metabnet.io.formats import read_networks, write_networks
from metabnet.network import Network, NetworkError
from metabnet.score import knockout as ko
from metabnet.score.scorer import Scorer
from metabnet.solve import solve

FORMATS = ("json", "jsonl", "tsv", "xml")
nan = np.nan


def named(kinetics: str) -> Network:
    """Glycolysis' first steps with two isozymes of the same step (hk1, hk2: Glc -> G6P)."""
    mm = kinetics == "michaelis-menten"
    return Network(3, [0, 1, 1, 2, 3], [1, 2, 2, 3, 4], [1.0, 2.0, 3.0, 4.0, 5.0],
                   [nan, 1.5, 2.5, 0.5, 3.0] if mm else None, kinetics, "glycolysis",
                   nodes=["Glc", "G6P", "F6P"], reactions=["uptake", "hk1", "hk2", "pgi", "export"])


def reactions(net: Network) -> list[tuple]:
    """The reactions as (id, src name, dst name, rate, K): independent of node numbering."""
    km = net.km_or_nan()
    return sorted((net.reaction_name(i), net.node_name(int(net.src[i])), net.node_name(int(net.dst[i])),
                   float(net.rate[i]), None if np.isnan(km[i]) else float(km[i])) for i in range(net.m))


# ---- names through every format -------------------------------------------------------------
@pytest.mark.parametrize("kinetics", ["linear", "michaelis-menten"])
@pytest.mark.parametrize("a,b", list(itertools.product(FORMATS, repeat=2)))
def test_every_format_pair_keeps_names_and_ids(tmp_path, kinetics, a, b):
    net = named(kinetics)
    write_networks(tmp_path / f"one.{a}", net)
    (mid,) = read_networks(tmp_path / f"one.{a}")
    write_networks(tmp_path / f"two.{b}", mid)
    (back,) = read_networks(tmp_path / f"two.{b}")
    assert reactions(back) == reactions(net)
    assert sorted(back.nodes) == sorted(net.nodes)
    assert back.kinetics == kinetics


def test_json_names_follow_the_file_order(tmp_path):
    """"reactions" lists the edges, then the intake, then the excretion, whatever the order
    of the edge arrays."""
    d = named("linear").to_dict()
    assert d["nodes"] == ["Glc", "G6P", "F6P"]
    assert d["edges"] == [[1, 2, 2], [1, 2, 3], [2, 3, 4]] and d["intake"] == [[1, 1]]
    assert d["reactions"] == ["hk1", "hk2", "pgi", "uptake", "export"]
    back = Network.from_dict(d)
    assert back.reactions == ["uptake", "hk1", "hk2", "pgi", "export"]  # edge order: intake first
    assert reactions(back) == reactions(named("linear"))


@pytest.mark.parametrize("change,problem", [
    ({"nodes": ["A", "A", "B"]}, "name 'A' is given to two inner nodes"),
    ({"nodes": ["A", "B"]}, "2 names for 3 inner nodes"),
    ({"nodes": ["A", 7, "B"]}, "nodes[1] must be a non-empty string"),
    ({"nodes": "ABC"}, "'nodes' must be a list"),
    ({"reactions": ["a", "b"]}, "'reactions' holds 2 ids for 5 reactions"),
    ({"reactions": ["a", "b", "", "d", "e"]}, "reactions[2] must be a non-empty string"),
])
def test_bad_names_are_refused_naming_the_file(tmp_path, change, problem):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**named("linear").to_dict(), **change}))
    with pytest.raises(FormatError) as info:
        read_networks(path)
    assert str(path) in str(info.value) and problem in str(info.value)
    with pytest.raises(NetworkError):
        Network.from_dict({**named("linear").to_dict(), **change})


def test_tsv_id_column_and_names(tmp_path):
    path = tmp_path / "hand.tsv"
    path.write_text("src\tdst\trate\tK\tid\nINTAKE\tglc\t1\tin\nglc\tg6p\t2\t0.5\thk1\n"
                    "glc\tg6p\t3\t0.5\thk2\ng6p\tEXCRETION\t1\t2\tout\n")
    (net,) = read_networks(path)
    assert net.nodes == ["glc", "g6p"] and net.reactions == ["in", "hk1", "hk2", "out"]
    assert net.kinetics == "michaelis-menten"
    write_networks(tmp_path / "back.tsv", net)
    text = (tmp_path / "back.tsv").read_text()
    assert text.splitlines()[0] == "src\tdst\trate\tK\tid" and "glc\tg6p\t3\t0.5\thk2" in text
    net.nodes = ["glc", "INTAKE"]
    with pytest.raises(FormatError, match="node 'INTAKE' cannot be written to TSV"):
        write_networks(tmp_path / "bad.tsv", net)


SBML = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" level="3" version="1">
  <model id="glyco" name="glycolysis">
    <listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
    <listOfSpecies>
      <species id="glc" name="D-glucose" compartment="c" initialConcentration="0"
               hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
      <species id="g6p" compartment="c" initialConcentration="0"
               hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfReactions>
      <reaction id="J0" name="uptake" reversible="false" fast="false">
        <listOfProducts><speciesReference species="glc" stoichiometry="1" constant="true"/></listOfProducts>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><cn>1</cn></math></kineticLaw>
      </reaction>
      <reaction id="HK1" name="hexokinase" reversible="false" fast="false">
        <listOfReactants><speciesReference species="glc" stoichiometry="1" constant="true"/></listOfReactants>
        <listOfProducts><speciesReference species="g6p" stoichiometry="1" constant="true"/></listOfProducts>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><times/><cn>2</cn><ci>glc</ci></apply></math></kineticLaw>
      </reaction>
      <reaction id="HK2" name="hexokinase" reversible="false" fast="false">
        <listOfReactants><speciesReference species="glc" stoichiometry="1" constant="true"/></listOfReactants>
        <listOfProducts><speciesReference species="g6p" stoichiometry="1" constant="true"/></listOfProducts>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><times/><cn>3</cn><ci>glc</ci></apply></math></kineticLaw>
      </reaction>
      <reaction id="out" reversible="false" fast="false">
        <listOfReactants><speciesReference species="g6p" stoichiometry="1" constant="true"/></listOfReactants>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><times/><cn>1</cn><ci>g6p</ci></apply></math></kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"""


def test_sbml_keeps_species_and_reaction_ids_and_names(tmp_path):
    """Names where given (isozymes sharing a name: their ids), and the file's ids written back."""
    (tmp_path / "glyco.xml").write_text(SBML)
    (net,) = read_networks(tmp_path / "glyco.xml")
    assert net.nodes == ["D-glucose", "g6p"]
    assert net.reactions == ["uptake", "HK1", "HK2", "out"]
    r = CliRunner().invoke(main, ["convert", str(tmp_path / "glyco.xml"), str(tmp_path / "again.sbml")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "again.sbml").read_text()
    for sid in ('species id="glc"', 'name="D-glucose"', 'species id="g6p"', 'reaction id="HK1"',
                'reaction id="HK2"', 'reaction id="J0"', 'name="uptake"'):
        assert sid in text, sid
    (again,) = read_networks(tmp_path / "again.sbml")
    assert again.nodes == net.nodes and again.reactions == net.reactions
    # through JSON the names stay; ids come from the names where they are valid SIds
    r = CliRunner().invoke(main, ["convert", str(tmp_path / "glyco.xml"), str(tmp_path / "glyco.json")])
    assert r.exit_code == 0, r.output
    d = json.loads((tmp_path / "glyco.json").read_text())
    assert d["nodes"] == ["D-glucose", "g6p"] and d["reactions"] == ["HK1", "HK2", "uptake", "out"]
    write_networks(tmp_path / "from_json.xml", read_networks(tmp_path / "glyco.json"))
    (b,) = read_networks(tmp_path / "from_json.xml")
    assert reactions(b) == reactions(net)


def test_sbml_names_cannot_clash_with_generated_ids(tmp_path):
    net = Network(2, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 3.0], name="clash", nodes=["R1", "k"],
                  reactions=["S1", "R1", "phi"])
    write_networks(tmp_path / "c.xml", net)
    (back,) = read_networks(tmp_path / "c.xml")
    assert back.nodes == net.nodes and back.reactions == net.reactions
    assert solve(back)["x"] == solve(net)["x"]


# ---- names in results -----------------------------------------------------------------------
def test_solve_and_score_records_and_csv_name_the_nodes(tmp_path):
    net = named("linear")
    write_networks(tmp_path / "g.json", net)
    r = CliRunner().invoke(main, ["solve", str(tmp_path / "g.json")])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["nodes"] == ["Glc", "G6P", "F6P"] and len(rec["x"]) == 3 and rec["why"] is None
    # x: Glc = 1 / 5, G6P = 1 / 4, F6P = 1 / 5
    assert dict(zip(rec["nodes"], rec["x"])) == pytest.approx({"Glc": 0.2, "G6P": 0.25, "F6P": 0.2})
    out = tmp_path / "s.csv"
    r = CliRunner().invoke(main, ["score", str(tmp_path / "g.json"), "--model", "solver", "--format", "csv",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "s.x.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(row["node"], row["node_name"]) for row in rows] == [("1", "Glc"), ("2", "G6P"), ("3", "F6P")]
    assert float(rows[1]["x"]) == pytest.approx(0.25)


def test_knockout_keeps_isozymes_apart():
    net = named("linear")
    recs = list(ko.run(net, Scorer()))
    labels = [rec["reactions"] for rec in recs[1:]]
    assert labels == [["uptake"], ["hk1"], ["hk2"], ["pgi"], ["export"]]
    hk1, hk2 = recs[2], recs[3]
    assert hk1["nodes"] == net.nodes and hk1["exists_unique"] and hk2["exists_unique"]
    # without hk1 all Glc flux goes through hk2 (rate 3): Glc = 1 / 3
    assert hk1["x"][0] == pytest.approx(1 / 3) and hk2["x"][0] == pytest.approx(1 / 2)
    effects = ko.Effects(net, recs[0])
    for rec in recs:
        effects.add(rec)
    table = effects.table()
    assert "  hk1 " in table and "  hk2 " in table and "destroy: pgi, export" in table


# ---- why there is no equilibrium -------------------------------------------------------------
def graph(net: Network) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n + 2))
    g.add_edges_from(zip(net.src.tolist(), net.dst.tolist()))
    return g


def stuck(net: Network) -> set:
    g = graph(net)
    return {v for v in range(1, net.n + 1) if not nx.has_path(g, v, net.n + 1)}


def fed(net: Network) -> set:
    return set(nx.descendants(graph(net), 0)) & stuck(net)


def test_dead_end_node():
    """0 -> A -> EXC, C -> B: B has no way out, C feeds it, neither is fed: not unique."""
    net = Network(3, [0, 1, 3], [1, 4, 2], [1.0, 1.0, 1.0], nodes=["A", "B", "C"])
    rec = solve(net)
    assert not rec["exists_unique"] and rec["exists_bounded"]
    assert rec["why"]["kind"] == "no_exit" and set(rec["why"]["nodes"]) == {"B", "C"}
    assert {net.nodes.index(v) + 1 for v in rec["why"]["nodes"]} == stuck(net)
    assert rec["why"]["reason"].startswith("nodes B, C cannot reach the excretion")


def test_closed_cycle_fed_by_the_intake():
    """0 -> A -> EXC, A -> B <-> C: the intake feeds the closed cycle {B, C}."""
    net = Network(3, [0, 1, 1, 2, 3], [1, 4, 2, 3, 2], [1.0, 1.0, 1.0, 1.0, 1.0])
    rec = solve(net)
    assert not rec["exists_unique"] and not rec["exists_bounded"] and rec["x"] is None
    assert rec["why"]["kind"] == "closed" and rec["why"]["nodes"] == [2, 3]
    assert set(rec["why"]["nodes"]) == fed(net)
    assert "the intake feeds nodes 2, 3" in rec["why"]["reason"]


def test_node_over_capacity_downstream():
    """0 -3-> A; A -> B and A -> EXC with V 10, K 1 each (A passes on 1.5 each); B -> EXC
    with V 1: B receives 1.5, more than it can pass on.  A alone is far from capacity."""
    net = Network(2, [0, 1, 1, 2], [1, 2, 3, 3], [3.0, 10.0, 10.0, 1.0], [nan, 1.0, 1.0, 1.0],
                  "michaelis-menten", "mm", nodes=["A", "B"])
    rec = solve(net)
    assert not rec["exists_unique"] and not rec["exists_bounded"]
    assert not stuck(net)  # every node reaches the excretion: the reason is the capacity
    why = rec["why"]
    assert why["kind"] == "over_capacity" and why["nodes"] == ["B"]
    assert why["capacity"] == 1.0 and 1.0 <= why["inflow"] <= 1.5 + 1e-12
    assert why["reason"].startswith("node B receives an inflow of")


def test_set_over_capacity():
    """0 -2-> A; A <-> B fast (V 10); both excrete with V 0.5: each node alone can pass 2 on
    (10.5 out of A), but the set {A, B} can pass at most 1 out."""
    net = Network(2, [0, 1, 2, 1, 2], [1, 2, 1, 3, 3], [2.0, 10.0, 10.0, 0.5, 0.5], [nan, 1, 1, 1, 1],
                  "michaelis-menten", nodes=["A", "B"])
    rec = solve(net)
    assert not rec["exists_unique"] and not stuck(net)
    why = rec["why"]
    assert why["kind"] == "over_capacity" and sorted(why["nodes"]) == ["A", "B"]
    assert why["inflow"] == 2.0 and why["capacity"] == 1.0
    assert "nodes A, B receive an inflow of 2, at least the capacity of the reactions leaving them (1" \
        in why["reason"]


def test_equilibrium_has_no_why_and_near_capacity_is_not_over():
    net = Network(2, [0, 1, 2], [1, 2, 3], [0.99, 5.0, 1.0], [nan, 1.0, 1.0], "michaelis-menten")
    rec = solve(net)
    assert rec["exists_unique"] and rec["why"] is None


@pytest.mark.parametrize("seed", range(60))
def test_topological_reasons_agree_with_networkx(seed):
    net = random_network(np.random.default_rng(seed), "linear")
    rec = solve(net)
    why = rec["why"]
    if rec["exists_unique"]:
        assert why is None and not stuck(net)
    elif fed(net):
        assert why["kind"] == "closed" and set(why["nodes"]) == fed(net) and not rec["exists_bounded"]
    else:
        assert why["kind"] == "no_exit" and set(why["nodes"]) == stuck(net) and rec["exists_bounded"]


def test_why_in_the_csv_and_the_knockout_table(tmp_path):
    net = Network(2, [0, 1, 2], [1, 2, 3], [2.0, 5.0, 1.0], [nan, 1.0, 1.0], "michaelis-menten", "mm",
                  nodes=["A", "B"])
    write_networks(tmp_path / "mm.json", net)
    r = CliRunner().invoke(main, ["score", str(tmp_path / "mm.json"), "--model", "solver", "--format", "csv",
                                  "-o", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "s.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["why"].startswith("node B receives an inflow of 2")
    r = CliRunner().invoke(main, ["knockout", str(tmp_path / "mm.json"), "--model", "solver"])
    assert r.exit_code == 0, r.output
    assert "  why: node B receives an inflow of 2" in r.output
