#!/usr/bin/env bash
# Whole `metabnet score` commands, the rate-attention Transformer beside the exact solver
# (--model solver) and the shipped flux model, on the same networks, THREADS threads each
# (default 1; 2: torch's and Numba's default on a 2-core machine), each timing REPEAT times
# (default 1):
#   1. 20,000 erdos S networks of one shard, linear and Michaelis-Menten (intake scale 0.05,
#      balance ratio); the flux model on the first 2,000 of the linear shard (it is ~50x slower);
#   2. a folder of JSON-lines files of mixed sizes (S, M, L and 300-600 nodes), both kinetics.
#   bash benchmarks/transformer_score_speed.sh CKPT [FLUX_CKPT|-] [WORKDIR]     (default runs/speed)
# (CKPT `default`: the shipped model; FLUX_CKPT: the flux model shipped before,
# `git show 9436fc2^:metabnet/learn/models/default.pt`; `-` or none: not timed)
set -euo pipefail
CKPT=$1; FLUX=${2:--}; W=${3:-runs/speed}
MB=${MB:-.venv/bin/metabnet}
T=${THREADS:-1}
export OMP_NUM_THREADS=$T MKL_NUM_THREADS=$T NUMBA_NUM_THREADS=$T
mkdir -p "$W/mixed"
gen() { [ -e "$1/shard-00000.h5" ] || $MB gen -q --threads 1 "${@:2}" -o "$1"; }
gen "$W/lin-S" --seed 5 -n 20000 --family erdos --size S
gen "$W/mm-S" --seed 5 -n 20000 --family erdos --size S --kinetics michaelis-menten --intake-scale 0.05 --balance ratio
gen "$W/lin-S-2k" --seed 5 -n 2000 --family erdos --size S
MM="--kinetics michaelis-menten --intake-scale 0.05 --balance ratio"
for spec in "S:-n 100 --size S" "M:-n 60 --size M" "L:-n 30 --size L" "X:-n 8 --size custom --n-min 300 --n-max 600"; do
  name=${spec%%:*}; args=${spec#*:}
  for kin in lin mm; do
    extra=""; [ $kin = mm ] && extra=$MM
    # shellcheck disable=SC2086
    gen "$W/g-$kin-$name" --seed 9 --family erdos $args $extra
    [ -e "$W/mixed/$kin-$name.jsonl" ] || $MB export "$W/g-$kin-$name/shard-00000.h5" -o "$W/mixed/$kin-$name.jsonl"
  done
done
run() {  # label, score arguments...
  local t0 t1 k
  for k in $(seq "${REPEAT:-1}"); do
    t0=$(date +%s.%N)
    $MB score --force -o "$W/out.jsonl" "${@:2}" > "$W/log.txt" 2>&1 || true
    t1=$(date +%s.%N)
    printf '%-44s %8.1f s   %s\n' "$1" "$(echo "$t1 - $t0" | bc)" "$(grep -E '^  by the (model|solver alone)' "$W/log.txt" | tr -s ' ' | tr '\n' ';')"
  done
}
run "solver      lin-S 20,000" --model solver "$W/lin-S"
run "transformer lin-S 20,000" --model "$CKPT" "$W/lin-S"
run "solver      mm-S 20,000" --model solver "$W/mm-S"
run "transformer mm-S 20,000" --model "$CKPT" "$W/mm-S"
run "solver      lin-S 2,000" --model solver "$W/lin-S-2k"
run "transformer lin-S 2,000" --model "$CKPT" "$W/lin-S-2k"
[ "$FLUX" = - ] || run "flux        lin-S 2,000" --model "$FLUX" "$W/lin-S-2k"
run "solver      mixed folder" --model solver "$W/mixed"
run "transformer mixed folder" --model "$CKPT" "$W/mixed"
[ "$FLUX" = - ] || run "flux        mixed folder" --model "$FLUX" "$W/mixed"
