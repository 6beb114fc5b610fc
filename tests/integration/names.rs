//! #39, names from the photo: `--name '{date:%Y-%m-%d_%H%M%S}_{camera}_{n:03}'` takes the
//! date taken and the camera from each photo's EXIF as exiftool wrote it (JPEG, and HEIC, AVIF
//! and JPEG XL made from such a JPEG by libheif, libavif and libjxl), the file's time where
//! there is none; names that meet get the usual safe suffix, nothing is overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common;

fn tool(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (install it to run this test)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

#[test]
#[ignore = "needs ImageMagick, exiftool, libheif-examples, libavif-bin and libjxl-tools"]
fn names_come_from_each_photos_date_and_camera() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let p = |name: &str| input.join(name).to_str().unwrap().to_owned();
    // Two JPEGs taken in the same second with different cameras, one with no EXIF date but
    // a make, the container formats from a tagged JPEG, and a PNG with no EXIF at all.
    for (name, date, make, model) in [
        ("a.jpg", "2024:07:14 18:05:09", "Canon", "Canon EOS R5"),
        ("b.jpg", "2024:07:14 18:05:09", "Apple", "iPhone 15 Pro"),
        ("c.jpg", "", "NIKON CORPORATION", "NIKON D750"),
        ("source.jpg", "2021:12:31 23:59:58", "FUJIFILM", "X-T5"),
    ] {
        tool(
            "convert",
            &["-size", "96x64", "gradient:orange-navy", &p(name)],
        );
        let mut args = vec![
            "-q".to_owned(),
            "-overwrite_original".into(),
            format!("-Make={make}"),
            format!("-Model={model}"),
        ];
        if !date.is_empty() {
            args.push(format!("-DateTimeOriginal={date}"));
        }
        args.push(p(name));
        tool(
            "exiftool",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    tool(
        "heif-enc",
        &["-q", "60", &p("source.jpg"), "-o", &p("d.heic")],
    );
    tool("avifenc", &[&p("source.jpg"), &p("e.avif")]);
    tool("cjxl", &[&p("source.jpg"), &p("f.jxl")]);
    std::fs::remove_file(p("source.jpg")).unwrap();
    tool("convert", &["-size", "80x60", "xc:teal", &p("g.png")]);
    // No EXIF date: the files' own times (UTC here: TZ is set for the run).
    tool(
        "touch",
        &["-d", "2023-02-03 04:05:06 UTC", &p("c.jpg"), &p("g.png")],
    );
    // (cjxl keeps it in a Brotli-compressed box, which this exiftool does not open: the name
    // below shows it read.)
    for f in ["d.heic", "e.avif"] {
        let out = Command::new("exiftool")
            .args(["-s3", "-DateTimeOriginal", &p(f)])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "2021:12:31 23:59:58",
            "{f} carries the source's EXIF (as exiftool reads it)"
        );
    }

    // `conveyor run` into `out` with `extra`, in UTC (the files' own times are UTC above).
    let run_utc = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            common::s(&input),
            "--out",
            common::s(out),
            "--format",
            "png",
        ];
        args.extend_from_slice(extra);
        let run = common::command()
            .env("TZ", "UTC")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    let out = tmp.path().join("out");
    run_utc(&out, &["--name", "{date:%Y-%m-%d_%H%M%S}_{camera}_{n:03}"]);
    let expected: BTreeSet<String> = [
        "2024-07-14_180509_Canon EOS R5_001.png",
        "2024-07-14_180509_Apple iPhone 15 Pro_002.png",
        "2023-02-03_040506_NIKON D750_003.png",
        "2021-12-31_235958_FUJIFILM X-T5_004.png",
        "2021-12-31_235958_FUJIFILM X-T5_005.png",
        "2021-12-31_235958_FUJIFILM X-T5_006.png",
        "2023-02-03_040506_unknown_007.png",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(names(&out), expected);

    // Names that meet: three photos of the same second under `{date:%Y%m%d_%H%M%S}` get
    // three files, none overwritten, the report saying which were renamed.
    let out2 = tmp.path().join("out2");
    let report = tmp.path().join("r.json");
    run_utc(
        &out2,
        &[
            "--name",
            "{date:%Y%m%d_%H%M%S}",
            "--report",
            common::s(&report),
        ],
    );
    let made = names(&out2);
    assert_eq!(made.len(), 7, "one file per photo: {made:?}");
    assert_eq!(
        made.iter()
            .filter(|n| n.starts_with("20211231_235958"))
            .count(),
        3,
        "{made:?}"
    );
    assert!(made.contains("20240714_180509.png"), "{made:?}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.matches("20211231_235958").count() >= 3,
        "the report names each: {text}"
    );
}

/// The EXIF carried into an output says the output's pixel size (PixelXDimension and
/// PixelYDimension, as exiftool reads them), after a crop and a resize, in JPEG and WebP.
#[test]
#[ignore = "needs ImageMagick and exiftool"]
fn carried_exif_gives_the_outputs_own_size() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let photo = input.join("p.jpg");
    let p = photo.to_str().unwrap();
    tool("convert", &["-size", "800x600", "gradient:orange-navy", p]);
    tool(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            "-ExifImageWidth=800",
            "-ExifImageHeight=600",
            "-Make=Canon",
            p,
        ],
    );
    for format in ["jpeg", "webp"] {
        let out = tmp.path().join(format);
        common::run_ok(
            &input,
            &out,
            &[
                "--crop",
                "1:1",
                "--resize",
                "fit:300x300",
                "--format",
                format,
            ],
        );
        let made = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .unwrap();
        let read = Command::new("exiftool")
            .args(["-s3", "-ExifImageWidth", "-ExifImageHeight", "-Make"])
            .arg(&made)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&read.stdout);
        assert_eq!(
            said.split_whitespace().collect::<Vec<_>>(),
            ["300", "300", "Canon"],
            "{format}: {said}"
        );
    }
}
