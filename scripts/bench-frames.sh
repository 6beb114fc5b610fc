#!/usr/bin/env bash
# Frame times of the real window during a big batch (#17 item 14): N tiny JPEGs (default
# 100,000) -> WebP fit 160, 2 workers (WORKERS=N to change), under Xvfb, with
# CONVEYOR_FRAME_STATS=1. The app prints per-frame percentiles for its event handling, its
# drawing and the whole frame (eframe's own measure) when the batch ends, and where in the batch
# the slowest frames were. Needs: Xvfb, xdotool, ImageMagick. BENCH_DIR keeps the corpus
# between runs; CONVEYOR_BIN=PATH runs that binary instead of building this checkout (to compare
# two builds interleaved). Usage:
#   [WORKERS=N] [BENCH_DIR=DIR] [CONVEYOR_BIN=PATH] scripts/bench-frames.sh [N] [extra conveyor gui options...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
shift || true
if [ -n "${CONVEYOR_BIN:-}" ]; then
  bin=$CONVEYOR_BIN
else
  cargo build --release
  bin=$PWD/target/release/conveyor
fi
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'kill $gui $xvfb 2>/dev/null || true' EXIT

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
    d = f"{work}/in/d{i % 100:02d}"
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(f"{work}/t{i % 10}.jpg", f"{d}/img_{i}.jpg")
PY
  touch "$work/in/.count-$n"
fi
rm -rf "$work/out"

Xvfb :79 -screen 0 1400x900x24 -nolisten tcp & xvfb=$!
export DISPLAY=:79
sleep 1
HOME="$work/home" CONVEYOR_FRAME_STATS=1 "$bin" gui --input "$work/in" --out "$work/out" \
  --workers "${WORKERS:-2}" --start --resize fit:160x160 --format webp "$@" 2> "$work/stderr.txt" & gui=$!
win=$(xdotool search --sync --name '^Conveyor' | head -1)
start=$(date +%s)
until xdotool getwindowname "$win" | grep -q 'finished'; do sleep 1; done
echo "batch of $n took $(($(date +%s) - start)) s (from the window's appearance)"
import -window root "$work/frames-finished.png"
grep 'frame stats' "$work/stderr.txt"
# CPU seconds per thread name of the window's process (llvmpipe-N are the software renderer's
# rasterizer threads), the threads that have ended (the workers and their decode pools), and the
# whole process against the batch's wall time: about the number of cores while the workers use
# every core.
python3 - "$gui" "$(($(date +%s) - start))" <<'PY'
import glob, os, sys
pid, wall = sys.argv[1], int(sys.argv[2])
tick = os.sysconf("SC_CLK_TCK")
def cpu(stat):
    fields = open(stat).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
threads = {}
for t in glob.glob(f"/proc/{pid}/task/*"):
    name = open(f"{t}/comm").read().strip()
    threads[name] = threads.get(name, 0) + cpu(f"{t}/stat")
total = cpu(f"/proc/{pid}/stat")
for name, s in sorted(threads.items()):
    if s > 0:
        print(f"thread {name}: {s:.2f} s CPU")
print(f"ended threads (workers): {total - sum(threads.values()):.2f} s CPU")
print(f"process: {total:.1f} s CPU in {wall} s = {total / wall:.2f} cores")
PY
