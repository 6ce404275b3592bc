#!/usr/bin/env bash
# Test sets for the transformer experiments (seed 7; training streams use other seeds):
# linear S/M/L and Michaelis-Menten S/M (intake scale 0.05, balance ratio), 9 families each.
#   bash benchmarks/transformer_testsets.sh [COUNT] [OUTDIR]
set -euo pipefail
COUNT=${1:-300}
OUT=${2:-runs/test}
MB=${MB:-.venv/bin/metabnet}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
for fam in erdos erdos_gnm small_world scale_free trap longpath bowtie layered modular; do
  for size in S M L; do
    $MB gen -q --threads 1 --seed 7 -n "$COUNT" --family "$fam" --size "$size" -o "$OUT/lin-$fam-$size"
  done
  for size in S M; do
    $MB gen -q --threads 1 --seed 7 -n "$COUNT" --family "$fam" --size "$size" --kinetics michaelis-menten \
      --intake-scale 0.05 --balance ratio -o "$OUT/mm-$fam-$size"
  done
done
echo done
