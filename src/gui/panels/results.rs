//! The finished files: a virtualised list with a failure filter, actions, and a before/after
//! preview of the selected file.

use eframe::egui;

use crate::engine::job::JobId;
use crate::engine::job::Status;
use crate::engine::units::human_bytes;
use crate::gui::command::DialogPurpose;
use crate::gui::command::{Command, RowAction};
use crate::gui::state::{Batch, Preview};
use crate::gui::view::ResultFilter;

/// Filter, actions, the list and the preview: a function of the batch, the previews of the
/// selected file, and the filter it edits; what the user asks for is a command.
pub(crate) fn results_section(
    batch: &Batch,
    filter: &mut ResultFilter,
    selection: (Option<JobId>, Option<&Preview>),
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    let (selected_job, shown_preview) = selection;
    let finished = !batch.running();
    let failed = batch.view.failed;
    let (all, skipped) = (batch.view.results.len(), batch.view.skipped);
    let out_dir = batch.out_dir.clone();
    ui.horizontal_wrapped(|ui| {
        ui.strong("Results");
        ui.selectable_value(filter, ResultFilter::All, format!("All ({all})"));
        ui.selectable_value(filter, ResultFilter::Failed, format!("Failed ({failed})"));
        ui.selectable_value(
            filter,
            ResultFilter::Skipped,
            format!("Skipped ({skipped})"),
        );
        ui.separator();
        if ui
            .add_enabled(finished && failed > 0, egui::Button::new("Retry failed"))
            .clicked()
        {
            commands.push(Command::RetryFailed);
        }
        if ui
            .add_enabled(out_dir.is_dir(), egui::Button::new("Open output folder"))
            .clicked()
        {
            commands.push(Command::OpenOutputFolder);
        }
        if ui.button("Save report…").clicked() {
            commands.push(Command::Ask(DialogPurpose::SaveReport));
        }
    });
    let filter = *filter;
    let rows = batch.view.filtered_len(filter);
    let mut clicked = None;
    let mut action = None;
    let show_preview = shown_preview.is_some();
    // Up and Down move the selection through the list as shown (unless a text field has the
    // keyboard).
    let typing = ui.ctx().memory(|m| m.focused().is_some());
    let step = ui.input(|i| {
        i.key_pressed(egui::Key::ArrowDown) as i64 - i.key_pressed(egui::Key::ArrowUp) as i64
    });
    let mut moved_to = None;
    if step != 0 && !typing && rows > 0 {
        let at = selected_job.and_then(|job| {
            (0..rows).find(|&i| {
                batch
                    .view
                    .filtered_row(filter, i)
                    .is_some_and(|r| r.job == job)
            })
        });
        let next = match at {
            Some(i) => (i as i64 + step).clamp(0, rows as i64 - 1) as usize,
            None => 0,
        };
        if let Some(row) = batch.view.filtered_row(filter, next)
            && Some(row.job) != selected_job
        {
            clicked = Some(row.job);
            moved_to = Some(next);
        }
    }
    let list_width = if show_preview {
        ui.available_width() * 0.55
    } else {
        ui.available_width()
    };
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(list_width);
            let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
            let mut area = egui::ScrollArea::vertical()
                .id_salt("results-list")
                .auto_shrink([false, false]);
            if let Some(i) = moved_to {
                // Keep the row moved to in view: scroll so it sits a few rows from the edge.
                let spacing = ui.spacing().item_spacing.y;
                let top = (i as f32 - 3.0).max(0.0) * (row_height + spacing);
                let state =
                    egui::scroll_area::State::load(ui.ctx(), ui.make_persistent_id("results-list"));
                let offset = state.map_or(0.0, |s| s.clamped_offset().y);
                let view = ui.available_height();
                let y = i as f32 * (row_height + spacing);
                if y < offset || y + row_height > offset + view {
                    area = area.vertical_scroll_offset(top);
                }
            }
            area.show_rows(ui, row_height, rows, |ui, range| {
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
                        let output = batch.view.row_output(row, &out_dir);
                        let text = format!("{}  —  {detail}", batch.view.row_name(row));
                        let response = ui
                            .add(egui::Button::selectable(selected, text).truncate())
                            .on_hover_text(format!(
                                "{}: {detail}\n{output}\nDouble-click opens the output; \
                                 right-click for more",
                                row.status.name()
                            ));
                        if response.clicked() {
                            clicked = Some(row.job);
                        }
                        let written = row.status == Status::Ok;
                        // A click just before on another row can make this count as a triple.
                        let double = response.double_clicked() || response.triple_clicked();
                        if double && written {
                            action = Some(RowAction::Open(row.job));
                        }
                        response.context_menu(|ui| {
                            if ui
                                .add_enabled(written, egui::Button::new("Open the output"))
                                .clicked()
                            {
                                action = Some(RowAction::Open(row.job));
                                ui.close();
                            }
                            if ui.button("Show the output in its folder").clicked() {
                                action = Some(RowAction::Reveal(row.job));
                                ui.close();
                            }
                            if ui.button("Copy the output's path").clicked() {
                                action = Some(RowAction::CopyPath(row.job));
                                ui.close();
                            }
                            if ui.button("Copy the input's path").clicked() {
                                action = Some(RowAction::CopyInput(row.job));
                                ui.close();
                            }
                        });
                    });
                }
            });
        });
        if show_preview {
            ui.separator();
            let output = shown_preview
                .and_then(|p| batch.view.row_of_job(p.job))
                .map(|r| batch.view.row_output(r, &out_dir));
            ui.vertical(|ui| {
                if let Some(output) = output {
                    ui.label(egui::RichText::new(output).monospace());
                }
                preview(shown_preview, ui);
            });
        }
    });
    if let Some(job) = clicked {
        commands.push(Command::Select(job));
    }
    if let Some(action) = action {
        commands.push(Command::Row(action));
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
    // Both sides fit the space left, across and down.
    let width = (ui.available_width() / 2.0 - 8.0)
        .min(ui.available_height() - 48.0)
        .max(64.0);
    ui.horizontal_top(|ui| {
        for (title, side) in ["Before", "After"].iter().zip(loaded) {
            ui.vertical(|ui| {
                ui.set_width(width);
                ui.strong(*title);
                match side {
                    Ok((tex, t)) => {
                        // Transparency shows as a checkerboard, as image editors draw it.
                        let size = tex.size_vec2();
                        let scale = (width / size.x).min(width / size.y).min(1.0);
                        let (rect, _) = ui.allocate_exact_size(size * scale, egui::Sense::hover());
                        super::checkerboard(ui.painter(), rect);
                        egui::Image::from_texture(egui::load::SizedTexture::from_handle(tex))
                            .paint_at(ui, rect);
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
