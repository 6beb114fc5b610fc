//! The finished files: a virtualised list with a failure filter, actions, and a before/after
//! preview of the selected file.

use std::path::Path;

use eframe::egui;

use crate::engine::job::Status;
use crate::engine::units::human_bytes;
use crate::gui::app::ConveyorApp;
use crate::gui::state::{DialogPurpose, Preview};
use crate::gui::view::ResultFilter;

fn open_folder(path: &Path) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Ok(mut child) = std::process::Command::new(program).arg(path).spawn() {
        // Reap the launcher so it does not linger as a zombie.
        std::thread::spawn(move || child.wait());
    }
}

/// Filter, actions, the list and the preview.
pub(crate) fn results_section(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    let Some(batch) = &app.batch else { return };
    let finished = !batch.running();
    let failed = batch.view.failed;
    let (all, skipped) = (batch.view.results.len(), batch.view.skipped);
    let out_dir = batch.out_dir.clone();
    let ctx = ui.ctx().clone();
    ui.horizontal(|ui| {
        ui.strong("Results");
        ui.selectable_value(&mut app.filter, ResultFilter::All, format!("All ({all})"));
        ui.selectable_value(
            &mut app.filter,
            ResultFilter::Failed,
            format!("Failed ({failed})"),
        );
        ui.selectable_value(
            &mut app.filter,
            ResultFilter::Skipped,
            format!("Skipped ({skipped})"),
        );
        ui.separator();
        if ui
            .add_enabled(finished && failed > 0, egui::Button::new("Retry failed"))
            .clicked()
        {
            app.retry_failed(&ctx);
        }
        if ui
            .add_enabled(out_dir.exists(), egui::Button::new("Open output folder"))
            .clicked()
        {
            open_folder(&out_dir);
        }
        if ui.button("Save report…").clicked() {
            app.ask(DialogPurpose::SaveReport);
        }
    });
    let Some(batch) = &app.batch else { return };
    let filter = app.filter;
    let rows = batch.view.filtered_len(filter);
    let mut clicked = None;
    let shown_preview = app.preview.as_ref();
    let show_preview = shown_preview.is_some();
    let selected_job = app.selected;
    let list_width = if show_preview {
        ui.available_width() * 0.55
    } else {
        ui.available_width()
    };
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(list_width);
            let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
            egui::ScrollArea::vertical()
                .id_salt("results-list")
                .auto_shrink([false, false])
                .show_rows(ui, row_height, rows, |ui, range| {
                    for i in range {
                        let Some(row) = batch.view.filtered_row(filter, i) else {
                            continue;
                        };
                        let (icon, color) = match row.status {
                            Status::Ok => ("✔", ui.visuals().selection.bg_fill),
                            Status::Skipped => ("⏩", ui.visuals().weak_text_color()),
                            Status::Failed => ("✖", ui.visuals().error_fg_color),
                            Status::Cancelled | Status::Planned => {
                                ("⏹", ui.visuals().weak_text_color())
                            }
                        };
                        let selected = selected_job == Some(row.job);
                        ui.horizontal(|ui| {
                            ui.colored_label(color, icon);
                            let detail = batch.view.row_detail(row);
                            let text = format!("{}  —  {detail}", batch.view.row_name(row));
                            if ui
                                .add(egui::Button::selectable(selected, text).truncate())
                                .on_hover_text(format!("{}: {detail}", row.status.name()))
                                .clicked()
                            {
                                clicked = Some(row.job);
                            }
                        });
                    }
                });
        });
        if show_preview {
            ui.separator();
            ui.vertical(|ui| preview(shown_preview, ui));
        }
    });
    if let Some(job) = clicked {
        app.select(job);
    }
}

fn preview(preview: Option<&Preview>, ui: &mut egui::Ui) {
    let Some(p) = preview else { return };
    let Some(loaded) = &p.loaded else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Loading preview…");
        });
        return;
    };
    let width = (ui.available_width() / 2.0 - 8.0).max(64.0);
    ui.horizontal_top(|ui| {
        for (title, side) in ["Before", "After"].iter().zip(loaded) {
            ui.vertical(|ui| {
                ui.set_width(width);
                ui.strong(*title);
                match side {
                    Ok((tex, t)) => {
                        ui.add(
                            egui::Image::from_texture(egui::load::SizedTexture::from_handle(tex))
                                .max_size(egui::vec2(width, width)),
                        );
                        ui.label(format!(
                            "{}×{} · {}",
                            t.width,
                            t.height,
                            human_bytes(t.bytes)
                        ));
                    }
                    Err(e) => {
                        ui.colored_label(ui.visuals().weak_text_color(), e);
                    }
                }
            });
        }
    });
}
