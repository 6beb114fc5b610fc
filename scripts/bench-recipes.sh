#!/usr/bin/env bash
# What one decode for several outputs saves: a recipe with three outputs against three separate
# runs (one per output, each decoding every original again), interleaved round by round on one
# corpus so that the host's drift hits both alike. Prints each side's median wall time and the
# ratio (recipe / separate runs).
#
#   scripts/bench-recipes.sh [--rounds N] [--dir DIR] [--turbo]
#
# Corpus: 40 photo-like 4000x3000 JPEGs (ImageMagick plasma:fractal, 2 px blur, mild Gaussian
# noise, q92), generated once into DIR (default a tmpfs under /dev/shm). Every run: -j 2.
# Recipes:
#   jpeg  fit 480, 960 and 1920 JPEG q85 (decoding dominates)
#   webp  fit 480 and 1920 WebP q80 plus fit 1920 JPEG q85 (encoding dominates)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 dir=/dev/shm/conveyor-bench-recipes features=()
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
if [ "$(find "$corpus" -name '*.jpg' 2>/dev/null | wc -l)" -ne 40 ]; then
  echo "generating 40 x 4000x3000 JPEG" >&2
  rm -rf "$corpus" && mkdir -p "$corpus"
  seq -w 1 40 | xargs -P2 -I{} /usr/bin/convert -seed {} -size 4000x3000 plasma:fractal \
    -blur 0x2 -attenuate 0.25 +noise Gaussian -quality 92 "$corpus/photo-{}.jpg"
fi

# One output per line: sub-folder|resize|format|quality.
declare -A recipes
recipes[jpeg]="480|fit:480x480|jpeg|85
960|fit:960x960|jpeg|85
1920|fit:1920x1920|jpeg|85"
recipes[webp]="480|fit:480x480|webp|80
1920|fit:1920x1920|webp|80
1920|fit:1920x1920|jpeg|85"

for name in jpeg webp; do
  file="$dir/$name.toml"
  : >"$file"
  while IFS='|' read -r sub resize format quality; do
    printf '[[output]]\nsubfolder = "%s"\nresize = "%s"\nformat = "%s"\nquality = %s\n\n' \
      "$sub" "$resize" "$format" "$quality" >>"$file"
  done <<<"${recipes[$name]}"
  "$bin" recipe check "$file" >&2
done

declare -A times
for round in $(seq 1 "$rounds"); do
  for name in jpeg webp; do
    out="$dir/out" && rm -rf "$out"
    start=$(date +%s.%N)
    "$bin" run "$corpus" --out "$out" --recipe "$dir/$name.toml" -j 2 -q >/dev/null
    end=$(date +%s.%N)
    times[$name-recipe]+="$(echo "$end - $start" | bc) "
    recipe_files=$(find "$out" -type f ! -name '.conveyor-journal*' | wc -l)

    out="$dir/out" && rm -rf "$out"
    start=$(date +%s.%N)
    while IFS='|' read -r sub resize format quality; do
      "$bin" run "$corpus" --out "$out/$sub" --resize "$resize" --format "$format" \
        --quality "$quality" -j 2 -q >/dev/null
    done <<<"${recipes[$name]}"
    end=$(date +%s.%N)
    times[$name-separate]+="$(echo "$end - $start" | bc) "
    separate_files=$(find "$out" -type f ! -name '.conveyor-journal*' | wc -l)
    [ "$recipe_files" = "$separate_files" ] ||
      { echo "recipe wrote $recipe_files files, separate runs $separate_files" >&2; exit 1; }
  done
  echo "round $round done" >&2
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-8s %14s %16s %8s\n' recipe "recipe s" "3 separate s" ratio
for name in jpeg webp; do
  r=$(echo "${times[$name-recipe]}" | median)
  s=$(echo "${times[$name-separate]}" | median)
  printf '%-8s %14.2f %16.2f %8.2f\n' "$name" "$r" "$s" "$(echo "$r / $s" | bc -l)"
done
