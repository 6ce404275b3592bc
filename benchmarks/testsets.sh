# Sourced by learn_cpu.sh and learn_gpu.sh with W (work dir) set: `gen NAME ARGS...` makes a
# shard folder once; `testsets COUNT` makes the five evaluation sets (S erdos on another seed,
# three families never trained on, M erdos) and lists them in TEST.
gen() { [ -d "$W/$1" ] || metabnet gen --out "$W/$1" -q "${@:2}"; }
testsets() {
  gen erdos-S-test --count "$1" --seed 1
  gen erdos_gnm-S --family erdos_gnm --count "$1" --seed 2
  gen small_world-S --family small_world --count "$1" --seed 3
  gen scale_free-S --family scale_free --count "$1" --seed 4
  gen erdos-M --size M --count "$1" --seed 5
  TEST="$W/erdos-S-test $W/erdos_gnm-S $W/small_world-S $W/scale_free-S $W/erdos-M"
}
