#!/usr/bin/env bash
# docs/accuracy.md and its pictures: the shipped model on every family, size and kinetics
# (testsets.sh accsets: ACC_COUNT networks per set, default 400, a quarter of them at L), beside
# the no-sink rule, then side by side with the baselines of train_baselines.sh where they are
# in BASELINES (default: WORKDIR): the flux model shipped before (flux-shipped.pt), the graph
# model (graph-mix/model.pt) and the paper's seq2seq (s2s-mix/model.pt), on the first ACC_SHARE
# of each set (default 0.25: 100 networks, 25 at L; the flux model iterates n + 512 times).
# Usage: bash benchmarks/accuracy.sh [WORKDIR]   (default: runs/)
set -euo pipefail
W=${1:-runs}
B=${BASELINES:-$W}
source "$(dirname "$0")/testsets.sh"
accsets "${ACC_COUNT:-400}"
# beyond the training distribution (settings the shipped model never saw): 3 intakes and 3
# excretions on the paper's family, and 257-512 inner nodes (training: 32-64)
gen ood/erdos-multi-S --count 400 --seed 3001 --intake 3 --excretion 3
gen ood/erdos-XL --size custom --n-min 257 --n-max 512 --count 60 --seed 3002
gen ood/trap-XL --family trap --size custom --n-min 257 --n-max 512 --count 60 --seed 3003
OOD="$W/ood/erdos-multi-S $W/ood/erdos-XL $W/ood/trap-XL"
mkdir -p docs
{ metabnet eval $OOD 2>/dev/null; python "$(dirname "$0")/sink_rule.py" $OOD; } > docs/accuracy-ood.txt
COMPARE=""
[ -f "$B/flux-shipped.pt" ] && COMPARE="$COMPARE --compare flux=$B/flux-shipped.pt"
[ -f "$B/graph-mix/model.pt" ] && COMPARE="$COMPARE --compare graph=$B/graph-mix/model.pt"
[ -f "$B/s2s-mix/model.pt" ] && COMPARE="$COMPARE --compare seq2seq=$B/s2s-mix/model.pt"
python "$(dirname "$0")/accuracy.py" $ACC_TEST --run "$W/default" $COMPARE --share "${ACC_SHARE:-0.25}" --out docs
