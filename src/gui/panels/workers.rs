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
    let row_height = 22.0;
    egui::Grid::new("worker-rows")
        .num_columns(5)
        .spacing([12.0, 4.0])
        .min_row_height(row_height)
        .show(ui, |ui| {
            for row in batch.view.workers.values() {
                let title = format!("Worker {}", row.id);
                if row.retiring {
                    ui.label(
                        egui::RichText::new(format!("{title} (retiring)"))
                            .italics()
                            .color(ui.visuals().warn_fg_color),
                    )
                    .on_hover_text("Finishing the image in hand, then stopping");
                } else {
                    ui.label(egui::RichText::new(title).strong());
                }
                let file = row.file.clone().unwrap_or_else(|| "idle".to_owned());
                ui.add_sized(
                    [260.0, row_height],
                    egui::Label::new(egui::RichText::new(file).monospace()).truncate(),
                );
                ui.label(row.stage.map_or("—", |s| s.name()));
                ui.add_sized(
                    [180.0, row_height - 6.0],
                    egui::ProgressBar::new(row.progress).corner_radius(3.0),
                );
                ui.label(format!("{} done", row.done));
                ui.end_row();
            }
        });
}
