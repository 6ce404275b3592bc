#!/usr/bin/env bash
# The CPU training runs quoted in benchmarks/README.md (issue 3), in order.  About 45 minutes
# on 2 cores; rerunning resumes an interrupted run and skips finished ones.  Usage: bash benchmarks/learn_cpu.sh [WORKDIR]   (default: runs/)
set -euo pipefail
W=${1:-runs}
mkdir -p "$W"
source "$(dirname "$0")/testsets.sh"
gen erdos-S --count 500000 --seed 0
testsets 2000
run() {  # run NAME ARGS...: train (or resume), then evaluate in and out of distribution
  [ -f "$W/$1/eval.json" ] && return 0
  metabnet train "$W/erdos-S" --out "$W/$1" --device cpu -q --resume "${@:2}"
  metabnet eval "$W/$1/model.pt" $TEST --out "$W/$1/eval.json" > "$W/$1/eval.txt"
}
run graph-quali --task quali --width 128 --layers 4 --batch-size 64 --lr 1e-3 --warmup 100 --max-steps 1500 --eval-every 250
run graph-quanti --task quanti --width 128 --layers 6 --batch-size 64 --lr 1e-3 --warmup 200 --max-steps 1200 --eval-every 300
run seq2seq-quali --arch seq2seq --task quali --width 128 --heads 8 --layers 2 --dec-layers 2 --batch-size 32 --lr 5e-4 --warmup 100 --max-steps 300 --eval-every 100 --val-size 500
for s in none adj spd; do  # ablation of the graph model's structural attention (quantitative task)
  run ablate-$s --task quanti --struct $s --width 64 --heads 4 --layers 4 --batch-size 64 --lr 1e-3 --warmup 100 --max-steps 1000 --eval-every 250 --val-size 1000
done
# Michaelis-Menten quantitative run (benchmarks/README, quantitative task): trained, not evaluated
gen mm-S --count 100000 --kinetics michaelis-menten --intake-scale 0.05 --seed 10
[ -f "$W/mm-quanti/model.pt" ] || metabnet train "$W/mm-S" --out "$W/mm-quanti" --device cpu -q --resume --task quanti \
  --width 128 --layers 6 --batch-size 64 --lr 1e-3 --warmup 200 --max-steps 800 --eval-every 300
