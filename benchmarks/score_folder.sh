#!/usr/bin/env bash
# `metabnet score` against `metabnet solve` on one folder of 10,000 mixed network files:
# .json, .tsv, SBML .xml, multi-network .jsonl, the paper's token JSON and a small shard folder;
# the four families, sizes S and M, linear and Michaelis-Menten kinetics; and a handful of bad
# files that both commands must report and step over.  Then both commands are timed on the
# folder and benchmarks/compare_score_solve.py checks them network by network.
#   bash benchmarks/score_folder.sh CKPT [WORKDIR]      (default WORKDIR: runs/score-folder)
# FILES=N (environment) builds a smaller folder for a quick try.
# CKPT is a model.pt of `metabnet train`; the device is chosen automatically (cuda if present).
# The folder (11,107 networks) is built once and reused by later runs.  On 2 CPU cores: build
# 5.5 minutes (mostly generating Michaelis-Menten M networks and writing SBML), solve and score
# 5 minutes each (mostly Michaelis-Menten networks whose Newton solve stalls and the ODE decides).
set -euo pipefail
CKPT=$1; W=${2:-runs/score-folder}
F=$W/files; G=$W/gen
FILES=${FILES:-10000}; JSONL=2; PER_JSONL=25; PER_TOKENS=20  # per group: 2 .jsonl files; linear: 1 token JSON
FAMILIES="erdos erdos_gnm small_world scale_free"
mkdir -p "$W"

bad_files() {  # 12 files that must fail, each with a one-line error (plus a .txt no one reads)
  local b=$F/bad; mkdir -p "$b"
  local ok='"n": 2, "edges": [[1, 2, 3.0]], "intake": [[1, 1.0]], "excretion": [[2, 0.5]]'
  echo '{"name": "broken", "n": 2, "edges": [[1, 2, 3.0]' > "$b/malformed.json"
  echo '{"name": "negative", "n": 2, "edges": [[1, 2, -3.0]], "intake": [[1, 1.0]], "excretion": [[2, 0.5]]}' > "$b/negative_rate.json"
  echo '{"name": "nan", "n": 2, "edges": [[1, 2, NaN]], "intake": [[1, 1.0]], "excretion": [[2, 0.5]]}' > "$b/nan_rate.json"
  echo '{"name": "unknown", "n": 2, "edges": [[1, 7, 3.0]], "intake": [[1, 1.0]], "excretion": [[2, 0.5]]}' > "$b/unknown_node.json"
  echo '{"name": "empty", "n": 1, "edges": [], "intake": [], "excretion": []}' > "$b/empty_network.json"
  : > "$b/empty_file.json"
  printf '{"name": "fine", %s}\n{"name": "cut", "n": 2,\n' "$ok" > "$b/bad_line.jsonl"
  printf 'src\tdst\trate\nINTAKE\tA\t1\nA\tEXCRETION\n' > "$b/two_columns.tsv"
  printf 'src\tdst\trate\nINTAKE\tA\t1\nA\tEXCRETION\t0\n' > "$b/zero_rate.tsv"
  printf '{"data_input": [["N2 N0 N1 N1 N1 N2 N5 N2 N3", "", "t"]]}\n' > "$b/bad_tokens.json"
  echo '<?xml version="1.0"?><sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" level="3" version="1"><model>' > "$b/truncated.xml"
  cat > "$b/two_reactants.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" level="3" version="1">
  <model id="two">
    <listOfCompartments><compartment id="c" size="1" constant="true"/></listOfCompartments>
    <listOfSpecies>
      <species id="A" compartment="c" initialConcentration="0" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
      <species id="B" compartment="c" initialConcentration="0" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfParameters><parameter id="k" value="1" constant="true"/></listOfParameters>
    <listOfReactions>
      <reaction id="in" reversible="false"><listOfProducts><speciesReference species="A" stoichiometry="1" constant="true"/></listOfProducts>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><ci>k</ci></math></kineticLaw></reaction>
      <reaction id="AB" reversible="false"><listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/>
        <speciesReference species="B" stoichiometry="1" constant="true"/></listOfReactants>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><ci>k</ci><ci>A</ci><ci>B</ci></apply></math></kineticLaw></reaction>
    </listOfReactions>
  </model>
</sbml>
EOF
  echo "notes, not a network file: metabnet skips it" > "$b/notes.txt"
}

build() {  # the folder $F; $W/files.done marks it complete (and holds FILES)
  rm -rf "$F" "$G"; mkdir -p "$F" "$G"
  bad_files
  metabnet gen --out "$F/shards" --family small_world --count 200 --seed 99 -q > /dev/null  # 1 shard + its manifest
  local nbad; nbad=$(find "$F/bad" -type f ! -name '*.txt' | wc -l)
  local groups=16 extras=$((16 * JSONL + 8 + nbad + 1))
  local singles=$((FILES - extras)) i=0
  for fam in $FAMILIES; do for size in S M; do for kin in linear michaelis-menten; do
    local g=$fam-$size-$kin own=$((singles / groups + (i < singles % groups ? 1 : 0)))
    local tok=$([ "$kin" = linear ] && echo $PER_TOKENS || echo 0)
    local opts=(--family "$fam" --size "$size" --kinetics "$kin")
    [ "$kin" = linear ] || opts+=(--intake-scale 0.05)  # else nearly no Michaelis-Menten network has an equilibrium
    metabnet gen --out "$G/$g" --count $((own + JSONL * PER_JSONL + tok)) --seed $((100 + i)) -q "${opts[@]}" > /dev/null
    metabnet export "$G/$g/shard-00000.h5" --out "$G/$g.jsonl"
    local nj=$((own * 45 / 100)) nt=$((own * 30 / 100)); local nx=$((own - nj - nt))
    part() { sed -n "$1,$2p" "$G/$g.jsonl" > "$G/$g.part.jsonl"; }  # lines $1..$2 of the export
    part 1 $nj && metabnet convert "$G/$g.part.jsonl" "$F/$g/json" --to json > /dev/null
    part $((nj + 1)) $((nj + nt)) && metabnet convert "$G/$g.part.jsonl" "$F/$g/tsv" --to tsv > /dev/null
    part $((nj + nt + 1)) $own && metabnet convert "$G/$g.part.jsonl" "$F/$g/sbml" --to xml > /dev/null
    local at=$own
    for j in $(seq 1 $JSONL); do
      part $((at + 1)) $((at + PER_JSONL)) && metabnet convert "$G/$g.part.jsonl" "$F/$g/many-$j.jsonl" > /dev/null
      at=$((at + PER_JSONL))
    done
    if [ "$tok" -gt 0 ]; then
      part $((at + 1)) $((at + tok)) && metabnet convert "$G/$g.part.jsonl" "$F/$g/paper.tokens.json" > /dev/null
    fi
    echo "  $g: $own single-network files, $JSONL .jsonl x $PER_JSONL$([ "$tok" -gt 0 ] && echo ", token JSON x $tok")"
    i=$((i + 1))
  done; done; done
  echo "$FILES" > "$W/files.done"
}

if [ "$(cat "$W/files.done" 2>/dev/null)" != "$FILES" ]; then  # missing, or built for another FILES
  echo "building $F ..."
  t0=$(date +%s.%N); build; t1=$(date +%s.%N)
  echo "built in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
fi
echo "files: $(python3 -c "from metabnet.io.formats import iter_network_files as f; print(len(f('$F')))") network files in $F"

timed() {  # timed NAME CMD...: run, keep its exit code (1 = some files failed, as planned), time it
  local t0 t1 rc=0; t0=$(date +%s.%N)
  "${@:2}" || rc=$?
  t1=$(date +%s.%N)
  [ $rc -le 1 ] || { echo "$1 failed with exit code $rc" >&2; exit $rc; }
  python3 -c "print(f'{$t1 - $t0:.3f}')" > "$W/$1.seconds"
  echo "$1: $(cat "$W/$1.seconds") s wall, exit code $rc"
}
timed solve metabnet solve "$F" --out "$W/solve.jsonl" 2> "$W/solve.err"
timed score metabnet score "$F" --model "$CKPT" --verify --refine --out "$W/score.jsonl" > "$W/score.txt" 2> "$W/score.err"
cat "$W/score.txt"
echo
python3 "$(dirname "$0")/compare_score_solve.py" "$W" "$CKPT"
