//! Unit tests of scan and plan: paths, mirroring, collisions, templates, shards, skip-existing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use conveyor::engine::format::Format;
use conveyor::engine::job::Action;
use conveyor::engine::plan::{self, Plan, PlanOptions, Shard};
use conveyor::engine::recipe::{OnExist, OutputFormat, Recipe, ResizeSpec};
use conveyor::engine::scan::{self, ScanOptions};

fn tiny_png() -> Vec<u8> {
    common::encode(&common::photo(8, 6), image::ImageFormat::Png)
}

fn plan_for(dir: &Path, out: &Path, recipe: &Recipe, shard: Option<Shard>) -> Plan {
    plan_with(dir, out, recipe, shard, None)
}

fn plan_with(
    dir: &Path,
    out: &Path,
    recipe: &Recipe,
    shard: Option<Shard>,
    fold_case: Option<bool>,
) -> Plan {
    let found = scan::scan(
        &[dir.to_path_buf()],
        &ScanOptions {
            recursive: true,
            exclude: vec![out.to_path_buf()],
            stop: None,
            store: None,
        },
    )
    .expect("scan");
    plan::plan(
        &found,
        recipe,
        &PlanOptions {
            out_dir: out.to_path_buf(),
            shard,
            fold_case,
            remote_out: None,
        },
    )
}

fn rel_outputs(plan: &Plan, out: &Path) -> Vec<String> {
    plan.jobs
        .iter()
        .map(|j| {
            j.output
                .strip_prefix(out)
                .expect("under out")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn jpeg_recipe() -> Recipe {
    Recipe {
        format: OutputFormat::To(Format::Jpeg),
        ..Recipe::default()
    }
}

#[test]
fn mirrors_folders_and_picks_images_by_extension_in_any_case() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    for rel in [
        "a.PNG",
        "x/b.jpeg",
        "x/y/c.Tif",
        "x/readme.md",
        "z.txt",
        "x/y/d.qoi",
    ] {
        common::put(&dir, rel, &tiny_png());
    }
    let plan = plan_for(&dir, &out, &Recipe::default(), None);
    assert_eq!(
        rel_outputs(&plan, &out),
        // A kept format keeps the input's spelling of its extension, in lower case.
        ["a.png", "x/b.jpeg", "x/y/c.tif", "x/y/d.qoi"]
    );
    assert!(plan.jobs.iter().all(|j| j.action == Action::Convert));
    let flat = scan::scan(
        std::slice::from_ref(&dir),
        &ScanOptions {
            recursive: false,
            exclude: vec![],
            stop: None,
            store: None,
        },
    )
    .expect("scan");
    assert_eq!(
        flat.found.len(),
        1,
        "--no-recursive takes the top level only"
    );
}

#[test]
fn colliding_outputs_get_distinct_deterministic_names() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    // pic-1.jpg is also some input's natural name: the renamed one must not steal it.
    for rel in ["pic.bmp", "pic.tiff", "pic.png", "pic-1.jpg"] {
        common::put(&dir, rel, &tiny_png());
    }
    let plan = plan_for(&dir, &out, &jpeg_recipe(), None);
    let names = rel_outputs(&plan, &out);
    let unique: BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), 4, "{names:?}");
    // Inputs are sorted: pic-1.jpg, pic.bmp, pic.png, pic.tiff.
    assert_eq!(names, ["pic-1.jpg", "pic.jpg", "pic-2.jpg", "pic-3.jpg"]);
    let notes = plan.jobs.iter().filter(|j| j.note.is_some()).count();
    assert_eq!(notes, 2, "each renamed output says why");
    assert_eq!(
        rel_outputs(&plan_for(&dir, &out, &jpeg_recipe(), None), &out),
        names
    );
}

#[test]
fn naming_templates_fill_every_token() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    common::put(
        &dir,
        "a.png",
        &common::encode(&common::photo(400, 200), image::ImageFormat::Png),
    );
    common::put(
        &dir,
        "b.bmp",
        &common::encode(&common::photo(50, 100), image::ImageFormat::Bmp),
    );
    let recipe = Recipe {
        name_template: "{n}-{stem}.{ext}-{w}x{h}".parse().unwrap(),
        resize: Some(ResizeSpec::Fit(100, 100)),
        format: OutputFormat::To(Format::Webp),
        ..Recipe::default()
    };
    let plan = plan_for(&dir, &out, &recipe, None);
    assert_eq!(
        rel_outputs(&plan, &out),
        ["1-a.png-100x50.webp", "2-b.bmp-50x100.webp"]
    );
}

#[test]
fn shards_split_the_plan_disjointly_and_completely() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    for i in 0..40 {
        common::put(&dir, &format!("s{}/f{i}.png", i % 4), &tiny_png());
    }
    let all: BTreeSet<PathBuf> = plan_for(&dir, &out, &Recipe::default(), None)
        .jobs
        .iter()
        .map(|j| j.input.clone())
        .collect();
    let mut union = BTreeSet::new();
    for k in 1..=3 {
        let shard = Some(Shard { index: k, count: 3 });
        let part: BTreeSet<PathBuf> = plan_for(&dir, &out, &Recipe::default(), shard)
            .jobs
            .iter()
            .map(|j| j.input.clone())
            .collect();
        assert!(union.is_disjoint(&part), "shard {k} overlaps");
        union.extend(part);
    }
    assert_eq!(union, all);
    assert!("0/3".parse::<Shard>().is_err() && "4/3".parse::<Shard>().is_err());
    assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
}

#[test]
fn existing_outputs_follow_the_on_exist_policy() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    common::put(&dir, "a.png", &tiny_png());
    common::put(&out, "a.jpg", b"already here");
    let mut recipe = jpeg_recipe();
    let skip = plan_for(&dir, &out, &recipe, None);
    assert!(
        matches!(&skip.jobs[0].action, Action::Skip(r) if r.to_string().contains("not made by Conveyor")),
        "{:?}",
        skip.jobs[0].action
    );
    recipe.on_exist = OnExist::Overwrite;
    let over = plan_for(&dir, &out, &recipe, None);
    assert_eq!(over.jobs[0].action, Action::Convert);
    assert_eq!(over.jobs[0].output, out.join("a.jpg"));
    recipe.on_exist = OnExist::Rename;
    let renamed = plan_for(&dir, &out, &recipe, None);
    assert_eq!(renamed.jobs[0].output, out.join("a-1.jpg"));
    assert!(renamed.jobs[0].note.is_some());
}

#[test]
fn an_output_folder_inside_the_input_is_never_scanned() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = dir.join("converted");
    common::put(&dir, "a.png", &tiny_png());
    common::put(&out, "old.png", &tiny_png());
    let plan = plan_for(&dir, &out, &Recipe::default(), None);
    assert_eq!(plan.jobs.len(), 1);
    assert_eq!(plan.jobs[0].input, dir.join("a.png"));
}

#[test]
fn outputs_never_land_on_originals() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    common::put(&dir, "a.png", &tiny_png());
    let mut recipe = Recipe {
        on_exist: OnExist::Overwrite,
        ..Recipe::default()
    };
    let plan = plan_for(&dir, &dir, &recipe, None);
    assert_eq!(
        plan.jobs.len(),
        1,
        "an output folder equal to the input is still scanned"
    );
    assert!(matches!(&plan.jobs[0].action, Action::Skip(r) if r.to_string().contains("original")));
    recipe.name_template = "{stem}-small".parse().unwrap();
    let plan = plan_for(&dir, &dir, &recipe, None);
    assert_eq!(plan.jobs[0].action, Action::Convert);
    assert_eq!(plan.jobs[0].output, dir.join("a-small.png"));
}

/// A stop flag set (by a signal handler) ends the walk at once and the scan says so.
#[test]
fn a_stopped_scan_ends_early_and_says_it_was_interrupted() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let tmp = tempfile::tempdir().expect("tmp");
    for i in 0..20 {
        common::put(tmp.path(), &format!("d{i}/p.jpg"), b"");
    }
    let options = |stop: bool| ScanOptions {
        recursive: true,
        exclude: vec![],
        stop: Some(Arc::new(AtomicBool::new(stop))),
        store: None,
    };
    let whole = scan::scan(&[tmp.path().to_path_buf()], &options(false)).expect("scan");
    assert!(!whole.interrupted);
    assert_eq!(whole.found.len(), 20);
    let stopped = scan::scan(&[tmp.path().to_path_buf()], &options(true)).expect("scan");
    assert!(stopped.interrupted);
    assert!(stopped.found.is_empty());
}

/// #10 finding 6: `--out` inside the input with `--on-exist overwrite` replaced an image there
/// that the scan had dropped (the output folder is not scanned). A file under an input folder
/// that Conveyor did not make is never replaced, scanned or not.
#[test]
fn a_file_under_an_input_folder_is_never_replaced_even_unscanned() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = dir.join("small");
    common::put(&dir, "a.png", &tiny_png());
    common::put(&out, "a.jpg", b"the user's own picture");
    let mut recipe = jpeg_recipe();
    recipe.on_exist = OnExist::Overwrite;
    let plan = plan_for(&dir, &out, &recipe, None);
    assert_eq!(
        plan.jobs.len(),
        1,
        "the output folder itself is not scanned"
    );
    assert!(
        matches!(&plan.jobs[0].action, Action::Skip(r) if r.to_string().contains("input folder")),
        "{:?}",
        plan.jobs[0].action
    );
    // Rename still writes beside it.
    recipe.on_exist = OnExist::Rename;
    let plan = plan_for(&dir, &out, &recipe, None);
    assert_eq!(plan.jobs[0].action, Action::Convert);
    assert_eq!(plan.jobs[0].output, out.join("a-1.jpg"));
    // An output folder outside the inputs keeps `--on-exist overwrite` as it was.
    let elsewhere = tmp.path().join("out");
    common::put(&elsewhere, "a.jpg", b"theirs");
    recipe.on_exist = OnExist::Overwrite;
    let plan = plan_for(&dir, &elsewhere, &recipe, None);
    assert_eq!(plan.jobs[0].action, Action::Convert);
}

/// #10 finding 7: on a volume that ignores case, `IMG_0001.JPG` and the output `IMG_0001.jpg`
/// are one file, and so are `Pic.jpg` and `pic.jpg`. The comparison follows the volume.
#[test]
fn paths_compare_the_way_the_volume_does() {
    use conveyor::engine::plan::{compare_key, folds_case};
    let a = Path::new("/in/IMG_0001.JPG");
    let b = Path::new("/in/img_0001.jpg");
    assert_eq!(compare_key(a, true), compare_key(b, true));
    assert_ne!(compare_key(a, false), compare_key(b, false));
    assert_eq!(
        compare_key(Path::new("/In/Ärger.PNG"), true),
        compare_key(Path::new("/in/ärger.png"), true)
    );
    let tmp = tempfile::tempdir().expect("tmp");
    common::put(tmp.path(), "Probe.txt", b"x");
    // This machine's file systems (ext4, tmpfs) tell case apart; the probe must see that.
    assert!(!folds_case(tmp.path()));
    assert!(!folds_case(&tmp.path().join("not/yet/made")));

    let dir = tmp.path().join("in");
    common::put(
        &dir,
        "IMG_0001.JPG",
        &common::encode(&common::photo(8, 6), image::ImageFormat::Jpeg),
    );
    common::put(&dir, "Pic.png", &tiny_png());
    common::put(&dir, "pic.png", &tiny_png());
    let recipe = Recipe {
        on_exist: OnExist::Overwrite,
        ..jpeg_recipe()
    };
    let folded = plan_with(&dir, &dir, &recipe, None, Some(true));
    let by_input = |plan: &Plan, name: &str| {
        plan.jobs
            .iter()
            .find(|j| j.input == dir.join(name))
            .cloned()
            .expect("job")
    };
    let img = by_input(&folded, "IMG_0001.JPG");
    assert!(
        matches!(&img.action, Action::Skip(r) if r.to_string().contains("original")),
        "{:?}",
        img.action
    );
    let (upper, lower) = (by_input(&folded, "Pic.png"), by_input(&folded, "pic.png"));
    assert_ne!(
        compare_key(&upper.output, true),
        compare_key(&lower.output, true),
        "two outputs that differ only in case are kept apart"
    );
    // On a volume that tells case apart both are allowed as they are.
    let exact = plan_with(&dir, &dir, &recipe, None, Some(false));
    assert_eq!(by_input(&exact, "IMG_0001.JPG").action, Action::Convert);
    assert_eq!(by_input(&exact, "pic.png").output, dir.join("pic.jpg"));
    assert_eq!(by_input(&exact, "Pic.png").output, dir.join("Pic.jpg"));
}

/// #10 finding 9: with `--on-exist rename`, two shards planned at the same moment chose the same
/// free name for two inputs (each knew only its own). Every shard now decides every name.
#[test]
fn shards_planned_together_never_choose_the_same_free_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let out = tmp.path().join("out");
    let shards = [Shard { index: 1, count: 2 }, Shard { index: 2, count: 2 }];
    let mut split = 0;
    for i in 0..8 {
        let (png, gif) = (format!("p{i}.png"), format!("p{i}.gif"));
        common::put(&dir, &png, &tiny_png());
        common::put(
            &dir,
            &gif,
            &common::encode(&common::photo(8, 6), image::ImageFormat::Gif),
        );
        // Files the user put there: both natural names are taken.
        common::put(&out, &format!("p{i}.jpg"), b"theirs");
        common::put(&out, &format!("p{i}-1.jpg"), b"theirs");
        if shards[0].contains(Path::new(&png)) != shards[0].contains(Path::new(&gif)) {
            split += 1;
        }
    }
    assert!(split > 0, "some pair is split across the shards");
    let recipe = Recipe {
        on_exist: OnExist::Rename,
        ..jpeg_recipe()
    };
    let mut all = Vec::new();
    for shard in shards {
        all.extend(rel_outputs(
            &plan_for(&dir, &out, &recipe, Some(shard)),
            &out,
        ));
    }
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 16);
    assert_eq!(distinct.len(), 16, "{all:?}");
    assert!(
        all.iter()
            .all(|o| !o.ends_with("-1.jpg") && o.contains('-'))
    );
}

/// A recipe with several outputs: one job per input and output, an input's jobs side by side in
/// output order under each output's sub-folder; run by the real pipeline, each input is decoded
/// once (only its first output's job ever enters the decode stage), every output is written at
/// its own size, and an input that cannot be decoded fails every one of its outputs with the
/// same reason.
#[test]
fn several_outputs_share_one_decode_per_input() {
    use conveyor::engine::event::Event;
    use conveyor::engine::job::{Outcome, Stage};
    use conveyor::engine::pipeline::Pipeline;
    use conveyor::engine::pool;
    use std::collections::HashMap;
    use std::sync::Arc;

    let tmp = tempfile::tempdir().unwrap();
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    for i in 0..6 {
        let jpeg = common::encode(&common::photo(900, 600), image::ImageFormat::Jpeg);
        common::put(&dir, &format!("sub/p{i}.jpg"), &jpeg);
    }
    common::put(&dir, "broken.png", b"\x89PNG\r\n\x1a\nnot really");
    let outputs = vec![
        Recipe {
            resize: Some(ResizeSpec::Fit(120, 120)),
            format: OutputFormat::To(Format::Webp),
            subfolder: "small".into(),
            ..Recipe::default()
        },
        Recipe {
            resize: Some(ResizeSpec::Fit(450, 450)),
            format: OutputFormat::To(Format::Png),
            subfolder: "large".into(),
            ..Recipe::default()
        },
        Recipe {
            resize: Some(ResizeSpec::Fit(450, 450)),
            format: OutputFormat::To(Format::Jpeg),
            subfolder: "large".into(),
            ..Recipe::default()
        },
    ];
    let found = scan::scan(
        std::slice::from_ref(&dir),
        &ScanOptions {
            recursive: true,
            exclude: vec![out.clone()],
            stop: None,
            store: None,
        },
    )
    .expect("scan");
    let plan = plan::plan_outputs(
        &found,
        &outputs,
        &PlanOptions {
            out_dir: out.clone(),
            ..PlanOptions::default()
        },
    );
    assert_eq!(plan.jobs.len(), 7 * 3);
    for group in plan.jobs.chunks(3) {
        assert!(group.iter().all(|j| j.input == group[0].input));
        let idx: Vec<usize> = group.iter().map(|j| j.output_index).collect();
        assert_eq!(idx, [0, 1, 2]);
    }
    let rel = rel_outputs(&plan, &out);
    assert!(rel.contains(&"small/sub/p0.webp".to_owned()), "{rel:?}");
    assert!(rel.contains(&"large/sub/p0.png".to_owned()), "{rel:?}");
    assert!(rel.contains(&"large/sub/p0.jpg".to_owned()), "{rel:?}");

    let jobs: Arc<[conveyor::engine::job::Job]> = plan.jobs;
    let handle = pool::start(
        Arc::clone(&jobs),
        Arc::new(Pipeline::with_outputs(outputs)),
        2,
        pool::Priority::Normal,
        Arc::new(|_| {}),
    )
    .expect("start");
    let mut decoded_by: HashMap<PathBuf, BTreeSet<usize>> = HashMap::new();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; jobs.len()];
    for event in handle.events() {
        match event {
            Event::Stage {
                job,
                stage: Stage::Decode,
                ..
            } => {
                decoded_by
                    .entry(jobs[job].input.clone())
                    .or_default()
                    .insert(jobs[job].output_index);
            }
            Event::Finished { job, outcome, .. } => {
                assert!(outcomes[job].is_none(), "job {job} ended twice");
                outcomes[job] = Some(outcome);
            }
            Event::BatchFinished { .. } => break,
            _ => {}
        }
    }
    handle.wait();
    assert_eq!(decoded_by.len(), 7, "every input is decoded");
    for (input, slots) in &decoded_by {
        assert_eq!(
            slots,
            &BTreeSet::from([0]),
            "{} decoded for {slots:?}",
            input.display()
        );
    }
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        let outcome = outcome.as_ref().expect("every job ends");
        if job.input.ends_with("broken.png") {
            let Outcome::Failed(f) = outcome else {
                panic!("broken input: {outcome:?}");
            };
            let Some(Outcome::Failed(first)) =
                &outcomes[jobs.iter().position(|j| j.input == job.input).unwrap()]
            else {
                panic!("first output of the broken input did not fail");
            };
            assert_eq!(f, first, "every output fails with the same reason");
            assert!(!job.output.exists());
            continue;
        }
        assert!(matches!(outcome, Outcome::Ok(_)), "{outcome:?}");
        let (w, h) = image::image_dimensions(&job.output).expect("output readable");
        let want = if job.output_index == 0 {
            (120, 80)
        } else {
            (450, 300)
        };
        assert_eq!((w, h), want, "{}", job.output.display());
    }
}

/// The estimate before a run counts every output: two outputs from one decode come to more
/// bytes than the first alone, and to the sum of what each makes alone.
#[test]
fn the_estimate_counts_every_output() {
    use conveyor::engine::preview;
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<(PathBuf, u64)> = (0..3)
        .map(|i| {
            let jpeg = common::encode(&common::photo(400 + i * 40, 300), image::ImageFormat::Jpeg);
            let path = common::put(tmp.path(), &format!("p{i}.jpg"), &jpeg);
            (path, jpeg.len() as u64)
        })
        .collect();
    let small = Recipe {
        resize: Some(ResizeSpec::Fit(100, 100)),
        format: OutputFormat::To(Format::Png),
        ..Recipe::default()
    };
    let large = Recipe {
        resize: Some(ResizeSpec::Fit(300, 300)),
        subfolder: "large".into(),
        ..small.clone()
    };
    let one =
        preview::estimate(&files, std::slice::from_ref(&small), 1, 8, None).expect("estimate");
    let other =
        preview::estimate(&files, std::slice::from_ref(&large), 1, 8, None).expect("estimate");
    let both = preview::estimate(&files, &[small, large], 1, 8, None).expect("estimate");
    assert_eq!(both.sampled, 3);
    assert!(both.total_bytes > one.total_bytes);
    let sum = one.total_bytes + other.total_bytes;
    assert!(
        both.total_bytes.abs_diff(sum) <= sum / 100,
        "{} vs {sum}",
        both.total_bytes
    );
}

/// #41: the scan reads folders in parallel and sorts each folder's names on its own; the files
/// still come in natural order of their whole relative paths, where a folder's files fall
/// between another folder's (`a.jpg`, `a/x.jpg`, `a-b.jpg` … sort as their paths do), and a
/// file reached twice (a symlinked folder) is listed once, under its real path.
#[test]
fn the_scan_lists_files_in_natural_order_of_their_whole_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let rels = [
        "a.jpg",
        "a/x.jpg",
        "a/img_10.jpg",
        "a/img_9.jpg",
        "a-b.jpg",
        "b.jpg",
        "A/y.jpg",
        "01/p.jpg",
        "1/q.jpg",
        "img_10.jpg",
        "img_2.jpg",
        "sub/deeper/z.png",
        "sub/img_10.jpg",
        "sub/img_9.jpg",
        "sub0.jpg",
    ];
    for rel in rels {
        common::put(tmp.path(), rel, &tiny_png());
    }
    std::os::unix::fs::symlink(tmp.path().join("sub"), tmp.path().join("zz-link")).unwrap();
    let found = scan::scan(
        &[tmp.path().to_path_buf()],
        &ScanOptions {
            recursive: true,
            ..ScanOptions::default()
        },
    )
    .expect("scan");
    let listed: Vec<String> = found
        .found
        .iter()
        .map(|f| f.rel().to_string_lossy().into_owned())
        .collect();
    let mut want: Vec<String> = rels.iter().map(|r| (*r).to_owned()).collect();
    want.sort_by(|a, b| conveyor::engine::name::natural_cmp(a, b));
    assert_eq!(listed, want, "the symlinked folder's files are listed once");
    assert!(listed.iter().position(|r| r == "a.jpg") < listed.iter().position(|r| r == "a/x.jpg"));
    for f in found.found.iter() {
        assert_eq!(f.path(), tmp.path().join(f.rel()));
        assert_eq!(f.bytes(), tiny_png().len() as u64);
        assert!(f.modified().is_some() && f.skip().is_none());
    }
}
