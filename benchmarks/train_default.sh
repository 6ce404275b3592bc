#!/usr/bin/env bash
# The model shipped inside the package (metabnet/learn/models/default.pt, issue 13): the flux model
# trained on a stream of fresh networks - every family (the paper's four and the five hard
# ones), size S, linear and Michaelis-Menten (2:1), integer, unweighted and log-uniform rates -
# on one CPU thread (~2 hours on the 2-core CI machine, shared).  Rerunning resumes an interrupted run.
# Then: its evaluation on the documented test sets (benchmarks/accuracy.sh).
# Usage: bash benchmarks/train_default.sh [WORKDIR]   (default: runs/)
set -euo pipefail
W=${1:-runs}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} NUMBA_NUM_THREADS=${NUMBA_NUM_THREADS:-1}
metabnet train --out "$W/default" --device cpu -q --resume \
  --families erdos,erdos_gnm,scale_free,small_world,trap,longpath,bowtie,layered,modular \
  --sizes S --kinetics linear,linear,michaelis-menten --weights integer,unweighted,log-uniform \
  --task quanti --width 32 --iters-extra 24 --batch-size 32 --lr 1e-3 --warmup 200 --max-steps 5000 \
  --val-size 810 --eval-every 1000 --ckpt-every 250 --log-every 50
