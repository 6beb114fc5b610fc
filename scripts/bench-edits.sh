#!/usr/bin/env bash
# Edits (#39 acceptance 4): W1 (40 photo-like 4000x3000 JPEGs -> fit 800 JPEG q85, as
# bench-compare.sh makes them) against the same with a logo watermark (a 240x90 PNG with
# transparency at 50 %, 20 % of the width, south-east, 16 px in) and the default sharpening,
# and with the default sharpening and a shadowed text ('© {date:%Y}'), ROUNDS interleaved rounds;
# the ratio of the medians and each run's peak RSS.
# Needs: ImageMagick, GNU time.
#   [ROUNDS=5] [WORKERS=2] [BENCH_DIR=DIR] [CONVEYOR_BIN=PATH] scripts/bench-edits.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
workers=${WORKERS:-2}
if [ -n "${CONVEYOR_BIN:-}" ]; then
  bin=$CONVEYOR_BIN
else
  cargo build --release
  bin=$PWD/target/release/conveyor
fi
dir=${BENCH_DIR:-/dev/shm/conveyor-bench}
w1="$dir/w1"
if [ "$(find "$w1" -name '*.jpg' 2>/dev/null | wc -l)" -ne 40 ]; then
  echo "generating W1 (40 x 4000x3000 JPEG, takes a few minutes)" >&2
  rm -rf "$w1" && mkdir -p "$w1"
  seq -w 1 40 | xargs -P2 -I{} convert -seed {} -size 4000x3000 plasma:fractal -blur 0x2 \
    -attenuate 0.25 +noise Gaussian -sampling-factor 4:2:0 -quality 90 "$w1/photo-{}.jpg"
fi
logo="$dir/logo.png"
convert -size 240x90 xc:none -fill '#e03020' -draw 'roundrectangle 0,0 239,89 18,18' \
  -fill '#ffffffc0' -draw 'circle 60,45 60,15' "$logo"
plain=(--resize fit:800x800 --format jpeg --quality 85 -j "$workers" --quiet)
edited=("${plain[@]}" --watermark "$logo@southeast,opacity=0.5,scale=20%,margin=16" --sharpen)
texted=("${plain[@]}" --sharpen --text '© {date:%Y}@southeast,shadow')
run() { # name, args...
  local name=$1; shift
  local out="$dir/edits-out-$name"
  rm -rf "$out"
  /usr/bin/time -f "%e %M" -o "$dir/time-$name" "$bin" run "$w1" --out "$out" "$@" >/dev/null
  cat "$dir/time-$name"
}
: >"$dir/edits.tsv"
for r in $(seq 1 "$rounds"); do
  read -r tp mp < <(run plain "${plain[@]}")
  read -r te me < <(run edited "${edited[@]}")
  read -r tt mt < <(run texted "${texted[@]}")
  echo "round $r: W1 ${tp} s, W1 + watermark + sharpen ${te} s ($(python3 -c "print(f'{$te/$tp:.3f}')")x), W1 + sharpen + text ${tt} s ($(python3 -c "print(f'{$tt/$tp:.3f}')")x); peak ${mp} / ${me} / ${mt} KiB"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tp" "$te" "$mp" "$me" "$tt" "$mt" >>"$dir/edits.tsv"
done
python3 - "$dir/edits.tsv" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
tp = statistics.median(r[0] for r in rows); te = statistics.median(r[1] for r in rows)
ratios = sorted(r[1] / r[0] for r in rows)
print(f"\n| W1, {len(rows)} interleaved rounds, medians | s | against W1 | peak RSS |")
print("|---|---|---|---|")
print(f"| W1 (fit 800 JPEG q85) | {tp:.2f} | 1.00 | {max(r[2] for r in rows)/1024:.0f} MiB |")
print(f"| W1 + logo watermark + sharpen | {te:.2f} | {te/tp:.3f} (rounds {ratios[0]:.3f}-{ratios[-1]:.3f}) | {max(r[3] for r in rows)/1024:.0f} MiB |")
tt = statistics.median(r[4] for r in rows)
texts = sorted(r[4] / r[0] for r in rows)
print(f"| W1 + sharpen + text (shadowed) | {tt:.2f} | {tt/tp:.3f} (rounds {texts[0]:.3f}-{texts[-1]:.3f}) | {max(r[5] for r in rows)/1024:.0f} MiB |")
PY
