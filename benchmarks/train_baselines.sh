#!/usr/bin/env bash
# The baselines docs/accuracy.md shows beside the shipped default (issue 20): the default's own
# training (benchmarks/train_default.sh: 600 steps, 19,200 networks, 712 s of one CPU thread)
# given to two other architectures, with its settings (task quanti, batch 32, lr 1e-3, warm-up
# 50), for the same seconds of training on one CPU thread:
#   WORKDIR/graph-mix  --arch graph at the CPU sizes of learn_cpu.sh's graph-cpu (width 64,
#                      4 heads, 4 layers; the defaults, 256 x 6 layers, take 3-5 s a step here),
#                      on the default's mixture (families erdos, scale_free, trap, bowtie; size S;
#                      linear and Michaelis-Menten; integer, unweighted and log-uniform rates);
#   WORKDIR/s2s-mix    --arch seq2seq at the paper's sizes (width 256, 8 heads, 2 encoder and 6
#                      decoder layers) on the part of that mixture it can read: the paper's
#                      tokens hold linear networks with integer rates only (the tokenizer refuses
#                      Michaelis-Menten and log-uniform networks: "weights must be integers in
#                      0..999"), so linear kinetics, integer and unweighted rates (8 of the 24
#                      components);
# and fetches (a) the flux model shipped before the transformer (git: 9436fc2^) into
# WORKDIR/flux-shipped.pt.
# The budget is wall-clock: each run is stopped by SIGTERM (`timeout`; train finishes the step
# under way, checkpoints and exits 143) once BUDGET seconds less what its checkpoint already
# records (state.elapsed) have passed; an unfinished run's model.pt is evaluated as it stood
# (`metabnet info --model` says UNFINISHED).  --max-steps: graph 5,500, picked from its measured
# rate (7.8 steps/s at load 1.0-2.0 on the 2 shared cores, 5.2-5.5 at load 1.3-2.9) so that its
# cosine schedule is about done when the budget is; seq2seq 600 as the default's, of which it
# reaches ~15 (a step of 32 networks, ~450 input and ~600 output tokens each, takes 30-60 s),
# still in its warm-up.
# Rerunning resumes a run that has budget left and skips a spent or finished one.  Small
# --log-every keeps state.elapsed (updated at each log line) close to the truth.
# Usage: bash benchmarks/train_baselines.sh [WORKDIR]   (default: runs/; BUDGET=712 seconds)
set -euo pipefail
W=${1:-runs}
MB=${MB:-metabnet}
PY=${PY:-python}
BUDGET=${BUDGET:-712}
GRAPH_STEPS=${GRAPH_STEPS:-5500}
S2S_STEPS=${S2S_STEPS:-600}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} NUMBA_NUM_THREADS=${NUMBA_NUM_THREADS:-1}
mkdir -p "$W"

# (a) the flux model shipped before the transformer replaced it (commit 9436fc2)
if [ ! -s "$W/flux-shipped.pt" ]; then
  git -C "$(dirname "$0")" show 9436fc2^:metabnet/learn/models/default.pt > "$W/flux-shipped.pt.tmp"
  mv "$W/flux-shipped.pt.tmp" "$W/flux-shipped.pt"
fi

# train_default.sh's settings and mixture (seq2seq: the part of it the paper's tokens hold)
SETTINGS="--families erdos,scale_free,trap,bowtie --sizes S --task quanti --batch-size 32 --lr 1e-3
          --warmup 50 --val-size 256 --eval-every 200"
MIX="--kinetics linear,michaelis-menten --weights integer,unweighted,log-uniform"
TOKENS_MIX="--kinetics linear --weights integer,unweighted"

left() {  # left RUNDIR: whole seconds of BUDGET its checkpoint has not used (0 once finished)
  $PY - "$1/checkpoint.pt" "$BUDGET" <<'EOF'
import sys
from pathlib import Path

import torch

path, budget = Path(sys.argv[1]), float(sys.argv[2])
state = torch.load(path, map_location="cpu", weights_only=True)["state"] if path.exists() else {}
print(0 if state.get("finished") else max(0, int(budget - state.get("elapsed", 0.0))))
EOF
}

train() {  # train NAME ARGS...: start or resume WORKDIR/NAME for the seconds it has left
  local s resume=""
  s=$(left "$W/$1")
  if [ "$s" -lt 10 ]; then
    echo "$W/$1: budget spent or run finished"
    return 0
  fi
  [ -f "$W/$1/checkpoint.pt" ] && resume=--resume
  echo "$W/$1: training for at most $s s ($(uptime | sed 's/.*load/load/'))"
  # exit 124: the budget ran out (train checkpointed on SIGTERM); -k: a step that never ends
  timeout -s TERM -k 900 "$s" $MB train --out "$W/$1" --device cpu -q $resume $SETTINGS "${@:2}" || [ $? -eq 124 ]
}

# (b) the graph model, (c) the paper's seq2seq
train graph-mix $MIX --arch graph --width 64 --heads 4 --layers 4 --max-steps "$GRAPH_STEPS" \
  --ckpt-every 100 --log-every 5
train s2s-mix $TOKENS_MIX --arch seq2seq --width 256 --heads 8 --layers 2 --dec-layers 6 \
  --max-steps "$S2S_STEPS" --ckpt-every 5 --log-every 1
