# Sourced by learn_cpu.sh and learn_gpu.sh with W (work dir) set: `gen NAME ARGS...` makes a
# shard folder once; `testsets COUNT` makes the evaluation sets and lists them in TEST:
#   the paper's distribution: S erdos on another seed, three families never trained on, M erdos;
#   the hard families (`hardsets COUNT`, also listed alone in HARD_TEST): trap, longpath,
#   bowtie, layered, modular at S and M, seeds 1001-1010 (keep training seeds away from them);
#   L size (a quarter of COUNT): erdos and trap, seeds 6 and 1011.
gen() { [ -d "$W/$1" ] || metabnet gen --out "$W/$1" -q "${@:2}"; }
hardsets() {
  HARD_TEST=""
  local seed=1001 f size
  for f in trap longpath bowtie layered modular; do
    for size in S M; do
      gen "$f-$size" --family "$f" --size "$size" --count "$1" --seed "$seed"
      HARD_TEST="$HARD_TEST $W/$f-$size"
      seed=$((seed + 1))
    done
  done
}
testsets() {
  gen erdos-S-test --count "$1" --seed 1
  gen erdos_gnm-S --family erdos_gnm --count "$1" --seed 2
  gen small_world-S --family small_world --count "$1" --seed 3
  gen scale_free-S --family scale_free --count "$1" --seed 4
  gen erdos-M --size M --count "$1" --seed 5
  hardsets "$1"
  gen erdos-L --size L --count $(($1 / 4)) --seed 6
  gen trap-L --family trap --size L --count $(($1 / 4)) --seed 1011
  TEST="$W/erdos-S-test $W/erdos_gnm-S $W/small_world-S $W/scale_free-S $W/erdos-M$HARD_TEST $W/erdos-L $W/trap-L"
}
# `accsets COUNT` (docs/accuracy.md): every family at S, M and L (a quarter of COUNT), linear and
# Michaelis-Menten (--intake-scale 0.05, as the shipped model's training), integer rates, seeds
# 2001 on; listed in ACC_TEST.
accsets() {
  ACC_TEST=""
  local seed=2001 f size kin count
  for f in erdos erdos_gnm scale_free small_world trap longpath bowtie layered modular; do
    for size in S M L; do
      count=$1; [ "$size" = L ] && count=$(($1 / 4))
      for kin in linear michaelis-menten; do
        gen "acc/$f-$size-$kin" --family "$f" --size "$size" --count "$count" --seed "$seed" \
          --kinetics "$kin" $([ "$kin" = linear ] || echo --intake-scale 0.05)
        ACC_TEST="$ACC_TEST $W/acc/$f-$size-$kin"
        seed=$((seed + 1))
      done
    done
  done
}
