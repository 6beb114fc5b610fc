//! The worker slider and one live row per worker.

use eframe::egui;

use crate::gui::command::Command;
use crate::gui::max_workers;
use crate::gui::view::BatchView;

/// Slider and stepper (both work mid-batch) and the per-worker rows: a function of the worker
/// count and the batch's view; a new count is a [`Command::SetWorkers`].
pub(crate) fn workers_section(
    workers: usize,
    view: Option<&BatchView>,
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    ui.horizontal(|ui| {
        let max = max_workers();
        let mut n = workers;
        let label = ui.label("Workers");
        if ui
            .add_enabled(
                n > 1,
                egui::Button::new(" − ").min_size(egui::vec2(28.0, 22.0)),
            )
            .on_hover_text("One worker fewer")
            .clicked()
        {
            n -= 1;
        }
        // Wide enough that every count has room under the pointer (about 20 px per step), as
        // far as the window allows (the value box, + and the CPU count need about 220 px).
        ui.spacing_mut().slider_width = (max as f32 * 20.0)
            .min(ui.available_width() - 220.0)
            .clamp(120.0, 320.0);
        ui.add(egui::Slider::new(&mut n, 1..=max).step_by(1.0))
            .labelled_by(label.id);
        if ui
            .add_enabled(
                n < max,
                egui::Button::new(" + ").min_size(egui::vec2(28.0, 22.0)),
            )
            .on_hover_text("One worker more")
            .clicked()
        {
            n += 1;
        }
        if n != workers {
            commands.push(Command::SetWorkers(n));
        }
        ui.label(egui::RichText::new(format!("({} logical CPUs)", num_cpus::get())).weak());
    });
    let Some(view) = view else { return };
    // Fixed column widths rather than a Grid: a grid re-measures (and asks for another frame)
    // whenever a file name changes width, which during a batch is every frame.
    let row_height = 22.0;
    // Room for as many rows as the batch has had, so the panels below stay put as workers
    // come and go.
    let pitch = row_height + ui.spacing().item_spacing.y;
    let reserved = view.peak_workers as f32 * pitch;
    let width = ui.available_width();
    ui.allocate_ui_with_layout(
        egui::vec2(width, reserved),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            ui.set_min_height(reserved);
            if view.finished {
                ui.label(
                    egui::RichText::new(
                        "Every worker has finished; the count applies to the next batch.",
                    )
                    .weak(),
                );
            }
            worker_rows(view, row_height, ui);
            if view.retired.count > 0 {
                ui.allocate_ui_with_layout(
                    egui::vec2(ui.available_width(), row_height),
                    egui::Layout::left_to_right(egui::Align::Center),
                    |ui| ui.label(egui::RichText::new(retired_text(view)).weak()),
                );
            }
        },
    );
}

/// "2 workers stopped earlier: 14 converted · 1 failed" (at the end: "3 workers in all: …"):
/// the rows that went, so the rows on screen add up to what the workers did.
pub(crate) fn retired_text(view: &BatchView) -> String {
    let r = view.retired;
    let workers = if r.count == 1 {
        "1 worker".to_owned()
    } else {
        format!("{} workers", r.count)
    };
    let when = if view.finished && view.workers.is_empty() {
        "in all"
    } else {
        "stopped earlier"
    };
    format!("{workers} {when}: {}", counts_text(r.converted, r.failed))
}

/// "12 converted" or "12 converted · 1 failed".
fn counts_text(converted: usize, failed: usize) -> String {
    if failed > 0 {
        format!("{converted} converted · {failed} failed")
    } else {
        format!("{converted} converted")
    }
}

/// A progress bar that is empty at 0 (egui's own draws a round sliver there, which reads as
/// work on an idle worker).
fn bar(progress: f32, size: egui::Vec2, ui: &mut egui::Ui) {
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 3.0, visuals.extreme_bg_color);
    let progress = progress.clamp(0.0, 1.0);
    if progress > 0.0 {
        let fill =
            egui::Rect::from_min_size(rect.min, egui::vec2(rect.width() * progress, rect.height()));
        painter.rect_filled(fill, 3.0, visuals.selection.bg_fill);
    }
}

fn worker_rows(view: &BatchView, row_height: f32, ui: &mut egui::Ui) {
    // Numbered by position, so rows read 1, 2, 3 whichever threads came and went; the
    // thread's own number is in the tooltip.
    for (position, row) in view.workers.values().enumerate() {
        ui.horizontal(|ui| {
            let title = format!("Worker {}", position + 1);
            let title = if row.retiring {
                egui::RichText::new(format!("{title} (retiring)"))
                    .italics()
                    .color(ui.visuals().warn_fg_color)
            } else {
                egui::RichText::new(title).strong()
            };
            let what = if row.retiring {
                "finishing the image in hand, then stopping"
            } else {
                "converting"
            };
            ui.add_sized(
                [130.0, row_height],
                egui::Label::new(title).halign(egui::Align::LEFT),
            )
            .on_hover_text(format!("Worker thread #{}: {what}", row.id));
            let file = view.file_of(row).unwrap_or_else(|| "idle".to_owned());
            // The file name takes what the other columns leave (they need about 420 px).
            let name_width = (ui.available_width() - 420.0).clamp(120.0, 300.0);
            ui.add_sized(
                [name_width, row_height],
                egui::Label::new(egui::RichText::new(file).monospace())
                    .truncate()
                    .halign(egui::Align::LEFT),
            );
            ui.add_sized(
                [60.0, row_height],
                egui::Label::new(row.stage.map_or("—", |s| s.name())).halign(egui::Align::LEFT),
            );
            let progress = if row.job.is_some() { row.progress } else { 0.0 };
            bar(progress, egui::vec2(200.0, row_height - 6.0), ui);
            ui.label(counts_text(row.converted, row.failed));
        });
    }
}
