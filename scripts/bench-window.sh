#!/usr/bin/env bash
# What the window costs a batch (#41 item 5): the same N tiny JPEGs (default 10,000, 320x240)
# -> WebP fit 160 with 2 workers, by `conveyor run` and by the real window under Xvfb (software
# rendering, as on a machine without a GPU), ROUNDS interleaved rounds. Each side's time is the
# batch's own, from its start to its end (the CLI's summary line; the window's
# CONVEYOR_FRAME_STATS line), so scanning, planning and opening the window are not in it. Also
# the window process's CPU by thread. Needs: Xvfb, xdotool, ImageMagick.
#   [N=10000] [ROUNDS=3] [WORKERS=2] [BENCH_DIR=DIR] [CONVEYOR_BIN=PATH] scripts/bench-window.sh
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-10000}
rounds=${ROUNDS:-3}
workers=${WORKERS:-2}
if [ -n "${CONVEYOR_BIN:-}" ]; then
  bin=$CONVEYOR_BIN
else
  cargo build --release
  bin=$PWD/target/release/conveyor
fi
work=${BENCH_DIR:-/dev/shm/conveyor-window}
mkdir -p "$work"
xvfb=
trap 'kill $xvfb 2>/dev/null || true' EXIT

if [ ! -f "$work/in/.count-$n" ]; then
  rm -rf "$work/in"
  mkdir -p "$work/in"
  for i in $(seq 0 9); do
    convert -size 320x240 -seed "$i" plasma:fractal -quality 85 "$work/t$i.jpg"
  done
  python3 - "$work" "$n" <<'PY'
import os, shutil, sys
work, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = f"{work}/in/d{i // 1000:03d}"
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(f"{work}/t{i % 10}.jpg", f"{d}/img_{i}.jpg")
PY
  touch "$work/in/.count-$n"
fi

Xvfb :81 -screen 0 1400x900x24 -nolisten tcp & xvfb=$!
export DISPLAY=:81
until xdpyinfo > /dev/null 2>&1; do sleep 0.1; done

recipe=(--resize fit:160x160 --format webp)
: > "$work/rows.txt"
for r in $(seq 1 "$rounds"); do
  rm -rf "$work/out"
  cli=$("$bin" run "$work/in" --out "$work/out" -j "$workers" "${recipe[@]}" --quiet \
    | sed -n 's/.* in \([0-9.]*\) s (.*/\1/p')
  rm -rf "$work/out" "$work/home"
  HOME="$work/home" CONVEYOR_FRAME_STATS=1 "$bin" gui --input "$work/in" --out "$work/out" \
    --workers "$workers" --start "${recipe[@]}" 2> "$work/stderr.txt" &
  gui=$!
  xdotool search --sync --name '^Conveyor' > /dev/null
  # The pointer rests outside the window (over a widget, egui's hover animations add frames).
  xdotool mousemove 1390 890
  until grep -q 'frame stats' "$work/stderr.txt"; do sleep 0.2; done
  window=$(sed -n 's/.*result rows in \([0-9.]*\) s).*/\1/p' "$work/stderr.txt")
  threads=$(python3 - "$gui" <<'PY'
import glob, sys
pid = sys.argv[1]
def cpu(stat):
    f = open(stat).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100
by = {}
for t in glob.glob(f"/proc/{pid}/task/*"):
    name = open(f"{t}/comm").read().strip()
    by[name] = by.get(name, 0) + cpu(f"{t}/stat")
print(", ".join(f"{k} {v:.1f} s" for k, v in sorted(by.items()) if v >= 0.1))
PY
)
  frames=$(grep -o 'whole frame frames [0-9]* p50 [0-9.]* ms p99 [0-9.]* ms max [0-9.]* ms' "$work/stderr.txt")
  [ "$r" = 1 ] && import -window root "$work/window-finished.png"
  kill "$gui"
  wait "$gui" 2> /dev/null || true
  echo "cli $cli window $window" >> "$work/rows.txt"
  echo "round $r: cli $cli s, window $window s ($(echo "$window / $cli" | bc -l | cut -c1-5)×); $frames; threads: $threads"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cli=$(awk '{print $2}' "$work/rows.txt" | median)
window=$(awk '{print $4}' "$work/rows.txt" | median)
echo
echo "| $n files, $workers workers, medians of $rounds rounds | seconds | images/s | against the CLI |"
echo "|---|---|---|---|"
echo "| conveyor run | $cli | $(echo "$n / $cli" | bc -l | cut -d. -f1) | 1.00 |"
echo "| the window (Xvfb, software rendering) | $window | $(echo "$n / $window" | bc -l | cut -d. -f1) | $(echo "$cli / $window" | bc -l | cut -c1-4) |"
