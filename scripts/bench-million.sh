#!/usr/bin/env bash
# A million files (#41): scan + plan (`--dry-run`, no report) of N tiny JPEGs in folders of
# 1,000, against `find IN -type f | wc -l` (and `find` printing each file's size and time,
# which the scan also reads) on the same warm tree, ROUNDS interleaved rounds; peak RSS by GNU
# time. With --real, also a real run to 32x32 WebP of REAL_N files (default 100,000; the same
# tree when it equals N) and of 10,000, for images/s side by side and peak RSS, and the large
# one again with a JSON report. With --resume, a real run of the N files killed (kill -9) at
# about half, then the same command: how long until it converts again, its time and peak RSS,
# and the whole journal's reading time (CONVEYOR_PHASES) in a dry run after it. With --merge,
# the N files converted as 16 shards (`--shard K/16`, a report each), then `report merge` of
# the 16 reports: its time and peak RSS.
# The corpus: one 16x16 JPEG per folder made by ImageMagick, the other 999 hard links to it.
# Needs: ImageMagick, GNU time. BENCH_DIR keeps the corpus between runs (default: a folder in
# /dev/shm, else /tmp); CONVEYOR_BIN=PATH runs that binary instead of building this checkout.
# Usage: [N=1000000] [ROUNDS=3] [BENCH_DIR=DIR] scripts/bench-million.sh [--real] [--resume]
#        [--merge]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1000000}
rounds=${ROUNDS:-3}
real=false
resume=false
merge=false
for arg in "$@"; do
  case $arg in
    --real) real=true ;;
    --resume) resume=true ;;
    --merge) merge=true ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done
if [ -n "${CONVEYOR_BIN:-}" ]; then
  bin=$CONVEYOR_BIN
else
  cargo build --release
  bin=$PWD/target/release/conveyor
fi
base=/tmp
[ -d /dev/shm ] && base=/dev/shm
work=${BENCH_DIR:-$base/conveyor-million}
mkdir -p "$work"

corpus() { # corpus DIR COUNT
  local dir=$1 count=$2
  if [ -f "$dir/.count-$count" ]; then return; fi
  rm -rf "$dir"
  mkdir -p "$dir"
  [ -f "$work/t.jpg" ] || convert -size 16x16 -seed 1 plasma:fractal -quality 85 "$work/t.jpg"
  python3 - "$work/t.jpg" "$dir" "$count" <<'PY'
import os, shutil, sys
src, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    d = f"{root}/d{i // 1000:04d}"
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
        first = f"{d}/img_{i}.jpg"
        shutil.copyfile(src, first)
    else:
        os.link(first, f"{d}/img_{i}.jpg")
PY
  touch "$dir/.count-$count"
}

measure() { # measure LABEL COMMAND... : prints "seconds max_rss_kib"
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > /dev/null 2> "$work/stderr.txt"
  cat "$work/time.txt"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

corpus "$work/in" "$n"
echo "corpus: $n files in $work/in ($(nproc) cores)"
: > "$work/rows.txt"
for r in $(seq 1 "$rounds"); do
  read -r t _ < <(measure sh -c "find '$work/in' -type f | wc -l")
  echo "find $t" >> "$work/rows.txt"
  read -r t _ < <(measure sh -c "find '$work/in' -type f -printf '%s %T@\n' | wc -l")
  echo "find-stat $t" >> "$work/rows.txt"
  rm -rf "$work/out"
  read -r t rss < <(measure "$bin" run "$work/in" --out "$work/out" --format webp \
    --resize fit:32x32 --dry-run --quiet)
  echo "dry $t $rss" >> "$work/rows.txt"
  echo "round $r: $(tail -3 "$work/rows.txt" | tr '\n' ' ')"
done
find_s=$(awk '$1=="find" {print $2}' "$work/rows.txt" | median)
stat_s=$(awk '$1=="find-stat" {print $2}' "$work/rows.txt" | median)
dry_s=$(awk '$1=="dry" {print $2}' "$work/rows.txt" | median)
dry_rss=$(awk '$1=="dry" {print $3}' "$work/rows.txt" | sort -n | tail -1)
echo
echo "| $n files, medians of $rounds rounds | seconds | ratio to find | peak RSS |"
echo "|---|---|---|---|"
echo "| find IN -type f \| wc -l | $find_s | 1.00 | |"
echo "| find IN -type f -printf '%s %T@' \| wc -l | $stat_s | $(echo "$stat_s / $find_s" | bc -l | cut -c1-4) | |"
echo "| conveyor run --dry-run | $dry_s | $(echo "$dry_s / $find_s" | bc -l | cut -c1-4) | $((dry_rss / 1024)) MiB ($((dry_rss * 1024 / n)) bytes a file) |"

if $real; then
  real_n=${REAL_N:-100000}
  corpus "$work/small" 10000
  if [ "$real_n" = "$n" ]; then ln -sfn "$work/in" "$work/real"; else corpus "$work/real" "$real_n"; fi
  echo
  echo "| real run to 32x32 WebP | seconds | images/s | peak RSS |"
  echo "|---|---|---|---|"
  for set in small real; do
    files=$(ls -a "$work/$set/" | sed -n 's/^\.count-//p')
    rm -rf "$work/out-$set"
    read -r t rss < <(measure "$bin" run "$work/$set" --out "$work/out-$set" --format webp \
      --resize fit:32x32 --quiet)
    echo "| $files files | $t | $(echo "$files / $t" | bc -l | cut -d. -f1) | $((rss / 1024)) MiB |"
    rm -rf "$work/out-$set"
  done
  # The same with a JSON report, streamed to disk as files finish.
  files=$(ls -a "$work/real/" | sed -n 's/^\.count-//p')
  read -r t rss < <(measure "$bin" run "$work/real" --out "$work/out-real" --format webp \
    --resize fit:32x32 --quiet --report "$work/report.json")
  echo "| $files files, --report report.json ($(du -m "$work/report.json" | cut -f1) MB) | $t | $(echo "$files / $t" | bc -l | cut -d. -f1) | $((rss / 1024)) MiB |"
  rm -rf "$work/out-real" "$work/report.json"
fi

if $resume; then
  out=$work/out-resume
  j=$out/.conveyor-journal.jsonl
  cmd=("$bin" run "$work/in" --out "$out" --format webp --resize fit:32x32 --quiet)
  rm -rf "$out"
  "${cmd[@]}" > /dev/null 2>&1 &
  pid=$!
  until [ -s "$j" ]; do sleep 0.05; done
  line=$(head -1 "$j" | wc -c)
  while [ "$(stat -c %s "$j")" -lt $((line * n / 2)) ]; do sleep 0.05; done
  kill -9 "$pid"
  wait "$pid" 2> /dev/null || true
  entries=$(wc -l < "$j")
  size=$(stat -c %s "$j")
  # The same command: the time to its first new journal line (its first output in place).
  start=$(date +%s.%N)
  CONVEYOR_PHASES=1 /usr/bin/time -f "%e %M" -o "$work/time.txt" "${cmd[@]}" > "$work/resume.txt" 2>&1 &
  pid=$!
  while [ "$(stat -c %s "$j" 2> /dev/null || echo 0)" -le "$size" ]; do sleep 0.01; done
  first=$(echo "$(date +%s.%N) - $start" | bc -l)
  wait "$pid"
  read -r t rss < "$work/time.txt"
  converted=$(sed -n 's/^converted \([0-9]*\),.*/\1/p' "$work/resume.txt")
  CONVEYOR_PHASES=1 "${cmd[@]}" --dry-run > /dev/null 2> "$work/phases.txt"
  echo
  echo "| resumed after kill -9 | |"
  echo "|---|---|"
  echo "| journal at the kill | $entries entries |"
  echo "| first output of the resumed run | $(printf '%.2f' "$first") s |"
  echo "| resumed run | $t s, $converted converted, peak RSS $((rss / 1024)) MiB |"
  echo "| then a dry run: $(sed -n 's/^phase: //p' "$work/phases.txt" | tr '\n' ';' | sed 's/;$//; s/;/; /') | |"
  rm -rf "$out"
fi

if $merge; then
  out=$work/out-shards
  rm -rf "$out"
  reports=()
  for k in $(seq 1 16); do
    "$bin" run "$work/in" --out "$out" --format webp --resize fit:32x32 --quiet \
      --shard "$k/16" --report "$work/shard-$k.json" > /dev/null
    reports+=("$work/shard-$k.json")
  done
  read -r t rss < <(measure "$bin" report merge "${reports[@]}" --out "$work/merged.json")
  echo
  echo "| report merge of 16 shard reports ($(du -cm "${reports[@]}" | tail -1 | cut -f1) MB) | seconds | peak RSS |"
  echo "|---|---|---|"
  echo "| $(grep -c '"input"' "$work/merged.json") records | $t | $((rss / 1024)) MiB |"
  rm -rf "$out" "${reports[@]}" "$work/merged.json"
fi
