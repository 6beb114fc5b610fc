//! Overall progress, rates, times and the live throughput chart.

use eframe::egui;

use crate::engine::recipe::OnExist;
use crate::gui::state::Forecast;
use crate::gui::view::{BatchView, clock};

/// Progress bar, numbers and chart for the current batch; before one, the forecast. A function
/// of the batch's view or the forecast, and the on-exist policy it edits.
pub(crate) fn overall_section(
    view: Option<&BatchView>,
    planned: Option<&Forecast>,
    known_bad: &[(std::path::PathBuf, String)],
    on_exist: &mut OnExist,
    ui: &mut egui::Ui,
) {
    let Some(v) = view else {
        forecast(planned, known_bad, on_exist, ui);
        return;
    };
    let visuals = ui.visuals();
    let watch = v.watching.as_ref();
    let (state, colour) = if v.finished {
        if v.stopped_by.is_some() {
            ("Stopped", visuals.error_fg_color)
        } else if watch.is_some() {
            ("Stopped watching", visuals.strong_text_color())
        } else if v.cancelled > 0 {
            ("Cancelled", visuals.warn_fg_color)
        } else if v.failed > 0 {
            ("Done, with failures", visuals.warn_fg_color)
        } else {
            ("Done", visuals.strong_text_color())
        }
    } else if v.cancelling {
        ("Cancelling…", visuals.strong_text_color())
    } else if v.halted.is_some() {
        ("Paused by a disk problem", visuals.error_fg_color)
    } else if v.paused {
        ("Paused", visuals.strong_text_color())
    } else if let Some(w) = watch {
        if w.busy {
            ("Converting", visuals.strong_text_color())
        } else if w.caught_up {
            ("Waiting for images", visuals.strong_text_color())
        } else {
            ("Looking", visuals.strong_text_color())
        }
    } else {
        ("Converting", visuals.strong_text_color())
    };
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(state).strong().color(colour));
        match v.watch_text().filter(|_| !v.finished) {
            Some(text) => ui.label(text),
            None => ui.label(v.overall_text()),
        };
    });
    if v.finished
        && let Some(why) = &v.stopped_by
    {
        ui.add(
            egui::Label::new(
                egui::RichText::new(format!(
                    "Stopped: {why}. Start the same batch again once that is fixed: it \
                     converts only the rest."
                ))
                .color(colour),
            )
            .wrap(),
        );
    }
    // Not `.animate()`: that repaints every frame forever; pool events drive repaints instead.
    let bar = egui::ProgressBar::new(v.fraction());
    let bar = if v.cancelled > 0 {
        bar.text(v.outcome_text())
    } else {
        bar.show_percentage()
    };
    ui.add(bar);
    let (mb_in, mb_out) = v.megabytes_per_second();
    let eta = if v.paused {
        "paused".to_owned()
    } else if watch.is_some_and(|w| !w.busy) {
        "—".to_owned()
    } else {
        v.eta_seconds().map_or_else(|| "—".to_owned(), clock)
    };
    ui.horizontal_wrapped(|ui| {
        // Rates over less than a second of running say nothing (two files in 20 ms read as
        // 100 images/s): a dash until there is a second to measure.
        if v.active_seconds() < 1.0 {
            ui.label("— images/s");
            ui.separator();
            ui.label("in — MB/s · out — MB/s");
        } else {
            ui.label(format!("{:.1} images/s", v.images_per_second()));
            ui.separator();
            ui.label(format!("in {mb_in:.1} MB/s · out {mb_out:.1} MB/s"));
        }
        ui.separator();
        ui.label(format!("elapsed {}", clock(v.active_seconds())));
        ui.separator();
        ui.label(format!("ETA {eta}"));
        ui.separator();
        ui.label(format!(
            "{} ok · {} skipped · {} failed · {} cancelled",
            v.ok, v.skipped, v.failed, v.cancelled
        ));
        if v.ok > 0 {
            ui.separator();
            ui.label(v.saved_text());
        }
    });
    chart(ui, v);
}

/// Images/s over time, with worker-count changes as labelled dashed lines.
fn chart(ui: &mut egui::Ui, v: &BatchView) {
    let width = ui.available_width();
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 110.0), egui::Sense::hover());
    response
        .on_hover_text("Throughput (images/s) over time; dashed lines mark worker-count changes");
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    painter.rect_filled(rect, 4.0, visuals.extreme_bg_color);
    let plot = rect.shrink2(egui::vec2(8.0, 14.0));
    let t_max = v.active_seconds().max(10.0);
    let r_max = v.samples.iter().map(|s| s.rate).fold(1.0_f64, f64::max) * 1.15;
    let to_screen = |t: f64, r: f64| {
        egui::pos2(
            plot.left() + (t / t_max) as f32 * plot.width(),
            plot.bottom() - (r / r_max) as f32 * plot.height(),
        )
    };
    let weak = visuals.weak_text_color();
    for m in &v.markers {
        let x = to_screen(m.t, 0.0).x;
        painter.extend(egui::Shape::dashed_line(
            &[
                egui::pos2(x, rect.top() + 2.0),
                egui::pos2(x, rect.bottom() - 2.0),
            ],
            egui::Stroke::new(1.0, visuals.warn_fg_color),
            4.0,
            3.0,
        ));
    }
    let xs: Vec<f32> = v.markers.iter().map(|m| to_screen(m.t, 0.0).x).collect();
    for (x, text) in marker_labels(&v.markers, &xs) {
        painter.text(
            egui::pos2(x + 3.0, rect.top() + 2.0),
            egui::Align2::LEFT_TOP,
            text,
            egui::FontId::proportional(10.0),
            visuals.warn_fg_color,
        );
    }
    if v.samples.len() >= 2 {
        let points: Vec<egui::Pos2> = v.samples.iter().map(|s| to_screen(s.t, s.rate)).collect();
        painter.add(egui::Shape::line(
            points,
            egui::Stroke::new(2.0, visuals.selection.bg_fill),
        ));
    }
    painter.text(
        rect.right_top() + egui::vec2(-6.0, 2.0),
        egui::Align2::RIGHT_TOP,
        format!("{:.0} img/s", r_max / 1.15),
        egui::FontId::proportional(10.0),
        weak,
    );
    painter.text(
        rect.right_bottom() + egui::vec2(-6.0, -2.0),
        egui::Align2::RIGHT_BOTTOM,
        clock(t_max),
        egui::FontId::proportional(10.0),
        weak,
    );
}

/// The worker-count labels of the chart's marks at `xs` (their x on screen): a label is left
/// out when the next mark is too close for both to be read, so quick changes (2, 3, 4 workers
/// in a second) show the count they ended at rather than "2w3w4w" on top of each other.
pub(crate) fn marker_labels(
    markers: &[crate::gui::view::Marker],
    xs: &[f32],
) -> Vec<(f32, String)> {
    /// Room one label needs ("16w" at 10 px, and a gap).
    const ROOM: f32 = 26.0;
    let mut labels: Vec<(f32, String)> = Vec::new();
    for (m, &x) in markers.iter().zip(xs) {
        // The later mark wins: drop the labels this one would overlap.
        while labels.last().is_some_and(|(prev, _)| x - prev < ROOM) {
            labels.pop();
        }
        labels.push((x, format!("{}w", m.workers)));
    }
    labels
}

/// Before Start: what pressing it would do, planned in the background, with one click to
/// change what happens to files in the way.
/// `known_bad`: input files already seen to fail with this recipe (the estimate's sample): their
/// outputs are not counted as ones Start will write.
fn forecast(
    planned: Option<&Forecast>,
    known_bad: &[(std::path::PathBuf, String)],
    on_exist: &mut OnExist,
    ui: &mut egui::Ui,
) {
    let Some(f) = planned else {
        ui.label(egui::RichText::new("Press Start to convert. Progress shows here.").weak());
        return;
    };
    let out_dir = f.key.1.display().to_string();
    let o = match &f.result {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Planning what Start will do…");
            });
            return;
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
        Some(Ok(o)) => *o,
    };
    let outputs = |n: usize| {
        if n == 1 {
            "1 output".to_owned()
        } else {
            format!("{n} outputs")
        }
    };
    // Empty files (known from the scan) and the files the estimate's sample saw fail (an
    // empty one sampled is counted once).
    let known_bad: Vec<&(std::path::PathBuf, String)> = known_bad
        .iter()
        .filter(|(_, why)| why != crate::engine::job::EMPTY_FILE)
        .collect();
    let failing = (known_bad.len() * f.key.0.len() + o.empty).min(o.convert);
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new("Start will write").strong());
        ui.label(egui::RichText::new(outputs(o.convert - failing)).strong());
        ui.label("into");
        ui.label(egui::RichText::new(out_dir).monospace());
    });
    if failing > 0 {
        let names: Vec<String> = known_bad
            .iter()
            .map(|(p, _)| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let why = match (o.empty > 0, names.is_empty()) {
            (true, true) => "the input files are empty".to_owned(),
            (true, false) => format!(
                "empty files, and files that could not be converted when sampled ({})",
                names.join(", ")
            ),
            (false, _) => format!(
                "{} could not be converted when sampled ({})",
                if names.len() == 1 {
                    "this file"
                } else {
                    "these files"
                },
                names.join(", ")
            ),
        };
        ui.add(
            egui::Label::new(
                egui::RichText::new(format!("{} will fail: {why}.", outputs(failing)))
                    .color(ui.visuals().warn_fg_color),
            )
            .wrap(),
        );
    }
    let parts: Vec<String> = [
        (o.done, "already converted (skipped)"),
        (o.redo, "redone in place (the recipe or input changed)"),
        (o.renamed, "renamed: names collide"),
        (o.replace, "replace files Conveyor did not make"),
        (o.other_skips, "skipped (see the results for why)"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{} {what}", outputs(n)))
    .collect();
    if !parts.is_empty() {
        ui.label(parts.join(" · "));
    }
    let policy = *on_exist;
    if o.in_the_way > 0 || (policy != OnExist::Skip && (o.replace > 0 || o.renamed > 0)) {
        ui.horizontal_wrapped(|ui| {
            if o.in_the_way > 0 {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!(
                        "{} will be skipped: a file Conveyor did not make has the name.",
                        outputs(o.in_the_way)
                    ),
                );
            }
            let mut set = None;
            if policy != OnExist::Overwrite && ui.button("Overwrite them").clicked() {
                set = Some(OnExist::Overwrite);
            }
            if policy != OnExist::Rename && ui.button("Write beside them").clicked() {
                set = Some(OnExist::Rename);
            }
            if policy != OnExist::Skip && ui.button("Skip them").clicked() {
                set = Some(OnExist::Skip);
            }
            if let Some(p) = set {
                *on_exist = p;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::marker_labels;
    use crate::gui::view::Marker;

    #[test]
    fn marks_close_together_show_the_count_they_ended_at() {
        let marks = |ws: &[(f64, usize)]| -> Vec<Marker> {
            ws.iter()
                .map(|&(t, workers)| Marker { t, workers })
                .collect()
        };
        // 2, 3 and 4 workers within 10 px of each other, then 1 far to the right.
        let m = marks(&[(0.0, 2), (0.1, 3), (0.2, 4), (5.0, 1)]);
        let labels = marker_labels(&m, &[0.0, 5.0, 10.0, 300.0]);
        assert_eq!(
            labels,
            vec![(10.0, "4w".to_owned()), (300.0, "1w".to_owned())]
        );
        // Far apart: every label shows.
        let labels = marker_labels(&m, &[0.0, 100.0, 200.0, 300.0]);
        assert_eq!(labels.len(), 4);
    }
}
