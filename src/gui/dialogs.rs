//! File dialogs and the before/after preview: both run on background threads and are picked
//! up by the frame that finds them done.

use std::path::Path;
use std::sync::Arc;

use eframe::egui;

use super::app::ConveyorApp;
use super::picker::Filter;
use super::state::{DialogPurpose, Input, Preview};
use super::task::Task;
use crate::engine::job::JobId;
use crate::engine::preview::Thumbnail;

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
            | DialogPurpose::ExportRecipe => None,
        };
        const REPORTS: &[Filter] = &[("JSON report", &["json"]), ("CSV report", &["csv"])];
        const RECIPES: &[Filter] = &[("Recipe", &["toml"])];
        let task = Task::spawn("dialog", self.repaint.clone(), move || match purpose {
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
        });
        self.dialog = Some((purpose, task));
    }

    /// Shows `job`'s source and output side by side, decoded on a background thread.
    pub(super) fn select(&mut self, job: JobId) {
        self.selected = Some(job);
        let Some(j) = self
            .batch
            .as_ref()
            .and_then(|b| b.view.jobs().get(job).cloned())
        else {
            return;
        };
        let loading = Task::spawn("preview", self.repaint.clone(), move || {
            let load = |p: &Path| crate::engine::preview::thumbnail(p, 512);
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
                (Ok(Some(path)), DialogPurpose::Input) => self.set_input(vec![path]),
                (Ok(Some(path)), DialogPurpose::Output) => self.out_override = Some(path),
                (Ok(Some(path)), DialogPurpose::SaveReport) => self.save_report(&path),
                (Ok(Some(path)), DialogPurpose::ImportRecipe) => self.import_recipe(&path),
                (Ok(Some(path)), DialogPurpose::ExportRecipe) => self.export_recipe(&path),
                (Ok(None), _) => {}
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

    fn save_report(&mut self, path: &Path) {
        if let Some(batch) = &self.batch {
            self.message = Some(match batch.report().write(path) {
                Ok(()) => format!("Report saved to {}", path.display()),
                Err(e) => format!("Could not save the report: {e}"),
            });
        }
    }
}
