//! UI behaviour through egui_kittest: the real app, real files, no window.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed set-up step should stop the test loudly.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conveyor::engine::format::Format;
use conveyor::gui::ConveyorApp;
use conveyor::gui::Launch;
use conveyor::gui::picker::Picker;
use conveyor::gui::settings::Settings;
use eframe::egui;
use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// Answers every dialog with fixed paths.
struct FakePicker {
    folder: Option<PathBuf>,
    /// The answer to "save as" and "open file" dialogs.
    file: Option<PathBuf>,
}

impl Picker for FakePicker {
    fn pick_folder(&self, _title: &str, _start: Option<&Path>) -> Option<PathBuf> {
        self.folder.clone()
    }
    fn save_file(
        &self,
        _title: &str,
        _default_name: &str,
        _filters: &[conveyor::gui::picker::Filter],
    ) -> Option<PathBuf> {
        self.file.clone()
    }
    fn open_file(
        &self,
        _title: &str,
        _filters: &[conveyor::gui::picker::Filter],
    ) -> Option<PathBuf> {
        self.file.clone()
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

/// Steps frames until `done` holds (background threads scan, plan and convert meanwhile).
fn step_until(
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

fn has_label(h: &Harness<'_, ConveyorApp>, text: &str) -> bool {
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
        let found = format!("{n} images");
        step_until(&mut h, "the scan", |h| has_label(h, &found));
    }
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
    assert!(has_label(&h, "1 other files ignored"));
    let out = h.state().settings().clone();
    assert_eq!(out.workers, Settings::default().workers);
    // The default output folder is a sibling of the input.
    assert!(has_label(
        &h,
        &format!("{}", tmp.path().join("shoot-converted").display())
    ));
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
    assert!(!has_label(&h, "Worker 5"), "the newest workers retired");
    assert_eq!(h.state().settings().workers, 2);

    h.key_press(egui::Key::Space);
    step_until(&mut h, "the batch to finish", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().expect("view");
    assert_eq!((v.ok, v.total), (40, 40));
    assert!(has_label(&h, "Overall: 40 / 40"));
    assert!(has_label(&h, "Done"));
    assert_eq!(common::snapshot(&out).len(), 40);
    assert_eq!(worker_rows(&h), 0, "every worker retired at the end");

    // Selecting a finished file (the first row: the first to finish) shows the source and the
    // output side by side, each with its size in pixels and bytes.
    let first = h.state().batch_view().expect("view").results[0].clone();
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
    h.get_by_label("Retry failed").click();
    step_until(&mut h, "the retry to finish", |h| {
        h.state()
            .batch_view()
            .is_some_and(|v| v.finished && v.total == 2)
    });
    assert_eq!(
        h.state().batch_view().map(|v| v.failed),
        Some(2),
        "still broken, still reported"
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
    // The copy is the open card: its fields are the ones shown.
    h.get_by_label("Sub-folder").focus();
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
    let binary = env!("CARGO_BIN_EXE_conveyor");
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
    let (_tmp, out, mut h) = preloaded(40, Settings::default(), extra);
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
    let estimate = h.state().trials().estimate.flatten().expect("an estimate");
    assert!(estimate.sampled >= 1 && estimate.total_bytes > 0);
    assert!(!out.exists(), "a preview writes nothing");
}

/// `conveyor gui --recipe FILE [options]` shows the file's outputs, each with the options
/// applied, as `conveyor run` would.
#[test]
fn a_recipe_given_at_launch_shows_its_outputs_with_the_options_applied() {
    use conveyor::engine::recipe::{OutputFormat, Recipe, RecipePatch, ResizeSpec};
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
        recipe: RecipePatch {
            quality: Some(55),
            ..RecipePatch::default()
        },
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

/// #17 item 3: a cancelled batch says how many finished and how many were cancelled, in words
/// and in the bar, which stops where the work stopped.
#[test]
fn a_cancelled_batch_shows_what_finished_and_what_did_not() {
    let extra = Launch {
        workers: Some(1),
        start: true,
        ..Launch::default()
    };
    // Enough images that one worker is still busy when the pause lands a few frames in.
    let (_tmp, _out, mut h) = preloaded(300, settings_with_workers(1), extra);
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause", |h| {
        h.state().batch_view().is_some_and(|v| v.paused)
    });
    h.key_press(egui::Key::Escape);
    step_until(&mut h, "the cancel to wind down", |h| {
        h.state().batch_view().is_some_and(|v| v.finished)
    });
    h.step();
    let v = h.state().batch_view().expect("view");
    assert!(v.cancelled > 0, "some images were cancelled");
    assert_eq!(v.done() + v.cancelled, 300);
    assert!(v.fraction() < 1.0, "the bar is not full");
    let words = format!(
        "Overall: {} of 300 done, {} cancelled",
        v.done(),
        v.cancelled
    );
    assert!(has_label(&h, &words), "{words}");
    // The bar says it too.
    let bar = format!("{} done · {} cancelled", v.done(), v.cancelled);
    assert!(has_label(&h, &bar), "{bar}");
}

/// #17 item 10: the notice that a drop was refused while a batch ran goes when the batch ends.
#[test]
fn the_busy_drop_notice_goes_when_the_batch_ends() {
    let extra = Launch {
        start: true,
        ..Launch::default()
    };
    let (tmp, _out, mut h) = preloaded(300, settings_with_workers(1), extra);
    step_until(&mut h, "the batch to start", |h| {
        h.state().batch_view().is_some()
    });
    h.key_press(egui::Key::Space);
    step_until(&mut h, "pause", |h| {
        h.state().batch_view().is_some_and(|v| v.paused)
    });
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
