#!/usr/bin/env bash
# #16's bench: 40 photos bucket → bucket on a loopback S3 server against the same photos folder
# → folder, interleaved rounds, medians of wall time and peak RSS (GNU time), side by side.
#
#   scripts/bench-s3.sh [--rounds N] [--bin PATH]
#
# The photos are W1's (40 × 4000x3000 JPEG, made with ImageMagick as scripts/bench-compare.sh
# makes them, in $BENCH_DIR/w1); the recipe is W1's (fit 800, JPEG q85, 2 workers). The server
# is moto (`pip install 'moto[server]'`), in memory on 127.0.0.1: it is Python and shares the
# two cores with Conveyor, so the ratio is a floor for what a real S3 endpoint gives.
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
mkdir -p "$w1"
if [ "$(find "$w1" -name '*.jpg' | wc -l)" -ne 40 ]; then
  echo "making 40 photos in $w1 …" >&2
  rm -rf "$w1" && mkdir -p "$w1"
  seq -w 1 40 | xargs -P2 -I{} convert -seed {} -size 4000x3000 plasma:fractal -blur 0x2 \
    -attenuate 0.25 +noise Gaussian -sampling-factor 4:2:0 -quality 90 "$w1/photo-{}.jpg"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -rf "$dir/s3-out"' EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
until python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null; do
  sleep 0.1
done
tool=tests/s3tool.py
python3 "$tool" mb photos
python3 "$tool" mb web
python3 "$tool" put-dir "$w1" s3://photos/w1

recipe=(--resize fit:800x800 --format jpeg --quality 85 -j 2 -q)
# Prints "seconds peak-KiB" for one run of conveyor with fresh outputs.
measure() {
  local out=$1
  shift
  /usr/bin/time -f '%e %M' -o "$dir/time.txt" "$bin" run "$@" --out "$out" "${recipe[@]}" \
    >/dev/null
  cat "$dir/time.txt"
}
local_times=() local_rss=() s3_times=() s3_rss=()
for r in $(seq 1 "$rounds"); do
  rm -rf "$dir/s3-out"
  read -r t m < <(measure "$dir/s3-out" "$w1")
  local_times+=("$t") local_rss+=("$m")
  read -r t m < <(measure "s3://web/round$r" s3://photos/w1)
  s3_times+=("$t") s3_rss+=("$m")
  echo "round $r: folder → folder ${local_times[-1]} s ${local_rss[-1]} KiB;" \
    "bucket → bucket ${s3_times[-1]} s ${s3_rss[-1]} KiB" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
lt=$(median "${local_times[@]}") st=$(median "${s3_times[@]}")
lm=$(median "${local_rss[@]}") sm=$(median "${s3_rss[@]}")
echo "| run | time (median of $rounds) | images/s | peak RSS |"
echo "|---|---|---|---|"
awk -v t="$lt" -v m="$lm" 'BEGIN {printf "| folder → folder | %.2f s | %.1f | %.0f MiB |\n", t, 40/t, m/1024}'
awk -v t="$st" -v m="$sm" 'BEGIN {printf "| bucket → bucket (moto on loopback) | %.2f s | %.1f | %.0f MiB |\n", t, 40/t, m/1024}'
awk -v a="$lt" -v b="$st" -v x="$lm" -v y="$sm" \
  'BEGIN {printf "\nbucket → bucket throughput: %.0f %% of folder → folder; peak RSS %+.0f MiB\n", 100*a/b, (y-x)/1024}'
