#!/usr/bin/env bash
# docs/accuracy.md and its pictures: the shipped model on every family, size and kinetics
# (testsets.sh accsets: 400 networks per set, 100 at L), beside the no-sink rule and the graph
# model of learn_cpu.sh when its run is there.  Usage: bash benchmarks/accuracy.sh [WORKDIR]
set -euo pipefail
W=${1:-runs}
source "$(dirname "$0")/testsets.sh"
accsets 400
COMPARE=$([ -f "$W/graph-cpu/model.pt" ] && echo "--compare graph=$W/graph-cpu/model.pt" || true)
python "$(dirname "$0")/accuracy.py" $ACC_TEST --run "$W/default" $COMPARE --out docs
