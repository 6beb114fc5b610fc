#!/usr/bin/env bash
# Smallest files (#40): Conveyor's efforts beside oxipng -o max, libvips 8.18, sharp (with and
# without mozjpeg) and cwebp -m 6, bytes, SSIMULACRA2 and time per image, every tool run on one
# image before the next image (interleaved). What each row means: scripts/bench_smallest.py.
#
#   scripts/bench-smallest.sh [--turbo] [--skip-png] [--dir DIR]
#
# PNG: the PNGs of Debian's mate-backgrounds and sway-backgrounds, Conveyor's README screenshots
# (flat UI) and Debian's and Adwaita's logos and icons, fit 1600 px, at effort 4 (default), 9
# and 10; oxipng -o max (pyoxipng) on the effort 4 file; libvips 8.18 and sharp doing the same
# resize. JPEG: 9 of the JPEG wallpapers as Conveyor's fit-1600 PNG, encoded at quality 70-90 at
# effort 4 (default build; --turbo adds the package build's effort 4) and 10, and by sharp with
# mozjpeg; the summary compares bytes at equal SSIMULACRA2. WebP: the same at q80, effort 4 and
# 10, and cwebp -m 6 -q 80, all without metadata.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=/dev/shm/conveyor-bench-smallest features=()
turbo=0 skip=()
while [ $# -gt 0 ]; do
  case "$1" in
    --turbo) turbo=1 ;;
    --skip-png) skip=(--skip-png) ;;
    --dir) dir=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
need=()
[ -x /usr/bin/convert ] || need+=(imagemagick)
command -v cwebp >/dev/null || need+=(webp)
command -v node >/dev/null || need+=(nodejs npm)
[ -d /usr/share/backgrounds/mate ] || need+=(mate-backgrounds)
[ -d /usr/share/backgrounds/sway ] || need+=(sway-backgrounds)
[ -d /usr/share/icons/Adwaita ] || need+=(adwaita-icon-theme)
python3 -c 'import venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$dir"
if [ ! -x "$dir/venv/bin/python" ]; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q pyvips-binary pyvips pyoxipng pillow numpy ssimulacra2
fi
if [ ! -d "$dir/node/node_modules/sharp" ]; then
  mkdir -p "$dir/node" && (cd "$dir/node" && npm install --silent sharp >/dev/null)
fi
cp scripts/bench-smallest-sharp.js "$dir/node/helper.js"
cargo build --release --quiet
mkdir -p "$dir/bin" && rm -f "$dir/bin/conveyor" && cp target/release/conveyor "$dir/bin/conveyor"
extra=()
if [ $turbo = 1 ]; then
  cargo build --release --quiet --features turbo
  rm -f "$dir/bin/conveyor-turbo" && cp target/release/conveyor "$dir/bin/conveyor-turbo"
  extra=(--turbo-conveyor "$dir/bin/conveyor-turbo")
fi
mapfile -t png < <(find /usr/share/backgrounds/mate /usr/share/backgrounds/sway -name '*.png' | sort)
png+=(docs/screenshots/*.png /usr/share/pixmaps/debian-logo.png
  /usr/share/icons/Adwaita/512x512/places/folder-pictures.png
  /usr/share/icons/Adwaita/512x512/places/folder-music.png)
photos=(/usr/share/backgrounds/mate/nature/{Aqua,Blinds,Dune,FreshFlower,Garden,LadyBird,Storm,Wood}.jpg
  /usr/share/backgrounds/mate/abstract/Elephants.jpg)
for f in "${png[@]}" "${photos[@]}"; do [ -f "$f" ] || { echo "missing $f" >&2; exit 1; }; done
echo "build: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), default" \
  "$([ $turbo = 1 ] && echo 'and --features turbo')" >&2
NODE_PATH="$dir/node/node_modules" "$dir/venv/bin/python" scripts/bench_smallest.py \
  --conveyor "$dir/bin/conveyor" "${extra[@]}" "${skip[@]}" --work "$dir/work" \
  --sharp-helper "$dir/node/helper.js" --png "${png[@]}" --photos "${photos[@]}"
