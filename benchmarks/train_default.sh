#!/usr/bin/env bash
# The model shipped inside the package (metabnet/learn/models/default.pt, issue 20): the
# rate-attention Transformer (--arch transformer: a fixed solver-like algebra - rate shares,
# throughflow by doubling, Michaelis-Menten saturation rounds - plus one weight-tied pre-norm
# Transformer block as a learned correction), trained on a stream of fresh networks of four
# families (erdos, scale_free, trap, bowtie; the other five are kept for judging it), size S,
# linear and Michaelis-Menten (intake scale 0.05), integer, unweighted and log-uniform rates, on
# one CPU thread.  The algebra does nearly all the work (benchmarks/results/transformer.md): the
# training is short (600 steps, about a minute on one thread; far inside the 2-hour bound).
# Rerunning resumes.
# Then: python benchmarks/ship_model.py "$W/default/model.pt" --command "bash benchmarks/train_default.sh"
# The flux model this replaced: `--arch flux --width 32 --iters-extra 24 --max-steps 5000` on all
# nine families (git history of this file).
# Usage: bash benchmarks/train_default.sh [WORKDIR]   (default: runs/)
set -euo pipefail
W=${1:-runs}
MB=${MB:-metabnet}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} NUMBA_NUM_THREADS=${NUMBA_NUM_THREADS:-1}
$MB train --arch transformer --out "$W/default" --device cpu -q $([ -f "$W/default/checkpoint.pt" ] && echo --resume) \
  --families erdos,scale_free,trap,bowtie \
  --sizes S --kinetics linear,michaelis-menten --weights integer,unweighted,log-uniform \
  --task quanti --heads 4 --batch-size 32 --lr 1e-3 --warmup 50 --max-steps 600 \
  --val-size 256 --eval-every 200 --ckpt-every 100 --log-every 25
