//! UI behaviour through egui_kittest: the real app, real files, no window.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conveyor::engine::format::Format;
use conveyor::gui::ConveyorApp;
use conveyor::gui::Launch;
use conveyor::gui::picker::{Answer, NoDialog, Picker};
use conveyor::gui::settings::Settings;
use eframe::egui;
use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// Answers every dialog with fixed paths.
pub(crate) struct FakePicker {
    pub(crate) folder: Option<PathBuf>,
    /// The answer to "save as" and "open file" dialogs.
    pub(crate) file: Option<PathBuf>,
}

impl Picker for FakePicker {
    fn pick_folder(&self, _title: &str, _start: Option<&Path>) -> Answer {
        Ok(self.folder.clone())
    }
    fn save_file(
        &self,
        _title: &str,
        _default_name: &str,
        _filters: &[conveyor::gui::picker::Filter],
    ) -> Answer {
        Ok(self.file.clone())
    }
    fn open_file(&self, _title: &str, _filters: &[conveyor::gui::picker::Filter]) -> Answer {
        Ok(self.file.clone())
    }
}

/// A desktop with no file-dialog service: every dialog fails at once.
struct NoDialogs;

impl Picker for NoDialogs {
    fn pick_folder(&self, _title: &str, _start: Option<&Path>) -> Answer {
        Err(NoDialog("no dialog service here".into()))
    }
    fn save_file(&self, _: &str, _: &str, _: &[conveyor::gui::picker::Filter]) -> Answer {
        Err(NoDialog("no dialog service here".into()))
    }
    fn open_file(&self, _: &str, _: &[conveyor::gui::picker::Filter]) -> Answer {
        Err(NoDialog("no dialog service here".into()))
    }
}

/// A file dropped from a file manager.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn harness(
    settings: Settings,
    args: Launch,
    picker_folder: Option<PathBuf>,
) -> Harness<'static, ConveyorApp> {
    // User presets go to a folder of the test's own, never the real config folder.
    let presets = tempfile::Builder::new()
        .prefix("conveyor-test-presets")
        .tempdir()
        .expect("tmp")
        .keep();
    harness_with(
        settings,
        args,
        FakePicker {
            folder: picker_folder,
            file: None,
        },
        presets,
    )
}

fn harness_with(
    settings: Settings,
    args: Launch,
    picker: FakePicker,
    presets: PathBuf,
) -> Harness<'static, ConveyorApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(move |_cc| {
            ConveyorApp::new(settings, Arc::new(picker), &args).with_presets_dir(presets)
        })
}

/// A window of `size` (width, height) with two workers, preloaded from `launch`.
fn harness_at(size: (f32, f32), launch: Launch) -> Harness<'static, ConveyorApp> {
    let presets = tempfile::tempdir().expect("tmp").keep();
    Harness::builder()
        .with_size(egui::vec2(size.0, size.1))
        .build_eframe(move |_cc| {
            ConveyorApp::new(
                settings_with_workers(2),
                Arc::new(FakePicker {
                    folder: None,
                    file: None,
                }),
                &launch,
            )
            .with_presets_dir(presets)
        })
}

/// Steps frames until `done` holds (background threads scan, plan and convert meanwhile).
pub(crate) fn step_until(
    h: &mut Harness<'_, ConveyorApp>,
    what: &str,
    mut done: impl FnMut(&Harness<'_, ConveyorApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(h) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub(crate) fn has_label(h: &Harness<'_, ConveyorApp>, text: &str) -> bool {
    h.query_by_label_contains(text).is_some()
}

fn worker_rows(h: &Harness<'_, ConveyorApp>) -> usize {
    h.state().batch_view().map_or(0, |v| v.workers.len())
}

fn settings_with_workers(n: usize) -> Settings {
    let mut s = Settings {
        workers: n,
        ..Settings::default()
    };
    s.first_mut()
        .resize_form
        .set(Some(conveyor::engine::recipe::ResizeSpec::Fit(64, 64)));
    s.first_mut().recipe.format = conveyor::engine::recipe::OutputFormat::To(Format::Jpeg);
    s
}

fn photo_folder(dir: &Path, n: u32) {
    for i in 0..n {
        common::put(
            dir,
            &format!("set{}/p{i:03}.png", i % 2),
            &common::encode(&common::photo(160 + i, 120), image::ImageFormat::Png),
        );
    }
}

/// A window preloaded (as by `conveyor gui --input DIR --out OUT`) with `n` photos, scanned.
fn preloaded(
    n: u32,
    settings: Settings,
    extra: Launch,
) -> (tempfile::TempDir, PathBuf, Harness<'static, ConveyorApp>) {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    photo_folder(&dir, n);
    let args = Launch {
        inputs: vec![dir],
        out: Some(out.clone()),
        ..extra
    };
    let start = args.start;
    let mut h = harness(settings, args, None);
    if !start {
        let found = format!("{n} image{}", if n == 1 { "" } else { "s" });
        step_until(&mut h, "the scan", |h| has_label(h, &found));
    }
    (tmp, out, h)
}

/// A window converting `n` photos with one worker, paused a few frames in (with enough images,
/// the worker is still busy when the pause lands).
fn paused_batch(n: u32) -> (tempfile::TempDir, PathBuf, Harness<'static, ConveyorApp>) {
    let extra = Launch {
        workers: Some(1),
        start: true,
        ..Launch::default()
    };
    let (tmp, out, mut h) = preloaded(n, settings_with_workers(1), extra);
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause", |h| {
        h.state().batch_view().is_some_and(|v| v.paused)
    });
    (tmp, out, h)
}

#[test]
fn a_dropped_folder_shows_its_image_count_and_formats() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("shoot");
    photo_folder(&dir, 5);
    common::put(
        &dir,
        "extra.bmp",
        &common::encode(&common::photo(10, 10), image::ImageFormat::Bmp),
    );
    common::put(&dir, "notes.txt", b"not an image");
    let mut h = harness(Settings::default(), Launch::default(), None);
    h.step();
    assert!(
        has_label(&h, "Drop a folder here"),
        "the empty state invites a drop"
    );
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(dir.clone())));
    step_until(&mut h, "the scan summary", |h| has_label(h, "6 images"));
    assert!(has_label(&h, "5 PNG"));
    assert!(has_label(&h, "1 BMP"));
    assert!(has_label(&h, "1 other file ignored"));
    let out = h.state().settings().clone();
    assert_eq!(out.workers, Settings::default().workers);
    // The default output folder is a sibling of the input.
    assert_eq!(
        h.get_by_role_and_label(Role::TextInput, "Output folder:")
            .value(),
        Some(tmp.path().join("shoot-converted").display().to_string())
    );
}

#[test]
fn start_shows_a_row_per_worker_and_rows_follow_the_slider_live() {
    let (_tmp, out, mut h) = preloaded(40, settings_with_workers(3), Launch::default());
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    // Space pauses: workers stay, idle, so their rows can be counted without a race.
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause and three rows", |h| {
        h.state().batch_view().is_some_and(|v| v.paused) && worker_rows(h) == 3
    });
    assert!(has_label(&h, "Worker 1") && has_label(&h, "Worker 3"));
    assert!(has_label(&h, "Overall: "), "the overall line is shown");

    h.get_by_role_and_label(Role::Slider, "Workers")
        .set_value_accesskit(5.0);
    step_until(&mut h, "five rows", |h| worker_rows(h) == 5);
    assert!(has_label(&h, "Worker 5"));
    h.get_by_role_and_label(Role::Slider, "Workers")
        .set_value_accesskit(2.0);
    step_until(&mut h, "two rows", |h| worker_rows(h) == 2);
    h.step();
    assert!(!has_label(&h, "Worker 5"), "the newest workers retired");
    assert_eq!(h.state().settings().workers, 2);
    // #37 item 13: what the retired workers did stays on screen.
    assert!(has_label(&h, "3 workers stopped earlier: "));

    h.key_press(egui::Key::Space);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().expect("view");
    assert_eq!((v.ok, v.total), (40, 40));
    assert!(has_label(&h, "Overall: 40 of 40 · 40 converted"));
    assert!(has_label(&h, "Done"));
    assert_eq!(common::snapshot(&out).len(), 40);
    assert_eq!(worker_rows(&h), 0, "every worker retired at the end");
    // The rows add up: what every worker converted, together, is the batch's count.
    assert_eq!(v.retired.count, 5);
    assert_eq!(v.retired.converted, 40);
    assert!(has_label(&h, "5 workers in all: 40 converted"));

    // Selecting a finished file (the first row listed) shows the source and the output side
    // by side, each with its size in pixels and bytes.
    let first = h
        .state()
        .batch_view()
        .expect("view")
        .listed()
        .next()
        .expect("a row")
        .clone();
    let (w, hgt) = first.size.expect("converted");
    h.get_all_by_label_contains("  —  ")
        .next()
        .expect("a result row")
        .click();
    let after = format!("{w}×{hgt} · ");
    step_until(&mut h, "the preview", |h| has_label(h, &after));
    assert!(has_label(&h, "Before") && has_label(&h, "After"));
    assert!(has_label(&h, "×120 · "), "the source's own size is shown");
    assert!(w == 64 || hgt == 64, "the output fits 64×64");
}

#[test]
fn ctrl_enter_starts_and_escape_cancels_leaving_no_partial_files() {
    let (_tmp, out, mut h) = preloaded(60, settings_with_workers(2), Launch::default());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause", |h| {
        h.state().batch_view().is_some_and(|v| v.paused)
    });
    h.key_press(egui::Key::Escape);
    step_until(&mut h, "the cancel to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().expect("view");
    assert!(v.cancelled > 0, "queued images were cancelled");
    assert_eq!(v.ended(), 60, "every image has an outcome");
    assert!(has_label(&h, "Cancelled"));
    let written = common::snapshot(&out);
    assert_eq!(written.len(), v.ok, "only finished outputs exist");
    assert!(
        written
            .keys()
            .all(|p| !p.to_string_lossy().contains(".conveyor-")),
        "no temporary files"
    );
}

#[test]
fn failures_are_listed_with_reasons_and_can_be_retried() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    photo_folder(&dir, 2);
    let jpeg = common::encode(&common::photo(100, 80), image::ImageFormat::Jpeg);
    common::put(&dir, "cut.jpg", &jpeg[..jpeg.len() / 3]);
    common::put(&dir, "words.png", b"hello, not a PNG");
    let mut h = harness(
        settings_with_workers(2),
        Launch::default(),
        Some(dir.clone()),
    );
    h.step();
    h.get_by_label("🗀 Browse…").click();
    step_until(&mut h, "the picked folder's scan", |h| {
        has_label(h, "4 images")
    });
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    h.get_by_label("Failed (2)").click();
    h.step();
    assert!(has_label(&h, "truncated JPEG data"));
    assert!(has_label(&h, "not an image"));
    assert!(
        !has_label(&h, "p000.png"),
        "the failure filter hides converted files"
    );
    let before: Vec<_> = h
        .state()
        .batch_view()
        .unwrap()
        .listed()
        .map(|r| r.job)
        .collect();
    h.get_by_label("Retry failed").click();
    step_until(&mut h, "the retry to start", |h| {
        h.state().batch_view().is_some_and(|v| !v.finished)
    });
    step_until(&mut h, "the retry to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    // #17 item 6: the batch's history stays; the retried rows updated in place.
    let v = h.state().batch_view().unwrap();
    assert_eq!(
        (v.total, v.ok, v.failed),
        (4, 2, 2),
        "still broken, still reported"
    );
    let after: Vec<_> = v.listed().map(|r| r.job).collect();
    assert_eq!(after, before, "the same rows in the same places");
    h.get_by_label("All (4)").click();
    h.step();
    assert!(
        has_label(&h, "p000.png"),
        "the converted files are still listed"
    );
    assert!(has_label(&h, "truncated JPEG data"));
    assert_eq!(
        h.state()
            .batch_view()
            .unwrap()
            .filtered_len(conveyor::gui::view::ResultFilter::Failed),
        2
    );
}

/// Presets are recipe files: saving writes TOML into the presets folder that reads back as the
/// recipe; choosing it restores the recipe; the built-in presets load their outputs.
#[test]
fn presets_are_recipe_files_that_save_and_load_the_recipe() {
    use conveyor::engine::recipe_file;
    let presets = tempfile::tempdir().expect("tmp");
    let mut h = harness_with(
        Settings::default(),
        Launch::default(),
        FakePicker {
            folder: None,
            file: None,
        },
        presets.path().to_path_buf(),
    );
    h.step();
    h.get_by_label("Preset name").focus();
    h.get_by_label("Preset name").type_text("web small");
    h.step();
    h.get_by_label("Save preset").click();
    h.step();
    let file = presets.path().join("web small.toml");
    let saved = recipe_file::read(&file).expect("the preset is a valid recipe file");
    assert_eq!(saved, h.state().settings().current_recipes());
    let saved_quality = h.state().settings().first().recipe.quality;
    h.get_by_role_and_label(Role::Slider, "Quality")
        .set_value_accesskit(40.0);
    h.step();
    assert_eq!(h.state().settings().first().recipe.quality, 40);
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(3);
    h.get_all_by_label("web small")
        .last()
        .expect("the preset in the list")
        .click();
    h.step();
    assert_eq!(
        h.state().settings().first().recipe.quality,
        saved_quality,
        "loading the preset restores it"
    );
    // A built-in preset with four outputs.
    h.get_by_role_and_label(Role::ComboBox, "Preset").click();
    h.run_steps(3);
    h.get_by_label("Web, responsive (built in)").click();
    h.run_steps(2);
    let recipes = h.state().settings().current_recipes();
    assert_eq!(recipes.len(), 4);
    assert_eq!(
        recipes
            .iter()
            .map(|r| r.subfolder.as_str())
            .collect::<Vec<_>>(),
        ["480", "960", "1920", "1920"]
    );
    assert!(has_label(&h, "Output 4"), "a card per output");
}

/// *Add output* duplicates the open card and opens the copy; each card keeps its own size and
/// sub-folder; *Remove output* takes one away; Export writes the outputs as a recipe file and
/// Import reads one back.
#[test]
fn outputs_are_added_removed_exported_and_imported() {
    use conveyor::engine::recipe::ResizeSpec;
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("exported.toml");
    let mut h = harness_with(
        Settings::default(),
        Launch::default(),
        FakePicker {
            folder: None,
            file: Some(file.clone()),
        },
        tmp.path().join("presets"),
    );
    h.step();
    assert_eq!(h.state().settings().outputs.len(), 1);
    assert!(
        h.query_by_label("Remove output").is_none(),
        "the only output cannot be removed"
    );
    h.get_by_label("Add output").click();
    h.run_steps(2);
    assert_eq!(h.state().settings().outputs.len(), 2);
    assert!(has_label(&h, "Output 2"));
    // The copy is the open card: its fields are the ones shown. It writes into a sub-folder of
    // its own (#37 item 11: an exact copy collided), which the user renames.
    assert_eq!(
        h.state().settings().current_recipes()[1].subfolder,
        "output-2"
    );
    h.get_by_label("Sub-folder").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Sub-folder").type_text("small");
    h.step();
    h.get_by_label("Width").focus();
    h.get_by_role_and_label(Role::SpinButton, "Width")
        .set_value_accesskit(480.0);
    h.get_by_role_and_label(Role::SpinButton, "Height")
        .set_value_accesskit(480.0);
    h.run_steps(2);
    let recipes = h.state().settings().current_recipes();
    assert_eq!(recipes[1].subfolder, "small");
    assert_eq!(recipes[1].resize, Some(ResizeSpec::Fit(480, 480)));
    assert_eq!(
        recipes[0].subfolder, "",
        "the first card kept its own values"
    );
    assert_eq!(recipes[0].resize, Some(ResizeSpec::Fit(1600, 1600)));

    h.get_by_label("Export…").click();
    step_until(&mut h, "the export", |_| file.exists());
    h.run_steps(2);
    let exported = conveyor::engine::recipe_file::read(&file).expect("a valid recipe file");
    assert_eq!(exported, recipes);

    h.get_by_label("Remove output").click();
    h.run_steps(2);
    assert_eq!(h.state().settings().outputs.len(), 1);
    assert!(!has_label(&h, "Output 2"));
    h.get_by_label("Import…").click();
    step_until(&mut h, "the import", |h| {
        h.state().settings().outputs.len() == 2
    });
    assert_eq!(h.state().settings().current_recipes(), recipes);
}

/// *Copy as command* gives a `conveyor run` line that, run in a shell, writes the same files
/// (byte for byte) as the window's own batch of the same recipe, here with two outputs.
#[test]
fn copy_as_command_reproduces_the_windows_run() {
    use conveyor::engine::recipe::{OutputFormat, ResizeSpec};
    let mut settings = settings_with_workers(2);
    let second = settings.duplicate_output(0);
    settings.outputs[second]
        .resize_form
        .set(Some(ResizeSpec::Fit(32, 32)));
    settings.outputs[second].recipe.format = OutputFormat::To(Format::Webp);
    settings.outputs[second].recipe.subfolder = "small dir".into();
    settings.outputs[second].recipe.keep_dates = true;
    let (tmp, out, mut h) = preloaded(6, settings, Launch::default());
    h.get_by_label("Copy as command").click();
    h.run_steps(2);
    let command = h.state().copied_command().expect("a command").to_owned();
    assert!(command.starts_with("conveyor run "), "{command}");
    assert!(
        command.contains("--recipe"),
        "two outputs need a recipe file: {command}"
    );
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    assert_eq!(h.state().batch_view().map(|v| v.ok), Some(12));
    let by_app = common::snapshot(&out);
    assert_eq!(by_app.len(), 12);
    let app_out = tmp.path().join("by-app");
    std::fs::rename(&out, &app_out).expect("move the app's outputs away");
    let binary = common::bin();
    let line = command.replacen("conveyor", &format!("'{binary}'"), 1);
    let run = std::process::Command::new("sh")
        .args(["-c", &line])
        .output()
        .expect("run the command");
    assert!(run.status.success(), "{line}: {run:?}");
    assert_eq!(
        common::snapshot(&out),
        by_app,
        "the command writes what the app wrote"
    );
    // Dates were kept by both for the second output.
    for (rel, _) in by_app.iter().filter(|(p, _)| p.starts_with("small dir")) {
        let a = std::fs::metadata(app_out.join(rel))
            .unwrap()
            .modified()
            .unwrap();
        let b = std::fs::metadata(out.join(rel))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(a, b, "{}", rel.display());
    }
}

#[test]
fn closing_mid_batch_asks_first_then_cancels_cleanly() {
    let extra = Launch {
        workers: Some(2),
        start: true,
        ..Launch::default()
    };
    // #17 item 9: the dialog says what the batch's own policy will do, here overwrite.
    let mut settings = Settings::default();
    settings.first_mut().recipe.on_exist = conveyor::engine::recipe::OnExist::Overwrite;
    let (_tmp, out, mut h) = preloaded(40, settings, extra);
    step_until(&mut h, "--start to start the batch", |h| {
        h.state().batch_view().is_some()
    });
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause", |h| {
        h.state().batch_view().is_some_and(|v| v.paused)
    });
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    h.step();
    h.step();
    assert!(
        has_label(&h, "Stop the batch and quit?"),
        "closing asks first"
    );
    let v = h.state().batch_view().expect("view");
    let (ok, settled) = (v.ok, v.ok + v.skipped);
    let promise = format!("So far {ok} of 40 are converted (");
    assert!(has_label(&h, &promise), "{promise}");
    assert!(has_label(
        &h,
        &format!("converts only the {} not converted yet", 40 - settled)
    ));
    assert!(has_label(&h, "did not make are replaced"));
    assert!(!has_label(&h, "did not make stay as they are"));
    h.get_by_label("Stop and quit").click();
    step_until(&mut h, "the cancel to wind down", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let v = h.state().batch_view().expect("view");
    assert_eq!(v.ended(), 40);
    let written = common::snapshot(&out);
    assert_eq!(written.len(), v.ok);
    assert!(
        written
            .keys()
            .all(|p| !p.to_string_lossy().contains(".conveyor-"))
    );
    // The promise holds under overwrite: the same batch again converts only what was not done.
    let first_ok = v.ok;
    let first_jobs = v.jobs().clone();
    h.state_mut().start();
    step_until(&mut h, "the second batch", |h| {
        h.state()
            .batch_view()
            .is_some_and(|v| v.finished && !v.jobs().same_as(&first_jobs))
    });
    let v = h.state().batch_view().expect("view");
    assert_eq!((v.ok, v.skipped), (40 - first_ok, first_ok));
}

#[test]
fn jpeg_colour_is_offered_for_jpeg_only_and_sets_the_recipe() {
    use conveyor::engine::recipe::{Chroma, OutputFormat};
    let mut settings = Settings::default();
    settings.first_mut().recipe.format = OutputFormat::To(Format::Webp);
    let mut h = harness(settings, Launch::default(), None);
    h.step();
    assert!(
        h.query_by_label("JPEG colour").is_none(),
        "no JPEG setting while the output is WebP"
    );
    h.get_by_role_and_label(Role::ComboBox, "Output format")
        .click();
    h.run_steps(3);
    h.get_by_label("JPEG").click();
    h.run_steps(2);
    assert_eq!(
        h.state().settings().first().recipe.format,
        OutputFormat::To(Format::Jpeg)
    );
    h.get_by_role_and_label(Role::ComboBox, "JPEG colour")
        .click();
    h.run_steps(3);
    h.get_by_label("4:4:4 (full-resolution colour)").click();
    h.step();
    assert_eq!(h.state().settings().first().recipe.chroma, Chroma::S444);
}

/// #11: the input summary counts AVIF and HEIC inputs, AVIF is offered as an output with its
/// Effort control (and no WebP or JPEG setting), and a batch writes AVIF files.
#[test]
fn avif_is_offered_with_its_effort_and_new_inputs_are_counted() {
    use conveyor::engine::recipe::OutputFormat;
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    photo_folder(&dir, 2);
    let avif =
        conveyor::engine::codec::avif::encode(&common::photo(64, 48), 80, false, 8, None, None)
            .expect("avif");
    common::put(&dir, "web.avif", &avif);
    // Counted by extension, as the scan counts every format.
    common::put(&dir, "phone.HEIC", b"not decoded by the summary");
    let args = Launch {
        inputs: vec![dir],
        out: Some(out.clone()),
        ..Launch::default()
    };
    let mut settings = Settings::default();
    settings.first_mut().recipe.format = OutputFormat::To(Format::Webp);
    let mut h = harness(settings, args, None);
    step_until(&mut h, "the scan", |h| has_label(h, "4 images"));
    assert!(has_label(&h, "1 AVIF"), "AVIF inputs are counted");
    assert!(has_label(&h, "1 HEIC"), "HEIC inputs are counted");
    // #40: lossy WebP takes an effort too (libwebp's method).
    assert!(
        h.query_all_by_label("Effort").count() >= 1,
        "effort for WebP"
    );
    h.get_by_role_and_label(Role::ComboBox, "Output format")
        .click();
    h.run_steps(3);
    h.get_by_label("AVIF").click();
    h.run_steps(2);
    assert_eq!(
        h.state().settings().first().recipe.format,
        OutputFormat::To(Format::Avif)
    );
    use egui_kittest::kittest::NodeT;
    // The slider and its number field are both labelled by "Effort".
    let efforts: Vec<_> = h
        .query_all_by_role_and_label(Role::Slider, "Effort")
        .map(|n| n.accesskit_node().numeric_value())
        .collect();
    assert!(
        !efforts.is_empty() && efforts.iter().all(|v| *v == Some(4.0)),
        "the default effort, 4: {efforts:?}"
    );
    assert!(h.query_by_label("Lossless WebP").is_none());
    // Lossless AVIF is offered exactly when this build can write it (libaom, `aom`).
    assert_eq!(
        h.query_by_label("Lossless AVIF").is_some(),
        conveyor::engine::format::Format::Avif.takes(conveyor::engine::format::Control::Lossless)
    );
    assert!(h.query_by_label("JPEG colour").is_none());
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let v = h.state().batch_view().expect("view");
    assert_eq!(
        (v.ok, v.total),
        (3, 4),
        "the PNGs and the AVIF convert; the fake HEIC fails"
    );
    let written: Vec<PathBuf> = walkdir::WalkDir::new(&out)
        .into_iter()
        .map(|e| e.expect("walk").into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "avif"))
        .collect();
    assert_eq!(written.len(), 3, "{written:?}");
    for file in &written {
        let bytes = std::fs::read(file).expect("read");
        assert_eq!(
            Format::sniff(&bytes),
            Some(Format::Avif),
            "{}",
            file.display()
        );
    }
}

/// A scan that panics (injected through the app's scanner seam) ends with the error on screen
/// and the app idle; the next drop scans again and works.
#[test]
fn a_scan_that_panics_shows_the_error_and_the_app_stays_usable() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("shoot");
    photo_folder(&dir, 3);
    let exploded = Arc::new(AtomicBool::new(false));
    let scanner: conveyor::gui::app::Scanner = Arc::new(move |paths, options| {
        if !exploded.swap(true, Ordering::SeqCst) {
            panic!("the disk caught fire");
        }
        conveyor::engine::scan::scan(paths, options)
    });
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(move |_cc| {
            ConveyorApp::new(
                Settings::default(),
                Arc::new(FakePicker {
                    folder: None,
                    file: None,
                }),
                &Launch::default(),
            )
            .with_scanner(scanner)
        });
    h.step();
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(dir.clone())));
    step_until(&mut h, "the scan's error", |h| {
        has_label(h, "the disk caught fire")
    });
    assert!(has_label(&h, "the scan stopped unexpectedly"));
    assert!(!h.state().busy(), "a failed scan leaves nothing running");
    assert!(
        !has_label(&h, "Scanning…"),
        "the spinner stops once the scan has failed"
    );
    h.input_mut()
        .dropped_files
        .push(Arc::new(Dropped(dir.clone())));
    step_until(&mut h, "the second scan", |h| has_label(h, "3 images"));
}

/// #12: the quality row is a choice of Quality, Max file size and Visual quality; each sets the
/// recipe the batch runs with, and the results show what each file saved and the quality used.
#[test]
fn the_quality_row_offers_size_and_visual_targets_and_results_show_savings() {
    use conveyor::gui::settings::{QualityMode, VisualTarget};
    let (_tmp, out, mut h) = preloaded(4, settings_with_workers(2), Launch::default());
    assert!(h.state().settings().current_recipe().max_size.is_none());
    h.get_by_label("Visual quality").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::ComboBox, "Look").click();
    h.run_steps(3);
    h.get_by_label("Visually lossless (score 90)").click();
    h.run_steps(2);
    let recipe = h.state().settings().current_recipe();
    assert_eq!(recipe.target_score, Some(90.0));
    assert_eq!(recipe.max_size, None);
    // #37 item 5: the search may go up to quality 100 (the cap is shown, not hidden at the
    // fixed quality's value), and the card says what the output aims at, not "q85".
    assert_eq!(recipe.quality, 100);
    assert!(h.query_all_by_label("Highest quality").count() >= 1);
    assert!(has_label(&h, "JPEG look 90"));
    assert_eq!(h.query_all_by_label_contains("JPEG q").count(), 0);
    assert_eq!(
        h.state().settings().first().quality_form.visual,
        VisualTarget::VisuallyLossless
    );
    h.get_by_label("Max file size").click();
    h.run_steps(2);
    assert_eq!(
        h.state().settings().first().quality_form.mode,
        QualityMode::MaxSize
    );
    let recipe = h.state().settings().current_recipe();
    assert_eq!(recipe.target_score, None);
    assert_eq!(
        recipe.max_size,
        Some(200 * 1024),
        "the field's default, 200 KiB"
    );
    assert_eq!(recipe.quality, 85, "the fixed quality is given back");
    assert!(has_label(&h, "JPEG ≤ 200.0 KiB"));
    // PNG is lossless: the row goes away and the recipe carries no target.
    h.get_by_role_and_label(Role::ComboBox, "Output format")
        .click();
    h.run_steps(3);
    h.get_by_label("PNG").click();
    h.run_steps(2);
    assert!(h.query_by_label("Max file size").is_none());
    assert_eq!(h.state().settings().current_recipe().max_size, None);
    h.get_by_role_and_label(Role::ComboBox, "Output format")
        .click();
    h.run_steps(3);
    h.get_by_label("JPEG").click();
    h.run_steps(2);
    // Run the batch under the size limit: every file says what it saved and its quality.
    h.state_mut().start();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let view = h.state().batch_view().unwrap();
    assert_eq!(view.ok, 4);
    for row in &view.results {
        let detail = view.row_detail(row);
        assert!(
            detail.contains("saved") || detail.contains("grew"),
            "{detail}"
        );
        assert!(detail.contains("quality 85"), "{detail}");
    }
    assert!(view.saved_text().contains("saved"), "{}", view.saved_text());
    assert!(common::snapshot(&out).len() == 4);
    h.run_steps(2);
    assert!(has_label(&h, &view_saved(&h)));
}

fn view_saved(h: &Harness<'_, ConveyorApp>) -> String {
    h.state().batch_view().unwrap().saved_text()
}

/// #12: before Start, the preview converts the first image in memory with the current recipe
/// and says what the output weighs; a recipe change converts again once the recipe settles;
/// another image can be picked; the batch's estimate appears beside Start; nothing is written.
#[test]
fn the_preview_follows_the_recipe_and_the_estimate_shows_beside_start() {
    use conveyor::engine::units::human_bytes;
    let (tmp, out, mut h) = preloaded(4, settings_with_workers(2), Launch::default());
    let shown_bytes = |h: &Harness<'_, ConveyorApp>| {
        h.state()
            .trials()
            .shown
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .map(|s| (s.trial.output_bytes, s.path.clone(), s.trial.after.width))
    };
    step_until(&mut h, "the preview", |h| shown_bytes(h).is_some());
    let (jpeg_bytes, first, width) = shown_bytes(&h).unwrap();
    assert_eq!(
        width, 64,
        "the recipe's fit 64x64 applied to a 160x120 image"
    );
    h.run_steps(2);
    assert!(has_label(
        &h,
        &format!("Output: {}", human_bytes(jpeg_bytes))
    ));
    // Another recipe: the preview follows (after the recipe settles).
    h.get_by_role_and_label(Role::ComboBox, "Output format")
        .click();
    h.run_steps(3);
    h.get_by_label("PNG").click();
    step_until(&mut h, "a PNG preview", |h| {
        shown_bytes(h).is_some_and(|(b, _, _)| b != jpeg_bytes)
    });
    let (png_bytes, _, _) = shown_bytes(&h).unwrap();
    h.run_steps(2);
    assert!(has_label(
        &h,
        &format!("Output: {}", human_bytes(png_bytes))
    ));
    // Another image.
    let other = tmp.path().join("in/set1/p001.png");
    assert_ne!(first, other);
    h.state_mut().pick_trial(other.clone());
    step_until(&mut h, "the picked image's preview", |h| {
        shown_bytes(h).is_some_and(|(_, p, _)| p == other)
    });
    step_until(&mut h, "the estimate", |h| has_label(h, "Estimate: about"));
    let estimate = h
        .state()
        .trials()
        .estimate
        .clone()
        .flatten()
        .expect("an estimate");
    assert!(estimate.sampled >= 1 && estimate.total_bytes > 0);
    assert!(!out.exists(), "a preview writes nothing");
}

/// `conveyor gui --recipe FILE [options]` shows the file's outputs, each with the options
/// applied, as `conveyor run` would.
#[test]
fn a_recipe_given_at_launch_shows_its_outputs_with_the_options_applied() {
    use conveyor::engine::options::{RecipePatch, Value};
    use conveyor::engine::recipe::{OutputFormat, Recipe, ResizeSpec};
    let outputs = vec![
        Recipe {
            resize: Some(ResizeSpec::Fit(480, 480)),
            format: OutputFormat::To(Format::Webp),
            subfolder: "480".into(),
            ..Recipe::default()
        },
        Recipe {
            resize: Some(ResizeSpec::Long(1920)),
            format: OutputFormat::To(Format::Jpeg),
            ..Recipe::default()
        },
    ];
    let launch = Launch {
        recipes: outputs.clone(),
        recipe: RecipePatch::default()
            .with("quality", Value::Int(55))
            .expect("a valid quality"),
        ..Launch::default()
    };
    let mut h = harness(Settings::default(), launch, None);
    h.step();
    let shown = h.state().settings().current_recipes();
    assert_eq!(shown.len(), 2);
    for (shown, given) in shown.iter().zip(&outputs) {
        assert_eq!(shown.resize, given.resize);
        assert_eq!(shown.format, given.format);
        assert_eq!(shown.subfolder, given.subfolder);
        assert_eq!(shown.quality, 55, "the option applies to every output");
    }
    assert!(has_label(&h, "Output 2"));
}

/// #17 item 1: once a batch has ended, its clock, rates and chart freeze; frames drawn later
/// (here over 1.5 s of wall time) change none of them.
#[test]
fn the_clock_and_the_chart_freeze_when_the_batch_ends() {
    let extra = Launch {
        start: true,
        ..Launch::default()
    };
    let (_tmp, _out, mut h) = preloaded(4, settings_with_workers(2), extra);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let figures = |h: &Harness<'_, ConveyorApp>| {
        let v = h.state().batch_view().expect("view");
        (v.active_seconds(), v.images_per_second(), v.samples.len())
    };
    let at_end = figures(&h);
    let later = Instant::now() + Duration::from_millis(1500);
    step_until(&mut h, "1.5 s of frames after the end", |_| {
        Instant::now() >= later
    });
    assert_eq!(figures(&h), at_end, "the finished batch's figures froze");
}

/// #17 item 14: while a batch runs, its progress reaches the window title at most every half
/// second. A title change asks for a frame at once, so sending every new count undid the
/// pool's frame cap (a 20,000-file batch drew as many frames as the CPU allowed). The finished
/// title is sent at once.
#[test]
fn a_running_batch_updates_the_title_at_most_twice_a_second() {
    let extra = Launch {
        start: true,
        ..Launch::default()
    };
    let (_tmp, _out, mut h) = preloaded(120, settings_with_workers(2), extra);
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    let began = Instant::now();
    let sent = |h: &Harness<'_, ConveyorApp>| -> Vec<String> {
        h.output()
            .viewport_output
            .values()
            .flat_map(|v| v.commands.iter())
            .filter_map(|c| match c {
                egui::ViewportCommand::Title(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    };
    let (mut while_running, mut frames_with_progress) = (Vec::new(), 0);
    let mut last_done = 0;
    let mut finished_title = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "timed out waiting for the batch");
        h.step();
        let view = h.state().batch_view().expect("view");
        let (done, finished) = (view.done(), view.finished);
        if done != last_done {
            frames_with_progress += 1;
            last_done = done;
        }
        let titles = sent(&h);
        if finished {
            finished_title = titles.last().cloned().or(finished_title);
            if finished_title.is_some() {
                break;
            }
        } else {
            while_running.extend(titles);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let allowed = 1 + began.elapsed().as_millis() / 500;
    assert!(
        frames_with_progress > 3,
        "the batch should span several frames ({frames_with_progress})"
    );
    assert!(
        (while_running.len() as u128) <= allowed,
        "{} titles sent while running in {:?} ({frames_with_progress} frames with progress): \
         {while_running:?}",
        while_running.len(),
        began.elapsed()
    );
    let last = finished_title.expect("a finished title");
    assert!(last.contains("finished: 120 converted"), "{last}");
}

/// #17 item 14: the panels leave their background to the window's clear colour. On a
/// software-rendered desktop every filled pixel is shaded on the CPU each frame, and three
/// panel-sized rectangles doubled the rasterizer's work during a batch (its threads used
/// 26 ms of CPU per frame, 15 ms without them).
#[test]
fn no_panel_sized_rectangle_is_painted_over_the_clear_colour() {
    fn rects(shape: &egui::Shape, out: &mut Vec<(egui::Rect, egui::Color32)>) {
        match shape {
            egui::Shape::Rect(r) => out.push((r.rect, r.fill)),
            egui::Shape::Vec(v) => v.iter().for_each(|s| rects(s, out)),
            _ => {}
        }
    }
    let extra = Launch {
        start: true,
        ..Launch::default()
    };
    let (_tmp, _out, mut h) = preloaded(8, settings_with_workers(2), extra);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let screen = h.ctx.content_rect();
    let mut painted = Vec::new();
    for clipped in &h.output().shapes {
        rects(&clipped.shape, &mut painted);
    }
    assert!(
        painted.len() > 10,
        "the frame paints rectangles: {}",
        painted.len()
    );
    let big: Vec<_> = painted
        .iter()
        .filter(|(r, fill)| {
            *fill != egui::Color32::TRANSPARENT && r.intersect(screen).area() > screen.area() * 0.2
        })
        .collect();
    assert!(
        big.is_empty(),
        "filled rectangles over a fifth of the window: {big:?}"
    );
}

/// #17 item 3: a cancelled batch says how many finished and how many were cancelled, in words
/// and in the bar, which stops where the work stopped.
#[test]
fn a_cancelled_batch_shows_what_finished_and_what_did_not() {
    let (_tmp, _out, mut h) = paused_batch(300);
    h.key_press(egui::Key::Escape);
    step_until(&mut h, "the cancel to wind down", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().expect("view");
    assert!(v.cancelled > 0, "some images were cancelled");
    assert_eq!(v.done() + v.cancelled, 300);
    assert!(v.fraction() < 1.0, "the bar is not full");
    // #37 item 7: what ended is split into converted, failed and cancelled, never "done".
    let split = if v.failed > 0 {
        format!(
            "{} converted · {} failed · {} cancelled",
            v.ok, v.failed, v.cancelled
        )
    } else {
        format!("{} converted · {} cancelled", v.ok, v.cancelled)
    };
    let words = format!("Overall: {} of 300 · {split}", v.ended());
    assert!(has_label(&h, &words), "{words}");
    // The bar says it too: the split is on screen twice.
    assert_eq!(h.query_all_by_label_contains(&split).count(), 2, "{split}");
    assert_eq!(
        h.query_all_by_label_contains(" done").count(),
        0,
        "no count calls failures done"
    );
}

/// #17 item 10: the notice that a drop was refused while a batch ran goes when the batch ends.
#[test]
fn the_busy_drop_notice_goes_when_the_batch_ends() {
    let (tmp, _out, mut h) = paused_batch(300);
    let other = tmp.path().join("other");
    photo_folder(&other, 2);
    h.input_mut().dropped_files.push(Arc::new(Dropped(other)));
    h.step();
    assert_eq!(
        h.state().message(),
        Some("A batch is running; drop again when it is done.")
    );
    h.key_press(egui::Key::Space);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    assert_eq!(h.state().message(), None, "the stale notice is gone");
}

/// The RIFF chunk names of a WebP file: "VP8 " is lossy, "VP8L" lossless.
fn webp_chunks(bytes: &[u8]) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut i = 12;
    while i + 8 <= bytes.len() {
        chunks.push(String::from_utf8_lossy(&bytes[i..i + 4]).into_owned());
        let len = u32::from_le_bytes(bytes[i + 4..i + 8].try_into().unwrap()) as usize;
        i += 8 + len + (len & 1);
    }
    chunks
}

/// #17 item 2 and acceptance 3: `conveyor gui --format webp --start` after a launch that saved
/// lossless WebP at quality 70 with overwrite writes lossy WebP with the command line's
/// defaults, shows that recipe, and saves the earlier settings back until the user changes
/// something.
#[test]
fn command_line_recipe_options_beat_saved_settings_and_are_saved_only_when_changed() {
    use conveyor::engine::options::{RecipePatch, Value};
    use conveyor::engine::recipe::{OnExist, OutputFormat, Recipe};
    let mut saved = settings_with_workers(1);
    saved.first_mut().recipe.format = OutputFormat::To(Format::Webp);
    saved.first_mut().recipe.lossless = true;
    saved.first_mut().recipe.quality = 70;
    saved.first_mut().recipe.on_exist = OnExist::Overwrite;
    let extra = Launch {
        recipe: RecipePatch::default()
            .with("format", Value::Text("webp".into()))
            .expect("a valid format"),
        start: true,
        ..Launch::default()
    };
    let (_tmp, out, mut h) = preloaded(3, saved.clone(), extra);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let want = Recipe {
        format: OutputFormat::To(Format::Webp),
        ..Recipe::default()
    };
    assert_eq!(
        h.state().settings().current_recipe(),
        want,
        "exactly the recipe `conveyor run --format webp` builds"
    );
    let written = common::snapshot(&out);
    let webps: Vec<_> = written
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "webp"))
        .collect();
    assert_eq!(webps.len(), 3);
    for (path, bytes) in webps {
        let chunks = webp_chunks(bytes);
        assert!(
            chunks.iter().any(|c| c == "VP8 ") && !chunks.iter().any(|c| c == "VP8L"),
            "{}: lossy, not lossless: {chunks:?}",
            path.display()
        );
    }
    h.step();
    assert!(
        h.state().settings_to_save() == saved,
        "unchanged, the command line's recipe is not saved over the user's"
    );
    h.get_by_label("Keep file dates").click();
    h.step();
    let to_save = h.state().settings_to_save();
    assert!(to_save.first().recipe.keep_dates, "a change is saved");
    assert!(
        !to_save.first().recipe.lossless,
        "with the recipe it was made to"
    );
}

/// #17 item 12: the count steps by one either way, rows are numbered by position (2 → 1 → 3
/// reads Worker 1, 2, 3, not 1, 3, 4), and the panels below keep their place as rows go.
#[test]
fn the_worker_stepper_sets_exact_counts_and_rows_are_numbered_by_position() {
    let (_tmp, _out, mut h) = preloaded(40, settings_with_workers(2), Launch::default());
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause and two rows", |h| {
        h.state().batch_view().is_some_and(|v| v.paused) && worker_rows(h) == 2
    });
    let overall_y =
        |h: &Harness<'_, ConveyorApp>| h.get_by_label_contains("Overall: ").rect().top();
    let with_two = overall_y(&h);
    h.get_by_label(" − ").click();
    step_until(&mut h, "one row", |h| worker_rows(h) == 1);
    h.step();
    assert_eq!(h.state().settings().workers, 1);
    assert_eq!(overall_y(&h), with_two, "the panel below kept its place");
    h.get_by_label(" + ").click();
    h.step();
    h.get_by_label(" + ").click();
    step_until(&mut h, "three rows", |h| worker_rows(h) == 3);
    h.step();
    assert_eq!(h.state().settings().workers, 3);
    let ids: Vec<_> = h
        .state()
        .batch_view()
        .expect("view")
        .workers
        .keys()
        .copied()
        .collect();
    assert_ne!(ids, vec![1, 2, 3], "the threads themselves are 1, 3 and 4");
    for n in 1..=3 {
        assert!(has_label(&h, &format!("Worker {n}")), "Worker {n}");
    }
    assert!(!has_label(&h, "Worker 4"), "rows are numbered by position");
    let with_three = overall_y(&h);
    h.key_press(egui::Key::Space);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    assert_eq!(
        overall_y(&h),
        with_three,
        "rows that went leave their room, so nothing jumps up at the end"
    );
}

/// #17 item 7: a file given as the output folder is refused once, in a sentence, before any
/// file is planned; nothing runs and "Open output folder" is never offered for it.
#[test]
fn a_file_given_as_the_output_folder_is_refused_once_before_start() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    photo_folder(&dir, 6);
    let file = tmp.path().join("not-a-folder.txt");
    std::fs::write(&file, b"notes").unwrap();
    let launch = Launch {
        inputs: vec![dir],
        out: Some(file.clone()),
        ..Launch::default()
    };
    let mut h = harness(settings_with_workers(2), launch, None);
    step_until(&mut h, "the scan", |h| has_label(h, "6 images"));
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the refusal", |h| {
        h.state().message().is_some() && !h.state().busy()
    });
    h.step();
    let message = h.state().message().unwrap().to_owned();
    assert!(message.contains("is a file, not a folder"), "{message}");
    assert!(has_label(&h, &message), "said on screen");
    assert!(h.state().batch_view().is_none(), "nothing was started");
    assert!(!has_label(&h, "os error"), "no raw per-file errors");
    assert!(h.query_by_label("Open output folder").is_none());
    assert_eq!(std::fs::read(&file).unwrap(), b"notes");
}

/// #17 item 8: where no file dialog can be shown, Browse…, Choose output…, Save report… and
/// Open output folder each say so; the folders can be typed instead, and a typed batch runs.
#[test]
fn buttons_that_cannot_work_say_so_and_paths_can_be_typed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    photo_folder(&dir, 3);
    let out = tmp.path().join("typed-out");
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(|_cc| {
            ConveyorApp::new(
                settings_with_workers(1),
                Arc::new(NoDialogs),
                &Launch::default(),
            )
            .with_opener("/nonexistent/opener")
        });
    h.step();
    h.get_by_label("🗀 Browse…").click();
    step_until(&mut h, "Browse…'s message", |h| {
        h.state()
            .message()
            .is_some_and(|m| m.contains("Could not choose a folder"))
    });
    assert!(has_label(&h, "no dialog service here"), "said on screen");

    // A path that is not there is refused with a sentence; a real one loads.
    let field = h.get_by_role_and_label(Role::TextInput, "or a path:");
    field.focus();
    field.type_text("/no/such/folder");
    h.step();
    h.key_press(egui::Key::Enter);
    h.step();
    assert_eq!(
        h.state().message(),
        Some("There is no folder or image at /no/such/folder.")
    );
    let field = h.get_by_role_and_label(Role::TextInput, "or a path:");
    field.focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "or a path:")
        .type_text(&dir.display().to_string());
    h.step();
    h.key_press(egui::Key::Enter);
    step_until(&mut h, "the typed folder's scan", |h| {
        has_label(h, "3 images")
    });

    h.get_by_label("Choose output…").click();
    step_until(&mut h, "Choose output…'s message", |h| {
        h.state()
            .message()
            .is_some_and(|m| m.contains("Could not choose the output folder"))
    });
    h.get_by_role_and_label(Role::TextInput, "Output folder:")
        .focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(Role::TextInput, "Output folder:")
        .type_text(&out.display().to_string());
    h.step();
    h.key_press(egui::Key::Tab);
    h.step();
    h.step();
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    assert_eq!(
        common::snapshot(&out).len(),
        3,
        "written where the typed path says"
    );

    h.get_by_label("Open output folder").click();
    step_until(&mut h, "Open output folder's message", |h| {
        h.state()
            .message()
            .is_some_and(|m| m.contains("Could not open the output folder"))
    });
    h.get_by_label("Save report…").click();
    step_until(&mut h, "Save report…'s message", |h| {
        h.state()
            .message()
            .is_some_and(|m| m.contains("report was saved in the output folder"))
    });
    let report = out.join("conveyor-report.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(json["summary"]["ok"], 3);
}

/// #17 item 5: output names are shown. The naming example is the real first image through the
/// recipe; a name changed by a collision says so in its row; the preview names the output.
#[test]
fn output_names_are_shown_in_the_example_rows_and_preview() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    common::put(
        &dir,
        "pic.png",
        &common::encode(&common::photo(300, 200), image::ImageFormat::Png),
    );
    common::put(
        &dir,
        "pic.tiff",
        &common::encode(&common::photo(300, 200), image::ImageFormat::Tiff),
    );
    let mut settings = settings_with_workers(1);
    settings.first_mut().recipe.name_template = "{stem}_{w}x{h}".parse().unwrap();
    let launch = Launch {
        inputs: vec![dir],
        out: Some(tmp.path().join("out")),
        ..Launch::default()
    };
    let mut h = harness(settings, launch, None);
    step_until(&mut h, "the scan", |h| has_label(h, "2 images"));
    // 300×200 fitted into 64×64 is 64×43: the example is computed, not made up.
    assert!(
        has_label(&h, "e.g. pic_64x43.jpg"),
        "the real first image's name"
    );
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    assert!(
        has_label(&h, "renamed to pic_64x43-1.jpg"),
        "the collision is said in the row"
    );
    let renamed = h.get_by_label_contains("renamed to");
    renamed.click();
    step_until(&mut h, "the preview", |h| has_label(h, "After"));
    assert!(
        has_label(&h, "Output: pic_64x43-1.jpg (renamed to"),
        "the preview names the output"
    );
}

/// #17 item 4: before Start the window plans in the background and says what will happen:
/// here every output's name is taken by a file Conveyor did not make, so all would be skipped;
/// one click overwrites them instead, and Start then does exactly what was shown.
#[test]
fn the_plan_before_start_shows_skips_and_one_click_changes_the_policy() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    photo_folder(&dir, 6);
    for i in 0..6 {
        common::put(
            &out,
            &format!("set{}/p{i:03}.jpg", i % 2),
            b"someone else's file",
        );
    }
    let launch = Launch {
        inputs: vec![dir],
        out: Some(out.clone()),
        ..Launch::default()
    };
    let mut h = harness(settings_with_workers(2), launch, None);
    step_until(&mut h, "the plan before Start", |h| {
        has_label(
            h,
            "6 outputs will be skipped: a file Conveyor did not make has the name.",
        )
    });
    assert!(
        h.query_by_label("0 outputs").is_some(),
        "nothing would be written"
    );
    h.get_by_label("Overwrite them").click();
    step_until(&mut h, "the new plan", |h| {
        has_label(h, "6 outputs replace files Conveyor did not make")
    });
    assert!(h.query_by_label("6 outputs").is_some());
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let v = h.state().batch_view().unwrap();
    assert_eq!((v.ok, v.skipped), (6, 0), "what the plan said");
}

/// #17 item 13: what an XnConvert user expects. The input's files are listed before Start in
/// natural order with pictures loaded in the background; the results come in natural order;
/// Up and Down move the selection; double-click opens the output and right-click offers its
/// path; a paused batch's ETA says so.
#[cfg(unix)]
#[test]
fn files_before_start_natural_order_keys_double_click_and_menu() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    for i in 1..=12 {
        common::put(
            &dir,
            &format!("img_{i}.png"),
            &common::encode(&common::photo(100 + i, 80), image::ImageFormat::Png),
        );
    }
    // An opener that writes down what it was asked to open.
    let opened = tmp.path().join("opened.txt");
    let opener = tmp.path().join("opener.sh");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let launch = Launch {
        inputs: vec![dir],
        out: Some(out.clone()),
        ..Launch::default()
    };
    let opener_path = opener.display().to_string();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        // Frames a 60th of a second apart, so two clicks a frame apart are a double-click.
        .with_step_dt(1.0 / 60.0)
        .build_eframe(move |_cc| {
            ConveyorApp::new(
                settings_with_workers(1),
                Arc::new(FakePicker {
                    folder: None,
                    file: None,
                }),
                &launch,
            )
            .with_opener(&opener_path)
        });
    step_until(&mut h, "the file list", |h| has_label(h, "Files (12)"));
    // Pictures load off the UI thread; a loaded row shows the image's own size.
    step_until(&mut h, "the first thumbnails", |h| {
        has_label(h, "101×80 · ")
    });
    let y = |h: &Harness<'_, ConveyorApp>, name: &str| h.get_by_label(name).rect().top();
    assert!(
        y(&h, "img_2.png") < y(&h, "img_10.png"),
        "img_2 before img_10"
    );

    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().unwrap();
    let names: Vec<String> = v.listed().map(|r| v.row_name(r)).collect();
    let want: Vec<String> = (1..=12).map(|i| format!("img_{i}.png")).collect();
    assert_eq!(names, want, "results in natural order");

    // Arrow keys.
    h.get_by_label_contains("img_1.png  —  ").click();
    h.step();
    let job_of = |h: &Harness<'_, ConveyorApp>, i: usize| {
        h.state().batch_view().unwrap().listed().nth(i).unwrap().job
    };
    assert_eq!(h.state().selected(), Some(job_of(&h, 0)));
    h.key_press(egui::Key::ArrowDown);
    h.step();
    h.key_press(egui::Key::ArrowDown);
    h.step();
    assert_eq!(h.state().selected(), Some(job_of(&h, 2)), "two rows down");
    h.key_press(egui::Key::ArrowUp);
    h.step();
    assert_eq!(h.state().selected(), Some(job_of(&h, 1)));

    // Double-click opens the output with the desktop's opener.
    h.get_by_label_contains("img_3.png  —  ").click();
    h.step();
    h.get_by_label_contains("img_3.png  —  ").click();
    h.step();
    step_until(&mut h, "the opener", |_| opened.exists());
    let output = h
        .state()
        .batch_view()
        .unwrap()
        .jobs()
        .get(job_of(&h, 2))
        .unwrap()
        .output
        .clone();
    step_until(&mut h, "the opener to finish", |_| {
        std::fs::read_to_string(&opened).is_ok_and(|t| t.lines().count() >= 1)
    });
    assert_eq!(
        std::fs::read_to_string(&opened).unwrap().trim(),
        output.display().to_string()
    );

    // Right-click offers the output's path.
    h.get_by_label_contains("img_4.png  —  ").click_secondary();
    step_until(&mut h, "the row's menu", |h| {
        h.query_by_label("Copy the output's path").is_some()
    });
    h.get_by_label("Copy the output's path").click();
    h.step();
    let output = h
        .state()
        .batch_view()
        .unwrap()
        .jobs()
        .get(job_of(&h, 3))
        .unwrap()
        .output
        .clone();
    assert_eq!(
        h.state().message(),
        Some(format!("Copied: {}", output.display()).as_str())
    );
}

/// #17 item 13: while paused, the ETA reads "paused".
#[test]
fn a_paused_batch_says_paused_for_its_eta() {
    let (_tmp, _out, mut h) = paused_batch(300);
    h.step();
    assert!(has_label(&h, "ETA paused"));
    h.key_press(egui::Key::Escape);
    step_until(&mut h, "the cancel", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
}

/// Whether the node labelled `label` lies wholly inside a `w`×`h` window.
fn inside(h: &Harness<'_, ConveyorApp>, label: &str, (w, hgt): (f32, f32)) -> Result<(), String> {
    let node = h
        .query_by_label(label)
        .or_else(|| h.query_by_label_contains(label))
        .ok_or_else(|| format!("{label}: not shown"))?;
    let r = node.rect();
    if r.min.x >= 0.0 && r.min.y >= 0.0 && r.max.x <= w + 0.5 && r.max.y <= hgt + 0.5 {
        Ok(())
    } else {
        Err(format!("{label}: {r:?} is outside {w}×{hgt}"))
    }
}

/// #17 item 11: at the window's own minimum size (900×600) nothing a user needs falls off:
/// the header, Start, the output folder, the plan, and once finished Save report… and both
/// sides of the preview.
#[test]
fn the_layout_holds_at_the_minimum_window_size() {
    let size = (900.0, 600.0);
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    photo_folder(&dir, 8);
    let launch = Launch {
        inputs: vec![dir],
        out: Some(out),
        ..Launch::default()
    };
    let mut h = harness_at(size, launch);
    step_until(&mut h, "the plan before Start", |h| {
        has_label(h, "Start will write")
    });
    h.step();
    let mut problems = Vec::new();
    for label in [
        "Conveyor",
        "🗀 Browse…",
        "▶ Start",
        "Start will write",
        "Files (8)",
    ] {
        problems.extend(inside(&h, label, size).err());
    }
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    h.get_all_by_label_contains("  —  ").next().unwrap().click();
    step_until(&mut h, "the preview", |h| has_label(h, "After"));
    h.step();
    for label in [
        "Conveyor",
        "Save report…",
        "Open output folder",
        "Before",
        "After",
        "8 images, ",
        " + ",
    ] {
        problems.extend(inside(&h, label, size).err());
    }
    // Nothing laid out wider than the window: the overall bar spans the central area only.
    for bar in h.query_all_by_role(Role::ProgressIndicator) {
        let r = bar.rect();
        if r.max.x > size.0 + 0.5 {
            problems.push(format!("a progress bar ends at x = {}", r.max.x));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// #37 item 3: a refusal goes once its cause does. Two outputs that collide are refused at
/// Start; changing the second to JPEG in a sub-folder clears the message. An output folder that
/// is a file is refused; choosing a folder clears it.
#[test]
fn a_message_goes_when_its_cause_is_gone() {
    use conveyor::engine::recipe::OutputFormat;
    use conveyor::gui::command::Command;
    let mut settings = settings_with_workers(2);
    let second = settings.duplicate_output(0);
    // The user clears the copy's own sub-folder: both outputs now write the same files.
    settings.outputs[second].recipe.subfolder.clear();
    let (tmp, _out, mut h) = preloaded(4, settings, Launch::default());
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the refusal", |h| {
        h.state()
            .message()
            .is_some_and(|m| m.contains("would write the same files"))
    });
    let second = &mut h.state_mut().settings_mut().outputs[1];
    second.recipe.format = OutputFormat::To(Format::Png);
    second.recipe.subfolder = "png".into();
    h.run_steps(2);
    assert_eq!(h.state().message(), None, "the collision is gone");

    let file = tmp.path().join("a-file.txt");
    std::fs::write(&file, b"x").unwrap();
    let ctx = h.ctx.clone();
    h.state_mut().apply(&ctx, Command::SetOutput(file));
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the folder refusal", |h| {
        h.state()
            .message()
            .is_some_and(|m| m.contains("is a file, not a folder"))
    });
    let folder = tmp.path().join("fine");
    h.state_mut().apply(&ctx, Command::SetOutput(folder));
    h.run_steps(2);
    assert_eq!(h.state().message(), None, "a folder was chosen");
}

/// #37 item 4: after a batch, changing the recipe plans again: the results make way for the
/// forecast ("Start will write …") and the preview, without typing the input again.
#[test]
fn after_a_batch_a_changed_recipe_plans_again() {
    use conveyor::engine::recipe::OutputFormat;
    let (_tmp, _out, mut h) = preloaded(4, settings_with_workers(2), Launch::default());
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.run_steps(2);
    assert!(
        h.state().batch_view().is_some(),
        "the results stay while nothing changes"
    );
    h.state_mut().settings_mut().first_mut().recipe.format = OutputFormat::To(Format::Png);
    step_until(&mut h, "the new plan", |h| {
        h.state().batch_view().is_none()
            && has_label(h, "Start will write")
            && has_label(h, "4 outputs")
    });
    step_until(&mut h, "the preview", |h| has_label(h, "After"));
}

/// #37 item 10: an output folder chosen for one input is not the next input's.
#[test]
fn a_new_input_plans_into_its_own_output_folder() {
    let (tmp, out, mut h) = preloaded(3, settings_with_workers(2), Launch::default());
    assert_eq!(
        h.state().output_dir(),
        Some(out),
        "the folder given at launch"
    );
    let other = tmp.path().join("other");
    photo_folder(&other, 2);
    h.state_mut().set_input(vec![other.clone()]);
    step_until(&mut h, "the new scan", |h| has_label(h, "2 images"));
    let planned = format!("{}", other.with_file_name("other-converted").display());
    step_until(&mut h, "the plan into the new input's folder", |h| {
        h.state()
            .output_dir()
            .is_some_and(|d| d.display().to_string() == planned)
    });
}

/// #37 items 1 and 2 (the window's part): *Copy as command* (or Ctrl+Shift+C) says it copied and
/// shows the whole command in a box to read and select; at the window's minimum size, with a
/// long folder path, the message, the command and the plan wrap inside the window instead of
/// pushing it wider. (The clipboard itself is checked in the real window.)
#[test]
fn copy_as_command_shows_the_command_to_read_and_long_text_wraps() {
    let size = (900.0, 600.0);
    let tmp = tempfile::tempdir().expect("tmp");
    let deep = tmp
        .path()
        .join("a folder with a rather long name for the holiday photographs of 2026")
        .join("and another level below it, as photo libraries have");
    let (dir, out) = (deep.join("in"), deep.join("converted output"));
    photo_folder(&dir, 4);
    let launch = Launch {
        inputs: vec![dir],
        out: Some(out),
        ..Launch::default()
    };
    let mut h = harness_at(size, launch);
    step_until(&mut h, "the plan before Start", |h| {
        has_label(h, "Start will write")
    });
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::C,
    );
    h.run_steps(3);
    let command = h.state().copied_command().expect("copied").to_owned();
    assert!(command.starts_with("conveyor run "), "{command}");
    assert!(command.len() > 200, "a long command: {command}");
    let said = "Copied to the clipboard; the command is below to read.";
    assert_eq!(h.state().message(), Some(said));
    let shown = h
        .query_by_value(&command)
        .expect("the command is on screen");
    let r = shown.rect();
    let mut problems: Vec<String> = Vec::new();
    if r.max.x > size.0 + 0.5 || r.max.y > size.1 + 0.5 {
        problems.push(format!("the command box {r:?} is outside {size:?}"));
    }
    for label in [said, "▶ Start", "Start will write", "Conveyor"] {
        problems.extend(inside(&h, label, size).err());
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// #37 item 17: the top bar is one line whatever it says: with a long folder name and "1 other
/// file ignored" at the minimum window size, the summary stays on the title's row (cut short,
/// whole in its tooltip) and the page does not shift down.
#[test]
fn the_top_bar_stays_one_line() {
    let size = (900.0, 600.0);
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp
        .path()
        .join("a folder of holiday photographs with a name long enough to fill the bar");
    photo_folder(&dir, 3);
    std::fs::write(dir.join("notes.txt"), b"not an image").unwrap();
    let launch = Launch {
        inputs: vec![dir],
        out: Some(tmp.path().join("out")),
        ..Launch::default()
    };
    let mut h = harness_at(size, launch);
    step_until(&mut h, "the scan", |h| has_label(h, "1 other file ignored"));
    h.step();
    let title = h.get_by_label("Conveyor").rect();
    let summary = h.get_by_label_contains("1 other file ignored").rect();
    assert!(
        summary.center().y > title.min.y && summary.center().y < title.max.y,
        "the summary {summary:?} is on the title's row {title:?}"
    );
    assert!(
        summary.max.x <= size.0 + 0.5,
        "{summary:?} ends inside the window"
    );
}

/// #37 item 8: a full disk, then a read-only one, mid-batch: the batch pauses at once with one
/// message and a choice instead of failing every file after it; Retry goes on (starting with
/// the files it put back, so none is lost or failed), Stop ends it with the reason.
#[test]
#[ignore = "needs root and unshare(1) for a private tmpfs mount"]
fn a_full_or_read_only_disk_pauses_the_batch_with_retry_and_stop() {
    let name = "gui::a_full_or_read_only_disk_pauses_the_batch_with_retry_and_stop";
    let Some(disk) = crate::faults::inside_a_tmpfs(name, "2m") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    for i in 0..40 {
        // About 270 KB as PNG each: a handful fit.
        common::put(
            &dir,
            &format!("n{i:02}.bmp"),
            &common::encode(
                &crate::faults::noise(300, 300, i + 1),
                image::ImageFormat::Bmp,
            ),
        );
    }
    let filler = disk.join("filler");
    std::fs::write(&filler, vec![1u8; 1_200_000]).expect("filler");
    let out = disk.join("out");
    let mut settings = settings_with_workers(2);
    settings.first_mut().resize_form.set(None);
    settings.first_mut().recipe.format = conveyor::engine::recipe::OutputFormat::To(Format::Png);
    let mut h = harness(
        settings,
        Launch {
            inputs: vec![dir],
            out: Some(out.clone()),
            start: true,
            ..Launch::default()
        },
        None,
    );
    let halted = |h: &Harness<'_, ConveyorApp>| {
        h.state()
            .batch_view()
            .and_then(|v| v.halted.clone())
            .filter(|_| h.state().batch_view().is_some_and(|v| v.paused))
    };
    let on_disk = |out: &Path| {
        let files = common::snapshot(out);
        for (name, bytes) in &files {
            assert!(
                !name.to_string_lossy().contains(".conveyor-"),
                "temporary file left: {name:?}"
            );
            let img = image::load_from_memory(bytes).expect("every output present is whole");
            assert_eq!((img.width(), img.height()), (300, 300), "{name:?}");
        }
        files.len()
    };
    // Paused: the worker that met the full disk stops at once; another may be writing its
    // file (its temporary file is on disk until the write ends, kept or refused), so the files
    // are counted once no worker holds a job.
    step_until(&mut h, "the full disk to pause the batch", |h| {
        halted(h).is_some()
            && h.state()
                .batch_view()
                .is_some_and(|v| v.workers.values().all(|w| w.job.is_none()))
    });
    h.step();
    let why = halted(&h).expect("halted");
    assert!(why.contains("the disk is full"), "{why}");
    assert!(
        why.contains(&out.display().to_string()),
        "names the folder: {why}"
    );
    let v = h.state().batch_view().expect("view");
    assert_eq!(
        v.failed, 0,
        "the files the full disk met are put back, not failed"
    );
    assert!(v.ok < 40, "paused part-way");
    let first_ok = v.ok;
    assert_eq!(on_disk(&out), first_ok);
    assert!(has_label(
        &h,
        "The batch is paused: cannot write the output"
    ));
    assert!(has_label(&h, "Paused by a disk problem"));
    // Paused means paused: nothing more is read while the user decides.
    for _ in 0..20 {
        h.step();
    }
    assert_eq!(h.state().batch_view().expect("view").ok, first_ok);

    // Space is freed, but the output folder is now read-only (a read-only bind mount over it:
    // the disk itself cannot be remounted while the journal is open on it): Retry meets that,
    // and says so.
    std::fs::remove_file(&filler).expect("free space");
    let out_text = out.to_str().unwrap();
    crate::faults::mount(&["--bind", out_text, out_text]);
    crate::faults::mount(&["-o", "remount,bind,ro", out_text]);
    h.get_by_label("⟳ Retry").click();
    step_until(&mut h, "the read-only disk to pause the batch", |h| {
        halted(h).is_some_and(|w| w.contains("read-only"))
    });
    assert_eq!(h.state().batch_view().expect("view").failed, 0);

    // Writable again, with room for a few more: Retry goes on, then the disk fills again.
    let status = std::process::Command::new("umount")
        .args(["-l", out_text])
        .status()
        .unwrap();
    assert!(status.success(), "umount");
    h.get_by_label("⟳ Retry").click();
    step_until(&mut h, "more files converted", |h| {
        h.state().batch_view().is_some_and(|v| v.ok > first_ok)
    });
    step_until(&mut h, "the disk to fill again", |h| {
        halted(h).is_some_and(|w| w.contains("the disk is full"))
    });
    h.step();
    h.get_by_label("⏹ Stop").click();
    step_until(&mut h, "the batch to stop", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().expect("view");
    assert_eq!(v.failed, 0, "{:?}", v.stopped_by);
    assert!(v.cancelled > 0);
    assert_eq!(v.ok + v.cancelled, 40);
    assert!(
        v.stopped_by
            .as_deref()
            .is_some_and(|w| w.contains("the disk is full"))
    );
    assert_eq!(
        on_disk(&out),
        v.ok,
        "every converted file is on the disk, whole"
    );
    assert!(has_label(&h, "Stopped: cannot write the output"));
    assert_eq!(
        h.query_all_by_label_contains("The batch is paused").count(),
        0
    );
}

/// #37 items 6 and 16: the plan leaves out files the estimate's sample already saw fail, and
/// says which; the estimate covers only what is left to write (after a partial batch, not the
/// whole one again), and never shows a stale figure while a new one is made; the live rate
/// counts converted files only (a batch whose every file fails shows 0.0 images/s, no ETA).
#[test]
fn the_plan_and_estimate_count_what_is_left_and_what_will_fail() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    photo_folder(&dir, 4);
    let jpeg = common::encode(&common::photo(400, 300), image::ImageFormat::Jpeg);
    common::put(&dir, "truncated.jpg", &jpeg[..jpeg.len() / 3]);
    common::put(
        &dir,
        "garbage.png",
        b"a shopping list, not a picture at all\n",
    );
    common::put(&dir, "empty.jpg", b"");
    let launch = Launch {
        inputs: vec![dir.clone()],
        out: Some(out.clone()),
        ..Launch::default()
    };
    let mut h = harness(settings_with_workers(2), launch, None);
    step_until(&mut h, "the sampled failures", |h| {
        has_label(h, "3 of 7 sampled images could not be converted")
    });
    step_until(&mut h, "the plan", |h| has_label(h, "Start will write"));
    h.step();
    assert!(
        h.query_by_label("4 outputs").is_some(),
        "the three broken files are not counted as outputs Start will write"
    );
    // The empty file is known from the scan; the other two from the estimate's sample.
    assert!(has_label(
        &h,
        "3 outputs will fail: empty files, and files that"
    ));
    for name in ["garbage.png", "truncated.jpg"] {
        assert!(
            h.query_all_by_label_contains(name).count() >= 1,
            "{name} named"
        );
    }

    let whole = match h.state().trials().estimate.clone().flatten() {
        Some(e) => e.total_bytes,
        None => panic!("an estimate"),
    };
    assert!(whole > 0);
    assert!(has_label(&h, "Estimate: about"));
    assert!(!has_label(&h, "outputs left"), "nothing converted yet");
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let v = h.state().batch_view().expect("view");
    assert_eq!((v.ok, v.failed), (4, 3));
    let rate = v.images_per_second();
    assert!(
        (rate - v.ok as f64 / v.active_seconds()).abs() < 1e-9,
        "the rate counts the 4 converted, not the 3 failed: {rate}"
    );

    // Another output format for the same folder: a new plan. Its estimate says it is being
    // made (no stale figure) and then covers the outputs left.
    h.state_mut().settings_mut().first_mut().recipe.format =
        conveyor::engine::recipe::OutputFormat::To(Format::Png);
    step_until(&mut h, "the estimate to update", |h| {
        has_label(h, "Updating the estimate")
    });
    assert!(
        !has_label(&h, "Estimate: about"),
        "no stale estimate beside the spinner"
    );
    step_until(&mut h, "the new estimate", |h| {
        has_label(h, "Estimate: about")
    });
    // Back to JPEG: the 4 photos are done, the 3 broken files are all that is left.
    h.state_mut().settings_mut().first_mut().recipe.format =
        conveyor::engine::recipe::OutputFormat::To(Format::Jpeg);
    step_until(&mut h, "the estimate of what is left", |h| {
        has_label(h, "for the 3 outputs left")
    });
}

/// #37 item 6: a batch whose every file fails has converted nothing: its rate is 0.0
/// images/s and it has no ETA, whatever the failures' pace.
#[test]
fn a_batch_of_failures_shows_no_rate_and_no_eta() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    for i in 0..30 {
        common::put(
            &dir,
            &format!("bad{i:02}.jpg"),
            b"\xff\xd8\xff\xe0 not really",
        );
    }
    let launch = Launch {
        inputs: vec![dir],
        out: Some(out),
        start: true,
        ..Launch::default()
    };
    let mut h = harness(settings_with_workers(2), launch, None);
    step_until(&mut h, "some failures", |h| {
        h.state().batch_view().is_some_and(|v| v.failed >= 5)
    });
    let v = h.state().batch_view().expect("view");
    assert_eq!(v.images_per_second(), 0.0);
    assert_eq!(v.eta_seconds(), None);
    step_until(&mut h, "the end", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let rates = h.query_all_by_label_contains("images/s").count();
    let none =
        h.query_all_by_label("0.0 images/s").count() + h.query_all_by_label("— images/s").count();
    assert!(
        rates > 0 && rates == none,
        "no rate for a batch that converted nothing"
    );
    assert!(has_label(&h, "Done, with failures"));
}

/// #37 item 8: before Start, an estimate larger than the output disk's free space is warned
/// about.
#[test]
#[ignore = "needs root and unshare(1) for a private tmpfs mount"]
fn an_estimate_larger_than_the_free_space_is_warned_about_before_start() {
    let name = "gui::an_estimate_larger_than_the_free_space_is_warned_about_before_start";
    let Some(disk) = crate::faults::inside_a_tmpfs(name, "256k") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    for i in 0..8 {
        common::put(
            &dir,
            &format!("n{i:02}.bmp"),
            &common::encode(
                &crate::faults::noise(300, 300, i + 1),
                image::ImageFormat::Bmp,
            ),
        );
    }
    let mut settings = settings_with_workers(2);
    settings.first_mut().resize_form.set(None);
    settings.first_mut().recipe.format = conveyor::engine::recipe::OutputFormat::To(Format::Png);
    let launch = Launch {
        inputs: vec![dir],
        out: Some(disk.join("out")),
        ..Launch::default()
    };
    let mut h = harness(settings, launch, None);
    step_until(&mut h, "the free-space warning", |h| {
        has_label(h, "The output disk has only")
    });
    assert!(has_label(&h, "less than the estimate"));
}

/// #37 item 13: an idle worker's bar is empty. egui's own bar draws a round sliver at 0, which
/// reads as work on a worker that has none.
#[test]
fn an_idle_workers_bar_is_empty() {
    let (_tmp, _out, mut h) = paused_batch(200);
    step_until(&mut h, "the worker to go idle", |h| {
        h.state()
            .batch_view()
            .is_some_and(|v| v.workers.values().all(|w| w.job.is_none()))
    });
    h.step();
    h.step();
    let row = h.get_by_label("Worker 1").rect();
    let fill = h.ctx.global_style().visuals.selection.bg_fill;
    fn rects(shape: &egui::Shape, out: &mut Vec<(egui::Rect, egui::Color32)>) {
        match shape {
            egui::Shape::Rect(r) => out.push((r.rect, r.fill)),
            egui::Shape::Vec(v) => v.iter().for_each(|s| rects(s, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    for clipped in &h.output().shapes {
        rects(&clipped.shape, &mut all);
    }
    let filled: Vec<egui::Rect> = all
        .into_iter()
        .filter(|(r, f)| *f == fill && r.center().y > row.top() && r.center().y < row.bottom())
        .map(|(r, _)| r)
        .collect();
    assert!(
        filled.is_empty(),
        "nothing filled on an idle row: {filled:?}"
    );
}

/// #37 item 15: under "Keep each format" a format's own controls show only when the input has
/// that format: a folder of PNGs offers no WebP lossless switch and no effort; adding a WebP
/// brings the WebP switch and (since #40) WebP's effort.
#[test]
fn keep_each_format_shows_only_the_controls_of_the_inputs_formats() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    photo_folder(&dir, 3);
    let mut settings = Settings::default();
    settings.first_mut().recipe.format = conveyor::engine::recipe::OutputFormat::Keep;
    let launch = Launch {
        inputs: vec![dir.clone()],
        out: Some(out),
        ..Launch::default()
    };
    let mut h = harness(settings, launch, None);
    step_until(&mut h, "the scan", |h| has_label(h, "3 images"));
    h.run_steps(2);
    assert_eq!(h.query_all_by_label_contains("Lossless").count(), 0);
    // PNG takes an effort (oxipng from 5, #40).
    assert!(h.query_all_by_label("Effort").count() >= 1);
    assert_eq!(
        h.query_all_by_label("JPEG colour").count(),
        0,
        "no JPEG input"
    );

    let webp = common::encode(&common::photo(64, 48), image::ImageFormat::WebP);
    common::put(&dir, "web.webp", &webp);
    h.state_mut().set_input(vec![dir]);
    step_until(&mut h, "the new scan", |h| has_label(h, "4 images"));
    h.run_steps(2);
    assert_eq!(h.query_all_by_label("Lossless WebP").count(), 1);
    assert!(h.query_all_by_label("Effort").count() >= 1);
}

/// #37 item 14: in the swipe preview the line is dragged on the picture itself (fitted, any
/// drag moves it; a click puts it there), the sides say Before and After, and a recipe that
/// gives no output for the image (a size target it cannot meet) still shows the source as
/// Before beside the reason.
#[test]
fn the_swipe_line_is_dragged_on_the_picture_and_a_failed_preview_keeps_before() {
    let (_tmp, _out, mut h) = preloaded(2, settings_with_workers(2), Launch::default());
    step_until(&mut h, "the preview", |h| {
        h.state().trials().shown.as_ref().is_some_and(Result::is_ok)
    });
    h.get_by_label("Swipe").click();
    h.run_steps(2);
    assert!(has_label(&h, "Before") && has_label(&h, "After"));
    let area = h.get_by_label("Swipe preview").rect();
    let y = area.center().y;
    // The picture is fitted and centred; drag from its left part to about a third across.
    let shown = h.state().trials().shown.as_ref().unwrap().as_ref().unwrap();
    let (w, hgt) = (
        shown.trial.after.preview_width as f32,
        shown.trial.after.preview_height as f32,
    );
    let k = (area.width() / w).min(area.height() / hgt).min(1.0);
    let left = area.center().x - w * k / 2.0;
    let at = |f: f32| egui::pos2(left + w * k * f, y);
    h.drag_at(at(0.1));
    h.step();
    h.hover_at(at(0.2));
    h.step();
    h.hover_at(at(0.3));
    h.step();
    h.drop_at(at(0.3));
    h.step();
    let split = h.state().trials().view.split;
    assert!(
        (split - 0.3).abs() < 0.05,
        "the line followed the drag: {split}"
    );

    // A size the image cannot fit: no output, and the source still shows as Before.
    h.state_mut().settings_mut().first_mut().quality_form.mode =
        conveyor::gui::settings::QualityMode::MaxSize;
    h.state_mut()
        .settings_mut()
        .first_mut()
        .quality_form
        .max_kib = 1;
    h.state_mut().settings_mut().first_mut().recipe.format =
        conveyor::engine::recipe::OutputFormat::To(Format::Jpeg);
    h.state_mut()
        .settings_mut()
        .first_mut()
        .resize_form
        .set(None);
    step_until(&mut h, "the failed preview", |h| {
        h.state()
            .trials()
            .shown
            .as_ref()
            .is_some_and(Result::is_err)
    });
    h.run_steps(2);
    assert!(h.state().trials().before_only.is_some());
    assert!(has_label(&h, "No output: cannot fit in 1.0 KiB"));
    assert!(has_label(&h, "Before"));
}

/// #40 acceptance 5, in the window: under the default recipe (keep each format, fit 1600) a
/// small JPEG at quality 60 and a palette PNG, which need no pixel change, keep their bytes
/// instead of growing, and their result rows say so.
#[test]
fn the_windows_default_recipe_never_makes_a_file_larger_for_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    let mut tight = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut tight, 60)
        .encode_image(&common::photo(320, 240))
        .expect("jpeg");
    common::put(&dir, "tight.jpg", &tight);
    let palette = common::four_colour_palette_png();
    common::put(&dir, "flat.png", &palette);
    let launch = Launch {
        inputs: vec![dir],
        out: Some(out.clone()),
        start: true,
        ..Launch::default()
    };
    let mut h = harness(Settings::default(), launch, None);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().expect("view");
    assert_eq!(v.ok, 2);
    assert_eq!(
        std::fs::read(out.join("tight.jpg")).expect("jpeg out"),
        tight
    );
    assert_eq!(
        std::fs::read(out.join("flat.png")).expect("png out"),
        palette
    );
    for row in &v.results {
        assert!(
            row.warnings.iter().any(|w| w.contains("kept as it was")),
            "{:?}",
            row.warnings
        );
    }
    assert!(h.query_all_by_label_contains("kept as it was").count() >= 1);
}

/// #40: for PNG outputs the window offers a palette ("PNG palette", then "Colours", 256 when
/// ticked); the batch then writes palette PNGs.
#[test]
fn the_window_offers_a_png_palette_and_the_batch_writes_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (dir, out) = (tmp.path().join("in"), tmp.path().join("out"));
    photo_folder(&dir, 2);
    let mut settings = Settings::default();
    settings.first_mut().recipe.format =
        conveyor::engine::recipe::OutputFormat::To(conveyor::engine::format::Format::Png);
    let launch = Launch {
        inputs: vec![dir],
        out: Some(out.clone()),
        ..Launch::default()
    };
    let mut h = harness(settings, launch, None);
    step_until(&mut h, "the scan", |h| has_label(h, "2 images"));
    assert_eq!(h.query_all_by_label("Colours").count(), 0, "off by default");
    h.get_by_label("PNG palette").click();
    h.run_steps(2);
    assert_eq!(h.state().settings().first().recipe.png_colors, Some(256));
    assert!(
        h.query_all_by_label("Colours").count() >= 1,
        "the number of colours shows"
    );
    assert!(
        h.query_all_by_label_contains("· PNG 256 colours").count() >= 1,
        "the card says it"
    );
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let files = common::snapshot(&out);
    assert_eq!(files.len(), 2);
    for bytes in files.values() {
        let reader = png::Decoder::new(std::io::Cursor::new(bytes.as_slice()))
            .read_info()
            .expect("png");
        assert_eq!(reader.info().color_type, png::ColorType::Indexed);
    }
}

/// #41: while a batch runs, egui's own animations are off (each asks for frames until it
/// settles, and a growing list restarts them: frames the pacer did not budget); when it ends
/// they are back as they were.
#[test]
fn animations_are_off_while_a_batch_runs_and_back_after() {
    let (_tmp, _out, mut h) = preloaded(40, settings_with_workers(1), Launch::default());
    // A known animation time (the harness may start with none).
    h.ctx.all_styles_mut(|s| s.animation_time = 0.25);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    let mut seen_running = false;
    step_until(&mut h, "the batch to finish", |h| {
        let view = h.state().batch_view();
        if view.is_some_and(|v| !v.finished) {
            seen_running = true;
            assert_eq!(
                h.ctx.global_style().animation_time,
                0.0,
                "animating mid-batch"
            );
        }
        view.is_some_and(|v| v.finished)
    });
    assert!(seen_running, "a frame mid-batch was seen");
    h.step();
    assert_eq!(h.ctx.global_style().animation_time, 0.25);
}

/// The view of a watched folder, once it has caught up and waits with nothing in hand.
fn waiting_with(h: &Harness<'_, ConveyorApp>, converted: usize) -> bool {
    h.state().batch_view().is_some_and(|v| {
        v.ok == converted && v.watching.as_ref().is_some_and(|w| w.caught_up && !w.busy)
    })
}

#[test]
fn watching_a_folder_converts_what_arrives_until_the_switch_is_turned_off() {
    let (tmp, out, mut h) = preloaded(4, settings_with_workers(2), Launch::default());
    let dir = tmp.path().join("in");
    h.get_by_label("👁 Watch this folder").click();
    step_until(&mut h, "the catch-up", |h| waiting_with(h, 4));
    assert!(h.state().watching());
    assert!(h.state().busy(), "Start waits while the folder is watched");
    assert!(has_label(&h, "Waiting for images"));
    assert!(has_label(&h, "watching — 4 converted since "));
    let title = h.state().title();
    assert!(title.contains("watching — 4 converted since "), "{title}");

    // Images copied in while it watches, one of them written in two pieces: converted once
    // each, and only once complete.
    for i in 0..3 {
        common::put(
            &dir,
            &format!("arrived/new{i}.png"),
            &common::encode(&common::photo(200 + i, 150), image::ImageFormat::Png),
        );
    }
    let late = common::encode(&common::photo(300, 200), image::ImageFormat::Png);
    let (first, rest) = late.split_at(late.len() / 2);
    // Half written and still open (a copy in progress) while the others are converted.
    let mut file = std::fs::File::create(dir.join("late.png")).unwrap();
    std::io::Write::write_all(&mut file, first).unwrap();
    step_until(&mut h, "the whole files", |h| waiting_with(h, 7));
    assert!(
        !out.join("late.jpg").exists(),
        "half a file is not converted"
    );
    std::io::Write::write_all(&mut file, rest).unwrap();
    drop(file);
    step_until(&mut h, "the arrivals", |h| waiting_with(h, 8));
    let v = h.state().batch_view().unwrap();
    assert_eq!((v.total, v.failed, v.skipped), (8, 0, 0), "each once");
    assert!(has_label(&h, "arrived/new2.png"), "arrivals are listed");
    assert!(has_label(&h, "watching — 8 converted since "));
    let written = common::snapshot(&out);
    assert_eq!(written.len(), 8, "{:?}", written.keys());
    let late_out = image::open(out.join("late.jpg")).expect("the late file's output decodes");
    assert_eq!(
        (late_out.width(), late_out.height()),
        (64, 43),
        "made from the whole file"
    );

    // Pause holds new files; the worker count carries over to the next arrivals.
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause", |h| {
        h.state().batch_view().is_some_and(|v| v.paused)
    });
    assert!(h.state().title().contains("watching, paused"));
    h.get_by_label(" + ").click();
    step_until(&mut h, "three workers asked for", |h| {
        h.state()
            .batch_view()
            .is_some_and(|v| v.target_workers == 3)
    });
    h.key_press(egui::Key::Space);
    step_until(&mut h, "resume", |h| {
        h.state().batch_view().is_some_and(|v| !v.paused)
    });
    common::put(
        &dir,
        "arrived/after.png",
        &common::encode(&common::photo(180, 120), image::ImageFormat::Png),
    );
    step_until(&mut h, "the file after the pause", |h| waiting_with(h, 9));
    assert_eq!(worker_rows(&h), 3, "the next batch ran three workers");

    // Off: back to the idle state, everything converted kept and listed.
    h.get_by_label("👁 Watch this folder").click();
    step_until(&mut h, "watching to stop", |h| !h.state().watching());
    h.step();
    assert!(!h.state().busy(), "Start can be pressed again");
    let v = h.state().batch_view().unwrap();
    assert!(v.finished && v.ok == 9 && v.results.len() == 9);
    assert!(has_label(&h, "Stopped watching"));
    let title = h.state().title();
    assert!(title.contains("stopped watching: 9 converted"), "{title}");
    assert_eq!(common::snapshot(&out).len(), 9);
}

/// #39: an output card's edit list: added from the menu, shown in the card's title, run in the
/// batch (the outputs are cropped), and in *Copy as command*.
#[test]
fn an_edit_added_in_the_card_crops_the_outputs_and_is_in_the_command() {
    let (_tmp, out, mut h) = preloaded(3, settings_with_workers(2), Launch::default());
    h.get_by_label("➕ Add").click();
    h.run_steps(2);
    h.get_by_label("Crop to a ratio").click();
    h.run_steps(2);
    let recipe = h.state().settings().current_recipe();
    assert_eq!(recipe.edits.text(recipe.resize), "crop=3:2");
    assert!(has_label(&h, "Crop to"));
    assert!(
        h.query_by_label_contains("· 1 edit").is_some(),
        "the card's title counts it"
    );
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::C,
    );
    h.run_steps(3);
    let command = h.state().copied_command().expect("copied").to_owned();
    assert!(
        command.contains("--resize fit:64x64 --crop 3:2"),
        "{command}"
    );
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    let v = h.state().batch_view().unwrap();
    assert_eq!(v.ok, 3);
    for (i, job) in v.jobs().iter().enumerate() {
        let (w, h) = image::image_dimensions(&job.output).unwrap();
        // Resized into 64×64 first (no "Resize here": the resize comes first), then cropped.
        let src = (160 + i as u32, 120);
        let g = conveyor::engine::recipe::ResizeSpec::Fit(64, 64).geometry(src.0, src.1, false);
        let crop = conveyor::engine::edit::Crop::Aspect {
            w: 3,
            h: 2,
            gravity: conveyor::engine::edit::Gravity::Center,
        };
        let (_, _, cw, ch) =
            conveyor::engine::edit::crop_box(crop, g.output.0, g.output.1).unwrap();
        assert_eq!((w, h), (cw, ch), "{}", job.output.display());
    }
    assert!(out.exists());
}

/// #39: the card's edit list is reordered, removed from and given a place for the resize by
/// its buttons, and the recipe follows in that order (what a batch, *Copy as command* and the
/// fingerprint take).
#[test]
fn edits_in_the_card_move_up_and_down_and_are_removed() {
    let (_tmp, _out, mut h) = preloaded(1, settings_with_workers(1), Launch::default());
    let text = |h: &Harness<'_, ConveyorApp>| {
        let r = h.state().settings().current_recipe();
        r.edits.text(r.resize)
    };
    for item in ["Rotate", "Flip", "Grey", "Resize here"] {
        h.get_by_label("➕ Add").click();
        h.run_steps(2);
        h.get_by_label(item).click();
        h.run_steps(2);
    }
    assert_eq!(
        text(&h),
        "rotate=90; flip=h; grayscale; resize=fit:64x64",
        "added in order"
    );
    // The resize moved first is no marker at all: the resize comes first anyway.
    for at in (1..=3).rev() {
        h.get_all_by_label("⏶").nth(at).unwrap().click();
        h.run_steps(2);
        if at == 2 {
            assert_eq!(text(&h), "rotate=90; resize=fit:64x64; flip=h; grayscale");
        }
    }
    assert_eq!(text(&h), "rotate=90; flip=h; grayscale");
    h.get_all_by_label("⏷").next().unwrap().click();
    h.run_steps(2);
    assert_eq!(
        text(&h),
        "flip=h; rotate=90; grayscale",
        "rotate moved later"
    );
    h.get_all_by_label("✖").nth(1).unwrap().click();
    h.run_steps(2);
    assert_eq!(text(&h), "flip=h; grayscale", "rotate removed");
    assert!(h.query_by_label_contains("· 2 edits").is_some());
}

/// Gives `path` the time 2019-06-08 (June 2019 in any time zone): a photo without EXIF
/// "taken" then, as far as its file says.
fn taken_in_june_2019(path: &Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_560_000_000))
        .unwrap();
}

/// #39 acceptance 5: the README's example recipe (`assets/recipes/share.toml`: crop 3:2 at
/// attention, resize fit 1600, sharpen, text "© {date:%Y}", WebP) is valid for `recipe check`,
/// runs from the command line, and imported in the window (*Import…*) runs the same batch to
/// the byte; the year in the text is each photo's (here its file's time: 2019).
#[test]
fn the_readme_example_recipe_runs_from_the_window_the_cli_and_recipe_check() {
    let share = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/recipes/share.toml");
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("in");
    for i in 0..3u32 {
        let path = common::put(
            &input,
            &format!("p{i}.jpg"),
            &common::encode(&common::photo(900 + 60 * i, 500), image::ImageFormat::Jpeg),
        );
        taken_in_june_2019(&path);
    }
    let check = common::conveyor_ok(&["recipe", "check", share.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains(
            "crop 3:2@attention; then resize fit:1600x1600; then sharpen; then text © {date:%Y}"
        ),
        "{said}"
    );
    let run = |recipe: &Path, out: &str| {
        let out = tmp.path().join(out);
        let report = tmp.path().join(format!("{}.json", out.display()));
        common::run_ok(
            &input,
            &out,
            &[
                "--recipe",
                recipe.to_str().unwrap(),
                "--report",
                report.to_str().unwrap(),
            ],
        );
        (common::snapshot(&out), common::read_report(&report))
    };
    let (by_cli, report) = run(&share, "cli");
    assert_eq!(by_cli.len(), 3);
    // The report says what the output did, its edits in order.
    let told = report["summary"]["recipes"][0].as_str().unwrap_or_default();
    assert!(
        told.contains(
            "edits: crop 3:2@attention; then resize fit:1600x1600; then sharpen; then text"
        ),
        "{told}"
    );
    for bytes in by_cli.values() {
        let img = image::load_from_memory_with_format(bytes, image::ImageFormat::WebP).unwrap();
        let (w, h) = (img.width(), img.height());
        assert!(
            (w * 2).abs_diff(h * 3) <= 3 && w <= 1600,
            "3:2 within 1600: {w}x{h}"
        );
    }
    // The token is the photo's year: the same bytes as the year written out, not as no text.
    let text = std::fs::read_to_string(&share).unwrap();
    let literal = tmp.path().join("literal.toml");
    std::fs::write(&literal, text.replace("{date:%Y}", "2019")).unwrap();
    assert_eq!(run(&literal, "literal").0, by_cli, "© 2019 on each");
    let plain = tmp.path().join("plain.toml");
    let without: String = text
        .lines()
        .filter(|l| !l.contains("text ="))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&plain, without).unwrap();
    let (no_text, _) = run(&plain, "plain");
    assert!(
        no_text.iter().all(|(k, v)| by_cli[k] != *v),
        "the text is drawn on every photo"
    );

    // The window: *Import…* the same file, Start, the same files.
    let out = tmp.path().join("window");
    let mut h = harness_with(
        settings_with_workers(2),
        Launch {
            inputs: vec![input.clone()],
            out: Some(out.clone()),
            ..Launch::default()
        },
        FakePicker {
            folder: None,
            file: Some(share.clone()),
        },
        tmp.path().join("presets"),
    );
    step_until(&mut h, "the scan", |h| has_label(h, "3 images"));
    h.get_by_label("Import…").click();
    step_until(&mut h, "the import", |h| {
        !h.state().settings().current_recipe().edits.is_empty()
    });
    h.run_steps(2);
    let recipe = h.state().settings().current_recipe();
    assert_eq!(
        recipe.edits.text(recipe.resize),
        "crop=3:2@attention; resize=fit:1600x1600; sharpen; \
         text=© {date:%Y},size=3.5%,opacity=0.9,shadow"
    );
    assert!(has_label(&h, "Text"), "the card lists the text edit");
    // *Copy as command*: the edit flags in order, quoted for a shell, make the same files.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::C,
    );
    h.run_steps(3);
    let command = h.state().copied_command().expect("copied").to_owned();
    assert!(
        command.contains("--crop 3:2@attention --resize fit:1600x1600 --sharpen --text"),
        "{command}"
    );
    let line = command.replacen("conveyor", &format!("'{}'", common::bin()), 1);
    let shell = std::process::Command::new("sh")
        .args(["-c", &line])
        .output()
        .expect("run the command");
    assert!(shell.status.success(), "{line}: {shell:?}");
    assert_eq!(
        common::snapshot(&out),
        by_cli,
        "the copied command writes the same files"
    );
    std::fs::remove_dir_all(&out).unwrap();
    h.get_by_label("▶ Start").click();
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    assert_eq!(h.state().batch_view().map(|v| v.ok), Some(3));
    assert_eq!(
        common::snapshot(&out),
        by_cli,
        "the window writes what the CLI wrote"
    );
}

/// #39: names from the photo in the card's example: a template with `{date:…}`, `{camera}` and
/// `{w}x{h}` shows the first image's own date (its file's time: it has no EXIF), "unknown" for
/// its camera, and the size the edits leave (a 1:1 crop after the resize).
#[test]
fn the_example_name_comes_from_the_photos_date_and_the_edits_size() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("in");
    let pic = common::put(
        &dir,
        "pic.png",
        &common::encode(&common::photo(300, 200), image::ImageFormat::Png),
    );
    taken_in_june_2019(&pic);
    let mut settings = settings_with_workers(1);
    settings.first_mut().recipe.name_template = "{date:%Y-%m}_{camera}_{w}x{h}".parse().unwrap();
    settings.first_mut().recipe.edits = conveyor::engine::edit::EditList::parse("crop=1:1")
        .unwrap()
        .0;
    let launch = Launch {
        inputs: vec![dir],
        out: Some(tmp.path().join("out")),
        ..Launch::default()
    };
    let mut h = harness(settings, launch, None);
    step_until(&mut h, "the scan", |h| has_label(h, "1 image,"));
    // 300×200 fitted into 64×64 is 64×43, then cropped square: 43×43.
    step_until(&mut h, "the example name", |h| {
        has_label(h, "e.g. 2019-06_unknown_43x43.jpg")
    });
}

/// #39: the text edit's field keeps what is typed while a token is half written (the edit
/// keeps its last good text and says what is wrong), and takes it once it reads right.
#[test]
fn a_text_edit_takes_what_is_typed_once_its_tokens_read_right() {
    let (_tmp, _out, mut h) = preloaded(1, settings_with_workers(1), Launch::default());
    let text = |h: &Harness<'_, ConveyorApp>| {
        let r = h.state().settings().current_recipe();
        r.edits.text(r.resize)
    };
    h.get_by_label("➕ Add").click();
    h.run_steps(2);
    h.get_by_label("Text").click();
    h.run_steps(2);
    assert_eq!(text(&h), "text=© {date:%Y},shadow");
    // The text field holding `value` (the card's title says the text too).
    fn field<'h>(h: &'h Harness<'_, ConveyorApp>, value: &'static str) -> egui_kittest::Node<'h> {
        h.get_by(move |n| n.role() == Role::TextInput && n.value().as_deref() == Some(value))
    }
    field(&h, "© {date:%Y}").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    field(&h, "© {date:%Y}").type_text("Shot {da");
    h.run_steps(2);
    assert_eq!(
        text(&h),
        "text=© {date:%Y},shadow",
        "half a token is not taken"
    );
    assert!(
        h.query_by_label_contains("unclosed").is_some(),
        "the row says what is wrong"
    );
    field(&h, "Shot {da").type_text("te:%Y} {camera}");
    h.run_steps(2);
    assert_eq!(text(&h), "text=Shot {date:%Y} {camera},shadow");
    assert!(h.query_by_label_contains("unclosed").is_none());
}
