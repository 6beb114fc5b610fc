#!/usr/bin/env bash
# #16's bench: 40 photos bucket → bucket on a loopback S3 server against the same photos folder
# → folder, interleaved rounds, medians of wall time and peak RSS (GNU time), side by side.
#
#   scripts/bench-s3.sh [--rounds N] [--bin PATH]
#
# The photos are W1's (40 × 4000x3000 JPEG, made with ImageMagick as scripts/bench-compare.sh
# makes them, in $BENCH_DIR/w1). Two recipes, 2 workers each:
#   web    fit 1600, WebP q80: the README's first example, what a shop or a site wants;
#   thumb  fit 800, JPEG q85 (W1's): the cheapest per photo Conveyor has (the JPEG decoder
#          shrinks on load), so the network's share of the time is at its largest.
# The server is moto (`pip install 'moto[server]'`), in memory on 127.0.0.1, run two ways:
#   moto_server  as installed;
#   moto S3      scripts/moto-s3.py: the same moto S3 backend without moto_server's per-request
#                service lookup and request log (a third of its CPU time).
# Moto is Python on the same two cores as Conveyor (3-5 ms of CPU per request, two requests
# per photo), so these ratios are a floor for what an S3 endpoint on other machines gives.
# Needs a build with `--features s3` (default: target/release/conveyor).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
bin=target/release/conveyor
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
"$bin" --version | grep -q "S3 object storage" || {
  echo "$bin was built without --features s3" >&2
  exit 2
}
dir=${BENCH_DIR:-/dev/shm/conveyor-bench}
w1="$dir/w1"
mkdir -p "$w1" "$dir/tmp"
# Everything the runs touch lives under $dir: the photos, the folder runs' outputs, and (through
# TMPDIR) the local copies the bucket runs decode from.
export TMPDIR="$dir/tmp"
if [ "$(find "$w1" -name '*.jpg' | wc -l)" -ne 40 ]; then
  echo "making 40 photos in $w1 …" >&2
  rm -rf "$w1" && mkdir -p "$w1"
  seq -w 1 40 | xargs -P2 -I{} convert -seed {} -size 4000x3000 plasma:fractal -blur 0x2 \
    -attenuate 0.25 +noise Gaussian -sampling-factor 4:2:0 -quality 90 "$w1/photo-{}.jpg"
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
stock_port=$(free_port)
moto_server -H 127.0.0.1 -p "$stock_port" >/dev/null 2>&1 &
stock=$!
lean_port=$(free_port)
python3 scripts/moto-s3.py "$lean_port" >/dev/null 2>&1 &
lean=$!
trap 'kill $stock $lean 2>/dev/null; rm -rf "$dir/s3-out" "$dir/tmp"' EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
tool=tests/s3tool.py
for port in "$stock_port" "$lean_port"; do
  until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null; do
    sleep 0.1
  done
  for cmd in "mb photos" "mb web" "put-dir $w1 s3://photos/w1"; do
    # shellcheck disable=SC2086 # the words of $cmd are the tool's arguments
    AWS_ENDPOINT_URL="http://127.0.0.1:$port" python3 "$tool" $cmd
  done
done

declare -A recipe=(
  [web]="--resize fit:1600x1600 --format webp --quality 80"
  [thumb]="--resize fit:800x800 --format jpeg --quality 85"
)
# Prints "seconds peak-KiB" for one run with fresh outputs: recipe $1, server port $2 (0 for
# the folder), output $3, then the inputs.
measure() {
  local name=$1 port=$2 out=$3
  shift 3
  # shellcheck disable=SC2086 # the recipe is a list of words
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" /usr/bin/time -f '%e %M' -o "$dir/time.txt" \
    "$bin" run "$@" --out "$out" ${recipe[$name]} -j 2 -q >/dev/null
  cat "$dir/time.txt"
}
declare -A times rss
for r in $(seq 1 "$rounds"); do
  for name in web thumb; do
    rm -rf "$dir/s3-out"
    line="round $r, $name:"
    for run in folder stock lean; do
      case $run in
        folder) read -r t m < <(measure "$name" 0 "$dir/s3-out" "$w1") ;;
        stock) read -r t m < <(measure "$name" "$stock_port" "s3://web/$name$r" s3://photos/w1) ;;
        lean) read -r t m < <(measure "$name" "$lean_port" "s3://web/$name$r" s3://photos/w1) ;;
      esac
      times[$name.$run]+="$t " rss[$name.$run]+="$m "
      line+=" $run $t s $((m / 1024)) MiB;"
    done
    echo "$line" >&2
  done
done
# shellcheck disable=SC2086 # the lists are words
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| recipe | run | time (median of $rounds) | images/s | peak RSS | throughput vs folder | RSS vs folder |"
echo "|---|---|---|---|---|---|---|"
for name in web thumb; do
  lt=$(median "${times[$name.folder]}") lm=$(median "${rss[$name.folder]}")
  for run in folder stock lean; do
    case $run in
      folder) label="folder → folder" ;;
      stock) label="bucket → bucket, moto_server" ;;
      lean) label="bucket → bucket, moto S3 (scripts/moto-s3.py)" ;;
    esac
    awk -v r="${recipe[$name]}" -v n="$label" -v t="$(median "${times[$name.$run]}")" \
      -v m="$(median "${rss[$name.$run]}")" -v lt="$lt" -v lm="$lm" 'BEGIN {
      printf "| %s | %s | %.2f s | %.1f | %.0f MiB | %.0f %% | %+.0f MiB |\n", r, n, t, 40/t,
        m/1024, 100*lt/t, (m-lm)/1024 }'
  done
done
