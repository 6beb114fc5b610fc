//! The second security review's findings (issue 38), each with a test that failed before its
//! fix: what sits at the journal's name, huge journals, recipes that name Conveyor's own files,
//! a kill at any moment, names that are not UTF-8.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common::{self, conveyor, s};

use std::fs;
use std::path::Path;
use std::process::Command;

fn two_photos(dir: &Path) {
    for i in 0..2 {
        common::put(
            dir,
            &format!("p{i}.png"),
            &common::encode(&common::photo(48, 32), image::ImageFormat::Png),
        );
    }
}

/// `conveyor args…` under `timeout`, so a run that would block forever fails the test instead
/// of hanging it: its exit code (124 when it had to be killed) and stderr.
fn run_within(seconds: u32, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("timeout")
        .arg("-s")
        .arg("KILL")
        .arg(seconds.to_string())
        .arg(common::bin())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn a_pipe_at_the_journals_name_is_refused_at_once_not_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    two_photos(&dir);
    fs::create_dir_all(&out).unwrap();
    let fifo = out.join(".conveyor-journal.jsonl");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for dry in [false, true] {
        let mut args = vec!["run", s(&dir), "--out", s(&out), "--format", "jpeg"];
        if dry {
            args.push("--dry-run");
        }
        let (code, stderr) = run_within(30, &args);
        assert_eq!(
            code,
            Some(2),
            "refused, not blocked (dry run {dry}): {stderr}"
        );
        assert!(
            stderr.contains("is a pipe or device, where Conveyor keeps its journal"),
            "{stderr}"
        );
    }
    assert!(!out.join("p0.jpg").exists());
}

#[cfg(unix)]
#[test]
fn a_symlink_at_the_journals_name_is_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    two_photos(&dir);
    fs::create_dir_all(&out).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let journal = out.join(".conveyor-journal.jsonl");

    // A dangling link: the file it names must not be created.
    let target = elsewhere.join("x");
    std::os::unix::fs::symlink(&target, &journal).unwrap();
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "jpeg"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert!(!target.exists(), "the link's target was created");

    // A link to a file that exists: not a byte is appended to it.
    fs::remove_file(&journal).unwrap();
    let precious = elsewhere.join("notes.txt");
    fs::write(&precious, b"mine\n").unwrap();
    std::os::unix::fs::symlink(&precious, &journal).unwrap();
    let run = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "jpeg"]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(fs::read(&precious).unwrap(), b"mine\n");
    assert!(!out.join("p0.jpg").exists());
}

/// A 2 GiB journal (sparse: all zeros, no line) is read line by line, never whole: the run
/// stays near its memory limit, converts, and leaves a journal of its own lines.
#[cfg(unix)]
#[test]
fn a_huge_journal_costs_time_not_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    two_photos(&dir);
    fs::create_dir_all(&out).unwrap();
    let journal = out.join(".conveyor-journal.jsonl");
    fs::File::create(&journal)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let (status, rss) = common::run_measured(&[
        "run",
        s(&dir),
        "--out",
        s(&out),
        "--format",
        "jpeg",
        "--memory-limit",
        "64M",
    ]);
    assert!(status.success());
    if let Some(kib) = rss {
        assert!(kib < 200 * 1024, "peak RSS {kib} KiB for a 2 GiB journal");
    }
    assert!(out.join("p0.jpg").exists() && out.join("p1.jpg").exists());
    let text = fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 2, "the damaged file was rewritten");
    // The same command again finds both vouched for.
    let again = conveyor(&["run", s(&dir), "--out", s(&out), "--format", "jpeg"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("converted 0, skipped 2"), "{stdout}");
}

#[test]
fn recipes_that_cannot_make_a_file_or_take_conveyors_names_are_refused_when_read() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 5] = [
        ("name = \"a\\u0000b\"\n", "control characters"),
        (
            &format!("name = \"{}\"\n", "x".repeat(300)),
            "file names end at 255 bytes",
        ),
        ("name = \".conveyor-journal\"\n", "keeps for its own files"),
        (
            "subfolder = \".conveyor-journal.jsonl\"\n",
            "keeps for its own files",
        ),
        ("subfolder = \"a\\nb\"\n", "control character"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("r{i}.toml"));
        fs::write(&file, format!("[[output]]\nformat = \"jpeg\"\n{text}")).unwrap();
        let check = conveyor(&["recipe", "check", s(&file)]);
        let stderr = String::from_utf8_lossy(&check.stderr);
        assert_eq!(check.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(want), "{text}: {stderr}");
    }
    // The same refusals on the command line.
    let dir = tmp.path().join("in");
    two_photos(&dir);
    let out = tmp.path().join("out");
    let long = "y".repeat(300);
    for name in ["a\u{1}b", long.as_str(), ".Conveyor-x-{stem}"] {
        let run = conveyor(&["run", s(&dir), "--out", s(&out), "--name", name]);
        assert_eq!(run.status.code(), Some(2), "{name}");
    }
    assert!(!out.exists(), "nothing was written");
}
