#!/usr/bin/env bash
# What the window costs a batch (#41 item 5): the same N tiny JPEGs (default 10,000, 320x240)
# -> WebP fit 160 with 2 workers, by `conveyor run` and by the real window under Xvfb (software
# rendering, as on a machine without a GPU), ROUNDS interleaved rounds. Each side's time is the
# batch's own, from its start to its end (the CLI's summary line; the window's
# CONVEYOR_FRAME_STATS line), so scanning, planning and opening the window are not in it. Also
# the window process's CPU by thread. IN=DIR runs on a folder made elsewhere (for a million,
# `bench-million.sh`'s tree of hard links) and RECIPE the recipe's options instead. With
# BROWSE=1, once the window's batch has finished its results are browsed as a user would (the
# filter switched between all, failed and skipped, the list scrolled by the wheel through
# ~300 pages, its scroll bar dragged to the end and back, a row selected and moved from with the
# arrow keys), the window closed as its close button does, and the frames of that browsing
# printed. Needs: Xvfb, xdotool, ImageMagick.
#   [N=10000] [ROUNDS=3] [WORKERS=2] [BENCH_DIR=DIR] [CONVEYOR_BIN=PATH] [IN=DIR]
#   [RECIPE='--resize fit:32x32 --format webp'] [BROWSE=1] scripts/bench-window.sh
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

in=${IN:-$work/in}
if [ -z "${IN:-}" ] && [ ! -f "$work/in/.count-$n" ]; then
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

read -r -a recipe <<< "${RECIPE:---resize fit:160x160 --format webp}"

# Asks window $1 to close as a window manager's close button does (WM_DELETE_WINDOW; Xvfb
# has no window manager to press it).
close_window() {
  python3 - "$1" <<'PY'
import ctypes, sys
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                ("data", ctypes.c_long * 5)]
class Event(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                         ctypes.POINTER(Event)]
d = x.XOpenDisplay(None)
win = int(sys.argv[1])
e = Event()
e.xclient.type = 33  # ClientMessage
e.xclient.window = win
e.xclient.message_type = x.XInternAtom(d, b"WM_PROTOCOLS", 0)
e.xclient.format = 32
e.xclient.data[0] = x.XInternAtom(d, b"WM_DELETE_WINDOW", 0)
x.XSendEvent(d, win, 0, 0, ctypes.byref(e))
x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
x.XSync(d, 0)
PY
}

# Browses the finished batch's results as a user would (places in the 1400x900 screen where
# the window opens at its default size).
browse() {
  local win=$1
  for at in "480 373" "562 373" "402 373"; do # Failed, Skipped, All
    xdotool mousemove $at click 1
    sleep 0.3
  done
  xdotool mousemove 760 600
  xdotool click --repeat 300 --delay 15 5 # the wheel, down
  xdotool click --repeat 100 --delay 15 4 # and up
  # The scroll bar (at the list's right edge) dragged to the end and back.
  xdotool mousemove 1268 400 mousedown 1
  for y in $(seq 400 20 820) $(seq 820 -20 400); do xdotool mousemove 1268 "$y"; sleep 0.02; done
  xdotool mouseup 1
  xdotool mousemove 520 600 click 1 # a row selected,
  xdotool key --repeat 60 --delay 30 Down # and moved from
  xdotool key --repeat 20 --delay 30 Up
  xdotool mousemove 1390 890
  [ "$r" = 1 ] && import -window root "$work/window-browsed.png"
  close_window "$win"
}
: > "$work/rows.txt"
for r in $(seq 1 "$rounds"); do
  rm -rf "$work/out"
  cli=$("$bin" run "$in" --out "$work/out" -j "$workers" "${recipe[@]}" --quiet \
    | sed -n 's/.* in \([0-9.]*\) s (.*/\1/p')
  rm -rf "$work/out" "$work/home"
  HOME="$work/home" CONVEYOR_FRAME_STATS=1 "$bin" gui --input "$in" --out "$work/out" \
    --workers "$workers" --start "${recipe[@]}" 2> "$work/stderr.txt" &
  gui=$!
  win=$(xdotool search --sync --name '^Conveyor' | head -1)
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
  peak=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$gui/status")
  if [ -n "${BROWSE:-}" ]; then
    browse "$win"
    wait "$gui" 2> /dev/null || true
    echo "round $r, browsing: $(grep -o 'after the batch.*' "$work/stderr.txt")"
  else
    kill "$gui"
    wait "$gui" 2> /dev/null || true
  fi
  echo "cli $cli window $window" >> "$work/rows.txt"
  echo "round $r: cli $cli s, window $window s ($(echo "$window / $cli" | bc -l | cut -c1-5)×); $frames; window peak $peak MiB; threads: $threads"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cli=$(awk '{print $2}' "$work/rows.txt" | median)
window=$(awk '{print $4}' "$work/rows.txt" | median)
echo
echo "| $n files, $workers workers, medians of $rounds rounds | seconds | images/s | against the CLI |"
echo "|---|---|---|---|"
echo "| conveyor run | $cli | $(echo "$n / $cli" | bc -l | cut -d. -f1) | 1.00 |"
echo "| the window (Xvfb, software rendering) | $window | $(echo "$n / $window" | bc -l | cut -d. -f1) | $(echo "$cli / $window" | bc -l | cut -c1-4) |"
