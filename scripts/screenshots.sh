#!/usr/bin/env bash
# Takes the README screenshots of the real window under Xvfb: before Start (the file list with
# pictures, the plan, the preview), the preview at 100 % with the swipe line, the empty state, a
# running batch (worker rows, overall bar, throughput chart with a worker-count change), a
# finished batch with failures, and that window at its minimum size (900x600). Needs: Xvfb, xdotool, ImageMagick. Writes
# docs/screenshots/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
bin=target/release/conveyor
work=$(mktemp -d)
trap 'kill $gui $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT

# A corpus of photo-like JPEGs (ten distinct plasma scenes, copied) plus two broken files.
mkdir -p "$work/photos/day1" "$work/photos/day2"
for i in $(seq 0 9); do
  convert -size 2400x1600 -seed "$i" plasma:fractal -blur 0x2 -quality 90 "$work/scene$i.jpg"
done
for i in $(seq 0 299); do
  day=$(( i % 2 + 1 ))
  cp "$work/scene$(( i % 10 )).jpg" "$work/photos/day$day/IMG_$(printf %04d "$i").jpg"
done
head -c 30000 "$work/scene0.jpg" > "$work/photos/day2/IMG_9998.jpg"   # truncated
echo "not a picture" > "$work/photos/day2/IMG_9999.jpg"              # text named .jpg

Xvfb :77 -screen 0 1400x900x24 -nolisten tcp & xvfb=$!
export DISPLAY=:77
sleep 1
shot() { import -window root -crop 1280x820+0+0 "docs/screenshots/$1.png"; }

# 0. Before Start: the input's files with their pictures, the plan, the preview side by side.
HOME="$work/home" "$bin" gui --input "$work/photos/day1" --out "$work/out-preview" \
  --resize fit:1600x1600 --format webp --quality 40 & gui=$!
win=$(xdotool search --sync --name '^Conveyor' | head -1)
xdotool windowfocus --sync "$win"
sleep 12                                       # the scan, the plan, the preview, the estimate
xdotool mousemove 1270 810; sleep 1
shot before
# The preview at 100 % with the swipe line through the detail.
xdotool mousemove 935 161 click 1; sleep 0.5   # "100 %"
xdotool mousemove 1100 161 click 1; sleep 1    # "Swipe"
drag() { # x0 y0 dx dy: a drag in ten steps, so the window sees every move
  xdotool mousemove "$1" "$2"; sleep 0.2; xdotool mousedown 1
  for i in $(seq 1 10); do xdotool mousemove $(($1 + i * $3 / 10)) $(($2 + i * $4 / 10)); sleep 0.05; done
  xdotool mouseup 1; sleep 0.5
}
drag 1100 600 -300 -200                        # pan
drag 955 500 150 0                             # move the swipe line
xdotool mousemove 1270 810; sleep 2
shot preview
kill $gui; wait $gui 2>/dev/null || true

# 1. Empty state.
HOME="$work/home" "$bin" & gui=$!
xdotool search --sync --name '^Conveyor$' >/dev/null
sleep 1.5
shot empty
kill $gui; wait $gui 2>/dev/null || true

# 2. A running batch: start with 1 worker, then go to 2 so the chart marks the change.
HOME="$work/home" "$bin" gui --input "$work/photos" --out "$work/out" --workers 1 --start \
  --resize fit:1600x1600 --format webp --quality 80 & gui=$!
win=$(xdotool search --sync --name '^Conveyor' | head -1)
xdotool windowfocus --sync "$win"
sleep 7
xdotool mousemove 800 96 click 1               # the workers' "+"
sleep 9
shot running

# 3. Finished with failures: wait for the end, show the failures with their reasons.
while [ "$(find "$work/out" -name '*.webp' | wc -l)" -lt 300 ]; do sleep 1; done
sleep 2
# Positions below are those of the finished layout at 1280x820.
xdotool mousemove 520 396 click 1   # select the first result: before / after preview
sleep 1.5
xdotool mousemove 472 373 click 1   # the "Failed (2)" filter
sleep 0.7
xdotool mousemove 1270 810; sleep 0.5
shot finished

# 4. The same window at its minimum size.
xdotool windowsize "$win" 900 600
sleep 1.5
import -window root -crop 900x600+0+0 docs/screenshots/minimum.png
echo "screenshots in docs/screenshots/"
