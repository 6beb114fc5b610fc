#!/usr/bin/env bash
# Hot folders (#42 acceptance 3): N files (default 10,000 320x240 JPEGs -> WebP fit 160, hard links of 10
# ImageMagick images) dropped at once into a folder `conveyor watch` watches — half moved in as
# five folders, half file by file — against `conveyor run` on the same files, ROUNDS interleaved
# rounds. The watch's time is from the drop to its last output, less the settle time (0.5 s)
# every file waits first (both then include finding and planning the files); the batch's is
# the command's, start to end. Also the watch's peak RSS. Needs: ImageMagick, Python 3.
#   [N=10000] [SIZE=320x240] [ROUNDS=3] [WORKERS=2] [BENCH_DIR=DIR] [CONVEYOR_BIN=PATH] scripts/bench-watch.sh
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
base=/tmp
[ -d /dev/shm ] && base=/dev/shm
work=${BENCH_DIR:-$base/conveyor-watch-bench}
mkdir -p "$work"
for i in $(seq 0 9); do
  [ -f "$work/t$i-${SIZE:-320x240}.jpg" ] || convert -size ${SIZE:-320x240} -seed "$i" plasma:fractal -quality 85 "$work/t$i-${SIZE:-320x240}.jpg"
done
python3 - "$bin" "$work" "$n" "$rounds" "$workers" "${SIZE:-320x240}" <<'PY'
import os, shutil, statistics, subprocess, sys, threading, time
binary, work, n, rounds, workers, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
recipe = ["--format", "webp", "--resize", "fit:160x160", "-j", workers]

def stage(root):
    shutil.rmtree(root, ignore_errors=True)
    for i in range(n):
        d = f"{root}/d{i // 1000}"
        os.makedirs(d, exist_ok=True)
        os.link(f"{work}/t{i % 10}-{size}.jpg", f"{d}/img_{i}.jpg")

def batch():
    stage(f"{work}/staging")
    shutil.rmtree(f"{work}/out", ignore_errors=True)
    start = time.monotonic()
    subprocess.run([binary, "run", f"{work}/staging", "--out", f"{work}/out", "--quiet", *recipe],
                   check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start

def watch():
    stage(f"{work}/staging")
    for d in ("in", "out"):
        shutil.rmtree(f"{work}/{d}", ignore_errors=True)
    os.makedirs(f"{work}/in")
    p = subprocess.Popen([binary, "watch", f"{work}/in", "--out", f"{work}/out", "--settle", "500ms", *recipe],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready = threading.Event()
    def errors():
        for line in p.stderr:
            if "watching" in line:
                ready.set()
    threading.Thread(target=errors, daemon=True).start()
    ready.wait(60)
    dropped = time.monotonic()
    folders = sorted(os.listdir(f"{work}/staging"))
    for k, d in enumerate(folders):
        if k < len(folders) // 2:
            os.rename(f"{work}/staging/{d}", f"{work}/in/{d}")
        else:
            for f in os.listdir(f"{work}/staging/{d}"):
                os.rename(f"{work}/staging/{d}/{f}", f"{work}/in/{f}")
    converted = 0
    for line in p.stdout:
        if line.startswith("converted "):
            converted += 1
            if converted == n:
                break
    last = time.monotonic()
    with open(f"/proc/{p.pid}/status") as s:
        peak = next(int(l.split()[1]) for l in s if l.startswith("VmHWM:"))
    p.send_signal(2)
    p.wait()
    # From the drop to the last output, less the settle time every file waits first.
    return last - dropped - 0.5, peak

rows = []
for r in range(rounds):
    b = batch()
    w, peak = watch()
    rows.append((b, w, peak))
    print(f"round {r + 1}: batch {b:.2f} s ({n / b:.0f} images/s), watch {w:.2f} s from the drop "
          f"to the last output, less the settle time ({n / w:.0f} images/s, {b / w:.3f} of the "
          f"batch's), watch peak {peak // 1024} MiB", flush=True)
b = statistics.median(r[0] for r in rows)
w = statistics.median(r[1] for r in rows)
print()
print(f"| {n} files, {workers} workers, medians of {rounds} rounds | images/s | against the batch | peak RSS |")
print("|---|---|---|---|")
print(f"| conveyor run | {n / b:.0f} | 1.00 | |")
print(f"| conveyor watch, dropped at once (the drop to the last output, less the settle time) | {n / w:.0f} | {b / w:.3f} | {max(r[2] for r in rows) // 1024} MiB |")
PY
