#!/usr/bin/env bash
# The test sets transformer_testsets.sh lacks (seed 7): Michaelis-Menten at L (intake scale 0.05)
# and Michaelis-Menten at intake scale 1 (gen's default) at S and M, 9 families, balance ratio.
#   bash benchmarks/transformer_testsets_more.sh [COUNT] [OUTDIR]     (L: a third of COUNT)
set -euo pipefail
COUNT=${1:-300}
OUT=${2:-runs/test}
MB=${MB:-.venv/bin/metabnet}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
MM="--kinetics michaelis-menten --balance ratio"
for fam in erdos erdos_gnm small_world scale_free trap longpath bowtie layered modular; do
  [ -d "$OUT/mm-$fam-L" ] || $MB gen -q --threads 1 --seed 7 -n $((COUNT / 3)) --family "$fam" --size L $MM \
    --intake-scale 0.05 -o "$OUT/mm-$fam-L"
  for size in S M; do
    [ -d "$OUT/mm1-$fam-$size" ] || $MB gen -q --threads 1 --seed 7 -n "$COUNT" --family "$fam" --size "$size" $MM \
      --intake-scale 1 -o "$OUT/mm1-$fam-$size"
  done
done
echo done
