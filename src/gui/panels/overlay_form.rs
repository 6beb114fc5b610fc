//! The forms of the edits laid over the picture: a logo watermark (its file, by a dialog too,
//! place, size, opacity, tiling) and a line of text (with tokens, its place, size, colour,
//! opacity, outline, shadow and font).

use eframe::egui;

use crate::engine::edit::{Gravity, Text, TextSize, Watermark};
use crate::gui::command::{Command, DialogPurpose};

/// The logo's file (typed, or chosen with a dialog), place, size and opacity.
pub(super) fn watermark_form(
    w: &mut Watermark,
    id: (usize, usize),
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    ui.vertical(|ui| {
        ui.horizontal(|ui| {
            ui.label("Watermark");
            let mut text = w.path.display().to_string();
            let field = ui.add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("logo.png")
                    .desired_width(110.0),
            );
            if field.changed() {
                w.path = std::path::PathBuf::from(text);
            }
            if ui.button("🗀").on_hover_text("Choose the image").clicked() {
                commands.push(Command::Ask(DialogPurpose::Watermark {
                    output: id.0,
                    edit: id.1,
                }));
            }
        });
        ui.horizontal(|ui| {
            gravity_combo(&mut w.gravity, ("watermark", id), ui);
            ui.checkbox(&mut w.tile, "Tile");
        });
        ui.horizontal(|ui| {
            ui.add(
                egui::DragValue::new(&mut w.opacity)
                    .range(0.0..=1.0)
                    .speed(0.01)
                    .prefix("opacity "),
            );
            let mut scale = w.scale.unwrap_or(0.0);
            ui.add(
                egui::DragValue::new(&mut scale)
                    .range(0.0..=100.0)
                    .suffix(" % wide"),
            )
            .on_hover_text("Its width as a share of the picture's (0: its own size)");
            w.scale = (scale > 0.0).then_some(scale);
            ui.add(egui::DragValue::new(&mut w.margin).suffix(" px margin"));
        });
    });
}

/// The text (with tokens), its place, size, colour, opacity, outline, shadow and font.
pub(super) fn text_form(
    t: &mut Text,
    id: (usize, usize),
    commands: &mut Vec<Command>,
    ui: &mut egui::Ui,
) {
    ui.vertical(|ui| {
        ui.horizontal(|ui| {
            ui.label("Text");
            // What is typed is kept while its tokens are half written (`{da`); the edit
            // takes it once it reads right.
            let key = ui.make_persistent_id(("text", id));
            let mut typed = ui
                .data(|d| d.get_temp::<String>(key))
                .unwrap_or_else(|| t.text.clone());
            let field = ui.add(
                egui::TextEdit::singleline(&mut typed)
                    .hint_text("© {date:%Y}")
                    .desired_width(140.0),
            );
            let field = field.on_hover_text(
                "Tokens: {date} or {date:%Y} (when the photo was taken), {camera}, {stem}, {ext}",
            );
            if field.changed() {
                match t.set_text(&typed) {
                    Ok(()) => ui.data_mut(|d| d.remove::<String>(key)),
                    Err(_) => {
                        ui.data_mut(|d| {
                            d.insert_temp(key, typed.clone());
                        });
                    }
                }
            }
            if typed != t.text
                && let Err(e) = Text::new(&typed)
            {
                ui.colored_label(ui.visuals().error_fg_color, e.0);
            }
        });
        ui.horizontal(|ui| {
            gravity_combo(&mut t.gravity, ("text", id), ui);
            match &mut t.size {
                TextSize::Percent(p) => {
                    ui.add(
                        egui::DragValue::new(p)
                            .range(0.5..=50.0)
                            .speed(0.1)
                            .suffix(" %"),
                    )
                    .on_hover_text("Letter size: a share of the picture's shorter side");
                }
                TextSize::Pixels(px) => {
                    ui.add(egui::DragValue::new(px).range(1..=2000).suffix(" px"))
                        .on_hover_text("Letter size in pixels");
                }
            }
            ui.color_edit_button_srgb(&mut t.color.0)
                .on_hover_text("The letters' colour");
            ui.add(
                egui::DragValue::new(&mut t.opacity)
                    .range(0.0..=1.0)
                    .speed(0.01)
                    .prefix("opacity "),
            );
        });
        ui.horizontal(|ui| {
            let black = crate::engine::spec::Rgb([0, 0, 0]);
            let mut shadow = t.shadow.is_some();
            if ui.checkbox(&mut shadow, "Shadow").changed() {
                t.shadow = shadow.then_some(black);
            }
            let mut outline = t.outline.is_some();
            if ui.checkbox(&mut outline, "Outline").changed() {
                t.outline = outline.then_some(black);
            }
            let mut font = t
                .font
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let field = ui.add(
                egui::TextEdit::singleline(&mut font)
                    .hint_text("DejaVu Sans Bold")
                    .desired_width(110.0),
            );
            if field
                .on_hover_text("A TrueType/OpenType file; empty: the built-in DejaVu Sans Bold")
                .changed()
            {
                t.font = (!font.trim().is_empty()).then(|| std::path::PathBuf::from(font));
            }
            if ui.button("🗀").on_hover_text("Choose a font file").clicked() {
                commands.push(Command::Ask(DialogPurpose::Font {
                    output: id.0,
                    edit: id.1,
                }));
            }
        });
    });
}

/// The nine places, by name (the crop's, pad's, logo's and text's gravity).
pub(super) fn gravity_combo(gravity: &mut Gravity, id: (&str, (usize, usize)), ui: &mut egui::Ui) {
    egui::ComboBox::from_id_salt(("gravity", id))
        .selected_text(gravity.to_string())
        .show_ui(ui, |ui| {
            for name in Gravity::names() {
                if let Ok(g) = name.parse::<Gravity>() {
                    ui.selectable_value(gravity, g, name);
                }
            }
        })
        .response
        .on_hover_text("Which part is kept (crop) or where the picture sits (pad)");
}
