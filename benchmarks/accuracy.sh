#!/usr/bin/env bash
# docs/accuracy.md and its pictures: the shipped model on every family, size and kinetics
# (testsets.sh accsets: 400 networks per set, 100 at L), beside the no-sink rule and the graph
# model of learn_cpu.sh when its run is there.  Usage: bash benchmarks/accuracy.sh [WORKDIR]
set -euo pipefail
W=${1:-runs}
source "$(dirname "$0")/testsets.sh"
accsets 400
# beyond the training distribution (settings the shipped model never saw): 3 intakes and 3
# excretions on the paper's family, and 257-512 inner nodes (training: 32-64)
gen ood/erdos-multi-S --count 400 --seed 3001 --intake 3 --excretion 3
gen ood/erdos-XL --size custom --n-min 257 --n-max 512 --count 60 --seed 3002
gen ood/trap-XL --family trap --size custom --n-min 257 --n-max 512 --count 60 --seed 3003
OOD="$W/ood/erdos-multi-S $W/ood/erdos-XL $W/ood/trap-XL"
mkdir -p docs
{ metabnet eval $OOD 2>/dev/null; python "$(dirname "$0")/sink_rule.py" $OOD; } > docs/accuracy-ood.txt
COMPARE=$([ -f "$W/graph-cpu/model.pt" ] && echo "--compare graph=$W/graph-cpu/model.pt" || true)
python "$(dirname "$0")/accuracy.py" $ACC_TEST --run "$W/default" $COMPARE --out docs
