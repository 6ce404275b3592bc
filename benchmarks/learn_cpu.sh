#!/usr/bin/env bash
# The CPU training runs quoted in benchmarks/README.md, in order: the flux model against the
# graph model on one stream of fresh networks (issue 11, ~2 x 60 minutes), then the earlier
# graph/seq2seq runs on shards (issue 3, ~45 minutes).  Rerunning resumes an interrupted run
# and skips finished ones.  Usage: bash benchmarks/learn_cpu.sh [WORKDIR]   (default: runs/)
set -euo pipefail
W=${1:-runs}
mkdir -p "$W"
source "$(dirname "$0")/testsets.sh"
gen erdos-S --count 500000 --seed 0
testsets 2000
evaluate() {  # evaluate NAME: in and out of distribution, the hard families included
  metabnet eval --model "$W/$1/model.pt" $TEST --out "$W/$1/eval.json" > "$W/$1/eval.txt"
}
stream() {  # stream NAME ARGS...: train (or resume) on networks generated as it goes, then evaluate
  [ -f "$W/$1/eval.json" ] && return 0
  metabnet train --out "$W/$1" --device cpu -q --resume "${@:2}"
  evaluate "$1"
}
python "$(dirname "$0")/sink_rule.py" $TEST > "$W/sink_rule.txt"  # the shortcut baseline on the same sets
# issue 11: erdos + trap (sink-free, closed classes), S, linear; every other family is unseen
MIX="--families erdos,trap --sizes S --task quanti --max-steps 4000 --batch-size 32 --lr 1e-3 --warmup 100
     --val-size 512 --eval-every 500 --ckpt-every 250 --log-every 25"
stream flux-cpu $MIX --width 32
stream graph-cpu $MIX --arch graph --width 64 --heads 4 --layers 4
run() {  # run NAME ARGS...: train (or resume) on the erdos-S shards, then evaluate
  [ -f "$W/$1/eval.json" ] && return 0
  metabnet train "$W/erdos-S" --out "$W/$1" --device cpu -q --resume --arch graph "${@:2}"
  evaluate "$1"
}
run graph-quali --task quali --width 128 --layers 4 --batch-size 64 --lr 1e-3 --warmup 100 --max-steps 1500 --eval-every 250
run graph-quanti --task quanti --width 128 --layers 6 --batch-size 64 --lr 1e-3 --warmup 200 --max-steps 1200 --eval-every 300
run seq2seq-quali --arch seq2seq --task quali --width 128 --heads 8 --layers 2 --dec-layers 2 --batch-size 32 --lr 5e-4 --warmup 100 --max-steps 300 --eval-every 100 --val-size 500
for s in none adj spd; do  # ablation of the graph model's structural attention (quantitative task)
  run ablate-$s --task quanti --struct $s --width 64 --heads 4 --layers 4 --batch-size 64 --lr 1e-3 --warmup 100 --max-steps 1000 --eval-every 250 --val-size 1000
done
# Michaelis-Menten quantitative run (benchmarks/README, quantitative task): trained, not evaluated
gen mm-S --count 100000 --kinetics michaelis-menten --intake-scale 0.05 --seed 10
[ -f "$W/mm-quanti/model.pt" ] || metabnet train "$W/mm-S" --out "$W/mm-quanti" --device cpu -q --resume --arch graph --task quanti \
  --width 128 --layers 6 --batch-size 64 --lr 1e-3 --warmup 200 --max-steps 800 --eval-every 300
