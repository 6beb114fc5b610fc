#!/usr/bin/env bash
# Side-by-side throughput: conveyor against vipsthumbnail and ImageMagick on the same corpus,
# interleaved round by round so that a noisy neighbour or a warming disk hits every tool alike.
#
#   scripts/bench-compare.sh [--turbo] [--aom] [--rounds N] [--skip-w3] [--dir DIR]
#                            [--avif | --only-avif]
#
# W1: 40 photo-like 4000x3000 JPEGs (ImageMagick plasma:fractal, 2 px blur, mild Gaussian
#     noise, q90, 4:2:0) -> fit 800x800 JPEG q85.
# W2: W1's 40 photos -> fit 1600x1600 WebP q80.
# W3: 1000 small 320x240 JPEGs -> PNG.
# W4: real photographs and artwork (Debian's mate-backgrounds and sway-backgrounds: 16 JPEG
#     incl. a progressive 5640x3172, 22 PNG incl. RGBA and grey+alpha, 1136x640 to 5640x3172)
#     -> fit 1600x1600 JPEG q85 (transparency flattened on white). W5: the same -> fit 1600 PNG.
#     Nothing is enlarged (vips: size=down, ImageMagick: 1600x1600>).
# Bytes and PSNR for W1, W2, W4 and W5: every tool's outputs (decoded by PIL, composited on
# white in floating point) against ImageMagick's resize of the original (-resize, Lanczos, full
# decode), kept at 16 bits a channel (PPM); the PSNR is of the mean squared error over all
# images. Not an 8-bit reference: ImageMagick 6.9.11 Q16 truncates its 16-bit result to 8 bits
# (floor of the exact Lanczos result against its 8-bit output: MSE 0.004; correct rounding:
# 0.50), so an 8-bit reference scores a tool by how closely it copies that truncation.
# W2 at equal bytes: after the rounds, W2 again at WebP q78, 79, 81 and 82 (bytes and PSNR only)
# for conveyor's builds and libvips 8.18; the summary interpolates each tool's PSNR at libvips's
# q80 bytes and its bytes at libvips's q80 PSNR (a sharper resize spends more bytes at one
# quality setting, so "equal bytes" is also measured where the bytes are equal).
# Single images: peak RSS of one 3840x2400 RGBA PNG -> fit 1600 PNG and of the progressive
# 5640x3172 JPEG -> fit 1600 JPEG, one worker, conveyor's builds and libvips 8.18.
# W6 (--avif): W1's 40 photos -> fit 1600x1600 AVIF q60 (effort 4, rav1e speed 6), beside
#     avifenc (libaom, --speed 6, two processes with -j 1 each, given conveyor's own resized
#     PNGs, so its decode and resize cost nothing) and libvips (`vips thumbnail` to .avif, libheif
#     with libaom) if its AVIF saver works; then an --effort sweep on 3 of the photos. Every
#     output is decoded by avifdec and compared with conveyor's resized PNG (PSNR). CPU use
#     (user+sys over wall) shows that 2 workers use 2 cores, not 2 x cores.
# --aom adds the package's build (`--features turbo,aom`: libaom writes the AVIF files) to W6
#     and to the effort sweep, and with --avif also to W1 (needs libaom-dev and pkg-config).
# libvips 8.18 (pyvips + pyvips-binary from PyPI, its own libvips with libjpeg-turbo, libspng
#     and libwebp, in a venv the script creates under DIR) runs beside Debian's 8.14 on W1 and
#     W6: two processes with VIPS_CONCURRENCY=1 calling Image.thumbnail then write_to_file. If
#     pip cannot install it, it is left out with a message.
# The decode floor on W1: libjpeg-turbo's `djpeg -scale 1/4` alone on the same 40 files, two
#     at a time; the summary says what share of it each tool reaches.
# Every tool runs with 2-way parallelism: conveyor -j 2, the others as two processes (xargs -P2),
# each process given half the files so process start-up is not what is measured. Peak RSS is
# the whole conveyor process (GNU time). The corpus is generated once into DIR (default: a tmpfs
# under /dev/shm, so the disk is not what is measured) and reused.
set -euo pipefail

cd "$(dirname "$0")/.."
turbo=0 aom=0 rounds=3 w3=1 dir=/dev/shm/conveyor-bench avif=0 classic=1
while [ $# -gt 0 ]; do
  case "$1" in
    --turbo) turbo=1 ;;
    --aom) aom=1 ;;
    --rounds) rounds=$2; shift ;;
    --skip-w3) w3=0 ;;
    --dir) dir=$2; shift ;;
    --avif) avif=1 ;;
    --only-avif) avif=1 classic=0 w3=0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

need=()
command -v vipsthumbnail >/dev/null || need+=(libvips-tools)
[ -x /usr/bin/convert ] || need+=(imagemagick)
[ -x /usr/bin/time ] || need+=(time)
[ -d /usr/share/backgrounds/mate ] || need+=(mate-backgrounds)
[ -d /usr/share/backgrounds/sway ] || need+=(sway-backgrounds)
python3 -c 'import numpy, PIL' 2>/dev/null || need+=(python3-numpy python3-pil)
if [ $avif = 1 ]; then
  command -v avifenc >/dev/null || need+=(libavif-bin)
  command -v vips >/dev/null || need+=(libvips-tools)
fi
if [ $turbo = 1 ] || [ $aom = 1 ]; then
  :
  command -v nasm >/dev/null || need+=(nasm)
fi
if [ $aom = 1 ]; then
  pkg-config --exists aom 2>/dev/null || need+=(libaom-dev pkg-config)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
# /usr/bin/convert directly: a wrapper earlier on PATH is not what users run.
im=/usr/bin/convert
command -v djpeg >/dev/null || { apt-get install -y -qq libjpeg-turbo-progs >/dev/null || true; }

echo "building conveyor (release)" >&2
mkdir -p "$dir/bin"
cargo build --release --quiet
cp target/release/conveyor "$dir/bin/conveyor"
if [ $turbo = 1 ]; then
  cargo build --release --quiet --features turbo
  cp target/release/conveyor "$dir/bin/conveyor-turbo"
fi
if [ $aom = 1 ]; then
  cargo build --release --quiet --features turbo,aom
  cp target/release/conveyor "$dir/bin/conveyor-aom"
fi
if [ $turbo = 1 ] || [ $aom = 1 ]; then
  cargo build --release --quiet # leave the default binary in target/
fi

# --- libvips 8.18 --------------------------------------------------------------------------
venv="$dir/vips-venv" vips818=0
if { [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >/dev/null 2>&1; } &&
  { "$venv/bin/python" -c 'import pyvips' 2>/dev/null ||
    "$venv/bin/pip" install -q pyvips pyvips-binary >/dev/null 2>&1; }; then
  vips818=1
else
  echo "libvips 8.18 (pip install pyvips pyvips-binary) unavailable: left out" >&2
fi
# SIZE SUFFIX OUTDIR FILE...: thumbnail each file into OUTDIR as STEM+SUFFIX.
cat >"$dir/vips818.py" <<'PY'
import os, sys
import pyvips
size, suffix, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for f in sys.argv[4:]:
    stem = os.path.splitext(os.path.basename(f))[0]
    pyvips.Image.thumbnail(f, size, height=size, size='down').write_to_file(os.path.join(out, stem + suffix))
PY

# --- corpus -----------------------------------------------------------------------------------
w1="$dir/w1" w3dir="$dir/w3"
if [ "$(find "$w1" -name '*.jpg' 2>/dev/null | wc -l)" -ne 40 ]; then
  echo "generating W1 (40 x 4000x3000 JPEG, takes a few minutes)" >&2
  rm -rf "$w1" && mkdir -p "$w1"
  seq -w 1 40 | xargs -P2 -I{} "$im" -seed {} -size 4000x3000 plasma:fractal -blur 0x2 \
    -attenuate 0.25 +noise Gaussian -sampling-factor 4:2:0 -quality 90 "$w1/photo-{}.jpg"
fi
if [ $w3 = 1 ] && [ "$(find "$w3dir" -name '*.jpg' 2>/dev/null | wc -l)" -ne 1000 ]; then
  echo "generating W3 (1000 x 320x240 JPEG)" >&2
  rm -rf "$w3dir" && mkdir -p "$w3dir"
  seq -w 1 1000 | xargs -P2 -I{} "$im" -seed {} -size 320x240 plasma:fractal -blur 0x1 \
    -attenuate 0.25 +noise Gaussian -sampling-factor 4:2:0 -quality 90 "$w3dir/small-{}.jpg"
fi

results="$dir/results.tsv"
: >"$results"
w4="$dir/w4" single="$dir/single"
if [ "$(find "$w4" -type f 2>/dev/null | wc -l)" -ne 38 ]; then
  rm -rf "$w4" && mkdir -p "$w4"
  find /usr/share/backgrounds/mate /usr/share/backgrounds/sway -type f \
    \( -name '*.jpg' -o -name '*.png' \) -exec cp {} "$w4/" \;
fi
if [ ! -s "$single/rgba.png" ]; then
  echo "generating the single images" >&2
  rm -rf "$single" && mkdir -p "$single"
  "$im" -size 3840x2400 -seed 3 plasma:fractal -blur 0x1 \( -size 3840x2400 radial-gradient: \) \
    -alpha off -compose CopyOpacity -composite PNG32:"$single/rgba.png"
  cp /usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg "$single/progressive.jpg"
fi
# References for PSNR: ImageMagick's resize of each original, flattened on white, at 16 bits a
# channel (see the top of this file for why not 8).
refs() { # SRC SIZE REFDIR
  [ "$(find "$3" -name '*.ppm' 2>/dev/null | wc -l)" -eq "$(find "$1" -type f | wc -l)" ] && return
  echo "making references for $1 (ImageMagick, 16 bits)" >&2
  rm -rf "$3" && mkdir -p "$3"
  find "$1" -type f -print0 | xargs -0 -P2 -I{} sh -c \
    'f="$1"; b=$(basename "$f"); "$0" "$f" -auto-orient -background white -flatten -resize "$2x$2>" -depth 16 "$3/${b%.*}.ppm"' \
    "$im" {} "$2" "$3"
}
refs "$w1" 800 "$dir/w1-ref16"
refs "$w1" 1600 "$dir/w2-ref16"
refs "$w4" 1600 "$dir/w4-ref16"
# quality LOAD NAME REFDIR: total bytes and mean PSNR of $dir/out's files against REFDIR.
quality() {
  echo "$1	$2-quality	$(python3 - "$dir/out" "$3" <<'PY'
import glob, os, sys
import numpy as np
from PIL import Image
out, ref = sys.argv[1], sys.argv[2]
def rgb(path):  # 0-255 floats, transparency composited on white without rounding
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "PA", "P", "I;16"):
        a = np.asarray(im.convert("RGBA"), dtype=np.float64)
        alpha = a[..., 3:] / 255
        return a[..., :3] * alpha + 255 * (1 - alpha)
    return np.asarray(im.convert("RGB"), dtype=np.float64)
def ppm16(path):  # a binary PPM (ImageMagick's, comments allowed) as 0-255 floats
    data, fields, at = open(path, "rb").read(), [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at) + 1
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    w, h, top = int(fields[1]), int(fields[2]), int(fields[3])
    kind = ">u2" if top > 255 else "u1"
    px = np.frombuffer(data, dtype=kind, count=w * h * 3, offset=at + 1)
    return px.reshape(h, w, 3).astype(np.float64) * 255 / top
vals, size = [], 0
for f in sorted(glob.glob(os.path.join(out, "*"))):
    if os.path.basename(f).startswith(".conveyor"):
        continue
    size += os.path.getsize(f)
    stem = os.path.splitext(os.path.basename(f))[0]
    a, b = rgb(f), ppm16(os.path.join(ref, stem + ".ppm"))
    if a.shape != b.shape:  # a pixel of rounding in the size: compare the common part
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        a, b = a[:h, :w], b[:h, :w]
    vals.append(((a - b) ** 2).mean())
# One PSNR from the images' mean squared error: a mean of per-image PSNRs would be ruled by the
# images a tool leaves untouched (no resize, lossless output), whose PSNR is near infinite.
print(f"{size} {10 * np.log10(255 ** 2 / max(np.mean(vals), 1e-9)):.2f} {len(vals)}")
PY
)" >>"$results"
}

# --- runs -------------------------------------------------------------------------------------

# measure NAME WORKLOAD FILES -- COMMAND...: wall seconds and peak RSS (KiB) of one run.
measure() {
  local name=$1 load=$2 files=$3
  shift 4
  local out="$dir/out" stats
  rm -rf "$out" && mkdir -p "$out"
  stats=$(/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -n1)
  local made
  made=$(find "$out" -type f ! -name '.conveyor-journal*' | wc -l)
  # The decode floor writes nothing.
  if [ "$name" != djpeg-floor ] && [ "$made" -ne "$files" ]; then
    echo "$name on $load made $made files, expected $files" >&2
    exit 1
  fi
  echo "$load	$name	$stats" >>"$results"
  printf '  %-4s %-22s %6.2f s  %6.1f img/s  peak RSS %4d MiB\n' "$load" "$name" \
    "${stats% *}" "$(echo "$files / ${stats% *}" | bc -l)" "$(( ${stats#* } / 1024 ))" >&2
}

# Two processes, each given half of the files: halves DIR EXT COMMAND...
halves() {
  local src=$1 ext=$2 n
  shift 2
  n=$(find "$src" -name "*.$ext" | wc -l)
  find "$src" -name "*.$ext" -print0 | sort -z | xargs -0 -P2 -n $(( (n + 1) / 2 )) "$@"
}
# ImageMagick the way a user scripts it: one convert per file, two at a time.
im_w1() {
  find "$w1" -name '*.jpg' -print0 | xargs -0 -P2 -I{} sh -c \
    '"$0" "$1" -resize 800x800 -quality 85 "$2/$(basename "$1")"' "$im" {} "$dir/out"
}
vips_w1() { halves "$w1" jpg vipsthumbnail --size 800x800 -o "$dir/out/%s.jpg[Q=85]"; }
vips818_w1() { halves "$w1" jpg env VIPS_CONCURRENCY=1 "$venv/bin/python" "$dir/vips818.py" 800 '.jpg[Q=85]' "$dir/out"; }
floor_w1() { halves "$w1" jpg sh -c 'for f; do djpeg -scale 1/4 -outfile /dev/null "$f" || exit 1; done' _; }
vips818_w2() { halves "$w1" jpg env VIPS_CONCURRENCY=1 "$venv/bin/python" "$dir/vips818.py" 1600 '.webp[Q=80]' "$dir/out"; }
# Both extensions of W4, split in two halves.
halves_w4() {
  find "$w4" -type f -print0 | sort -z | xargs -0 -P2 -n 19 "$@"
}
vips818_w4() { halves_w4 env VIPS_CONCURRENCY=1 "$venv/bin/python" "$dir/vips818.py" 1600 '.jpg[Q=85,background=255]' "$dir/out"; }
vips818_w5() { halves_w4 env VIPS_CONCURRENCY=1 "$venv/bin/python" "$dir/vips818.py" 1600 '.png' "$dir/out"; }
vips_w4() { halves_w4 vipsthumbnail --size 1600x1600\> -o "$dir/out/%s.jpg[Q=85,background=255]"; }
vips_w5() { halves_w4 vipsthumbnail --size 1600x1600\> -o "$dir/out/%s.png"; }
vips_w3() { halves "$w3dir" jpg vipsthumbnail --size 320x240 -o "$dir/out/%s.png"; }
export -f halves im_w1 vips_w1 vips818_w1 floor_w1 vips_w3 vips818_w2 halves_w4 vips818_w4 \
  vips818_w5 vips_w4 vips_w5
export w1 w3dir w4 dir im venv

run_w1() {
  local files=40 first=$1
  measure conveyor W1 $files -- "$dir/bin/conveyor" run "$w1" --out "$dir/out" \
    --resize fit:800x800 --format jpeg --quality 85 -j 2 --quiet
  first_quality W1 conveyor "$dir/w1-ref16"
  if [ $turbo = 1 ]; then
    measure conveyor-turbo W1 $files -- "$dir/bin/conveyor-turbo" run "$w1" --out "$dir/out" \
      --resize fit:800x800 --format jpeg --quality 85 -j 2 --quiet
    first_quality W1 conveyor-turbo "$dir/w1-ref16"
  fi
  measure conveyor-1-worker W1 $files -- "$dir/bin/conveyor" run "$w1" --out "$dir/out" \
    --resize fit:800x800 --format jpeg --quality 85 -j 1 --quiet
  measure vipsthumbnail W1 $files -- bash -c vips_w1
  if [ $vips818 = 1 ]; then
    measure libvips-8.18 W1 $files -- bash -c vips818_w1
    first_quality W1 libvips-8.18 "$dir/w1-ref16"
  fi
  measure djpeg-floor W1 $files -- bash -c floor_w1
  measure imagemagick W1 $files -- bash -c im_w1
}

# first: 1 in the first round, when bytes and PSNR are measured (they do not change).
first_quality() { if [ "$first" = 1 ]; then quality "$@"; fi; }
run_w2() {
  local files=40 first=$1
  measure conveyor W2 $files -- "$dir/bin/conveyor" run "$w1" --out "$dir/out" \
    --resize fit:1600x1600 --format webp --quality 80 -j 2 --quiet
  first_quality W2 conveyor "$dir/w2-ref16"
  if [ $turbo = 1 ]; then
    measure conveyor-turbo W2 $files -- "$dir/bin/conveyor-turbo" run "$w1" --out "$dir/out" \
      --resize fit:1600x1600 --format webp --quality 80 -j 2 --quiet
    first_quality W2 conveyor-turbo "$dir/w2-ref16"
  fi
  if [ $vips818 = 1 ]; then
    measure libvips-8.18 W2 $files -- bash -c vips818_w2
    first_quality W2 libvips-8.18 "$dir/w2-ref16"
  fi
}

run_w45() {
  local files=38 first=$1 load fmt vips
  for load in W4 W5; do
    if [ $load = W4 ]; then fmt=(--format jpeg --quality 85); else fmt=(--format png); fi
    measure conveyor $load $files -- "$dir/bin/conveyor" run "$w4" --out "$dir/out" \
      --resize fit:1600x1600 "${fmt[@]}" -j 2 --quiet
    first_quality $load conveyor "$dir/w4-ref16"
    if [ $turbo = 1 ]; then
      measure conveyor-turbo $load $files -- "$dir/bin/conveyor-turbo" run "$w4" --out "$dir/out" \
        --resize fit:1600x1600 "${fmt[@]}" -j 2 --quiet
      first_quality $load conveyor-turbo "$dir/w4-ref16"
    fi
    vips=$(echo $load | tr W w)
    measure vipsthumbnail $load $files -- bash -c "vips_$vips"
    first_quality $load vipsthumbnail "$dir/w4-ref16"
    if [ $vips818 = 1 ]; then
      measure libvips-8.18 $load $files -- bash -c "vips818_$vips"
      first_quality $load libvips-8.18 "$dir/w4-ref16"
    fi
  done
}

run_w3() {
  local files=1000
  measure conveyor W3 $files -- "$dir/bin/conveyor" run "$w3dir" --out "$dir/out" \
    --format png -j 2 --quiet
  measure vipsthumbnail W3 $files -- bash -c vips_w3
}

# --- W6: AVIF ---------------------------------------------------------------------------------
w6png="$dir/w6-png"
avif_psnr() { # DIR: mean PSNR of every .avif in DIR (decoded by avifdec) against w6png
  python3 - "$1" "$w6png" <<'PY'
import glob, os, subprocess, sys, tempfile
import numpy as np
from PIL import Image
out, ref = sys.argv[1], sys.argv[2]
vals, size = [], 0
with tempfile.TemporaryDirectory() as t:
    for f in sorted(glob.glob(os.path.join(out, "*.avif"))):
        size += os.path.getsize(f)
        stem = os.path.basename(f)[:-5]
        png = os.path.join(t, stem + ".png")
        subprocess.run(["avifdec", f, png], check=True, capture_output=True)
        a = np.asarray(Image.open(png).convert("RGB"), dtype=np.float64)
        b = np.asarray(Image.open(os.path.join(ref, stem + ".png")).convert("RGB"), dtype=np.float64)
        mse = ((a - b) ** 2).mean()
        vals.append(10 * np.log10(255 ** 2 / max(mse, 1e-9)))
print(f"{size} {np.mean(vals):.2f} {len(vals)}")
PY
}
avifenc_w6() {
  find "$w6png" -name '*.png' -print0 | sort -z | xargs -0 -P2 -I{} sh -c \
    'avifenc -j 1 -s 6 --min 0 --max 63 -a end-usage=q -a cq-level=33 "$1" "$0/out/$(basename "$1" .png).avif" >/dev/null' "$dir" {}
}
vips_w6() { halves "$w1" jpg sh -c 'for f; do vips thumbnail "$f" "$0/out/$(basename "$f" .jpg).avif[Q=60]" 1600 --height 1600 || exit 1; done' "$dir"; }
vips818_w6() { halves "$w1" jpg env VIPS_CONCURRENCY=1 "$venv/bin/python" "$dir/vips818.py" 1600 '.avif[Q=60]' "$dir/out"; }
export -f avifenc_w6 vips_w6 vips818_w6
export w6png

run_w6() {
  local files=40 stats
  measure conveyor W6 $files -- "$dir/bin/conveyor" run "$w1" --out "$dir/out" \
    --resize fit:1600x1600 --format avif --quality 60 -j 2 --quiet
  echo "W6	conveyor-quality	$(avif_psnr "$dir/out")" >>"$results"
  if [ $turbo = 1 ]; then
    measure conveyor-turbo W6 $files -- "$dir/bin/conveyor-turbo" run "$w1" --out "$dir/out" \
      --resize fit:1600x1600 --format avif --quality 60 -j 2 --quiet
    echo "W6	conveyor-turbo-quality	$(avif_psnr "$dir/out")" >>"$results"
  fi
  if [ $aom = 1 ]; then
    measure conveyor-aom W6 $files -- "$dir/bin/conveyor-aom" run "$w1" --out "$dir/out" \
      --resize fit:1600x1600 --format avif --quality 60 -j 2 --quiet
    echo "W6	conveyor-aom-quality	$(avif_psnr "$dir/out")" >>"$results"
  fi
  measure avifenc W6 $files -- bash -c avifenc_w6
  echo "W6	avifenc-quality	$(avif_psnr "$dir/out")" >>"$results"
  if [ "$vips_avif" = 1 ]; then
    measure vips W6 $files -- bash -c vips_w6
    echo "W6	vips-quality	$(avif_psnr "$dir/out")" >>"$results"
  fi
  if [ "$vips818_avif" = 1 ]; then
    measure libvips-8.18 W6 $files -- bash -c vips818_w6
    echo "W6	libvips-8.18-quality	$(avif_psnr "$dir/out")" >>"$results"
  fi
}

if [ $avif = 1 ]; then
  if [ "$(find "$w6png" -name '*.png' 2>/dev/null | wc -l)" -ne 40 ]; then
    echo "making W6's references (conveyor's fit 1600 PNGs)" >&2
    rm -rf "$w6png" && "$dir/bin/conveyor" run "$w1" --out "$w6png" --resize fit:1600x1600 \
      --format png -j 2 --quiet
  fi
  vips_avif=0
  probe="$dir/probe.avif"
  if vips thumbnail "$(find "$w1" -name '*.jpg' | head -n1)" "$probe[Q=60]" 64 >/dev/null 2>&1 \
    && [ -s "$probe" ]; then vips_avif=1; else echo "vips cannot write AVIF here: left out" >&2; fi
  vips818_avif=0
  rm -rf "$dir/probe818" && mkdir -p "$dir/probe818"
  if [ $vips818 = 1 ] && VIPS_CONCURRENCY=1 "$venv/bin/python" "$dir/vips818.py" 64 '.avif[Q=60]' \
    "$dir/probe818" "$(find "$w1" -name '*.jpg' | head -n1)" >/dev/null 2>&1; then vips818_avif=1
  else echo "libvips 8.18 cannot write AVIF here: left out" >&2; fi
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" >&2
echo "versions: $("$dir/bin/conveyor" --version), vips $(vips --version | cut -d- -f2), $("$im" -version | head -n1 | cut -d' ' -f2-3)" >&2
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  if [ $classic = 1 ]; then
    first=$([ "$r" = 1 ] && echo 1 || echo 0)
    run_w1 "$first"
    run_w2 "$first"
    run_w45 "$first"
    [ $w3 = 1 ] && run_w3
  fi
  [ $avif = 1 ] && run_w6
done

if [ $classic = 1 ]; then
  echo >&2
  echo "| single image, 1 worker | tool | seconds | peak RSS |" >&2
  echo "|---|---|---|---|" >&2
  builds=(conveyor)
  [ $turbo = 1 ] && builds+=(conveyor-turbo)
  for one in rgba.png progressive.jpg; do
    ext=${one##*.}
    for build in "${builds[@]}"; do
      rm -rf "$dir/out" && mkdir -p "$dir/out"
      stats=$(/usr/bin/time -f '%e %M' "$dir/bin/$build" run "$single/$one" --out "$dir/out" \
        --resize fit:1600x1600 -j 1 --quiet 2>&1 >/dev/null | tail -n1)
      echo "| $one | $build | ${stats% *} | $(( ${stats#* } / 1024 )) MiB |" >&2
    done
    if [ $vips818 = 1 ]; then
      rm -rf "$dir/out" && mkdir -p "$dir/out"
      stats=$(VIPS_CONCURRENCY=1 /usr/bin/time -f '%e %M' "$venv/bin/python" "$dir/vips818.py" 1600 ".$ext" \
        "$dir/out" "$single/$one" 2>&1 >/dev/null | tail -n1)
      echo "| $one | libvips-8.18 | ${stats% *} | $(( ${stats#* } / 1024 )) MiB |" >&2
    fi
  done
fi

if [ $avif = 1 ]; then
  # --effort: 3 photos at each effort, one worker (time, bytes, PSNR).
  sub="$dir/w6-sub" && rm -rf "$sub" && mkdir -p "$sub"
  find "$w1" -name '*.jpg' | sort | head -n 3 | xargs -I{} cp {} "$sub/"
  echo >&2
  builds=(conveyor)
  [ $aom = 1 ] && builds+=(conveyor-aom)
  for build in "${builds[@]}"; do
    echo "$build:" >&2
    echo "| --effort | encoder speed | seconds for 3 photos (1 worker) | bytes | PSNR |" >&2
    echo "|---|---|---|---|---|" >&2
    for e in 0 2 4 6 8 10; do
      # libaom is 20-30x slower below cpu-used 5 for a few per cent: the sweep stops there.
      [ "$build" = conveyor-aom ] && [ $e -gt 6 ] && continue
      rm -rf "$dir/out" && mkdir -p "$dir/out"
      secs=$(/usr/bin/time -f '%e' "$dir/bin/$build" run "$sub" --out "$dir/out" \
        --resize fit:1600x1600 --format avif --quality 60 --effort $e -j 1 --quiet 2>&1 >/dev/null | tail -n1)
      read -r bytes db _ < <(avif_psnr "$dir/out")
      if [ "$build" = conveyor-aom ]; then
        speed="cpu-used $(( 11 - e > 9 ? 9 : 11 - e ))"
      else
        speed="rav1e $(( 10 - e < 1 ? 1 : 10 - e ))"
      fi
      echo "| $e | $speed | $secs | $bytes | $db |" >&2
    done
  done
  # Cores used: user+sys over wall, 1 and 2 workers.
  for build in "${builds[@]}"; do
    for j in 1 2; do
      rm -rf "$dir/out" && mkdir -p "$dir/out"
      cpu=$(/usr/bin/time -f '%e %U %S' "$dir/bin/$build" run "$sub" --out "$dir/out" \
        --resize fit:1600x1600 --format avif --quality 60 -j $j --quiet 2>&1 >/dev/null | tail -n1)
      echo "$build AVIF with -j $j: $(echo "$cpu" | awk '{printf "%.2f cores busy (wall %.1f s)", ($2+$3)/$1, $1}')" >&2
    done
  done
fi

# W2 at equal bytes: the same runs at neighbouring WebP qualities (bytes and PSNR only, not
# timed), so the summary can set each tool's PSNR beside libvips's at libvips's q80 bytes.
w2_sweep() {
  local q out="$dir/out"
  for q in 78 79 81 82; do
    for build in conveyor $([ $turbo = 1 ] && echo conveyor-turbo); do
      rm -rf "$out" && mkdir -p "$out"
      "$dir/bin/$build" run "$w1" --out "$out" --resize fit:1600x1600 --format webp \
        --quality $q -j 2 --quiet >/dev/null
      quality W2sweep "$build@$q" "$dir/w2-ref16"
    done
    if [ $vips818 = 1 ]; then
      rm -rf "$out" && mkdir -p "$out"
      halves "$w1" jpg env VIPS_CONCURRENCY=1 "$venv/bin/python" "$dir/vips818.py" 1600 \
        ".webp[Q=$q]" "$out"
      quality W2sweep "libvips-8.18@$q" "$dir/w2-ref16"
    fi
  done
}
if [ $classic = 1 ]; then
  echo "W2 quality sweep (q78-82, bytes and PSNR)" >&2
  w2_sweep
fi

# --- quality ----------------------------------------------------------------------------------
# W1's outputs against a full-decode Lanczos3 reference encoded the same way.
rm -rf "$dir/out" && mkdir -p "$dir/out"
"$dir/bin/conveyor" run "$w1" --out "$dir/out" --resize fit:800x800 --format jpeg --quality 85 -j 2 --quiet
cargo run --release --quiet --example psnr-check -- "$w1" "$dir/out" 85 >&2
if [ $turbo = 1 ]; then
  rm -rf "$dir/out" && mkdir -p "$dir/out"
  "$dir/bin/conveyor-turbo" run "$w1" --out "$dir/out" --resize fit:800x800 --format jpeg --quality 85 -j 2 --quiet
  echo "turbo build:" >&2
  cargo run --release --quiet --example psnr-check -- "$w1" "$dir/out" 85 | tail -n1 >&2
fi

# --- summary ----------------------------------------------------------------------------------
python3 - "$results" "$turbo" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
files = {"W1": 40, "W2": 40, "W3": 1000, "W4": 38, "W5": 38, "W6": 40}
runs, quality = {}, {}
for load, name, stats in rows:
    if name.endswith("-quality"):
        size, db, n = stats.split()
        key = name[: -len("-quality")]
        quality.setdefault(key if load == "W6" else f"{load}\t{key}", []).append((int(size), float(db)))
        continue
    secs, rss = stats.split()
    runs.setdefault((load, name), []).append((float(secs), int(rss)))
def rate(load, name):
    return files[load] / statistics.median(s for s, _ in runs[(load, name)])
print()
print("| workload | tool | images/s (median) | peak RSS | bytes | PSNR | vs libvips 8.18 | vs vipsthumbnail 8.14 | vs ImageMagick | share of the djpeg floor |")
print("|---|---|---|---|---|---|---|---|---|---|")
def vs(load, r, other):
    return f"{r / rate(load, other):.2f}x" if (load, other) in runs else "-"
for (load, name), rs in runs.items():
    if load == "W6":
        continue
    r = rate(load, name)
    floor = f"{100 * vs_raw:.0f} %" if (vs_raw := (r / rate(load, 'djpeg-floor') if (load, 'djpeg-floor') in runs else None)) else "-"
    rss = max(m for _, m in rs) // 1024
    size, db = quality.get(f"{load}\t{name}", [("-", "-")])[-1]
    size = f"{size / 1048576:.2f} MiB" if size != "-" else "-"
    db = f"{db:.2f} dB" if db != "-" else "-"
    print(f"| {load} | {name} | {r:.1f} | {rss} MiB | {size} | {db} | {vs(load, r, 'libvips-8.18')} | {vs(load, r, 'vipsthumbnail')} | {vs(load, r, 'imagemagick')} | {floor} |")
if ("W1", "conveyor-1-worker") in runs:
    one = rate("W1", "conveyor") / rate("W1", "conveyor-1-worker")
    print(f"\n2 workers / 1 worker on W1: {one:.2f}x")
# W2 at equal bytes: each tool's PSNR at libvips's q80 bytes, and its bytes at libvips's q80
# PSNR, interpolated linearly between the neighbouring qualities of its sweep (q78-82).
sweep = {}
for key, vals in quality.items():
    load, name = key.split("\t") if "\t" in key else ("", key)
    if load == "W2sweep":
        tool, q = name.rsplit("@", 1)
        sweep.setdefault(tool, []).append(vals[-1])
    elif load == "W2":
        sweep.setdefault(name, []).append(vals[-1])
def interpolate(points, at, x, y):
    points = sorted(points)
    for a, b in zip(points, points[1:]):
        if a[x] <= at <= b[x] and a[x] != b[x]:
            return a[y] + (b[y] - a[y]) * (at - a[x]) / (b[x] - a[x])
    return None
if "libvips-8.18" in sweep and len(sweep) > 1:
    base = quality["W2\tlibvips-8.18"][-1]
    print(f"\nW2 at equal bytes and equal PSNR (WebP q78-82 sweeps, linear between neighbours; libvips 8.18 at q80: {base[0] / 1048576:.3f} MiB, {base[1]:.2f} dB)")
    print("\n| tool | PSNR at libvips's bytes | bytes at libvips's PSNR | sweep (MiB / dB) |")
    print("|---|---|---|---|")
    for tool, points in sweep.items():
        db = interpolate(points, base[0], 0, 1)
        size = interpolate([(p[1], p[0]) for p in points], base[1], 0, 1)
        pts = ", ".join(f"{b / 1048576:.3f} / {d:.2f}" for b, d in sorted(points))
        db = f"{db:.2f} dB" if db is not None else "-"
        size = f"{size / 1048576:.3f} MiB" if size is not None else "-"
        print(f"| {tool} | {db} | {size} | {pts} |")
if ("W6", "avifenc") in runs:
    print("\n| W6: 40 photos -> fit 1600 AVIF | images/s (median) | peak RSS | vs avifenc | bytes | PSNR |")
    print("|---|---|---|---|---|---|")
    for (load, name), rs in runs.items():
        if load != "W6":
            continue
        r = rate(load, name)
        size, db = quality[name][-1]
        rss = max(m for _, m in rs) // 1024
        print(f"| {name} | {r:.2f} | {rss} MiB | {r / rate(load, 'avifenc'):.2f}x | {size / 1048576:.2f} MiB | {db:.2f} dB |")
PY
