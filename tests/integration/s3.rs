//! #16: object storage as input, output and report location, against a real S3 server on
//! loopback (moto in server mode, from PyPI), checked with boto3 (`tests/s3tool.py`), not with
//! Conveyor's own client. Built only with `--features s3`.
#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

const NEEDS: &str = "needs moto_server and boto3 (pip install 'moto[server]')";

/// A moto S3 server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits (up to a minute) until something accepts connections on `port`.
fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let mut cmd = Command::new("moto_server");
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Moto::serve(cmd, port)
    }

    /// Runs `cmd`, a server that listens on `port`, until it does.
    fn serve(mut cmd: Command, port: u16) -> Moto {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(NEEDS);
        wait_for_port(port);
        Moto { child, port }
    }

    /// moto's S3 alone (`scripts/moto-s3.py`), with `n` copies of `file` put under each
    /// `bucket/prefix` of `fills` straight into its backend before it serves (100,000 keys in
    /// seconds, where as many PUT requests take minutes).
    fn start_filled(fills: &[(&str, usize)], file: &Path) -> Moto {
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/moto-s3.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg(port.to_string());
        for (prefix, n) in fills {
            cmd.args(["--fill", prefix, &n.to_string()]).arg(file);
        }
        Moto::serve(cmd, port)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The AWS environment pointing at `endpoint`, with nothing of the host's leaking in.
fn aws(cmd: &mut Command, endpoint: &str) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent");
}

fn tool(endpoint: &str, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3tool.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).args(args);
    aws(&mut cmd, endpoint);
    let out = cmd.output().expect(NEEDS);
    assert!(
        out.status.success(),
        "s3tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn conveyor_cmd(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = common::command();
    cmd.args(args);
    aws(&mut cmd, endpoint);
    cmd
}

fn conveyor(endpoint: &str, args: &[&str]) -> Output {
    conveyor_cmd(endpoint, args).output().expect("run conveyor")
}

/// Asserts the exit status, showing stderr if it is another.
fn exits_with(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

use common::s;

/// Objects under `url` as key → size.
fn objects(endpoint: &str, url: &str) -> BTreeMap<String, u64> {
    tool(endpoint, &["ls", url])
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, n)| (k.to_owned(), n.parse().expect("size")))
        .collect()
}

fn report(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("report")).expect("JSON report")
}

fn count(report: &Value, status: &str) -> usize {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["status"] == status)
        .count()
}

/// Every file under `dir` decodes (by the image crate, not Conveyor's pipeline) to a picture
/// that fits `side`; returns their paths relative to `dir`.
fn decoded_outputs(dir: &Path, side: u32) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, _) in common::snapshot(dir) {
        let img = image::open(dir.join(&rel))
            .unwrap_or_else(|e| panic!("{} does not decode: {e}", rel.display()));
        assert!(
            img.width() <= side && img.height() <= side,
            "{}",
            rel.display()
        );
        out.push(rel.to_string_lossy().replace('\\', "/"));
    }
    out.sort();
    out
}

fn good_outputs(ext: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "a",
        "trip/b",
        "trip/day2/c",
        "trip/day2/c-1",
        "trip/d",
        "deep/e16",
        "deep/cmyk",
        "deep/grey",
    ]
    .iter()
    .map(|p| format!("{p}.{ext}"))
    .collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn bucket_to_bucket_to_folder_and_back_and_re_runs_skip() {
    let moto = Moto::start();
    let ep = moto.endpoint();
    let tmp = tempfile::tempdir().expect("tmp");
    let photos = tmp.path().join("photos");
    common::mixed_folder(&photos);
    tool(&ep, &["mb", "camera-roll"]);
    tool(&ep, &["mb", "website"]);
    tool(
        &ep,
        &["put-dir", s(&photos), "s3://camera-roll/2024/summer"],
    );

    // Bucket → bucket, the report written to the bucket too.
    let run = |args: &[&str]| {
        let out = conveyor(&ep, args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "the bad files fail: {err}");
        err
    };
    let err = run(&[
        "run",
        "s3://camera-roll/2024/summer",
        "--out",
        "s3://website/img",
        "--format",
        "webp",
        "--resize",
        "fit:200x200",
        "-j",
        "2",
        "--report",
        "s3://website/reports/first.json",
    ]);
    for bad in ["empty.jpg", "text.jpg", "truncated.jpg"] {
        assert!(
            err.contains(&format!("s3://camera-roll/2024/summer/bad/{bad}")),
            "{err}"
        );
    }
    let listed = objects(&ep, "s3://website/img");
    let webps: Vec<String> = listed
        .keys()
        .filter(|k| k.ends_with(".webp"))
        .map(|k| k.trim_start_matches("img/").to_owned())
        .collect();
    assert_eq!(webps, good_outputs("webp"));
    assert!(
        listed.contains_key("img/.conveyor-journal.jsonl"),
        "{listed:?}"
    );
    let got = tmp.path().join("got");
    tool(&ep, &["get-dir", "s3://website/img", s(&got)]);
    std::fs::remove_file(got.join(".conveyor-journal.jsonl")).expect("journal downloaded");
    assert_eq!(decoded_outputs(&got, 200), good_outputs("webp"));
    let reports = tmp.path().join("reports");
    tool(&ep, &["get-dir", "s3://website/reports", s(&reports)]);
    let first = report(&reports.join("first.json"));
    assert_eq!((count(&first, "ok"), count(&first, "failed")), (8, 3));
    for f in first["files"].as_array().expect("files") {
        if f["status"] == "failed" {
            assert!(f["error"].as_str().is_some_and(|e| !e.is_empty()), "{f}");
        }
    }

    // Run again: everything converted is skipped, the bad files fail again.
    let again = tmp.path().join("again.json");
    run(&[
        "run",
        "s3://camera-roll/2024/summer",
        "--out",
        "s3://website/img",
        "--format",
        "webp",
        "--resize",
        "fit:200x200",
        "--report",
        s(&again),
    ]);
    let again = report(&again);
    assert_eq!(
        (count(&again, "skipped"), count(&again, "ok")),
        (8, 0),
        "{again}"
    );

    // Bucket → folder, twice.
    let local = tmp.path().join("local");
    for (n, expect_ok) in [(1, 8), (2, 0)] {
        let r = tmp.path().join(format!("local{n}.json"));
        run(&[
            "run",
            "s3://camera-roll/2024/summer",
            "--out",
            s(&local),
            "--format",
            "png",
            "--resize",
            "fit:150x150",
            "--report",
            s(&r),
        ]);
        assert_eq!(count(&report(&r), "ok"), expect_ok);
    }
    assert_eq!(decoded_outputs(&local, 150), good_outputs("png"));

    // Folder → bucket, twice.
    for (n, expect_ok) in [(1, 8), (2, 0)] {
        let r = tmp.path().join(format!("up{n}.json"));
        run(&[
            "run",
            s(&photos),
            "--out",
            "s3://website/from-disk",
            "--format",
            "jpeg",
            "--resize",
            "fit:120x120",
            "--report",
            s(&r),
        ]);
        let r = report(&r);
        assert_eq!(count(&r, "ok"), expect_ok, "{r}");
    }
    let up = tmp.path().join("up");
    tool(&ep, &["get-dir", "s3://website/from-disk", s(&up)]);
    std::fs::remove_file(up.join(".conveyor-journal.jsonl")).expect("journal");
    assert_eq!(decoded_outputs(&up, 120), good_outputs("jpg"));

    // A missing bucket stops before any work, with one message.
    let out = conveyor(&ep, &["run", s(&photos), "--out", "s3://no-such-bucket/x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");
}

/// A moto server with a bucket holding 40 photos of `w`×`h` under `s3://{bucket}/{prefix}`,
/// its endpoint, and the temporary folder the photos were made in.
fn moto_with_forty(bucket: &str, prefix: &str, w: u32, h: u32) -> (Moto, String, TempDir) {
    let moto = Moto::start();
    let ep = moto.endpoint();
    let tmp = tempfile::tempdir().expect("tmp");
    tool(&ep, &["mb", bucket]);
    let dir = tmp.path().join("in");
    for i in 0..40 {
        common::put(
            &dir,
            &format!("roll{}/p{i:02}.png", i % 4),
            &common::encode(&common::photo(w + i, h), image::ImageFormat::Png),
        );
    }
    tool(
        &ep,
        &["put-dir", s(&dir), &format!("s3://{bucket}/{prefix}")],
    );
    (moto, ep, tmp)
}

#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn killed_mid_batch_then_resumed_converts_each_photo_once() {
    let (_moto, ep, tmp) = moto_with_forty("studio", "raw", 900, 700);
    let args = [
        "run",
        "s3://studio/raw",
        "--out",
        "s3://studio/web",
        "--format",
        "webp",
        "-j",
        "1",
        "-q",
    ];
    let mut child = conveyor_cmd(&ep, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    tool(&ep, &["wait-count", "s3://studio/web", "3", ".webp"]);
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let before = objects(&ep, "s3://studio/web");
    let done: Vec<&String> = before.keys().filter(|k| k.ends_with(".webp")).collect();
    assert!(done.len() >= 3 && done.len() < 40, "{}", done.len());
    let r = tmp.path().join("resume.json");
    let out = conveyor(
        &ep,
        &[
            "run",
            "s3://studio/raw",
            "--out",
            "s3://studio/web",
            "--format",
            "webp",
            "--report",
            s(&r),
        ],
    );
    exits_with(&out, 0);
    let r = report(&r);
    // Each output written before the kill is vouched for (by the journal, or by the entry its
    // object carries when the kill came before the journal object was saved).
    let vouched = r["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| {
            f["status"] == "skipped"
                && f["error"]
                    .as_str()
                    .is_some_and(|e| e.starts_with("already converted"))
        })
        .count();
    assert_eq!(vouched, done.len(), "{r}");
    assert_eq!(count(&r, "ok"), 40 - done.len());
    let after = objects(&ep, "s3://studio/web");
    for k in &done {
        assert_eq!(after.get(*k), before.get(*k), "{k} was not rewritten");
    }
    let got = tmp.path().join("got");
    tool(&ep, &["get-dir", "s3://studio/web", s(&got)]);
    assert_eq!(decoded_outputs(&got, 2000).len(), 40);
}

#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn two_shards_at_once_into_one_prefix_then_report_merge() {
    let (_moto, ep, tmp) = moto_with_forty("archive", "scans", 200, 150);
    let children: Vec<Child> = [("0", "r1"), ("1", "r2")]
        .iter()
        .map(|(index, name)| {
            let report = format!("s3://archive/reports/{name}.json");
            let mut cmd = conveyor_cmd(
                &ep,
                &[
                    "run",
                    "s3://archive/scans",
                    "--out",
                    "s3://archive/small",
                    "--format",
                    "jpeg",
                    "--resize",
                    "fit:64x64",
                    "--shard",
                    "auto/2",
                    "-q",
                    "--report",
                    &report,
                ],
            );
            cmd.env("JOB_COMPLETION_INDEX", index)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            cmd.spawn().expect("start a shard")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    let listed = objects(&ep, "s3://archive/small");
    assert_eq!(listed.keys().filter(|k| k.ends_with(".jpg")).count(), 40);
    for k in 1..=2 {
        let journal = format!("small/.conveyor-journal-{k}-of-2.jsonl");
        assert!(listed.contains_key(&journal), "{listed:?}");
    }
    let merged = tmp.path().join("merged.json");
    let out = conveyor(
        &ep,
        &[
            "report",
            "merge",
            "s3://archive/reports/r1.json",
            "s3://archive/reports/r2.json",
            "--out",
            s(&merged),
        ],
    );
    exits_with(&out, 0);
    assert_eq!(count(&report(&merged), "ok"), 40);
    let out = conveyor(
        &ep,
        &[
            "report",
            "merge",
            "s3://archive/reports/r2.json",
            "--out",
            s(&merged),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("shards not given: 1/2"), "{err}");
}

/// A TCP relay to the server that can be cut: the test's way of making the store go away
/// mid-batch without losing what the server holds.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    /// Connections turned away since the cut: each is one attempt of a request.
    turned_away: Arc<AtomicUsize>,
}

impl Relay {
    fn start(to: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let cut = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let turned_away = Arc::new(AtomicUsize::new(0));
        let (c, o, n) = (
            Arc::clone(&cut),
            Arc::clone(&open),
            Arc::clone(&turned_away),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if c.load(Ordering::SeqCst) {
                    n.fetch_add(1, Ordering::SeqCst);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let mut list = o.lock().expect("lock");
                for s in [&client, &server] {
                    list.push(s.try_clone().expect("clone"));
                }
                drop(list);
                for (mut from, mut into) in [
                    (
                        client.try_clone().expect("c"),
                        server.try_clone().expect("s"),
                    ),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || into.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = into.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Relay {
            port,
            cut,
            open,
            turned_away,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().expect("lock").iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// Every output `rep` reports converted is under `url` at its reported size and decodes,
/// straight from the server (downloaded into `dir`).
fn outputs_reported_ok_are_whole(ep: &str, rep: &Value, url: &str, dir: &Path) {
    let bucket = format!(
        "s3://{}/",
        url["s3://".len()..].split('/').next().expect("bucket")
    );
    let listed = objects(ep, url);
    tool(ep, &["get-dir", url, s(dir)]);
    for f in rep["files"].as_array().expect("files") {
        if f["status"] == "ok" {
            let out = f["output"].as_str().expect("output");
            let key = out.trim_start_matches(&bucket);
            assert_eq!(
                listed.get(key),
                f["output_bytes"].as_u64().as_ref(),
                "{key}"
            );
            let rel = out.trim_start_matches(url).trim_start_matches('/');
            image::open(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        }
    }
}

#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn credentials_refused_mid_batch_stop_it_once_and_keep_what_was_written() {
    let (_moto, ep, tmp) = moto_with_forty("agency", "shoot", 900, 700);
    let r = tmp.path().join("refused.json");
    let args = [
        "run",
        "s3://agency/shoot",
        "--out",
        "s3://agency/web",
        "--format",
        "webp",
        "-j",
        "1",
    ];
    let child = conveyor_cmd(&ep, &args)
        .args(["--report", s(&r)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    // From the third output on, moto checks every request's credentials against its IAM,
    // which knows none: each is refused (InvalidAccessKeyId), as for a revoked key.
    tool(&ep, &["refuse-after", "s3://agency/web", "3", ".webp"]);
    let out = child.wait_with_output().expect("ends");
    tool(&ep, &["accept-all"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // One message says why the batch stopped, in the server's words, without its XML.
    let stopped: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("refused the credentials") && !l.contains("journal"))
        .collect();
    assert_eq!(stopped.len(), 1, "{err}");
    assert_eq!(
        stopped[0],
        "conveyor: stopped: the store refused the credentials for s3://agency \
         (InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.)",
        "{err}"
    );
    assert!(!err.contains("<Error>"), "{err}");
    let rep = report(&r);
    let (ok, failed, cancelled) = (
        count(&rep, "ok"),
        count(&rep, "failed"),
        count(&rep, "cancelled"),
    );
    assert!(ok >= 3 && cancelled >= 1, "{rep}");
    assert_eq!(ok + failed + cancelled, 40, "{rep}");
    for f in rep["files"].as_array().expect("files") {
        if f["status"] == "failed" {
            assert_eq!(f["error_kind"], "storage_access", "{f}");
        }
    }
    outputs_reported_ok_are_whole(&ep, &rep, "s3://agency/web", &tmp.path().join("got"));
    // With the credentials accepted again the batch finishes; nothing converted is redone.
    let again = tmp.path().join("again.json");
    let out = conveyor_cmd(&ep, &args)
        .args(["--report", s(&again)])
        .output()
        .expect("run");
    exits_with(&out, 0);
    let again = report(&again);
    assert_eq!(
        (count(&again, "skipped"), count(&again, "ok")),
        (ok, 40 - ok),
        "{again}"
    );

    // Nowhere to copy the inputs to: that too is one message, not forty.
    let local = tmp.path().join("local");
    let out = conveyor_cmd(
        &ep,
        &["run", "s3://agency/shoot", "--out", s(&local), "-j", "2"],
    )
    .env("TMPDIR", tmp.path().join("no-such-folder"))
    .output()
    .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let stopped: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("no-such-folder"))
        .collect();
    assert_eq!(stopped.len(), 1, "{err}");
    assert!(
        stopped[0].starts_with("conveyor: stopped: cannot make local copies of the inputs"),
        "{err}"
    );
}

#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn a_store_that_goes_away_fails_files_with_reasons_and_loses_nothing_written() {
    let (moto, ep, tmp) = moto_with_forty("shop", "products", 900, 700);
    let relay = Relay::start(moto.port);
    let via = format!("http://127.0.0.1:{}", relay.port);
    let r = tmp.path().join("cut.json");
    let child = conveyor_cmd(
        &via,
        &[
            "run",
            "s3://shop/products",
            "--out",
            "s3://shop/thumbs",
            "--format",
            "webp",
            "-j",
            "1",
            "-q",
            "--report",
            s(&r),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start");
    tool(&ep, &["wait-count", "s3://shop/thumbs", "3", ".webp"]);
    relay.cut();
    let out = child.wait_with_output().expect("ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let rep = report(&r);
    let ok = count(&rep, "ok");
    assert!((3..40).contains(&ok), "{ok}");
    let failed = count(&rep, "failed");
    assert_eq!(ok + failed, 40, "{rep}");
    // Each failed file's request was retried, a bounded number of times: 1 + 4 attempts
    // (one may have been under way at the cut), and the journal's last save the same.
    let attempts = relay.turned_away.load(Ordering::SeqCst);
    assert!(
        failed >= 1 && attempts >= 4 * failed && attempts <= 5 * (failed + 2),
        "{failed} files failed after {attempts} attempts"
    );
    for f in rep["files"].as_array().expect("files") {
        if f["status"] == "failed" {
            assert_eq!(f["error_kind"], "storage", "{f}");
            assert!(
                f["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("s3://shop/")),
                "{f}"
            );
        }
    }
    outputs_reported_ok_are_whole(&ep, &rep, "s3://shop/thumbs", &tmp.path().join("got"));
    // And a run through the server itself finishes the rest.
    let again = conveyor(
        &ep,
        &[
            "run",
            "s3://shop/products",
            "--out",
            "s3://shop/thumbs",
            "--format",
            "webp",
            "-q",
        ],
    );
    exits_with(&again, 0);
    let listed = objects(&ep, "s3://shop/thumbs");
    assert_eq!(listed.keys().filter(|k| k.ends_with(".webp")).count(), 40);
}

#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn an_output_over_8_mib_goes_up_in_parts_and_comes_back_exact() {
    let moto = Moto::start();
    let ep = moto.endpoint();
    let tmp = tempfile::tempdir().expect("tmp");
    tool(&ep, &["mb", "posters"]);
    // Noise does not compress: 2400x1600 RGB is about 11 MiB as PNG.
    let mut state: u32 = 12345;
    let noise = image::RgbImage::from_fn(2400, 1600, |_, _| {
        let mut px = [0u8; 3];
        for c in &mut px {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *c = (state >> 24) as u8;
        }
        image::Rgb(px)
    });
    let src = tmp.path().join("src");
    common::put(
        &src,
        "big.png",
        &common::encode(
            &image::DynamicImage::ImageRgb8(noise.clone()),
            image::ImageFormat::Png,
        ),
    );
    tool(&ep, &["put-dir", s(&src), "s3://posters/in"]);
    let args = [
        "run",
        "s3://posters/in",
        "--out",
        "s3://posters/out",
        "--format",
        "png",
        "-q",
    ];
    let first = conveyor(&ep, &args);
    exits_with(&first, 0);
    let listed = objects(&ep, "s3://posters/out");
    let size = listed.get("out/big.png").copied().unwrap_or(0);
    assert!(size > 8 << 20, "{listed:?}");
    let got = tmp.path().join("got");
    tool(&ep, &["get-dir", "s3://posters/out", s(&got)]);
    let back = image::open(got.join("big.png")).expect("decodes").to_rgb8();
    assert!(back == noise, "the pixels came back changed");
    // Its multipart entity tag is what the journal keeps: a re-run skips it.
    let r = tmp.path().join("again.json");
    let again = conveyor(
        &ep,
        &[
            "run",
            "s3://posters/in",
            "--out",
            "s3://posters/out",
            "--format",
            "png",
            "--report",
            s(&r),
        ],
    );
    exits_with(&again, 0);
    assert_eq!(count(&report(&r), "skipped"), 1);
}

/// #36: the window reads and writes buckets (in an `s3` build): `conveyor gui --input
/// s3://… --out s3://… --start` in a real window lists the input prefix, converts every image
/// into the output prefix with its journal, and says so in its title; boto3 then finds every
/// output, and they decode.
#[cfg(feature = "gui")]
#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]'), Xvfb, xdotool and ImageMagick's import"]
fn the_window_converts_a_bucket_prefix_into_another() {
    use crate::window::{
        Xvfb, find_window, require_tools, screenshot, spawn_gui_with, wait_for_title,
    };
    require_tools();
    let moto = Moto::start();
    let ep = moto.endpoint();
    let tmp = tempfile::tempdir().expect("tmp");
    let photos = tmp.path().join("photos");
    for i in 0..6 {
        common::put(
            &photos,
            &format!("day{}/p{i}.jpg", i % 2),
            &common::encode(&common::photo(300, 200), image::ImageFormat::Jpeg),
        );
    }
    tool(&ep, &["mb", "camera-roll"]);
    tool(&ep, &["mb", "website"]);
    tool(&ep, &["put-dir", s(&photos), "s3://camera-roll/trip"]);

    let x = Xvfb::start();
    let mut cmd = common::command();
    aws(&mut cmd, &ep);
    let mut gui = spawn_gui_with(
        &x,
        tmp.path(),
        &[
            "gui",
            "--input",
            "s3://camera-roll/trip",
            "--out",
            "s3://website/small",
            "--start",
            "--resize",
            "fit:120x120",
            "--format",
            "webp",
        ],
        cmd,
    );
    let window = find_window(&x, &mut gui);
    wait_for_title(&x, window, "finished: 6 converted");
    x.run("xdotool", &["mousemove", "1399", "899"]);
    eprintln!(
        "screenshot: {}",
        screenshot(&x, "s3-window-finished.png").display()
    );
    let written = objects(&ep, "s3://website/small");
    let images: Vec<&String> = written.keys().filter(|k| k.ends_with(".webp")).collect();
    assert_eq!(
        images,
        vec![
            "small/day0/p0.webp",
            "small/day0/p2.webp",
            "small/day0/p4.webp",
            "small/day1/p1.webp",
            "small/day1/p3.webp",
            "small/day1/p5.webp"
        ],
        "{written:?}"
    );
    assert!(
        written
            .keys()
            .any(|k| k.starts_with("small/.conveyor-journal")),
        "the journal is kept in the output prefix: {written:?}"
    );
    let back = tmp.path().join("back");
    tool(&ep, &["get-dir", "s3://website/small", s(&back)]);
    let decoded: Vec<String> = decoded_outputs(&back, 120)
        .into_iter()
        .filter(|p| p.ends_with(".webp"))
        .collect();
    assert_eq!(decoded.len(), 6, "{decoded:?}");
}

/// #36: before Start, a window over buckets plans, previews and estimates too: the forecast
/// lists the output prefix and reads its journal (what an earlier run made is "already
/// converted"), the preview converts a temporary copy of the first object, and the estimate
/// samples objects; nothing is written until Start.
#[cfg(feature = "gui")]
#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn before_start_the_window_plans_previews_and_estimates_objects() {
    use conveyor::engine::batch::LazyStore;
    use conveyor::engine::options::{RecipePatch, Value as Opt};
    use conveyor::gui::Launch;
    use conveyor::gui::app::ConveyorApp;
    use conveyor::gui::settings::Settings;
    use egui_kittest::Harness;

    use crate::gui::{FakePicker, has_label, step_until};

    let moto = Moto::start();
    let ep = moto.endpoint();
    let tmp = tempfile::tempdir().expect("tmp");
    // Each upload from a folder of its own: objects uploaded again would be new inputs.
    let put = |names: std::ops::Range<usize>| {
        let photos = tmp.path().join(format!("photos-{}", names.start));
        for i in names {
            common::put(
                &photos,
                &format!("p{i}.jpg"),
                &common::encode(&common::photo(160, 120), image::ImageFormat::Jpeg),
            );
        }
        tool(&ep, &["put-dir", s(&photos), "s3://camera-roll/trip"]);
    };
    tool(&ep, &["mb", "camera-roll"]);
    tool(&ep, &["mb", "website"]);
    put(0..4);
    let args = [
        "run",
        "s3://camera-roll/trip",
        "--out",
        "s3://website/small",
        "--resize",
        "fit:64x64",
        "--format",
        "webp",
    ];
    exits_with(&conveyor(&ep, &args), 0);
    put(4..6);
    let before = objects(&ep, "s3://website/small");

    let vars: BTreeMap<String, String> = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", ep.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let store = conveyor::engine::s3::connect_with(&|name| vars.get(name).cloned())
        .expect("a store for the test server");
    let storage = Arc::new(LazyStore::connected(store));
    let launch = Launch {
        inputs: vec!["s3://camera-roll/trip".into()],
        out: Some("s3://website/small".into()),
        recipe: RecipePatch::default()
            .with("resize", Opt::Text("fit:64x64".into()))
            .and_then(|p| p.with("format", Opt::Text("webp".into())))
            .expect("valid options"),
        storage: Some(storage),
        ..Launch::default()
    };
    let picker = FakePicker {
        folder: None,
        file: None,
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(move |_cc| ConveyorApp::new(Settings::default(), Arc::new(picker), &launch));
    step_until(&mut h, "the forecast", |h| has_label(h, "Start will write"));
    assert!(
        has_label(&h, "s3://website/small"),
        "the output prefix is named"
    );
    assert!(
        has_label(&h, "2 outputs") && has_label(&h, "4 outputs already converted"),
        "the journal in the bucket vouches for the earlier run's four"
    );
    let shown = |h: &Harness<'_, ConveyorApp>| {
        h.state().trials().shown.as_ref().map(|s| {
            s.as_ref()
                .map(|s| (s.path.clone(), s.trial.after.width))
                .map_err(Clone::clone)
        })
    };
    step_until(&mut h, "the preview", |h| shown(h).is_some());
    let (path, width) = shown(&h).expect("shown").expect("the preview converted");
    assert_eq!(
        path,
        std::path::PathBuf::from("s3://camera-roll/trip/p0.jpg")
    );
    assert_eq!(width, 64, "fit 64x64 of a 160x120 photo");
    step_until(&mut h, "the estimate", |h| {
        h.state().trials().estimate.is_some()
    });
    let estimate = h
        .state()
        .trials()
        .estimate
        .clone()
        .flatten()
        .expect("samples converted");
    assert!(
        estimate.sampled >= 2 && estimate.total_bytes > 0,
        "{estimate:?}"
    );
    assert_eq!(
        objects(&ep, "s3://website/small"),
        before,
        "nothing written before Start"
    );
}

/// Keys that are legal in S3 but not plain ASCII (`unicodé`, `%`, `\`) are converted, and the
/// output keys mirror them exactly (they were asked for percent-encoded, and each failed
/// "NoSuchKey"); a re-run vouches for them. A key with a `..` part, which the S3 client cannot
/// name, stops the listing with one sentence naming the key instead of an opaque error.
#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]')"]
fn keys_with_accents_percent_and_backslash_convert_to_keys_that_mirror_them() {
    let moto = Moto::start();
    let ep = moto.endpoint();
    let tmp = tempfile::tempdir().expect("tmp");
    tool(&ep, &["mb", "odd"]);
    let png = tmp.path().join("p.png");
    std::fs::write(
        &png,
        common::encode(&common::photo(40, 30), image::ImageFormat::Png),
    )
    .expect("write");
    let names = ["unicodé.png", "pct%41.png", "back\\slash.png", "plain.png"];
    for name in names {
        tool(&ep, &["put", s(&png), &format!("s3://odd/in/{name}")]);
    }
    let r = tmp.path().join("r.json");
    let args = [
        "run",
        "s3://odd/in",
        "--out",
        "s3://odd/out",
        "--format",
        "webp",
        "--report",
        s(&r),
    ];
    exits_with(&conveyor(&ep, &args), 0);
    assert_eq!(count(&report(&r), "ok"), 4);
    let made: Vec<String> = objects(&ep, "s3://odd/out")
        .into_keys()
        .filter(|k| k.ends_with(".webp"))
        .collect();
    let mut want: Vec<String> = names
        .iter()
        .map(|n| format!("out/{}", n.replace(".png", ".webp")))
        .collect();
    want.sort();
    assert_eq!(made, want);
    exits_with(&conveyor(&ep, &args), 0);
    assert_eq!(
        count(&report(&r), "skipped"),
        4,
        "vouched for on the re-run"
    );

    tool(&ep, &["put", s(&png), "s3://odd/dots/a/../b.png"]);
    let out = conveyor(&ep, &["run", "s3://odd/dots", "--out", s(tmp.path())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("\"dots/a/../b.png\""), "{err}");
    assert!(err.contains("rename that object"), "{err}");
}

/// #41 item 6: listing and planning 100,000 keys from a bucket costs about what scanning
/// 100,000 files costs: the peak memory of a dry run above one of 1,000 keys, per key, at most
/// 350 bytes (a folder's scan takes about 300 a file; the keys are listed page by page into the
/// scan's folders, never held whole). moto lists the keys (about 30 s of its time, here);
/// release builds only (CI's release stage).
#[test]
#[ignore = "needs moto_server and boto3 (pip install 'moto[server]') and GNU time"]
fn listing_100000_keys_costs_what_scanning_100000_files_does() {
    const N: usize = 100_000;
    if cfg!(debug_assertions) {
        eprintln!("measured in release builds only");
        return;
    }
    if !common::measures_memory() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let jpeg = tmp.path().join("t.jpg");
    std::fs::write(
        &jpeg,
        common::encode(&common::photo(16, 16), image::ImageFormat::Jpeg),
    )
    .unwrap();
    let moto = Moto::start_filled(&[("inbox/photos", N), ("inbox/few", 1000)], &jpeg);
    let ep = moto.endpoint();
    let dry_run = |url: &str, n: usize| -> u64 {
        let out = tmp.path().join("out");
        let mut cmd = common::command();
        cmd.args(["run", url, "--out", out.to_str().unwrap()]);
        cmd.args([
            "--format",
            "webp",
            "--resize",
            "fit:32x32",
            "--dry-run",
            "--quiet",
        ]);
        aws(&mut cmd, &ep);
        let (run, rss) = common::output_measured(cmd);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let stdout = String::from_utf8_lossy(&run.stdout);
        let said = format!("dry run: {n} to convert, 0 to skip");
        assert!(
            stdout.contains(&said),
            "{}",
            &stdout[stdout.len().saturating_sub(300)..]
        );
        rss.unwrap()
    };
    let base = dry_run("s3://inbox/few", 1000);
    let full = dry_run("s3://inbox/photos", N);
    let per_key = (full.saturating_sub(base) * 1024) / (N - 1000) as u64;
    eprintln!(
        "dry run of {N} keys: peak RSS {full} KiB, 1,000 keys {base} KiB: {per_key} bytes a key"
    );
    assert!(
        per_key <= 350,
        "listing and planning takes {per_key} bytes a key (peak {full} KiB, 1,000 keys {base} KiB)"
    );
}
