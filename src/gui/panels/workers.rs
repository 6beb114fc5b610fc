//! The worker slider and one live row per worker.

use eframe::egui;

use crate::gui::app::ConveyorApp;
use crate::gui::max_workers;

/// Slider (works mid-batch) and the per-worker rows.
pub(crate) fn workers_section(app: &mut ConveyorApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let mut n = app.settings.workers;
        let slider = ui.add(egui::Slider::new(&mut n, 1..=max_workers()).text("Workers"));
        if slider.changed() {
            app.set_workers(n);
        }
        ui.label(egui::RichText::new(format!("({} logical CPUs)", num_cpus::get())).weak());
    });
    let Some(batch) = &app.batch else { return };
    if batch.view.workers.is_empty() {
        return;
    }
    // Fixed column widths rather than a Grid: a grid re-measures (and asks for another frame)
    // whenever a file name changes width, which during a batch is every frame.
    let row_height = 22.0;
    for row in batch.view.workers.values() {
        ui.horizontal(|ui| {
            let title = format!("Worker {}", row.id);
            let title = if row.retiring {
                egui::RichText::new(format!("{title} (retiring)"))
                    .italics()
                    .color(ui.visuals().warn_fg_color)
            } else {
                egui::RichText::new(title).strong()
            };
            ui.add_sized(
                [130.0, row_height],
                egui::Label::new(title).halign(egui::Align::LEFT),
            )
            .on_hover_text(if row.retiring {
                "Finishing the image in hand, then stopping"
            } else {
                "Converting"
            });
            let file = row.file.clone().unwrap_or_else(|| "idle".to_owned());
            ui.add_sized(
                [300.0, row_height],
                egui::Label::new(egui::RichText::new(file).monospace())
                    .truncate()
                    .halign(egui::Align::LEFT),
            );
            ui.add_sized(
                [60.0, row_height],
                egui::Label::new(row.stage.map_or("—", |s| s.name())).halign(egui::Align::LEFT),
            );
            ui.add_sized(
                [200.0, row_height - 6.0],
                egui::ProgressBar::new(row.progress).corner_radius(3.0),
            );
            ui.label(format!("{} done", row.done));
        });
    }
}
