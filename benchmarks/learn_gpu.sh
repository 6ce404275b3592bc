#!/usr/bin/env bash
# The GPU figures quoted in benchmarks/README.md (issue 3), one stage per call of a lent
# machine (each stage fits in 10 minutes on one H100 and makes its own data):
#   bash benchmarks/learn_gpu.sh STAGE [WORKDIR] [RESULTS]
#   smoke   throughput of both models (compiled, bf16), a short compiled training run, and the
#           torchrun/NCCL path on 1 GPU
#   quali   graph model, qualitative task, S erdos, then eval in and out of distribution
#   quanti  graph model, quantitative task, then eval
#   flux    the flux model (issue 11) streamed from the generator - the paper's four families
#           and the hard ones except longpath, bowtie and layered (kept unseen), S and M, linear -
#           then eval; rerun the stage to continue the run (--resume) for another chunk
#   s2s     the paper's seq2seq on the same stream and budget, for the same table
#   default the shipped model at GPU scale (issue 13): train_default.sh's mixture - every family,
#           linear and Michaelis-Menten, three rate distributions - at sizes S and M, width 64;
#           rerun to continue; then `python benchmarks/ship_model.py` on RESULTS/gpu-default.model.pt
# RESULTS (default WORKDIR/results) receives the small files worth keeping.
set -uo pipefail
STAGE=$1; W=${2:-runs}; R=${3:-$W/results}
mkdir -p "$W" "$R"
export PYTHONUNBUFFERED=1
source "$(dirname "$0")/testsets.sh"
keep() {  # keep NAME: the run's small files, and its weights in float16 (< 16 MiB to carry back)
  cp "$W/$1/metrics.jsonl" "$R/$1.metrics.jsonl"; cp "$W/$1/curves.png" "$R/$1.curves.png"
  [ -f "$W/$1/eval.json" ] && cp "$W/$1/eval.json" "$R/$1.eval.json"
  python3 -c "import torch,sys; c=torch.load(sys.argv[1],weights_only=True); c['model']={k:v.half() for k,v in c['model'].items()}; torch.save(c,sys.argv[2])" \
    "$W/$1/model.pt" "$R/$1.model.pt"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
case $STAGE in
smoke)
  timeout 300 python3 benchmarks/train_throughput.py --compile --steps 20 --warmup 5 --json "$R/throughput.json"
  gen erdos-S-small --count 50000 --seed 0
  timeout 120 metabnet train "$W/erdos-S-small" --out "$W/smoke-graph" --arch graph -q --max-steps 200 --batch-size 256 \
    --eval-every 100 --log-every 20 --task quanti && cp "$W/smoke-graph/metrics.jsonl" "$R/smoke-graph.metrics.jsonl"
  timeout 120 torchrun --nproc_per_node 1 -m metabnet train "$W/erdos-S-small" --out "$W/smoke-ddp" --arch graph -q \
    --max-steps 60 --batch-size 256 --eval-every 30 --log-every 10 && echo "torchrun/NCCL: ok"
  timeout 120 metabnet train "$W/erdos-S-small" --out "$W/smoke-s2s" --arch seq2seq -q --max-steps 60 \
    --batch-size 64 --eval-every 30 --log-every 10 --val-size 256 && echo "seq2seq compiled: ok"
  ;;
quali)
  gen erdos-S --count 2000000 --seed 0; testsets 5000
  timeout 330 metabnet train "$W/erdos-S" --out "$W/gpu-graph-quali" --arch graph -q --task quali --batch-size 256 \
    --lr 5e-4 --warmup 300 --max-steps 6000 --eval-every 1000 --log-every 50
  metabnet eval --model "$W/gpu-graph-quali/model.pt" $TEST --out "$W/gpu-graph-quali/eval.json"; keep gpu-graph-quali
  ;;
quanti)
  gen erdos-S --count 2000000 --seed 0; testsets 5000
  timeout 420 metabnet train "$W/erdos-S" --out "$W/gpu-graph-quanti" --arch graph -q --task quanti --batch-size 256 \
    --lr 5e-4 --warmup 300 --max-steps ${STEPS:-8000} --eval-every 1000 --log-every 50
  metabnet eval --model "$W/gpu-graph-quanti/model.pt" $TEST --out "$W/gpu-graph-quanti/eval.json"; keep gpu-graph-quanti
  ;;
flux|s2s)
  testsets 5000
  MIX="--families erdos,erdos_gnm,small_world,scale_free,trap,modular --sizes S,M --task quanti
       --max-steps ${STEPS:-40000} --lr 5e-4 --warmup 500 --eval-every 2000 --ckpt-every 1000 --log-every 100 --resume"
  if [ "$STAGE" = flux ]; then NAME=gpu-flux; ARGS="--batch-size 512 --width 64"
  else NAME=gpu-s2s; ARGS="--arch seq2seq --batch-size 128 --width 256 --layers 2 --dec-layers 6"; fi
  timeout ${BUDGET:-420} metabnet train --out "$W/$NAME" -q $MIX $ARGS
  metabnet eval --model "$W/$NAME/model.pt" $TEST --out "$W/$NAME/eval.json"; keep $NAME
  python3 benchmarks/sink_rule.py $TEST > "$R/sink_rule.txt"
  ;;
default)
  timeout ${BUDGET:-480} metabnet train --out "$W/gpu-default" -q --resume \
    --families erdos,erdos_gnm,scale_free,small_world,trap,longpath,bowtie,layered,modular --sizes S,M \
    --kinetics linear,linear,michaelis-menten --weights integer,unweighted,log-uniform --task quanti \
    --width 64 --iters-extra 24 --batch-size 512 --lr 1e-3 --warmup 500 --max-steps ${STEPS:-40000} \
    --val-size 1620 --eval-every 2000 --ckpt-every 500 --log-every 100
  keep gpu-default
  ;;
esac
