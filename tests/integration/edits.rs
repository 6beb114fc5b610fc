//! #39, edits: crop (aspect ratios at each gravity, boxes in pixels and per cent), rotate, flip
//! and pad give the same pixel size and the same pixels as ImageMagick's `-crop`, `-rotate`,
//! `-flip`/`-flop` and `-gravity … -extent` on real photographs (two of Debian's
//! mate-backgrounds, reduced by ImageMagick to 640 px PNGs, one of them EXIF-free and one
//! not): every edit of one recipe file (an output per edit list) in one `conveyor run`, PNG
//! outputs compared losslessly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const PHOTOS: &str = "/usr/share/backgrounds/mate/nature";
const MAGICK: &str = "/usr/bin/convert";

/// One case: its name, the edit list (flag names and values), ImageMagick's arguments.
type Case = (String, Vec<(&'static str, String)>, Vec<String>);

/// Each gravity by its name here and ImageMagick's.
const GRAVITIES: [(&str, &str); 9] = [
    ("center", "Center"),
    ("north", "North"),
    ("northeast", "NorthEast"),
    ("east", "East"),
    ("southeast", "SouthEast"),
    ("south", "South"),
    ("southwest", "SouthWest"),
    ("west", "West"),
    ("northwest", "NorthWest"),
];

/// The least PSNR an edit keeps against ImageMagick (the acceptance's 45 dB; these are exact).
const LEAST_DB: f64 = 45.0;

fn magick(args: &[&str]) {
    let out = Command::new(MAGICK).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "convert {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two of Debian's mate-backgrounds reduced by ImageMagick to PNGs (640×427 and 427×267)
/// under `tmp/in`.
fn fixtures(tmp: &Path) -> std::path::PathBuf {
    for tool in [MAGICK, PHOTOS] {
        assert!(
            Path::new(tool).exists(),
            "apt-get install imagemagick mate-backgrounds to run it"
        );
    }
    let input = tmp.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for (photo, size) in [("Storm.jpg", "640x640"), ("LadyBird.jpg", "427x640")] {
        let made = input.join(Path::new(photo).with_extension("png"));
        magick(&[
            &format!("{PHOTOS}/{photo}"),
            "-resize",
            size,
            made.to_str().unwrap(),
        ]);
    }
    input
}

#[test]
#[ignore = "needs ImageMagick and mate-backgrounds (apt-get install imagemagick mate-backgrounds)"]
fn crop_rotate_flip_and_pad_match_imagemagick_on_real_photos() {
    transparent_pad_matches_imagemagick();
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures(tmp.path());
    let mut cases: Vec<Case> = Vec::new();
    let gravities = GRAVITIES;
    for (ours, theirs) in gravities {
        for (ratio, name) in [("16:9", "wide"), ("1:1", "square"), ("9:16", "tall")] {
            cases.push((
                format!("crop-{name}-{ours}"),
                vec![("crop", format!("{ratio}@{ours}"))],
                // The size is the largest of that ratio: ImageMagick takes it as an aspect
                // only from 7 on, so the test gives it as a size (see `aspect_size`).
                vec![
                    "-gravity".into(),
                    theirs.into(),
                    "-crop".into(),
                    format!("ASPECT{ratio}+0+0"),
                    "+repage".into(),
                ],
            ));
        }
        cases.push((
            format!("pad-{ours}"),
            vec![("pad", format!("900x700@{ours}"))],
            vec![
                "-background".into(),
                "#204060".into(),
                "-gravity".into(),
                theirs.into(),
                "-extent".into(),
                "900x700".into(),
            ],
        ));
    }
    for (spec, theirs) in [
        ("10,20,300,200", "300x200+10+20"),
        ("25%,10%,50%,50%", "PERCENT"),
        // Reaching past the picture: cut at its edge, as ImageMagick does.
        ("400,200,500,500", "500x500+400+200"),
    ] {
        cases.push((
            format!("box-{}", cases.len()),
            vec![("crop", spec.into())],
            vec!["-crop".into(), theirs.into(), "+repage".into()],
        ));
    }
    for degrees in ["90", "180", "270"] {
        cases.push((
            format!("rotate-{degrees}"),
            vec![("rotate", degrees.into())],
            vec!["-rotate".into(), degrees.into()],
        ));
    }
    cases.push((
        "flip-h".into(),
        vec![("flip", "h".into())],
        vec!["-flop".into()],
    ));
    cases.push((
        "flip-v".into(),
        vec![("flip", "v".into())],
        vec!["-flip".into()],
    ));
    // Margins (top 10, right 20, bottom 30, left 40) in the background, and in a colour of
    // their own: ImageMagick's -splice on two corners.
    for (name, spec, colour) in [
        ("margins", "+10,20,30,40", "#204060"),
        ("margins-red", "+10,20,30,40,color=ff0000", "#ff0000"),
    ] {
        cases.push((
            name.into(),
            vec![("pad", spec.into())],
            [
                "-background",
                colour,
                "-gravity",
                "NorthWest",
                "-splice",
                "40x10",
                "-gravity",
                "SouthEast",
                "-splice",
                "20x30",
            ]
            .map(String::from)
            .to_vec(),
        ));
    }
    // In order: what the list says first happens first.
    cases.push((
        "chain".into(),
        vec![
            ("crop", "4:3@west".into()),
            ("rotate", "90".into()),
            ("flip", "h".into()),
            ("pad", "700x700@south".into()),
        ],
        vec![
            "-gravity".into(),
            "West".into(),
            "-crop".into(),
            "ASPECT4:3+0+0".into(),
            "+repage".into(),
            "-rotate".into(),
            "90".into(),
            "-flop".into(),
            "-background".into(),
            "#204060".into(),
            "-gravity".into(),
            "South".into(),
            "-extent".into(),
            "700x700".into(),
        ],
    ));
    let worst = run_cases(tmp.path(), &input, &cases, LEAST_DB);
    eprintln!(
        "{} geometry edits against ImageMagick, worst {worst:.1} dB",
        cases.len() * 2
    );

    // A box wholly outside a picture fails that file, saying why; the others are converted.
    let small = tmp.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    std::fs::copy(input.join("Storm.png"), small.join("big.png")).unwrap();
    magick(&[
        input.join("LadyBird.png").to_str().unwrap(),
        "-resize",
        "100x100",
        small.join("tiny.png").to_str().unwrap(),
    ]);
    let boxed = tmp.path().join("boxed");
    let run = common::command()
        .args([
            "run",
            small.to_str().unwrap(),
            "--out",
            boxed.to_str().unwrap(),
        ])
        .args(["--crop", "200,100,50,50", "--quiet"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{said}");
    assert!(
        said.contains("tiny.png: the crop box 200,100,50,50 lies outside the 100×63 picture"),
        "{said}"
    );
    assert_eq!(
        image::image_dimensions(boxed.join("big.png")).unwrap(),
        (50, 50)
    );
}

/// The largest `W:H` part of a `size` picture, as Conveyor's crop takes it.
fn aspect_size(size: (u32, u32), ratio: &str) -> (u32, u32) {
    let (a, b) = ratio.split_once(':').unwrap();
    let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
    let (w, h) = (f64::from(size.0), f64::from(size.1));
    if w / h > a / b {
        (((h * a / b).round()) as u32, size.1)
    } else {
        (size.0, ((w * b / a).round()) as u32)
    }
}

/// The PSNR between our output and ImageMagick's picture (both read as RGB by the `image`
/// crate), once their sizes are checked to be the same.
fn db_against(ours: &Path, theirs: &Path, what: &str) -> f64 {
    let read = |p: &Path| {
        image::open(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .to_rgb8()
    };
    let (ours, theirs) = (read(ours), read(theirs));
    assert_eq!(
        ours.dimensions(),
        theirs.dimensions(),
        "{what}: the size ImageMagick gives"
    );
    common::psnr(
        &image::DynamicImage::ImageRgb8(ours),
        &image::DynamicImage::ImageRgb8(theirs),
    )
}

/// `conveyor run INPUT --out TMP/out --recipe TMP/NAME` with `recipe` written there; the
/// output folder.
fn convert_with(tmp: &Path, input: &Path, name: &str, recipe: &str) -> std::path::PathBuf {
    let recipe_path = tmp.join(name);
    std::fs::write(&recipe_path, recipe).unwrap();
    let out = tmp.join("out");
    common::run_ok(
        input,
        &out,
        &["--recipe", recipe_path.to_str().unwrap(), "--quiet"],
    );
    out
}

/// Converts `input` with an output (a sub-folder) per case, makes ImageMagick's picture for
/// each, and checks that each has ImageMagick's size and is at least `least` dB from it; the
/// worst figure.
fn run_cases(tmp: &Path, input: &Path, cases: &[Case], least: f64) -> f64 {
    let mut recipe = String::new();
    for (name, edits, _) in cases {
        let list: Vec<String> = edits
            .iter()
            .map(|(op, value)| format!("{{ {op} = \"{value}\" }}"))
            .collect();
        write!(
            recipe,
            "[[output]]\nformat = \"png\"\nbackground = \"#204060\"\nmetadata = \"strip\"\n\
             subfolder = \"{name}\"\nedit = [{}]\n\n",
            list.join(", ")
        )
        .unwrap();
    }
    let out = convert_with(tmp, input, "edits.toml", &recipe);
    let mut worst = f64::INFINITY;
    let mut compared = 0;
    for photo in ["Storm", "LadyBird"] {
        let source = input.join(format!("{photo}.png"));
        let (w, h) = image::image_dimensions(&source).unwrap();
        for (name, _, theirs) in cases {
            let ours_path = out.join(name).join(format!("{photo}.png"));
            let reference = tmp.join(format!("{name}-{photo}.png"));
            // ImageMagick's arguments, with each aspect crop's size worked out for this
            // picture, step by step (a crop changes the size the next step sees).
            let mut args: Vec<String> = vec![source.to_str().unwrap().into()];
            let mut size = (w, h);
            for a in theirs {
                let arg = if let Some(ratio) = a.strip_prefix("ASPECT") {
                    let ratio = ratio.trim_end_matches("+0+0");
                    let (cw, ch) = aspect_size(size, ratio);
                    size = (cw, ch);
                    format!("{cw}x{ch}+0+0")
                } else if a == "PERCENT" {
                    let (x, y) = (
                        (f64::from(size.0) * 0.25).round(),
                        (f64::from(size.1) * 0.10).round(),
                    );
                    let (cw, ch) = (
                        (f64::from(size.0) * 0.5).round(),
                        (f64::from(size.1) * 0.5).round(),
                    );
                    size = (cw as u32, ch as u32);
                    format!("{cw}x{ch}+{x}+{y}")
                } else {
                    if a == "90" || a == "270" {
                        size = (size.1, size.0);
                    }
                    a.clone()
                };
                args.push(arg);
            }
            args.push(reference.to_str().unwrap().into());
            magick(&args.iter().map(String::as_str).collect::<Vec<_>>());
            let db = db_against(&ours_path, &reference, &format!("{name} on {photo}"));
            eprintln!("{name} on {photo}: {db:.1} dB");
            assert!(db >= least, "{name} on {photo}: {db:.1} dB");
            worst = worst.min(db);
            compared += 1;
        }
    }
    assert_eq!(compared, cases.len() * 2);
    worst
}

/// `pad 500x500@east,transparent` into PNG: the same size, colour and alpha as ImageMagick's
/// `-background none -gravity East -extent 500x500` (compared as RGBA).
fn transparent_pad_matches_imagemagick() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures(tmp.path());
    let out = tmp.path().join("out");
    common::run_ok(
        &input,
        &out,
        &[
            "--format",
            "png",
            "--pad",
            "500x500@east,transparent",
            "--quiet",
        ],
    );
    for photo in ["Storm", "LadyBird"] {
        let ours = image::open(out.join(format!("{photo}.png"))).unwrap();
        assert!(
            ours.color().has_alpha(),
            "{photo}: transparent room needs alpha"
        );
        let reference = tmp.path().join(format!("{photo}-none.png"));
        let source = input.join(format!("{photo}.png"));
        magick(&[
            source.to_str().unwrap(),
            "-resize",
            "500x500>",
            "-background",
            "none",
            "-gravity",
            "East",
            "-extent",
            "500x500",
            reference.to_str().unwrap(),
        ]);
        let theirs = image::open(&reference).unwrap().to_rgba8();
        let ours = ours.to_rgba8();
        assert_eq!(ours.dimensions(), theirs.dimensions(), "{photo}");
        // Where ImageMagick left nothing, nothing here either; the picture where it put it.
        let mut alpha_off = 0usize;
        for (a, b) in ours.pixels().zip(theirs.pixels()) {
            alpha_off += usize::from(a.0[3].abs_diff(b.0[3]) > 1);
        }
        assert_eq!(alpha_off, 0, "{photo}: the transparent room matches");
        let db = common::psnr(
            &image::DynamicImage::ImageRgba8(ours),
            &image::DynamicImage::ImageRgba8(theirs),
        );
        eprintln!("pad transparent on {photo}: {db:.1} dB (RGBA)");
        assert!(db >= 35.0, "{photo}: {db:.1} dB (the shrink is a resample)");
    }
}

/// #39 acceptance 2 (tones): grey, brightness/contrast, saturation, gamma and the unsharp mask
/// within 35 dB of ImageMagick's `-colorspace Gray`, `-brightness-contrast`, `-modulate`,
/// `-gamma` and `-unsharp` on the same real photos.
#[test]
#[ignore = "needs ImageMagick and mate-backgrounds (apt-get install imagemagick mate-backgrounds)"]
fn grey_adjust_and_sharpen_match_imagemagick_on_real_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures(tmp.path());
    let case = |name: &str, edit: (&'static str, &str), theirs: &[&str]| -> Case {
        (
            name.to_owned(),
            vec![(edit.0, edit.1.to_owned())],
            theirs.iter().map(|a| (*a).to_owned()).collect(),
        )
    };
    let cases = [
        case("grey", ("grayscale", "true"), &["-colorspace", "Gray"]),
        case(
            "brighter",
            ("adjust", "brightness=15,contrast=20"),
            &["-brightness-contrast", "15x20"],
        ),
        case(
            "flatter",
            ("adjust", "brightness=-10,contrast=-30"),
            &["-brightness-contrast", "-10x-30"],
        ),
        case(
            "duller",
            ("adjust", "saturation=-40"),
            &["-modulate", "100,60"],
        ),
        case(
            "livelier",
            ("adjust", "saturation=30"),
            &["-modulate", "100,130"],
        ),
        case("gamma", ("adjust", "gamma=1.4"), &["-gamma", "1.4"]),
        case(
            "sharp",
            ("sharpen", "1.2,radius=1,threshold=0"),
            &["-unsharp", "0x1+1.2+0"],
        ),
        case(
            "screens",
            ("sharpen", "true"),
            &["-unsharp", "0x0.75+0.75+0.008"],
        ),
    ];
    let worst = run_cases(tmp.path(), &input, &cases, 35.0);
    eprintln!(
        "{} tone edits against ImageMagick, worst {worst:.1} dB",
        cases.len() * 2
    );
}

/// #39 acceptance 2 (watermark): a logo at 50 % opacity, scaled to 20 % of the picture's
/// width, 16 px from the edges, at each gravity, and tiled, within 40 dB of ImageMagick's
/// `composite -dissolve 50 -gravity G -geometry +16+16` (and `-tile`) with the logo scaled by
/// ImageMagick; the logo is named relative to the recipe file.
#[test]
#[ignore = "needs ImageMagick, mate-backgrounds, libjxl-tools and libavif-bin"]
fn a_logo_watermark_matches_imagemagick_composite_at_each_gravity() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures(tmp.path());
    let logo = tmp.path().join("logo.png");
    magick(&[
        "-size",
        "240x90",
        "xc:none",
        "-fill",
        "#e03020",
        "-draw",
        "roundrectangle 0,0 239,89 18,18",
        "-fill",
        "#ffffffc0",
        "-draw",
        "circle 60,45 60,15",
        "-fill",
        "#2040ff80",
        "-draw",
        "rectangle 120,20 220,70",
        logo.to_str().unwrap(),
    ]);
    let composite = "/usr/bin/composite";
    let mut recipe = String::new();
    let names: Vec<(&str, &str)> = GRAVITIES.into_iter().chain([("tile", "")]).collect();
    for (name, _) in &names {
        let spec = if *name == "tile" {
            "logo.png,opacity=0.5,scale=20%,tile".to_owned()
        } else {
            format!("logo.png@{name},opacity=0.5,scale=20%,margin=16")
        };
        write!(
            recipe,
            "[[output]]\nformat = \"png\"\nmetadata = \"strip\"\nsubfolder = \"{name}\"\n\
             edit = [{{ watermark = \"{spec}\" }}]\n\n"
        )
        .unwrap();
    }
    let out = convert_with(tmp.path(), &input, "marks.toml", &recipe);
    let mut worst = f64::INFINITY;
    for photo in ["Storm", "LadyBird"] {
        let source = input.join(format!("{photo}.png"));
        let (w, _) = image::image_dimensions(&source).unwrap();
        let scaled = tmp.path().join(format!("logo-{photo}.png"));
        let width = (f64::from(w) * 0.2).round() as u32;
        magick(&[
            logo.to_str().unwrap(),
            "-resize",
            &format!("{width}x"),
            scaled.to_str().unwrap(),
        ]);
        for (name, gravity) in &names {
            let reference = tmp.path().join(format!("mark-{name}-{photo}.png"));
            let mut args: Vec<String> = vec!["-dissolve".into(), "50".into()];
            if *name == "tile" {
                args.push("-tile".into());
            } else {
                let centred_x = matches!(*name, "center" | "north" | "south");
                let centred_y = matches!(*name, "center" | "east" | "west");
                args.extend([
                    "-gravity".into(),
                    (*gravity).into(),
                    "-geometry".into(),
                    format!(
                        "+{}+{}",
                        if centred_x { 0 } else { 16 },
                        if centred_y { 0 } else { 16 }
                    ),
                ]);
            }
            args.extend([
                scaled.to_str().unwrap().into(),
                source.to_str().unwrap().into(),
                reference.to_str().unwrap().into(),
            ]);
            let run = Command::new(composite).args(&args).output().unwrap();
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            let ours = out.join(name).join(format!("{photo}.png"));
            let db = db_against(&ours, &reference, &format!("watermark {name} on {photo}"));
            eprintln!("watermark {name} on {photo}: {db:.1} dB");
            assert!(db >= 40.0, "watermark {name} on {photo}: {db:.1} dB");
            worst = worst.min(db);
        }
    }
    eprintln!("20 watermarks against ImageMagick, worst {worst:.1} dB");

    // The same logo as lossless JPEG XL (libjxl) and AVIF (libavif) lays the same pixels.
    let jxl = tmp.path().join("logo.jxl");
    let avif = tmp.path().join("logo.avif");
    for (tool, args) in [
        (
            "cjxl",
            vec![logo.to_str().unwrap(), jxl.to_str().unwrap(), "-d", "0"],
        ),
        (
            "avifenc",
            vec!["-l", logo.to_str().unwrap(), avif.to_str().unwrap()],
        ),
    ] {
        let run = Command::new(tool).args(&args).output().unwrap();
        assert!(
            run.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let png_marked = out.join("southeast");
    for logo in [&jxl, &avif] {
        let marked = tmp.path().join(logo.extension().unwrap());
        let spec = format!(
            "{}@southeast,opacity=0.5,scale=20%,margin=16",
            logo.display()
        );
        common::run_ok(
            &input,
            &marked,
            &[
                "--format",
                "png",
                "--metadata",
                "strip",
                "--watermark",
                &spec,
                "--quiet",
            ],
        );
        for photo in ["Storm", "LadyBird"] {
            let db = db_against(
                &marked.join(format!("{photo}.png")),
                &png_marked.join(format!("{photo}.png")),
                &format!("{} logo on {photo}", logo.display()),
            );
            assert!(
                db >= 60.0,
                "{}: {db:.1} dB from the PNG logo's",
                logo.display()
            );
        }
    }
}

/// #39 acceptance 1 (any angle): a turn by 12.5°, −7° and 30° has ImageMagick's `-rotate`
/// canvas and is at least 35 dB from its pixels (its EWA resampling against our bicubic), the
/// corners filled with the background.
#[test]
#[ignore = "needs ImageMagick and mate-backgrounds (apt-get install imagemagick mate-backgrounds)"]
fn any_angle_rotation_matches_imagemagick_on_real_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures(tmp.path());
    let cases: Vec<Case> = ["12.5", "-7", "30"]
        .into_iter()
        .map(|degrees| {
            (
                format!("turn{degrees}"),
                vec![("rotate", degrees.to_owned())],
                vec![
                    "-background".into(),
                    "#204060".into(),
                    "-rotate".into(),
                    degrees.into(),
                ],
            )
        })
        .collect();
    let worst = run_cases(tmp.path(), &input, &cases, 35.0);
    eprintln!(
        "{} turns against ImageMagick, worst {worst:.1} dB",
        cases.len() * 2
    );
}

/// #39 acceptance 3: `crop …@attention` on real photographs (all 30 of Debian's
/// mate-backgrounds, each resized to fit 800 px first) against libvips's own attention crop of
/// the original (pyvips): the share of photos where the two crops overlap by at least half
/// (intersection over union, as fractions of the picture), for square and 1:2 crops.
#[test]
#[ignore = "needs ImageMagick, mate-backgrounds, numpy and pyvips (pip install pyvips pyvips-binary)"]
fn attention_crops_overlap_libvips_on_most_photos() {
    let photos = "/usr/share/backgrounds/mate";
    assert!(
        Path::new(photos).exists(),
        "apt-get install mate-backgrounds"
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut recipe = String::from(
        "[[output]]\nsubfolder = \"whole\"\nformat = \"png\"\nresize = \"fit:800x800\"\n\n",
    );
    for (name, ratio) in [("square", "1:1"), ("tall", "1:2")] {
        write!(
            recipe,
            "[[output]]\nsubfolder = \"{name}\"\nformat = \"png\"\nresize = \"fit:800x800\"\n\
             edit = [{{ crop = \"{ratio}@attention\" }}]\n\n"
        )
        .unwrap();
    }
    let out = convert_with(tmp.path(), Path::new(photos), "smart.toml", &recipe);
    let script = r#"
import glob, os, sys
import numpy as np
import pyvips
photos, out = sys.argv[1], sys.argv[2]
def load(path):
    im = pyvips.Image.new_from_file(path, access="sequential")
    if im.hasalpha():
        im = im.flatten(background=[255, 255, 255])
    return np.ndarray(buffer=im.colourspace("srgb").write_to_memory(), dtype=np.uint8,
                      shape=[im.height, im.width, im.bands])[:, :, :3]
results = {}
for ratio_name, (rw, rh) in (("square", (1, 1)), ("tall", (1, 2))):
    ious = []
    for source in sorted(glob.glob(os.path.join(photos, "**", "*.*"), recursive=True)):
        rel = os.path.relpath(source, photos)
        stem = os.path.splitext(rel)[0]
        whole_path = os.path.join(out, "whole", stem + ".png")
        crop_path = os.path.join(out, ratio_name, stem + ".png")
        if not os.path.exists(crop_path):
            continue
        whole = load(whole_path).astype(np.int16)
        ours = load(crop_path).astype(np.int16)
        H, W = whole.shape[:2]
        h, w = ours.shape[:2]
        # Where our crop sits in our whole picture (the same decode: an exact match).
        best, at = None, (0, 0)
        for top in range(0, H - h + 1):
            for left in range(0, W - w + 1):
                d = np.abs(whole[top:top + h:7, left:left + w:7] - ours[::7, ::7]).sum()
                if best is None or d < best:
                    best, at = d, (left, top)
            if best == 0:
                break
        ox, oy = at[0] / W, at[1] / H
        ow, oh = w / W, h / H
        # libvips on the original, the same ratio at full size.
        im = pyvips.Image.new_from_file(source)
        iw, ih = im.width, im.height
        if iw * rh > ih * rw:
            cw, ch = round(ih * rw / rh), ih
        else:
            cw, ch = iw, round(iw * rh / rw)
        _, opts = im.smartcrop(cw, ch, interesting="attention", attention_x=True, attention_y=True)
        vx = min(max(opts["attention_x"] - cw // 2, 0), iw - cw) / iw
        vy = min(max(opts["attention_y"] - ch // 2, 0), ih - ch) / ih
        vw, vh = cw / iw, ch / ih
        ix = max(0.0, min(ox + ow, vx + vw) - max(ox, vx))
        iy = max(0.0, min(oy + oh, vy + vh) - max(oy, vy))
        inter = ix * iy
        iou = inter / (ow * oh + vw * vh - inter)
        ious.append(iou)
        print(f"{ratio_name} {rel}: IoU {iou:.2f}", file=sys.stderr)
    share = sum(1 for i in ious if i >= 0.5) / len(ious)
    print(f"{ratio_name} {len(ious)} {share:.3f} {np.median(ious):.3f}")
"#;
    let run = Command::new("python3")
        .args(["-c", script, photos, out.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{said}");
    eprintln!("{said}");
    for line in String::from_utf8_lossy(&run.stdout).lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (name, count, share, median) = (parts[0], parts[1], parts[2], parts[3]);
        eprintln!(
            "{name} crops: {share} of {count} photos overlap libvips's by half or more (median IoU {median})"
        );
        // Scored as libvips scores: 29 of 30 square and 26 of 30 tall crops here (the test
        // keeps a little room; "most" is the acceptance's word).
        let share: f64 = share.parse().unwrap();
        assert!(
            share >= 0.8,
            "{name}: only {share} of the photos overlap libvips's by half"
        );
    }
}

/// `crop trim`: a photo framed by ImageMagick in a flat border (and the same as a JPEG, with its
/// noise around the border) comes back as the photo: ImageMagick's `-trim` size and pixels.
#[test]
#[ignore = "needs ImageMagick and mate-backgrounds (apt-get install imagemagick mate-backgrounds)"]
fn trim_cuts_a_flat_border_as_imagemagick_does() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures(tmp.path());
    let framed = tmp.path().join("framed");
    std::fs::create_dir_all(&framed).unwrap();
    let storm = input.join("Storm.png");
    for (name, extra) in [("png.png", vec![]), ("jpeg.jpg", vec!["-quality", "92"])] {
        let mut args = vec![
            storm.to_str().unwrap(),
            "-bordercolor",
            "#f4f4f0",
            "-border",
            "37x21",
        ];
        args.extend(extra);
        let target = framed.join(name);
        args.push(target.to_str().unwrap());
        magick(&args);
    }
    let out = tmp.path().join("trimmed");
    common::run_ok(
        &framed,
        &out,
        &["--format", "png", "--crop", "trim", "--quiet"],
    );
    let original = image::open(&storm).unwrap().to_rgb8();
    for name in ["png", "jpeg"] {
        let ours = image::open(out.join(format!("{name}.png")))
            .unwrap()
            .to_rgb8();
        assert_eq!(
            ours.dimensions(),
            original.dimensions(),
            "{name}: the photo's size"
        );
        let reference = tmp.path().join(format!("im-{name}.png"));
        let source = framed.join(if name == "png" { "png.png" } else { "jpeg.jpg" });
        magick(&[
            source.to_str().unwrap(),
            "-fuzz",
            "4%",
            "-trim",
            "+repage",
            reference.to_str().unwrap(),
        ]);
        let db = db_against(&out.join(format!("{name}.png")), &reference, name);
        eprintln!("trim {name}: {db:.1} dB against ImageMagick's -trim");
        assert!(db >= 45.0, "{name}: {db:.1} dB");
    }
}

/// Shrink-on-load with a crop first: a 4000×3000 JPEG cropped to its central fifth and then
/// fitted into 400×400 is decoded at the scale the crop needs (1/2), not at the one the whole
/// picture would (1/8, which would leave a 100×75 crop): the output is 400×300 and looks as
/// ImageMagick's full-size crop and resize.
#[test]
#[ignore = "needs ImageMagick (apt-get install imagemagick)"]
fn a_crop_before_the_resize_decodes_at_the_scale_the_crop_needs() {
    assert!(Path::new(MAGICK).exists(), "apt-get install imagemagick");
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let big = input.join("big.jpg");
    magick(&[
        "-seed",
        "3",
        "-size",
        "4000x3000",
        "plasma:fractal",
        "-blur",
        "0x2",
        "-quality",
        "92",
        big.to_str().unwrap(),
    ]);
    for (name, crop, theirs, size) in [
        ("box", "40%,40%,20%,20%", "800x600+1600+1200", (400, 300)),
        ("square", "1:1", "3000x3000+500+0", (400, 400)),
    ] {
        let out = tmp.path().join(name);
        let extra = [
            "--crop",
            crop,
            "--resize",
            "fit:400x400",
            "--format",
            "png",
            "--quiet",
        ];
        common::run_ok(&input, &out, &extra);
        let ours = image::open(out.join("big.png")).unwrap().to_rgb8();
        assert_eq!(ours.dimensions(), size, "{name}");
        let reference = tmp.path().join(format!("{name}.png"));
        magick(&[
            big.to_str().unwrap(),
            "-crop",
            theirs,
            "+repage",
            "-resize",
            "400x400",
            reference.to_str().unwrap(),
        ]);
        let db = db_against(&out.join("big.png"), &reference, name);
        eprintln!("crop {name} then resize: {db:.1} dB against ImageMagick's full-size");
        assert!(db >= 35.0, "{name}: {db:.1} dB");
    }
}

/// The inked box of `image`: where it differs from `base` by more than 40 levels in a channel
/// (x0, y0, x1, y1; ends exclusive), and how many pixels.
fn ink(image: &image::RgbImage, base: [u8; 3]) -> ((u32, u32, u32, u32), usize) {
    let (mut x0, mut y0, mut x1, mut y1, mut n) = (u32::MAX, u32::MAX, 0, 0, 0);
    for (x, y, p) in image.enumerate_pixels() {
        if (0..3).any(|c| p.0[c].abs_diff(base[c]) > 40) {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            n += 1;
        }
    }
    ((x0, y0, x1, y1), n)
}

/// Acceptance 2, text: `--text` at each gravity puts its inked box `margin` pixels in from the
/// edges the gravity names (centred along the others) on a flat ImageMagick canvas; the
/// letters are ImageMagick's own (`-font DejaVuSans-Bold.ttf -pointsize 40 -annotate`: the
/// same inked size within 2 px, ≥ 97 % of either's inked pixels within a pixel of the other's,
/// aligned by their boxes); and over a
/// real photograph the text is there (its pixels changed, nothing else).
#[test]
#[ignore = "needs ImageMagick and mate-backgrounds (apt-get install imagemagick mate-backgrounds)"]
fn text_is_placed_by_its_gravity_and_drawn_as_imagemagick_draws_it() {
    let tmp = tempfile::tempdir().unwrap();
    let font = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fonts/DejaVuSans-Bold.ttf");
    let font = font.to_str().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let base = [60u8, 70, 80];
    let canvas = input.join("canvas.png");
    magick(&[
        "-size",
        "640x400",
        "xc:rgb(60,70,80)",
        canvas.to_str().unwrap(),
    ]);
    let words = "Conveyor 2024";
    let (m, size) = (12u32, 40u32);
    let gravities = GRAVITIES;
    let mut recipe = String::new();
    for (ours, _) in gravities {
        writeln!(
            recipe,
            "[[output]]\nformat = \"png\"\nsubfolder = \"{ours}\"\n\
             edit = [{{ text = \"{words}@{ours},size={size},margin={m},font={font}\" }}]\n"
        )
        .unwrap();
    }
    let out = convert_with(tmp.path(), &input, "text.toml", &recipe);
    let (mut worst_overlap, mut worst_size) = (1.0f64, 0u32);
    for (ours, theirs) in gravities {
        let made = image::open(out.join(ours).join("canvas.png"))
            .unwrap()
            .to_rgb8();
        let ((x0, y0, x1, y1), n) = ink(&made, base);
        assert!(n > 1000, "{ours}: the text is drawn ({n} pixels)");
        let (w, h) = (640u32, 400u32);
        let want_x = match ours {
            // (Within a pixel: an edge's faintest antialiased column is under the threshold.)
            "west" | "northwest" | "southwest" => Some(x0.abs_diff(m) <= 1),
            "east" | "northeast" | "southeast" => Some((w - x1).abs_diff(m) <= 1),
            _ => None,
        };
        let want_y = match ours {
            "north" | "northwest" | "northeast" => Some(y0.abs_diff(m) <= 1),
            "south" | "southwest" | "southeast" => Some((h - y1).abs_diff(m) <= 1),
            _ => None,
        };
        let centred = |a: u32, b: u32, side: u32| (a + b).abs_diff(side) <= 2;
        assert!(
            want_x.unwrap_or_else(|| centred(x0, x1, w)),
            "{ours}: inked {x0}..{x1} across"
        );
        assert!(
            want_y.unwrap_or_else(|| centred(y0, y1, h)),
            "{ours}: inked {y0}..{y1} down"
        );
        // ImageMagick's letters at the same size, compared where each is inked.
        let theirs_png = tmp.path().join(format!("im-{ours}.png"));
        magick(&[
            canvas.to_str().unwrap(),
            "-font",
            font,
            "-pointsize",
            &size.to_string(),
            "-fill",
            "white",
            "-gravity",
            theirs,
            "-annotate",
            &format!("+{m}+{m}"),
            words,
            theirs_png.to_str().unwrap(),
        ]);
        let im = image::open(&theirs_png).unwrap().to_rgb8();
        let ((a0, b0, a1, b1), _) = ink(&im, base);
        let size_off = (x1 - x0).abs_diff(a1 - a0).max((y1 - y0).abs_diff(b1 - b0));
        worst_size = worst_size.max(size_off);
        assert!(
            size_off <= 2,
            "{ours}: inked {}x{} here, {}x{} by ImageMagick",
            x1 - x0,
            y1 - y0,
            a1 - a0,
            b1 - b0
        );
        // Each one's letters lie within a pixel of the other's (glyphs land on whole or
        // fractional pixels differently: FreeType hints, ab_glyph does not).
        let on = |img: &image::RgbImage, x: i64, y: i64| {
            x >= 0
                && y >= 0
                && img
                    .get_pixel_checked(x as u32, y as u32)
                    .is_some_and(|p| (0..3).any(|c| p.0[c].abs_diff(base[c]) > 100))
        };
        let near = |img: &image::RgbImage, x: i64, y: i64| {
            (-1..=1).any(|dy| (-1..=1).any(|dx| on(img, x + dx, y + dy)))
        };
        let (mut inked, mut matched) = (0usize, 0usize);
        for dy in 0..i64::from((y1 - y0).max(b1 - b0)) {
            for dx in 0..i64::from((x1 - x0).max(a1 - a0)) {
                let (p, q) = (
                    (i64::from(x0) + dx, i64::from(y0) + dy),
                    (i64::from(a0) + dx, i64::from(b0) + dy),
                );
                if on(&made, p.0, p.1) {
                    inked += 1;
                    matched += usize::from(near(&im, q.0, q.1));
                }
                if on(&im, q.0, q.1) {
                    inked += 1;
                    matched += usize::from(near(&made, p.0, p.1));
                }
            }
        }
        let overlap = matched as f64 / inked.max(1) as f64;
        worst_overlap = worst_overlap.min(overlap);
        assert!(
            overlap >= 0.97,
            "{ours}: {:.1} % of the letters' pixels within a pixel of ImageMagick's",
            overlap * 100.0
        );
    }
    eprintln!(
        "text: 9 gravities placed within a pixel; against ImageMagick's -annotate: inked size \
         within {worst_size} px, letters' pixels within a pixel of its ≥ {:.1} %",
        worst_overlap * 100.0
    );

    // On a real photograph: a shadowed copyright with the photo's own year, bottom right.
    let photos = fixtures(tmp.path());
    let photo = photos.join("Storm.png");
    let one = tmp.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    std::fs::copy(&photo, one.join("Storm.png")).unwrap();
    let plain = tmp.path().join("plain");
    let marked = tmp.path().join("marked");
    for (dir, extra) in [
        (&plain, None),
        (&marked, Some("© Conveyor@southeast,shadow")),
    ] {
        let mut args = vec![
            "run",
            one.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--format",
            "png",
        ];
        if let Some(t) = extra {
            args.extend(["--text", t]);
        }
        common::conveyor_ok(&args);
    }
    let a = image::open(plain.join("Storm.png")).unwrap().to_rgb8();
    let b = image::open(marked.join("Storm.png")).unwrap().to_rgb8();
    let (mut x0, mut y0) = (u32::MAX, u32::MAX);
    let mut changed = 0;
    for (x, y, p) in b.enumerate_pixels() {
        if p != a.get_pixel(x, y) {
            (x0, y0) = (x0.min(x), y0.min(y));
            changed += 1;
        }
    }
    let (w, h) = a.dimensions();
    assert!(changed > 300, "the text is on the photo ({changed} pixels)");
    assert!(
        x0 > w / 2 && y0 > h * 3 / 4,
        "bottom right: changed from {x0},{y0} on a {w}x{h} photo"
    );
}

/// An edit that would make a picture larger than `--max-pixels` (a pad to a 20000×20000
/// canvas, a typo away from 2000×2000) fails that file with a sentence before anything is
/// allocated; the batch goes on and nothing is left where the output would be.
#[test]
fn an_edit_past_the_pixel_limit_fails_that_file_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    common::put(
        &input,
        "small.png",
        &common::encode(&common::photo(64, 48), image::ImageFormat::Png),
    );
    let attempt = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            common::s(&input),
            "--out",
            common::s(out),
            "--format",
            "png",
        ];
        args.extend_from_slice(extra);
        common::conveyor(&args)
    };
    let out = tmp.path().join("out");
    let report = tmp.path().join("r.json");
    let run = attempt(
        &out,
        &["--pad", "20000x20000", "--report", common::s(&report)],
    );
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let record = &common::read_report(&report)["files"][0];
    assert_eq!(record["error_kind"], "edit", "{record}");
    let why = record["error"].as_str().unwrap();
    assert!(
        why.contains("pad 20000x20000 would make a 20000×20000 picture (400 megapixels)")
            && why.contains("--max-pixels"),
        "{why}"
    );
    assert!(common::snapshot(&out).is_empty(), "no output");
    // At the limit (here set to a megapixel), a pad is made; a pixel more is refused.
    let limit = ["--max-pixels", "1000000", "--quiet"];
    let run = attempt(&out, &[&["--pad", "1000x1000"][..], &limit].concat());
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(
        image::image_dimensions(out.join("small.png")).unwrap(),
        (1000, 1000)
    );
    let over = tmp.path().join("over");
    let run = attempt(&over, &[&["--pad", "1000x1001"][..], &limit].concat());
    assert_eq!(run.status.code(), Some(1), "{run:?}");
}
