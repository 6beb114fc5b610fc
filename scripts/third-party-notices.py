#!/usr/bin/env python3
"""Writes the licence notices of everything linked into a Conveyor binary.

    scripts/third-party-notices.py [--features F] [--target TRIPLE] OUT

The crates are those `cargo tree` lists as normal (not build, dev or proc-macro) dependencies
of the given features on the given target (default: turbo,aom,s3 on the host, the Debian
package's build). For each crate: its name, version, SPDX licence expression and repository,
then the text of every licence file it ships (LICENSE*, LICENCE*, COPYING*, COPYRIGHT*,
NOTICE*, UNLICENSE*, its `license-file`), and for the crates that build C libraries from
source or embed other works, those works' own licence files (libwebp, libdeflate, the
window's fonts), and the font built in for text watermarks (assets/fonts). A text that is byte for
byte one printed before is referred to, not repeated. A crate that ships no licence file is
listed with its expression, and the standard texts of the licences such crates name are
appended at the end. Libraries linked dynamically from the system (libaom, X11, GL) are not
in the binary and come with their own Debian packages' notices.

scripts/package.sh runs this into target/package/ and the package installs the result as
/usr/share/doc/conveyor/THIRD-PARTY-NOTICES.
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LICENCE_FILE = re.compile(r"(?i)^(licen[cs]e|copying|copyright|notice|unlicense)([-_.].*)?$")

# C libraries built from source inside a crate: their own licence files (paths in the crate).
VENDORED = {
    "libwebp-sys": ["vendor/COPYING", "vendor/PATENTS"],
    "libdeflate-sys": ["libdeflate/COPYING"],
    # The window's fonts, embedded in the binary.
    "epaint_default_fonts": ["fonts/OFL.txt", "fonts/UFL.txt", "fonts/Hack-Regular.txt",
                             "fonts/egui-icons.txt", "fonts/emoji-icon-font-mit-license.txt"],
}

# Standard texts for crates that name a licence but ship no file of it.
STANDARD = {
    "MIT": """Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
""",
    "Apache-2.0": None,  # the repository's own LICENSE-APACHE is the standard text
}


def cargo(*args):
    return subprocess.run(
        ["cargo", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def linked_crates(features, target):
    out = cargo(
        "tree", "--features", features, "--target", target, "-e", "normal,no-proc-macro",
        "--prefix", "none", "-f", "{p}",
    )
    crates = set()
    for line in out.splitlines():
        m = re.match(r"^(\S+) v(\S+)", line.strip())
        if m:
            crates.add((m.group(1), m.group(2)))
    return crates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", default="turbo,aom,s3")
    ap.add_argument("--target", default=None)
    ap.add_argument("out")
    a = ap.parse_args()
    target = a.target or re.search(r"host: (\S+)", subprocess.run(
        ["rustc", "-vV"], check=True, capture_output=True, text=True).stdout).group(1)

    crates = linked_crates(a.features, target)
    meta = json.loads(cargo(
        "metadata", "--format-version", "1", "--features", a.features,
        "--filter-platform", target))
    packages = {(p["name"], p["version"]): p for p in meta["packages"]}
    missing = sorted(c for c in crates if c not in packages)
    if missing:
        sys.exit(f"cargo tree listed crates cargo metadata does not know: {missing}")

    seen_text = {}
    without_file = []
    out = [
        "Third-party software in Conveyor",
        "=" * 32,
        "",
        f"Conveyor (MIT OR Apache-2.0) is linked with the following crates and libraries (build",
        f"features: {a.features}; target: {target}). Each is listed with its licence and the",
        "licence texts it ships. Texts that repeat one printed earlier are referred to by name.",
        "",
    ]
    for name, version in sorted(crates, key=lambda c: (c[0].lower(), c[1])):
        if name == "conveyor":
            continue
        p = packages[(name, version)]
        crate_dir = os.path.dirname(p["manifest_path"])
        files = sorted(f for f in os.listdir(crate_dir)
                       if LICENCE_FILE.match(f) and os.path.isfile(os.path.join(crate_dir, f)))
        if p.get("license_file") and p["license_file"] not in files:
            files.append(p["license_file"])
        own = list(files)
        files += [f for f in VENDORED.get(name, []) if os.path.isfile(os.path.join(crate_dir, f))]
        if name in VENDORED and not all(f in files for f in VENDORED[name]):
            sys.exit(f"{name} {version}: vendored licence files missing: {VENDORED[name]}")
        out += ["-" * 96, f"{name} {version}",
                f"licence: {p.get('license') or '(see the files below)'}"]
        if p.get("repository"):
            out.append(f"source: {p['repository']}")
        if not own:
            without_file.append(p.get("license") or "")
            out.append("(the crate ships no licence file of its own; the standard text of its "
                       "licence is at the end of this file)")
        for f in files:
            with open(os.path.join(crate_dir, f), encoding="utf-8", errors="replace") as fh:
                text = fh.read().strip()
            if text in seen_text:
                out.append(f"{f}: the same text as {seen_text[text]}'s, above")
                continue
            seen_text[text] = f"{name} {version} {f}"
            out += ["", f"--- {f} ---", text, ""]
        out.append("")

    # Works of our own tree embedded in the binary: the text watermark's font.
    for font_dir in ["assets/fonts"]:
        with open(os.path.join(ROOT, font_dir, "LICENSE.txt"), encoding="utf-8") as fh:
            text = fh.read().strip()
        out += ["-" * 96, "DejaVu Sans Bold (the text watermark's built-in font)",
                "licence: Bitstream Vera Fonts licence (DejaVu changes: public domain)",
                "source: https://dejavu-fonts.github.io/", "", f"--- {font_dir}/LICENSE.txt ---",
                text, ""]

    named = set()
    for expr in without_file:
        named.update(re.findall(r"[A-Za-z0-9.\-]+", expr.replace("/", " OR ")))
    out += ["=" * 96, "Standard licence texts for the crates above that ship none", ""]
    for lic in sorted(named - {"OR", "AND", "WITH"}):
        if lic == "Apache-2.0":
            with open(os.path.join(ROOT, "LICENSE-APACHE"), encoding="utf-8") as fh:
                body = fh.read().strip()
        elif lic in STANDARD and STANDARD[lic]:
            body = STANDARD[lic].strip()
        else:
            body = f"(the {lic} licence: https://spdx.org/licenses/{lic}.html)"
        out += [f"--- {lic} ---", body, ""]

    with open(a.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    print(f"{a.out}: {len(crates) - 1} crates, {len(seen_text)} distinct licence texts, "
          f"{len(without_file)} crates without a licence file", file=sys.stderr)


if __name__ == "__main__":
    main()
