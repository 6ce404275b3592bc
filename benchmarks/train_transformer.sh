#!/usr/bin/env bash
# Train the rate-attention Transformer on 4 of the 9 families (erdos, scale_free, trap, bowtie),
# linear and Michaelis-Menten (intake scale 0.05), S size, freshly generated; one CPU core.
# The other 5 families (erdos_gnm, small_world, longpath, layered, modular) are never trained on.
#   bash benchmarks/train_transformer.sh OUT [MAX_STEPS]
set -euo pipefail
OUT=${1:-runs/transformer}
STEPS=${2:-600}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
${MB:-.venv/bin/metabnet} train --arch transformer --task quanti --families erdos,scale_free,trap,bowtie \
  --kinetics linear,michaelis-menten --sizes S --batch-size 32 --lr 1e-3 --warmup 50 --max-steps "$STEPS" \
  --val-size 256 --eval-every 200 --ckpt-every 100 --log-every 25 --device cpu -q -o "$OUT"
