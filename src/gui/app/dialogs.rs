//! File dialogs and the before/after preview: both run on background threads and are picked
//! up by the frame that finds them done.

use std::path::Path;
use std::sync::Arc;

use eframe::egui;

use super::ConveyorApp;
use crate::engine::job::JobId;
use crate::engine::preview::Thumbnail;
use crate::gui::command::DialogPurpose;
use crate::gui::picker::{Answer, Filter, NoDialog};
use crate::gui::state::{Input, Preview};
use crate::gui::task::Task;

impl ConveyorApp {
    /// Opens a dialog on a background thread.
    pub(super) fn ask(&mut self, purpose: DialogPurpose) {
        if self.dialog.is_some() {
            return;
        }
        let picker = Arc::clone(&self.picker);
        let start = match purpose {
            DialogPurpose::Input => self.input.as_ref().map(Input::root),
            DialogPurpose::Output => self.output_dir(),
            DialogPurpose::SaveReport
            | DialogPurpose::ImportRecipe
            | DialogPurpose::ExportRecipe
            | DialogPurpose::Watermark { .. }
            | DialogPurpose::Font { .. } => None,
        };
        const REPORTS: &[Filter] = &[("JSON report", &["json"]), ("CSV report", &["csv"])];
        const RECIPES: &[Filter] = &[("Recipe", &["toml"])];
        let task = Task::spawn("dialog", self.repaint.clone(), move || -> Answer {
            match purpose {
                DialogPurpose::Input => {
                    picker.pick_folder("Choose a folder of images", start.as_deref())
                }
                DialogPurpose::Output => {
                    picker.pick_folder("Choose the output folder", start.as_deref())
                }
                DialogPurpose::SaveReport => {
                    picker.save_file("Save report", "conveyor-report.json", REPORTS)
                }
                DialogPurpose::ImportRecipe => picker.open_file("Import a recipe", RECIPES),
                DialogPurpose::ExportRecipe => {
                    picker.save_file("Export the recipe", "recipe.toml", RECIPES)
                }
                DialogPurpose::Watermark { .. } => {
                    // The formats the logo can be read in, from the format table.
                    static LOGOS: std::sync::OnceLock<Vec<&'static str>> =
                        std::sync::OnceLock::new();
                    let extensions = LOGOS.get_or_init(|| {
                        crate::engine::format::Format::input_extensions().collect()
                    });
                    picker.open_file("Choose the watermark image", &[("Image", extensions)])
                }
                DialogPurpose::Font { .. } => picker.open_file(
                    "Choose the text's font",
                    &[("TrueType or OpenType font", &["ttf", "otf", "ttc"])],
                ),
            }
        });
        self.dialog = Some((purpose, task));
    }

    /// The current batch's job `job`.
    fn batch_job(&self, job: JobId) -> Option<crate::engine::job::Job> {
        self.batch
            .as_ref()
            .and_then(|b| b.view.jobs().get(job).cloned())
    }

    /// Shows `job`'s source and output side by side, decoded on a background thread.
    pub(super) fn select(&mut self, job: JobId) {
        self.selected = Some(job);
        let Some(j) = self.batch_job(job) else {
            return;
        };
        let storage = Arc::clone(&self.storage);
        let loading = Task::spawn("preview", self.repaint.clone(), move || {
            // Inputs and outputs in object storage are fetched to temporary copies first.
            let load = |p: &Path| {
                let store = storage.for_paths([p])?;
                let copy = crate::engine::preview::local(p, store.as_deref())?;
                crate::engine::preview::thumbnail(copy.path(), 512)
            };
            [load(&j.input), load(&j.output)]
        });
        self.preview = Some(Preview {
            job,
            loading: Some(loading),
            loaded: None,
        });
    }

    /// Acts on a dialog's answer once it has one.
    pub(super) fn poll_dialog(&mut self) {
        if let Some((purpose, task)) = &mut self.dialog
            && let Some(answer) = task.poll()
        {
            let purpose = *purpose;
            self.dialog = None;
            match (answer, purpose) {
                (Ok(Ok(Some(path))), DialogPurpose::Input) => self.set_input(vec![path]),
                (Ok(Ok(Some(path))), DialogPurpose::Output) => self.set_output(path),
                (Ok(Ok(Some(path))), DialogPurpose::SaveReport) => self.save_report(&path),
                (Ok(Ok(Some(path))), DialogPurpose::ImportRecipe) => self.import_recipe(&path),
                (Ok(Ok(Some(path))), DialogPurpose::ExportRecipe) => self.export_recipe(&path),
                (Ok(Ok(Some(path))), DialogPurpose::Watermark { output, edit }) => {
                    if let Some(crate::engine::edit::Edit::Watermark(w)) = self
                        .settings
                        .outputs
                        .get_mut(output)
                        .and_then(|o| o.recipe.edits.0.get_mut(edit))
                    {
                        w.path = path;
                    }
                }
                (Ok(Ok(Some(path))), DialogPurpose::Font { output, edit }) => {
                    if let Some(crate::engine::edit::Edit::Text(t)) = self
                        .settings
                        .outputs
                        .get_mut(output)
                        .and_then(|o| o.recipe.edits.0.get_mut(edit))
                    {
                        t.font = Some(path);
                    }
                }
                (Ok(Err(NoDialog(why))), purpose) => {
                    self.message = Some(match purpose {
                        DialogPurpose::Input => format!(
                            "Could not choose a folder: {why}. Type or paste the folder's path \
                             in the field above, or drop the folder on the window."
                        ),
                        DialogPurpose::Output => format!(
                            "Could not choose the output folder: {why}. Type or paste its path \
                             in the Output folder field."
                        ),
                        DialogPurpose::SaveReport => self.save_report_without_dialog(&why),
                        DialogPurpose::ImportRecipe | DialogPurpose::ExportRecipe => format!(
                            "Could not open a file dialog: {why}. Presets are recipe files in \
                             the presets folder; `conveyor recipe show` writes one."
                        ),
                        DialogPurpose::Watermark { .. } => format!(
                            "Could not open a file dialog: {why}. Type or paste the image's \
                             path in the watermark's field."
                        ),
                        DialogPurpose::Font { .. } => format!(
                            "Could not open a file dialog: {why}. Type or paste the font's \
                             path in the text's font field."
                        ),
                    });
                }
                (Ok(Ok(None)), _) => {}
                (Err(e), _) => self.message = Some(e),
            }
        }
    }

    /// Turns finished previews into textures.
    pub(super) fn poll_preview(&mut self, ctx: &egui::Context) {
        if let Some(preview) = &mut self.preview
            && let Some(results) = preview.loading.as_mut().and_then(Task::poll)
        {
            preview.loading = None;
            let job = preview.job;
            let results = results.unwrap_or_else(|e| [Err(e.clone()), Err(e)]);
            preview.loaded = Some(results.map(|r| {
                r.map(|t| {
                    let size = [t.preview_width as usize, t.preview_height as usize];
                    let image = egui::ColorImage::from_rgba_unmultiplied(size, &t.rgba);
                    let name = format!("preview-{job}");
                    let tex = ctx.load_texture(name, image, egui::TextureOptions::LINEAR);
                    let info = Thumbnail {
                        rgba: Vec::new(),
                        ..t
                    };
                    (tex, info)
                })
            }));
        }
    }

    /// Where no save dialog can be shown: the report goes into the output folder, and the
    /// message says where.
    fn save_report_without_dialog(&mut self, why: &str) -> String {
        let Some(batch) = &self.batch else {
            return format!("Could not save the report: {why}.");
        };
        let path = batch.out_dir.join("conveyor-report.json");
        match batch.report().write(&path) {
            Ok(()) => format!(
                "No save dialog: {why}. The report was saved in the output folder instead: {}",
                path.display()
            ),
            Err(e) => format!(
                "Could not save the report: {why}; writing {} failed: {e}",
                path.display()
            ),
        }
    }

    /// Opens the output folder in the file manager; a failure shows in the message line.
    pub(super) fn open_output_folder(&mut self) {
        if let Some(dir) = self.batch.as_ref().map(|b| b.out_dir.clone()) {
            self.open_path(dir, "the output folder");
        }
    }

    /// Opens `path` with the desktop's opener on a background thread; a failure shows in the
    /// message line.
    pub(super) fn open_path(&mut self, path: std::path::PathBuf, what: &'static str) {
        let program = self.opener.clone();
        self.opening = Some(Task::spawn("opener", self.repaint.clone(), move || {
            match std::process::Command::new(&program).arg(&path).status() {
                Ok(status) if status.success() => Ok(()),
                Ok(_) => Err(format!(
                    "Could not open {what}: the file manager ({program}) reported a failure. \
                     It is {}",
                    path.display()
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                    "Could not open {what}: no file manager opener ({program}) is installed \
                     on this system. It is {}",
                    path.display()
                )),
                Err(e) => Err(format!(
                    "Could not open {what}: {program} could not be started ({}). It is {}",
                    crate::engine::job::io_words(&e),
                    path.display()
                )),
            }
        }));
    }

    /// Does what a result row's menu or double-click asked.
    pub(super) fn row_action(
        &mut self,
        ctx: &egui::Context,
        action: crate::gui::command::RowAction,
    ) {
        use crate::gui::command::RowAction;
        let job = match action {
            RowAction::Open(j)
            | RowAction::Reveal(j)
            | RowAction::CopyPath(j)
            | RowAction::CopyInput(j) => j,
        };
        let Some(j) = self.batch_job(job) else {
            return;
        };
        match action {
            RowAction::Open(_) => self.open_path(j.output, "the output"),
            RowAction::Reveal(_) => {
                if let Some(dir) = j.output.parent() {
                    self.open_path(dir.to_path_buf(), "the output's folder");
                }
            }
            RowAction::CopyPath(_) => {
                ctx.copy_text(j.output.display().to_string());
                self.message = Some(format!("Copied: {}", j.output.display()));
            }
            RowAction::CopyInput(_) => {
                ctx.copy_text(j.input.display().to_string());
                self.message = Some(format!("Copied: {}", j.input.display()));
            }
        }
    }

    /// Shows why opening the output folder failed, once the opener has ended.
    pub(super) fn poll_opening(&mut self) {
        if let Some(result) = self.opening.as_mut().and_then(Task::poll) {
            self.opening = None;
            if let Err(e) = result.and_then(|r| r) {
                self.message = Some(e);
            }
        }
    }

    fn save_report(&mut self, path: &Path) {
        if let Some(batch) = &self.batch {
            self.message = Some(match batch.report().write(path) {
                Ok(()) => format!("Report saved to {}", path.display()),
                Err(e) => format!("Could not save the report: {e}"),
            });
        }
    }
}
