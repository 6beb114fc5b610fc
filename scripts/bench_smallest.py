"""Smallest files (#40): Conveyor's efforts beside oxipng, libvips 8.18, sharp and cwebp.

Run through scripts/bench-smallest.sh, which installs the tools and builds Conveyor. Every row is
one image and one tool; for each image every tool runs back to back (interleaved), so the host's
drift hits them alike. Times are wall seconds of that one image (Conveyor: one `conveyor run` of
the file with -j 1, process start included; libvips and sharp: the call inside a running
process; oxipng: pyoxipng's call; cwebp: its process).

Every encoder is given the same pixels: Conveyor's own default PNG of the original resized to
fit 1600 px ("base"), except the PNG rows of libvips and sharp, which resize the original
themselves (their bytes are what a user of those tools gets for the same job). Lossy outputs
are scored with SSIMULACRA2 (the `ssimulacra2` package from PyPI, an independent Python
implementation) against base, decoded by Pillow, never by Conveyor.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import oxipng
import pyvips
from PIL import Image
from ssimulacra2 import compute_ssimulacra2


def conveyor(binary, src, out, *args):
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(
        [binary, "run", src, "--out", out, "-j", "1", "--quiet", *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    took = time.perf_counter() - t
    files = [f for f in os.listdir(out) if not f.startswith(".")]
    return os.path.join(out, files[0]), took


class Sharp:
    """A node process running sharp, one JSON request a line."""

    def __init__(self, helper):
        self.p = subprocess.Popen(
            ["node", helper], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, **request):
        self.p.stdin.write(json.dumps(request) + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())["seconds"]


def vips_png(src, out):
    t = time.perf_counter()
    image = pyvips.Image.thumbnail(src, 1600, height=1600, size="down")
    image.pngsave(out)
    return time.perf_counter() - t


def oxipng_max(src, out):
    t = time.perf_counter()
    oxipng.optimize(src, out, level=6)
    return time.perf_counter() - t


def pixels(path):
    image = Image.open(path)
    image.load()
    # Always RGBA: a file oxipng turned into a palette with a transparent entry opens as "P"
    # with transparency, its source as "RGB"; the same pixels either way.
    return np.asarray(image.convert("RGBA"))


def score(pair):
    ref, path = pair
    return compute_ssimulacra2(ref, path)


def size(path):
    return os.path.getsize(path)


def row(section, name, tool, nbytes, seconds, note=""):
    print(f"{section}\t{name}\t{tool}\t{nbytes}\t{seconds:.3f}\t{note}", flush=True)


def png_section(args, images, work, sharp):
    """Acceptance 1: effort 9 and 10 against oxipng -o max on Conveyor's default output, and
    against libvips 8.18 and sharp on each file."""
    totals = {}
    worst = {}
    for src in images:
        name = os.path.basename(src)
        base, t4 = conveyor(args.conveyor, src, f"{work}/png4", "--format", "png",
                            "--resize", "fit:1600x1600", "--reencode")
        got = {"conveyor effort 4": (size(base), t4)}
        ref = pixels(base)
        for effort in (9, 10):
            out, took = conveyor(args.conveyor, src, f"{work}/png{effort}", "--format", "png",
                                 "--resize", "fit:1600x1600", "--effort", str(effort))
            same = np.array_equal(pixels(out), ref)
            got[f"conveyor effort {effort}"] = (size(out), took, "same pixels" if same
                                                else "PIXELS DIFFER")
        ox = f"{work}/ox.png"
        got["oxipng -o max"] = (None, oxipng_max(base, ox))
        got["oxipng -o max"] = (size(ox), got["oxipng -o max"][1])
        vp = f"{work}/vips.png"
        got["libvips 8.18"] = (None, vips_png(src, vp))
        got["libvips 8.18"] = (size(vp), got["libvips 8.18"][1])
        sp = f"{work}/sharp.png"
        got["sharp"] = (None, sharp(op="png", src=src, out=sp))
        got["sharp"] = (size(sp), got["sharp"][1])
        for tool, value in got.items():
            row("png", name, tool, value[0], value[1], value[2] if len(value) > 2 else "")
            totals[tool] = totals.get(tool, 0) + value[0]
        top = got["conveyor effort 10"][0]
        rivals = min(got["libvips 8.18"][0], got["sharp"][0])
        worst[name] = top / rivals
    print("\npng totals (bytes):")
    for tool, total in totals.items():
        print(f"  {tool:20} {total:>10}  {total / totals['oxipng -o max']:.4f} of oxipng -o max")
    name, ratio = max(worst.items(), key=lambda kv: kv[1])
    print(f"  effort 10 against the smaller of libvips and sharp, worst file: {name} {ratio:.3f}")
    return totals, worst


def mozjpeg_quality(q):
    """crates/engine/src/pipeline/mozjpeg.rs: the quality effort 10 gives mozjpeg for q."""
    return max(1, min(100, q + (100 - q) // 10))


def interpolate(points, target):
    """Bytes at `target` score on a (score, bytes) curve, linear between the two around it."""
    points = sorted(points)
    for (s0, b0), (s1, b1) in zip(points, points[1:]):
        if s0 <= target <= s1 and s1 > s0:
            return b0 + (b1 - b0) * (target - s0) / (s1 - s0)
    return None


def lossy_section(args, bases, work, sharp):
    """Acceptance 2 (JPEG at equal SSIMULACRA2) and 3 (WebP against cwebp -m 6 -q 80)."""
    qualities = [70, 75, 80, 85, 90]
    jobs = []  # (variant, quality, name, path, seconds)
    for base in bases:
        name = os.path.basename(base)
        for q in qualities:
            for label, binary, effort in args.jpeg_builds:
                out, took = conveyor(binary, base, f"{work}/{label}-{effort}-{q}", "--format",
                                     "jpeg", "--quality", str(q), "--effort", str(effort),
                                     "--metadata", "strip")
                dest = f"{work}/keep/{label}-e{effort}-q{q}-{name}.jpg"
                shutil.copy(out, dest)
                jobs.append((f"conveyor {label} effort {effort}", q, name, dest, took))
            dest = f"{work}/keep/sharp-moz-q{q}-{name}.jpg"
            took = sharp(op="jpeg", src=base, out=dest, quality=q, mozjpeg=True)
            jobs.append(("sharp mozjpeg", q, name, dest, took))
            # Conveyor's effort 10 at q asks mozjpeg for mozjpeg_quality(q): sharp at that
            # number gives the same score, so the bytes compare at equal SSIMULACRA2 exactly.
            mq = mozjpeg_quality(q)
            dest = f"{work}/keep/sharp-moz-mapped-q{q}-{name}.jpg"
            took = sharp(op="jpeg", src=base, out=dest, quality=mq, mozjpeg=True)
            jobs.append((f"sharp mozjpeg at Conveyor's mozjpeg quality", q, name, dest, took))
        for label, binary, effort in [("", args.conveyor, 4), ("", args.conveyor, 10)]:
            out, took = conveyor(binary, base, f"{work}/webp{effort}", "--format", "webp",
                                 "--quality", "80", "--effort", str(effort), "--metadata",
                                 "strip")
            dest = f"{work}/keep/webp-e{effort}-{name}.webp"
            shutil.copy(out, dest)
            jobs.append((f"conveyor WebP effort {effort}", 80, name, dest, took))
        dest = f"{work}/keep/cwebp-{name}.webp"
        t = time.perf_counter()
        subprocess.run(["cwebp", "-quiet", "-m", "6", "-q", "80", "-metadata", "none", base,
                        "-o", dest], check=True)
        jobs.append(("cwebp -m 6 -q 80", 80, name, dest, time.perf_counter() - t))
    base_of = {os.path.basename(b): b for b in bases}
    with ProcessPoolExecutor(2) as pool:
        scores = list(pool.map(score, [(base_of[j[2]], j[3]) for j in jobs]))
    curves = {}
    for (variant, q, name, path, took), s in zip(jobs, scores):
        row("lossy", name, f"{variant} q{q}", size(path), took, f"ssimulacra2 {s:.2f}")
        c = curves.setdefault(variant, {}).setdefault(q, [0, 0.0, 0])
        c[0] += size(path)
        c[1] += s
        c[2] += 1
    print("\ncurves (total bytes, mean SSIMULACRA2):")
    points = {}
    for variant, by_q in curves.items():
        for q, (b, s, n) in sorted(by_q.items()):
            print(f"  {variant:34} q{q}  {b:>9}  {s / n:.2f}")
            points.setdefault(variant, []).append((s / n, b))
    return points


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--conveyor", required=True)
    p.add_argument("--turbo-conveyor")
    p.add_argument("--work", required=True)
    p.add_argument("--sharp-helper", required=True)
    p.add_argument("--png", nargs="+", required=True)
    p.add_argument("--photos", nargs="+", required=True)
    p.add_argument("--skip-png", action="store_true")
    args = p.parse_args()
    args.jpeg_builds = [("default", args.conveyor, 4), ("default", args.conveyor, 10)]
    if args.turbo_conveyor:
        args.jpeg_builds.insert(1, ("turbo", args.turbo_conveyor, 4))
    work = args.work
    os.makedirs(f"{work}/keep", exist_ok=True)
    sharp = Sharp(args.sharp_helper)
    print("section\timage\ttool\tbytes\tseconds\tnote")
    if not args.skip_png:
        png_section(args, args.png, work, sharp)
    bases = []
    for src in args.photos:
        out, _ = conveyor(args.conveyor, src, f"{work}/base", "--format", "png", "--resize",
                          "fit:1600x1600", "--metadata", "strip")
        dest = f"{work}/bases/{os.path.splitext(os.path.basename(src))[0]}.png"
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(out, dest)
        bases.append(dest)
    points = lossy_section(args, bases, work, sharp)
    print("\nJPEG at equal SSIMULACRA2 (bytes interpolated on each curve):")
    defaults = [v for v in points if "effort 4" in v and "WebP" not in v]
    for reference in defaults:
        for s_ref, b_ref in sorted(points[reference]):
            for other in ("conveyor default effort 10", "sharp mozjpeg"):
                b = interpolate(points[other], s_ref)
                if b is not None:
                    print(f"  at {s_ref:.2f} ({reference}: {b_ref}): {other} {b:.0f} = "
                          f"{b / b_ref:.3f}")
    for s_ref, b_ref in sorted(points["sharp mozjpeg"]):
        b = interpolate(points["conveyor default effort 10"], s_ref)
        if b is not None:
            print(f"  at {s_ref:.2f} (sharp mozjpeg: {b_ref}): conveyor effort 10 {b:.0f} = "
                  f"{b / b_ref:.3f}")
    print("\nJPEG effort 10 against sharp (mozjpeg: true) at the same mozjpeg quality:")
    for (s_ours, b_ours), (s_sharp, b_sharp) in zip(
        sorted(points["conveyor default effort 10"]),
        sorted(points["sharp mozjpeg at Conveyor's mozjpeg quality"]),
    ):
        print(f"  Conveyor {b_ours} bytes at {s_ours:.2f}, sharp {b_sharp} at {s_sharp:.2f}: "
              f"{b_ours / b_sharp:.4f} of its bytes, score {s_ours - s_sharp:+.2f}")
    cw = points["cwebp -m 6 -q 80"][0]
    for effort in (4, 10):
        s, b = points[f"conveyor WebP effort {effort}"][0]
        print(f"\nWebP q80 effort {effort}: {b} bytes, {s:.2f} against cwebp -m 6 -q 80 "
              f"{cw[1]} bytes, {cw[0]:.2f}: {b / cw[1]:.4f} of its bytes, score "
              f"{s - cw[0]:+.2f}")


if __name__ == "__main__":
    sys.exit(main())
