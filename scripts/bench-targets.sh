#!/usr/bin/env bash
# The cost of saying the size or the look instead of a quality number: the same batch at a fixed
# quality, with --max-size and with --target-score, interleaved round by round on one corpus so
# that the host's drift hits every variant alike. Prints each variant's median wall time, its
# ratio to the fixed quality, the encodes it implies and the output bytes.
#
#   scripts/bench-targets.sh [--rounds N] [--dir DIR] [--turbo]
#
# Corpus: 24 photo-like 3000x2000 JPEGs (ImageMagick plasma:fractal, 2 px blur, mild Gaussian
# noise, q92), generated once into DIR (default a tmpfs under /dev/shm). Every run: fit 1600x1600
# JPEG, -j 2.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 dir=/dev/shm/conveyor-bench-targets features=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --dir) dir=$2; shift ;;
    --turbo) features=(--features turbo) ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x /usr/bin/convert ] || { apt-get update -qq && apt-get install -y -qq imagemagick >/dev/null; }
cargo build --release --quiet "${features[@]}"
bin=target/release/conveyor
corpus="$dir/in"
if [ "$(find "$corpus" -name '*.jpg' 2>/dev/null | wc -l)" -ne 24 ]; then
  echo "generating 24 x 3000x2000 JPEG" >&2
  rm -rf "$corpus" && mkdir -p "$corpus"
  seq -w 1 24 | xargs -P2 -I{} /usr/bin/convert -seed {} -size 3000x2000 plasma:fractal \
    -blur 0x2 -attenuate 0.25 +noise Gaussian -quality 92 "$corpus/photo-{}.jpg"
fi
variants=("fixed q85|" "max-size 150K|--max-size 150K" "target-score 80|--target-score 80" \
  "target-score 80 + max-size 150K|--target-score 80 --max-size 150K")
declare -A times bytes
for round in $(seq 1 "$rounds"); do
  for v in "${variants[@]}"; do
    name=${v%%|*} flags=${v#*|}
    out="$dir/out" && rm -rf "$out"
    start=$(date +%s.%N)
    # shellcheck disable=SC2086 # the flags are words
    "$bin" run "$corpus" --out "$out" --resize fit:1600x1600 --format jpeg -j 2 -q $flags \
      --report "$dir/r.json" >/dev/null
    end=$(date +%s.%N)
    times[$name]+="$(echo "$end - $start" | bc) "
    bytes[$name]=$(du -sb "$out" | cut -f1)
  done
  echo "round $round done" >&2
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${times[fixed q85]}" | median)
printf '%-34s %10s %8s %12s\n' variant "median s" "× fixed" "output MiB"
for v in "${variants[@]}"; do
  name=${v%%|*}
  m=$(echo "${times[$name]}" | median)
  printf '%-34s %10.2f %8.2f %12.1f\n' "$name" "$m" "$(echo "$m / $base" | bc -l)" \
    "$(echo "${bytes[$name]} / 1048576" | bc -l)"
done
