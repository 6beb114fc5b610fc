//! End-to-end tests through the built binary on images generated at test time.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{conveyor, mixed_folder, read_report, s, snapshot};
use serde_json::Value;

fn files_by_input(report: &Value) -> Vec<(String, Value)> {
    report["files"]
        .as_array()
        .expect("files array")
        .iter()
        .map(|f| (f["input"].as_str().expect("input").to_owned(), f.clone()))
        .collect()
}

#[test]
fn converts_a_mixed_nested_folder_and_reports_bad_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("photos");
    let out = tmp.path().join("out");
    let good = mixed_folder(&dir);
    let before = snapshot(&dir);
    let r = tmp.path().join("r.json");

    let args = [
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--resize",
        "fit:300x300",
        "--format",
        "jpeg",
        "--report",
        s(&r),
    ];
    let run = conveyor(&args);
    assert_eq!(
        run.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        snapshot(&dir),
        before,
        "the input folder is byte-for-byte unchanged"
    );

    // Exactly one JPEG per good image, folders mirrored, the c.bmp / c.tiff collision kept apart.
    let written: BTreeSet<PathBuf> = snapshot(&out).into_keys().collect();
    let expected: BTreeSet<PathBuf> = [
        "a.jpg",
        "trip/b.jpg",
        "trip/day2/c.jpg",
        "trip/day2/c-1.jpg",
        "trip/d.jpg",
        "deep/e16.jpg",
        "deep/cmyk.jpg",
        "deep/grey.jpg",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(written, expected);

    let report = read_report(&r);
    let files = files_by_input(&report);
    assert_eq!(
        files.len(),
        good.len() + 3,
        "notes.txt is not in the report"
    );
    assert!(files.iter().all(|(input, _)| !input.ends_with("notes.txt")));
    for (input, f) in &files {
        let rel = Path::new(input)
            .strip_prefix(&dir)
            .expect("input under dir");
        let rel = rel.to_str().expect("utf-8");
        if rel.starts_with("bad/") {
            assert_eq!(f["status"], "failed", "{rel}");
            let reason = f["error"].as_str().expect("a reason");
            let (want, kind) = match rel {
                "bad/empty.jpg" => ("empty file", "empty"),
                "bad/text.jpg" => ("not an image", "not_image"),
                _ => ("truncated JPEG", "truncated"),
            };
            assert!(reason.contains(want), "{rel}: {reason}");
            assert_eq!(f["error_kind"], kind, "{rel}");
            continue;
        }
        assert_eq!(f["status"], "ok", "{rel}: {f}");
        let source = image::open(dir.join(rel)).expect("source decodes");
        let output_path = PathBuf::from(f["output"].as_str().expect("output"));
        let bytes = std::fs::read(&output_path).expect("output exists");
        assert_eq!(
            image::guess_format(&bytes).expect("format"),
            image::ImageFormat::Jpeg
        );
        let output = image::load_from_memory(&bytes).expect("output decodes");
        let (w, h) = (output.width(), output.height());
        assert!(w <= 300 && h <= 300, "{rel}: {w}x{h} does not fit 300x300");
        let (sw, sh) = (source.width() as f64, source.height() as f64);
        assert!(
            (w as f64 / h as f64 - sw / sh).abs() < 0.02 * (sw / sh).max(1.0),
            "{rel}: aspect changed from {sw}x{sh} to {w}x{h}"
        );
        assert!(
            w == 300 || h == 300 || (w as f64 == sw && h as f64 == sh),
            "{rel}: not fitted"
        );
        assert_eq!(f["width"], w);
        assert_eq!(f["height"], h);
        assert_eq!(f["output_bytes"], bytes.len() as u64);
        assert!(f["worker"].as_u64().is_some_and(|w| w >= 1));
    }
    let colliding: Vec<_> = files
        .iter()
        .filter(|(_, f)| f["note"].is_string())
        .collect();
    assert_eq!(
        colliding.len(),
        1,
        "the report says which output was renamed"
    );
    assert_eq!(report["summary"]["failed"], 3);
    assert_eq!(report["summary"]["ok"], good.len());

    // Again: every image is skipped, nothing is rewritten.
    let outputs_before = snapshot(&out);
    let mtimes: Vec<_> = expected
        .iter()
        .map(|p| {
            std::fs::metadata(out.join(p))
                .and_then(|m| m.modified())
                .expect("mtime")
        })
        .collect();
    let again = conveyor(&args);
    assert_eq!(again.status.code(), Some(1), "the bad files still fail");
    assert_eq!(snapshot(&out), outputs_before);
    let mtimes_after: Vec<_> = expected
        .iter()
        .map(|p| {
            std::fs::metadata(out.join(p))
                .and_then(|m| m.modified())
                .expect("mtime")
        })
        .collect();
    assert_eq!(mtimes, mtimes_after, "nothing rewritten");
    let second = read_report(&r);
    assert_eq!(second["summary"]["skipped"], good.len());
    assert_eq!(second["summary"]["ok"], 0);
}

#[test]
fn dry_run_writes_nothing_and_lists_every_input() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let good = mixed_folder(&dir);
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "png",
        "--dry-run",
    ]);
    assert_eq!(run.status.code(), Some(0));
    assert!(!out.exists(), "a dry run creates nothing");
    let stdout = String::from_utf8_lossy(&run.stdout);
    for rel in good
        .iter()
        .chain(&["bad/empty.jpg", "bad/text.jpg", "bad/truncated.jpg"])
    {
        assert!(
            stdout.contains(s(&dir.join(rel))),
            "{rel} not listed:\n{stdout}"
        );
    }
    assert!(!stdout.contains("notes.txt"));
    // #37 item 16: what a dry run can know without opening a file (an empty one fails) is
    // not counted as a file to convert, and the line says damaged ones show only when run.
    assert!(
        stdout.contains(&format!(
            "{} (will fail: empty file)",
            s(&dir.join("bad/empty.jpg"))
        )),
        "{stdout}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("dry run: "))
        .expect("a summary line");
    let to_convert = good.len() + 2;
    assert!(
        summary.starts_with(&format!(
            "dry run: {to_convert} to convert, 1 will fail (empty files), 0 to skip"
        )),
        "{summary}"
    );
    assert!(
        summary.contains("damaged ones fail only when converted"),
        "{summary}"
    );
}

/// 24 small PNGs, 8 in each of `set0`, `set1` and `set2`.
fn small_pngs_in_three_folders(dir: &Path) {
    for i in 0..24 {
        common::put(
            dir,
            &format!("set{}/img{i:02}.png", i % 3),
            &common::encode(&common::photo(20 + i, 16), image::ImageFormat::Png),
        );
    }
}

#[test]
fn shards_are_disjoint_and_together_complete() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    small_pngs_in_three_folders(&dir);
    let mut seen: Vec<BTreeSet<String>> = Vec::new();
    for shard in ["1/2", "2/2"] {
        let r = tmp.path().join(format!("shard{}.json", &shard[..1]));
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--format",
            "jpeg",
            "--shard",
            shard,
            "--report",
            s(&r),
        ]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let inputs: BTreeSet<String> = files_by_input(&read_report(&r))
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert!(!inputs.is_empty(), "shard {shard} got work");
        seen.push(inputs);
    }
    assert!(seen[0].is_disjoint(&seen[1]));
    assert_eq!(seen[0].len() + seen[1].len(), 24);
    assert_eq!(
        snapshot(&out).len(),
        24,
        "together the shards converted everything"
    );
}

/// The scheduler variables `--shard auto` reads, removed so the host's own never leak in.
const SCHEDULER_VARS: [&str; 8] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
    "AWS_BATCH_JOB_ARRAY_SIZE",
];

fn conveyor_under(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = common::command();
    for v in SCHEDULER_VARS {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run conveyor")
}

/// #16: `--shard auto` takes its part from Slurm, Kubernetes or AWS Batch, and `report merge`
/// joins the shards' reports, checking they are disjoint and complete.
#[test]
fn shard_auto_from_three_schedulers_then_report_merge() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    small_pngs_in_three_folders(&dir);
    let schedulers: [&[(&str, &str)]; 3] = [
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "3"),
        ],
        &[("JOB_COMPLETION_INDEX", "1")],
        &[
            ("AWS_BATCH_JOB_ARRAY_INDEX", "2"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "3"),
        ],
    ];
    let reports: Vec<PathBuf> = (1..=3)
        .map(|k| tmp.path().join(format!("r{k}.json")))
        .collect();
    let run_all = || {
        for (env, report) in schedulers.iter().zip(&reports) {
            let run = conveyor_under(
                env,
                &[
                    "run",
                    s(&dir),
                    "--out",
                    s(&out),
                    "--format",
                    "jpeg",
                    "--shard",
                    "auto/3",
                    "--report",
                    s(report),
                    "-q",
                ],
            );
            assert!(
                matches!(run.status.code(), Some(0 | 1)),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
        }
    };
    run_all();
    let shards: Vec<String> = reports
        .iter()
        .map(|r| {
            read_report(r)["summary"]["shard"]
                .as_str()
                .expect("shard")
                .to_owned()
        })
        .collect();
    assert_eq!(shards, ["1/3", "2/3", "3/3"]);
    let merged = tmp.path().join("merged.json");
    let merge = |given: &[&PathBuf]| {
        let mut args = vec!["report", "merge"];
        args.extend(given.iter().map(|p| s(p)));
        args.extend(["--out", s(&merged)]);
        conveyor(&args)
    };
    let all: Vec<&PathBuf> = reports.iter().collect();
    let m = merge(&all);
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    let report = read_report(&merged);
    assert_eq!(report["summary"]["ok"], 24);
    let inputs: BTreeSet<String> = files_by_input(&report)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(inputs.len(), 24, "every input once");
    assert_eq!(snapshot(&out).len(), 24, "24 outputs");
    for k in 1..=3 {
        let journal = out.join(format!(".conveyor-journal-{k}-of-3.jsonl"));
        assert!(journal.is_file(), "shard {k} kept its own journal");
    }

    // A shard not given, and one given twice: listed, exit 1.
    let m = merge(&[&reports[0], &reports[2], &reports[0]]);
    let err = String::from_utf8_lossy(&m.stderr);
    assert_eq!(m.status.code(), Some(1), "{err}");
    assert!(err.contains("shards not given: 2/3"), "{err}");
    assert!(err.contains("shard 1/3 is given twice"), "{err}");

    // A damaged file: its shard fails it, the merge lists it and exits 1.
    common::put(&dir, "set0/broken.png", b"\x89PNG\r\n\x1a\n not really");
    run_all();
    let m = merge(&all);
    let err = String::from_utf8_lossy(&m.stderr);
    assert_eq!(m.status.code(), Some(1), "{err}");
    assert!(
        err.contains("failed:") && err.contains("broken.png"),
        "{err}"
    );
    assert!(!err.contains("missing:"), "{err}");
    let report = read_report(&merged);
    assert_eq!(
        (
            report["summary"]["skipped"].as_u64(),
            report["summary"]["failed"].as_u64()
        ),
        (Some(24), Some(1))
    );

    // No scheduler: an error naming what it looked for.
    let none = conveyor_under(&[], &["run", s(&dir), "--out", s(&out), "--shard", "auto"]);
    let err = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(2), "{err}");
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "JOB_COMPLETION_INDEX",
        "AWS_BATCH_JOB_ARRAY_INDEX",
    ] {
        assert!(err.contains(var), "{err}");
    }
}

#[test]
fn a_tiny_memory_limit_serialises_big_images_without_deadlock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    for i in 0..8 {
        common::put(
            &dir,
            &format!("big{i}.png"),
            &common::encode(&common::photo(900, 700), image::ImageFormat::Png),
        );
    }
    // Each image is charged about 5.7 MB: with 1M, every image must wait to run alone.
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "-j",
        "4",
        "--memory-limit",
        "1M",
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(snapshot(&out).len(), 8);
    let capped = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&tmp.path().join("capped")),
        "--max-file-size",
        "1K",
        "--report",
        s(&tmp.path().join("capped.json")),
    ]);
    assert_eq!(capped.status.code(), Some(1));
    let report = read_report(&tmp.path().join("capped.json"));
    let reason = report["files"][0]["error"]
        .as_str()
        .expect("a reason")
        .to_owned();
    assert!(
        reason.contains("over the 1.0 KiB file size limit"),
        "{reason}"
    );
    assert_eq!(report["files"][0]["error_kind"], "too_large");
    let bad = conveyor(&["run", s(&dir), "--out", s(&out), "--memory-limit", "lots"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn bad_arguments_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["run", "--out", "x"],
        vec!["run", s(tmp.path()), "--out", "x", "--resize", "fit:ax3"],
        vec!["run", s(tmp.path()), "--out", "x", "--quality", "0"],
        vec!["run", s(tmp.path()), "--out", "x", "--shard", "3/2"],
        vec!["run", s(tmp.path()), "--out", "x", "--name", "{bogus}"],
        vec!["run", "/definitely/not/here", "--out", "x"],
    ] {
        let run = conveyor(&args);
        assert_eq!(
            run.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(!run.stderr.is_empty(), "{args:?} says why");
    }
}

#[cfg(unix)]
#[test]
fn odd_names_and_special_files_do_not_stop_the_batch() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let png = common::encode(&common::photo(40, 30), image::ImageFormat::Png);
    common::put(&dir, "ok.png", &png);
    common::put(&dir, "really-a-png.jpg", &png);
    let odd = dir.join(std::ffi::OsStr::from_bytes(b"caf\xe9.png"));
    std::fs::write(&odd, &png).expect("write non-UTF-8 name");
    let fifo = dir.join("pipe.jpg");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink(&dir, dir.join("loop")).expect("symlink loop");
    let r = tmp.path().join("r.csv");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "webp",
        "--report",
        s(&r),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.join("ok.webp").exists());
    assert!(
        out.join("really-a-png.webp").exists(),
        "decoded by content, not by name"
    );
    assert!(
        out.join(std::ffi::OsStr::from_bytes(b"caf\xe9.webp"))
            .exists()
    );
    let csv = std::fs::read_to_string(&r).expect("csv report");
    let pipe_line = csv
        .lines()
        .find(|l| l.contains("pipe.jpg"))
        .expect("FIFO reported");
    assert!(
        pipe_line.contains("skipped") && pipe_line.contains("FIFO"),
        "{pipe_line}"
    );
    assert!(csv.starts_with("input,output,status,error"));
}

#[cfg(unix)]
#[test]
fn sigint_stops_cleanly_with_exit_130_and_a_rerun_resumes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let n = 150;
    for i in 0..n {
        common::put(
            &dir,
            &format!("p{i:03}.png"),
            &common::encode(&common::photo(480 + i, 360), image::ImageFormat::Png),
        );
    }
    let r = tmp.path().join("r.json");
    let args = [
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "-j",
        "1",
        "--report",
        s(&r),
    ];
    let mut child = common::command()
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start conveyor");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while snapshot(&out).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no output appeared");
        assert!(
            child.try_wait().expect("poll").is_none(),
            "finished before it could be interrupted"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    let written = snapshot(&out);
    assert!(written.len() < n as usize, "the batch stopped early");
    for (name, bytes) in &written {
        assert!(
            !name.to_string_lossy().contains(".conveyor-"),
            "temporary file left: {name:?}"
        );
        image::load_from_memory(bytes).expect("every output present is whole");
    }
    let report = read_report(&r);
    assert!(
        report["summary"]["cancelled"]
            .as_u64()
            .is_some_and(|c| c > 0)
    );
    assert_eq!(report["summary"]["total"], n);

    let again = conveyor(&args);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        snapshot(&out).len(),
        n as usize,
        "the re-run completed the batch"
    );
    assert_eq!(
        read_report(&r)["summary"]["skipped"].as_u64(),
        Some(written.len() as u64)
    );
}

/// `conveyor completions SHELL` and `conveyor man` are generated from the parser's own
/// definitions: every subcommand and every long option of each is in them.
#[test]
fn completions_and_man_pages_know_every_command_and_option() {
    use clap::CommandFactory;
    let cli = conveyor::cli::Cli::command();
    let commands: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    assert!(commands.len() >= 4, "{commands:?}");
    let options: BTreeSet<String> = cli
        .get_subcommands()
        .flat_map(|c| c.get_arguments().filter_map(|a| a.get_long()))
        .map(str::to_owned)
        .collect();
    assert!(options.contains("quality") && options.contains("memory-limit"));

    for shell in ["bash", "zsh", "fish"] {
        let out = conveyor(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell} completes {c}");
        }
        for o in &options {
            assert!(script.contains(o.as_str()), "{shell} completes --{o}");
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let out = conveyor(&["man", "--dir", s(tmp.path())]);
    assert!(out.status.success(), "{out:?}");
    let pages: String = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for c in &commands {
        assert!(
            tmp.path().join(format!("conveyor-{c}.1")).is_file(),
            "a page for {c}"
        );
    }
    for o in &options {
        // roff writes each hyphen of an option as \-.
        let roff = format!("\\-\\-{}", o.replace('-', "\\-"));
        assert!(pages.contains(&roff), "the man pages describe --{o}");
    }
    let version = conveyor(&["--version"]);
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")) && version.contains("optional codecs"),
        "{version}"
    );
    let page = conveyor(&["man"]);
    assert!(page.status.success());
    assert!(String::from_utf8_lossy(&page.stdout).contains(".TH conveyor"));
}

/// Outputs and the report are created like any other tool's files: mode 0666 less the umask
/// (0644 under umask 022), so a web server can read them.
#[cfg(unix)]
#[test]
fn outputs_and_the_report_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out, report) = (
        tmp.path().join("in"),
        tmp.path().join("out"),
        tmp.path().join("r.json"),
    );
    common::put(
        &dir,
        "p.png",
        &common::encode(&common::photo(30, 20), image::ImageFormat::Png),
    );
    let script = format!(
        "umask 022; exec '{}' run '{}' --out '{}' --format jpeg --report '{}'",
        common::bin(),
        s(&dir),
        s(&out),
        s(&report)
    );
    let run = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(run.status.success(), "{run:?}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out.join("p.jpg")), 0o644, "output");
    assert_eq!(mode(&report), 0o644, "report");
}

/// The report is written like an output: a symlink planted at its path (or at the fixed
/// temporary name older versions used) is replaced, never followed, so its target is untouched.
#[cfg(unix)]
#[test]
fn the_report_replaces_a_planted_symlink_instead_of_following_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    common::put(
        &dir,
        "p.png",
        &common::encode(&common::photo(30, 20), image::ImageFormat::Png),
    );
    let victim = tmp.path().join("precious.txt");
    std::fs::write(&victim, b"do not touch").unwrap();
    let report = tmp.path().join("r.json");
    std::os::unix::fs::symlink(&victim, &report).unwrap();
    std::os::unix::fs::symlink(&victim, tmp.path().join("r.conveyor-tmp")).unwrap();
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--report", s(&report)]);
    assert!(run.status.success(), "{run:?}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"do not touch");
    let meta = std::fs::symlink_metadata(&report).unwrap();
    assert!(meta.file_type().is_file(), "the report is a file now");
    assert_eq!(read_report(&report)["summary"]["ok"], 1);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".conveyor-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Every output is synced before its rename and its folder after it (what makes a power cut
/// leave whole files or none): strace sees at least one fsync per output and the folder's.
#[test]
#[ignore = "needs strace (apt-get install strace)"]
fn every_output_and_its_folder_are_fsynced() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    for i in 0..5 {
        common::put(
            &dir,
            &format!("p{i}.png"),
            &common::encode(&common::photo(30, 20), image::ImageFormat::Png),
        );
    }
    let trace = tmp.path().join("trace.txt");
    let run = Command::new("strace")
        .args(["-f", "-y", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(common::bin())
        .args(["run", s(&dir), "--out", s(&out), "-j", "2"])
        .output()
        .expect("strace installed");
    assert!(run.status.success(), "{run:?}");
    let trace = std::fs::read_to_string(&trace).unwrap();
    // Threads interleave, so a call may be split into "<unfinished ...>" and "resumed" lines:
    // count the calls by their first line, and check that none failed.
    let synced = |needle: &str| {
        trace
            .lines()
            .filter(|l| l.contains("fsync(") && l.contains(needle))
            .count()
    };
    assert!(!trace.contains("= -1"), "a sync failed:\n{trace}");
    assert!(
        synced(".conveyor-") >= 5,
        "each output synced before its rename:\n{trace}"
    );
    assert!(
        synced(&format!("<{}>", out.display())) >= 1,
        "the output folder synced after the renames:\n{trace}"
    );
}

/// A run removes the temporary files a killed run (kill -9, a crash) left in its output folders,
/// and never one that a live process may still be writing or a file of another naming.
#[cfg(target_os = "linux")]
#[test]
fn a_run_removes_temporaries_a_killed_run_left_and_no_others() {
    use conveyor::engine::durable::{TEMP_SUFFIX, own_prefix};
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    common::put(
        &dir,
        "p.png",
        &common::encode(&common::photo(30, 20), image::ImageFormat::Png),
    );
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    // This test's own prefix names a live process (the test); swap in the reaped one's pid.
    let live = own_prefix();
    let dead = live.replace(
        &format!("-{}-", std::process::id()),
        &format!("-{gone_pid}-"),
    );
    let stale = format!("{dead}x1{TEMP_SUFFIX}");
    let busy = format!("{live}x2{TEMP_SUFFIX}");
    for name in [&stale, &busy, &".conveyor-notes.txt".to_owned()] {
        common::put(&out, name, b"half an image");
    }
    let run = conveyor(&["run", s(&dir), "--out", s(&out)]);
    assert!(run.status.success(), "{run:?}");
    assert!(
        !out.join(&stale).exists(),
        "the killed run's temporary is gone"
    );
    assert!(out.join(&busy).exists(), "a live process's temporary stays");
    assert!(out.join(".conveyor-notes.txt").exists());
    assert!(out.join("p.png").exists());
    assert!(String::from_utf8_lossy(&run.stderr).contains("removed 1 temporary file"));
}

/// A symlinked sub-folder (`in/alias -> real`) does not convert its files twice: each file is
/// converted once, under its real path.
#[cfg(unix)]
#[test]
fn a_symlinked_sub_folder_is_converted_once_under_the_real_path() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out, r) = (
        tmp.path().join("in"),
        tmp.path().join("out"),
        tmp.path().join("r.json"),
    );
    for name in ["real/a.png", "real/b.png"] {
        common::put(
            &dir,
            name,
            &common::encode(&common::photo(30, 20), image::ImageFormat::Png),
        );
    }
    // "alias" sorts before "real": the real path must still win.
    std::os::unix::fs::symlink(dir.join("real"), dir.join("alias")).unwrap();
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--report", s(&r)]);
    assert!(run.status.success(), "{run:?}");
    let report = read_report(&r);
    let inputs: BTreeSet<String> = files_by_input(&report)
        .into_iter()
        .map(|(input, _)| input)
        .collect();
    assert_eq!(
        inputs,
        ["real/a.png", "real/b.png"]
            .iter()
            .map(|n| dir.join(n).to_string_lossy().into_owned())
            .collect::<BTreeSet<_>>()
    );
    let written: Vec<PathBuf> = snapshot(&out).into_keys().collect();
    assert_eq!(
        written,
        vec![PathBuf::from("real/a.png"), PathBuf::from("real/b.png")]
    );
}

/// Ctrl-C while the inputs are still being scanned (before any work) ends with exit 130 and a
/// report, like Ctrl-C during the batch; it used to kill the process with no report.
#[cfg(unix)]
#[test]
fn sigint_during_the_scan_exits_130_with_a_report() {
    use std::io::BufRead;
    // Thirty thousand files: in memory where there is a tmpfs (a disk makes this slow).
    let shm = Path::new("/dev/shm");
    let tmp = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let (dir, out, r) = (
        tmp.path().join("in"),
        tmp.path().join("out"),
        tmp.path().join("r.json"),
    );
    // Enough files that the walk is still going when the signal lands.
    for d in 0..300 {
        let sub = dir.join(format!("d{d:03}"));
        std::fs::create_dir_all(&sub).unwrap();
        for f in 0..100 {
            std::fs::write(sub.join(format!("f{f:03}.jpg")), b"").unwrap();
        }
    }
    let mut child = common::command()
        .args(["run", s(&dir), "--out", s(&out), "--report", s(&r)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // The handler is installed before this line is printed.
    assert!(line.contains("scanning"), "{line}");
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut all);
        all
    });
    let status = child.wait().unwrap();
    let said = rest.join().unwrap();
    assert_eq!(status.code(), Some(130), "{said}");
    let report = read_report(&r);
    assert_eq!(report["summary"]["ok"], 0, "{said}");
    assert!(
        report["summary"]["cancelled"].as_u64().unwrap() > 0
            || report["summary"]["total"].as_u64() == Some(0),
        "{}",
        report["summary"]
    );
}

/// The report's record for the input whose path ends in `name`.
fn record_for(report: &Value, name: &str) -> Value {
    files_by_input(report)
        .into_iter()
        .find(|(i, _)| i.ends_with(name))
        .map(|(_, f)| f)
        .unwrap_or_else(|| panic!("no record for {name}: {report}"))
}

fn size_of(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).expect("an output our decoder reads")
}

/// #10 finding 2 and acceptance 3: resume follows the journal, not whether a path exists.
/// Run 1 converts `pic.tiff` → `pic.jpg`; `pic.bmp` is added; run 2 used to report
/// `pic.bmp → pic.jpg skipped (exists)`, convert `pic.tiff` again into `pic-1.jpg` and never
/// convert `pic.bmp`. A recipe change redoes every output; a truncated output is redone; a file
/// the user put in the way is left alone and said to be theirs.
#[test]
fn resume_is_decided_by_the_journal_not_by_which_paths_exist() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let r = tmp.path().join("r.json");
    common::put(
        &dir,
        "pic.tiff",
        &common::encode(&common::photo(64, 48), image::ImageFormat::Tiff),
    );
    let run = |quality: &str| {
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--format",
            "jpeg",
            "--quality",
            quality,
            "--report",
            s(&r),
        ]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        read_report(&r)
    };
    let first = run("80");
    assert_eq!(record_for(&first, "pic.tiff")["status"], "ok");
    let journal = out.join(".conveyor-journal.jsonl");
    assert!(journal.is_file(), "the journal is in the output folder");
    let from_tiff = std::fs::read(out.join("pic.jpg")).expect("pic.jpg");

    // A new input whose natural name is taken by another input's earlier output.
    common::put(
        &dir,
        "pic.bmp",
        &common::encode(&common::photo(40, 30), image::ImageFormat::Bmp),
    );
    let second = run("80");
    let tiff = record_for(&second, "pic.tiff");
    assert_eq!(tiff["status"], "skipped", "{tiff}");
    assert!(
        tiff["error"]
            .as_str()
            .unwrap()
            .starts_with("already converted"),
        "{tiff}"
    );
    let bmp = record_for(&second, "pic.bmp");
    assert_eq!(bmp["status"], "ok", "{bmp}");
    assert!(
        bmp["output"].as_str().unwrap().ends_with("pic-1.jpg"),
        "{bmp}"
    );
    assert_eq!(std::fs::read(out.join("pic.jpg")).unwrap(), from_tiff);
    assert_eq!(size_of(&out.join("pic.jpg")), (64, 48));
    assert_eq!(size_of(&out.join("pic-1.jpg")), (40, 30));

    // Same recipe again: nothing to do.
    let third = run("80");
    assert_eq!(third["summary"]["skipped"], 2, "{third}");

    // Another recipe: a new batch over our own outputs, redone in place under the same names.
    let fourth = run("50");
    assert_eq!(fourth["summary"]["ok"], 2, "{fourth}");
    assert_ne!(std::fs::read(out.join("pic.jpg")).unwrap(), from_tiff);
    assert_eq!(size_of(&out.join("pic.jpg")), (64, 48));
    assert_eq!(size_of(&out.join("pic-1.jpg")), (40, 30));

    // A truncated output (a crash on a file system without the sync, a user's mistake) is
    // ours but no longer matches: redone.
    std::fs::write(out.join("pic-1.jpg"), b"").expect("truncate");
    let fifth = run("50");
    assert_eq!(record_for(&fifth, "pic.bmp")["status"], "ok");
    assert_eq!(record_for(&fifth, "pic.tiff")["status"], "skipped");
    assert_eq!(size_of(&out.join("pic-1.jpg")), (40, 30));

    // A file Conveyor did not make, in the way of a new input: left alone, and said so.
    common::put(
        &dir,
        "new.png",
        &common::encode(&common::photo(20, 10), image::ImageFormat::Png),
    );
    std::fs::write(out.join("new.jpg"), b"the user's own file").expect("plant");
    let sixth = run("50");
    let new = record_for(&sixth, "new.png");
    assert_eq!(new["status"], "skipped");
    assert!(
        new["error"]
            .as_str()
            .unwrap()
            .contains("not made by Conveyor"),
        "{new}"
    );
    assert_eq!(
        std::fs::read(out.join("new.jpg")).unwrap(),
        b"the user's own file"
    );

    // A damaged journal is never trusted blindly: its unreadable lines count as unknown.
    std::fs::write(&journal, b"{not json\n").expect("damage");
    let seventh = run("50");
    assert_eq!(seventh["summary"]["ok"], 0, "{seventh}");
    let tiff = record_for(&seventh, "pic.tiff");
    assert!(
        tiff["error"]
            .as_str()
            .unwrap()
            .contains("not made by Conveyor"),
        "{tiff}"
    );
}

/// #10 finding 2: with `--name 'img-{n}'`, adding one file shifted every later number, and each
/// later output then counted as done for the wrong input. Numbers stay with their inputs.
#[test]
fn numbered_names_stay_with_the_inputs_they_were_first_given_to() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let r = tmp.path().join("r.json");
    let put = |name: &str, w: u32| {
        common::put(
            &dir,
            name,
            &common::encode(&common::photo(w, 10), image::ImageFormat::Png),
        );
    };
    put("a.png", 11);
    put("c.png", 13);
    let run = || {
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--name",
            "img-{n}",
            "--report",
            s(&r),
        ]);
        assert_eq!(run.status.code(), Some(0));
        read_report(&r)
    };
    run();
    assert_eq!(size_of(&out.join("img-1.png")).0, 11);
    assert_eq!(size_of(&out.join("img-2.png")).0, 13);
    put("b.png", 12);
    let second = run();
    assert_eq!(record_for(&second, "a.png")["status"], "skipped");
    assert_eq!(record_for(&second, "c.png")["status"], "skipped");
    let b = record_for(&second, "b.png");
    assert_eq!(b["status"], "ok");
    let b_out = PathBuf::from(b["output"].as_str().unwrap());
    assert_eq!(size_of(&b_out).0, 12);
    assert_eq!(size_of(&out.join("img-1.png")).0, 11);
    assert_eq!(size_of(&out.join("img-2.png")).0, 13, "c keeps img-2");
    let third = run();
    assert_eq!(third["summary"]["skipped"], 3, "{third}");
}

/// #10 finding 9: two shards started together with `--on-exist rename` used to pick the same
/// free name (one then failed "another file appeared"). Both finish and every input has its own
/// output.
#[test]
fn concurrent_shards_with_rename_never_clash() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    for i in 0..8 {
        let img = common::photo(30 + i, 20);
        common::put(
            &dir,
            &format!("p{i}.png"),
            &common::encode(&img, image::ImageFormat::Png),
        );
        common::put(
            &dir,
            &format!("p{i}.gif"),
            &common::encode(&img, image::ImageFormat::Gif),
        );
        common::put(&out, &format!("p{i}.jpg"), b"theirs");
        common::put(&out, &format!("p{i}-1.jpg"), b"theirs");
    }
    let children: Vec<_> = ["1/2", "2/2"]
        .iter()
        .map(|shard| {
            let r = tmp.path().join(format!("r{}.json", &shard[..1]));
            let child = common::command()
                .args([
                    "run",
                    s(&dir),
                    "--out",
                    s(&out),
                    "--format",
                    "jpeg",
                    "--on-exist",
                    "rename",
                    "--shard",
                    shard,
                    "--report",
                    s(&r),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start a shard");
            (child, r)
        })
        .collect();
    let mut converted = 0;
    for (child, r) in children {
        let done = child.wait_with_output().expect("wait");
        assert_eq!(
            done.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        converted += read_report(&r)["summary"]["ok"].as_u64().unwrap();
    }
    assert_eq!(converted, 16);
    let written = snapshot(&out);
    assert_eq!(written.len(), 32, "16 planted files and 16 outputs");
    assert_eq!(
        written
            .values()
            .filter(|b| b.as_slice() == b"theirs")
            .count(),
        16,
        "every planted file left alone"
    );
}

/// Writes `n` JPEG photos of `w`×`h` into `dir`.
fn jpeg_photos(dir: &Path, n: usize, w: u32, h: u32) {
    let jpeg = common::encode(&common::photo(w, h), image::ImageFormat::Jpeg);
    for i in 0..n {
        common::put(dir, &format!("photo_{i:02}.jpg"), &jpeg);
    }
}

const THREE_OUTPUTS: &str = r#"
# The web developer's recipe: two WebP sizes and a JPEG fallback.
[[output]]
subfolder = "480"
resize = "fit:480x480"
format = "webp"

[[output]]
subfolder = "1920"
resize = "fit:1920x1920"
format = "webp"
quality = 80

[[output]]
subfolder = "1920"
resize = "fit:1920x1920"
format = "jpeg"
"#;

/// Acceptance 1 of the recipes issue: three outputs from each of 40 photos, each at its size
/// and format, one report record per output with its index and name, the summary counting
/// inputs and outputs. 120 outputs from 2400×1600 photos take minutes unoptimised, so `.ci/run`
/// runs this in its release stage; the plan test `several_outputs_share_one_decode_per_input`
/// covers the same path on small images in every build.
#[test]
#[ignore = "needs the optimised build (cargo test --release): 120 large outputs"]
fn a_recipe_with_three_outputs_writes_three_files_per_photo() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    jpeg_photos(&input, 40, 2400, 1600);
    let recipe = tmp.path().join("web.toml");
    std::fs::write(&recipe, THREE_OUTPUTS).unwrap();
    let report = tmp.path().join("report.json");
    let run = conveyor(&[
        "run",
        s(&input),
        "--out",
        s(&out),
        "--recipe",
        s(&recipe),
        "--report",
        s(&report),
        "-j",
        "2",
        "-q",
    ]);
    assert!(run.status.success(), "{run:?}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("of 120 outputs of 40 inputs"), "{stdout}");
    let files = snapshot(&out);
    assert_eq!(files.len(), 120, "{:?}", files.keys().collect::<Vec<_>>());
    for i in 0..40 {
        for (rel, format, size) in [
            (
                format!("480/photo_{i:02}.webp"),
                image::ImageFormat::WebP,
                (480, 320),
            ),
            (
                format!("1920/photo_{i:02}.webp"),
                image::ImageFormat::WebP,
                (1920, 1280),
            ),
            (
                format!("1920/photo_{i:02}.jpg"),
                image::ImageFormat::Jpeg,
                (1920, 1280),
            ),
        ] {
            let bytes = files
                .get(Path::new(&rel))
                .unwrap_or_else(|| panic!("{rel} missing"));
            let img = image::load_from_memory_with_format(bytes, format).expect(&rel);
            assert_eq!((img.width(), img.height()), size, "{rel}");
        }
    }
    let report = read_report(&report);
    assert_eq!(report["summary"]["inputs"], 40);
    assert_eq!(report["summary"]["total"], 120);
    assert_eq!(report["summary"]["ok"], 120);
    let records = report["files"].as_array().unwrap();
    let names: BTreeSet<(u64, String)> = records
        .iter()
        .map(|r| {
            (
                r["output_index"].as_u64().unwrap(),
                r["output_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let jpeg_ext = image::ImageFormat::Jpeg.extensions_str()[0];
    assert_eq!(
        names,
        BTreeSet::from([
            (0, "480/{stem}.webp".to_owned()),
            (1, "1920/{stem}.webp".to_owned()),
            (2, format!("1920/{{stem}}.{jpeg_ext}")),
        ])
    );
    // The quality set for one output is that output's alone.
    let quality = |idx: u64| {
        records
            .iter()
            .find(|r| r["output_index"] == idx)
            .map(|r| r["quality"].as_u64())
    };
    assert_eq!(quality(0), Some(Some(85)));
    assert_eq!(quality(1), Some(Some(80)));
}

/// Acceptance 3: bad recipe files are refused with one line naming the file and line, exit 2,
/// and nothing is written.
#[test]
fn bad_recipe_files_exit_2_with_the_file_and_line_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    jpeg_photos(&input, 2, 64, 48);
    let cases = [
        (
            "unknown.toml",
            "[[output]]\nformat = \"webp\"\nsharpen = 3\n",
            "unknown.toml:3:",
        ),
        (
            "type.toml",
            "[[output]]\nquality = \"high\"\n",
            "type.toml:2:",
        ),
        (
            "collide.toml",
            "[[output]]\nresize = \"fit:10x10\"\n\n[[output]]\nresize = \"fit:20x20\"\n",
            "collide.toml:4:",
        ),
        ("empty.toml", "# no outputs\n", "empty.toml:"),
    ];
    for (name, text, prefix) in cases {
        let file = tmp.path().join(name);
        std::fs::write(&file, text).unwrap();
        let out = tmp.path().join(format!("out-{name}"));
        for args in [
            vec!["run", s(&input), "--out", s(&out), "--recipe", s(&file)],
            vec!["recipe", "check", s(&file)],
        ] {
            let run = conveyor(&args);
            assert_eq!(run.status.code(), Some(2), "{name}: {run:?}");
            let stderr = String::from_utf8_lossy(&run.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{name}: one line: {stderr}");
            assert!(
                lines[0].contains(&format!("{}", tmp.path().join(prefix).display())),
                "{name}: {stderr}"
            );
            assert!(!out.exists(), "{name}: nothing is written");
        }
    }
}

/// `recipe show` turns a command line into a file that `run --recipe` runs to the same bytes,
/// and options given beside `--recipe` override the file's values.
#[test]
fn recipe_show_turns_a_command_line_into_an_equivalent_file() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    jpeg_photos(&input, 3, 640, 480);
    let flags = [
        "--resize",
        "fit:200x200",
        "--format",
        "webp",
        "--quality",
        "70",
    ];
    let show = conveyor(&[&["recipe", "show"][..], &flags].concat());
    assert!(show.status.success(), "{show:?}");
    let file = tmp.path().join("shown.toml");
    std::fs::write(&file, &show.stdout).unwrap();
    let check = conveyor(&["recipe", "check", s(&file)]);
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("quality 70"));

    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let by_flags = conveyor(&[&["run", s(&input), "--out", s(&a), "-q"][..], &flags].concat());
    let by_file = conveyor(&["run", s(&input), "--out", s(&b), "-q", "--recipe", s(&file)]);
    assert!(by_flags.status.success() && by_file.status.success());
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    assert_eq!(sa.len(), 3);
    assert_eq!(sa, sb, "the file makes the same outputs as the flags");
    // A flag beside the file wins over the file's value.
    let overridden = conveyor(&[
        "run",
        s(&input),
        "--out",
        s(&c),
        "-q",
        "--recipe",
        s(&file),
        "--quality",
        "30",
    ]);
    assert!(overridden.status.success());
    let sc = snapshot(&c);
    assert_eq!(sc.keys().collect::<Vec<_>>(), sa.keys().collect::<Vec<_>>());
    let total =
        |m: &std::collections::BTreeMap<PathBuf, Vec<u8>>| m.values().map(Vec::len).sum::<usize>();
    assert!(total(&sc) < total(&sa), "quality 30 makes smaller files");
}

/// Acceptance 2: `--keep-dates` gives outputs their input's modification time, and
/// `strip-location` removes the GPS position (as exiftool, an independent reader, sees it)
/// while Make, Model, DateTimeOriginal and the ICC profile stay.
#[test]
#[ignore = "needs exiftool (apt-get install libimage-exiftool-perl)"]
fn keep_dates_and_strip_location_as_exiftool_sees_them() {
    let exiftool = |args: &[&str]| {
        let out = Command::new("exiftool")
            .args(args)
            .output()
            .expect("run exiftool");
        assert!(out.status.success(), "exiftool {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    // A JPEG with a (stand-in) ICC profile, then camera, date and GPS tags written by exiftool.
    let mut icc: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    icc[0..4].copy_from_slice(&3000u32.to_be_bytes());
    icc[36..40].copy_from_slice(b"acsp");
    let plain = common::encode(&common::photo(800, 600), image::ImageFormat::Jpeg);
    let app2 = [b"ICC_PROFILE\0\x01\x01".as_slice(), &icc].concat();
    let photo = common::put(
        &input,
        "trip.jpg",
        &common::with_segments(&plain, &[(0xE2, &app2)]),
    );
    exiftool(&[
        "-q",
        "-overwrite_original",
        "-Make=Canon",
        "-Model=EOS R6",
        "-DateTimeOriginal=2024:05:01 10:00:00",
        "-GPSLatitude=48.8584",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=2.2945",
        "-GPSLongitudeRef=E",
        "-GPSAltitude=35",
        s(&photo),
    ]);
    assert!(exiftool(&["-s", "-GPSLatitude", s(&photo)]).contains("48"));
    // An old date, so "now" cannot pass for it.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    std::fs::File::options()
        .write(true)
        .open(&photo)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let recipe = tmp.path().join("share.toml");
    std::fs::write(
        &recipe,
        "[[output]]\nresize = \"long:400\"\nformat = \"jpeg\"\nmetadata = \"strip-location\"\n\
         keep_dates = true\n\n[[output]]\nsubfolder = \"full\"\nformat = \"webp\"\n\
         metadata = \"strip-location\"\n\n[[output]]\nsubfolder = \"kept\"\n",
    )
    .unwrap();
    let run = conveyor(&[
        "run",
        s(&input),
        "--out",
        s(&out),
        "-q",
        "--recipe",
        s(&recipe),
    ]);
    assert!(run.status.success(), "{run:?}");
    let small = out.join("trip.jpg");
    let webp = out.join("full/trip.webp");
    let kept = out.join("kept/trip.jpg");
    assert_eq!(std::fs::metadata(&small).unwrap().modified().unwrap(), old);
    assert_ne!(std::fs::metadata(&webp).unwrap().modified().unwrap(), old);
    for file in [&small, &webp] {
        let tags = exiftool(&["-a", "-G1", "-s", s(file)]);
        assert!(!tags.contains("[GPS]"), "{}: {tags}", file.display());
        assert!(!tags.contains("GPSLatitude"), "{}: {tags}", file.display());
        for want in ["Make", "Model", "DateTimeOriginal"] {
            assert!(
                tags.contains(want),
                "{}: {want} missing: {tags}",
                file.display()
            );
        }
        let profile = Command::new("exiftool")
            .args(["-b", "-ICC_Profile", s(file)])
            .output()
            .unwrap();
        assert_eq!(
            profile.stdout,
            icc,
            "{}: the ICC profile stays",
            file.display()
        );
    }
    // The output with the default metadata mode keeps the position.
    assert!(exiftool(&["-s", "-GPSLatitude", s(&kept)]).contains("48"));
    // With the --keep-dates flag, the flag applies to every output.
    let out2 = tmp.path().join("out2");
    let run = conveyor(&[
        "run",
        s(&input),
        "--out",
        s(&out2),
        "-q",
        "--recipe",
        s(&recipe),
        "--keep-dates",
    ]);
    assert!(run.status.success(), "{run:?}");
    for rel in ["trip.jpg", "full/trip.webp", "kept/trip.jpg"] {
        let t = std::fs::metadata(out2.join(rel))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(t, old, "{rel}");
    }
}

/// The journal works per output: re-running a two-output recipe skips every output as already
/// converted, and changing one output's quality redoes only that output, in place.
#[test]
fn rerunning_a_recipe_resumes_per_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    jpeg_photos(&input, 3, 320, 240);
    let recipe = tmp.path().join("two.toml");
    let two = |quality: u8| {
        format!(
            "[[output]]\nresize = \"fit:100x100\"\nname = \"{{stem}}-{{w}}\"\n\n[[output]]\n\
             resize = \"fit:200x200\"\nname = \"{{stem}}-{{w}}\"\nquality = {quality}\n"
        )
    };
    let run = |report: &Path| {
        let r = conveyor(&[
            "run",
            s(&input),
            "--out",
            s(&out),
            "-q",
            "--recipe",
            s(&recipe),
            "--report",
            s(report),
        ]);
        assert!(r.status.success(), "{r:?}");
        read_report(report)
    };
    std::fs::write(&recipe, two(85)).unwrap();
    let first = run(&tmp.path().join("1.json"));
    assert_eq!(first["summary"]["ok"], 6);
    let names: BTreeSet<String> = snapshot(&out)
        .keys()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains("photo_00-100.jpg") && names.contains("photo_00-200.jpg"),
        "{names:?}"
    );
    let again = run(&tmp.path().join("2.json"));
    assert_eq!(again["summary"]["skipped"], 6, "{again}");
    for f in again["files"].as_array().unwrap() {
        assert!(
            f["error"]
                .as_str()
                .unwrap()
                .starts_with("already converted"),
            "{f}"
        );
    }
    std::fs::write(&recipe, two(40)).unwrap();
    let changed = run(&tmp.path().join("3.json"));
    for f in changed["files"].as_array().unwrap() {
        match f["output_index"].as_u64().unwrap() {
            0 => assert_eq!(f["status"], "skipped", "{f}"),
            _ => {
                assert_eq!(f["status"], "ok", "{f}");
                assert!(
                    f["note"].as_str().unwrap().starts_with("redone in place"),
                    "{f}"
                );
                assert!(f["output"].as_str().unwrap().ends_with("-200.jpg"), "{f}");
            }
        }
    }
    assert_eq!(snapshot(&out).len(), 6, "redone in place, nothing added");
}

/// #17 item 7 on the command line: a file given as `--out` is one clear error before the scan
/// (exit 2), not one raw error per image.
#[test]
fn a_file_given_as_the_output_folder_is_one_error_before_the_scan() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    mixed_folder(&dir);
    let file = tmp.path().join("out.txt");
    std::fs::write(&file, b"notes").expect("write");
    let before = snapshot(tmp.path());
    let run = conveyor(&["run", s(&dir), "--out", s(&file)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a file, not a folder"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "said once: {stderr}");
    assert_eq!(snapshot(tmp.path()), before, "nothing written");
}

/// #11: `--lossless` asked of a format Conveyor cannot write losslessly (JPEG in every build;
/// AVIF without the `aom` feature, since rav1e has no lossless mode) is one clear error, not a
/// quietly lossy file.
#[test]
fn lossless_is_refused_for_formats_this_build_cannot_write_losslessly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    mixed_folder(&dir);
    let mut refused = vec![("jpeg", "cannot write JPEG losslessly")];
    if cfg!(not(feature = "aom")) {
        refused.push((
            "avif",
            "cannot write AVIF losslessly (that needs the `aom` feature",
        ));
    }
    for (format, says) in refused {
        let out = tmp.path().join(format);
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--format",
            format,
            "--lossless",
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{format}: {stderr}");
        assert!(stderr.contains(says), "{format}: {stderr}");
        assert!(!out.exists(), "{format}: nothing written");
    }
}

/// #36: journals written before recipe options were declared once hold the old fingerprint
/// (FNV-1a of `Debug` text). Their outputs stay vouched for after the upgrade; a fingerprint
/// that is neither old nor new is another recipe, and its output is redone.
#[test]
fn a_journal_written_the_old_way_keeps_vouching_for_its_outputs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    for name in ["a.png", "b.png"] {
        common::put(
            &dir,
            name,
            &common::encode(&common::photo(40, 30), image::ImageFormat::Png),
        );
    }
    let report = tmp.path().join("r.json");
    let run = || {
        let run = conveyor(&[
            "run",
            s(&dir),
            "--out",
            s(&out),
            "--format",
            "jpeg",
            "--report",
            s(&report),
            "-q",
        ]);
        assert_eq!(run.status.code(), Some(0), "{run:?}");
        read_report(&report)
    };
    assert_eq!(run()["summary"]["ok"], 2);
    // Rewrite the journal as version 0.1 wrote it: the default recipe to JPEG had the
    // fingerprint FNV-1a("v1 jpeg None Lanczos3 q85 lossless=false S420 Rgb([255, 255, 255])
    // Keep upscale=false"), computed outside Conveyor. b.png's entry gets one no version wrote.
    let journal = out.join(".conveyor-journal.jsonl");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut entry: Value = serde_json::from_str(line).expect("a journal line");
        let old = if entry["output"] == "a.jpg" {
            "1a4217c5f9a06e86"
        } else {
            "0123456789abcdef"
        };
        entry["recipe"] = Value::String(old.into());
        lines.push(entry.to_string());
    }
    std::fs::write(&journal, lines.join("\n") + "\n").expect("rewrite the journal");
    let again = run();
    let files = files_by_input(&again);
    let status = |name: &str| {
        files
            .iter()
            .find(|(input, _)| input.ends_with(name))
            .map(|(_, f)| (f["status"].clone(), f["note"].clone()))
            .expect("a record")
    };
    assert_eq!(status("a.png").0, "skipped", "{again}");
    assert_eq!(status("b.png").0, "ok", "{again}");
    assert!(
        status("b.png")
            .1
            .as_str()
            .unwrap_or("")
            .contains("another recipe"),
        "{again}"
    );
}

/// #37 item 18: `completions zsh | head -3` ends quietly (it panicked with a broken pipe); bash
/// completion offers the formats, metadata modes and policies, not file names; `run --help`
/// shows the `{n}` token (clap turns the bare text into a line break), and the token pasted from
/// the help works.
#[test]
fn completions_and_help_are_right_for_shells_and_people() {
    use std::io::BufRead;
    let mut child = common::command()
        .args(["completions", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    {
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        for _ in 0..3 {
            lines.next().expect("a line").expect("text");
        }
    } // the reader goes, as `head -3` does
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let bash = conveyor(&["completions", "bash"]);
    let script = String::from_utf8_lossy(&bash.stdout);
    for (flag, words) in [
        ("--format", "keep jpeg png webp avif"),
        ("--metadata", "keep strip"),
        ("--on-exist", "skip overwrite rename"),
    ] {
        let at = script
            .find(&format!("{flag})"))
            .unwrap_or_else(|| panic!("{flag} in the bash script"));
        let case = &script[at..at + 200];
        assert!(case.contains(words), "{flag}: {case}");
    }

    let help = conveyor(&["run", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout).replace('\u{2060}', "");
    assert!(text.contains("{stem} {ext} {w} {h} {n}"), "{text}");
    let tmp = tempfile::tempdir().expect("tmp");
    common::put(
        tmp.path(),
        "in/a.png",
        &common::encode(&common::photo(20, 10), image::ImageFormat::Png),
    );
    let out = tmp.path().join("out");
    let pasted = "{\u{2060}n}-{stem}";
    let run = conveyor(&[
        "run",
        s(&tmp.path().join("in")),
        "--out",
        s(&out),
        "--name",
        pasted,
    ]);
    assert!(run.status.success());
    assert!(out.join("1-a.png").exists());
}

/// #37 item 12: files are planned, converted, numbered and reported in natural order (IMG_2
/// before IMG_12 before IMG_100), as the window lists them, not in byte order.
#[test]
fn files_go_in_natural_order_everywhere() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let names = ["IMG_100", "IMG_104", "IMG_12", "IMG_2", "img_3"];
    for n in names {
        common::put(
            &dir,
            &format!("{n}.png"),
            &common::encode(&common::photo(20, 10), image::ImageFormat::Png),
        );
    }
    let natural = ["IMG_2", "img_3", "IMG_12", "IMG_100", "IMG_104"];
    let out = tmp.path().join("out");
    let dry = conveyor(&["run", s(&dir), "--out", s(&out), "--dry-run"]);
    let listed: Vec<String> = String::from_utf8_lossy(&dry.stdout)
        .lines()
        .filter_map(|l| l.split(" → ").next())
        .filter_map(|p| {
            Path::new(p)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .filter(|s| s.to_lowercase().starts_with("img_"))
        .collect();
    assert_eq!(listed, natural, "the dry run's order");
    let r = tmp.path().join("r.json");
    let run = conveyor(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "-j",
        "1",
        "--name",
        "{n}-{stem}",
        "--report",
        s(&r),
    ]);
    assert!(run.status.success());
    let report = read_report(&r);
    let reported: Vec<String> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            Path::new(f["input"].as_str().expect("input"))
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(reported, natural, "the report's order");
    for (i, n) in natural.iter().enumerate() {
        assert!(
            out.join(format!("{}-{n}.png", i + 1)).exists(),
            "{n} is number {}",
            i + 1
        );
    }
}

/// #37 item 15: with the format kept, an output keeps its input's spelling of the extension
/// (`tall-scan.tiff` became `tall-scan.tif` without a word); a chosen format uses its own.
#[test]
fn a_kept_format_keeps_the_inputs_extension() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    common::put(
        &dir,
        "tall-scan.tiff",
        &common::encode(&common::photo(20, 40), image::ImageFormat::Tiff),
    );
    common::put(
        &dir,
        "photo.JPEG",
        &common::encode(&common::photo(30, 20), image::ImageFormat::Jpeg),
    );
    let kept = tmp.path().join("kept");
    assert!(
        conveyor(&["run", s(&dir), "--out", s(&kept)])
            .status
            .success()
    );
    let names: BTreeSet<String> = common::snapshot(&kept)
        .keys()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["photo.jpeg".to_owned(), "tall-scan.tiff".to_owned()])
    );
    let jpeg = tmp.path().join("jpeg");
    assert!(
        conveyor(&["run", s(&dir), "--out", s(&jpeg), "--format", "jpeg"])
            .status
            .success()
    );
    assert!(jpeg.join("photo.jpg").exists() && jpeg.join("tall-scan.jpg").exists());
}
