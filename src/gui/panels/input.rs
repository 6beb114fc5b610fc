//! The top bar (input summary and choosers), the first-run empty state and the drop highlight.

use eframe::egui;

use crate::engine::units::human_bytes;
use crate::gui::command::Command;
use crate::gui::command::DialogPurpose;
use crate::gui::state::Input;

/// Title, the chosen input and what it holds, and the input buttons: a function of the input
/// and whether a batch is busy, with the typed path as what it edits; choosing is a command.
pub(crate) fn top_bar(
    input: Option<&Input>,
    busy: bool,
    typed: &mut String,
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    egui::Panel::top("top-bar")
        .frame(super::unfilled(egui::Frame::side_top_panel(ui.style())))
        .show(ui, |ui| {
            ui.add_space(4.0);
            // One line: the input's summary is cut short with "…" where the window is narrow
            // (the whole of it in its tooltip), so the page never shifts down.
            ui.horizontal(|ui| {
                ui.heading("Conveyor");
                ui.separator();
                let idle = !busy;
                if ui
                    .add_enabled(idle, egui::Button::new("🗀 Browse…"))
                    .on_hover_text("Choose a folder of images")
                    .clicked()
                {
                    commands.push(Command::Ask(DialogPurpose::Input));
                }
                if ui
                    .add_enabled(idle, egui::Button::new("Try the sample images"))
                    .clicked()
                {
                    commands.push(Command::LoadSamples);
                }
                let label = ui.label("or a path:");
                let field = ui
                    .add_enabled(
                        idle,
                        egui::TextEdit::singleline(typed)
                            .hint_text("type or paste, then Enter")
                            .desired_width(200.0),
                    )
                    .labelled_by(label.id)
                    .on_hover_text(if cfg!(feature = "s3") {
                        "A folder or an image to convert, or s3://bucket/prefix in object storage"
                    } else {
                        "A folder or an image to convert"
                    });
                if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    commands.push(Command::UseTypedInput);
                }
                ui.separator();
                match input {
                    None => {
                        ui.label("No folder chosen — drop one anywhere on the window.");
                    }
                    Some(input) => summary_line(input, ui),
                }
            });
            ui.add_space(4.0);
        });
}

/// The chosen input, what it holds and what was left out, as one line cut to the room there
/// is; the whole text, and the files left out, in its tooltip.
fn summary_line(input: &Input, ui: &mut egui::Ui) {
    let names: Vec<String> = input
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let names = names.join(", ");
    let (strong, normal, weak) = (
        ui.visuals().strong_text_color(),
        ui.visuals().text_color(),
        ui.visuals().weak_text_color(),
    );
    let font = egui::TextStyle::Body.resolve(ui.style());
    let mut job = egui::text::LayoutJob::default();
    let mut add = |text: &str, color: egui::Color32| {
        job.append(text, 0.0, egui::TextFormat::simple(font.clone(), color));
    };
    add(&names, strong);
    let mut hover = names.clone();
    match &input.summary {
        None => {
            add("   Scanning…", weak);
        }
        Some(Err(e)) => {
            add("   ", normal);
            add(e, ui.visuals().error_fg_color);
            hover = format!("{hover}\n{e}");
        }
        Some(Ok(s)) => {
            let formats: Vec<String> = s.formats.iter().map(|(f, n)| format!("{n} {f}")).collect();
            let counts = format!(
                "   {} image{}, {}",
                s.images,
                if s.images == 1 { "" } else { "s" },
                human_bytes(s.bytes)
            );
            add(&counts, normal);
            add(&format!("   {}", formats.join(" · ")), weak);
            hover = format!("{hover}\n{}\n{}", counts.trim(), formats.join(" · "));
            if let Some(text) = s.left_out() {
                add(&format!("   {text}"), weak);
                let details: Vec<String> = s
                    .skipped
                    .iter()
                    .chain(&s.warnings)
                    .take(30)
                    .cloned()
                    .collect();
                hover = if details.is_empty() {
                    format!("{hover}\n{text}: files without an image extension are not converted.")
                } else {
                    format!("{hover}\n{text}:\n{}", details.join("\n"))
                };
            }
        }
    }
    if input.summary.is_none() {
        ui.spinner();
    }
    ui.add(egui::Label::new(job).truncate())
        .on_hover_text(hover);
}

/// The first-run screen: a big drop target and the sample images one click away, and the
/// message line's text, if any.
pub(crate) fn empty_state(message: Option<&str>, commands: &mut Vec<Command>, ui: &mut egui::Ui) {
    let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
    let rect = ui.available_rect_before_wrap().shrink(24.0);
    let stroke_color = if hovering {
        ui.visuals().selection.bg_fill
    } else {
        ui.visuals().weak_text_color()
    };
    let shapes = egui::Shape::dashed_line(
        &[
            rect.left_top(),
            rect.right_top(),
            rect.right_bottom(),
            rect.left_bottom(),
            rect.left_top(),
        ],
        egui::Stroke::new(2.0, stroke_color),
        10.0,
        6.0,
    );
    ui.painter().extend(shapes);
    ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
        ui.vertical_centered(|ui| {
            ui.add_space((rect.height() / 2.0 - 110.0).max(8.0));
            ui.label(egui::RichText::new("⬇").size(48.0).color(stroke_color));
            ui.label(egui::RichText::new("Drop a folder here").size(28.0).strong());
            ui.label("or several images — every image inside is resized and converted by the recipe on the left.");
            ui.add_space(16.0);
            if ui.add(egui::Button::new(egui::RichText::new("🗀 Choose a folder…").size(18.0)).min_size(egui::vec2(220.0, 36.0))).clicked() {
                commands.push(Command::Ask(DialogPurpose::Input));
            }
            ui.add_space(6.0);
            if ui.add(egui::Button::new(egui::RichText::new("✨ Try the sample images").size(18.0)).min_size(egui::vec2(220.0, 36.0))).clicked() {
                commands.push(Command::LoadSamples);
            }
            ui.add_space(6.0);
            ui.label(egui::RichText::new("Then press Start (Ctrl+Enter).").weak());
            if message.is_some() {
                ui.add_space(12.0);
                super::message_area(message, None, ui);
            }
        });
    });
}

/// A highlight over the whole window while files hover over it.
pub(crate) fn drop_highlight(ctx: &egui::Context) {
    let hovering = ctx.input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let rect = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop-highlight"),
    ));
    let fill = ctx.global_style().visuals.selection.bg_fill;
    painter.rect_filled(rect, 0.0, fill.gamma_multiply(0.25));
    painter.rect_stroke(
        rect.shrink(4.0),
        8.0,
        egui::Stroke::new(4.0, fill),
        egui::StrokeKind::Inside,
    );
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop to load",
        egui::FontId::proportional(32.0),
        ctx.global_style().visuals.strong_text_color(),
    );
}
