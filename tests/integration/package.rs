//! The desktop citizen: the desktop file opens every format Conveyor reads, the icon exists at
//! every size, and the Debian package built by `scripts/package.sh` installs the binary, the
//! desktop file, the icons, the metainfo, the man pages, the completions and the licences,
//! with the desktop file and metainfo passing Debian's own validators.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use conveyor::engine::format::Format;

const DESKTOP: &str = "app.conveyor.Conveyor.desktop";
const METAINFO: &str = "app.conveyor.Conveyor.metainfo.xml";
const ICON_SIZES: [u32; 8] = [16, 24, 32, 48, 64, 128, 256, 512];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn desktop_key(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= line"))
        .to_owned()
}

#[test]
fn the_desktop_file_opens_every_format_conveyor_reads_and_folders() {
    let text = std::fs::read_to_string(repo().join("assets/desktop").join(DESKTOP)).unwrap();
    let listed: BTreeSet<String> = desktop_key(&text, "MimeType")
        .split(';')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    let mut want: BTreeSet<String> = Format::all()
        .filter(|f| f.spec().decodes)
        .flat_map(|f| std::iter::once(f.spec().mime).chain(f.spec().other_mimes.iter().copied()))
        .map(str::to_owned)
        .collect();
    want.insert("inode/directory".to_owned());
    assert_eq!(listed, want, "MimeType= must follow the format table");
    assert_eq!(desktop_key(&text, "Exec"), "conveyor %F");
    assert_eq!(desktop_key(&text, "Icon"), "conveyor");
    assert_eq!(desktop_key(&text, "GenericName"), "Batch Image Converter");
}

#[test]
fn the_icon_exists_at_every_size_and_as_svg() {
    for size in ICON_SIZES {
        let path = repo().join(format!(
            "assets/icons/hicolor/{size}x{size}/apps/conveyor.png"
        ));
        let icon = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!((icon.width(), icon.height()), (size, size));
        let rgba = icon.to_rgba8();
        assert_eq!(rgba.get_pixel(0, 0).0[3], 0, "{size}: transparent corner");
        let centre = rgba.get_pixel(size / 2, size / 2).0;
        assert_eq!(centre[3], 255, "{size}: opaque middle");
    }
    let svg = std::fs::read_to_string(repo().join("assets/icons/conveyor.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("viewBox=\"0 0 512 512\""));
}

fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e} (is it installed?)"))
}

/// The newest package `scripts/package.sh` left in target/debian.
fn built_package() -> PathBuf {
    let dir = repo().join("target/debian");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/package.sh first", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    debs.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    debs.pop()
        .expect("a .deb in target/debian; run scripts/package.sh first")
}

#[test]
#[ignore = "needs the package from scripts/package.sh, dpkg-deb, desktop-file-validate and appstreamcli"]
fn the_debian_package_installs_everything_a_desktop_expects() {
    let deb = built_package();
    let root = tempfile::tempdir().unwrap();
    let unpack = run(
        "dpkg-deb",
        &["-x", deb.to_str().unwrap(), root.path().to_str().unwrap()],
    );
    assert!(unpack.status.success(), "{unpack:?}");
    let root = root.path();
    let mut expected: Vec<String> = vec![
        "usr/bin/conveyor".into(),
        format!("usr/share/applications/{DESKTOP}"),
        format!("usr/share/metainfo/{METAINFO}"),
        "usr/share/icons/hicolor/scalable/apps/conveyor.svg".into(),
        "usr/share/bash-completion/completions/conveyor".into(),
        "usr/share/zsh/vendor-completions/_conveyor".into(),
        "usr/share/fish/vendor_completions.d/conveyor.fish".into(),
        "usr/share/doc/conveyor/LICENSE-MIT".into(),
        "usr/share/doc/conveyor/LICENSE-APACHE".into(),
        "usr/share/doc/conveyor/THIRD-PARTY-NOTICES".into(),
        "usr/share/doc/conveyor/examples/conveyor-watch.service".into(),
        "usr/share/doc/conveyor/examples/share.toml".into(),
    ];
    expected
        .extend(ICON_SIZES.map(|s| format!("usr/share/icons/hicolor/{s}x{s}/apps/conveyor.png")));
    let missing: Vec<&String> = expected
        .iter()
        .filter(|p| !root.join(p).is_file())
        .collect();
    assert!(missing.is_empty(), "missing from the package: {missing:?}");
    let man: Vec<String> = std::fs::read_dir(root.join("usr/share/man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for page in ["conveyor.1", "conveyor-run.1", "conveyor-gui.1"] {
        assert!(
            man.iter().any(|m| m.starts_with(page)),
            "man page {page} in {man:?}"
        );
    }
    // The packaged binary runs and is the turbo and aom build's.
    let version = run(
        root.join("usr/bin/conveyor").to_str().unwrap(),
        &["--version"],
    );
    assert!(version.status.success(), "{version:?}");
    let said = String::from_utf8_lossy(&version.stdout);
    assert!(
        said.contains("libjpeg-turbo for JPEG")
            && said.contains("libaom for AVIF")
            && said.contains("S3 object storage"),
        "{said}"
    );
    // It is linked against libaom (lossless AVIF), so installing it must bring libaom along.
    let depends = run("dpkg-deb", &["-f", deb.to_str().unwrap(), "Depends"]);
    let depends = String::from_utf8_lossy(&depends.stdout);
    assert!(depends.contains("libaom"), "Depends: {depends}");

    // The licences of what is linked in travel with it: the crates' own texts, the C libraries
    // built from source inside crates (libwebp's BSD notice, mozjpeg's IJG terms, libdeflate's) and the
    // window's embedded fonts.
    let notices =
        std::fs::read_to_string(root.join("usr/share/doc/conveyor/THIRD-PARTY-NOTICES")).unwrap();
    for (what, text) in [
        (
            "libwebp's BSD notice",
            "Copyright (c) 2010, Google Inc. All rights reserved.",
        ),
        ("mozjpeg's IJG terms", "Independent JPEG Group"),
        ("libdeflate's notice", "Copyright 2016 Eric Biggers"),
        ("the fonts' OFL", "SIL OPEN FONT LICENSE Version 1.1"),
        (
            "the text watermark font's licence",
            "DejaVu Sans Bold (the text watermark's built-in font)",
        ),
        ("the crate list", "\nrav1e "),
        ("the crate list", "\nring "),
        ("the crate list", "\negui "),
        ("the crate list", "\nlibwebp-sys 0.9.6\nlicence: MIT"),
    ] {
        assert!(
            notices.contains(text),
            "THIRD-PARTY-NOTICES lacks {what}: {text:?}"
        );
    }

    let desktop = root.join("usr/share/applications").join(DESKTOP);
    let checked = run("desktop-file-validate", &[desktop.to_str().unwrap()]);
    assert!(
        checked.status.success() && checked.stdout.is_empty(),
        "desktop-file-validate: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let metainfo = root.join("usr/share/metainfo").join(METAINFO);
    let checked = run(
        "appstreamcli",
        &["validate", "--no-net", metainfo.to_str().unwrap()],
    );
    assert!(
        checked.status.success(),
        "appstreamcli validate: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
